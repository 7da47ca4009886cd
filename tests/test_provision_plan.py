"""Provisioning's decisions, pure: desired state against facts as a server reports them (no SSH, no mocks)."""
import dataclasses
import re
import shlex
import subprocess

import pytest
from pymongo.uri_parser import parse_uri

from deploy.configs.render import render_slice
from deploy.core import layout
from deploy.core.commands import REMOTE
from deploy.core.errors import ProvisionError
from deploy.core.layout import TeamPaths
from deploy.inventory.model import Inventory, MongoSettings, Server, Team
from deploy.provision import database
from deploy.provision.artifacts import Artifacts
from deploy.provision.bundle import apply_script
from deploy.provision.facts import Facts, PathFact
from deploy.provision.plan import (REQUIRED_COMMANDS, SYSTEMD_RUNNING, boot_units, desired_files, facts_query,
                                   plan_server, tool_files, wanted_at_boot)
from deploy.provision.team import removal_commands, team_dirs
from deploy.provision.upgrade import version_file
from deploy.provision.run import provision_class

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHv4pJc1xKyD2u0x9mJ2Q8m3q4u2S3vY1xXo3N9gZp7B ada@laptop"
ARTIFACTS = Artifacts(wheels_dir="/nowhere", wheels_digest="w1", app_tar="/nowhere",
                      release_id="20260101T000000Z-abc1234", requirements_hash="0123456789ab")


def make_inventory(teams=("hacknode1", "hacknode2"), mode="secantus", processes=2, os_id=None):
    return Inventory(
        name="demo", domain="hacknode.test", mongodb=MongoSettings(mode=mode),
        servers=(Server(name="main", address="10.0.0.5", hostname="10.0.0.5"),),
        teams=tuple(Team(name=t, server="main", keys=(KEY,), processes=processes) for t in teams))


def bare_facts(os_id="debian", version="12"):
    """A fresh server: nothing of ours, no nginx, no supervisor."""
    return Facts(os_id=os_id, os_version=version, python="3.11", arch="x86_64",
                 commands={c: c in ("sshd", "sudo") for c in REQUIRED_COMMANDS},
                 running={"nginx": False, "supervisor": False, "secantus": False})


def root_file(mode="0644", text=None):
    return PathFact("root", "root", mode, text=text)


def provisioned_facts(inventory):
    """What a server reports once `inventory` is fully in place."""
    facts = bare_facts()
    facts.commands = {c: True for c in REQUIRED_COMMANDS}
    facts.python_venv = True
    for f in desired_files(inventory.view("main")) + tool_files() + [version_file()]:
        facts.files[f.path] = PathFact(f.owner, f.group, f.mode, text=f.content)
    facts.files[f"{layout.WHEELS}/.digest"] = root_file(text="w1\n")
    tools = " ".join(database.tools_packages(inventory.mongodb)) + " w1\n"
    facts.files[f"{layout.TOOLS_VENV}/.hacknode"] = root_file(text=tools)
    facts.paths[layout.MONGO_ADMIN_FILE] = root_file("0600")
    facts.paths[layout.LOG_ROOT] = root_file("0755")
    for team in inventory.teams:
        facts.users[team.name] = True
        facts.gecos[team.name] = layout.TEAM_GECOS
        for d in team_dirs(team.name):
            facts.paths[d.path] = PathFact(d.owner, d.group, d.mode)
        p = TeamPaths(team.name)
        facts.paths[p.current] = PathFact(team.name, team.name, "0777", link="releases/x")
        facts.paths[p.mongo_uri_file] = PathFact(team.name, team.name, "0400")
        facts.paths[f"{layout.TEAMS_DIR}/{team.name}"] = root_file()
    facts.present_teams = tuple(sorted(t.name for t in inventory.teams))
    for path in layout.JOB_DENY_FILES:      # each team refused by crontab and at
        facts.files[path] = root_file(text="".join(f"{t.name}\n" for t in inventory.teams))
    facts.running = {"nginx": True, "supervisor": True, "secantus": True}
    return facts


