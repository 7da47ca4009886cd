"""Behind the class nginx over HTTPS (uwsgi gets HTTPS=on, so the request's scheme is https): cookies are sent
over HTTPS only and the links the app builds whole are https; over plain HTTP both stay usable."""
import re
from urllib.parse import urlsplit

from flask import url_for


def cookies_of(response):
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_over_https_the_session_and_visit_cookies_are_secure(client):
    cookies = cookies_of(client.get("/submit", base_url="https://hacknode2.class.example.org"))
    assert set(cookies) == {"__Host-session", "rapidnews_visited"}
    assert all("; Secure" in header for header in cookies.values()), cookies


def attributes(header):
    return [part.strip().lower() for part in header.split(";")[1:]]


def test_over_https_on_its_own_origin_the_session_cookie_is_host_only_and_keeps_the_form_working(client, db):
    """__Host-: Secure, Path=/, no Domain (a browser keeps it only so): no sibling subdomain can plant or shadow it."""
    site = "https://hacknode2.class.example.org"
    response = client.get("/submit", base_url=site)
    header = cookies_of(response)["__Host-session"]
    assert "secure" in attributes(header) and "path=/" in attributes(header)
    assert not any(a.startswith("domain") for a in attributes(header)), header
    token = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    posted = client.post("/submit", base_url=site, data={"csrf_token": token, "title": "Host only",
                                                          "link": "https://example.com/host-only"})
    assert posted.status_code in (200, 302), posted.get_data(as_text=True)[:300]
    # a plain `session` cookie (planted by another site, or from before) is not this session: the form is refused
    other = client.application.test_client()
    other.set_cookie("session", client.get_cookie("__Host-session", domain="hacknode2.class.example.org").value,
                     domain="hacknode2.class.example.org")
    refused = other.post("/submit", base_url=site, data={"csrf_token": token, "title": "x", "link": "https://e.x/"})
    assert refused.status_code == 400


def test_under_a_path_prefix_over_https_it_keeps_its_plain_name_and_its_path(client):
    cookies = cookies_of(client.get("/submit", base_url="https://10.131.1.2/hacknode2"))
    assert set(cookies) == {"session", "rapidnews_visited"}
    assert "path=/hacknode2" in attributes(cookies["session"]) and "secure" in attributes(cookies["session"])


def test_over_plain_http_they_are_not_or_forms_would_lose_their_token(client):
    cookies = cookies_of(client.get("/submit", base_url="http://hacknode2.class.example.org"))
    assert set(cookies) == {"session", "rapidnews_visited"}
    assert not any("Secure" in header for header in cookies.values()), cookies


def test_whole_links_take_the_scheme_the_visitor_came_with(app):
    with app.test_request_context("/", base_url="https://10.131.1.2/hacknode1"):
        url = url_for("news.index", _external=True)
    assert urlsplit(url)[:3] == ("https", "10.131.1.2", "/hacknode1/")
