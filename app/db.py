"""The MongoDB connection: one client per process, made on first use.

Made on first use rather than at import: uwsgi imports the app once and then forks its
workers, and a MongoClient must not cross a fork.
"""
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from pymongo import ASCENDING, DESCENDING, MongoClient, WriteConcern
from pymongo.errors import ConfigurationError
from pymongo.uri_parser import parse_uri

from . import articles

_clients = {}               # MONGO_URI -> MongoClient, for this process
_clients_lock = threading.Lock()

# A page should fail fast (503) when the database is away, not hang for pymongo's 30 s.
# A URI that sets its own serverSelectionTimeoutMS wins.
SERVER_SELECTION_TIMEOUT_MS = 3000


def check_uri(uri):
    """The database name in the URI's path, or a ConfigurationError saying what is wrong."""
    database = parse_uri(uri)["database"]
    if not database:
        raise ConfigurationError(f"MONGO_URI {_without_password(uri)!r} names no database: "
                                 "put it in the path, e.g. mongodb://127.0.0.1:27017/rapidnews")
    return database


def get_client(uri):
    with _clients_lock:
        if uri not in _clients:
            options = {"connect": False, "tz_aware": True}
            if "serverSelectionTimeoutMS" not in parse_uri(uri)["options"]:
                options["serverSelectionTimeoutMS"] = SERVER_SELECTION_TIMEOUT_MS
            _clients[uri] = MongoClient(uri, **options)
        return _clients[uri]


def journaled(write_concern):
    """The URI's write concern (w=majority stays) with j=True: a write is acknowledged only once it is
    in the database's journal, so a database killed right after a "Thanks" keeps what it thanked for."""
    return WriteConcern(**{**write_concern.document, "j": True})


def get_db():
    """The app's database (MONGO_URI), with its indexes in place; every write through it is journaled."""
    app = current_app
    client = get_client(app.config["MONGO_URI"])
    database = client.get_default_database(write_concern=journaled(client.write_concern))
    state = app.extensions["rapidnews_db"]
    if not state["indexes_ready"]:
        create_indexes(database)
        state["indexes_ready"] = True
    return database


def create_indexes(database):
    # One article per link: this unique index is what makes concurrent submits of one link
    # end as one article (see articles.submit).
    database.articles.create_index([("link", ASCENDING)], unique=True)
    database.articles.create_index([("score", DESCENDING), ("date", DESCENDING)])


def init_app(app):
    check_uri(app.config["MONGO_URI"])      # a wrong setting stops the start, with its reason
    app.extensions["rapidnews_db"] = {"indexes_ready": False}
    app.cli.add_command(seed_command)


SAMPLE_ARTICLES = [
    ("The Meditations of Marcus Aurelius", "https://www.gutenberg.org/ebooks/2680"),
    ("Flask documentation", "https://flask.palletsprojects.com/"),
    ("Jinja2 template designer documentation", "https://jinja.palletsprojects.com/templates/"),
    ("PyMongo tutorial", "https://pymongo.readthedocs.io/en/stable/tutorial.html"),
    ("Bootstrap: get started", "https://getbootstrap.com/docs/5.3/getting-started/introduction/"),
]


@click.command("seed")
@with_appcontext
def seed_command():
    """Add a few sample articles (those already there are left as they are)."""
    added = sum(articles.add_if_missing(get_db(), title, link) for title, link in SAMPLE_ARTICLES)
    click.echo(f"seed: {added} articles added, {len(SAMPLE_ARTICLES) - added} already there")


def _without_password(uri):
    head, at, tail = uri.rpartition("@")
    return f"{head.split('//')[0]}//***@{tail}" if at else uri
