"""Fixtures for the Rapid News tests: a real MongoDB-wire server, a fresh database per test.

The server is a SecantusDB started for the session on a free port, or the MongoDB named by
the MONGO_URL environment variable when it is set.
"""
import itertools
import os
from urllib.parse import urlsplit, urlunsplit

import pymongo
import pytest

from app import create_app
from lab import localdb

_database_numbers = itertools.count(1)


def with_database(uri, name):
    """The URI with its path (the database name) replaced by name; options kept."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    """The base URI of the session's database server."""
    if os.environ.get("MONGO_URL"):
        yield os.environ["MONGO_URL"]
        return
    with localdb.running(tmp_path_factory.mktemp("secantus") / "data") as server:
        yield server.base_uri + "/"


@pytest.fixture
def mongo_uri(mongo_server):
    """A URI naming a database of this test's own, dropped after the test."""
    name = f"rapidnews_test_{os.getpid()}_{next(_database_numbers)}"
    uri = with_database(mongo_server, name)
    yield uri
    with pymongo.MongoClient(uri) as client:
        client.drop_database(name)


@pytest.fixture
def db(mongo_uri):
    """The test's database, for checking what the app stored."""
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as client:
        yield client.get_default_database()


@pytest.fixture
def make_app(mongo_uri):
    """create_app with the test's database and any extra settings."""
    def make(**settings):
        return create_app({"TESTING": True, "SECRET_KEY": "test", "MONGO_URI": mongo_uri,
                           **settings})
    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token_of(client, path="/submit", **kwargs):
    """The CSRF token from the form on the page at path (the way a browser gets it)."""
    page = client.get(path, **kwargs).get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    assert marker in page, "the page has no CSRF token field"
    return page.split(marker, 1)[1].split('"', 1)[0]


@pytest.fixture
def submit_form(client):
    """Post the submit form as a browser does: first GET it for its token."""
    def submit(title, link, **kwargs):
        token = csrf_token_of(client, **kwargs)
        return client.post("/submit", data={"title": title, "link": link, "csrf_token": token},
                           **kwargs)
    return submit
