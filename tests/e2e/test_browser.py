"""A visitor in a real browser (Debian's Chromium driven by Playwright) on a team's site, served by a
provisioned class over HTTPS through nginx (the browser trusts the class CA as a learner would: certutil puts it
into its NSS database; no certificate error is ignored): the welcome dialog, a story submitted with a mistake then fixed, and a
click that raises its score; and the single-page variant (/spa), there and on this checkout's app served
locally under a path prefix. Screenshots go to test-artifacts/.

The browser only talks to the class server: every other request (there should be none) is aborted,
and the story's link points at the team's own site, so following it stays on the test host.
"""
import contextlib
import os
import subprocess
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pymongo
import pytest
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from app import create_app
from lab import localdb

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"   # Debian's package (lab/localhost.BROWSER_PACKAGES); never a download
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TEAM = "hacknode3"


def home_trusting(home, ca):
    """A home folder whose NSS database (the one Chromium reads on Linux, ~/.pki/nssdb) trusts the CA `ca` for
    web sites, as a learner's browser does after importing the class CA: made with certutil (libnss3-tools)."""
    nssdb = Path(home) / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "hacknode class CA", "-i", ca],
                   check=True, capture_output=True)
    return str(home)


@contextlib.contextmanager
def chromium_page(address, home=None, names=()):
    """A page in a headless Chromium that may only talk to `address`: any other request is aborted, and
    the test fails with the list of them. `home`: its HOME (the certificates it trusts), else this one's. `names`:
    host names the browser resolves to `address` (a team's <team>.<domain>, as wildcard DNS would)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./inv test installs chromium and chromium-driver", pytrace=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, env=dict(os.environ, HOME=home) if home else None,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                                   "--disable-component-update", "--disable-sync", "--no-first-run",
                                                   *[f"--host-resolver-rules=MAP {name} {address}" for name in names]])
        # reduced motion: Bootstrap then shows the dialog without its fade, so screenshots catch it whole
        context = browser.new_context(viewport={"width": 1200, "height": 800}, reduced_motion="reduce")
        elsewhere = []

        def only_this_address(route):
            if urlsplit(route.request.url).hostname in (address, *names):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        context.route("**/*", only_this_address)
        page = context.new_page()
        page.set_default_timeout(15000)
        yield page
        browser.close()
        assert elsewhere == [], f"the page asked for other addresses: {elsewhere}"


@pytest.fixture
def browser_page(tls_class, tmp_path):
    """A browser page that trusts the class CA (never told to ignore certificate errors), and the team's site
    served by a provisioned class over HTTPS through nginx, on its own origin (its session cookie __Host-)."""
    address, name = tls_class.host_of(TEAM).address, f"{TEAM}.hacknode.test"
    with chromium_page(address, home_trusting(tmp_path / "home", tls_class.ca), names=(name,)) as page:
        yield page, f"https://{name}"


@pytest.fixture(scope="module")
def local_site(tmp_path_factory):
    """This checkout's app on a local SecantusDB, served under /hacknode7 as nginx serves a team:
    (site URL, database)."""
    with localdb.running(tmp_path_factory.mktemp("spa") / "data") as db:
        app = create_app({"SECRET_KEY": "browser", "MONGO_URI": db.uri})
        server = make_server("127.0.0.1", 0, DispatcherMiddleware(NotFound(), {"/hacknode7": app}), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        with pymongo.MongoClient(db.uri, tz_aware=True) as client:
            yield f"http://127.0.0.1:{server.server_port}/hacknode7", client.get_default_database()
        server.shutdown()


def score_of(page, title):
    row = page.locator("#articles tbody tr", has=page.get_by_role("link", name=title, exact=True))
    return int(row.locator(".score").inner_text())


def test_a_visitor_sees_the_welcome_once_submits_a_story_and_clicks_it(browser_page):
    page, site = browser_page
    assert site.startswith("https://")
    ARTIFACTS.mkdir(exist_ok=True)
    title = f"Browser story {uuid.uuid4().hex[:8]}"
    link = f"{site}/healthz?story={title.split()[-1]}"

    page.goto(f"{site}/")                        # a certificate the browser does not trust fails here
    assert page.evaluate("window.isSecureContext") is True              # HTTPS, no certificate error
    dialog = page.locator("#first-visit-dialog")
    page.locator("#first-visit-dialog.show").wait_for(state="visible")
    assert "Welcome to Rapid News!" in dialog.inner_text()
    page.screenshot(path=ARTIFACTS / "browser-welcome.png")
    page.reload()
    assert page.locator("#first-visit-dialog").count() == 0           # the dialog is for the first visit only
    assert page.get_by_role("link", name="Rapid News").is_visible()

    page.get_by_role("link", name="Submit", exact=True).click()
    assert page.url == f"{site}/submit"
    page.fill("#link", "not a web address")
    page.fill("#title", title)
    page.get_by_role("button", name="Submit!").click()
    error = page.locator("#link-error")
    assert "starting with http:// or https://" in error.inner_text()
    assert page.input_value("#title") == title                          # what was typed is kept
    page.screenshot(path=ARTIFACTS / "browser-submit-error.png", full_page=True)

    page.fill("#link", link)
    page.get_by_role("button", name="Submit!").click()
    assert "your link is on Rapid News" in page.locator(".alert-success").inner_text()
    page.get_by_role("link", name="Back to the front page").click()
    before = score_of(page, title)
    page.screenshot(path=ARTIFACTS / "browser-front-page.png", full_page=True)

    page.get_by_role("link", name=title, exact=True).click()
    page.wait_for_url(link)                                              # the click redirector sent us on
    assert '"ok"' in page.content()
    page.goto(f"{site}/")
    assert score_of(page, title) == before + 1


def use_the_single_page_variant(page, site, shot):
    """Front page, a refused submit with its errors beside the fields, a good submit shown in place and
    then on the front page, a click through /click: all on one page load. Returns the story's title."""
    from playwright.sync_api import expect   # waits for what the script draws after the API answers
    title = f"Single-page story {uuid.uuid4().hex[:8]}"
    link = f"{site}/healthz?story={title.split()[-1]}"
    prefix = urlsplit(site).path
    page.goto(f"{site}/spa")
    page.evaluate("window.stillTheSamePage = true")          # gone if the browser loads another page
    page.wait_for_function("document.querySelector('#articles tbody tr') || !document.querySelector('#no-news').hidden")

    page.get_by_role("link", name="Submit", exact=True).click()
    assert page.url == f"{site}/spa#submit" and page.locator("#submit-form").is_visible()
    page.fill("#link", "not a web address")
    page.fill("#title", "x")
    page.get_by_role("button", name="Submit!").click()
    expect(page.locator("#link-error")).to_contain_text("starting with http:// or https://")
    expect(page.locator("#title-error")).to_contain_text("at least 2 characters")
    assert page.input_value("#title") == "x"                              # what was typed is kept
    page.screenshot(path=ARTIFACTS / f"{shot}-submit-error.png", full_page=True)

    page.fill("#link", link)
    page.fill("#title", title)
    page.get_by_role("button", name="Submit!").click()
    expect(page.locator("#submit-success")).to_contain_text("your link is on Rapid News")
    expect(page.locator("#submit-success")).to_contain_text(f"{title} now has a score of 0")
    assert page.locator("#link-error").count() == 0

    page.get_by_role("link", name="Top News").click()
    story = page.get_by_role("link", name=title, exact=True)
    expect(story).to_be_visible()
    assert story.get_attribute("href") == f"{prefix}/click?url={link.replace('=', '%3D')}"
    assert score_of(page, title) == 0
    page.screenshot(path=ARTIFACTS / f"{shot}-front-page.png", full_page=True)
    assert page.evaluate("window.stillTheSamePage") is True

    story.click()
    page.wait_for_url(link)                                              # counted, then sent on
    page.goto(f"{site}/spa")
    expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
    assert score_of(page, title) == 1
    return title


def test_the_single_page_variant_on_a_team_site(browser_page):
    page, site = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    use_the_single_page_variant(page, site, "spa-team")


def test_the_single_page_variant_on_the_local_app_under_a_prefix(local_site):
    site, db = local_site
    ARTIFACTS.mkdir(exist_ok=True)
    db.articles.insert_one({"title": "Already there", "link": "https://example.com/there", "score": 7,
                            "date": datetime.now(timezone.utc)})
    with chromium_page("127.0.0.1") as page:
        title = use_the_single_page_variant(page, site, "spa-local")
        rows = page.locator("#articles tbody tr")
        assert rows.first.inner_text().split()[0:2] == ["7", "Already"]      # by score, as the server sorts
        assert "second" in rows.filter(has_text=title).locator(".published").inner_text()
    assert db.articles.find_one({"title": title})["score"] == 1
