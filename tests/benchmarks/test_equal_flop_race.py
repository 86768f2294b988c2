"""The equal-compute race (issue 15): every method is the largest of its kind within the budget,
the paired ratios and their t intervals are the textbook ones, and a tiny sweep of one race
produces a table whose numbers come from the stored runs."""
import json
import math

import numpy as np
import pytest

from rtrlbench.agents import learner_flops as flops
from rtrlbench.benchmarks.experiments import equal_flop_race
from rtrlbench.sweep.result_analysis import paired_ratios, ratio_summary, t_interval

pytest.importorskip("scipy")

RACES = [equal_flop_race.PATTERNING, equal_flop_race.CONDITIONING, equal_flop_race.NOISY, equal_flop_race.ATARI]
#: The hyperparameter that sets each learner's size, and the step that makes it one size larger.
SIZE = {"columnar": ("n_features", 1), "ccn": ("n_features", 4), "rtu_linear": ("n_units", 1),
        "rtu_nonlinear": ("n_units", 1), "lru": ("n_hidden", 1), "elstm": ("n_units", 1), "tbptt": ("n_hidden", 1),
        **{name: ("n_hidden", 1) for name in ("lstm_rtrl", "snap1", "uoro", "rnn_rtrl", "rnn_uoro", "rflo")}}


def _inputs_and_budget(race):
    if race is equal_flop_race.ATARI:
        return equal_flop_race.ATARI_INPUTS, flops.PAPER_BUDGETS["atari"]
    import gymnasium as gym

    return gym.make(race.envs[0]).observation_space.shape[0], flops.PAPER_BUDGETS["trace"]


@pytest.mark.parametrize("race", RACES, ids=lambda race: race.name)
def test_every_learner_is_the_largest_of_its_kind_within_the_budget(race):
    n_inputs, budget = _inputs_and_budget(race)
    learners = {m.learner for m in race.methods}
    assert learners >= {"columnar", "ccn", "tbptt", "rtu_linear", "rtu_nonlinear", "lru", "elstm",
                        "lstm_rtrl", "snap1", "uoro", "rnn_rtrl", "rnn_uoro", "rflo", "swifttd"}
    for method in race.methods:
        if method.learner in ("oracle", "swifttd"):  # the floor, and the linear baseline (no size to choose)
            continue
        name, step = SIZE[method.learner]
        for config in method.configurations():
            shape = {k: v for k, v in config.items() if k in ("n_features", "features_per_stage", "n_units", "n_hidden",
                                                              "n_model", "truncation")}
            cost = flops.flops_per_step(method.learner, n_inputs, **shape)
            larger = flops.flops_per_step(method.learner, n_inputs, **{**shape, name: shape[name] + step})
            assert cost <= budget < larger, (method.label, shape, cost, larger)
            # Well within the budget, unless one more unit costs half the budget (dense RTRL is cubic in units).
            assert cost >= 0.5 * budget or larger - cost > 0.5 * budget, (method.label, shape, cost)


def test_ccn_stages_end_with_the_run():
    ccn = next(m for m in equal_flop_race.PATTERNING.methods if m.label == "CCN")
    fixed = ccn.fixed
    stages = fixed["n_features"] // fixed["features_per_stage"]
    assert stages * fixed["steps_per_stage"] <= equal_flop_race.PATTERNING.steps < (stages + 1) * fixed["steps_per_stage"]
    short = ccn.configurations(step_scale=1e-3)[0]
    assert short["steps_per_stage"] == round(fixed["steps_per_stage"] * 1e-3)


def test_t_interval_is_students():
    values = [1.0, 2.0, 4.0, 3.0, 5.0]
    mean, low, high = t_interval(values)
    half = 2.7764451051977987 * np.std(values, ddof=1) / math.sqrt(5)  # t_{0.975, 4}
    assert mean == 3.0 and low == pytest.approx(3.0 - half, rel=1e-12) and high == pytest.approx(3.0 + half, rel=1e-12)
    assert t_interval([2.5]) == (2.5, 2.5, 2.5)
    with pytest.raises(ValueError, match="no values"):
        t_interval([])


def _record(label_env_seed_error):
    env_id, seed, error = label_env_seed_error
    return {"spec": {"env_id": env_id, "seed": seed}, "result": {"final_msre": error}}


def test_paired_ratios_divide_by_the_baseline_of_the_same_seed():
    records = {"Oracle": [_record(("A", 0, 2.0)), _record(("A", 1, 4.0)), _record(("B", 0, 1.0)), _record(("B", 1, 0.5))],
               "M": [_record(("A", 0, 6.0)), _record(("A", 1, 4.0)), _record(("B", 0, 3.0)), _record(("B", 1, float("nan"))),
                     _record(("A", 7, 1.0))]}  # seed 7 has no baseline: left out
    ratios = paired_ratios(records, "Oracle")
    assert ratios == {"A": {"Oracle": {0: 1.0, 1: 1.0}, "M": {0: 3.0, 1: 1.0}},
                      "B": {"Oracle": {0: 1.0, 1: 1.0}, "M": {0: 3.0}}}
    summary = ratio_summary(ratios)
    assert summary["M"] == (3.0, 3.0, 3.0, 1)  # only seed 0 has both tasks: (3 + 3) / 2
    assert summary["Oracle"][:3] == (1.0, 1.0, 1.0) and summary["Oracle"][3] == 2
    with pytest.raises(ValueError, match="baseline method 'T-BPTT' has no results"):
        paired_ratios(records, "T-BPTT")


