"""Provisioning's decisions, pure: desired state against facts as a server reports them (no SSH, no mocks)."""
import dataclasses
import re
import shlex

import pytest

from deploy.configs.render import render_slice
from deploy.core import layout
from deploy.core.layout import TeamPaths
from deploy.inventory.model import Inventory, MongoSettings, Server, Team
from deploy.provision import database
from deploy.provision.artifacts import Artifacts
from deploy.provision.facts import Facts, PathFact
from deploy.provision.plan import (REQUIRED_COMMANDS, SYSTEMD_RUNNING, boot_units, desired_files, facts_query,
                                   plan_server, wanted_at_boot)
from deploy.provision.team import removal_commands, team_dirs
from deploy.provision.tools import tool_files
from deploy.provision.upgrade import version_file

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

