"""Submitting: valid submissions are scored exactly; every kind of bad input is refused with
the field named, and a refused or failed submission leaves the submission files and the
outputs exactly as they were."""
from __future__ import annotations

import copy
import json
import math
import shutil

import numpy as np
import pytest

from rtrlbench.cli import main
from rtrlbench.leaderboard import board_build
from rtrlbench.leaderboard import render as render_module
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.submission import MAX_BYTES, SubmissionError, check_curve
from rtrlbench.leaderboard.submit import submit
from rtrlbench.leaderboard.submission_files import load_folder
from test_leaderboard_support import SEEDS, make_document, world, write  # noqa: F401


def dump(folder) -> dict[str, bytes]:
    """Every file under ``folder`` (the submission files and the outputs), by relative path."""
    folder = folder.parent if folder.name == "submissions" else folder
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def board_template(tmp_path_factory, world):  # noqa: F811
    root = tmp_path_factory.mktemp("board")
    submit(write(root, make_document(world)), root / "board" / "submissions", root / "board" / "out",
           world["references"])
    return root / "board"


@pytest.fixture
def board(tmp_path, board_template):
    """A fresh copy of a submissions folder holding the oracle's submission (#1), and its output folder."""
    shutil.copytree(board_template, tmp_path / "board")
    return tmp_path / "board" / "submissions", tmp_path / "board" / "out"


