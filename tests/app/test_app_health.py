"""/healthz, and how pages behave while MongoDB is away and after it is back."""
import pytest

from app import PROJECT_ROOT, create_app
from lab import localdb


def test_healthz_ok_with_the_release(make_app, tmp_path):
    release_file = tmp_path / "RELEASE"
    release_file.write_text("20260101T120000Z\n")
    response = make_app(RELEASE_FILE=str(release_file)).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "release": "20260101T120000Z", "settings": None}


def test_healthz_reports_the_settings_id_fab_config_wrote(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("HACKNODE_SETTINGS_ID", "1764640000.123")    # as uwsgi's env = line sets it
    response = make_app(RELEASE_FILE=str(tmp_path / "RELEASE")).test_client().get("/healthz")
    assert response.get_json()["settings"] == "1764640000.123"


def test_healthz_release_is_null_without_the_file(make_app, tmp_path):
    response = make_app(RELEASE_FILE=str(tmp_path / "RELEASE")).test_client().get("/healthz")
    assert response.get_json() == {"status": "ok", "release": None, "settings": None}


def test_release_file_is_next_to_app(app):
    assert app.config["RELEASE_FILE"] == str(PROJECT_ROOT / "RELEASE")
    assert (PROJECT_ROOT / "app" / "wsgi.py").is_file()


@pytest.fixture
def closed_port():
    return localdb.free_port()


@pytest.fixture
def app_without_db(closed_port, tmp_path):
    (tmp_path / "RELEASE").write_text("r1")
    return create_app({
        "TESTING": True, "SECRET_KEY": "test", "RELEASE_FILE": str(tmp_path / "RELEASE"),
        "MONGO_URI": f"mongodb://127.0.0.1:{closed_port}/rapidnews?serverSelectionTimeoutMS=1000",
    })


def test_pages_answer_503_while_the_database_is_down(app_without_db):
    client = app_without_db.test_client()
    assert client.get("/healthz").status_code == 503
    assert client.get("/healthz").get_json() == {"status": "unavailable", "release": "r1", "settings": None}
    for path in ["/", "/search?q=news", "/click?url=https://example.com/"]:
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 503, path
        assert "Sorry: error 503" in page and "The database is unavailable right now" in page
        assert "Traceback" not in page
    api = client.get("/frontpage.json")
    assert api.status_code == 503
    assert api.get_json() == {"error": "The database is unavailable right now. Try again in a moment."}


def test_submit_answers_503_while_the_database_is_down(app_without_db):
    client = app_without_db.test_client()
    form = client.get("/submit")                 # the form itself needs no database
    assert form.status_code == 200
    token = form.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/submit", data={"title": "Hello", "link": "https://example.com/",
                                            "csrf_token": token})
    assert response.status_code == 503
    assert client.post("/submit.json", json={"title": "Hello", "link": "https://example.com/"}) \
        .status_code == 503


def test_pages_recover_when_the_database_is_back(app_without_db, closed_port, tmp_path):
    client = app_without_db.test_client()
    assert client.get("/").status_code == 503
    with localdb.running(tmp_path / "db", port=closed_port):
        assert client.get("/healthz").get_json() == {"status": "ok", "release": "r1", "settings": None}
        assert client.get("/").status_code == 200
        assert client.post("/submit.json", json={"title": "Back", "link": "https://example.com/"}) \
            .status_code == 201
    assert client.get("/").status_code == 503
