"""Sweeps against a real Dask cluster on loopback: `dask scheduler` + two `dask worker` processes.

Checks: a worker killed mid-sweep loses nothing and duplicates nothing; results equal a
local run; a rerun computes nothing; a bad configuration fails alone with a clear message;
the CLI drives a whole experiment through ``--scheduler``.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from rtrlbench.cli import main
from rtrlbench.sweep.dask_engine import DaskEngine, execute
from rtrlbench.sweep.run_spec import RunSpec
from rtrlbench.sweep.result_store import ResultStore

pytest.importorskip("distributed")

#: Fields of a result that must not depend on where or when it ran.
DETERMINISTIC = ("final_msre", "curve", "curve_window", "final_window", "hyperparameters", "return_truncation")


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers (no nanny, so killing a worker kills it) on 127.0.0.1.

    Shared by the tests of this module; the test that kills a worker comes last.
    """
    tmp_path = tmp_path_factory.mktemp("dask")
    scheduler_file = tmp_path / "scheduler.json"
    procs = {}
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    log = open(tmp_path / "dask.log", "w")

    def start(name, *args):
        procs[name] = subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT,
                                       env=env, start_new_session=True)

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(scheduler_file))
        _wait_for(scheduler_file.exists, 60, "the Dask scheduler")
        for name in ("w1", "w2"):
            start(name, "worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1", "--nthreads", "1",
                  "--no-nanny", "--no-dashboard", "--name", name, "--death-timeout", "60")
        with DaskEngine(str(scheduler_file)) as engine:
            _wait_for(lambda: engine.n_workers == 2, 60, "two Dask workers")
        yield {"scheduler_file": str(scheduler_file), "procs": procs}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


def _specs(n_seeds, steps):
    return [RunSpec(env_id=env, learner=learner, seed=seed, steps=steps)
            for env in ("TracePatterning-v0", "TraceConditioning-v0") for learner in ("zero", "oracle")
            for seed in range(n_seeds)]


def test_bad_configuration_fails_alone_with_a_clear_message(cluster, tmp_path):
    store = ResultStore(tmp_path / "store")
    good = _specs(n_seeds=1, steps=2000)
    bad = RunSpec(env_id="TracePatterning-v0", learner="zero", seed=0, steps=2000, hyperparameters={"alpha": 0.1})
    missing = RunSpec(env_id="TracePatterning-v0", learner="not-a-learner", seed=0, steps=2000)
    with DaskEngine(cluster["scheduler_file"]) as engine:
        report = engine.run([*good, bad, missing], store, progress=False)
    assert sorted(report.completed) == sorted(s.run_id for s in good)
    assert "learner 'zero' has no hyperparameter(s) ['alpha']" in report.failed[bad.run_id]
    assert "learner 'not-a-learner' is not registered" in report.failed[missing.run_id]
    failures = {f["run_id"]: f for f in store.failures()}
    assert set(failures) == {bad.run_id, missing.run_id}
    assert "ValueError" in failures[bad.run_id]["traceback"]


def test_cli_sweep_through_scheduler_and_export(cluster, tmp_path, capsys):
    store, plots = tmp_path / "store", tmp_path / "plots"
    argv = ["sweep", "smoke", "--store", str(store), "--scheduler", cluster["scheduler_file"], "--steps", "3000",
            "--seeds", "2", "--plots", str(plots), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "final: 8 run(s) computed, 0 already stored, 0 failed" in out
    assert main([*argv, "--no-plots"]) == 0
    assert "final: 0 run(s) computed, 8 already stored" in capsys.readouterr().out
    assert (plots / "smoke_summary.png").stat().st_size > 0
    summary = json.loads((plots / "smoke_summary.json").read_text())
    assert summary["labels"] == ["Zero", "Oracle"] and summary["mean"][0] == pytest.approx(1.0)
    assert summary["mean"][1] < 0.5  # the oracle beats the zero predictor on both tasks

    csv = tmp_path / "runs.csv"
    assert main(["results", "--store", str(store), "--experiment", "smoke", "--steps", "3000", "--seeds", "2",
                 "--out", str(csv)]) == 0
    import pandas as pd

    frame = pd.read_csv(csv)
    assert len(frame) == 8 and set(frame.learner) == {"zero", "oracle"} and frame.final_msre.notna().all()
    parquet = tmp_path / "curves.parquet"
    assert main(["results", "--store", str(store), "--curves", "--out", str(parquet)]) == 0
    assert len(pd.read_parquet(parquet)) == 8 * 100  # 100 curve blocks per run


def test_worker_killed_mid_sweep_then_resume(cluster, tmp_path):
    store = ResultStore(tmp_path / "store")
    specs = _specs(n_seeds=4, steps=3_000_000)  # 16 runs of a few tenths of a second each
    outcome = {}

    def sweep():
        with DaskEngine(cluster["scheduler_file"]) as engine:
            outcome["report"] = engine.run(specs, store, progress=False)

    thread = threading.Thread(target=sweep)
    thread.start()
    _wait_for(lambda: len(list(store.records())) >= 2, 120, "the first results")
    stored_at_kill = len(list(store.records()))
    os.kill(cluster["procs"]["w2"].pid, signal.SIGKILL)
    thread.join(timeout=150)
    assert not thread.is_alive(), "the sweep did not finish after a worker was killed"
    assert stored_at_kill < len(specs), "the worker was killed after the sweep had finished: make runs longer"

    report = outcome["report"]
    ids = [s.run_id for s in specs]
    assert sorted(report.completed) == sorted(ids) and not report.failed  # each finished exactly once
    assert sorted(r["run_id"] for r in store.records()) == sorted(ids)
    for spec in specs:  # identical to running it here
        local = execute(spec.to_dict())
        stored = store.get(spec.run_id)["result"]
        assert {k: stored[k] for k in DETERMINISTIC} == {k: local[k] for k in DETERMINISTIC}, spec.describe()

    mtimes = {p: p.stat().st_mtime_ns for p in store.runs_dir.iterdir()}
    with DaskEngine(cluster["scheduler_file"]) as engine:  # one worker left
        again = engine.run(specs, store, progress=False)
    assert again.completed == [] and sorted(again.skipped) == sorted(ids)
    assert {p: p.stat().st_mtime_ns for p in store.runs_dir.iterdir()} == mtimes  # nothing rewritten
