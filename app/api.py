"""The JSON API of the workshop's single-page variant."""
from flask import Blueprint, current_app, request, url_for

from . import articles
from .db import get_db
from .validation import validate_submission

bp = Blueprint("api", __name__)


def as_json(article):
    return {
        "title": article["title"],
        "link": article["link"],
        "score": article["score"],
        "date": article["date"].isoformat() if article["date"] else None,
        "click_url": url_for("news.click", url=article["link"]),
    }


@bp.route("/frontpage.json")
def frontpage():
    top = articles.top(get_db(), current_app.config["FRONT_PAGE_SIZE"])
    return {"articles": [as_json(article) for article in top]}


@bp.route("/submit.json", methods=["POST"])
def submit():
    """201 with the new article; 200 with the upvoted one when its link was stored already;
    400 with {"errors": {field: message}}."""
    params = request.get_json(silent=True)
    if not isinstance(params, dict):
        return {"errors": {"request": "send a JSON object with title and link, "
                                      "as Content-Type: application/json"}}, 400
    submission, errors = validate_submission(
        params, check_links=current_app.config["CHECK_LINKS"],
        timeout=current_app.config["CHECK_LINKS_TIMEOUT"])
    if errors:
        return {"errors": errors}, 400
    article, created = articles.submit(get_db(), submission["title"], submission["link"])
    return {"article": as_json(article), "created": created}, 201 if created else 200
