"""The web side answers; its worker does not start."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the release whose bot crashes\n"]
