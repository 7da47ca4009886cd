"""Rapid News: links ranked by clicks (implicit upvotes) and re-submits (explicit upvotes)."""
import secrets
from pathlib import Path

from flask import Flask, render_template, request
from jinja2 import StrictUndefined
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException

# The project root: the release directory on a server, the repository locally.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

VISITED_COOKIE = "rapidnews_visited"


def create_app(test_config=None):
    app = Flask(__name__)
    app.config.from_mapping(
        # One setting names the database: a full URI with the database name in its path.
        MONGO_URI="mongodb://127.0.0.1:27017/rapidnews",
        FRONT_PAGE_SIZE=30,
        # The workshop opened every submitted link. Off by default: it makes the server fetch
        # any URL a visitor types, and a slow site makes the visitor wait.
        CHECK_LINKS=False,
        CHECK_LINKS_TIMEOUT=5,
        MAX_CONTENT_LENGTH=64 * 1024,
        RELEASE_FILE=str(PROJECT_ROOT / "RELEASE"),
        # seconds a process reuses the front page's articles (news.front_page_articles); 0: read every time
        FRONT_PAGE_MAX_AGE=1.0,
    )
    if test_config is None:
        app.config.from_prefixed_env()   # FLASK_MONGO_URI, FLASK_SECRET_KEY, FLASK_CHECK_LINKS=true...
    else:
        app.config.from_mapping(test_config)
    check_settings(app.config)
    ensure_secret_key(app)

    # Undefined template variables are errors, not silent blanks (the workshop's search page
    # rendered a variable that did not exist, and nobody noticed).
    app.jinja_env.undefined = StrictUndefined

    from . import api, csrf, db, filters, health, news, spa, submit
    db.init_app(app)
    csrf.init_app(app)
    filters.init_app(app)
    app.register_blueprint(news.bp)
    app.register_blueprint(submit.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(spa.bp)
    app.register_blueprint(health.bp)

    @app.context_processor
    def first_visit():
        return {"first_visit": VISITED_COOKIE not in request.cookies}

    @app.after_request
    def remember_visit(response):
        # The welcome dialog shows on the first page a visitor sees; this cookie hides it later.
        if response.mimetype == "text/html" and response.status_code == 200 \
                and VISITED_COOKIE not in request.cookies:
            response.set_cookie(VISITED_COOKIE, "true", max_age=365 * 24 * 3600,
                                path=request.script_root or "/", samesite="Lax", secure=request.is_secure)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error):
        return error_response(error.code, error.description)

    @app.errorhandler(PyMongoError)
    def database_unavailable(error):
        # pymongo reconnects by itself: the next request after the database is back succeeds.
        app.logger.error("database error: %s", error)
        return error_response(503, "The database is unavailable right now. Try again in a moment.")

    return app


def ensure_secret_key(app):
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        app.logger.warning("FLASK_SECRET_KEY is not set: using a random key, so forms and "
                           "cookies signed by this process fail in any other process.")


def check_settings(config):
    """A setting of the wrong kind stops the app at its start, with its name (a deploy or `fab config` then
    rolls it back), instead of a 500 on every page that uses it."""
    for name, kind, rule in [("FRONT_PAGE_SIZE", int, "a whole number above 0"),
                             ("CHECK_LINKS_TIMEOUT", (int, float), "a number of seconds above 0")]:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
            raise ValueError(f"setting FLASK_{name}={value!r}: it must be {rule}")
    if not isinstance(config["CHECK_LINKS"], bool):
        raise ValueError(f"setting FLASK_CHECK_LINKS={config['CHECK_LINKS']!r}: it must be true or false")


def error_response(code, message):
    """A plain error page (or a JSON error for the API): never a traceback."""
    if request.path.endswith(".json"):
        return {"error": message}, code
    return render_template("error.html", code=code, message=message), code
