"""Every kind of mistake in an inventory is refused with file:line: field, before anything is rendered
(./inv render writes nothing)."""
import pytest
from invoke import Context, Exit

from inventories.text import problems_of, write
import tasks

# --- malformed inventories --------------------------------------------------------------
# Each: (id, inventory text, the expected problem "line: field: message" after the file name).
# KEY and ONE_SERVER: see tests/inventories/text.py.

BAD = [
    ("routing-unknown", """
        class: {name: c, domain: example.org, routing: paths}
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "1: class.routing: 'paths' is not one of subdomain, path"),
    ("routing-not-a-string", """
        class:
          name: c
          domain: example.org
          routing: [path]
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "4: class.routing: must be a non-empty string, not ['path']"),
    ("team-name-uppercase", """
        ONE_SERVER
        teams:
          - {name: team1, keys: ["KEY"]}
          - name: Hack_2
            keys: ["KEY"]
     """, "6: teams[1].name: 'Hack_2' must match ^[a-z][a-z0-9-]{0,30}$"),
    ("team-name-too-long", """
        ONE_SERVER
        teams:
          - {name: abcdefghijabcdefghijabcdefghijxyz, keys: ["KEY"]}
     """, "5: teams[0].name: 'abcdefghijabcdefghijabcdefghijxyz' must match ^[a-z][a-z0-9-]{0,30}$"),
    ("team-name-starts-with-digit", """
        ONE_SERVER
        teams:
          - {name: 2fast, keys: ["KEY"]}
     """, "5: teams[0].name: '2fast' must match"),
    ("team-name-ends-with-hyphen", """
        ONE_SERVER
        teams:
          - {name: team-, keys: ["KEY"]}
     """, "5: teams[0].name: 'team-' must not end with '-'"),
    ("team-name-is-a-number", """
        ONE_SERVER
        teams:
          - {name: 7, keys: ["KEY"]}
     """, "5: teams[0].name: must be a non-empty string, not 7"),
    ("team-name-system-account", """
        ONE_SERVER
        teams:
          - {name: www-data, keys: ["KEY"]}
     """, "5: teams[0].name: 'www-data' is a system user or group, or an admin account"),
    ("team-name-system-group", """
        ONE_SERVER
        teams:
          - {name: shadow, keys: ["KEY"]}
     """, "5: teams[0].name: 'shadow' is a system user or group, or an admin account"),
    ("team-name-is-the-admin-user", """
        class: {name: c, domain: example.org}
        servers:
          - {name: main, address: 192.0.2.10, admin_user: instructor}
        teams:
          - {name: instructor, keys: ["KEY"]}
     """, "5: teams[0].name: 'instructor' is a system user or group, or an admin account"),
    ("duplicate-team", """
        ONE_SERVER
        teams:
          - {name: team1, keys: ["KEY"]}
          - {name: team1, keys: ["KEY"]}
     """, "6: teams[1].name: duplicate team name 'team1' (first at line 5)"),
    ("duplicate-server", """
        ONE_SERVER
          - {name: main, address: 192.0.2.11}
        teams:
          - {name: team1, server: main, keys: ["KEY"]}
     """, "4: servers[1].name: duplicate server name 'main' (first at line 3)"),
    ("team-on-unknown-server", """
        ONE_SERVER
        teams:
          - {name: team1, server: mian, keys: ["KEY"]}
     """, "5: teams[0].server: unknown server 'mian' (servers: main)"),
    ("unknown-team-key-typo", """
        ONE_SERVER
        teams:
          - name: team1
            keys: ["KEY"]
            proceses: 4
     """, "7: teams[0].proceses: unknown key; did you mean 'processes'?"),
    ("unknown-top-level-key", """
        class: {name: c, domain: example.org}
        server:
          - {name: main, address: 192.0.2.10}
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "2: server: unknown key; did you mean 'servers'?"),
    ("malformed-key-base64", """
        ONE_SERVER
        teams:
          - name: team1
            keys:
              - "ssh-ed25519 AAAA#not-base64 ada@laptop"
     """, "7: teams[0].keys[0]: the key data is not valid base64"),
    ("malformed-key-type", """
        ONE_SERVER
        teams:
          - name: team1
            keys:
              - "ssh-ed25519-cert AAAAC3NzaC1lZDI1NTE5 ada@laptop"
     """, "7: teams[0].keys[0]: key file 'ssh-ed25519-cert AAAAC3NzaC1lZDI1NTE5 ada@laptop' not found"),
    ("key-file-missing", """
        ONE_SERVER
        teams:
          - name: team1
            keys: [keys/nobody.pub]
     """, "6: teams[0].keys[0]: key file 'keys/nobody.pub' not found"),
    ("no-keys", """
        ONE_SERVER
        teams:
          - name: team1
            keys: []
     """, "6: teams[0].keys: at least one SSH public key is needed"),
    ("bad-domain", """
        class: {name: c, domain: "class..example.org"}
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "1: class.domain: 'class..example.org' is not a domain name"),
    ("domain-is-an-ip", """
        class:
          name: c
          domain: 192.0.2.10
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "3: class.domain: '192.0.2.10' is an IP address"),
    ("domain-uppercase", """
        class: {name: c, domain: Example.ORG}
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "1: class.domain: 'Example.ORG' must be lowercase"),
    ("ssh-port-out-of-range", """
        class: {name: c, domain: example.org}
        servers:
          - name: main
            address: 192.0.2.10
            ssh_port: 70000
        ONE_TEAM
     """, "5: servers[0].ssh_port: 70000 is out of range 1..65535"),
    ("ssh-port-a-string", """
        class: {name: c, domain: example.org}
        servers:
          - {name: main, address: 192.0.2.10, ssh_port: "22"}
        ONE_TEAM
     """, "3: servers[0].ssh_port: must be a whole number, not '22'"),
    ("mongodb-port-out-of-range", """
        class: {name: c, domain: example.org}
        mongodb: {mode: mongod, port: 0}
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "2: mongodb.port: 0 is out of range 1..65535"),
    ("mongodb-unknown-mode", """
        class: {name: c, domain: example.org}
        mongodb:
          mode: mongo
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "3: mongodb.mode: 'mongo' is not one of mongod, secantus, external"),
    ("mongodb-external-without-uri-env", """
        class: {name: c, domain: example.org}
        mongodb:
          mode: external
          hosts: db.example.org:27017
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "3: mongodb: 'admin_uri_env' is required in mode external"),
    ("mongodb-uri-instead-of-env-name", """
        class: {name: c, domain: example.org}
        mongodb:
          mode: external
          admin_uri_env: "mongodb+srv://admin:secret@cluster0.example.net"
          hosts: db.example.org
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "4: mongodb.admin_uri_env: 'mongodb+srv://admin:secret@cluster0.example.net' is not an environment variable name"),
    ("mongodb-hosts-in-secantus-mode", """
        class: {name: c, domain: example.org}
        mongodb: {mode: secantus, hosts: "db.example.org"}
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "2: mongodb.hosts: only for mode external"),
    ("processes-out-of-range", """
        ONE_SERVER
        teams:
          - {name: team1, keys: ["KEY"], processes: 0}
     """, "5: teams[0].processes: 0 is out of range 1..32"),
    ("memory-out-of-range", """
        class: {name: c, domain: example.org}
        defaults: {memory_mb: 64}
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "2: defaults.memory_mb: 64 is out of range 128..65536"),
    ("cpu-weight-not-a-number", """
        ONE_SERVER
        teams:
          - {name: team1, keys: ["KEY"], cpu_weight: half}
     """, "5: teams[0].cpu_weight: must be a whole number, not 'half'"),
    ("tasks-too-few-for-uwsgi", """
        ONE_SERVER
        teams:
          - name: team1
            keys: ["KEY"]
            processes: 8
            threads: 8
     """, "7: teams[0].tasks: 128 tasks cannot run 8 processes x 8 threads; give at least 273"),
    ("idle-seconds-out-of-range", """
        class: {name: c, domain: example.org}
        defaults: {idle_seconds: 0}
        servers:
          - {name: main, address: 192.0.2.10}
        teams:
          - {name: team1, keys: ["KEY"], idle_seconds: 90000}
     """, "6: teams[0].idle_seconds: 90000 is out of range 0..86400"),
    ("bad-server-address", """
        class: {name: c, domain: example.org}
        servers:
          - {name: main, address: "server one"}
        ONE_TEAM
     """, "3: servers[0].address: 'server one' is neither an IP address nor a host name"),
    ("missing-class", """
        servers:
          - {name: main, address: 192.0.2.10}
        ONE_TEAM
     """, "1: 'class' is required"),
    ("teams-not-a-list", """
        ONE_SERVER
        teams:
          team1: {keys: ["KEY"]}
     """, "4: teams: must be a list"),
    ("yaml-duplicate-key", """
        ONE_SERVER
        teams:
          - name: team1
            name: team2
            keys: ["KEY"]
     """, "6: teams[0].name: given twice"),
    ("yaml-syntax-error", """
        class: {name: c, domain: example.org}
        servers:
          - {name: main, address: 192.0.2.10
        ONE_TEAM
     """, "4: YAML syntax error"),
    ("yaml-bad-indentation", """
        class: {name: c, domain: example.org}
        servers:
          - name: main
           address: 192.0.2.10
        ONE_TEAM
     """, "4: YAML syntax error"),
]


def test_there_are_at_least_twenty_malformed_inventories():
    assert len(BAD) >= 20 and len({case[0] for case in BAD}) == len(BAD)


@pytest.mark.parametrize("text,expected", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_malformed_inventory_is_refused_and_nothing_is_rendered(tmp_path, text, expected):
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert any(p.startswith(f"{path}:{expected.split(':', 1)[0]}:") and expected.split(":", 1)[1] in p
               for p in problems), problems
    out = tmp_path / "out"
    with pytest.raises(Exit) as caught:
        tasks.render(Context(), inventory=str(path), out=str(out))
    assert caught.value.code == 2 and expected.split(":", 1)[1].strip() in str(caught.value.message)
    assert not out.exists()
