"""Render the public table: ``README.md`` and ``site/`` (``index.html`` + ``plots/*.png``).

:func:`render_files` builds everything in memory from the database, deterministically (no
clock: the same database gives the same bytes); :func:`write_files` then writes each file
atomically and removes plots no table uses any more. Headline tables (trace and other
non-Atari envs, Atari averages) get a plot of normalised error per method; single-env
tables also get learning curves, Atari averages a per-game bar chart.
"""
from __future__ import annotations

from pathlib import Path

from rtrlbench.atomic import atomic_path
from rtrlbench.leaderboard import leaderboard_plots
from rtrlbench.leaderboard.database import load_entries
from rtrlbench.leaderboard.render_html import render_html
from rtrlbench.leaderboard.render_markdown import render_markdown
from rtrlbench.leaderboard.tables import build_tables

DEFAULT_OUT = Path(__file__).resolve().parent
PLOT_DIR = "site/plots"


def render_files(conn, references: list[dict], progress: bool = False) -> dict[str, bytes]:
    """``{path relative to the output folder: content}`` for the whole table (a progress bar
    over the tables' plots with ``progress``: about 50 of them take ~10 s)."""
    from tqdm import tqdm

    from rtrlbench.terminal import show_progress

    entries = load_entries(conn)
    tables = build_tables(entries, references)
    files: dict[str, bytes] = {}
    plot_names: dict[str, list[str]] = {}
    for table in tqdm(tables, desc="plots", unit="table", leave=False, disable=not show_progress(progress)):
        for suffix, draw in _plots_of(table["kind"]):
            png = draw(table)
            if png is not None:
                name = f"{table['slug']}{suffix}.png"
                plot_names.setdefault(table["slug"], []).append(name)
                files[f"{PLOT_DIR}/{name}"] = png
    files["README.md"] = render_markdown(
        tables, {k: [f"{PLOT_DIR}/{n}" for n in v] for k, v in plot_names.items()}).encode()
    files["site/index.html"] = render_html(
        tables, {k: [f"plots/{n}" for n in v] for k, v in plot_names.items()}, len(entries)).encode()
    return files


def _plots_of(kind: str) -> list:
    """``(file-name suffix, draw function)`` of each plot a table of ``kind`` gets, in order."""
    normalised = ("-normalised", leaderboard_plots.normalised_png)
    return {"env": [normalised, ("", leaderboard_plots.curves_png)],
            "atari-average": [normalised, ("", leaderboard_plots.per_game_png)],
            "atari-game": [("", leaderboard_plots.curves_png)]}[kind]


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
