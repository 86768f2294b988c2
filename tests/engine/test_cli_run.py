"""The `rtrlbench` command: envs, learners, run (result file), and its error messages."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rtrlbench
from rtrlbench.cli import main
from rtrlbench.envs.registration import ENVS, listed_envs


def test_envs_lists_every_registered_task_one_line_each(capsys):
    assert main(["envs"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(listed_envs()) and len(set(lines)) == len(lines)
    for env_id in ("TracePatterning-v0", "TraceConditioning-v0", "NoisyPatterning-v0"):
        assert any(line.startswith(env_id + " ") for line in lines)
    hidden = set(ENVS) - set(listed_envs())
    assert all(env_id.startswith("AtariPrediction/") for env_id in hidden), "only per-game family members are folded"


def test_learners_lists_zero_and_oracle(capsys):
    assert main(["learners"]) == 0
    names = capsys.readouterr().out.split()
    assert "zero" in names and "oracle" in names


def test_run_writes_a_complete_result_file(tmp_path, capsys):
    code = main(["run", "TraceConditioning-v0", "--learner", "oracle", "--steps", "20000", "--seed", "3",
                 "--out", str(tmp_path), "--no-progress", "--env-kwargs", '{"isi": [20, 20], "iti": [100, 100]}'])
    assert code == 0
    out = capsys.readouterr().out
    assert "return error" in out
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    assert record["env_id"] == "TraceConditioning-v0" and record["env_kwargs"] == {"isi": [20, 20], "iti": [100, 100]}
    assert record["learner"] == "oracle" and record["seed"] == 3 and record["steps"] == 20000
    assert record["package_version"] == rtrlbench.__version__ and record["record_schema_version"] == 1
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          cwd=Path(rtrlbench.__file__).parent)
    if head.returncode == 0:  # run from a git checkout: the code's commit is recorded (None from a wheel)
        assert record["code_commit"] == head.stdout.strip()
    assert record["final_msre"] < 1e-15  # deterministic timing: the oracle is exact
    assert len(record["curve"]) == 100 and record["curve_window"] == 200
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


def test_run_result_is_reproducible_for_a_seed():
    from rtrlbench.run import run

    a = run("TracePatterning-v0", "zero", 5000, seed=1, progress=False)
    b = run("TracePatterning-v0", "zero", 5000, seed=1, progress=False)
    c = run("TracePatterning-v0", "zero", 5000, seed=2, progress=False)
    assert a["curve"] == b["curve"] and a["curve"] != c["curve"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "NoSuchTask-v0", "--steps", "10"], "unknown env 'NoSuchTask-v0'"),
        (["run", "TracePatterning-v0", "--learner", "nope", "--steps", "10"], "unknown learner 'nope'"),
        (["run", "TracePatterning-v0", "--steps", "0"], "steps must be a positive integer"),
        (["run", "TracePatterning-v0", "--steps", "10", "--hparams", "[1]"], "--hparams must be a JSON object"),
        (["run", "TracePatterning-v0", "--steps", "10", "--env-kwargs", '{"gamma": 2}'], "gamma must lie in"),
        (["run", "TracePatterning-v0", "--steps", "10", "--learner", "zero", "--hparams", '{"alpha": 1}'],
         "no hyperparameter"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv, message, capsys):
    assert main([*argv, "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "rtrlbench.cli", "envs"], capture_output=True, text=True, check=True)
    assert "TracePatterning-v0" in out.stdout