def _window(document, window):
    """Make every run's final error the mean of its curve's last ``window`` steps."""
    result = document["results"][0]
    result["final_window"] = window
    for run in result["runs"]:
        run["final_msre"] = float(np.mean(run["curve"][-window // result["curve_window"]:]))


def test_scores_are_the_msre_divided_by_the_reference(tmp_path, world):  # noqa: F811
    references = load_references(world["references"])
    zero_msre = [r["final_msre"] for r in world["records"]["zero"]]
    assert references[0]["final_msre"] == zero_msre and references[0]["seeds"] == SEEDS
    oracle = [r["final_msre"] for r in world["records"]["oracle"]]
    assert references[0]["oracle_final_msre"] == oracle
    submission_id, scores, path = submit(write(tmp_path, make_document(world)), tmp_path / "subs", None,
                                         world["references"])
    assert path == tmp_path / "subs" / "oracle__20k.json" and path.is_file()
    assert submission_id == 1
    expected = np.array(oracle) / np.mean(zero_msre)
    assert scores[0]["normalised"] == pytest.approx(expected, rel=1e-12)
    assert scores[0]["normalised_mean"] == pytest.approx(expected.mean(), rel=1e-12)
    assert scores[0]["normalised_se"] == pytest.approx(expected.std(ddof=1) / math.sqrt(3), rel=1e-12)
    assert scores[0]["oracle_ratio"] == pytest.approx([1.0, 1.0, 1.0], rel=1e-12)  # the oracle is its own floor
    assert scores[0]["flops_per_step"] is None


def test_reference_itself_scores_exactly_one(tmp_path, world):  # noqa: F811
    _, scores, _ = submit(write(tmp_path, make_document(world, "zero", "Zero")), tmp_path / "subs", None,
                          world["references"])
    assert scores[0]["normalised_mean"] == pytest.approx(1.0, rel=1e-12)
    assert scores[0]["flops_per_step"] == 0.0


def _set(path):
    """A mutation that sets the field at ``path`` (a list of keys) to a value."""
    def mutate(document, value):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


RUN0 = ["results", 0, "runs", 0]

BAD = [
    ("missing seed", lambda d: d["results"][0]["runs"].pop(), "results[0].runs: missing seed(s) [2]"),
    ("extra seed", lambda d: d["results"][0]["runs"].append({**d["results"][0]["runs"][0], "seed": 7}),
     "results[0].runs: extra seed(s) [7]"),
    ("repeated seed", lambda d: d["results"][0]["runs"].__setitem__(2, d["results"][0]["runs"][0]),
     "results[0].runs: seed(s) [0] appear more than once"),
    ("negative error", lambda d: _set(RUN0 + ["final_msre"])(d, -0.1), "results[0].runs[0].final_msre"),
    ("negative curve point", lambda d: _set(RUN0 + ["curve", 3])(d, -1.0), "results[0].runs[0].curve[3]"),
    ("error off the curve", lambda d: _set(RUN0 + ["final_msre"])(d, d["results"][0]["runs"][0]["final_msre"] * 0.9),
     "results[0].runs[0].final_msre: "),
    ("short curve", lambda d: d["results"][0]["runs"][1]["curve"].pop(), "results[0].runs[1].curve: has 99 points"),
    ("unknown env", lambda d: _set(["results", 0, "env_id"])(d, "NoSuchTask-v0"), "results[0].env_id: unknown env"),
    ("other version", lambda d: _set(["results", 0, "env_version"])(d, "v0+0.0.1"), "results[0].env_version"),
    ("other checksum", lambda d: _set(["results", 0, "dataset_checksum"])(d, "spec-sha256:00"),
     "results[0].dataset_checksum"),
    ("no reference at budget", lambda d: _set(["results", 0, "steps"])(d, 20_100), "results[0].steps: no reference"),
    ("wrong scoring window", lambda d: _window(d, 10_000), "results[0].final_window: must be 20,000"),
    ("markup in name", lambda d: _set(["method", "name"])(d, "<script>alert(1)</script>"), "method.name: markup"),
    ("script url", lambda d: _set(["method", "description"])(d, "see javascript:alert(1)"), "method.description"),
    ("markup in hyperparameter", lambda d: _set(["results", 0, "hyperparameters", "note"])(d, "<img src=x>"),
     "results[0].hyperparameters.note"),
    ("bidi override", lambda d: _set(["contact"])(d, "me\u202egro.live"), "contact: markup"),
    ("non-http code url", lambda d: _set(["method", "code_url"])(d, "ftp://x"), "method.code_url"),
    ("extra field", lambda d: _set(["method", "secret"])(d, 1), "method: Additional properties"),
    ("missing field", lambda d: d.pop("contact"), "(document): 'contact' is a required property"),
    ("wrong package version", lambda d: _set(["package_version"])(d, "9.9.9"), "package_version"),
    ("repeated env", lambda d: d["results"].append(copy.deepcopy(d["results"][0])), "results[1].env_id"),
    ("flops claim off", lambda d: (_set(["method", "learner"])(d, "zero"), _set(["results", 0, "flops_per_step"])(d, 5.0)),
     "results[0].flops_per_step"),
    ("below the oracle floor", lambda d: [(_set(["results", 0, "runs", i, "final_msre"])(d, r["final_msre"] * 0.9),
                                           _set(["results", 0, "runs", i, "curve"])(d, [v * 0.9 for v in r["curve"]]))
                                          for i, r in enumerate(d["results"][0]["runs"])],
     "results[0].runs: seed 0's error"),
    ("verifications submitted", lambda d: _set(["verifications"])(d, []), "verifications: is added by the leaderboard"),
]


@pytest.mark.parametrize("mutate, field", [(m, f) for _, m, f in BAD], ids=[n for n, _, _ in BAD])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(tmp_path, world, board, mutate, field):  # noqa: F811
    db, out = board
    before, readme = dump(db), (out / "README.md").read_text()
    document = make_document(world, name="Other", commit="fedcba9")
    mutate(document)
    with pytest.raises(SubmissionError) as error:
        submit(write(tmp_path, document, "bad.json"), db, out, world["references"])
    if field.startswith("results[0].runs: seed 0's error"):
        assert "below the floor no predictor can reach" in str(error.value)
    assert str(error.value).startswith(field), str(error.value)
    assert dump(db) == before and (out / "README.md").read_text() == readme


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(tmp_path, world, board, token):  # noqa: F811
    db, _ = board
    document = make_document(world, name="Other", commit="fedcba9")
    document["results"][0]["runs"][1]["final_msre"] = "SENTINEL"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document).replace('"SENTINEL"', token))
    before = dump(db)
    with pytest.raises(SubmissionError, match=r"^results\[0\]\.runs\[1\]\.final_msre: .* not a finite number"):
        submit(path, db, None, world["references"])
    assert dump(db) == before


def test_malformed_and_oversized_files_are_refused(tmp_path, world, board):  # noqa: F811
    db, _ = board
    before = dump(db)
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"schema_version": 1, "method": ')
    with pytest.raises(SubmissionError, match=r"^\(file\): not valid JSON"):
        submit(malformed, db, None, world["references"])
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SubmissionError, match=r"^\(file\): not valid JSON: nested too deeply"):
        submit(deep, db, None, world["references"])
    huge = tmp_path / "huge.json"
    huge.write_text(" " * (MAX_BYTES + 1))
    with pytest.raises(SubmissionError, match=r"^\(file\): .* over the"):
        submit(huge, db, None, world["references"])
    assert dump(db) == before