def plan(inventory, facts, prune=False):
    view = inventory.view("main")
    return plan_server(view, facts, desired_files(view), ARTIFACTS, prune)


def changed(steps):
    return [(s.scope, s.name) for s in steps if s.changed]


def services_step(steps):
    return next(s for s in steps if s.name == "services")


def test_a_fresh_server_gets_every_step_in_order():
    inventory = make_inventory()
    steps = plan(inventory, bare_facts())
    assert changed(steps) == [
        ("main", "packages"), ("main", "scheduled jobs"), ("main", "wheels"), ("main", "server tools"),
        ("main", "secantus"),
        ("hacknode1", "user"), ("hacknode1", "directories"), ("hacknode1", "database"), ("hacknode1", "first release"),
        ("hacknode2", "user"), ("hacknode2", "directories"), ("hacknode2", "database"), ("hacknode2", "first release"),
        ("main", "configs"), ("hacknode1", "configs"), ("hacknode2", "configs"), ("main", "services"),
        ("main", "version")]
    packages = steps[0].commands[-1]
    assert packages.split()[0] == "hn_apt_install" and packages.split()[-6:] == \
        ["curl", "git", "nginx", "python3-venv", "rsync", "supervisor"]


@pytest.mark.parametrize("mode", ["secantus", "mongod", "external"])
def test_the_log_folder_is_made_before_the_teams_folders_in_every_database_mode(mode):
    # mode external has no database step, which made it in mode secantus: a first run failed at every team's folders
    inventory = dataclasses.replace(make_inventory(), mongodb=MongoSettings(mode=mode, admin_uri_env="X" * (
        mode == "external"), hosts="db1:27017" * (mode == "external")))
    tools = next(s for s in plan(inventory, bare_facts()) if s.name == "server tools")
    assert tools.commands[0] == f"install -d -m 0755 {layout.LOG_ROOT}"
    facts = provisioned_facts(inventory)
    assert changed(plan(inventory, facts)) == []
    facts.paths[layout.LOG_ROOT] = None
    tools = next(s for s in plan(inventory, facts) if s.name == "server tools")
    assert tools.changed and tools.why == "log folder missing"


def boot_step(steps):
    return next(s for s in steps if s.name == "start at boot")


def test_where_systemd_runs_what_must_start_at_boot_is_enabled():
    inventory = make_inventory()
    facts = provisioned_facts(inventory)
    facts.paths[SYSTEMD_RUNNING] = root_file("0755")
    facts.paths[wanted_at_boot("supervisor")] = PathFact("root", "root", "0777", link="/lib/x")
    view = inventory.view("main")
    facts.slices = {team.name: render_slice(view, team) for team in view.teams}     # in place already
    steps = plan(inventory, facts)
    assert changed(steps) == [("main", "start at boot"), ("main", "services")]
    assert boot_step(steps).why == "not enabled: nginx"
    assert boot_step(steps).commands == ["hn_enable_at_boot nginx"]
    facts.paths[wanted_at_boot("nginx")] = PathFact("root", "root", "0777", link="/lib/y")
    assert changed(plan(inventory, facts)) == []


def test_mongod_starts_at_boot_in_its_mode_and_nothing_is_enabled_without_systemd():
    assert boot_units(MongoSettings(mode="mongod")) == ["supervisor", "nginx", "mongod"]
    inventory = make_inventory()
    step = boot_step(plan(inventory, bare_facts()))         # a container whose init is not systemd
    assert (step.changed, step.why) == (False, "no systemd here")


def test_a_provisioned_server_needs_nothing():
    inventory = make_inventory()
    assert changed(plan(inventory, provisioned_facts(inventory))) == []


def test_a_changed_team_setting_touches_only_that_teams_config():
    inventory = make_inventory()
    facts = provisioned_facts(inventory)
    more = dataclasses.replace(inventory, teams=(inventory.teams[0], dataclasses.replace(inventory.teams[1],
                                                                                      processes=4)))
    steps = plan(more, facts)
    assert changed(steps) == [("hacknode2", "configs"), ("main", "services")]
    configs = steps[[s.name for s in steps].index("configs") + 2]
    assert [f.path for f in configs.files] == [TeamPaths("hacknode2").uwsgi_ini]
    services = services_step(steps).commands
    assert "hn_uwsgi_reload hacknode2 /etc/hacknode/uwsgi/hacknode2.ini" in services                   # a graceful reload reads the ini again
    assert not any("hacknode1" in c for c in services if "reload" in c or "restart" in c)
    diff = "".join(s.diff for s in steps)
    assert "-processes = 2\n+processes = 4\n" in diff