def test_a_tiny_race_gives_a_table_from_its_stored_runs(tmp_path):
    pytest.importorskip("distributed")
    from rtrlbench.sweep.dask_engine import DaskEngine
    from rtrlbench.sweep.result_store import ResultStore
    from rtrlbench.sweep.tune_and_rerun import collect, sweep

    race = equal_flop_race.CONDITIONING
    budget = race.budget(steps=3000, seeds=2, tune_seeds=2)
    store = ResultStore(tmp_path / "store")
    with DaskEngine(workers=1, processes=False) as engine:
        tuning, final = sweep(race, budget, store, engine, progress=False)
    assert not tuning.failed and not final.failed
    results = collect(race, budget, store)
    paths = race.analyse(results, tmp_path / "plots")
    table = (tmp_path / "plots" / f"{race.name}_ratios.md").read_text()
    drawn = json.loads((tmp_path / "plots" / f"{race.name}_ratios.json").read_text())["tasks"]["TraceConditioning-v0"]
    assert table in {p.read_text() for p in paths if p.suffix == ".md"}
    labels = [m.label for m in race.methods if m.label != "Oracle"]
    assert list(drawn) == labels
    oracle = {r["spec"]["seed"]: r["result"]["final_msre"] for r in results.records["Oracle"]}
    for label in labels:
        ratios = [r["result"]["final_msre"] / oracle[r["spec"]["seed"]] for r in results.records[label]]
        mean, low, high = t_interval(ratios)
        assert drawn[label] == pytest.approx([mean, low, high, 2], rel=1e-12)
        assert f"| {label} | {mean:.3g} [{low:.3g}, {high:.3g}] |" in table
        assert mean > 1.0  # nothing beats the Bayes-optimal oracle on its own stream

    # The side-by-side table shows the same cells in the conditioning column, and the other races as not run.
    from rtrlbench.benchmarks.experiments import race_summary

    tiny = {"steps": 3000, "seeds": 2, "tune_seeds": 2}
    columns = race_summary.race_cells(store, tiny, {**tiny, "games": 5})
    assert [c for c, cells in columns.items() if cells is None] == [
        "TracePatterning ÷ oracle", "NoisyPatterning ÷ oracle", "Atari ÷ T-BPTT"]
    side_by_side = race_summary.markdown(columns, tiny, {**tiny, "games": 5})
    for label in labels:
        mean, low, high = drawn[label][:3]
        cell = f"| {label} | not run | {mean:.3g} [{low:.3g}, {high:.3g}]"
        assert cell + "; " in side_by_side or cell + " | not run |" in side_by_side  # SwiftTD has no configuration

    # Gradient fidelity at the winners: every learner with an exact reference, measured along the very
    # run that gave its seed-0 error (the shadow does not touch the learner); exact RTRL measures
    # cosine 1; stored once, then reused; shown beside its error.
    from rtrlbench.benchmarks.experiments import race_fidelity
    from rtrlbench.run import fidelity_learners
    from rtrlbench.sweep.tune_and_rerun import selections

    measured = race_fidelity.measure(race, budget, store, steps=3000, every=500, progress=False)
    exact = [m.label for m in race.methods if m.learner in fidelity_learners()]
    assert sorted(measured) == sorted(exact) and "T-BPTT" in measured and "RFLO" in measured
    winners = selections(race, budget, store)
    for label, document in measured.items():
        assert document["hyperparameters"] == winners[label].winner
        assert document["fidelity"]["measurements"] == 6
        seed0 = next(r for r in results.records[label] if r["spec"]["seed"] == 0)
        assert document["final_msre"] == seed0["result"]["final_msre"]
    for label in ("LSTM RTRL (exact)", "tanh RNN RTRL (exact)"):
        assert measured[label]["fidelity"]["cosine_mean"] == pytest.approx(1.0, abs=1e-9)
    assert measured["RFLO"]["fidelity"]["cosine_recurrent_mean"] < 0.9  # random feedback is not the gradient
    stamps = {p: p.stat().st_mtime_ns for p in (store.root / "fidelity").iterdir()}
    race_fidelity.measure(race, budget, store, steps=3000, every=500, progress=False)
    assert {p: p.stat().st_mtime_ns for p in (store.root / "fidelity").iterdir()} == stamps
    side_by_side = race_summary.markdown(race_summary.race_cells(store, tiny, {**tiny, "games": 5}), tiny,
                                         {**tiny, "games": 5})
    assert "along seed 0's whole run, the one scored here, every 500 steps" in side_by_side
    row = next(line for line in side_by_side.splitlines() if line.startswith("| LSTM RTRL (exact) |"))
    assert row.endswith("; cos 1.000 (recurrent 1.000) | not run | not run |")
    assert "cos" not in next(line for line in side_by_side.splitlines() if line.startswith("| eLSTM |"))


def test_the_atari_race_scores_the_47_games_with_rewards():
    games = [env.split("/")[1].removesuffix("-v1") for env in equal_flop_race.ATARI.envs]
    assert len(games) == 47 and not set(games) & {"Assault", "MontezumaRevenge", "Venture"}
    assert games[:5] == ["AirRaid", "Amidar", "Asterix", "Asteroids", "Atlantis"]  # `--games 5`
