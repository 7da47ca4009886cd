"""The single-page variant's page and script, as served (the browser drives it in tests/e2e/test_browser.py)."""
import re

from app import PROJECT_ROOT

SPA_JS = PROJECT_ROOT / "app" / "static" / "js" / "spa.js"


def test_the_page_names_the_api_and_loads_the_vendored_jquery(client):
    response = client.get("/spa")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-frontpage-url="/frontpage.json" data-submit-url="/submit.json"' in page
    assert '<script src="/static/vendor/jquery/jquery.min.js"></script>' in page
    assert '<script src="/static/js/spa.js"></script>' in page
    assert 'id="submit-form"' in page and 'name="link"' in page and 'name="title"' in page


def test_under_a_path_prefix_every_url_keeps_it(client):
    page = client.get("/spa", base_url="http://localhost/hacknode2").get_data(as_text=True)
    assert 'data-frontpage-url="/hacknode2/frontpage.json" data-submit-url="/hacknode2/submit.json"' in page
    local = [url for url in re.findall(r'(?:href|src|action|-url)="([^"]*)"', page) if not url.startswith("#")]
    assert len(local) >= 6
    assert all(url.startswith("/hacknode2/") for url in local), local


def test_the_script_writes_no_url_of_its_own():
    # Every URL the script uses comes from the page (url_for) or the API (click_url): a "/..."
    # written in it would leave a team's /hacknodeN/ prefix.
    script = SPA_JS.read_text()
    code = "\n".join(line.split("//", 1)[0] for line in script.splitlines())
    assert not re.search(r"""["']/\w""", code)      # "/" alone is the date's separator
    assert "data-frontpage-url" in code and "click_url" in code


def test_the_multi_page_navbar_leads_to_it(client):
    page = client.get("/submit").get_data(as_text=True)
    assert '<a class="nav-link" href="/spa">Single page</a>' in page


def test_a_cross_site_post_of_json_as_text_is_refused(client, db):
    # What another site's page can send without a CORS preflight: text/plain (or a form). Only
    # application/json goes through without the form's token, and browsers send that cross-site
    # only after a preflight this app never answers.
    response = client.post("/submit.json", data='{"title": "Forged", "link": "https://example.com/"}',
                           content_type="text/plain")
    assert response.status_code == 400
    assert db.articles.count_documents({}) == 0
