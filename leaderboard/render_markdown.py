"""``leaderboard/README.md``: the hand-written intro, then one Markdown table per benchmark:
the headline tables (trace and other envs, Atari averages) first, each Atari game's table in
a collapsed ``<details>`` section after them."""
from __future__ import annotations

import html
from pathlib import Path

INTRO_PATH = Path(__file__).resolve().parent / "readme_intro.md"
_MARKDOWN_SPECIAL = "\\`*_[]|~"


def escape(text: str) -> str:
    """Plain text safe in a Markdown table cell: HTML-escaped, Markdown punctuation
    backslash-escaped, line breaks flattened."""
    text = html.escape(" ".join(str(text).split()), quote=False)
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text)


#: What the Method cell says after the name, per verification status.
STATUS_MARK = {"verified": " ✔ verified", "unverified": " (not yet verified)", "failed": " ✘ verification failed"}


def render_markdown(tables: list[dict], plots: dict[str, list[str]], site_link: str = "site/index.html") -> str:
    """The README text; ``plots`` maps a table slug to its plots' paths relative to the README."""
    parts = [INTRO_PATH.read_text().rstrip(), "", "## Results", "",
             f"The same tables, sortable, with learning curves: [{site_link}]({site_link}) (open it in a browser).", ""]
    if not tables:
        parts += ["No scored submissions yet: the reference T-BPTT numbers for a benchmark must exist first "
                  "(`rtrlbench leaderboard references`).", ""]
    else:
        parts += ["Ranked: verified entries (a maintainer's rerun agreed). Entries not yet verified are listed "
                  "after them unranked (–), entries whose rerun disagreed last (✘).", ""]
    games = [t for t in tables if t["kind"] == "atari-game"]
    for table in tables:
        if table["kind"] == "atari-game":
            continue
        parts += [f"### {escape(table['title'])}", ""]
        if table.get("note"):
            parts += [escape(table["note"]), ""]
        parts += [*_table(table), ""]
        parts += [f"![{escape(table['title'])}]({path})" for path in plots.get(table["slug"], [])] + [""]
    if games:
        parts += ["### Atari, per game", "", f"{len(games)} tables, one per game (click to open).", ""]
    for table in games:
        parts += ["<details>", f"<summary>{escape(table['title'])}</summary>", "", *_table(table), ""]
        parts += [f"![{escape(table['title'])}]({path})" for path in plots.get(table["slug"], [])]
        parts += ["", "</details>", ""]
    return "\n".join(parts)


def _table(table: dict) -> list[str]:
    columns = table["columns"]
    lines = ["| " + " | ".join(escape(c["label"]) for c in columns) + " |",
             "|" + "|".join("---:" if c["numeric"] else ":---" for c in columns) + "|"]
    for row in table["rows"]:
        cells = []
        for c in columns:
            text = escape(row["cells"][c["key"]]["text"])
            if c["key"] == "method":
                text += STATUS_MARK[row["status"]]
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    if not table["rows"]:
        lines.append("| " + " | ".join("" for _ in columns) + " |")
    return lines
