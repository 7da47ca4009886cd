"""Served under a path prefix (nginx passes SCRIPT_NAME=/hacknode2): every URL keeps it."""
import re

import pytest

from conftest import csrf_token_of

PREFIX = "http://localhost/hacknode2"


@pytest.fixture
def stored(db):
    import datetime as dt
    db.articles.insert_one({"title": "Prefixed", "link": "https://example.com/p", "score": 1,
                            "date": dt.datetime.now(dt.timezone.utc)})


def local_urls(page):
    """Every href, src and form action in the page that points into this site."""
    urls = re.findall(r'(?:href|src|action)="([^"]*)"', page)
    return [url for url in urls if not url.startswith(("http://", "https://", "#"))]


@pytest.mark.parametrize("path", ["/", "/submit", "/search?q=pre"])
def test_every_local_url_has_the_prefix(client, stored, path):
    response = client.get(path, base_url=PREFIX)
    assert response.status_code == 200
    urls = local_urls(response.get_data(as_text=True))
    assert len(urls) >= 8
    for url in urls:
        assert url.startswith("/hacknode2/"), url


def test_static_files_under_the_prefix(client):
    page = client.get("/", base_url=PREFIX).get_data(as_text=True)
    assert 'href="/hacknode2/static/vendor/bootstrap/bootstrap.min.css"' in page
    assert client.get("/static/js/main.js", base_url=PREFIX).status_code == 200


def test_submit_and_success_under_the_prefix(client, db):
    token = csrf_token_of(client, base_url=PREFIX)
    response = client.post("/submit", base_url=PREFIX, data={
        "title": "Via prefix", "link": "https://example.com/v", "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<a href="/hacknode2/click?url=https://example.com/v">Via prefix</a>' in page
    assert all(url.startswith("/hacknode2/") for url in local_urls(page))


def test_cookies_belong_to_the_prefix(client):
    client.get("/submit", base_url=PREFIX)
    assert client.get_cookie("session", domain="localhost", path="/hacknode2") is not None
    assert client.get_cookie("rapidnews_visited", domain="localhost", path="/hacknode2") is not None
    assert client.get_cookie("session", domain="localhost", path="/") is None


def test_redirects_keep_the_prefix(client, stored):
    assert client.get("/search?q=", base_url=PREFIX).headers["Location"] == "/hacknode2/"
    click = client.get("/click?url=https://example.com/p", base_url=PREFIX)
    assert click.status_code == 302 and click.headers["Location"] == "https://example.com/p"


def test_json_click_urls_have_the_prefix(client, stored):
    articles = client.get("/frontpage.json", base_url=PREFIX).get_json()["articles"]
    assert articles[0]["click_url"] == "/hacknode2/click?url=https://example.com/p"


def test_error_page_links_keep_the_prefix(client):
    page = client.get("/click?url=nope", base_url=PREFIX).get_data(as_text=True)
    assert all(url.startswith("/hacknode2/") for url in local_urls(page))
