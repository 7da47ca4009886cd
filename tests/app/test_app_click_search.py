"""The click redirector (implicit upvotes) and search."""
import datetime as dt

import pytest

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def stored(db):
    db.articles.insert_many([
        {"title": "Flask (the framework)", "link": "https://example.com/flask", "score": 3, "date": NOW},
        {"title": "FLASK tips", "link": "https://example.com/tips?x=1&y=2", "score": 7, "date": NOW},
        {"title": "Jinja.templates", "link": "https://example.com/jinja", "score": 1, "date": NOW},
    ])


def score_of(db, link):
    return db.articles.find_one({"link": link})["score"]


def test_click_counts_and_redirects(client, db, stored):
    response = client.get("/click", query_string={"url": "https://example.com/tips?x=1&y=2"})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.com/tips?x=1&y=2"
    assert score_of(db, "https://example.com/tips?x=1&y=2") == 8
    client.get("/click", query_string={"url": "https://example.com/tips?x=1&y=2"})
    assert score_of(db, "https://example.com/tips?x=1&y=2") == 9


def test_click_through_the_front_page_link(client, db, stored):
    page = client.get("/").get_data(as_text=True)
    href = page.split('">Jinja.templates</a>')[0].rsplit('<a href="', 1)[1]
    response = client.get(href)
    assert response.status_code == 302 and response.headers["Location"] == "https://example.com/jinja"
    assert score_of(db, "https://example.com/jinja") == 2


def test_click_matches_the_normalized_link(client, db, stored):
    response = client.get("/click", query_string={"url": "HTTPS://EXAMPLE.COM/flask"})
    assert response.headers["Location"] == "https://example.com/flask"
    assert score_of(db, "https://example.com/flask") == 4


@pytest.mark.parametrize("url", [
    "https://evil.example/", "https://example.com/flask/other", "//evil.example/",
    "javascript:alert(1)", "/", "",
])
def test_click_never_redirects_elsewhere(client, db, stored, url):
    response = client.get("/click", query_string={"url": url})
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert "There is no article with this link." in response.get_data(as_text=True)
    assert sorted(a["score"] for a in db.articles.find()) == [1, 3, 7]


def test_click_without_url_is_404(client):
    assert client.get("/click").status_code == 404


def search_titles(client, q):
    page = client.get("/search", query_string={"q": q}).get_data(as_text=True)
    return [line.split('">', 1)[1].split("</a>")[0]
            for line in page.splitlines() if '<td><a href="/click' in line]


def test_search_is_case_insensitive_and_ranked(client, stored):
    assert search_titles(client, "flask") == ["FLASK tips", "Flask (the framework)"]
    assert search_titles(client, "  TIPS ") == ["FLASK tips"]


@pytest.mark.parametrize("query, titles", [
    ("(the", ["Flask (the framework)"]),
    ("k.t", []), (".", ["Jinja.templates"]), ("*", []), ("[", []), ("k.*t", []),
])
def test_search_takes_the_query_as_plain_text(client, stored, query, titles):
    assert search_titles(client, query) == titles


def test_search_page_shows_the_query_escaped(client, stored):
    page = client.get("/search", query_string={"q": "<b>nothing"}).get_data(as_text=True)
    assert "Titles containing “&lt;b&gt;nothing”" in page
    assert 'value="&lt;b&gt;nothing"' in page              # kept in the navbar's search box
    assert "Nothing found." in page


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_search_goes_to_the_front_page(client, query):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/search").headers["Location"] == "/"


def test_navbar_search_form_reaches_search(client, stored):
    page = client.get("/").get_data(as_text=True)
    assert '<form class="d-flex" role="search" action="/search" method="get">' in page
    assert 'type="search" name="q"' in page
    assert client.get("/search?q=jinja").status_code == 200
