"""A tiny two-stage sweep (tune, select, rerun) on an in-process Dask cluster, and the figures drawn from it.

The figures are checked through the numbers written beside them (``<figure>.json``),
recomputed here independently from the stored runs, and by being non-empty images.
"""
import json

import numpy as np
import pytest

from rtrlbench.agents import registry
from rtrlbench.learner_interface import Learner
from rtrlbench.benchmarks.experiments import experiment_plots as plots
from rtrlbench.benchmarks.experiments import analyses
from rtrlbench.sweep.experiment_definition import Experiment, Method
from rtrlbench.sweep.tune_and_rerun import collect, sweep
from rtrlbench.sweep.dask_engine import DaskEngine
from rtrlbench.sweep.result_store import ResultStore

pytest.importorskip("distributed")


class Constant(Learner):
    """Predicts ``value`` at every step (a learner with one hyperparameter, to tune)."""

    name = "constant"

    def __init__(self, n_inputs, value=0.0):
        super().__init__(n_inputs)
        self.value = float(value)

    def hyperparameters(self):
        return {"value": self.value}

    def _predict_first(self, x):
        return self.value

    def _update(self, cumulant, gamma, x):
        return self.value

    def _run_chunk(self, obs, cumulant, gamma):
        return np.full(len(obs), self.value)


VALUES = [0.0, 0.02, 0.5]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The experiment swept at a tiny budget: (experiment, budget, store, reports)."""
    mp = pytest.MonkeyPatch()
    mp.setitem(registry.LEARNERS, "constant", f"{__name__}:Constant")
    exp = Experiment("tiny", "Tiny", [Method("Const", "constant", grid={"value": VALUES}), Method("Zero", "zero"),
                                      Method("Oracle", "oracle")],
                     envs=["TracePatterning-v0", "TraceConditioning-v0"], steps=6000, seeds=4, tune_seeds=2,
                     analyse=lambda results, out: (analyses.learning_curves(results, out)
                                                   + analyses.per_game_and_summary("Zero", "Const")(results, out)))
    budget = exp.budget()
    store = ResultStore(tmp_path_factory.mktemp("store"))
    with DaskEngine(workers=1, processes=False) as engine:  # threads: sees the monkeypatched registry
        reports = sweep(exp, budget, store, engine, progress=False)
    yield exp, budget, store, reports
    mp.undo()


def test_selection_picks_the_lowest_mean_error_and_reruns_it_on_all_seeds(swept):
    exp, budget, store, (tuning, final) = swept
    assert len(tuning.completed) == len(VALUES) * 2 * 2 and not tuning.failed
    # Independent selection: mean over tasks of (mean error over tuning seeds / best configuration's).
    errors = {v: {} for v in VALUES}
    for record in store.records():
        spec = record["spec"]
        if spec["learner"] == "constant" and spec["seed"] < budget.tune_seeds:
            errors[spec["hyperparameters"]["value"]].setdefault(spec["env_id"], []).append(record["result"]["final_msre"])
    means = {v: {env: np.mean(e) for env, e in per_env.items()} for v, per_env in errors.items()}
    best = {env: min(means[v][env] for v in VALUES) for env in exp.envs}
    score = {v: np.mean([means[v][env] / best[env] for env in exp.envs]) for v in VALUES}
    expected = min(VALUES, key=score.get)
    assert expected == 0.02 and len(set(score.values())) == 3  # the mean return is small but not 0
    results = collect(exp, budget, store)
    assert results.selections["Const"].winner == {"value": expected}
    np.testing.assert_allclose(results.selections["Const"].scores, [score[v] for v in VALUES])
    assert sorted((r["spec"]["env_id"], r["spec"]["seed"]) for r in results.records["Const"]) == sorted(
        (env, seed) for env in exp.envs for seed in range(4))
    # The winner's tuning runs (seeds 0, 1) were reused: final stage computed only seeds 2, 3 for it.
    assert len(final.completed) == 2 * 2 + 2 * 4 * 2 and not final.failed
    frame = store.frame()
    assert len(frame) == len(list(store.records())) and set(frame["hp.value"].dropna()) == set(VALUES)
    assert len(store.frame(curves=True)) == 100 * len(frame)
    selection_file = next((store.root / "selections").glob("tiny__*.json"))
    assert json.loads(selection_file.read_text())["methods"][0]["winner"] == {"value": expected}


def test_figures_show_the_stored_runs(swept, tmp_path):
    exp, budget, store, _ = swept
    results = collect(exp, budget, store)
    paths = exp.analyse(results, tmp_path)
    assert {p.suffix for p in paths} == {".png", ".svg"} and len(paths) == 2 * 4
    for path in paths:
        head = path.read_bytes()[:200]
        assert path.stat().st_size > 2000 and (head.startswith(b"\x89PNG") or b"<svg" in head or b"<?xml" in head)

    curves = json.loads((tmp_path / "tiny_TracePatterning-v0.json").read_text())["curves"]
    assert list(curves) == ["Const", "Zero", "Oracle"]
    for label, curve in curves.items():
        runs = [r["result"]["curve"] for r in results.records[label] if r["spec"]["env_id"] == "TracePatterning-v0"]
        runs = np.array(runs)
        assert curve["n"] == 4 and len(curve["steps"]) == runs.shape[1] == 100
        assert curve["steps"][-1] == budget.steps
        np.testing.assert_allclose(curve["mean"], runs.mean(axis=0))
        np.testing.assert_allclose(curve["sem"], runs.std(axis=0, ddof=1) / 2)

    def final(label, env):
        return np.mean([r["result"]["final_msre"] for r in results.records[label] if r["spec"]["env_id"] == env])

    bars = json.loads((tmp_path / "tiny_per_game.json").read_text())
    assert bars["games"] == sorted(exp.envs)
    np.testing.assert_allclose(bars["bars"]["Zero"]["mean"], [1.0, 1.0])
    np.testing.assert_allclose(bars["bars"]["Const"]["mean"], [final("Const", g) / final("Zero", g) for g in bars["games"]])
    summary = json.loads((tmp_path / "tiny_summary.json").read_text())
    assert summary["labels"] == ["Const", "Zero", "Oracle"]
    np.testing.assert_allclose(summary["mean"][2], np.mean([final("Oracle", g) / final("Zero", g) for g in bars["games"]]))
    assert summary["mean"][2] < summary["mean"][1] == pytest.approx(1.0)


def test_sensitivity_plot_data(tmp_path):
    panels = {"truncation": {"x": [2, 4, 8], "mean": [1.5, 1.2, 1.0], "sem": [0.1, 0.1, 0.0]}}
    paths = plots.sensitivity(panels, tmp_path / "fig11", title="t")
    assert [p.name for p in paths] == ["fig11.png", "fig11.svg"] and all(p.stat().st_size > 2000 for p in paths)
    assert json.loads((tmp_path / "fig11.json").read_text())["panels"] == panels


def test_analysis_without_results_names_the_fix(swept, tmp_path):
    exp, budget, store, _ = swept
    results = collect(exp, exp.budget(steps=7000), store)  # a budget never swept
    with pytest.raises(ValueError, match="run `rtrlbench sweep tiny` with the same budget first"):
        exp.analyse(results, tmp_path)
