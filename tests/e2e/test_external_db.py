"""mongodb mode `external`: a class of two servers (east: alpha; west: beta, gamma) sharing one SecantusDB with
authentication on a third test host (lab/dbhost.py), reached through the lab's link between hosts. The instructor's
admin URI is in the environment (the inventory names only the variable) and never shows in what `fab` prints.

One provision of the class, then the checks a user would make: a database host that is down stops `fab provision`
with one line naming it and nothing made on either server; each team's database user reaches its own database
only; `fab backup`/`fab restore` (as the team); `database_mb` (read-only past it, checked by `fab provision`);
`fab remove_team` drops the team's user and database on the database host.
"""
import os
import secrets
import subprocess
from pathlib import Path

import pymongo
import pytest
from pymongo.errors import OperationFailure

from deploy.core.layout import TeamPaths
from deploy.provision.run import provision_class
from deploy.team import backup as team_backup
from lab import dbhost, testhost

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
FAB = str(REPO / ".venv" / "bin" / "fab")
ADMIN_ENV = "HACKNODE_E2E_MONGO_ADMIN_URI"
TEAMS = {"alpha": "east", "beta": "west", "gamma": "west"}
CAPPED = "beta"         # database_mb: 1


@pytest.fixture(scope="module")
def database(host_factory):
    """SecantusDB installed on its own host (not running yet); its admin URI in the environment for the module."""
    db = dbhost.install(host_factory("xdb"), secrets.token_urlsafe(24), str(REPO / ".cache"))
    os.environ[ADMIN_ENV] = db.admin_uri
    yield db
    os.environ.pop(ADMIN_ENV, None)


@pytest.fixture(scope="module")
def external_class(host_factory, database, make_class, tmp_path_factory):
    """The class (not provisioned yet): each server linked to the database host."""
    hosts = {"east": host_factory("xeast"), "west": host_factory("xwest")}
    for host in hosts.values():
        testhost.link_hosts(host, database.host)
    made = make_class(tmp_path_factory.mktemp("external"), hosts, TEAMS, team_lines={CAPPED: ["database_mb: 1"]},
                      mongodb=f"{{mode: external, admin_uri_env: {ADMIN_ENV}, hosts: '{database.address}'}}")
    made.admin_password = database.password     # what `fab` must never print
    return made


@pytest.fixture(scope="module")
def provisioned(external_class, database):
    dbhost.start(database)
    provision_class(external_class.inventory, external_class.root_key, say=print)   # its lines shown on a failure
    return external_class


def fab(cls, *args):
    """`fab` as the instructor runs it (the admin URI in its environment); the finished process."""
    done = subprocess.run([FAB, *args, "--inventory", cls.path, "--key", cls.root_key], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "HACKNODE_ADMIN_KEY": ""})
    assert cls.admin_password not in done.stdout + done.stderr
    return done


def team_uri(cls, team):
    """The team's database URI, read as the team from its own settings file (hacknode wrote it there)."""
    with cls.as_team(team) as c:
        text = c.run(f"cat {TeamPaths(team).mongo_uri_file}", hide=True).stdout
    return next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("FLASK_MONGO_URI="))


def client(uri):
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)


def refused(operation):
    """Whether the database refuses `operation` (a function of nothing): Unauthorized, or auth failed."""
    try:
        operation()
    except OperationFailure as error:
        return error.code in (13, 18)           # Unauthorized, AuthenticationFailed
    return False


def test_a_database_host_that_is_down_stops_provisioning_with_one_line_and_nothing_is_made(external_class, database):
    done = fab(external_class, "provision")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()
    assert len(last) == 1 and f"{database.address} (Connection refused)" in last[0], done.stderr
    assert "nothing was changed" in last[0] and "Traceback" not in done.stdout + done.stderr
    for server in ("east", "west"):
        with external_class.as_root(server) as c:
            assert c.run("getent passwd alpha beta gamma", hide=True, warn=True).stdout == ""
            assert c.run("ls -d /etc/hacknode /opt/hacknode /etc/supervisor/conf.d/*.conf "
                         "/etc/nginx/sites-enabled/hacknode*", hide=True, warn=True).stdout == ""