def test_every_session_of_a_team_gets_umask_0027_from_its_account_through_pam_umask():
    inventory = make_inventory()
    fresh = plan(inventory, bare_facts())
    assert next(s for s in fresh if s.name == "user").commands[0] == \
        f"hn_add_user hacknode1 /home/hacknode1 '{layout.TEAM_GECOS}' {layout.TEAMS_DIR}"
    server_configs = next(s for s in fresh if s.scope == "main" and s.name == "configs")
    assert "pam-auth-update --package" in server_configs.commands          # after the profile is installed
    profile = next(f for f in server_configs.files if f.path == layout.PAM_UMASK_PROFILE).content
    assert "pam_umask.so nousergroups" in profile
    # pam-auth-update reads "Field: value" lines and indented continuations only: a comment line is read as the
    # continuation of no field, and its Perl warned about it three times in every report that changed the profile
    assert all(re.match(r"[A-Z][A-Za-z-]*:( |$)", line) or line.startswith("\t") for line in profile.splitlines()), profile
    facts = provisioned_facts(inventory)
    facts.gecos["hacknode2"] = "made before hacknode set umasks"
    steps = plan(inventory, facts)
    assert changed(steps) == [("hacknode2", "user"), ("main", "services")]
    assert next(s for s in steps if (s.scope, s.name) == ("hacknode2", "user")).commands == [
        f"hn_set_comment hacknode2 '{layout.TEAM_GECOS}'"]


def test_a_directory_with_the_wrong_mode_is_fixed_and_nothing_else():
    inventory = make_inventory(teams=("hacknode1",))
    facts = provisioned_facts(inventory)
    home = TeamPaths("hacknode1").home
    facts.paths[home] = dataclasses.replace(facts.paths[home], mode="0755")    # readable by other teams
    steps = plan(inventory, facts)
    assert changed(steps) == [("hacknode1", "directories"), ("main", "services")]
    fix = next(s for s in steps if s.name == "directories")
    assert fix.commands == ["hn_team_dirs '/home/hacknode1 hacknode1 www-data 0750'"]
    tmp = TeamPaths("hacknode1").tmp          # a link the team put in a folder's place: the folder is made again
    facts.paths[tmp] = dataclasses.replace(facts.paths[tmp], link="/etc")
    fix = next(s for s in plan(inventory, facts) if s.name == "directories")
    assert fix.commands == [f"hn_team_dirs '/home/hacknode1 hacknode1 www-data 0750' '{tmp} hacknode1 hacknode1 0700'"]


def test_a_team_gone_from_the_inventory_is_archived_before_it_is_removed():
    inventory = make_inventory(teams=("hacknode1", "hacknode2"))
    facts = provisioned_facts(inventory)
    fewer = dataclasses.replace(inventory, teams=inventory.teams[:1])
    kept = next(s for s in plan(fewer, facts) if s.scope == "hacknode2")     # a typo must not remove a team
    assert (kept.name, kept.changed, kept.commands) == ("not in inventory", False, [])
    steps = plan(fewer, facts, prune=True)
    removal = next(s for s in steps if s.scope == "hacknode2")
    assert removal.name == "remove (not in inventory)"
    # a team hacknode made: its program stopped and every process of its uid ended, then its archive, then the rest
    # (the order within each: tests/test_remove_team.py)
    record = "/etc/hacknode/teams/hacknode2"
    assert removal.commands[:2] == [f"hn_end_team hacknode2 {record}", "hn_archive hacknode2"]
    remove = shlex.split(removal.commands[2])
    assert remove[:4] == ["hn_remove_team", "hacknode2", record, layout.SLICE_DROPIN] and len(removal.commands) == 3
    assert "/etc/hacknode/uwsgi/hacknode2.ini" in remove[:remove.index("--")]
    assert remove[remove.index("--") + 1:] == ["/var/log/hacknode/hacknode2", "/home/hacknode2",
                                               f"{layout.TEAM_ENVS}/hacknode2"]
    assert not any(s.scope == "hacknode1" and s.changed for s in steps)


