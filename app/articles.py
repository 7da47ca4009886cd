"""Articles in MongoDB: plain functions taking the database first, no Flask in here.

An article is {"title": str, "link": str, "score": int, "date": datetime (UTC)}.
A click adds 1 to its score (implicit upvote); submitting its link again adds 5 (explicit upvote).
"""
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from pymongo import DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

RANKING = [("score", DESCENDING), ("date", DESCENDING)]   # best first, then newest first
RESUBMIT_POINTS = 5
CLICK_POINTS = 1


def normalize_link(link):
    """One spelling per link, so that HTTP://Example.COM and http://example.com/ are one
    article: lower-case scheme and host, "/" for an empty path. Expects a valid link."""
    parts = urlsplit(link)
    host = parts.hostname
    if ":" in host:                     # an IPv6 address keeps its brackets
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", parts.query, parts.fragment))


def top(db, limit):
    return [_complete(a) for a in db.articles.find({}, {"_id": False}).sort(RANKING).limit(limit)]


def search(db, query, limit):
    """Articles whose title contains query, as plain text, whatever the case."""
    pattern = {"$regex": re.escape(query), "$options": "i"}
    found = db.articles.find({"title": pattern}, {"_id": False}).sort(RANKING).limit(limit)
    return [_complete(a) for a in found]


def _complete(article):
    # Articles inserted by hand (the workshop did it in the mongo shell) may lack these.
    return {"score": 0, "date": None, **article}


def submit(db, title, link):
    """Store a new article, or upvote the one with this link. Returns (article, created).

    Race-free: the unique index on link lets exactly one of several concurrent inserts of a
    link succeed; the others get DuplicateKeyError and add their points with one atomic $inc.
    """
    article = {"title": title, "link": link, "score": 0, "date": datetime.now(timezone.utc)}
    try:
        db.articles.insert_one(article)
    except DuplicateKeyError:
        upvoted = db.articles.find_one_and_update(
            {"link": link}, {"$inc": {"score": RESUBMIT_POINTS}},
            projection={"_id": False}, return_document=ReturnDocument.AFTER)
        return upvoted, False
    del article["_id"]                  # insert_one added it; callers get what top() returns
    return article, True


def add_if_missing(db, title, link):
    """Insert the article unless its link is stored already (no upvote). True when added."""
    result = db.articles.update_one(
        {"link": link},
        {"$setOnInsert": {"title": title, "score": 0, "date": datetime.now(timezone.utc)}},
        upsert=True)
    return result.upserted_id is not None


def click(db, link):
    """Add a click to the article with this link; its stored link, or None if there is none."""
    article = db.articles.find_one_and_update(
        {"link": link}, {"$inc": {"score": CLICK_POINTS}}, projection={"link": True})
    return article["link"] if article else None
