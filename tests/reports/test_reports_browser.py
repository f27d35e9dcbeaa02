"""The reports in a real browser: headless Chromium loads the index and the qu2020 page from file://.

Driver: selenium with Debian's chromedriver (``/usr/bin/chromedriver``, package
``chromium-driver``). Selenium is the browser project's own, long-maintained Python binding;
with ``goog:loggingPrefs`` it hands over the console log and the DevTools network events
(performance log) without any code of ours speaking the DevTools protocol, which would need a
websocket client and an event loop written here. The driver path is given explicitly, so
selenium never looks for (or downloads) a driver of its own.

On a machine without Chromium the test is skipped, saying what to install; with
``NETMARL_REQUIRE_BROWSER=1`` (set by ``.ci/run``) it fails instead, so CI always runs it.
"""

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

from netmarl_verify.reports import render_all
from netmarl_verify.verify import REGISTRY, run

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REQUIRE_ENV = "NETMARL_REQUIRE_BROWSER"

# Without the background-networking flags Chromium opens connections (component updates,
# safe browsing, ...) that a closed network refuses, and those would look like page requests.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1000"]


def _missing():
    """Why the browser test cannot run here (None when it can)."""
    chromium = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    driver = CHROMEDRIVER if os.access(CHROMEDRIVER, os.X_OK) else shutil.which("chromedriver")
    if chromium is None:
        return f"Chromium not found at {CHROMIUM}; install Debian packages chromium chromium-driver"
    if driver is None:
        return f"chromedriver not found at {CHROMEDRIVER}; install Debian package chromium-driver"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed; pip install '.[test]'"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but the browser test cannot run: {reason}", pytrace=False)
        pytest.skip(f"browser test not run: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="netmarl-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver_path = CHROMEDRIVER if os.access(CHROMEDRIVER, os.X_OK) else shutil.which("chromedriver")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    driver.get("about:blank")  # let the start-up pages settle before any log is read
    time.sleep(0.5)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def qu2020_report(tmp_path_factory):
    """A real quick qu2020 report (formulas of every claim, 30+ figures), rendered once."""
    out = tmp_path_factory.mktemp("browser") / "out"
    rows = run("qu2020", quick=True, seed=0, progress=False)
    render_all(rows, REGISTRY.claims_for("qu2020"), out, {"target": "qu2020", "quick": True})
    return out


def _load(driver, path):
    """Open `path` (file://), wait for it, return (console entries, requests).

    A request is ``(url, document url)`` from the DevTools ``Network.requestWillBeSent`` events.
    """
    driver.get_log("browser"), driver.get_log("performance")  # drop what came before
    driver.get(Path(path).resolve().as_uri())
    deadline = time.monotonic() + 30
    while driver.execute_script("return document.readyState") != "complete":
        assert time.monotonic() < deadline, f"{path} did not finish loading"
        time.sleep(0.05)
    console = driver.get_log("browser")
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append((message["params"]["request"]["url"], message["params"].get("documentURL", "")))
    return console, urls


_NETWORK = ("http:", "https:", "ws:", "wss:", "ftp:")


def _remote(requests):
    """Requests that leave the machine, or that a report page made to anything but file:/data:."""
    return [url for url, document in requests
            if url.startswith(_NETWORK) or (document.startswith("file:") and not url.startswith(("file:", "data:")))]


_PAGE_FACTS = """
const ids = new Set([...document.querySelectorAll('[id]')].map(e => e.id));
const local = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href'));
return {
  images: [...document.images].map(i => [i.alt, i.complete, i.naturalWidth]),
  formulas: [...document.querySelectorAll('div.math')].map(d => {
      const s = d.querySelector('svg'); if (!s) return 0; const b = s.getBBox(); return b.width * b.height; }),
  fallbacks: document.querySelectorAll('.math-fallback').length,
  text: document.body.innerText,
  toc: [...document.querySelectorAll('nav#contents a')].map(a => a.getAttribute('href')),
  unresolved: local.filter(h => !ids.has(decodeURIComponent(h.slice(1)))),
  links: [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href]),
  height: document.documentElement.scrollHeight,
};
"""


def _check_page(driver, path):
    console, urls = _load(driver, path)
    errors = [e for e in console if e["level"] == "SEVERE"]
    assert errors == [], f"console errors on {path}: {errors}"
    assert any(url == Path(path).resolve().as_uri() for url, _ in urls), "the page load was not observed"
    remote = _remote(urls)
    assert remote == [], f"{path} requested {remote}"
    facts = driver.execute_script(_PAGE_FACTS)
    broken = [alt for alt, complete, width in facts["images"] if not (complete and width > 0)]
    assert broken == [], f"images not decoded on {path}: {broken}"
    assert facts["fallbacks"] == 0
    assert all(area > 0 for area in facts["formulas"]), f"an empty formula on {path}"
    assert "$$" not in facts["text"]
    assert ".txt" not in facts["text"] and "shared/" not in facts["text"]  # papers are cited, not their files
    assert facts["unresolved"] == [], f"links to missing anchors on {path}: {facts['unresolved']}"
    return facts


@pytest.mark.slow
def test_reports_in_headless_chromium(browser, qu2020_report):
    started = time.perf_counter()
    index = qu2020_report / "index.html"
    paper = qu2020_report / "qu2020" / "report.html"

    facts = _check_page(browser, index)
    links = dict(facts["links"])
    assert "qu2020/report.html" in links
    violated = [h for h in links if h.startswith("qu2020/report.html#")]
    assert {"qu2020/report.html#qu2020.thm1", "qu2020/report.html#qu2020.cor1"} <= set(violated)
    assert "https://arxiv.org/abs/2006.06626" in links  # References (a link, never loaded)

    facts = _check_page(browser, paper)
    claims = [c.id for c in REGISTRY.claims_for("qu2020")]
    n_formulas = sum(1 for c in REGISTRY.claims_for("qu2020") for t in (c.latex, c.bound_latex) if t)
    assert len(facts["formulas"]) == n_formulas
    assert len(facts["images"]) >= 20
    assert [f"#{c}" for c in claims] == [h for h in facts["toc"] if h[1:] in claims]
    assert "../index.html" in dict(facts["links"])

    # following the index's links to the violated claims lands on their sections
    for href in violated:
        _load(browser, (qu2020_report / href.split("#")[0]))
        browser.get(browser.current_url.split("#")[0] + "#" + href.split("#")[1])
        top = browser.execute_script(
            "const e = document.getElementById(location.hash.slice(1));"
            "return e ? e.getBoundingClientRect().top : null;")
        assert top is not None and abs(top) < 50, (href, top)
    assert time.perf_counter() - started < 60


@pytest.mark.parametrize("body, complaint", [
    ('<script>console.error("boom")</script>', "console errors"),
    ('<img src="http://127.0.0.1:9/x.png" alt="remote">', "console errors"),  # refused: logged, and requested
    ('<img src="missing.png" alt="missing">', "console errors"),
    ('<p>$$ x $$</p>', "$$"),
    ('<a href="#nowhere">x</a>', "links to missing anchors"),
    ('<div class="math"><svg width="0" height="0"></svg></div>', "an empty formula"),
])
def test_the_browser_check_catches_a_bad_page(browser, tmp_path, body, complaint):
    page = tmp_path / "bad.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>bad</title></head><body>{body}</body></html>")
    with pytest.raises(AssertionError, match=complaint if complaint != "$$" else r"\$\$"):
        _check_page(browser, page)


def test_remote_requests_are_recognised():
    assert _remote([("file:///a.html", ""), ("data:image/png;base64,x", "file:///a.html")]) == []
    assert _remote([("https://x.org/a.js", "file:///a.html")]) == ["https://x.org/a.js"]
    assert _remote([("chrome://resources/x.js", "chrome://newtab/")]) == []
    assert _remote([("chrome://resources/x.js", "file:///a.html")]) == ["chrome://resources/x.js"]


def test_a_missing_browser_is_named_with_what_to_install(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    reason = _missing()
    assert reason == ("Chromium not found at /nonexistent/chromium; "
                      "install Debian packages chromium chromium-driver")
