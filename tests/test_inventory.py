"""The inventory loader: the shipped demo class loads, defaults and keys are read, several problems are reported at
once as file:line: field (the table of single mistakes is tests/test_inventory_refusals.py)."""
import base64
import os
import shutil
import struct
import subprocess

from deploy.inventory import NAME_RE, load_inventory, public_key_problem, team_name_problem
from deploy.inventory.model import MongoSettings
from inventories.keys import ecdsa_key, ed25519_key, ed25519_private_key, rsa_key, write_demo_keys
from inventories.text import KEY, problems_of, write

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- valid inventories ------------------------------------------------------------------

def test_shipped_demo_inventory_loads_with_its_key_files(tmp_path):
    shutil.copy(os.path.join(REPO, "inventory.yml"), tmp_path)
    write_demo_keys(tmp_path)
    inventory = load_inventory(str(tmp_path / "inventory.yml"))
    assert (inventory.name, inventory.domain) == ("demo", "hacknode.test")
    assert inventory.mongodb == MongoSettings(mode="secantus", port=27017)
    [server] = inventory.servers
    assert (server.name, server.address, server.ssh_port, server.admin_user) == ("local", "10.131.1.2", 22, "root")
    assert server.hostname == "10.131.1.2"        # links by path use the address when no hostname is given
    assert [t.name for t in inventory.teams] == ["hacknode1", "hacknode2", "hacknode3"]
    assert [(t.processes, t.threads) for t in inventory.teams] == [(2, 2), (2, 2), (1, 2)]
    key_file = (tmp_path / ".hacknode/keys/hacknode2.pub").read_text().strip()
    assert inventory.teams[1].keys == (key_file,)


def test_defaults_fill_everything_that_can_have_one(tmp_path):
    path = write(tmp_path, """
        class: {name: spring, domain: class.example.org}
        servers:
          - {name: main, address: class.example.org}
        teams:
          - {name: team-a, keys: ["KEY"]}
    """)
    inventory = load_inventory(str(path))
    assert inventory.mongodb.mode == "secantus" and inventory.mongodb.port == 27017
    assert inventory.servers[0].ssh_port == 22 and inventory.servers[0].admin_user == "root"
    team = inventory.teams[0]
    assert (team.server, team.processes, team.threads) == ("main", 2, 2)   # the only server
    assert team.keys == (KEY,)
    assert inventory.routing == "subdomain" and not inventory.shared_origin      # each team on its own origin
    assert inventory.view("main").routing == "subdomain"


def test_every_key_type_inline_or_in_files_with_several_keys(tmp_path):
    keys = [ed25519_key("a"), rsa_key(3072, "b"), ecdsa_key(comment="c with spaces")]
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/two.pub").write_text(f"# two members\n{keys[1]}\n\n{keys[2]}\n")
    path = write(tmp_path, f"""
        class: {{name: c, domain: example.org}}
        mongodb: {{mode: external, admin_uri_env: ATLAS_ADMIN_URI, hosts: "db1.example.org:27017,db2.example.org", options: "replicaSet=rs0&tls=true"}}
        defaults: {{processes: 3, threads: 4, idle_seconds: 0}}
        servers:
          - {{name: s1, address: 192.0.2.1, ssh_port: 2222, admin_user: instructor, hostname: s1.example.org}}
          - {{name: s2, address: "2001:db8::2"}}
        teams:
          - {{name: t1, server: s1, keys: ["{keys[0]}", keys/two.pub], processes: 1}}
          - {{name: t2, server: s2, keys: [keys/two.pub], threads: 8, idle_seconds: 30}}
    """)
    inventory = load_inventory(str(path))
    assert inventory.mongodb == MongoSettings(mode="external", port=27017, admin_uri_env="ATLAS_ADMIN_URI",
                                              hosts="db1.example.org:27017,db2.example.org",
                                              options="replicaSet=rs0&tls=true")
    assert inventory.teams[0].keys == tuple(keys)
    assert (inventory.teams[0].processes, inventory.teams[0].threads) == (1, 4)
    assert (inventory.teams[1].processes, inventory.teams[1].threads) == (3, 8)
    assert [t.idle_seconds for t in inventory.teams] == [0, 30]     # the default, and a team's own
    assert [t.name for t in inventory.teams_on("s2")] == ["t2"]
    assert inventory.server("s1").hostname == "s1.example.org"


