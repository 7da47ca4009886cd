"""tls mode acme (pure planning): a certificate from the ACME CA for each name a server's sites answer to (its
hostname, each team's <team>.<domain>), got by certbot with the HTTP-01 challenge nginx answers from its webroot,
renewed unattended (certbot.timer, or a cron entry where systemd does not run), deleted when its team is gone.

Ordering, inside the one apply script: nginx loads each name's HTTPS server from layout.tls_pair("acme", name);
a name certbot has no certificate for yet gets a self-signed stand-in there first, so nginx -t passes and nginx
serves the challenge location on port 80 with the new config; certbot then gets the real certificate, the files
nginx loads become links to certbot's live ones, and nginx reloads. Renewals change certbot's live files in place
and the deploy hook reloads nginx.
"""
import ipaddress
import os
import random

from deploy.configs.render import render_template
from deploy.core import commands, layout
from deploy.core.steps import File, Step, file_changes, install_commands
from deploy.inventory.model import server_names, team_host
from deploy.tls.material import read_ca_bundle

REQUIRED_COMMANDS = {"certbot": "certbot", "openssl": "openssl"}   # command -> Debian package
RENEWAL_GLOB = f"{layout.CERTBOT_RENEWAL}/*.conf"
OURS_GLOB = f"{layout.ACME_CERTS}/*"


def is_address(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def wanted_names(view):
    """The names to get certificates for: an ACME CA issues none for an IP address (that site keeps a stand-in)."""
    return [name for name in server_names(view) if not is_address(name)]


def certbot_names(facts):
    """The certificates certbot has on the server (and so renews), by name."""
    return {os.path.basename(path)[:-len(".conf")] for path in facts.globs.get(RENEWAL_GLOB, ())}


def our_names(facts):
    """The names whose certificate files hacknode made (layout.ACME_CERTS): the only ones it ever deletes."""
    return {os.path.basename(path) for path in facts.globs.get(OURS_GLOB, ())}


def facts_query(view):
    """What planning acme mode asks the facts script for (merged into plan.facts_query)."""
    if view.tls.mode != "acme":     # certificates of an acme past are still looked for: they are deleted
        return {"globs": [OURS_GLOB, RENEWAL_GLOB], "paths": [], "files": []}
    return {"globs": [OURS_GLOB, RENEWAL_GLOB], "paths": [layout.CERTBOT_TIMER_ON] + [
        layout.tls_pair("acme", name).certificate for name in server_names(view)],
        "files": [layout.ACME_TOOL, layout.ACME_CA_BUNDLE, layout.CERTBOT_DROPIN, layout.CERTBOT_CRON]}


def acme_files(view, systemd):
    """The files acme mode keeps on the server: its tool, the CA bundle (if any), the renewal's timer or cron."""
    context = {"class_name": view.class_name, "acme_tool": layout.ACME_TOOL,
               "minute": random.Random(view.server.name).randrange(60)}   # not every class at the same minute
    files = [File(layout.ACME_TOOL, commands.acme_tool_text(), mode="0755")]
    if view.tls.ca_bundle:
        files.append(File(layout.ACME_CA_BUNDLE, read_ca_bundle(view.tls.ca_bundle)))
    if systemd:
        files.append(File(layout.CERTBOT_DROPIN, render_template("certbot-service.conf.j2", context)))
    else:
        files.append(File(layout.CERTBOT_CRON, render_template("certbot-cron.j2", context)))
    return files


def linked(facts, name):
    fact = facts.paths.get(layout.tls_pair("acme", name).certificate)
    return bool(fact) and fact.link == f"{layout.LETSENCRYPT_LIVE}/{name}/fullchain.pem"


def renewal_commands(changed, systemd, facts):
    commands_ = install_commands(changed)
    if systemd and any(f.path == layout.CERTBOT_DROPIN for f in changed):
        commands_.append("systemctl daemon-reload")
    if systemd and not facts.has(layout.CERTBOT_TIMER_ON):
        commands_.append(commands.helper("hn_enable_now", "certbot.timer",
                                         "systemctl enable certbot.timer failed: certificates would not be renewed"))
    return commands_


def issue_commands(view, names):
    """certbot for each name, once nginx (its config checked) serves the challenge location on port 80 from the
    webroot the tls step made (deploy/tls/plan.py)."""
    tls = view.tls
    lines = ["hn_nginx_check", "hn_nginx_up reload"]
    for name in names:
        why = (f"certbot could not get a certificate for {name} from {tls.directory} (see above, and "
               f"/var/log/letsencrypt/letsencrypt.log): does {name} resolve to this server?")
        lines.append(commands.helper("hn_must", why,
                                     *commands.certbot_certonly(name, tls.email, tls.directory, bool(tls.ca_bundle))))
    return lines


def plan_certificates(view, facts, systemd):
    """The step before the services: renewal in place, stand-ins for names without a certificate, certbot for
    names it has none of, nginx's files linked to certbot's. ok when every name has its linked certificate."""
    server = view.server.name
    if view.tls.mode != "acme":
        return []
    changed, diff = file_changes(acme_files(view, systemd), facts)
    have = certbot_names(facts)
    stand_ins = [n for n in server_names(view) if not facts.has(layout.tls_pair("acme", n).certificate)]
    wanted = wanted_names(view)
    missing = [n for n in wanted if n not in have]
    unlinked = [n for n in wanted if not linked(facts, n)]
    relinked = [n for n in unlinked if n not in missing]      # got before, only their links to make
    cmds = renewal_commands(changed, systemd, facts)
    if stand_ins:
        cmds.append(commands.acme_tool("stand-in", *stand_ins))
    if missing:
        cmds += issue_commands(view, missing)
    if unlinked:
        cmds += [commands.acme_tool("link", *unlinked), "hn_nginx_up reload"]
    why = [os.path.basename(f.path) for f in changed] + (["new: " + " ".join(missing)] if missing else []) + (
        ["link: " + " ".join(relinked)] if relinked else [])
    return [Step(server, "certificates", bool(cmds), ", ".join(why), cmds, changed, diff)]


def plan_old_certificates(view, facts, prune):
    """The last step: certificates hacknode got for names the server no longer serves (a removed team's, or all of
    them once the class leaves tls mode acme) are deleted from certbot, so no longer renewed. A team kept on the
    server (not in the inventory, no --prune) keeps its certificate: its nginx server still loads it."""
    acme_on = view.tls.mode == "acme"
    kept = set() if prune else set(facts.present_teams) - {t.name for t in view.teams}
    serving = (set(server_names(view)) if acme_on else set()) | {team_host(team, view.domain) for team in kept}
    old = sorted(our_names(facts) - serving)
    if not old:
        return [Step(view.server.name, "old certificates", False)] if acme_on else []
    cmds = [commands.certbot_delete(n) for n in sorted(set(old) & certbot_names(facts))]
    return [Step(view.server.name, "old certificates", True,
                 "delete: " + " ".join(old) + ("" if acme_on else f" (tls mode {view.tls.mode})"),
                 cmds + [commands.acme_tool("forget", *old)])]
