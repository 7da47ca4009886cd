"""The seed command, the template tester (./inv template) and the local database helper."""
import json
import subprocess
import sys

import pymongo
import pytest

from app import PROJECT_ROOT
from app.db import SAMPLE_ARTICLES
from app.render import RenderError, render_file
from lab import localdb


def test_seed_adds_sample_articles_once(runner, db):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0
    assert first.output == f"seed: {len(SAMPLE_ARTICLES)} articles added, 0 already there\n"
    assert db.articles.count_documents({}) == len(SAMPLE_ARTICLES)
    db.articles.update_one({"link": SAMPLE_ARTICLES[0][1]}, {"$set": {"score": 12}})
    second = runner.invoke(args=["seed"])
    assert second.output == f"seed: 0 articles added, {len(SAMPLE_ARTICLES)} already there\n"
    assert db.articles.count_documents({}) == len(SAMPLE_ARTICLES)
    assert db.articles.find_one({"link": SAMPLE_ARTICLES[0][1]})["score"] == 12


def test_seeded_articles_are_on_the_front_page(runner, client):
    runner.invoke(args=["seed"])
    page = client.get("/").get_data(as_text=True)
    for title, link in SAMPLE_ARTICLES:
        assert f'">{title}</a>' in page


def test_render_sample_front_page():
    html = render_file(PROJECT_ROOT / "app/templates/index.html",
                       PROJECT_ROOT / "app/sample_data/frontpage.json")
    assert '<span class="badge text-bg-danger score">150</span>' in html
    assert '<a href="/click?url=http://google.com/">Google</a>' in html
    assert "02/18/2013" in html


def test_render_sample_submit_errors():
    html = render_file(PROJECT_ROOT / "app/templates/submit.html",
                       PROJECT_ROOT / "app/sample_data/submit-errors.json")
    assert 'value="javascript:alert(1)"' in html
    assert 'id="title-error">title must be at least 2 characters</div>' in html


def test_render_a_learners_template(tmp_path):
    # The workshop's squares example: a template of one's own, next to its data.
    (tmp_path / "squares.html").write_text(
        "<table>{% for item in rows %}<tr><td>{{ item.number }}</td><td>{{ item.square }}</td>"
        "<td>{{ item.number|val_ago(unit='second') }}</td></tr>{% endfor %}</table>")
    (tmp_path / "squares.json").write_text(json.dumps({"rows": [{"number": 1, "square": 1},
                                                                {"number": 3, "square": 9}]}))
    assert render_file(tmp_path / "squares.html", tmp_path / "squares.json") == (
        "<table><tr><td>1</td><td>1</td><td>1 second ago</td></tr>"
        "<tr><td>3</td><td>9</td><td>3 seconds ago</td></tr></table>")


@pytest.mark.parametrize("template, data, message", [
    ("index.html", "{}", "index.html: 'articles' is undefined"),
    ("index.html", '{"articles": [', "data.json:1: not valid JSON"),
    ("index.html", "[1, 2]", "data.json: the data must be a JSON object"),
    ("broken.html", "{}", "broken.html:1: Unexpected end of template"),
    ("missing.html", "{}", "template not found: missing.html"),
])
def test_render_mistakes_are_one_line(tmp_path, template, data, message):
    (tmp_path / "broken.html").write_text("{% if x %}}")
    (tmp_path / "data.json").write_text(data)
    folder = PROJECT_ROOT / "app/templates" if template == "index.html" else tmp_path
    with pytest.raises(RenderError) as error:
        render_file(folder / template, tmp_path / "data.json")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_inv_template_task_prints_the_page():
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "template", "app/templates/index.html",
         "app/sample_data/frontpage.json"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>") and ">Bing</a>" in result.stdout


def test_inv_template_task_reports_a_mistake():
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "template", "app/templates/success.html",
         "app/sample_data/frontpage.json"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "template: app/templates/success.html: 'created' is undefined"


def test_localdb_starts_keeps_data_and_stops(tmp_path):
    storage = tmp_path / "localdb"
    with localdb.running(storage, database="notes") as server:
        assert server.uri == f"mongodb://127.0.0.1:{server.port}/notes"
        with pymongo.MongoClient(server.uri) as client:
            client.get_default_database().notes.insert_one({"kept": True})
    assert server.process.returncode is not None, "the server has stopped"
    assert (tmp_path / "localdb.log").is_file()
    with localdb.running(storage, database="notes") as again:
        with pymongo.MongoClient(again.uri) as client:
            assert client.get_default_database().notes.find_one({}, {"_id": False}) == {"kept": True}


def test_localdb_reports_a_server_that_cannot_start(tmp_path):
    with localdb.running(tmp_path / "first") as server:
        with pytest.raises(RuntimeError, match=f"port {server.port} is in use"):
            localdb.start(tmp_path / "second", port=server.port)
    (tmp_path / "not-a-directory").write_text("")
    with pytest.raises(RuntimeError, match="SecantusDB exited with status"):
        localdb.start(tmp_path / "not-a-directory")