def test_debians_default_site_is_removed_because_it_claims_port_80():
    inventory = make_inventory()
    facts = provisioned_facts(inventory)
    facts.files["/etc/nginx/sites-enabled/default"] = root_file(text="server {}")
    steps = plan(inventory, facts)
    configs = next(s for s in steps if s.scope == "main" and s.name == "configs")
    assert configs.changed and configs.commands == ["hn_remove /etc/nginx/sites-enabled/default"]


def test_a_sudo_rule_an_older_provisioning_gave_a_team_is_removed_and_the_facts_report_it():
    """supervisorctl under the teams' old sudo rule read ./supervisord.conf from the caller's folder: root for any
    team. Provisioning removes such a rule for every team it made (kept teams too), nobody else's."""
    inventory = make_inventory()
    facts = provisioned_facts(inventory)
    assert f"{layout.OLD_SUDOERS_DIR}/hacknode-*" in facts_query(inventory.view("main"), [])["globs"]
    step = next(s for s in plan(inventory, facts) if s.name == "sudo rules")
    assert not step.changed and changed(plan(inventory, facts)) == []
    facts.present_teams += ("oldteam",)
    facts.globs[f"{layout.OLD_SUDOERS_DIR}/hacknode-*"] = [
        "/etc/sudoers.d/hacknode-admin", "/etc/sudoers.d/hacknode-hacknode2", "/etc/sudoers.d/hacknode-oldteam"]
    step = next(s for s in plan(inventory, facts) if s.name == "sudo rules")
    assert step.changed and step.scope == "main"
    assert step.commands == ["rm -f /etc/sudoers.d/hacknode-hacknode2 /etc/sudoers.d/hacknode-oldteam"]
    assert any("/etc/sudoers.d/hacknode-hacknode1" in c for c in removal_commands("hacknode1"))


def test_changed_configs_are_checked_before_services_use_them():
    inventory = make_inventory()
    steps = plan(inventory, bare_facts())
    services = services_step(steps).commands
    order = [next(i for i, c in enumerate(services) if needle in c)
             for needle in ("hn_nginx_check", "hn_supervisor_update", "hn_nginx_up reload")]
    assert order == sorted(order)
    assert not any("sudoers" in c or "visudo" in c for s in steps for c in s.commands)


@pytest.mark.parametrize("mode", ["secantus", "mongod", "external"])
def test_the_server_script_is_valid_bash(mode, tmp_path):
    inventory = make_inventory(mode=mode)
    if mode == "external":
        inventory = dataclasses.replace(inventory, mongodb=MongoSettings(mode="external", admin_uri_env="X",
                                                                         hosts="db1:27017,db2:27017"))
    script = tmp_path / "apply.sh"
    script.write_text(apply_script(plan(inventory, bare_facts()), inventory.mongodb))
    check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("os_id, version, suite", [("debian", "12", "debian bookworm/mongodb-org/8.0 main"),
                                                   ("ubuntu", "22.04", "ubuntu jammy/mongodb-org/8.0 multiverse"),
                                                   ("ubuntu", "24.04", "ubuntu noble/mongodb-org/8.0 multiverse")])
