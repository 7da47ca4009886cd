"""The front page and the layout every page shares."""
import collections
import datetime as dt
import html.parser
import re
import time

import pytest
from flask import render_template_string, url_for

from app import VISITED_COOKIE

NOW = dt.datetime.now(dt.timezone.utc)


def store(db, title, score, age, link=None):
    db.articles.insert_one({"title": title, "link": link or f"https://example.com/{score}/{title}",
                            "score": score, "date": NOW - age})


def titles_on(page):
    return re.findall(r'<a href="/click\?url=[^"]*">([^<]*)</a>', page)


def test_articles_ranked_by_score_then_newest(client, db):
    store(db, "old ten", 10, dt.timedelta(days=3))
    store(db, "new ten", 10, dt.timedelta(minutes=5))
    store(db, "top", 50, dt.timedelta(days=30))
    store(db, "zero", 0, dt.timedelta(seconds=5))
    page = client.get("/").get_data(as_text=True)
    assert titles_on(page) == ["top", "new ten", "old ten", "zero"]


def test_rows_show_score_tracked_link_and_human_date(client, db):
    store(db, "Marcus Aurelius", 150, dt.timedelta(hours=3, minutes=1), link="https://example.com/m?a=1&b=2")
    page = client.get("/").get_data(as_text=True)
    assert '<span class="badge text-bg-danger score">150</span>' in page
    assert '<a href="/click?url=https://example.com/m?a%3D1%26b%3D2">Marcus Aurelius</a>' in page
    assert '<span class="badge text-bg-secondary published">3 hours ago</span>' in page


def test_old_articles_show_the_date(client, db):
    db.articles.insert_one({"title": "Ancient", "link": "https://example.com/", "score": 0,
                            "date": dt.datetime(2013, 2, 18, 9, 40, tzinfo=dt.timezone.utc)})
    assert "02/18/2013" in client.get("/").get_data(as_text=True)


def test_at_most_30_rows_by_default(client, db):
    for n in range(35):
        store(db, f"article {n}", n, dt.timedelta(minutes=n))
    titles = titles_on(client.get("/").get_data(as_text=True))
    assert len(titles) == 30
    assert titles[0] == "article 34" and titles[-1] == "article 5"


def test_front_page_size_is_a_setting(make_app, db):
    for n in range(5):
        store(db, f"article {n}", n, dt.timedelta(minutes=n))
    client = make_app(FRONT_PAGE_SIZE=2).test_client()
    assert titles_on(client.get("/").get_data(as_text=True)) == ["article 4", "article 3"]


def test_empty_front_page_invites_a_submission(client):
    page = client.get("/").get_data(as_text=True)
    assert "No news yet" in page and 'href="/submit"' in page


def test_titles_are_escaped(client, db):
    store(db, "<script>alert('x')</script>", 1, dt.timedelta(0))
    page = client.get("/").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_layout_navbar_marks_the_active_page(client):
    index = client.get("/").get_data(as_text=True)
    assert '<a class="nav-link active" aria-current="page" href="/">Top News</a>' in index
    assert '<a class="nav-link" href="/submit">Submit</a>' in index
    submit = client.get("/submit").get_data(as_text=True)
    assert '<a class="nav-link active" aria-current="page" href="/submit">Submit</a>' in submit
    assert '<a class="nav-link" href="/">Top News</a>' in submit


def test_layout_loads_vendored_assets_only(client):
    page = client.get("/").get_data(as_text=True)
    assert "<title>(RN) Latest News</title>" in page
    for asset in ["/static/vendor/bootstrap/bootstrap.min.css", "/static/css/main.css",
                  "/static/vendor/jquery/jquery.min.js",
                  "/static/vendor/bootstrap/bootstrap.bundle.min.js", "/static/js/main.js"]:
        assert asset in page
        assert client.get(asset).status_code == 200
    assert not re.search(r'(src|href)="(https?:)?//', page), "nothing may load from another site"


def test_first_visit_dialog_shows_once(client):
    first = client.get("/")
    assert 'id="first-visit-dialog"' in first.get_data(as_text=True)
    cookie = client.get_cookie(VISITED_COOKIE)
    assert cookie is not None and cookie.value == "true" and cookie.path == "/"
    assert cookie.expires is not None, "the visit is remembered beyond this browser session"
    second = client.get("/")                            # the test client sends the cookie back
    assert 'id="first-visit-dialog"' not in second.get_data(as_text=True)
    assert "Set-Cookie" not in second.headers


def test_first_visit_dialog_on_any_first_page(client):
    assert 'id="first-visit-dialog"' in client.get("/submit").get_data(as_text=True)
    assert 'id="first-visit-dialog"' not in client.get("/").get_data(as_text=True)


class TagBalance(html.parser.HTMLParser):
    """Counts open minus closed tags: the workshop's submit page left a div open."""
    VOID = {"meta", "link", "input", "br", "img", "hr"}

    def __init__(self):
        super().__init__()
        self.open = collections.Counter()

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open[tag] += 1

    def handle_endtag(self, tag):
        self.open[tag] -= 1


@pytest.mark.parametrize("path", ["/", "/submit", "/search?q=x", "/click?url=nothing"])
def test_pages_are_well_formed_and_load_existing_files(client, db, path):
    store(db, "x marks", 1, dt.timedelta(0))
    page = client.get(path).get_data(as_text=True)
    balance = TagBalance()
    balance.feed(page)
    assert {tag: n for tag, n in balance.open.items() if n} == {}
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200, asset


def test_articles_inserted_by_hand_are_shown(client, db):
    # As the workshop did in the mongo shell: no score, no date.
    db.articles.insert_one({"title": "Google", "link": "http://google.com"})
    page = client.get("/").get_data(as_text=True)
    assert '<a href="/click?url=http://google.com">Google</a>' in page
    assert '<span class="badge text-bg-danger score">0</span>' in page
    assert client.get("/frontpage.json").get_json()["articles"][0]["date"] is None
    assert client.get("/search?q=goo").status_code == 200
    assert client.get("/click?url=http://google.com").headers["Location"] == "http://google.com"
    assert db.articles.find_one()["score"] == 1


@pytest.mark.parametrize("link", ["https://example.com/", "https://example.com/m?a=1&b=2#top", "http://[::1]:8080/a b",
                                  "https://例え.jp/パス?q=é", "https://example.com/!$'()*,;@%41+~"])
def test_click_links_are_the_hrefs_url_for_makes(make_app, link):
    app = make_app()
    with app.test_request_context("/hacknode2/", base_url="http://h/hacknode2"):
        href = render_template_string("{{ click_href(link) }}", link=link)
        assert href == url_for("news.click", url=link).replace("&", "&amp;").replace("'", "&#39;")


def test_the_front_page_rereads_the_database_after_its_max_age_or_a_write_through_the_app(make_app, db):
    client = make_app(FRONT_PAGE_MAX_AGE=0.5).test_client()
    store(db, "first", 1, dt.timedelta(minutes=1))
    assert titles_on(client.get("/").get_data(as_text=True)) == ["first"]
    store(db, "by hand", 2, dt.timedelta(minutes=1))                # as in the mongo shell, past the app
    assert titles_on(client.get("/").get_data(as_text=True)) == ["first"]   # within its max age: reused
    time.sleep(0.6)
    assert titles_on(client.get("/").get_data(as_text=True)) == ["by hand", "first"]
    client.get("/click?url=https://example.com/1/first")              # a click through the app: +1, now 2
    client.get("/click?url=https://example.com/1/first")
    assert titles_on(client.get("/").get_data(as_text=True)) == ["first", "by hand"]