def test_duplicates_are_refused(tmp_path, world, board):  # noqa: F811
    db, _ = board
    before = dump(db)
    copied = make_document(world, name="Copycat", commit="fedcba9")  # same numbers, other name
    with pytest.raises(SubmissionError, match=r"^copycat__20k.json: results: identical results"):
        submit(write(tmp_path, copied), db, None, world["references"], dry_run=True)
    with pytest.raises(SubmissionError, match=r"^copycat__20k.json: results: identical results were already "
                                              r"submitted as #1"):
        submit(write(tmp_path, copied), db, None, world["references"])
    again = make_document(world)  # same name and commit, other numbers
    again["results"][0]["runs"][0]["wall_seconds"] += 1
    for run in again["results"][0]["runs"]:
        run["curve"] = [v * 1.01 for v in run["curve"]]
        run["final_msre"] *= 1.01
    with pytest.raises(SubmissionError, match=r"^method.name: .*oracle__20k.json already exists.*--replace"):
        submit(write(tmp_path, again), db, None, world["references"])
    with pytest.raises(SubmissionError, match=r"^method.commit: oracle__20k.json is at commit 0123abc too"):
        submit(write(tmp_path, again), db, None, world["references"], replace=True)
    with pytest.raises(SubmissionError, match=r"^results: identical results were already submitted as oracle__20k"):
        submit(write(tmp_path, make_document(world, commit="fedcba9")), db, None, world["references"], replace=True)
    assert dump(db) == before
    newer = copy.deepcopy(again)  # a new version of the method (new commit, new numbers): replaces the file
    newer["method"]["commit"] = "fedcba9"
    number, _, path = submit(write(tmp_path, newer), db, None, world["references"], replace=True)
    assert number == 1 and [p.name for p in db.iterdir()] == ["oracle__20k.json"]
    assert json.loads(path.read_text())["method"]["commit"] == "fedcba9"


