"""Hyperparameter settings of Javed et al. (2023), Appendix A, Table 1, shared by the experiments."""
from __future__ import annotations

#: Steps per run and seeds: tuning on seeds 0-4, final runs on 0..29 (trace) or 0..14 (Atari).
STEPS = 50_000_000
TUNE_SEEDS = 5
TRACE_SEEDS = 30
ATARI_SEEDS = 15

LAMBDA = 0.99
ALPHA_TBPTT = [1e-2, 3e-3, 1e-3, 3e-4, 1e-4]
ALPHA_CCN = [1e-2, 1e-3, 1e-4]  # CCN, constructive (and columnar)
NORM_EPS = [0.1, 0.01, 0.001]  # the "min division term" epsilon of feature normalisation

#: (truncation k, hidden features d) pairs at equal per-step compute.
TRACE_TBPTT_PAIRS = [(2, 13), (3, 10), (5, 8), (8, 6), (10, 5), (15, 4), (20, 3), (30, 2)]
ATARI_TBPTT_PAIRS = [(15, 2), (8, 5), (5, 8), (4, 10), (2, 25)]

#: Architectures (Appendix A; Atari feature counts from the ~50k FLOP budget of Appendix A's formulas).
TRACE_ARCH = {
    "columnar": {"n_features": 5},
    "constructive": {"n_features": 10, "steps_per_stage": 5_000_000},
    "ccn": {"n_features": 20, "features_per_stage": 4, "steps_per_stage": 10_000_000},
}
ATARI_ARCH = {
    "columnar": {"n_features": 7},
    "constructive": {"n_features": 10, "steps_per_stage": 5_000_000},
    "ccn": {"n_features": 15, "features_per_stage": 5, "steps_per_stage": 16_000_000},
}
#: The 50 games of the paper's Atari benchmark (the policies' public source has 8 more, fetched on demand).
ATARI_GAMES = [
    "AirRaid", "Amidar", "Assault", "Asterix", "Asteroids", "Atlantis", "BankHeist", "BattleZone",
    "BeamRider", "Berzerk", "Bowling", "Breakout", "Carnival", "Centipede", "ChopperCommand", "CrazyClimber",
    "DemonAttack", "DoubleDunk", "FishingDerby", "Frostbite", "Gopher", "Gravitar", "Hero", "IceHockey",
    "Jamesbond", "JourneyEscape", "Kangaroo", "Krull", "KungFuMaster", "MontezumaRevenge", "MsPacman",
    "Phoenix", "Pitfall", "Pong", "Pooyan", "PrivateEye", "Riverraid", "RoadRunner", "Robotank", "Skiing",
    "Solaris", "SpaceInvaders", "StarGunner", "TimePilot", "Tutankham", "UpNDown", "Venture", "WizardOfWor",
    "YarsRevenge", "Zaxxon",
]
LABELS = {"columnar": "Columnar", "constructive": "Constructive", "ccn": "CCN"}


def tbptt_label(hidden: int, truncation: int) -> str:
    """The paper's ``features:truncation`` name of a T-BPTT learner, e.g. ``T-BPTT 2:30``."""
    return f"T-BPTT {hidden}:{truncation}"
