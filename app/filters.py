"""Jinja2 filters: value conversions for templates, as plain functions."""
from datetime import datetime, timedelta, timezone


def val_ago(value, unit="unit"):
    """1 second ago, 2 seconds ago: the unit is plural unless the value is exactly 1."""
    if value == 1:
        return f"{value} {unit} ago"
    return f"{value} {unit}s ago"


def human_date(dateval, nowfunc=None):
    """"5 seconds ago", "3 hours ago", "2 days ago"; a week or older: MM/DD/YYYY.

    dateval is a datetime or an ISO 8601 string (as in JSON data); naive ones are taken as UTC,
    which is how articles store their date. nowfunc lets tests fix the present.
    """
    if dateval is None:                 # an article stored without a date
        return ""
    if isinstance(dateval, str):
        dateval = datetime.fromisoformat(dateval)
    dateval = _as_utc(dateval)
    now = _as_utc(nowfunc()) if nowfunc else datetime.now(timezone.utc)
    delta = max(now - dateval, timedelta(0))   # a date in the future (clock skew) is "0 seconds ago"
    if delta.days == 0:
        hours, minutes = delta.seconds // 3600, delta.seconds // 60
        if hours > 0:
            return val_ago(hours, unit="hour")
        if minutes > 0:
            return val_ago(minutes, unit="minute")
        return val_ago(delta.seconds, unit="second")
    if delta.days < 7:
        return val_ago(delta.days, unit="day")
    return dateval.strftime("%m/%d/%Y")


def _as_utc(value):
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def init_app(app):
    app.add_template_filter(val_ago)
    app.add_template_filter(human_date)
