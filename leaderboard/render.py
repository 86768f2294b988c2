"""Regenerate the public table: ``README.md`` and ``site/`` (``index.html`` + ``plots/*.png``).

:func:`render_files` builds everything in memory (so a submission can render inside its
database transaction and roll back if rendering fails); :func:`write_files` then writes
each file atomically and removes plots no table uses any more.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from rtrlbench.atomic import atomic_path
from rtrlbench.leaderboard import leaderboard_plots
from rtrlbench.leaderboard.database import load_entries
from rtrlbench.leaderboard.render_html import render_html
from rtrlbench.leaderboard.render_markdown import render_markdown
from rtrlbench.leaderboard.tables import build_tables

DEFAULT_OUT = Path(__file__).resolve().parent
PLOT_DIR = "site/plots"


def render_files(conn, references: list[dict]) -> dict[str, bytes]:
    """``{path relative to the output folder: content}`` for the whole table."""
    tables = build_tables(load_entries(conn), references)
    files: dict[str, bytes] = {}
    plot_names: dict[str, str] = {}
    for table in tables:
        draw = leaderboard_plots.per_game_png if table["kind"] == "atari-average" else leaderboard_plots.curves_png
        png = draw(table)
        if png is not None:
            plot_names[table["slug"]] = f"{table['slug']}.png"
            files[f"{PLOT_DIR}/{table['slug']}.png"] = png
    generated = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    files["README.md"] = render_markdown(tables, {k: f"{PLOT_DIR}/{v}" for k, v in plot_names.items()}).encode()
    files["site/index.html"] = render_html(tables, {k: f"plots/{v}" for k, v in plot_names.items()}, generated).encode()
    return files


def write_files(files: dict[str, bytes], out_dir: str | Path = DEFAULT_OUT) -> list[Path]:
    """Write ``files`` under ``out_dir`` atomically; delete stale plots. Returns the paths written."""
    out_dir = Path(out_dir)
    written = []
    for relative, content in files.items():
        with atomic_path(out_dir / relative) as tmp:
            tmp.write_bytes(content)
            tmp.chmod(0o644)  # a public page: mkstemp's 0600 would hide it from a web server
        written.append(out_dir / relative)
    plot_dir = out_dir / PLOT_DIR
    if plot_dir.is_dir():
        for stale in plot_dir.glob("*.png"):
            if f"{PLOT_DIR}/{stale.name}" not in files:
                stale.unlink()
    return written
