"""Reading the news: the front page, search, and the click redirector."""
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from . import articles
from .db import get_db
from .validation import is_web_link

bp = Blueprint("news", __name__)


@bp.route("/")
def index():
    top = articles.top(get_db(), current_app.config["FRONT_PAGE_SIZE"])
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
