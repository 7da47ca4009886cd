"""The workshop's single-page variant: one HTML page and a static JavaScript application
(app/static/js/spa.js) that reads /frontpage.json and posts to /submit.json with jQuery.

The server renders the page once, with the API's URLs in data attributes (url_for, so a team
served at /hacknode1/ gets /hacknode1/frontpage.json); everything after that is done in the
browser. No CSRF token is needed: see app/csrf.py for why JSON posts are safe.
"""
from flask import Blueprint, render_template

bp = Blueprint("spa", __name__)


@bp.route("/spa")
def index():
    return render_template("spa.html", form={}, errors={})
