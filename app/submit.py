"""Submitting news through the HTML form."""
from flask import Blueprint, current_app, render_template, request

from . import articles
from .db import get_db
from .validation import validate_submission

bp = Blueprint("submit", __name__)


@bp.route("/submit", methods=["GET", "POST"])
def submit():
    if request.method == "GET":
        return render_template("submit.html", form={}, errors={})
    submission, errors = validate_submission(
        request.form, check_links=current_app.config["CHECK_LINKS"],
        timeout=current_app.config["CHECK_LINKS_TIMEOUT"])
    if errors:
        # The visitor's input goes back into the form, each error beside its field.
        return render_template("submit.html", form=request.form, errors=errors), 400
    article, created = articles.submit(get_db(), submission["title"], submission["link"])
    return render_template("success.html", article=article, created=created)