def test_path_routing_is_a_class_choice(tmp_path):
    path = write(tmp_path, """
        class: {name: spring, domain: class.example.org, routing: path}
        servers:
          - {name: main, address: 192.0.2.10}
        teams:
          - {name: team-a, keys: ["KEY"]}
    """)
    inventory = load_inventory(str(path))
    assert inventory.routing == "path" and inventory.shared_origin and inventory.view("main").routing == "path"


def test_limits_from_defaults_and_per_team_overrides(tmp_path):
    path = write(tmp_path, """
        class: {name: c, domain: example.org}
        defaults: {memory_mb: 256, tasks: 64, cpu_weight: 50}
        servers:
          - {name: main, address: 192.0.2.10}
        teams:
          - {name: t1, keys: ["KEY"]}
          - {name: t2, keys: ["KEY"], memory_mb: 1024, open_files: 4096, disk_warn_mb: 200}
    """)
    t1, t2 = load_inventory(str(path)).teams
    assert (t1.memory_mb, t1.tasks, t1.open_files, t1.cpu_weight, t1.disk_warn_mb) == (256, 64, 1024, 50, 1024)
    assert (t2.memory_mb, t2.tasks, t2.open_files, t2.cpu_weight, t2.disk_warn_mb) == (1024, 64, 4096, 50, 200)


def test_nine_team_class_as_in_the_shipped_comment(tmp_path):
    """The commented real class at the end of inventory.yml is valid once uncommented (keys given)."""
    text = open(os.path.join(REPO, "inventory.yml")).read()
    example = text[text.index("# A real class"):]
    yaml_text = "\n".join(line[2:] for line in example.splitlines() if line.startswith("# ") and ":" in line
                          and not line.startswith("# A real"))
    (tmp_path / "keys").mkdir()
    for name in ("ada", "grace", "alan", "barbara", "edsger", "donald", "frances", "john", "margaret", "ken"):
        (tmp_path / f"keys/{name}.pub").write_text(ed25519_key(name) + "\n")
    yaml_text = yaml_text.replace('"ssh-ed25519 AAAAC3Nza... linus@laptop"', f'"{ed25519_key("linus")}"')
    path = tmp_path / "class.yml"
    path.write_text(yaml_text + "\n")
    inventory = load_inventory(str(path))
    assert [t.name for t in inventory.teams] == [f"hacknode{n}" for n in range(1, 10)]
    assert inventory.mongodb.mode == "mongod"
    assert {t.server for t in inventory.teams} == {"main"}
    assert len(inventory.teams[0].keys) == 2 and inventory.teams[8].processes == 4


# --- SSH public keys --------------------------------------------------------------------

def test_public_keys_are_checked_down_to_their_encoded_type():
    assert public_key_problem(ed25519_key()) == ""
    assert public_key_problem(rsa_key()) == ""
    assert public_key_problem(ecdsa_key()) == ""
    key_type, data, comment = ed25519_key().split(" ", 2)
    assert "not valid base64" in public_key_problem(f"{key_type} {data[:-3]}!! x")
    assert "cut short or damaged" in public_key_problem(f"{key_type} {data[:40]} x")
    type_only = base64.b64encode(struct.pack(">I", 11) + b"ssh-ed25519").decode()
    assert "not a complete ssh-ed25519 key" in public_key_problem(f"ssh-ed25519 {type_only} x")
    assert "not a ssh-rsa key" in public_key_problem(f"ssh-rsa {data} x")       # ed25519 blob, rsa label
    assert "unknown key type 'ssh-dss'" in public_key_problem(f"ssh-dss {data}")
    assert "expected 'TYPE BASE64" in public_key_problem("ssh-ed25519")
    assert "shorter than 2048 bits" in public_key_problem(rsa_key(1024))
    assert "private key" in public_key_problem(ed25519_private_key().splitlines()[0])


# --- the team-name rule -----------------------------------------------------------------

