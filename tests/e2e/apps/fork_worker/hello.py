"""The web side of the fork loop's release."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"fork loop app\n"]
