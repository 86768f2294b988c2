"""Ctrl-C and killed runs during Atari data generation: exit 130, no traceback, nothing half-written kept."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("ale_py", reason="the atari extra (ale-py) is not installed")
pytest.importorskip("cv2", reason="the atari extra (opencv) is not installed")

from rtrlbench import atomic  # noqa: E402
from rtrlbench.data_tools import generate, hdf5_dataset, replay  # noqa: E402


def _leftovers(data_dir):
    atari = data_dir / "atari"
    return sorted(p.name for p in atari.iterdir()) if atari.is_dir() else []


def test_ctrl_c_during_the_hdf5_write_finishes_no_file_and_exits_130(policy_dir, tmp_path):
    """SIGINT arrives between two HDF5 calls of the write: every call still runs (nothing is torn
    inside h5py), then the interrupt stops the command before the file is renamed into place."""
    script = textwrap.dedent(f"""
        import os, signal, sys, h5py
        from rtrlbench.cli import main
        calls = []
        create = h5py.Group.create_dataset
        def create_and_interrupt(self, *args, **kwargs):
            calls.append(args[0])
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGINT)
            return create(self, *args, **kwargs)
        h5py.Group.create_dataset = create_and_interrupt
        code = main(["data", "atari", "--game", "Pong", "--steps", "300", "--data-dir", {str(tmp_path)!r},
                     "--policy-dir", {str(policy_dir)!r}, "--no-progress"])
        print("calls", len(calls))
        sys.exit(code)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130, done.stderr
    assert "calls 5" in done.stdout  # all five arrays were written before the interrupt was raised
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert _leftovers(tmp_path) == []


def test_ctrl_c_with_jobs_stops_the_workers_promptly(policy_dir, tmp_path):
    """Ctrl-C at a terminal signals the whole process group; the workers ignore it, the parent kills them."""
    command = [sys.executable, "-m", "rtrlbench.cli", "data", "atari", "--games", "Pong", "Breakout", "--jobs", "2",
               "--data-dir", str(tmp_path), "--policy-dir", str(policy_dir), "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    time.sleep(6)  # the workers are replaying by now (a whole game takes ~50 s)
    assert process.poll() is None, process.communicate()
    os.killpg(process.pid, signal.SIGINT)
    start = time.perf_counter()
    out, err = process.communicate(timeout=30)
    assert time.perf_counter() - start < 10
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _leftovers(tmp_path) == []
    assert _group_gone(process.pid, within=5.0)  # no worker survives its parent


def test_ctrl_c_during_the_replay_exits_130(monkeypatch, capsys, policy_dir, tmp_path):
    from rtrlbench.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(replay, "replay", interrupted)
    assert main(["data", "atari", "--game", "Pong", "--steps", "300", "--data-dir", str(tmp_path),
                 "--policy-dir", str(policy_dir), "--no-progress"]) == 130
    assert "rtrlbench data: interrupted" in capsys.readouterr().err


def test_temporary_files_of_killed_runs_are_removed_by_the_next_run(policy_dir, tmp_path):
    target = hdf5_dataset.dataset_path("Pong", tmp_path)
    target.parent.mkdir(parents=True)
    gone = _dead_pid()
    stale = target.parent / f".Pong.h5.{gone}.x1y2z3.tmp"
    live = target.parent / f".Pong.h5.{os.getppid()}.a1b2c3.tmp"  # a running process's file is left alone
    other = target.parent / f".Breakout.h5.{gone}.q.tmp"  # another game's: not this run's business
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    generate.generate("Pong", data_dir=tmp_path, steps=50, policy_dir=policy_dir)
    assert _leftovers(tmp_path) == sorted([live.name, other.name, "Pong.h5"])


def test_interrupts_deferred_raises_at_the_end_of_the_block():
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with atomic.interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            reached.append("after the signal")
    assert reached == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _group_gone(pgid: int, within: float) -> bool:
    """Whether every process of group ``pgid`` is gone within ``within`` seconds (multiprocessing's
    resource tracker lingers as a zombie for a moment until it is reaped)."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
