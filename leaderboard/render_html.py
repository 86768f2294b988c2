"""The static leaderboard page: sortable tables and plots, no server needed.

It leads with the headline tables (trace and other envs, the Atari averages), each with its
plot of normalised error per method; the per-game Atari tables follow in collapsed sections
with a game selector. Within a table, verified entries are ranked; entries not yet verified
and entries whose verification failed are shown apart, in their own row groups, unranked.
Rows are rendered here with every submitted text passed through :func:`html.escape`; the
page's script only sorts existing rows (click a header; click again to reverse; each group
sorts on its own) and opens the game chosen in the selector; it never turns data into markup.
"""
from __future__ import annotations

import html
import json

import rtrlbench

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1400px; padding: 0 1rem; color: #222; }
table.board { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; font-size: 0.85rem; }
table.board th, table.board td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.4rem; text-align: left; }
table.board td.num, table.board th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.board th { cursor: pointer; user-select: none; background: #f4f4f4; white-space: nowrap; }
table.board th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.board th[aria-sort="descending"]::after { content: " \\25BC"; }
.badge { display: inline-block; font-size: 0.75rem; padding: 0 0.4rem; border-radius: 0.6rem; margin-left: 0.3rem; }
.badge.verified { background: #d4f4d4; color: #064; }
.badge.unverified { background: #fff0c2; color: #750; }
.badge.failed { background: #f8d0d0; color: #900; }
tbody.group-label td { font-size: 0.8rem; font-weight: 600; color: #555; background: #fafafa; padding-top: 0.6rem; }
tbody.rows.failed td { color: #888; }
details.game { margin: 0.3rem 0; border: 1px solid #e4e4e4; border-radius: 4px; padding: 0.2rem 0.6rem; }
details.game summary { cursor: pointer; font-weight: 600; }
.note { color: #444; font-size: 0.85rem; }
.desc { color: #555; font-size: 0.8rem; }
td.method { min-width: 14rem; }
.scroll { overflow-x: auto; }
figure img { max-width: 100%; }
nav li { margin: 0.1rem 0; }
figure { margin: 0.5rem 0; }
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
  for (const body of table.querySelectorAll("tbody.rows")) {  // each status group sorts on its own
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = sortValue(a.cells[index], numeric), y = sortValue(b.cells[index], numeric);
      if (x === null || y === null) return (x === null) - (y === null);  // missing values last
      const order = numeric ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    for (const row of rows) body.appendChild(row);
  }
}
function openGame(id) {
  const section = document.getElementById(id);
  if (!section || section.tagName !== "DETAILS") return;
  section.open = true;
  section.scrollIntoView();
}
const selector = document.getElementById("game-select");
if (selector) selector.addEventListener("change", () => openGame(selector.value));
const openLinked = () => { if (location.hash) openGame(decodeURIComponent(location.hash.slice(1))); };
window.addEventListener("hashchange", openLinked);
openLinked();
for (const table of document.querySelectorAll("table.board")) {
  Array.from(table.tHead.rows[0].cells).forEach((header, index) => {
    header.addEventListener("click", () => sortTable(table, index));
  });
}
"""


def render_html(tables: list[dict], plots: dict[str, list[str]], n_submissions: int) -> str:
    """The whole page; ``plots`` maps a table slug to its images' paths relative to the page."""
    e = html.escape
    headline = [t for t in tables if t["kind"] != "atari-game"]
    games = [t for t in tables if t["kind"] == "atari-game"]
    nav = "".join(f'<li><a href="#{e(t["slug"])}">{e(t["title"])}</a> ({len(t["rows"])})</li>' for t in headline)
    if games:
        nav += f'<li><a href="#per-game">Atari, per game</a> ({len(games)} tables)</li>'
    sections = "".join(_section(t, plots.get(t["slug"], [])) for t in headline) or \
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
Ranked: verified entries (a maintainer reran seeds and the errors agreed); entries
<span class="badge unverified">not yet verified</span> and entries whose rerun disagreed
(<span class="badge failed">verification failed</span>) are listed apart, unranked.
Click a column header to sort.</p>
<nav><ul>{nav}</ul></nav>
{sections}{_games(games, plots)}
<footer class="desc">Built by <code>rtrlbench leaderboard build</code> from {n_submissions} submission files
(<code>leaderboard/submissions/</code>) with rtrl-bench {e(rtrlbench.__version__)}.</footer>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def _games(games: list[dict], plots: dict[str, list[str]]) -> str:
    """The per-game tables, collapsed, with a selector that opens one."""
    if not games:
        return ""
    e = html.escape
    options = "".join(f'<option value="{e(t["slug"])}">{e(t["title"])}</option>' for t in games)
    body = "".join(f'<details class="game" id="{e(t["slug"])}"><summary>{e(t["title"])} ({len(t["rows"])})</summary>'
                   f'{_board(t)}{_figures(t, plots.get(t["slug"], []))}</details>\n' for t in games)
    return (f'<section id="per-game"><h2>Atari, per game</h2><p><label for="game-select">Open a game:</label> '
            f'<select id="game-select"><option value="">choose…</option>{options}</select></p>\n{body}</section>\n')


def _section(table: dict, plots: list[str]) -> str:
    e = html.escape
    note = f'<p class="note">{e(table["note"])}</p>' if table.get("note") else ""
    return (f'<section id="{e(table["slug"])}"><h2>{e(table["title"])}</h2>{note}{_board(table)}'
            f"{_figures(table, plots)}</section>\n")


#: Row groups of a table, in order: (status, label row shown above the group or None).
_GROUPS = [("verified", None), ("unverified", "Not yet verified (unranked)"),
           ("failed", "Verification failed: a rerun disagreed (unranked)")]


def _board(table: dict) -> str:
    e = html.escape
    head = "".join(f'<th scope="col"{_num(c)}>{e(c["label"])}</th>' for c in table["columns"])
    bodies = []
    for status, label in _GROUPS:
        rows = [row for row in table["rows"] if row["status"] == status]
        if not rows and status != "verified":
            continue
        if label:
            bodies.append(f'<tbody class="group-label"><tr><td colspan="{len(table["columns"])}">{e(label)}</td></tr>'
                          "</tbody>")
        bodies.append(f'<tbody class="rows {status}">{"".join(_row(table, row) for row in rows)}</tbody>')
    return (f'<div class="scroll"><table class="board" data-kind="{e(table["kind"])}"><thead><tr>{head}</tr></thead>'
            f'{"".join(bodies)}</table></div>')


def _figures(table: dict, plots: list[str]) -> str:
    e = html.escape
    return "".join(f'<figure><img src="{e(plot)}" alt="{e(table["title"])}: plot {i}"></figure>'
                   for i, plot in enumerate(plots, 1))


def _row(table: dict, row: dict) -> str:
    e = html.escape
    cells = []
    for column in table["columns"]:
        cell = row["cells"][column["key"]]
        sort = "" if cell["sort"] is None else cell["sort"]
        content = _method(row["entry"]) if column["key"] == "method" else e(cell["text"])
        cls = _num(column) or (' class="method"' if column["key"] == "method" else "")
        cells.append(f'<td{cls} data-sort="{e(str(sort))}">{content}</td>')
    return f'<tr data-id="{row["entry"]["id"]}">{"".join(cells)}</tr>'


def _method(entry: dict) -> str:
    e = html.escape
    url = entry["code_url"]
    name = e(entry["method_name"])
    link = f'<a href="{e(url)}" rel="nofollow noopener">{name}</a>' if url.startswith(("https://", "http://")) else name
    check = entry["verification"]
    status = entry["status"]
    badge = {"verified": lambda: f'<span class="badge verified" title="rerun {e(check["verified_at"][:10])}, '
                                 f'within {check["tolerance"]:.0%}">verified</span>',
             "unverified": lambda: '<span class="badge unverified">not yet verified</span>',
             "failed": lambda: f'<span class="badge failed" title="rerun {e(check["verified_at"][:10])} disagreed '
                               f'by more than {check["tolerance"]:.0%}">verification failed</span>'}[status]()
    details = {"commit": entry["code_commit"], "hardware": entry["hardware"], "contact": entry["contact"]}
    return (f'{link}{badge}<div class="desc">{e(entry["description"])}</div>'
            f'<div class="desc" title="{e(json.dumps(details))}">commit {e(entry["code_commit"][:12])}</div>')


def _num(column: dict) -> str:
    return ' class="num"' if column["numeric"] else ""