def test_each_team_reaches_its_own_database_only(provisioned, database):
    for team in TEAMS:
        assert provisioned.http(team, "/healthz")[0] == 200, team
    with client(team_uri(provisioned, "alpha")) as alpha:
        own = alpha.get_default_database()
        assert own.name == "alpha"
        own.notes.insert_one({"by": "alpha"})
        assert own.notes.count_documents({}) == 1
        assert refused(lambda: alpha["beta"].list_collection_names())             # another team's database
        assert refused(lambda: alpha["beta"].articles.insert_one({"by": "alpha"}))
        assert refused(lambda: alpha["alpha-scratch"].notes.insert_one({}))       # a name it chooses
        assert refused(lambda: alpha.admin.command("listDatabases"))
        assert refused(lambda: own.command("createUser", "alpha2", pwd="pw1234567",
                                           roles=[{"role": "readWrite", "db": "beta"}]))
    beta_uri = team_uri(provisioned, "beta")
    password = beta_uri.split(":")[2].split("@")[0]
    elsewhere = f"mongodb://beta:{password}@{database.address}/alpha?authSource=alpha"
    with client(elsewhere) as beta:                  # its credentials against the other team's user database
        assert refused(lambda: beta.alpha.list_collection_names())
    with client(database.admin_uri) as admin:      # a user per team, in its own database; nothing made elsewhere
        assert all(admin[team].command("usersInfo", team)["users"] for team in TEAMS)
        assert "alpha-scratch" not in admin.list_database_names()


def test_backup_and_restore_as_the_team(provisioned, tmp_path):
    with client(team_uri(provisioned, "alpha")) as alpha:
        notes = alpha.get_default_database().notes
        notes.insert_one({"kept": True})
        with provisioned.as_team("alpha") as c:
            saved = team_backup.backup_database(c, "alpha", tmp_path)
            notes.delete_many({"kept": True})
            notes.insert_one({"after": True})
            assert team_backup.restore_database(c, "alpha", saved, confirm=lambda question: True)
        assert notes.count_documents({"kept": True}) == 1 and notes.count_documents({"after": True}) == 0


def test_a_database_over_its_cap_is_read_only_after_provision_and_writable_once_back_under(provisioned, database):
    uri = team_uri(provisioned, CAPPED)
    with client(uri) as beta:
        beta.get_default_database().filler.insert_many([{"x": "x" * 100_000} for _ in range(20)])    # 2 MB
    lines, steps = provisioned.provision()           # nothing else to change: the caps are checked all the same
    assert [(s.scope, s.name, s.why) for s in steps["west"] if s.changed] == [
        (CAPPED, "database cap", "read-only: over its database_mb")], lines
    with client(uri) as beta:
        filler = beta.get_default_database().filler
        assert refused(lambda: filler.insert_one({"more": True}))
        filler.drop()                                 # it may still delete what it has
    lines, steps = provisioned.provision()
    assert [(s.scope, s.name) for s in steps["west"] if s.changed] == [(CAPPED, "database cap")], lines
    assert database.password not in "\n".join(lines)
    assert not any(s.changed for s in steps["east"])
    with client(uri) as beta:
        beta.get_default_database().filler.insert_one({"more": True})


def test_removing_a_team_drops_its_user_and_database_on_the_database_host(provisioned, database):
    uri = team_uri(provisioned, "gamma")
    with client(uri) as gamma:
        gamma.get_default_database().notes.insert_one({"by": "gamma"})
    done = fab(provisioned, "remove_team", "--team", "gamma")
    assert done.returncode == 0, done.stderr
    with client(database.admin_uri) as admin:
        assert "gamma" not in admin.list_database_names()
        assert admin.gamma.command("usersInfo", "gamma")["users"] == []
        assert "alpha" in admin.list_database_names() and admin.beta.command("usersInfo", "beta")["users"]
    with client(uri) as gamma:
        assert refused(lambda: gamma.get_default_database().list_collection_names())
    for team in ("alpha", "beta"):
        assert provisioned.http(team, "/healthz")[0] == 200, team
