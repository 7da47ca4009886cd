"""Configuration without code edits: FLASK_ environment variables, one MONGO_URI."""
import logging
import subprocess
import sys

import pytest
from pymongo.errors import ConfigurationError

from app import PROJECT_ROOT, create_app
from app.db import get_client


def test_settings_come_from_flask_prefixed_environment(monkeypatch, mongo_uri):
    monkeypatch.setenv("FLASK_MONGO_URI", mongo_uri)
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("FLASK_FRONT_PAGE_SIZE", "7")
    monkeypatch.setenv("FLASK_CHECK_LINKS", "true")
    app = create_app()
    assert app.config["MONGO_URI"] == mongo_uri
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["FRONT_PAGE_SIZE"] == 7
    assert app.config["CHECK_LINKS"] is True
    assert app.test_client().get("/healthz").status_code == 200


def test_defaults(monkeypatch):
    for name in ["FLASK_MONGO_URI", "FLASK_SECRET_KEY", "FLASK_FRONT_PAGE_SIZE", "FLASK_CHECK_LINKS"]:
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert app.config["MONGO_URI"] == "mongodb://127.0.0.1:27017/rapidnews"
    assert app.config["FRONT_PAGE_SIZE"] == 30
    assert app.config["CHECK_LINKS"] is False
    assert 0 < app.config["MAX_CONTENT_LENGTH"] <= 1024 * 1024


def test_missing_secret_key_is_random_with_a_warning(monkeypatch, caplog):
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    with caplog.at_level(logging.WARNING):
        first, second = create_app(), create_app()
    assert first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert "FLASK_SECRET_KEY is not set" in caplog.text


def test_uri_without_database_is_refused_at_start():
    with pytest.raises(ConfigurationError, match="names no database"):
        create_app({"MONGO_URI": "mongodb://app:s3cret" + "@127.0.0.1:27017/"})
    with pytest.raises(ConfigurationError) as refused:
        create_app({"MONGO_URI": "mongodb://app:s3cret" + "@127.0.0.1:27017"})
    assert "s3cret" not in str(refused.value) and "***" in str(refused.value)


def test_one_lazy_client_per_process(app, make_app):
    with app.app_context():
        from app.db import get_db
        first = get_db()
    assert get_client(app.config["MONGO_URI"]) is get_client(make_app().config["MONGO_URI"])
    assert first.client is get_client(app.config["MONGO_URI"])
    # Creating an app connects to nothing: a database that is down does not stop the start.
    create_app({"MONGO_URI": "mongodb://127.0.0.1:1/rapidnews", "SECRET_KEY": "x"})


def test_wsgi_entry_point_loads_from_the_project_root(mongo_uri):
    # What uwsgi does with `module = app.wsgi:app` and chdir = the project root.
    code = ("from app.wsgi import app; c = app.test_client(); r = c.get('/healthz');"
            "print(r.status_code, r.get_json()['status'], app.config['SECRET_KEY'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, env={"FLASK_MONGO_URI": mongo_uri, "FLASK_SECRET_KEY": "k1"},
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "ok", "k1"]


@pytest.mark.parametrize("name, value", [("FLASK_FRONT_PAGE_SIZE", "lots"), ("FLASK_FRONT_PAGE_SIZE", "0"),
                                         ("FLASK_CHECK_LINKS", "yes"), ("FLASK_CHECK_LINKS_TIMEOUT", "soon")])
def test_a_setting_of_the_wrong_kind_stops_the_start_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"setting {name}="):
        create_app()
