"""FLOP estimates of Appendix A and the budget helpers."""
import pytest

from rtrlbench.agents import learner_flops


def test_appendix_a_formulas_by_hand():
    assert learner_flops.ccn_flops(276, 15, 5) == 15 * (30 + 1104 + 4) + 6 * 5 * (30 + 1104 + 4) == 51_210  # Atari CCN ~50k
    assert learner_flops.tbptt_flops(7, 2, 30) == 31 * (16 + 56 + 8) == 2_480
    assert learner_flops.columnar_flops(7, 5) == 5 * 36 + 6 * 5 * 36
    assert learner_flops.constructive_flops(7, 10) == learner_flops.ccn_flops(7, 10, 1) == 10 * 52 + 6 * 52


def test_budget_helpers_give_the_largest_fitting_sizes():
    budget = learner_flops.PAPER_BUDGETS["trace"]
    pairs = learner_flops.tbptt_configs(7, budget, truncations=range(1, 31))
    assert (30, 2) in pairs and len(pairs) == 30
    for k, d in pairs:
        assert learner_flops.tbptt_flops(7, d, k) <= budget < learner_flops.tbptt_flops(7, d + 1, k)
    for u, n in learner_flops.ccn_configs(276, learner_flops.PAPER_BUDGETS["atari"], features_per_stage=[5]):
        assert n % u == 0 and learner_flops.ccn_flops(276, n, u) <= 50_000 < learner_flops.ccn_flops(276, n + u, u)
    assert learner_flops.columnar_features(7, 10) == 0
    assert "| tbptt | truncation 30, 2 hidden | 2,480 |" in learner_flops.budget_table(7, budget)


def test_flops_per_step_reads_the_hyperparameters():
    assert learner_flops.flops_per_step("ccn", 12, n_features=8, features_per_stage=4) == learner_flops.ccn_flops(12, 8, 4)
    assert learner_flops.flops_per_step("columnar", 12) == learner_flops.columnar_flops(12, 5)
    with pytest.raises(ValueError, match="no FLOP estimate"):
        learner_flops.flops_per_step("zero", 12)
