"""The human_date filter, with the workshop's own test cases."""
import datetime as dt

import pytest

from app.filters import human_date, val_ago

JAN1 = dt.datetime(2013, 1, 1, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("expected, delta", [
    ("1 day ago", dt.timedelta(days=1)),
    ("2 days ago", dt.timedelta(days=2)),
    ("6 days ago", dt.timedelta(days=6, hours=23)),
    ("0 seconds ago", dt.timedelta(0)),
    ("1 second ago", dt.timedelta(seconds=1)),
    ("5 seconds ago", dt.timedelta(seconds=5)),
    ("59 seconds ago", dt.timedelta(seconds=59)),
    ("1 minute ago", dt.timedelta(seconds=60)),
    ("2 minutes ago", dt.timedelta(minutes=2)),
    ("1 hour ago", dt.timedelta(minutes=60)),
    ("3 hours ago", dt.timedelta(hours=3)),
    ("23 hours ago", dt.timedelta(hours=23, minutes=59)),
    ("12/25/2012", dt.timedelta(days=7)),
    ("12/20/2011", dt.timedelta(days=378)),
])
def test_human_date(expected, delta):
    assert human_date(JAN1 - delta, nowfunc=lambda: JAN1) == expected


def test_val_ago_is_singular_only_for_one():
    assert [val_ago(n, unit="second") for n in (0, 1, 2)] == \
        ["0 seconds ago", "1 second ago", "2 seconds ago"]


def test_naive_dates_and_iso_strings_are_utc():
    naive_jan1 = dt.datetime(2013, 1, 1)
    assert human_date(naive_jan1 - dt.timedelta(hours=3), nowfunc=lambda: JAN1) == "3 hours ago"
    assert human_date("2012-12-31T21:00:00+00:00", nowfunc=lambda: JAN1) == "3 hours ago"


def test_a_date_in_the_future_is_now():
    assert human_date(JAN1 + dt.timedelta(seconds=30), nowfunc=lambda: JAN1) == "0 seconds ago"


def test_default_now_is_the_current_time():
    assert human_date(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)) == "2 days ago"


def test_filters_are_registered_in_templates(app):
    with app.test_request_context():
        template = app.jinja_env.from_string("{{ d|human_date }} / {{ 1|val_ago(unit='click') }}")
        two_hours_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2, seconds=5)
        assert template.render(d=two_hours_ago) == "2 hours ago / 1 click ago"
