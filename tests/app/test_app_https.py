"""Behind the class nginx over HTTPS (uwsgi gets HTTPS=on, so the request's scheme is https): cookies are sent
over HTTPS only and the links the app builds whole are https; over plain HTTP both stay usable."""
from urllib.parse import urlsplit

from flask import url_for


def cookies_of(response):
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_over_https_the_session_and_visit_cookies_are_secure(client):
    cookies = cookies_of(client.get("/submit", base_url="https://hacknode2.class.example.org"))
    assert set(cookies) == {"session", "rapidnews_visited"}
    assert all("; Secure" in header for header in cookies.values()), cookies


def test_over_plain_http_they_are_not_or_forms_would_lose_their_token(client):
    cookies = cookies_of(client.get("/submit", base_url="http://hacknode2.class.example.org"))
    assert set(cookies) == {"session", "rapidnews_visited"}
    assert not any("Secure" in header for header in cookies.values()), cookies


def test_whole_links_take_the_scheme_the_visitor_came_with(app):
    with app.test_request_context("/", base_url="https://10.131.1.2/hacknode1"):
        url = url_for("news.index", _external=True)
    assert urlsplit(url)[:3] == ("https", "10.131.1.2", "/hacknode1/")
