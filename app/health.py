"""The health check that deploys and monitors ask: is the database there, which release runs, with which
settings (`fab config` writes HACKNODE_SETTINGS_ID at each change and waits until /healthz reports it)?"""
import os
from pathlib import Path

from flask import Blueprint, current_app
from pymongo.errors import PyMongoError

from .db import get_client

bp = Blueprint("health", __name__)


def read_release(path):
    """The release name written by the deploy next to app/, or None when there is none."""
    try:
        return Path(path).read_text().strip() or None
    except FileNotFoundError:
        return None


@bp.route("/healthz")
def healthz():
    release = read_release(current_app.config["RELEASE_FILE"])
    settings = os.environ.get("HACKNODE_SETTINGS_ID")
    try:
        get_client(current_app.config["MONGO_URI"]).get_default_database().command("ping")
    except PyMongoError as error:
        current_app.logger.error("health check: database unavailable: %s", error)
        return {"status": "unavailable", "release": release, "settings": settings}, 503
    return {"status": "ok", "release": release, "settings": settings}
