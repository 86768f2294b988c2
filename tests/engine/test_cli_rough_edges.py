"""The rough edges a new user hit (issue 18), one test each, so that none comes back:
1 --out checked before running; 3 Ctrl-C prints one message, exits 130, keeps no partial file;
4 the bar ends on the printed figure; 5 compile time apart from learning steps/s; 6 TQDM_DISABLE
and --no-progress everywhere; 7 `data atari`'s summary; 8 a short unknown-env message; 9 what
a sweep will run; 10 help texts. (Rough edge 2 is in tests/leaderboard/test_leaderboard_verify.py.)"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import REPO

import rtrlbench.run as run_module
from rtrlbench.cli import build_parser, main
from rtrlbench.run import compile_seconds

RTRLBENCH = [sys.executable, "-m", "rtrlbench.cli"]


def _no_run(*args, **kwargs):
    raise AssertionError("the run started")


def test_1_an_unwritable_out_folder_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(run_module, "make_env", _no_run)
    assert main(["run", "TraceConditioning-v0", "--steps", "50000000", "--out", str(blocker / "results"),
                 "--no-progress"]) == 2
    assert "--out" in (err := capsys.readouterr().err) and "cannot write there" in err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root may write anyway
            assert main(["run", "TraceConditioning-v0", "--out", str(locked), "--no-progress"]) == 2
    finally:
        locked.chmod(0o700)


def _interrupt(argv: list[str], ready: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Start ``rtrlbench argv`` in its own process group, wait until ``ready`` appears in its output
    files, then Ctrl-C the whole group (as a terminal does)."""
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([*RTRLBENCH, *argv], stdout=stdout, stderr=stderr, start_new_session=True,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120
        while ready not in out.read_text() + err.read_text():
            assert process.poll() is None, err.read_text()
            assert time.monotonic() < deadline, "never got ready"
            time.sleep(0.2)
        time.sleep(1.5)
        os.killpg(process.pid, signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(argv, code, out.read_text(), err.read_text())


def test_3_ctrl_c_in_run_prints_one_message_and_keeps_no_file(tmp_path):
    results = tmp_path / "results"
    done = _interrupt(["run", "TracePatterning-v0", "--learner", "zero", "--steps", "2000000000", "--out",
                       str(results)], "zero on TracePatterning-v0:", tmp_path)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "interrupted; no partly written file was kept" in done.stderr
    assert list(results.iterdir()) == []


def test_3_ctrl_c_in_a_sweep_prints_no_worker_tracebacks(tmp_path):
    """The terminal sends SIGINT to the Dask workers too; they ignore it and the parent stops them."""
    store = tmp_path / "store"
    done = _interrupt(["sweep", "smoke", "--store", str(store), "--workers", "1", "--steps", "200000000",
                       "--no-plots", "--no-progress"], "Dask: 1 worker(s)", tmp_path)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == f"interrupted: finished runs are stored in {store}; rerun the same command to resume"
    assert not list(store.rglob("*.tmp"))


def test_4_the_bar_ends_on_the_figure_the_result_line_prints(capsys):
    assert main(["run", "TraceConditioning-v0", "--learner", "zero", "--steps", "30000"]) == 0
    captured = capsys.readouterr()
    printed = re.search(r"\(MSRE, last [\d,]+ steps\) = ([\d.e-]+) ", captured.out).group(1)
    bar = captured.err.replace("\r", "\n").strip().splitlines()[-1]
    assert bar.endswith(f"final_msre={printed}]"), bar
    assert "block_msre=" in captured.err  # while running: the latest block, labelled as such


def test_5_compile_time_is_reported_apart_from_learning_steps_per_second(tmp_path):
    """A fresh numba cache makes the first run compile: that time is reported on its own and
    left out of steps/s (a learner's steps/s must not depend on whether the cache was warm)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "TQDM_DISABLE": "1"}
    done = subprocess.run([*RTRLBENCH, "run", "TraceConditioning-v0", "--learner", "zero", "--steps", "50000",
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env, check=True)
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    assert record["compile_seconds"] > 0.05
    assert record["steps_per_second"] > record["steps"] / record["wall_seconds"]
    assert re.search(r"steps/s learning; [\d.]+ s compiling numba kernels, not counted", done.stdout)
    assert "first run" in (REPO / "README.md").read_text().split("## Tasks")[0]  # the quick start says so


def test_5_compile_seconds_sums_the_outermost_compilations():
    def event(start):
        return SimpleNamespace(is_start=start, is_end=not start)
    buffer = [(1.0, event(True)), (1.5, event(True)), (2.0, event(False)), (3.0, event(False)),  # nested: 2 s
              (10.0, event(True)), (10.5, event(False))]
    assert compile_seconds(buffer) == pytest.approx(2.5)
    assert compile_seconds([]) == 0.0


def test_6_tqdm_disable_is_honoured(monkeypatch, capsys):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert main(["run", "TraceConditioning-v0", "--learner", "zero", "--steps", "20000"]) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("TQDM_DISABLE", "0")
    assert main(["run", "TraceConditioning-v0", "--learner", "zero", "--steps", "20000"]) == 0
    assert "zero on TraceConditioning-v0" in capsys.readouterr().err


def _commands(parser=None, name="rtrlbench"):
    """(command name, parser) of every leaf subcommand."""
    parser = parser or build_parser()
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield name, parser
    for action in subcommands:
        seen = set()
        for sub_name, sub in action.choices.items():
            if id(sub) not in seen:  # aliases share a parser
                seen.add(id(sub))
                yield from _commands(sub, f"{name} {sub_name}")


#: The commands that can run for more than a few seconds.
LONG = ["rtrlbench run", "rtrlbench sweep", "rtrlbench data fetch-policies", "rtrlbench data atari",
        "rtrlbench data rainbow", "rtrlbench leaderboard verify", "rtrlbench leaderboard references",
        "rtrlbench leaderboard seed-table", "rtrlbench leaderboard build", "rtrlbench leaderboard check",
        "rtrlbench leaderboard submit"]


def test_6_every_long_command_has_no_progress():
    parsers = dict(_commands())
    for name in LONG:
        assert "--no-progress" in parsers[name]._option_string_actions, name


def test_7_data_atari_summary_gives_speed_wall_time_and_returns():
    from rtrlbench.data_tools.data_commands import _summary

    result = SimpleNamespace(game="Pong", reused=False, path="Pong.h5", steps=10_000, seconds=2.0, cpu_seconds=4.0,
                             returns=np.array([-21, -19, 3]),
                             in_step={"episodes": 3, "episodes_in_step": 3, "episodes_timed_out": 0})
    text = _summary(result)
    assert "(10,000 steps in 2.0 s: 5,000 steps/s, 2,500 per CPU second)" in text
    assert "3 of 3 finished episodes in step" in text and "return min -21 / mean -12.3 / max 3" in text


def test_8_the_unknown_env_message_is_short_and_points_to_the_atari_list(capsys):
    assert main(["run", "TracePatterning-v1", "--steps", "10"]) == 2
    message = capsys.readouterr().err
    assert "Did you mean 'TracePatterning-v0'" in message and "Oscillation-v0" in message
    assert "AtariPrediction/<Game>-v1 (58 games; `rtrlbench envs --atari` lists them)" in message
    assert "AtariPrediction/Pong-v1" not in message and len(message) < 500
    assert main(["envs", "--atari"]) == 0
    games = capsys.readouterr().out.splitlines()
    assert len(games) == 58 and games[0].startswith("AtariPrediction/AirRaid-v1 ")


def test_9_experiments_and_sweep_say_what_will_run(capsys, monkeypatch, tmp_path):
    from rtrlbench.sweep import dask_engine
    from rtrlbench.sweep.sweep_commands import plan
    from rtrlbench.sweep.sweep_registry import get_experiment

    smoke = get_experiment("smoke")
    budget = smoke.budget()
    finals = smoke.final_runs(budget, {m.label: {} for m in smoke.methods})
    assert sum(map(len, finals.values())) == 12 and not smoke.tuning_runs(budget)
    text = plan(smoke, budget)
    assert "tuning: 0 runs" in text and "final: 12 runs" in text and "TraceConditioning-v0" in text
    assert main(["experiments"]) == 0
    assert text in capsys.readouterr().out

    class Stop(dask_engine.DaskEngine):
        def __enter__(self):
            raise KeyboardInterrupt

    monkeypatch.setattr(dask_engine, "DaskEngine", Stop)
    assert main(["sweep", "smoke", "--store", str(tmp_path), "--seeds", "2"]) == 130
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("smoke: 20,000 steps per run; tuning: 0 runs") and "final: 8 runs" in first


def test_10_help_texts_give_each_default_once_and_no_local_paths():
    for name, parser in _commands():
        text = " ".join(parser.format_help().split())
        assert "(default: None)" not in text and "(default: False)" not in text, name
        assert str(REPO) not in text and str(Path.home()) not in text, name
        assert not re.search(r"default[^()]*\([^)]*\) \(default:", text), name
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings[0]} has no help text"
