"""A visitor in a real browser (Debian's Chromium driven by Playwright) on a team's site, served by a
provisioned class through nginx: the welcome dialog, a story submitted with a mistake then fixed, and a
click that raises its score. Screenshots of the front page and the submit page go to test-artifacts/.

The browser only talks to the class server: every other request (there should be none) is aborted,
and the story's link points at the team's own site, so following it stays on the test host.
"""
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"   # Debian's package (lab/localhost.BROWSER_PACKAGES); never a download
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TEAM = "hacknode3"


@pytest.fixture
def browser_page(provisioned_class):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./inv test installs chromium and chromium-driver", pytrace=False)
    from playwright.sync_api import sync_playwright
    address = provisioned_class.host_of(TEAM).address
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        # reduced motion: Bootstrap then shows the dialog without its fade, so screenshots catch it whole
        context = browser.new_context(viewport={"width": 1200, "height": 800}, reduced_motion="reduce")
        left_the_class = []

        def only_the_class_server(route):
            if urlsplit(route.request.url).hostname == address:
                route.continue_()
            else:
                left_the_class.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_class_server)
        page = context.new_page()
        page.set_default_timeout(15000)
        yield page, f"http://{address}/{TEAM}"
        browser.close()
        assert left_the_class == [], f"the page asked for other addresses: {left_the_class}"


def score_of(page, title):
    row = page.locator("#articles tbody tr", has=page.get_by_role("link", name=title, exact=True))
    return int(row.locator(".score").inner_text())


def test_a_visitor_sees_the_welcome_once_submits_a_story_and_clicks_it(browser_page):
    page, site = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    title = f"Browser story {uuid.uuid4().hex[:8]}"
    link = f"{site}/healthz?story={title.split()[-1]}"

    page.goto(f"{site}/")
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