def test_mongod_mode_uses_mongodbs_own_repository_and_turns_authorization_on(os_id, version, suite):
    inventory = make_inventory(mode="mongod")
    steps = plan(inventory, bare_facts(os_id, version))
    commands = next(s for s in steps if s.name == "mongod").commands
    text = "\n".join(commands)
    # MongoDB's key in a keyring of its own that only its repository's line trusts; never apt-key (Debian 13 has none)
    keyring = "/usr/share/keyrings/mongodb-server-8.0.gpg"
    assert [shlex.split(line) for line in commands] == [
        ["hn_mongod_packages", "https://www.mongodb.org/static/pgp/server-8.0.asc", keyring,
         f"deb [ arch=amd64,arm64 signed-by={keyring} ] https://repo.mongodb.org/apt/{suite}",
         "/etc/apt/sources.list.d/mongodb-org-8.0.list"],
        ["hn_mongod_secured", "27017", layout.MONGO_ADMIN_FILE, "mongodb://admin:${HN_PW}@127.0.0.1:27017/admin"]]
    # the admin user exists before authorization is enabled, then mongod restarts with it
    library = (REMOTE / "database-lib.sh").read_text()
    packages, secured = (library.split(f"{name}() ")[1].split("\n}\n")[0]
                         for name in ("hn_mongod_packages", "hn_mongod_secured"))
    assert "apt-get install -y -qq mongodb-org" in packages and "gpg --dearmor --yes" in packages
    assert "apt-key" not in library
    assert secured.index("hn_mongo create-admin") < secured.index("authorization: enabled") < secured.index("mongod restart")


@pytest.mark.parametrize("os_id, version", [("fedora", "40"), ("debian", "13")])   # MongoDB 8.0: Debian 12 only
def test_mongod_mode_on_an_unsupported_system_says_what_to_do(os_id, version):
    with pytest.raises(database.MongoPlanError, match=f"mode 'mongod'.*{os_id} {version}.*'secantus' or 'external'"):
        plan(make_inventory(mode="mongod"), bare_facts(os_id, version))


def test_team_database_uri_is_written_for_the_team_alone_and_never_holds_a_literal_password():
    inventory = make_inventory(teams=("hacknode1",))
    steps = plan(inventory, bare_facts())
    database = next(s for s in steps if s.scope == "hacknode1" and s.name == "database").commands
    # the password is made on the server (deploy/remote/database-lib.sh, tests/test_database_lib.py): ${HN_PW} here
    assert [shlex.split(line) for line in database] == [
        ["hn_team_database", "hacknode1", "/home/hacknode1/.hacknode/mongo_uri",
         "mongodb://hacknode1:${HN_PW}@127.0.0.1:27017/hacknode1?journal=true"]]


def test_external_mode_needs_the_admin_uri_in_the_environment(monkeypatch):
    settings = MongoSettings(mode="external", admin_uri_env="CLASS_MONGO_ADMIN", hosts="db1:27017",
                             options="replicaSet=rs0")
    monkeypatch.delenv("CLASS_MONGO_ADMIN", raising=False)
    with pytest.raises(database.MongoPlanError, match="set the environment variable CLASS_MONGO_ADMIN"):
        database.admin_uri_input(settings)
    monkeypatch.setenv("CLASS_MONGO_ADMIN", "mongodb://admin:secret@db1:27017/admin")
    assert database.admin_uri_input(settings) == "mongodb://admin:secret@db1:27017/admin\n"
    assert database.team_uri_template(settings, "hacknode1") == \
        "mongodb://hacknode1:${HN_PW}@db1:27017/hacknode1?authSource=hacknode1&replicaSet=rs0&journal=true&w=majority"


def test_external_mode_without_its_admin_uri_stops_before_any_server_is_asked(monkeypatch):
    monkeypatch.delenv("CLASS_MONGO_ADMIN", raising=False)
    inventory = dataclasses.replace(make_inventory(), mongodb=MongoSettings(
        mode="external", admin_uri_env="CLASS_MONGO_ADMIN", hosts="db1:27017"), servers=(
        Server(name="main", address="192.0.2.99", hostname="192.0.2.99", ssh_port=9),))   # would refuse, or hang
    said = []
    with pytest.raises(database.MongoPlanError, match="set the environment variable CLASS_MONGO_ADMIN"):
        provision_class(inventory, say=said.append)
    assert said == []


