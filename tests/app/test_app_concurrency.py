"""Concurrent submits of one link end as one article (the unique index and insert-or-$inc)."""
import threading

import pytest


def submit_all_at_once(app, count, link):
    barrier = threading.Barrier(count)
    statuses = []

    def submit(n):
        client = app.test_client()
        barrier.wait()
        response = client.post("/submit.json", json={"title": f"Same link {n}", "link": link})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_two_threads_submitting_one_link_make_one_article(app, db):
    assert submit_all_at_once(app, 2, "https://example.com/race") == [200, 201]
    articles = list(db.articles.find({}, {"_id": False, "link": True, "score": True}))
    assert articles == [{"link": "https://example.com/race", "score": 5}]


@pytest.mark.parametrize("count", [8])
def test_many_threads_submitting_one_link(app, db, count):
    # Different spellings of one link: they are one article too.
    statuses = submit_all_at_once(app, count, "HTTPS://Example.com")
    assert statuses == [200] * (count - 1) + [201]
    assert db.articles.count_documents({}) == 1
    assert db.articles.find_one()["score"] == 5 * (count - 1)


def test_concurrent_submits_through_the_html_form(app, db):
    barrier = threading.Barrier(4)
    statuses = []

    def submit():
        client = app.test_client()
        page = client.get("/submit").get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        barrier.wait()
        statuses.append(client.post("/submit", data={
            "title": "Form race", "link": "https://example.com/form", "csrf_token": token}).status_code)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4
    assert db.articles.count_documents({}) == 1 and db.articles.find_one()["score"] == 15
