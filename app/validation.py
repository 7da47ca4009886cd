"""Checking a submitted article, the same way for the HTML form and the JSON API."""
import http.client
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from .articles import normalize_link

TITLE_MIN, TITLE_MAX = 2, 150
LINK_MAX = 2048


def validate_submission(params, check_links=False, timeout=5):
    """Returns (submission, errors): the cleaned {"title", "link"} and a {field: message} dict,
    empty when the submission is valid. params may come from a form or from JSON."""
    errors = {}
    title = params.get("title", "")
    link = params.get("link", "")
    # Only strings are stored: a JSON object such as {"$ne": ""} must never reach a query.
    if not isinstance(title, str):
        errors["title"], title = "title must be text", ""
    if not isinstance(link, str):
        errors["link"], link = "link must be text", ""
    title, link = title.strip(), link.strip()

    if "title" in errors:
        pass
    elif len(title) < TITLE_MIN:
        errors["title"] = f"title must be at least {TITLE_MIN} characters"
    elif len(title) > TITLE_MAX:
        errors["title"] = f"title may not be longer than {TITLE_MAX} characters"

    if "link" in errors:
        pass
    elif not link:
        errors["link"] = "link is required"
    elif len(link) > LINK_MAX:
        errors["link"] = f"link may not be longer than {LINK_MAX} characters"
    elif not is_web_link(link):
        errors["link"] = "link must be a full web address starting with http:// or https://"
    else:
        link = normalize_link(link)
        if check_links:
            problem = unreachable(link, timeout)
            if problem:
                errors["link"] = f"link could not be reached ({problem})"
    return {"title": title, "link": link}, errors


def is_web_link(link):
    """An absolute http(s) URL with a host: no javascript:, data:, relative or odd links."""
    if any(char.isspace() or not char.isprintable() for char in link):
        return False
    try:
        parts = urlsplit(link)
        parts.port                      # raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) \
        and "@" not in parts.netloc     # user:password@host hides the real host from readers


def unreachable(link, timeout):
    """Why the link cannot be opened (a short reason), or None when it can."""
    request = urllib.request.Request(link, headers={"User-Agent": "RapidNews link check"})
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except urllib.error.URLError as error:
        return "timed out" if isinstance(error.reason, TimeoutError) else "no answer"
    except TimeoutError:
        return "timed out"
    except (OSError, ValueError, http.client.HTTPException):
        return "no answer"
