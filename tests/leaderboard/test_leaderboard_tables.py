"""Table building (per env, Atari average, per game), ranking and Markdown escaping,
on hand-made entries (no env needed)."""
from __future__ import annotations

import numpy as np
import pytest

from rtrlbench.leaderboard import leaderboard_plots
from rtrlbench.leaderboard.render_markdown import escape, render_markdown
from rtrlbench.leaderboard.scoring import aggregate
from rtrlbench.leaderboard.tables import build_tables

GAMES = ["AtariPrediction/Pong-v1", "AtariPrediction/Breakout-v1"]


def result(env_id, normalised, steps=1000):
    normalised = np.asarray(normalised, dtype=float)
    summary = aggregate(normalised)
    return {"env_id": env_id, "steps": steps, "seeds": list(range(len(normalised))), "final_msre": list(normalised * 2),
            "normalised": list(normalised), "reference_msre": 2.0, "normalised_mean": summary["mean"],
            "normalised_se": summary["se"], "iqm": summary["iqm"], "iqm_ci": summary["iqm_ci"], "oracle_ratio": None,
            "oracle_ratio_mean": None, "flops_per_step": 100.0, "curve_window": 100,
            "curves": [[1.0] * 10 for _ in normalised], "wall_seconds": [1.0] * len(normalised)}


def entry(id_, name, results, verified=False, status=None):
    status = status or ("verified" if verified else "unverified")
    check = {"verified_at": "2026-01-02T00:00:00+00:00", "tolerance": 0.01, "passed": status == "verified"}
    return {"id": id_, "method_name": name, "description": "", "code_url": "https://x", "code_commit": "abc1234",
            "hardware": "", "contact": "", "submitted_at": "2026-01-01T00:00:00+00:00", "verified": verified,
            "status": status, "verification": None if status == "unverified" else check,
            "results": {r["env_id"]: r for r in results}}


def references(steps=1000):
    return [{"env_id": g, "steps": steps} for g in GAMES]


def test_atari_average_needs_every_game_and_ranks_by_mean():
    entries = [
        entry(1, "Both games", [result(GAMES[0], [0.5, 0.7]), result(GAMES[1], [1.5, 1.3])], verified=True),
        entry(2, "Pong only", [result(GAMES[0], [0.1, 0.1])], verified=True),
        entry(3, "Better", [result(GAMES[0], [0.4, 0.4]), result(GAMES[1], [0.6, 0.6])], verified=True),
    ]
    tables = build_tables(entries, references())
    assert [t["kind"] for t in tables] == ["atari-average", "atari-game", "atari-game"]
    average = tables[0]
    assert [r["entry"]["id"] for r in average["rows"]] == [3, 1]  # "Pong only" is not averaged
    row = average["rows"][1]
    assert row["score"] == pytest.approx(1.0)  # seeds: (0.5+1.5)/2, (0.7+1.3)/2
    assert row["cells"]["normalised"]["text"] == "1.000 ± 0.000" and row["cells"]["games"]["sort"] == 2
    pong = next(t for t in tables if t["title"].startswith("Atari: Pong"))
    assert [r["cells"]["rank"]["text"] for r in pong["rows"]] == ["1", "2", "3"]
    assert [r["entry"]["id"] for r in pong["rows"]] == [2, 3, 1]
    assert leaderboard_plots.per_game_png(average)[:8] == b"\x89PNG\r\n\x1a\n"
    assert leaderboard_plots.normalised_png(average)[:8] == b"\x89PNG\r\n\x1a\n"


def test_only_verified_entries_are_ranked_and_failed_ones_come_last():
    """A failed verification takes an entry out of the ranking even when its claimed error is
    the lowest; an entry not yet verified is listed apart, unranked."""
    env = "TracePatterning-v0"
    entries = [entry(1, "Failed", [result(env, [0.1])], status="failed"),
               entry(2, "Unverified", [result(env, [0.2])]),
               entry(3, "Worse", [result(env, [0.9])], verified=True),
               entry(4, "Better", [result(env, [0.5])], verified=True)]
    (table,) = build_tables(entries, [])
    assert [(r["cells"]["rank"]["text"], r["entry"]["method_name"], r["status"]) for r in table["rows"]] == [
        ("1", "Better", "verified"), ("2", "Worse", "verified"), ("–", "Unverified", "unverified"),
        ("✘", "Failed", "failed")]
    text = render_markdown([table], {})
    assert "| – | Unverified (not yet verified) |" in text and "| ✘ | Failed ✘ verification failed |" in text


def test_budgets_get_their_own_tables_and_markdown_escapes_text():
    entries = [entry(1, "a|b *c* <i>", [result("TracePatterning-v0", [0.5], 1000)], verified=True),
               entry(2, "d", [result("TracePatterning-v0", [0.7], 2000)])]
    tables = build_tables(entries, [])
    assert [t["title"] for t in tables] == ["TracePatterning-v0 — 1,000 steps", "TracePatterning-v0 — 2,000 steps"]
    text = render_markdown(tables, {})
    assert "| a\\|b \\*c\\* &lt;i&gt; ✔ verified |" in text
    assert escape("x_y [z](javascript:1)") == "x\\_y \\[z\\](javascript:1)"
    assert leaderboard_plots.label("cost $5") == r"cost \$5"
