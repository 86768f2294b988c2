"""The submission files are the leaderboard's truth: the old tracked database converts to them
losslessly, they build byte-identical outputs, and the committed README and page are checked
against them (CI fails when they are stale). No database needs to exist beforehand."""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess

import pytest
from conftest import REPO

from rtrlbench.cli import main
from rtrlbench.leaderboard.board_build import assemble, build, check, stale_outputs
from rtrlbench.leaderboard.legacy_database import convert_database
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.submission_files import SUBMISSIONS_DIR, budget_label, dumps, file_name, load_folder

BOARD = REPO / "leaderboard"


@pytest.fixture(scope="module")
def committed_board():
    """The board the committed submission files build (in memory)."""
    return assemble(load_folder(SUBMISSIONS_DIR), load_references())


@pytest.fixture(scope="module")
def conversion_commit():
    """The commit in which the submission files replaced the tracked database."""
    try:
        return subprocess.run(["git", "log", "--format=%H", "--diff-filter=D", "-1", "--",
                               "leaderboard/leaderboard.sqlite"], cwd=REPO, capture_output=True, check=True,
                              text=True).stdout.strip() or pytest.skip("no commit removed the database")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the git history with the old database is not available (a shallow clone?)")


def _git_show(revision_path: str) -> bytes:
    return subprocess.run(["git", "show", revision_path], cwd=REPO, capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def old_database(tmp_path_factory, conversion_commit):
    """The tracked ``leaderboard.sqlite`` as it was in git before the files replaced it."""
    try:
        blob = _git_show(f"{conversion_commit}^:leaderboard/leaderboard.sqlite")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the git history with the old database is not available (a shallow clone?)")
    path = tmp_path_factory.mktemp("old") / "old.sqlite"
    path.write_bytes(blob)
    return path


def rows(path, table: str, order: str) -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]
    finally:
        conn.close()


def test_no_database_is_tracked():
    tracked = subprocess.run(["git", "ls-files", "leaderboard"], cwd=REPO, capture_output=True, text=True).stdout
    assert "leaderboard.sqlite" not in tracked and "leaderboard/submissions/" in tracked
    assert "/leaderboard/leaderboard.sqlite" in (REPO / ".gitignore").read_text().split()


def test_old_database_converts_losslessly(tmp_path, old_database, conversion_commit):
    """Converting the old database gives exactly the files committed when they replaced it (later
    submissions and re-runs change the folder, not the conversion), and the database those files
    build holds every row of the old one: the same submissions (documents, dates, hashes), runs and
    verifications; IDs are renumbered 1, 2, ... in submission order (the old ones had gaps)."""
    paths = convert_database(old_database, tmp_path / "converted")
    listed = subprocess.run(["git", "ls-tree", "--name-only", f"{conversion_commit}:leaderboard/submissions/"],
                            cwd=REPO, capture_output=True, check=True, text=True).stdout.split()
    assert sorted(p.name for p in paths) == sorted(name for name in listed if name.endswith(".json"))
    for path in paths:
        assert path.read_bytes() == _git_show(f"{conversion_commit}:leaderboard/submissions/{path.name}"), path.name

    new = tmp_path / "new.sqlite"
    new.write_bytes(assemble(load_folder(tmp_path / "converted"), load_references()).database)
    old_subs, new_subs = rows(old_database, "submissions", "id"), rows(new, "submissions", "id")
    id_map = {o["id"]: n["id"] for o, n in zip(old_subs, new_subs)}
    assert list(id_map.values()) == list(range(1, len(old_subs) + 1))
    for o, n in zip(old_subs, new_subs):
        assert {k: v for k, v in n.items() if k not in ("id", "file")} == {k: v for k, v in o.items() if k != "id"}
    for table, order, derived in (("results", "submission_id, env_id", ("normalised_mean", "normalised_se", "score")),
                                  ("runs", "submission_id, env_id, seed", ("normalised",))):
        old_rows, new_rows = rows(old_database, table, order), rows(new, table, order)
        assert len(old_rows) == len(new_rows) > 0
        for o, n in zip(old_rows, new_rows):
            o = {**o, "submission_id": id_map[o["submission_id"]]}
            assert {k: v for k, v in n.items() if k not in derived} == {k: v for k, v in o.items() if k not in derived}
            # Scores are recomputed against today's references.json: the trace reference mean moved
            # by 1.5e-8 (relative) when it was regenerated after those entries were scored.
            for key in derived:
                assert _close(json.loads(n[key]) if key == "score" else n[key],
                              json.loads(o[key]) if key == "score" else o[key]), (table, key)
    old_checks, new_checks = rows(old_database, "verifications", "id"), rows(new, "verifications", "id")
    key = lambda c: (c["submission_id"], c["verified_at"])  # noqa: E731
    assert sorted(({**o, "id": None, "submission_id": id_map[o["submission_id"]], "details": json.loads(o["details"])}
                   for o in old_checks), key=key) == \
        sorted(({**{k: v for k, v in n.items() if k != "verified_by"}, "id": None,
                 "details": json.loads(n["details"])} for n in new_checks), key=key)
    assert {n["verified_by"] for n in new_checks} == {"rtrl-bench maintainers (rtrlbench leaderboard seed-table)"}


def _close(a, b, rel=1e-7) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rel) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=rel, nan_ok=True)
    return a == b


