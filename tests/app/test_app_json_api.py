"""The JSON API of the single-page variant."""
import datetime as dt


def test_frontpage_json_lists_the_front_page(client, db):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    db.articles.insert_many([
        {"title": "Low", "link": "https://example.com/low", "score": 1, "date": now},
        {"title": "High", "link": "https://example.com/high?a=b", "score": 9, "date": now},
    ])
    response = client.get("/frontpage.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == {"articles": [
        {"title": "High", "link": "https://example.com/high?a=b", "score": 9,
         "date": now.isoformat(), "click_url": "/click?url=https://example.com/high?a%3Db"},
        {"title": "Low", "link": "https://example.com/low", "score": 1,
         "date": now.isoformat(), "click_url": "/click?url=https://example.com/low"},
    ]}


def test_frontpage_json_respects_the_page_size(make_app, db):
    db.articles.insert_many([{"title": f"t{n}", "link": f"https://example.com/{n}", "score": n,
                              "date": dt.datetime.now(dt.timezone.utc)} for n in range(4)])
    response = make_app(FRONT_PAGE_SIZE=3).test_client().get("/frontpage.json")
    assert [a["title"] for a in response.get_json()["articles"]] == ["t3", "t2", "t1"]


def test_submit_json_creates_then_upvotes(client, db):
    first = client.post("/submit.json", json={"title": " API news ", "link": "https://Example.com"})
    assert first.status_code == 201
    article = first.get_json()["article"]
    assert first.get_json()["created"] is True
    assert (article["title"], article["link"], article["score"]) == ("API news", "https://example.com/", 0)
    assert dt.datetime.fromisoformat(article["date"]) <= dt.datetime.now(dt.timezone.utc)
    again = client.post("/submit.json", json={"title": "whatever", "link": "https://example.com/"})
    assert again.status_code == 200
    assert again.get_json()["created"] is False and again.get_json()["article"]["score"] == 5
    assert db.articles.count_documents({}) == 1


def test_submit_json_field_errors(client, db):
    response = client.post("/submit.json", json={"title": "x", "link": "data:text/html,hi"})
    assert response.status_code == 400
    assert response.get_json() == {"errors": {
        "title": "title must be at least 2 characters",
        "link": "link must be a full web address starting with http:// or https://"}}
    assert db.articles.count_documents({}) == 0


def test_submit_json_refuses_operators(client, db):
    db.articles.insert_one({"title": "Existing", "link": "https://example.com/", "score": 0})
    response = client.post("/submit.json", json={"title": "Trick", "link": {"$ne": ""}})
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"link": "link must be text"}}
    assert db.articles.find_one({}, {"_id": False})["score"] == 0


def test_submit_json_refuses_form_posts(client, db):
    # A form post could come from any site: without a CSRF token it is refused.
    response = client.post("/submit.json", data={"title": "Form", "link": "https://example.com/"})
    assert response.status_code == 400
    assert "not sent from this site" in response.get_json()["error"]
    assert db.articles.count_documents({}) == 0


def test_submit_json_needs_a_json_object(client, db):
    for kwargs in [{"json": ["not", "an", "object"]},
                   {"data": "{broken", "content_type": "application/json"}]:
        response = client.post("/submit.json", **kwargs)
        assert response.status_code == 400
        assert set(response.get_json()["errors"]) == {"request"}
    assert db.articles.count_documents({}) == 0


def test_submit_json_accepts_only_post(client):
    assert client.get("/submit.json").status_code == 405
    assert client.get("/submit.json").get_json() == {"error": "The method is not allowed for the requested URL."}
