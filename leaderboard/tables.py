"""The leaderboard's tables, independent of output format.

One table per (benchmark, budget): each non-Atari env; the Atari average (only
submissions that cover every game with a reference at that budget); and each Atari game.
A cell is ``{"text": shown, "sort": number or string or None}``. Rows come in three groups:
verified entries ranked by mean normalised error (1, 2, ...), then entries not yet verified
(unranked, rank "–"), then entries whose verification failed (unranked, rank "✘"); each row
carries its ``status``. The renderers (Markdown, HTML) escape every text they emit.
"""
from __future__ import annotations

import math
import re

import numpy as np

from rtrlbench.leaderboard.database import FAILED, UNVERIFIED, VERIFIED
from rtrlbench.leaderboard.entry_flops import env_flops_per_step
from rtrlbench.leaderboard.scoring import ATARI_PREFIX, aggregate

COLUMNS = {
    "rank": ("#", True),
    "method": ("Method", False),
    "normalised": ("Normalised error (± SE)", True),
    "iqm": ("IQM [95% CI]", True),
    "msre": ("MSRE", True),
    "oracle": ("× oracle", True),
    "games": ("Games", True),
    "flops": ("FLOPs/step", True),
    "seeds": ("Seeds", True),
    "wall": ("Wall time/seed", True),
    "submitted": ("Submitted", False),
    "id": ("ID", True),
}


def build_tables(entries: list[dict], references: list[dict]) -> list[dict]:
    """Tables ``{slug, title, kind, steps, env_ids, columns, rows}`` in display order:
    trace and other envs, then Atari averages, then Atari games."""
    keys = sorted({(env_id, r["steps"]) for e in entries for env_id, r in e["results"].items()},
                  key=lambda k: (k[0].startswith(ATARI_PREFIX), k[0], k[1]))
    env_tables = [_env_table(env_id, steps, entries) for env_id, steps in keys]
    atari_budgets = sorted({steps for env_id, steps in keys if env_id.startswith(ATARI_PREFIX)})
    averages = [_atari_table(steps, entries, references) for steps in atari_budgets]
    return [t for t in env_tables if not t["kind"] == "atari-game"] + averages + \
        [t for t in env_tables if t["kind"] == "atari-game"]


def _env_table(env_id: str, steps: int, entries: list[dict]) -> dict:
    atari = env_id.startswith(ATARI_PREFIX)
    rows = []
    has_oracle = False
    for entry in entries:
        result = entry["results"].get(env_id)
        if result is None or result["steps"] != steps:
            continue
        has_oracle |= result["oracle_ratio"] is not None
        oracle = result["oracle_ratio_mean"]
        rows.append({"entry": entry, "score": result["normalised_mean"], "se": result["normalised_se"], "cells": {
            "normalised": _mean_se(result["normalised_mean"], result["normalised_se"]),
            "iqm": _iqm(result["iqm"], result["iqm_ci"]),
            "msre": _cell(f"{np.mean(result['final_msre']):.4g}", float(np.mean(result["final_msre"]))),
            "oracle": _cell(f"{oracle:.3g}", oracle) if oracle is not None else _cell("–", None),
            "flops": _flops(_flops_of(entry, env_id, result)),
            "seeds": _cell(str(len(result["seeds"])), len(result["seeds"])),
            "wall": _seconds(float(np.mean(result["wall_seconds"]))),
        }})
    columns = ["rank", "method", "normalised", "iqm", "msre", *(["oracle"] if has_oracle else []), "flops", "seeds",
               "wall", "submitted", "id"]
    name = env_id[len(ATARI_PREFIX):] if atari else env_id
    title = f"Atari: {name}" if atari else name
    return _table(f"{title} — {steps:,} steps", "atari-game" if atari else "env", steps, [env_id], columns, rows)


