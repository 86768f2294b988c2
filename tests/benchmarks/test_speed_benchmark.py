"""The speed benchmark's plumbing (its figures are printed, never asserted): one worker run,
its table row, and the T-BPTT optimiser-only rate."""
import numpy as np
import pytest

from rtrlbench.agents.registry import make_learner
from rtrlbench.benchmarks.speed import speed_learners


@pytest.mark.parametrize("learner, hp", [("tbptt", {"truncation": 3, "n_hidden": 2}), ("columnar", {"n_features": 2})])
def test_worker_row_has_every_column(learner, hp):
    config = (f"{learner} small", "trace", learner, hp, 1)
    result = speed_learners.worker(*config[:4], steps=2000, repeats=1)
    assert result["steps_per_second"] > 0 and result["cpu_steps_per_second"] > 0
    assert (result["optimizer_only"] is not None) == (learner == "tbptt")
    row = speed_learners.table_row(config, result)
    assert row.count("|") == 12  # 11 cells, as in the header
    assert "✓" in row.split("|")[6]  # target 1 step/s: met


def test_optimizer_only_rate_leaves_the_learner_untouched():
    agent = make_learner("tbptt", 5, seed=0, truncation=2, n_hidden=3)
    before = {name: getattr(agent, name).copy() for name in ("theta", "trace", "v")}
    assert speed_learners.optimizer_only_rate(agent, seconds=0.01) > 0
    for name, array in before.items():
        np.testing.assert_array_equal(getattr(agent, name), array)


def test_population_benchmark_rows_and_table():
    from tqdm import tqdm

    from rtrlbench.benchmarks.speed import speed_population

    config = ("ccn 4:2", "trace", "ccn", {"n_features": 4, "features_per_stage": 2})
    with tqdm(disable=True) as bar:
        rows = speed_population.measure(config, steps=300, sizes=[2, 3], repeats=1, n_streams=2, bar=bar)
        rows += speed_population.measure(("rtu_linear 3", "trace", "rtu_linear", {"n_units": 3}),
                                         steps=300, sizes=[2], repeats=1, n_streams=1, bar=bar)
    assert [r.get("size") for r in rows] == [2, 3, None]
    assert all(r["population"] > 0 and r["ratio"] > 0 and r["state_mb"] > 0 for r in rows[:2])
    text = speed_population.table(rows)
    assert text.count("\n") == 4 and "no population learner" in text
    assert "best R" in speed_population.best(rows)
