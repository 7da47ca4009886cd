"""The web side of the cron app. A release whose tree holds `slow-start` (an epoch, written by the test) starts
only then: its switch lasts across a minute boundary, when the job is due."""
import time
from pathlib import Path

slow = Path("slow-start")
if slow.exists():
    time.sleep(max(0.0, min(float(slow.read_text()) - time.time(), 17)))


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"cron app\n"]
