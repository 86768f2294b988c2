"""``leaderboard/README.md``: the hand-written intro, then one Markdown table per benchmark."""
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


def render_markdown(tables: list[dict], plots: dict[str, str], site_link: str = "site/index.html") -> str:
    """The README text; ``plots`` maps a table slug to its plot's path relative to the README."""
    parts = [INTRO_PATH.read_text().rstrip(), "", "## Results", "",
             f"The same tables, sortable, with learning curves: [{site_link}]({site_link}) (open it in a browser).", ""]
    if not tables:
        parts += ["No scored submissions yet: the reference T-BPTT numbers for a benchmark must exist first "
                  "(`rtrlbench leaderboard references`).", ""]
    for table in tables:
        parts += [f"### {escape(table['title'])}", "", *_table(table), ""]
        if table["slug"] in plots:
            parts += [f"![{escape(table['title'])}]({plots[table['slug']]})", ""]
    return "\n".join(parts)


def _table(table: dict) -> list[str]:
    columns = table["columns"]
    lines = ["| " + " | ".join(escape(c["label"]) for c in columns) + " |",
             "|" + "|".join("---:" if c["numeric"] else ":---" for c in columns) + "|"]
    for row in table["rows"]:
        cells = []
        for c in columns:
            text = escape(row["cells"][c["key"]]["text"])
            if c["key"] == "method" and row["entry"]["verified"]:
                text += " ✔ verified"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    if not table["rows"]:
        lines.append("| " + " | ".join("" for _ in columns) + " |")
    return lines
