"""Never shipped: the Procfile beside it has a mistake."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"never served\n"]