def test_external_mode_asks_whether_its_hosts_answer_and_stops_naming_them_when_none_does():
    settings = MongoSettings(mode="external", admin_uri_env="X", hosts="db1:27018, db2,[::1]:27019")
    assert database.database_addresses(settings) == ["db1:27018", "db2:27017", "[::1]:27019"]
    assert database.database_addresses(MongoSettings(mode="secantus")) == []
    facts = bare_facts()
    facts.databases = {"db1:27018": "Connection refused", "db2:27017": "timed out", "[::1]:27019": "Connection refused"}
    assert database.unreachable_database(settings, facts, "main") == (
        "the database does not answer from main: db1:27018 (Connection refused), db2:27017 (timed out), "
        "[::1]:27019 (Connection refused); nothing was changed")
    facts.databases["db2:27017"] = ""          # one member answering is enough (a replica set elects another)
    assert database.unreachable_database(settings, facts, "main") == ""
    assert database.unreachable_database(MongoSettings(mode="secantus"), bare_facts(), "main") == ""
    inventory = dataclasses.replace(make_inventory(), mongodb=settings)
    assert facts_query(inventory.view("main"), [])["databases"] == ["db1:27018", "db2:27017", "[::1]:27019"]


def test_in_external_mode_provisioning_checks_the_database_caps_itself_and_reports_what_changed():
    external = MongoSettings(mode="external", admin_uri_env="X", hosts="db1:27017")
    assert database.caps_need_a_run_of_their_own(external, make_inventory().teams)
    assert not database.caps_need_a_run_of_their_own(external, ())
    assert not database.caps_need_a_run_of_their_own(MongoSettings(mode="secantus"), make_inventory().teams)
    assert database.cap_changes("hacknode1 read\nhacknode2 readWrite\nnoise\n") == [
        ("hacknode1", "read-only: over its database_mb"), ("hacknode2", "read-write again: back under its database_mb")]


@pytest.mark.parametrize("settings, uri", [
    (MongoSettings(mode="secantus"), "mongodb://team1:${HN_PW}@127.0.0.1:27017/team1?journal=true"),
    (MongoSettings(mode="mongod", port=27018), "mongodb://team1:${HN_PW}@127.0.0.1:27018/team1?journal=true"),
    (MongoSettings(mode="external", hosts="db1:27017", options="tls=true"),
     "mongodb://team1:${HN_PW}@db1:27017/team1?authSource=team1&tls=true&journal=true"),
    (MongoSettings(mode="external", hosts="db1:27017,db2:27017", options="replicaSet=rs0&w=2"),
     "mongodb://team1:${HN_PW}@db1:27017,db2:27017/team1?authSource=team1&replicaSet=rs0&w=2&journal=true"),
])
def test_every_team_uri_asks_for_journaled_writes(settings, uri):
    assert database.team_uri_template(settings, "team1") == uri
    options = parse_uri(uri.replace("${HN_PW}", "pw"))["options"]   # pymongo reads it as a durable write concern
    assert options["journal"] is True


def test_a_team_named_like_a_user_hacknode_did_not_make_is_refused():
    inventory = make_inventory(teams=("hacknode1", "alice"))
    facts = provisioned_facts(make_inventory(teams=("hacknode1",)))
    facts.users["alice"] = True             # an account of the server's own
    with pytest.raises(ProvisionError, match="team alice: the server already has a user alice"):
        plan(inventory, facts)


def test_a_team_named_like_a_group_hacknode_did_not_make_is_refused_naming_the_group():
    inventory = make_inventory(teams=("hacknode1", "ops"))
    facts = provisioned_facts(make_inventory(teams=("hacknode1",)))
    facts.groups["ops"] = {"gid": 1010, "members": ["ada", "bob"]}      # a group of the server's own, no user
    with pytest.raises(ProvisionError) as refused:
        plan(inventory, facts)
    assert str(refused.value) == ("team ops: the server already has a group ops (gid 1010, members ada bob) that "
                                  "hacknode did not make; rename the team in the inventory (it would join that group)")
    facts.groups["ops"] = {"gid": 6, "members": []}
    with pytest.raises(ProvisionError, match=r"group ops \(gid 6\) that hacknode did not make"):
        plan(inventory, facts)
    facts.groups["hacknode1"] = {"gid": 1001, "members": []}           # the team's own group: as made
    facts.groups.pop("ops")
    assert ("ops", "user") in changed(plan(inventory, facts))
