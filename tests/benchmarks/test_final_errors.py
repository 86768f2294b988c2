"""Figure 4's final-error table: per-method t intervals over seeds, paired differences on the
seeds both methods ran (same seed = same stream), and the table the sweep writes from them."""
import math

import numpy as np
import pytest

from rtrlbench.sweep.result_analysis import final_error_intervals, paired_differences, t_interval

stats = pytest.importorskip("scipy.stats")

T_975_2 = stats.t.ppf(0.975, 2)  # Student t, 0.975 quantile, 2 degrees of freedom (4.3027)


def _record(env_id, seed, error):
    return {"spec": {"env_id": env_id, "seed": seed}, "result": {"final_msre": error}}


RECORDS = {"A": [_record("E", 0, 1.0), _record("E", 1, 2.0), _record("E", 2, 3.0)],
           "B": [_record("E", 0, 2.0), _record("E", 1, 3.1), _record("E", 2, 4.2), _record("E", 3, float("nan"))],
           "C": [_record("E", 1, 2.1), _record("E", 2, 3.05)]}


def test_final_error_intervals_are_students_over_the_finite_runs():
    intervals = final_error_intervals(RECORDS)["E"]
    half = T_975_2 * np.std([2.0, 3.1, 4.2], ddof=1) / math.sqrt(3)
    assert intervals["B"][0] == pytest.approx(3.1, rel=1e-12) and intervals["B"][3] == 3  # the NaN run is out
    assert intervals["B"][2] - intervals["B"][0] == pytest.approx(half, rel=1e-12)
    assert intervals["A"] == pytest.approx((2.0, 2.0 - T_975_2 / math.sqrt(3), 2.0 + T_975_2 / math.sqrt(3), 3))


def test_paired_differences_pair_seeds_and_order_by_mean():
    pairs = {(a, b): rest for a, b, *rest in paired_differences(RECORDS)["E"]}
    assert list(pairs) == [("A", "C"), ("A", "B"), ("C", "B")]  # by mean: A 2.0, C 2.575, B 3.1
    # A - B on seeds 0..2: -1, -1.1, -1.2: ordered at 95%, although B's own spread overlaps A's values.
    mean, low, high, n = pairs[("A", "B")]
    assert (mean, n) == (pytest.approx(-1.1, rel=1e-12), 3)
    assert (low, high) == pytest.approx(t_interval([-1.0, -1.1, -1.2])[1:], rel=1e-9) and high < 0
    # A - C only on the seeds both have (1, 2): -0.1, -0.05.
    assert pairs[("A", "C")][0] == pytest.approx(-0.075, rel=1e-12) and pairs[("A", "C")][3] == 2


def test_the_table_shows_selection_intervals_and_verdicts(tmp_path):
    from types import SimpleNamespace

    from rtrlbench.benchmarks.experiments import analyses

    results = SimpleNamespace(experiment=SimpleNamespace(name="tiny", title="Tiny"), budget=SimpleNamespace(steps=1000),
                              selections={"A": SimpleNamespace(winner={"alpha": 1e-4, "n_features": 5})},
                              records=RECORDS, missing={"C": 1})
    [path] = analyses.final_errors(results, tmp_path)
    table = path.read_text()
    mean, low, high, _ = final_error_intervals(RECORDS)["E"]["A"]
    assert f"| A | alpha 0.0001, n_features 5 | 3 | {mean:.5f} [{low:.5f}, {high:.5f}] |" in table
    assert "| C | — | 2 (1 missing) |" in table
    assert "| A | B | 3 |" in table and "| A < B |" in table
    assert "| A | C | 2 |" in table.replace("not resolved", "") and "not resolved" in table
