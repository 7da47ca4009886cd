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


HOST_ONLY = "__Host-"


class ScriptRootSessionInterface(SecureCookieSessionInterface):
    """The session cookie (which holds the token) belongs to the path the app is served at:
    teams served at /hacknode1/ and /hacknode2/ on one server keep separate sessions. Over HTTPS at the root of its
    own origin (<team>.<domain>) it is host-only: named __Host-session."""

    def get_cookie_name(self, app):
        # A browser keeps a "__Host-" cookie only if it is Secure, has Path=/ and no Domain: then no other site, not
        # even a sibling <other>.<domain> setting a cookie for Domain=<domain>, can plant or shadow it. Under a path
        # prefix (path routing) or over plain HTTP it could not be kept: it keeps its plain name there.
        name = app.config["SESSION_COOKIE_NAME"]
        if self.host_only(app) and not name.startswith(HOST_ONLY):
            return HOST_ONLY + name
        return name

    def host_only(self, app):
        return bool(self.get_cookie_secure(app)) and self.get_cookie_path(app) == "/" and not self.get_cookie_domain(app)

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