def test_team_name_rule_says_the_rule_and_refuses_system_accounts():
    assert team_name_problem("team-a") == "" and team_name_problem("a" * 31) == ""
    assert team_name_problem("a" * 32) == f"{'a' * 32!r} must match ^[a-z][a-z0-9-]{{0,30}}$"
    assert team_name_problem("Team_2") == "'Team_2' must match ^[a-z][a-z0-9-]{0,30}$"
    assert team_name_problem("team-") == "'team-' must not end with '-' (it is a DNS label)"
    for account in ("root", "www-data", "mongodb", "hacknode-secantus"):
        assert team_name_problem(account) == \
            f"{account!r} is a system user or group, or an admin account; choose another team name"
    assert team_name_problem("instructor") == ""        # taken only where a server's admin user has it
    assert "admin account" in team_name_problem("instructor", taken={"instructor"})



def test_debian_and_ubuntu_system_groups_are_no_team_names():
    # a team named after a group joined it (disk: raw disks, shadow: /etc/shadow); removal then deleted the group
    master = "/usr/share/base-passwd/group.master"      # base-passwd's static groups, where this machine has it
    static = [line.split(":")[0] for line in open(master)] if os.path.exists(master) else []
    for group in static + ["disk", "shadow", "kmem", "docker", "ssl-cert", "crontab", "systemd-journal", "kvm",
                           "render", "input", "sgx", "netdev", "lxd", "lpadmin", "sambashare", "messagebus"]:
        if NAME_RE.match(group):
            assert "system user or group" in team_name_problem(group), group
    assert team_name_problem("hn-grp") == ""     # a server's own groups: refused by provisioning (its facts)

def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, """
        class: {name: c, domain: example..org}
        servers:
          - {name: main, address: 192.0.2.10, ssh_port: 0}
        teams:
          - {name: Team1, keys: ["KEY"]}
          - {name: team2, server: other, keys: [missing.pub]}
          - {name: team3, keys: ["KEY"], threds: 2}
    """)
    problems = problems_of(path)
    assert [p.split(": ", 2)[:2] for p in problems] == [
        [f"{path}:1", "class.domain"],
        [f"{path}:3", "servers[0].ssh_port"],
        [f"{path}:5", "teams[0].name"],
        [f"{path}:6", "teams[1].server"],
        [f"{path}:6", "teams[1].keys[0]"],
        [f"{path}:7", "teams[2].threds"],
    ]


def test_private_key_file_is_refused_without_echoing_it(tmp_path):
    (tmp_path / "id_ed25519").write_text(ed25519_private_key())
    path = write(tmp_path, """
        ONE_SERVER
        teams:
          - {name: team1, keys: [id_ed25519]}
    """)
    [problem] = problems_of(path)
    assert problem == (f"{path}:5: teams[0].keys[0]: key file 'id_ed25519' holds a private key: "
                       "give the .pub file, and never share the private one")


def test_missing_and_empty_files(tmp_path):
    assert problems_of(tmp_path / "nope.yml") == [f"{tmp_path}/nope.yml: no such file"]
    empty = tmp_path / "empty.yml"
    empty.write_text("# nothing yet\n")
    assert "the file is empty" in problems_of(empty)[0]
    scalar = tmp_path / "scalar.yml"
    scalar.write_text("just words\n")
    assert problems_of(scalar) == [
        f"{scalar}:1: must be a mapping with keys class, mongodb, tls, backups, forges, defaults, servers, teams"]


def run_inv(*args):
    return subprocess.run([os.path.join(REPO, "inv"), *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_inv_render_refuses_a_bad_inventory_with_one_message_and_no_traceback(tmp_path):
    path = write(tmp_path, """
        ONE_SERVER
        teams:
          - {name: team1, keys: ["KEY"]}
          - {name: Team_2, keys: ["KEY"]}
    """)
    out = tmp_path / "out"
    result = run_inv("render", "--inventory", str(path), "--out", str(out))
    assert result.returncode == 2
    assert f"{path}:6: teams[1].name: 'Team_2' must match ^[a-z][a-z0-9-]{{0,30}}$" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()
    broken = tmp_path / "broken.yml"
    broken.write_text("class: {name: c\nteams: [\n")
    result = run_inv("render", "--inventory", str(broken), "--out", str(out))
    assert result.returncode == 2 and f"{broken}:2: YAML syntax error" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
