"""HTTPS in the rendered nginx configs: every TLS mode passes nginx -t (with real certificate files where the
configs point), plain HTTP redirects but for the ACME challenge, TLS 1.0/1.1 are not offered, HSTS only when set."""
import socket
import subprocess
import time

import pytest

from deploy.configs.render import render_server
from deploy.core import layout
from deploy.core.layout import TeamPaths
from test_render import NGINX, nginx_check
from test_tls_material import write_class



def tls_class(tmp_path, tls_line):
    (tmp_path / "class.crt").write_text("")      # files mode reads these when provisioning, not here
    (tmp_path / "class.key").write_text("")
    return write_class(tmp_path, tls_line)


@pytest.mark.parametrize("tls_line", ["tls: {mode: class-ca}",
                                      "tls: {mode: files, certificate: class.crt, key: class.key}",
                                      "tls: {mode: acme, email: ada@example.org}",
                                      "tls: {mode: class-ca, hsts: 31536000}"])
def test_nginx_accepts_every_tls_config(tmp_path, tls_line):
    inventory = tls_class(tmp_path, tls_line)
    result = nginx_check(tmp_path, render_server(inventory.view("main")))
    assert result.returncode == 0, result.stderr
    dump = result.stdout
    assert dump.count("listen 443 ssl") == 3        # the server's block and one per team
    assert dump.count("listen 80 default_server;") == 1 and "listen 80;" not in dump
    assert dump.count("ssl_protocols TLSv1.2 TLSv1.3;") == 3 and "TLSv1.1" not in dump.replace("/etc/nginx", "")
    assert "return 301 https://$host$request_uri;" in dump
    assert f"location /.well-known/acme-challenge/ {{\n        root {layout.ACME_WEBROOT};" in dump
    assert ("Strict-Transport-Security" in dump) == ("hsts" in tls_line)
    if "acme" in tls_line:
        assert f"{tmp_path}/root{layout.ACME_CERTS}/hacknode2.class.example.org/privkey.pem;" in dump
        assert f"{tmp_path}/root{layout.ACME_CERTS}/main.example.org/fullchain.pem;" in dump
    else:
        assert dump.count(f"ssl_certificate_key {tmp_path}/root{layout.TLS_DIR}/class.key;") == 3


def test_nginx_refuses_a_tls_config_whose_certificate_is_missing(tmp_path):
    """The check above can fail: without the certificate files, nginx -t refuses the site."""
    inventory = tls_class(tmp_path, "tls: {mode: class-ca}")
    result = nginx_check(tmp_path, render_server(inventory.view("main")), certificates=False)
    assert result.returncode != 0 and "class.crt" in result.stderr


def test_without_tls_the_sites_are_plain_http(tmp_path):
    inventory = tls_class(tmp_path, "tls: {mode: off}")
    files = render_server(inventory.view("main"))
    text = files[layout.NGINX_SITE] + files[TeamPaths("hacknode1").nginx_conf]
    assert "ssl" not in text and "443" not in text and "acme-challenge" not in text
    assert "listen 80 default_server;" in text and "listen 80;" in text


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def protocols_accepted(tmp_path, files):
    """The TLS versions this machine's openssl client gets a handshake with, from the rendered site run by nginx on
    a loopback port (the client set to offer even the old versions: SECLEVEL=0)."""
    port = free_port()
    while (plain := free_port()) == port:       # two asks may get the same free port: one listen each
        pass
    files = {path: text.replace("listen 443 ssl", f"listen 127.0.0.1:{port} ssl").replace(
        "listen 80 default_server", f"listen 127.0.0.1:{plain} default_server") for path, text in files.items()}
    checked = nginx_check(tmp_path, files)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen([NGINX, "-c", str(tmp_path / "nginx.conf"), "-p", f"{tmp_path}/", "-g", "daemon off;"])
    try:
        for _ in range(50):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        accepted = []
        for version in ("-tls1", "-tls1_1", "-tls1_2", "-tls1_3"):
            done = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", version,
                                   "-cipher", "DEFAULT@SECLEVEL=0"], input="", capture_output=True, text=True,
                                  timeout=30)
            if done.returncode == 0 and "Cipher is (NONE)" not in done.stdout:
                accepted.append(version)
        return accepted
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_rendered_site_refuses_tls_1_0_and_1_1(tmp_path):
    files = render_server(tls_class(tmp_path, "tls: {mode: class-ca}").view("main"))
    assert protocols_accepted(tmp_path / "intermediate", files) == ["-tls1_2", "-tls1_3"]
    # the check can fail: the same site allowing every version and cipher gets all four handshakes
    lax = {path: text.replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;")
           .replace("ssl_ciphers ECDHE", "ssl_ciphers DEFAULT@SECLEVEL=0:ECDHE") for path, text in files.items()}
    assert protocols_accepted(tmp_path / "lax", lax) == ["-tls1", "-tls1_1", "-tls1_2", "-tls1_3"]
