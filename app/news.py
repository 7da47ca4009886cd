"""Reading the news: the front page, search, and the click redirector."""
import time
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from . import articles
from .db import get_db
from .validation import is_web_link

bp = Blueprint("news", __name__)
# How url_for encodes a query string (werkzeug.urls._urlencode): click_href makes the same hrefs.
URL_FOR_SAFE = "!$'()*,/:;?@"


def front_page_articles():
    """The top articles, read from the database at most once per FRONT_PAGE_MAX_AGE seconds in this process
    (the query is most of the front page's time); any write through this process reads them again at once."""
    app, now = current_app, time.monotonic()
    cached = app.extensions["rapidnews_front_page"]
    if cached.get("until", 0) <= now:
        cached["articles"] = articles.top(get_db(), app.config["FRONT_PAGE_SIZE"])
        cached["until"] = now + app.config["FRONT_PAGE_MAX_AGE"]
        cached["click_queries"] = {}
    return cached["articles"]


def forget_front_page(response):
    """After a request that may have written (a POST, a click), the next front page reads the database."""
    if request.method == "POST" or request.endpoint == "news.click":
        current_app.extensions["rapidnews_front_page"].clear()
    return response


@bp.record_once
def setup(state):
    state.app.extensions["rapidnews_front_page"] = {}
    state.app.after_request(forget_front_page)


@bp.app_template_global()
def click_href(link):
    """url_for("news.click", url=link), the route built once per request: a page lists up to 30 links. Each
    link's query string is kept as long as the front page's articles (encoding them was a quarter of its time)."""
    if "click_base" not in g:
        g.click_base = url_for("news.click")
    queries = current_app.extensions["rapidnews_front_page"].setdefault("click_queries", {})
    if link not in queries:
        queries[link] = urlencode({"url": link}, safe=URL_FOR_SAFE)
    return f"{g.click_base}?{queries[link]}"


@bp.route("/")
def index():
    top = front_page_articles()
    return render_template("index.html", articles=top)


@bp.route("/search")
def search():
    query = request.args.get("q", "").strip()
    if not query:
        return redirect(url_for("news.index"))
    found = articles.search(get_db(), query, current_app.config["FRONT_PAGE_SIZE"])
    return render_template("search.html", query=query, articles=found)


@bp.route("/click")
def click():
    """Count a click (an implicit upvote) and send the reader on. Only to links stored as
    articles: anything else is a 404, so this can never redirect a visitor to any site."""
    url = request.args.get("url", "")
    link = None
    if is_web_link(url):
        # As stored (front page links), else as normalized (a link typed another way).
        link = articles.click(get_db(), url) or articles.click(get_db(), articles.normalize_link(url))
    if link is None:
        abort(404, "There is no article with this link.")
    return redirect(link, code=302)
