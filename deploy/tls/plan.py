"""The server's HTTPS step (pure): the class's certificate and key where nginx looks (layout.tls_pair), the ACME
challenge's webroot, and what the /healthz probe needs to go through HTTPS (its scheme, the CA it trusts).
The key is never read back from the server nor shown in a diff: it is sent again when the certificate changes,
or when the key is missing or not 0600 root."""
import os

from deploy.core import layout
from deploy.core.steps import File, Step, Upload, file_changes, install_commands

KEY_UPLOAD = "tls-class.key"        # in the bundle's private stage


def site_pair(view):
    """Where nginx finds the server's certificate and key (the server's own name's pair)."""
    return layout.tls_pair(view.tls.mode, view.server.hostname or view.server.address)


def tls_files(view, material):
    """The public files of the step: the probe's scheme, the CA it trusts, the certificate chain (none without TLS:
    the probe's default is plain HTTP)."""
    if not view.tls.on:
        return []
    files = [File(layout.HEALTHZ_CONF, "https\n")]
    if material.trust:
        files.append(File(layout.HEALTHZ_TRUST, material.trust))
    if material.certificate:
        files.append(File(site_pair(view).certificate, material.certificate))
    return files


def tls_fact_paths(view):
    """(files asked with their text, paths asked without) for this step's facts."""
    pair = site_pair(view)
    return ([layout.HEALTHZ_CONF, layout.HEALTHZ_TRUST, pair.certificate],
            [pair.key, layout.ACME_WEBROOT])


def plan_tls(view, facts, material):
    """The step bringing the server's HTTPS files to `material` (a deploy.tls.ServerTls)."""
    files = tls_files(view, material)
    changed, diff = file_changes(files, facts)
    why = [os.path.basename(f.path) for f in changed]
    commands, uploads = install_commands(changed), []
    if view.tls.on and not facts.has(layout.ACME_WEBROOT):
        why.append("ACME webroot")
        commands.append(f"install -d -o root -g root -m 0755 {layout.ACME_WEBROOT}")
    key = site_pair(view).key
    key_fact = facts.paths.get(key)
    certificate_changed = any(f.content == material.certificate for f in changed)
    if material.key and (certificate_changed or key_fact is None or key_fact.state() != ("root", "root", "0600")):
        why.append("key")
        commands.append(f"hn_install \"$HN_STAGE/{KEY_UPLOAD}\" {key} root root 0600")
        uploads.append(Upload(KEY_UPLOAD, text=material.key))
    for path in sorted({layout.HEALTHZ_CONF, layout.HEALTHZ_TRUST} - {f.path for f in files}):
        if facts.files.get(path) is not None:       # TLS turned off, or a CA no longer trusted
            why.append(f"remove {os.path.basename(path)}")
            commands.append(f"hn_remove {path}")
    return Step(view.server.name, "tls", bool(commands), ", ".join(why), commands, changed, diff, uploads)