def test_failure_while_rendering_writes_nothing(tmp_path, world, board, monkeypatch):  # noqa: F811
    db, out = board
    before = dump(db)

    def broken(conn, references, progress=False):
        assert conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 2  # loaded, nothing written yet
        raise RuntimeError("disk full")

    monkeypatch.setattr(board_build, "render_files", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        submit(write(tmp_path, make_document(world, "zero", "Zero")), db, out, world["references"])
    assert dump(db) == before
    monkeypatch.setattr(board_build, "render_files", render_module.render_files)
    submit(write(tmp_path, make_document(world, "zero", "Zero")), db, out, world["references"])
    assert "| – | Zero (not yet verified) |" in (out / "README.md").read_text()


def test_no_reference_is_said_clearly(tmp_path, world):  # noqa: F811
    empty = tmp_path / "none.json"
    with pytest.raises(SubmissionError, match=r"no reference T-BPTT error exists for TraceConditioning-v0 \(at any "
                                              r"budget\).*rtrlbench leaderboard references"):
        submit(write(tmp_path, make_document(world)), tmp_path / "subs", None, empty)


def test_cli_submit_reports_the_field(tmp_path, world, capsys):  # noqa: F811
    document = make_document(world)
    document["results"][0]["runs"].pop(0)
    args = ["leaderboard", "submit", str(write(tmp_path, document)), "--submissions", str(tmp_path / "subs"),
            "--out", str(tmp_path / "out"), "--references", str(world["references"])]
    assert main(args) == 2
    assert "results[0].runs: missing seed(s) [0]" in capsys.readouterr().err
    assert main(args[:2] + [str(write(tmp_path, make_document(world)))] + args[3:] + ["--dry-run"]) == 0
    assert "valid and would be #1" in capsys.readouterr().out
    assert not (tmp_path / "out").exists() and not (tmp_path / "subs").exists()
    assert main(args[:2] + [str(write(tmp_path, make_document(world)))] + args[3:]) == 0
    assert "Commit these files and open a pull request" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "subs").iterdir()) == ["oracle__20k.json"]
    assert (tmp_path / "out" / "leaderboard.sqlite").is_file() and (tmp_path / "out" / "site" / "index.html").is_file()


def test_curve_check_bounds_are_exact():
    curve = [4.0, 2.0, 1.0]  # blocks of 10 steps, 30 steps
    check_curve(1.5, curve, 30, 20, 10, "r")  # whole blocks: (2 + 1) / 2
    with pytest.raises(SubmissionError, match=r"^r.final_msre: .* give 1.5"):
        check_curve(1.5 * (1 + 1e-5), curve, 30, 20, 10, "r")
    # window of 25 steps: the last two blocks plus half of the first: in [30/25, 70/25]
    check_curve(1.2, curve, 30, 25, 10, "r")
    check_curve(2.8, curve, 30, 25, 10, "r")
    with pytest.raises(SubmissionError, match="between 1.2 and 2.8"):
        check_curve(2.81, curve, 30, 25, 10, "r")
    with pytest.raises(SubmissionError, match="between 1.2 and 2.8"):
        check_curve(1.19, curve, 30, 25, 10, "r")


def test_ids_follow_the_submission_order_even_within_one_second(tmp_path, world):  # noqa: F811
    """IDs are positions in (submitted_at, file name) order; the ID submit returns is the one
    verify and the table use, also when two submissions share a second."""
    from rtrlbench.leaderboard.submission_files import find, load_folder

    same = "2026-01-01T00:00:00+00:00"
    subs = tmp_path / "subs"
    zero, _, _ = submit(write(tmp_path, make_document(world, "zero", "Zero")), subs, None, world["references"],
                        submitted_at=same)
    oracle, _, path = submit(write(tmp_path, make_document(world), "o.json"), subs, None, world["references"],
                             submitted_at=same)
    assert (zero, oracle) == (1, 1)  # "oracle__20k.json" sorts before "zero__20k.json"
    assert find(load_folder(subs), oracle)[1].path == path


def test_a_new_submission_never_renumbers_the_ones_already_in(tmp_path, world):  # noqa: F811
    subs = tmp_path / "subs"
    first, _, _ = submit(write(tmp_path, make_document(world)), subs, None, world["references"])  # "oracle__20k"
    second, _, _ = submit(write(tmp_path, make_document(world, "zero", "A zero"), "z.json"), subs, None,
                          world["references"])  # "a-zero__20k" sorts first by name, but comes later in time
    assert (first, second) == (1, 2)
    assert [s.path.name for s in load_folder(subs)] == ["oracle__20k.json", "a-zero__20k.json"]
