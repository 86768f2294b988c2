"""FLOP estimates of Appendix A and the budget helpers."""
import pytest

from rtrlbench.agents import flops


def test_appendix_a_formulas_by_hand():
    assert flops.ccn_flops(276, 15, 5) == 15 * (30 + 1104 + 4) + 6 * 5 * (30 + 1104 + 4) == 51_210  # Atari CCN ~50k
    assert flops.tbptt_flops(7, 2, 30) == 31 * (16 + 56 + 8) == 2_480
    assert flops.columnar_flops(7, 5) == 5 * 36 + 6 * 5 * 36
    assert flops.constructive_flops(7, 10) == flops.ccn_flops(7, 10, 1) == 10 * 52 + 6 * 52


def test_budget_helpers_give_the_largest_fitting_sizes():
    budget = flops.PAPER_BUDGETS["trace"]
    pairs = flops.tbptt_configs(7, budget, truncations=range(1, 31))
    assert (30, 2) in pairs and len(pairs) == 30
    for k, d in pairs:
        assert flops.tbptt_flops(7, d, k) <= budget < flops.tbptt_flops(7, d + 1, k)
    for u, n in flops.ccn_configs(276, flops.PAPER_BUDGETS["atari"], features_per_stage=[5]):
        assert n % u == 0 and flops.ccn_flops(276, n, u) <= 50_000 < flops.ccn_flops(276, n + u, u)
    assert flops.columnar_features(7, 10) == 0
    assert "| tbptt | truncation 30, 2 hidden | 2,480 |" in flops.budget_table(7, budget)


def test_flops_per_step_reads_the_hyperparameters():
    assert flops.flops_per_step("ccn", 12, n_features=8, features_per_stage=4) == flops.ccn_flops(12, 8, 4)
    assert flops.flops_per_step("columnar", 12) == flops.columnar_flops(12, 5)
    with pytest.raises(ValueError, match="no FLOP estimate"):
        flops.flops_per_step("zero", 12)
