"""Never served: its release command fails."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the release whose migration failed\n"]
