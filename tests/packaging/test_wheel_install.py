"""THE WHEEL TEST: a user who installs the built wheel (not an editable clone) gets every part.

Builds the wheel from the tracked sources, installs it with ``--no-deps`` into a fresh virtual
environment that sees this interpreter's installed dependencies (no internet needed), and runs,
from a folder outside the clone: ``rtrlbench envs``, ``rtrlbench run`` with the zero predictor and
with a learner (the columnar network), and the leaderboard build, whose README and page must
equal the committed ones byte for byte (the submission files ship in the wheel). About a minute.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.wheel

#: Files the package needs at run time, as paths inside the wheel.
PACKAGE_DATA = ["rtrlbench/leaderboard/references.json", "rtrlbench/leaderboard/submission.schema.json",
                "rtrlbench/leaderboard/seed_config.json", "rtrlbench/leaderboard/reference_config.json",
                "rtrlbench/leaderboard/readme_intro.md", "rtrlbench/data_tools/policy_sha256sums.txt",
                "rtrlbench/leaderboard/submissions/zero-predictor__500k-1m.json"]


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(python, rtrlbench, wheel path, scratch folder)`` of a fresh venv with the wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO).stdout
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    venv = root / "venv"
    # --without-pip: the interpreter's own pip and setuptools (seen through the system site
    # packages) build and install; nothing is downloaded.
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w",
          str(root / "dist"), str(source)], cwd=root)
    (wheel,) = (root / "dist").glob("rtrl_bench-*.whl")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], cwd=root)
    scratch = root / "elsewhere"
    scratch.mkdir()
    return python, venv / "bin" / "rtrlbench", wheel, scratch


def test_the_wheel_holds_the_package_data(installed):
    names = set(zipfile.ZipFile(installed[2]).namelist())
    missing = [name for name in PACKAGE_DATA if name not in names]
    assert not missing, missing
    shipped = {n for n in names if n.startswith("rtrlbench/leaderboard/submissions/")}
    assert len(shipped) == len(list((REPO / "leaderboard" / "submissions").glob("*.json")))


def test_the_installed_package_is_the_wheel(installed):
    python, _, _, scratch = installed
    where = _run([str(python), "-c", "import rtrlbench; print(rtrlbench.__file__)"], cwd=scratch).stdout.strip()
    assert Path(where).is_relative_to(python.parent.parent), where  # not the clone


def test_envs_and_runs_work_from_the_wheel(installed):
    python, rtrlbench, _, scratch = installed
    assert "TracePatterning-v0" in _run([str(rtrlbench), "envs"], cwd=scratch).stdout
    for learner, steps in (("zero", 20_000), ("columnar", 3_000)):
        out = _run([str(rtrlbench), "run", "TracePatterning-v0", "--learner", learner, "--steps", str(steps),
                    "--no-progress", "--out", str(scratch / "runs")], cwd=scratch).stdout
        assert "return error (MSRE" in out
        record = json.loads((scratch / "runs" / f"TracePatterning-v0__{learner}__seed0__{steps}.json").read_text())
        assert record["code_commit"] is None and record["record_schema_version"] == 1  # a wheel has no git commit
        assert record["final_msre"] > 0


def test_the_leaderboard_builds_from_the_wheel(installed):
    _, rtrlbench, _, scratch = installed
    out = scratch / "board"
    _run([str(rtrlbench), "leaderboard", "build", "--out", str(out)], cwd=scratch)
    for name in ("README.md", "site/index.html"):
        assert (out / name).read_bytes() == (REPO / "leaderboard" / name).read_bytes(), name
    assert (out / "leaderboard.sqlite").is_file()
    assert "schema_version" in _run([str(rtrlbench), "leaderboard", "schema"], cwd=scratch).stdout
