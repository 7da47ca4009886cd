"""A WSGI callable written by hand: no framework at all."""


def application(environ, start_response):
    if environ["PATH_INFO"] == "/ping":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"pong\n"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [f"plain WSGI: nothing at {environ['PATH_INFO']}\n".encode()]