def _atari_table(steps: int, entries: list[dict], references: list[dict]) -> dict:
    games = sorted({r["env_id"] for r in references if r["env_id"].startswith(ATARI_PREFIX) and r["steps"] == steps})
    rows = []
    for entry in entries:
        results = [entry["results"].get(g) for g in games]
        if not games or any(r is None or r["steps"] != steps for r in results):
            continue
        matrix = np.array([r["normalised"] for r in results]).T  # [seeds, games]
        summary = aggregate(matrix)
        flops = [f for g, r in zip(games, results) if (f := _flops_of(entry, g, r)) is not None]
        rows.append({"entry": entry, "score": summary["mean"], "se": summary["se"], "cells": {
            "normalised": _mean_se(summary["mean"], summary["se"]),
            "iqm": _iqm(summary["iqm"], summary["iqm_ci"]),
            "games": _cell(str(len(games)), len(games)),
            "flops": _flops(float(np.mean(flops)) if flops else None),
            "seeds": _cell(str(matrix.shape[0]), matrix.shape[0]),
            "wall": _seconds(float(sum(np.mean(r["wall_seconds"]) for r in results))),
        }})
    columns = ["rank", "method", "normalised", "iqm", "games", "flops", "seeds", "wall", "submitted", "id"]
    table = _table(f"Atari average ({len(games)} games) — {steps:,} steps", "atari-average", steps, games, columns, rows)
    table["note"] = atari_coverage_note(games)
    return table


#: Games whose recorded play holds no reward at all: every return is 0, predicting 0 is exact,
#: so there is no reference error to divide by (docs/atari.md).
REWARDLESS_GAMES = ("Assault", "MontezumaRevenge", "Venture")


def atari_coverage_note(scored: list[str]) -> str:
    """Plain text saying which of the games with a recorded policy are scored, and why the rest are not."""
    from rtrlbench.data_tools.policies import games

    names = {env_id[len(ATARI_PREFIX):].rsplit("-v", 1)[0] for env_id in scored}
    missing = [g for g in games() if g not in names]
    rewardless = [g for g in missing if g in REWARDLESS_GAMES]
    ungenerated = [g for g in missing if g not in REWARDLESS_GAMES]
    parts = []
    if rewardless:
        parts.append(f"{', '.join(rewardless)}: their recordings hold no reward, so every return is 0 and there is "
                     "no reference error to divide by")
    if ungenerated:
        parts.append(f"{', '.join(ungenerated)}: no reference was run, since their policy files come from the public "
                     "source that the machine which made the references could not reach (docs/atari.md)")
    why = f" Not scored — {'; '.join(parts)}." if parts else ""
    return f"{len(games())} games have a recorded Rainbow-DQN policy; {len(names)} have a reference and are scored.{why}"


#: Row groups in display order, and the rank shown for unranked rows.
STATUS_ORDER = {VERIFIED: 0, UNVERIFIED: 1, FAILED: 2}
UNRANKED = {UNVERIFIED: "–", FAILED: "✘"}


def _table(title: str, kind: str, steps: int, env_ids: list[str], columns: list[str], rows: list[dict]) -> dict:
    for row in rows:
        row["status"] = row["entry"]["status"]
    rows.sort(key=lambda r: (STATUS_ORDER[r["status"]], r["score"], r["entry"]["id"]))
    rank = 0
    for row in rows:
        entry = row["entry"]
        rank += row["status"] == VERIFIED
        row["cells"].update({
            "rank": _cell(str(rank), rank) if row["status"] == VERIFIED else _cell(UNRANKED[row["status"]], None),
            "method": _cell(entry["method_name"], entry["method_name"].lower()),
            "submitted": _cell(entry["submitted_at"][:10], entry["submitted_at"]),
            "id": _cell(str(entry["id"]), entry["id"]),
        })
    return {"slug": slug(title), "title": title, "kind": kind, "steps": steps, "env_ids": env_ids,
            "columns": [{"key": c, "label": COLUMNS[c][0], "numeric": COLUMNS[c][1]} for c in columns], "rows": rows}


def _flops_of(entry: dict, env_id: str, result: dict) -> float | None:
    """The stored FLOPs per step, or, for the suite's own learners, the suite's count now
    (so entries submitted before a learner's formula existed get one)."""
    if result["flops_per_step"] is not None:
        return result["flops_per_step"]
    return env_flops_per_step(env_id, entry.get("learner"), result["hyperparameters"])


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cell(text: str, sort) -> dict:
    return {"text": text, "sort": sort}


def _mean_se(mean: float, se: float | None) -> dict:
    shown = f"{mean:.3f}" if se is None or not math.isfinite(se) else f"{mean:.3f} ± {se:.3f}"
    return _cell(shown, mean)


def _iqm(value: float, ci: list[float]) -> dict:
    return _cell(f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]", value)


def _flops(value: float | None) -> dict:
    return _cell("–", None) if value is None else _cell(f"{value:,.0f}", value)


def _seconds(value: float) -> dict:
    text = f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"
    return _cell(text, value)
