"""Cross-site request forgery protection for HTML forms.

Every form carries a random token that is also kept in the visitor's signed session cookie;
a form post without the matching token is refused. Another site can make a visitor's browser
post a form here, but it cannot read the token.

JSON posts need no token: a browser sends Content-Type: application/json to another site only
after a CORS preflight, which this app never allows. So the single-page variant (app/spa.py),
which posts JSON, is safe without one, and any other body (a form, text/plain) still needs the token.
"""
import hmac
import secrets

from flask import abort, request, session
from flask.sessions import SecureCookieSessionInterface

FIELD = "csrf_token"


def csrf_token():
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def check_token():
    if request.method in ("GET", "HEAD", "OPTIONS") or request.is_json:
        return
    sent = request.form.get(FIELD, "")
    expected = session.get(FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "This form has expired or was not sent from this site. "
                   "Reload the page and try again.")


class ScriptRootSessionInterface(SecureCookieSessionInterface):
    """The session cookie (which holds the token) belongs to the path the app is served at:
    teams served at /hacknode1/ and /hacknode2/ on one server keep separate sessions."""

    def get_cookie_path(self, app):
        return app.config["SESSION_COOKIE_PATH"] or request.script_root or "/"

    def get_cookie_secure(self, app):
        # Behind the class nginx over HTTPS, uwsgi gets HTTPS=on (nginx's uwsgi_params) and the request's scheme is
        # https: the cookie is then sent over HTTPS only. Over plain HTTP (a class without TLS, ./inv run) it
        # could not be secure, or forms would lose their token.
        return app.config["SESSION_COOKIE_SECURE"] or request.is_secure


def init_app(app):
    app.session_interface = ScriptRootSessionInterface()
    app.before_request(check_token)
    app.add_template_global(csrf_token)
