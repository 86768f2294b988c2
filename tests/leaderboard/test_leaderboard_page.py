"""The static leaderboard page in a real headless browser (Debian's chromium + chromedriver).

CI needs: ``apt-get install -y chromium chromium-driver`` and ``pip install selenium``.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from rtrlbench.leaderboard.database import connect, insert_submission, transaction
from rtrlbench.leaderboard.references import load_references
from rtrlbench.leaderboard.scoring import score_submission
from rtrlbench.leaderboard.submit import render, submit
from test_leaderboard_support import METHOD, make_document, world, write  # noqa: F401

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
HOSTILE_NAME = '<img src=x onerror="window.__xss=1">Evil & "co"'
HOSTILE_DESCRIPTION = "<script>window.__xss=2</script> | *not bold* [link](javascript:alert(1))"


@pytest.fixture(scope="module")
def page(tmp_path_factory, world):  # noqa: F811
    """The page for three entries: the oracle, the zero predictor, and one with hostile text
    put straight into the database (as if validation had been bypassed)."""
    root = tmp_path_factory.mktemp("page")
    db, out = root / "board.sqlite", root / "out"
    submit(write(root, make_document(world)), db, None, world["references"])
    submit(write(root, make_document(world, "zero", "Zero")), db, None, world["references"])
    hostile = make_document(world, "zero", "x")
    hostile["method"].update(name=HOSTILE_NAME, description=HOSTILE_DESCRIPTION, code_url="javascript:window.__xss=3")
    for run in hostile["results"][0]["runs"]:
        run["final_msre"] *= 1.5
        run["curve"] = [v * 1.5 for v in run["curve"]]
    conn = connect(db)
    with transaction(conn):
        insert_submission(conn, hostile, score_submission(copy.deepcopy(hostile), load_references(world["references"])))
    conn.close()
    render(db, out, world["references"])
    return out


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


def column(driver, table, label):
    headers = [h.text.rstrip(" ▲▼") for h in table.find_elements("css selector", "thead th")]
    index = headers.index(label)
    return index, [row.find_elements("css selector", "td")[index].text
                   for row in table.find_elements("css selector", "tbody tr")]


def test_page_loads_without_errors_and_shows_every_entry(page, browser):
    browser.get((page / "site" / "index.html").as_uri())
    assert browser.title == "rtrl-bench leaderboard"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    table = browser.find_element("css selector", "table.board")
    ids = sorted(int(r.get_attribute("data-id")) for r in table.find_elements("css selector", "tbody tr"))
    assert ids == [1, 2, 3]
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])")
    assert images and all(ok for _, ok in images), images  # the plot loads (from plots/)


def test_clicking_a_header_sorts_by_that_column(page, browser):
    browser.get((page / "site" / "index.html").as_uri())
    table = browser.find_element("css selector", "table.board")
    index, _ = column(browser, table, "MSRE")
    header = table.find_elements("css selector", "thead th")[index]
    header.click()
    _, values = column(browser, table, "MSRE")
    assert [float(v) for v in values] == sorted(float(v) for v in values)
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    _, values = column(browser, table, "MSRE")
    assert [float(v) for v in values] == sorted((float(v) for v in values), reverse=True)
    _, ranks = column(browser, table, "#")
    assert ranks == ["3", "2", "1"]  # higher error = lower rank; ranks travel with their rows
    index, _ = column(browser, table, "Method")
    table.find_elements("css selector", "thead th")[index].click()
    _, cells = column(browser, table, "Method")
    assert [cell.split("\n")[0] for cell in cells] == [HOSTILE_NAME, "Oracle", "Zero"]


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