def test_the_same_files_build_byte_identical_outputs(committed_board):
    again = assemble(load_folder(SUBMISSIONS_DIR), load_references())
    assert again.files == committed_board.files  # README.md, site/index.html, every plot
    dumps_of = []
    for board in (committed_board, again):
        conn = sqlite3.connect(":memory:")
        conn.deserialize(board.database)
        dumps_of.append("\n".join(conn.iterdump()))
        conn.close()
    assert dumps_of[0] == dumps_of[1] and "INSERT INTO \"submissions\"" in dumps_of[0]


def test_committed_readme_and_page_are_up_to_date(committed_board):
    """Fails when a submission file changed and README.md / site/ were not rebuilt (the fix:
    `rtrlbench leaderboard build`, then commit)."""
    assert stale_outputs(committed_board, BOARD) == []
    page = committed_board.files["site/index.html"].decode()
    headline = re.findall(r'<section id="([^"]+)"><h2>', page)
    assert headline[:2] == ["tracepatterning-v0-1-000-000-steps", "atari-average-47-games-500-000-steps"]
    for slug in headline[:2]:  # each leads with its plot of normalised error per method
        assert f"site/plots/{slug}-normalised.png" in committed_board.files and f"plots/{slug}-normalised.png" in page
    assert page.count('<details class="game"') == 47 and page.count("<nav><ul><li>") == 1
    assert "58 games have a recorded Rainbow-DQN policy; 47 have a reference and are scored." in page
    assert "Assault, MontezumaRevenge, Venture: their recordings hold no reward" in page
    for path in SUBMISSIONS_DIR.glob("*.json"):
        (item,) = [s for s in load_folder(SUBMISSIONS_DIR) if s.path == path]
        assert path.read_text() == dumps(item), f"{path.name} is not in the canonical layout"
        assert path.name == file_name(item.document)


def test_check_finds_stale_outputs_bad_layout_names_and_broken_files(tmp_path, capsys):
    subs, out = tmp_path / "submissions", tmp_path / "out"
    subs.mkdir()
    for path in SUBMISSIONS_DIR.glob("*__1m.json"):  # the trace entries: quick to build
        shutil.copy(path, subs)
    oracle = subs / "oracle-knows-the-task__1m.json"
    data = json.loads(oracle.read_text())
    data["method"]["description"] = "Knows the task."
    oracle.write_text(json.dumps(data))  # not the canonical layout, and the outputs no longer match
    assert main(["leaderboard", "build", "--submissions", str(subs), "--out", str(out)]) == 0
    data["method"]["description"] = "Knows the task!"
    oracle.write_text(json.dumps(data))
    problems = check(subs, out)
    assert problems[0].startswith("oracle-knows-the-task__1m.json: not in the canonical layout")
    assert not any("README.md is stale" in p for p in problems)  # the README shows no descriptions
    assert any(f"{out / 'site' / 'index.html'} is stale" in p for p in problems)
    assert main(["leaderboard", "build", "--submissions", str(subs), "--out", str(out), "--reformat"]) == 0
    assert (out / "leaderboard.sqlite").is_file() and "Knows the task!" in (out / "site" / "index.html").read_text()
    capsys.readouterr()
    assert main(["leaderboard", "check", "--submissions", str(subs), "--out", str(out)]) == 0
    assert f"{len(list(subs.glob('*.json')))} submission files valid" in capsys.readouterr().out
    oracle.rename(subs / "oracle.json")
    assert check(subs, None) == ["oracle.json: (file name): must be 'oracle-knows-the-task__1m.json' (method name "
                                 "and budgets); rename it"]
    data["results"][0]["runs"][0]["final_msre"] = 5.0  # off its curve
    (subs / "oracle.json").unlink()
    oracle.write_text(json.dumps(data))
    assert main(["leaderboard", "check", "--submissions", str(subs), "--files-only"]) == 1
    assert "oracle-knows-the-task__1m.json: results[0].runs[0].final_msre: 5.0 is inconsistent" in \
        capsys.readouterr().out


def test_build_from_an_empty_folder_needs_no_database(tmp_path):
    paths = build(tmp_path / "none", tmp_path / "out")
    assert (tmp_path / "out" / "leaderboard.sqlite") in paths
    assert "No scored submissions yet" in (tmp_path / "out" / "README.md").read_text()


def test_file_names_and_layout():
    assert [budget_label(s) for s in (500_000, 1_000_000, 1_500_000, 20_000, 1234)] == ["500k", "1m", "1.5m", "20k",
                                                                                       "1234"]
    document = {"method": {"name": "CCN (20:4) — v2"}, "results": [{"steps": 1_000_000}, {"steps": 500_000}]}
    assert file_name(document) == "ccn-20-4-v2__500k-1m.json"
    from rtrlbench.leaderboard.submission_files import StoredSubmission

    text = dumps(StoredSubmission({"b": [1.5, 2], "a": {"runs": [{"curve": [0.1, 0.2]}]}}, "2026-01-01T00:00:00+00:00"))
    assert text.splitlines()[:4] == ['{', '  "a": {', '    "runs": [', '      {']
    assert '"curve": [0.1, 0.2]' in text and '"b": [1.5, 2]' in text and json.loads(text)["verifications"] == []
