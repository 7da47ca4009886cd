"""The submit form: validation, errors beside fields, CSRF, explicit upvotes, link checks."""
import http.server
import threading
import time

import pytest

from conftest import csrf_token_of


def test_form_page(client):
    page = client.get("/submit").get_data(as_text=True)
    assert '<form method="post" action="/submit" novalidate>' in page
    assert 'name="link" id="link"' in page and 'name="title" id="title"' in page
    assert 'is-invalid' not in page and 'invalid-feedback' not in page


def test_submit_stores_the_article(submit_form, db):
    response = submit_form("  Rapid News  ", "https://Example.com")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "your link is on Rapid News" in page
    assert '<strong id="score">0</strong>' in page
    article = db.articles.find_one({}, {"_id": False, "date": False})
    assert article == {"title": "Rapid News", "link": "https://example.com/", "score": 0}
    assert db.articles.count_documents({}) == 1


def test_submitted_article_is_on_the_front_page(submit_form, client):
    submit_form("Fresh news", "https://example.com/fresh")
    page = client.get("/").get_data(as_text=True)
    assert '<a href="/click?url=https://example.com/fresh">Fresh news</a>' in page
    assert "seconds ago" in page


def test_resubmitting_a_link_upvotes_it(submit_form, db):
    submit_form("First title", "https://example.com/x")
    response = submit_form("Another title", "HTTPS://EXAMPLE.COM/x")
    page = response.get_data(as_text=True)
    assert "already here: you upvoted it" in page
    assert '<strong id="score">5</strong>' in page
    submit_form("Third", "https://example.com/x")
    assert list(db.articles.find({}, {"_id": False, "title": True, "score": True})) == \
        [{"title": "First title", "score": 10}]


def test_errors_stand_beside_their_fields_and_input_is_kept(submit_form, db):
    response = submit_form("x", "javascript:alert(1)")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert ('<input type="url" class="form-control is-invalid"\n'
            '               name="link" id="link"\n'
            '               value="javascript:alert(1)"') in page
    assert ('value="javascript:alert(1)" placeholder="https://..." aria-describedby="link-error">\n'
            '        <div class="invalid-feedback" id="link-error">link must be a full web address') in page
    assert ('value="x" placeholder="headline or description" aria-describedby="title-error">\n'
            '        <div class="invalid-feedback" id="title-error">title must be at least 2 characters</div>') in page
    assert db.articles.count_documents({}) == 0


def test_one_bad_field_marks_only_that_field(submit_form):
    page = submit_form("A good title", "not a link").get_data(as_text=True)
    assert page.count("is-invalid") == 1 and 'id="link-error"' in page
    assert 'value="A good title"' in page


def test_kept_input_is_escaped(submit_form):
    page = submit_form('"><script>alert(1)</script>', "https://example.com/" + "a" * 3000) \
        .get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


def test_post_without_csrf_token_is_refused(client, db):
    client.get("/submit")
    response = client.post("/submit", data={"title": "Sneaky", "link": "https://example.com/"})
    assert response.status_code == 400
    assert "expired or was not sent from this site" in response.get_data(as_text=True)
    assert db.articles.count_documents({}) == 0


def test_post_with_a_wrong_csrf_token_is_refused(app, db):
    victim = app.test_client()
    victim.get("/submit")
    attacker_token = csrf_token_of(app.test_client())
    response = victim.post("/submit", data={"title": "Sneaky", "link": "https://example.com/",
                                            "csrf_token": attacker_token})
    assert response.status_code == 400
    assert db.articles.count_documents({}) == 0


def test_form_keys_cannot_become_query_operators(client, db):
    db.articles.insert_one({"title": "Existing", "link": "https://example.com/", "score": 0})
    token = csrf_token_of(client)
    response = client.post("/submit", data={"title": "Trick", "link[$ne]": "x",
                                            "title[$gt]": "", "csrf_token": token})
    assert response.status_code == 400
    assert 'id="link-error">link is required' in response.get_data(as_text=True)
    assert db.articles.find_one({}, {"_id": False}) == \
        {"title": "Existing", "link": "https://example.com/", "score": 0}


def test_request_size_is_limited(client, db):
    token = csrf_token_of(client)
    response = client.post("/submit", data={"title": "Big", "link": "https://example.com/",
                                            "padding": "x" * 100_000, "csrf_token": token})
    assert response.status_code == 413
    assert "Sorry: error 413" in response.get_data(as_text=True)
    assert db.articles.count_documents({}) == 0


# The workshop's reachability check, against a web server of the test's own on loopback.

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(2)
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def website():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def checking_client(make_app):
    return make_app(CHECK_LINKS=True, CHECK_LINKS_TIMEOUT=0.5).test_client()


def post_with_token(client, title, link):
    token = csrf_token_of(client)
    return client.post("/submit", data={"title": title, "link": link, "csrf_token": token})


def test_link_check_accepts_a_reachable_link(checking_client, website, db):
    response = post_with_token(checking_client, "Reachable", website + "/page")
    assert response.status_code == 200
    assert db.articles.count_documents({"link": website + "/page"}) == 1


@pytest.mark.parametrize("path, reason", [("/missing", "HTTP 404"), ("/slow", "timed out")])
def test_link_check_refuses_unreachable_links(checking_client, website, db, path, reason):
    response = post_with_token(checking_client, "Unreachable", website + path)
    assert response.status_code == 400
    assert f'id="link-error">link could not be reached ({reason})</div>' in \
        response.get_data(as_text=True)
    assert db.articles.count_documents({}) == 0


def test_link_check_refuses_a_closed_port(checking_client, db):
    from lab.localdb import free_port
    response = post_with_token(checking_client, "Nobody", f"http://127.0.0.1:{free_port()}/")
    assert response.status_code == 400
    assert 'link could not be reached (no answer)' in response.get_data(as_text=True)


def test_link_check_is_off_by_default(submit_form, db):
    from lab.localdb import free_port
    response = submit_form("Not checked", f"http://127.0.0.1:{free_port()}/")
    assert response.status_code == 200
    assert db.articles.count_documents({}) == 1
