"""The static leaderboard page: one sortable table per benchmark, plots, no server needed.

Rows are rendered here with every submitted text passed through :func:`html.escape`; the
page's only script sorts existing rows (click a header; click again to reverse) and never
turns data into markup.
"""
from __future__ import annotations

import html
import json

import rtrlbench

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
table.board { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
table.board th, table.board td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; }
table.board td.num, table.board th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.board th { cursor: pointer; user-select: none; background: #f4f4f4; white-space: nowrap; }
table.board th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.board th[aria-sort="descending"]::after { content: " \\25BC"; }
.badge { display: inline-block; font-size: 0.75rem; padding: 0 0.4rem; border-radius: 0.6rem; margin-left: 0.3rem; }
.badge.verified { background: #d4f4d4; color: #064; }
.desc { color: #555; font-size: 0.8rem; }
figure img { max-width: 100%; }
nav li { margin: 0.1rem 0; }
"""

_SCRIPT = """
"use strict";
function sortValue(cell, numeric) {
  const raw = cell.getAttribute("data-sort");
  if (raw === null || raw === "") return null;
  return numeric ? Number(raw) : raw;
}
function sortTable(table, index) {
  const header = table.tHead.rows[0].cells[index];
  const numeric = header.classList.contains("num");
  const ascending = header.getAttribute("aria-sort") !== "ascending";
  for (const h of table.tHead.rows[0].cells) h.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = sortValue(a.cells[index], numeric), y = sortValue(b.cells[index], numeric);
    if (x === null || y === null) return (x === null) - (y === null);  // missing values last
    const order = numeric ? x - y : String(x).localeCompare(String(y));
    return ascending ? order : -order;
  });
  for (const row of rows) body.appendChild(row);
}
for (const table of document.querySelectorAll("table.board")) {
  Array.from(table.tHead.rows[0].cells).forEach((header, index) => {
    header.addEventListener("click", () => sortTable(table, index));
  });
}
"""


def render_html(tables: list[dict], plots: dict[str, str], generated_at: str) -> str:
    """The whole page; ``plots`` maps a table slug to its image path relative to the page."""
    e = html.escape
    nav = "".join(f'<li><a href="#{e(t["slug"])}">{e(t["title"])}</a> ({len(t["rows"])})</li>' for t in tables)
    sections = "".join(_section(t, plots.get(t["slug"])) for t in tables) or \
        "<p>No scored submissions yet: reference T-BPTT numbers must exist for a benchmark first.</p>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rtrl-bench leaderboard</title>
<link rel="icon" href="data:,">
<style>{_STYLE}</style>
</head>
<body>
<h1>rtrl-bench leaderboard</h1>
<p>Return error (MSRE over the scoring window: the last 100,000 steps on trace tasks, 200,000 on Atari) divided
by the reference T-BPTT's error at the same budget on the same env: 1 = T-BPTT, lower is better.
Mean ± standard error over seeds; IQM = interquartile mean with a 95% stratified-bootstrap interval.
"× oracle" = error relative to the Bayes-optimal predictor on the same seeds (1 = best possible).
Click a column header to sort.</p>
<nav><ul>{nav}</ul></nav>
{sections}
<footer class="desc">Generated {e(generated_at)} by rtrl-bench {e(rtrlbench.__version__)}
(<code>rtrlbench leaderboard render</code>).</footer>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def _section(table: dict, plot: str | None) -> str:
    e = html.escape
    head = "".join(f'<th scope="col"{_num(c)}>{e(c["label"])}</th>' for c in table["columns"])
    body = "".join(_row(table, row) for row in table["rows"])
    figure = f'<figure><img src="{e(plot)}" alt="{e(table["title"])}: plot"></figure>' if plot else ""
    return (f'<section id="{e(table["slug"])}"><h2>{e(table["title"])}</h2>'
            f'<table class="board" data-kind="{e(table["kind"])}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>{figure}</section>\n")


def _row(table: dict, row: dict) -> str:
    e = html.escape
    cells = []
    for column in table["columns"]:
        cell = row["cells"][column["key"]]
        sort = "" if cell["sort"] is None else cell["sort"]
        content = _method(row["entry"]) if column["key"] == "method" else e(cell["text"])
        cells.append(f'<td{_num(column)} data-sort="{e(str(sort))}">{content}</td>')
    return f'<tr data-id="{row["entry"]["id"]}">{"".join(cells)}</tr>'


def _method(entry: dict) -> str:
    e = html.escape
    url = entry["code_url"]
    name = e(entry["method_name"])
    link = f'<a href="{e(url)}" rel="nofollow noopener">{name}</a>' if url.startswith(("https://", "http://")) else name
    badge = ""
    if entry["verified"]:
        check = entry["verification"]
        badge = (f'<span class="badge verified" title="rerun {e(check["verified_at"][:10])}, within '
                 f'{check["tolerance"]:.0%}">verified</span>')
    details = {"commit": entry["code_commit"], "hardware": entry["hardware"], "contact": entry["contact"]}
    return (f'{link}{badge}<div class="desc">{e(entry["description"])}</div>'
            f'<div class="desc" title="{e(json.dumps(details))}">commit {e(entry["code_commit"][:12])}</div>')


def _num(column: dict) -> str:
    return ' class="num"' if column["numeric"] else ""
