"""A forge's public keys endpoint on this machine, for the tests of keys from accounts (`github:NAME` in a team's
keys): `GET /<user>.keys` answers the user's keys, one a line, as GitHub and GitLab do; an unknown user is a 404.

It serves HTTPS on 127.0.0.1 with a certificate from a CA made here (deploy/tls/certs.py), so the instructor's side
trusts it as an institution's forge is trusted: the inventory's `forges.ca_bundle` names `ca_file`, and
`forges.github` (or gitlab) is `base_url`. `stop()` takes it down (a forge unreachable), `start()` brings it back.
"""
import datetime
import http.server
import ssl
import threading
from pathlib import Path

from deploy.tls import certs


class KeysHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        user = self.path.lstrip("/")[:-len(".keys")] if self.path.endswith(".keys") else None
        answer = next((v for k, v in self.server.accounts.items() if user and k.lower() == user.lower()), None)
        self.server.requests.append(self.path)
        if answer is None:
            self.send_error(404)
            return
        body = answer.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):      # quiet: the tests read `requests`
        pass


class KeysServer:
    """`accounts`: {user: the text its .keys answers} (change it at will); `requests`: the paths asked so far."""

    def __init__(self, folder, accounts=None):
        self.folder, self.accounts, self.requests = Path(folder), dict(accounts or {}), []
        self.folder.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key, ca_cert = certs.make_ca("keys-server", now)
        key, chain = certs.issue(ca_key, ca_cert, ["127.0.0.1", "localhost"], now)
        (self.folder / "ca.crt").write_bytes(ca_cert)
        (self.folder / "server.pem").write_bytes(key + chain)
        self.port, self.httpd, self.thread = 0, None, None

    @property
    def ca_file(self):
        return str(self.folder / "ca.crt")

    @property
    def base_url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self):
        """Serve (again, on the same port after a stop)."""
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), KeysHandler)
        self.httpd.accounts, self.httpd.requests = self.accounts, self.requests
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.folder / "server.pem")
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
