"""The static leaderboard page in a real headless browser (Debian's chromium + chromedriver).

CI needs: ``apt-get install -y chromium chromium-driver`` and ``pip install selenium``.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from rtrlbench.leaderboard.database import connect, insert_submission, record_verification, transaction
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.render import render_files, write_files
from rtrlbench.leaderboard.render_html import render_html
from rtrlbench.leaderboard.scoring import score_submission
from rtrlbench.leaderboard.tables import build_tables
from test_leaderboard_support import METHOD, make_document, world  # noqa: F401
from test_leaderboard_tables import GAMES, entry, references, result

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
HOSTILE_NAME = '<img src=x onerror="window.__xss=1">Evil & "co"'
HOSTILE_DESCRIPTION = "<script>window.__xss=2</script> | *not bold* [link](javascript:alert(1))"


def _scaled(document, factor):
    for run in document["results"][0]["runs"]:
        run["final_msre"] *= factor
        run["curve"] = [v * factor for v in run["curve"]]
    return document


def _check(passed):
    return {"verified_at": "2026-01-02T00:00:00+00:00", "verified_by": "t", "package_version": "0.1.0",
            "tolerance": 0.01, "passed": passed, "details": []}


@pytest.fixture(scope="module")
def page(tmp_path_factory, world):  # noqa: F811
    """The page for four entries put straight into a database (as if validation had been
    bypassed): the oracle and the zero predictor (verified), one with hostile text (not yet
    verified, 1.5 x zero's error) and one whose rerun disagreed (1.05 x the oracle's error: it
    would rank first if a failed entry counted)."""
    root = tmp_path_factory.mktemp("page")
    references = load_references(world["references"])
    hostile = _scaled(make_document(world, "zero", "x"), 1.5)
    hostile["method"].update(name=HOSTILE_NAME, description=HOSTILE_DESCRIPTION, code_url="javascript:window.__xss=3")
    documents = [(make_document(world), [_check(True)]), (make_document(world, "zero", "Zero"), [_check(True)]),
                 (hostile, []), (_scaled(make_document(world, name="Failed"), 1.05), [_check(True), _check(False)])]
    conn = connect(root / "board.sqlite")
    with transaction(conn):
        for document, checks in documents:
            number = insert_submission(conn, document, score_submission(copy.deepcopy(document), references),
                                       "2026-01-01T00:00:00+00:00")
            for check in checks:
                record_verification(conn, number, check)
    write_files(render_files(conn, references), root / "out")
    conn.close()
    return root / "out"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    if not CHROMIUM.exists() or not Path(CHROMEDRIVER).exists():
        pytest.skip("chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def column(driver, table, label, group="tbody.rows"):
    headers = [h.text.rstrip(" ▲▼") for h in table.find_elements("css selector", "thead th")]
    index = headers.index(label)
    return index, [row.find_elements("css selector", "td")[index].text
                   for row in table.find_elements("css selector", f"{group} tr")]


def test_page_loads_without_errors_and_shows_every_entry(page, browser):
    browser.get((page / "site" / "index.html").as_uri())
    assert browser.title == "rtrl-bench leaderboard"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    table = browser.find_element("css selector", "table.board")
    ids = [int(r.get_attribute("data-id")) for r in table.find_elements("css selector", "tbody.rows tr")]
    assert ids == [1, 2, 3, 4]  # verified (ranked), then not yet verified, then failed
    _, ranks = column(browser, table, "#")
    assert ranks == ["1", "2", "–", "✘"]
    labels = [b.text for b in table.find_elements("css selector", "tbody.group-label td")]
    assert labels == ["Not yet verified (unranked)", "Verification failed: a rerun disagreed (unranked)"]
    failed = browser.find_element("css selector", 'tr[data-id="4"]')
    assert "verification failed" in failed.text and "Failed" in failed.text
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
    assert images and all(ok for _, ok in images), images  # the plot loads (from plots/)


def test_clicking_a_header_sorts_by_that_column(page, browser):
    browser.get((page / "site" / "index.html").as_uri())
    table = browser.find_element("css selector", "table.board")
    index, _ = column(browser, table, "MSRE")
    header = table.find_elements("css selector", "thead th")[index]
    header.click()
    _, values = column(browser, table, "MSRE", "tbody.rows.verified")
    assert [float(v) for v in values] == sorted(float(v) for v in values)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    _, values = column(browser, table, "MSRE", "tbody.rows.verified")
    assert [float(v) for v in values] == sorted((float(v) for v in values), reverse=True)
    _, ranks = column(browser, table, "#")
    assert ranks == ["2", "1", "–", "✘"]  # higher error = lower rank; ranks travel; groups stay apart
    index, _ = column(browser, table, "Method")
    table.find_elements("css selector", "thead th")[index].click()
    names = browser.execute_script("return Array.from(document.querySelectorAll('table.board tbody.rows tr'))"
                                   ".map(r => r.cells[arguments[0]].firstChild.textContent)", index)
    assert names == ["Oracle", "Zero", HOSTILE_NAME, "Failed"]


def test_submitted_text_is_rendered_as_text(page, browser):
    browser.get((page / "site" / "index.html").as_uri())
    assert browser.execute_script("return window.__xss") is None
    assert browser.execute_script("return document.querySelectorAll('table.board img, table.board script').length") == 0
    assert browser.execute_script("return document.querySelectorAll('a[href^=\"javascript\"]').length") == 0
    row = browser.find_element("css selector", 'tr[data-id="3"]')
    assert HOSTILE_NAME in row.text and HOSTILE_DESCRIPTION in row.text
    assert METHOD["description"] in browser.find_element("css selector", 'tr[data-id="1"]').text
    readme = (page / "README.md").read_text()
    assert HOSTILE_NAME not in readme and "&lt;img src=x onerror=\"window.\\_\\_xss=1\"&gt;Evil &amp; \"co\"" in readme


def test_per_game_tables_are_collapsed_behind_a_selector(tmp_path, browser):
    """The page leads with the Atari average; each game's table is a closed section that the
    selector (or a link to it) opens; the coverage note says how many games are scored."""
    entries = [entry(1, "Both", [result(GAMES[0], [0.5, 0.7]), result(GAMES[1], [1.5, 1.3])], verified=True)]
    page = tmp_path / "index.html"
    page.write_text(render_html(build_tables(entries, references()), {}, len(entries)))
    browser.get(page.as_uri())
    sections = browser.find_elements("css selector", "section > h2")
    assert [s.text for s in sections] == ["Atari average (2 games) — 1,000 steps", "Atari, per game"]
    assert "2 have a reference and are scored" in browser.find_element("css selector", "p.note").text
    games = browser.find_elements("css selector", "details.game")
    assert len(games) == 2 and not any(g.get_attribute("open") for g in games)
    assert len(browser.find_elements("css selector", "nav li")) == 2  # not one link per game
    assert not games[1].find_element("css selector", "table.board").is_displayed()
    browser.execute_script("const s = document.getElementById('game-select'); s.value = arguments[0];"
                           "s.dispatchEvent(new Event('change'));", games[1].get_attribute("id"))
    assert games[1].get_attribute("open") and games[1].find_element("css selector", "table.board").is_displayed()
    browser.get(page.as_uri() + "#" + games[0].get_attribute("id"))
    assert browser.find_elements("css selector", "details.game")[0].get_attribute("open")
