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


def test_online_lru_formula_by_hand_and_its_budget_sizes():
    # N = 12 units, H = 6, 7 inputs: 18*84 + 36*12 + 14*72 + 6*42 + 14*36 + 13*6 + 4
    assert learner_flops.lru_flops(7, 12, 6) == 1512 + 432 + 1008 + 252 + 504 + 78 + 4 == 3_790
    assert learner_flops.lru_parameters(7, 12, 6) == 168 + 36 + 144 + 42 + 84 + 6 + 1
    assert learner_flops.lru_flops(7, 12, 6, "none") == learner_flops.lru_flops(7, 12, 6) - 14 * 36 - 8 * 6
    assert learner_flops.flops_per_step("lru", 7) == 3_790
    for n_inputs, budget in ((7, 4_000), (275, 50_000)):
        pairs = learner_flops.lru_configs(n_inputs, budget, widths=(4, 8))
        assert [h for h, _ in pairs] == [4, 8]
        for h, n in pairs:
            assert learner_flops.lru_flops(n_inputs, n, h) <= budget < learner_flops.lru_flops(n_inputs, n + 1, h)
    assert (8, 7) in learner_flops.lru_configs(275, 50_000, widths=[8])
    assert "| lru | 12 units, width 6 | 3,790 |" in learner_flops.budget_table(7, 4_000)


def test_elstm_formula_by_hand_and_its_budget_sizes():
    assert learner_flops.elstm_flops(7, 12) == 24 * 84 + 7 * 144 + 62 * 12 + 4 == 3_772
    assert learner_flops.elstm_flops(7, 12, output_gate=False) == 18 * 84 + 52 * 12 + 4
    assert learner_flops.flops_per_step("elstm", 7) == 3_772
    for n_inputs, budget, units in ((7, 4_000, 12), (275, 50_000, 7)):
        assert learner_flops.elstm_units(n_inputs, budget) == units
        assert learner_flops.elstm_flops(n_inputs, units) <= budget < learner_flops.elstm_flops(n_inputs, units + 1)
    assert "| elstm | 12 units | 3,772 |" in learner_flops.budget_table(7, 4_000)
