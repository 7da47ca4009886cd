"""validate_submission: the rules for the form and the JSON API alike (no database needed)."""
import pytest

from app.articles import normalize_link
from app.validation import validate_submission


def errors_of(title="A fine title", link="https://example.com/a"):
    return validate_submission({"title": title, "link": link})[1]


def test_a_valid_submission_is_cleaned():
    submission, errors = validate_submission({"title": "  Hello  ", "link": " https://Example.COM "})
    assert errors == {}
    assert submission == {"title": "Hello", "link": "https://example.com/"}


@pytest.mark.parametrize("title", ["", " ", "x", "  x  ", "y" * 151])
def test_bad_titles(title):
    assert set(errors_of(title=title)) == {"title"}


@pytest.mark.parametrize("title", ["ab", " ab ", "y" * 150, "  " + "y" * 150 + "  "])
def test_titles_at_the_limits(title):
    assert errors_of(title=title) == {}


@pytest.mark.parametrize("link", [
    "", "   ",
    "javascript:alert(1)", "JavaScript://%0aalert(1)", "data:text/html,<b>hi</b>",
    "/relative/path", "example.com", "//example.com/x", "ftp://example.com/f",
    "http://", "http:///path", "https://exa mple.com/", "https://example.com:notaport/",
    "https://user:pass" + "@example.com/", "https://evil.example" + "@example.com/", "http://example.com/\nSet-Cookie: x",
])
def test_bad_links(link):
    assert set(errors_of(link=link)) == {"link"}


def test_link_length_limit():
    base = "https://example.com/"
    assert errors_of(link=base + "a" * (2048 - len(base))) == {}
    assert "2048" in errors_of(link=base + "a" * (2049 - len(base)))["link"]


def test_missing_fields_are_errors():
    assert set(validate_submission({})[1]) == {"title", "link"}


@pytest.mark.parametrize("value", [{"$ne": ""}, ["a", "b"], 42, None])
def test_only_strings_are_accepted(value):
    submission, errors = validate_submission({"title": value, "link": value})
    assert errors == {"title": "title must be text", "link": "link must be text"}
    assert submission == {"title": "", "link": ""}


@pytest.mark.parametrize("link, normalized", [
    ("HTTP://Example.COM", "http://example.com/"),
    ("https://example.com/Path?Q=1#Frag", "https://example.com/Path?Q=1#Frag"),
    ("http://example.com:8080", "http://example.com:8080/"),
    ("http://[::1]:8080/x", "http://[::1]:8080/x"),
])
def test_normalize_link(link, normalized):
    assert normalize_link(link) == normalized
