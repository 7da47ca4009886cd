"""Provisioning's decisions, pure, continued: the server script is valid bash, what each database mode (mongod,
external) asks and writes, the team's database URI, and teams named like users or groups hacknode did not make."""
import dataclasses
import shlex
import subprocess

import pytest
from pymongo.uri_parser import parse_uri

from deploy.core import layout
from deploy.core.commands import REMOTE
from deploy.core.errors import ProvisionError
from deploy.inventory.model import MongoSettings, Server
from deploy.provision import database
from deploy.provision.bundle import apply_script
from deploy.provision.plan import facts_query
from deploy.provision.run import provision_class
from tests.test_provision_plan import bare_facts, changed, make_inventory, plan, provisioned_facts


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
