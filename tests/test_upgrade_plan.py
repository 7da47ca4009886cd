"""An upgrade's plan (pure): the record of which hacknode provisioned a server, and how each team takes its changed
configs: a graceful reload of its uwsgi, or (its supervisor program changed) a restart said in the plan and run one
team at a time, its site checked before the next."""
import dataclasses

from deploy import __version__
from deploy.core import layout
from deploy.core.layout import TeamPaths
from tests.test_provision_plan import changed, make_inventory, plan, provisioned_facts, root_file, services_step


def edited(facts, path, edit):
    facts.files[path] = dataclasses.replace(facts.files[path], text=edit(facts.files[path].text))
    return facts


def version_step(steps):
    return next(s for s in steps if s.name == "version")


def test_the_version_that_provisioned_a_server_is_recorded_last_and_ok_once_there():
    inventory = make_inventory()
    facts = provisioned_facts(inventory)
    assert changed(plan(inventory, facts)) == []
    assert version_step(plan(inventory, facts)).why == __version__
    facts.files[layout.VERSION_FILE] = root_file(text="0.21.0\n")
    steps = plan(inventory, facts)
    assert changed(steps) == [("main", "version")]     # nothing else to do: no service touched
    assert version_step(steps).why == f"hacknode 0.21.0 -> {__version__}"
    assert version_step(steps).commands[0].startswith(f"hn_install \"$HN_STAGE/files{layout.VERSION_FILE}\"")
    del facts.files[layout.VERSION_FILE]
    assert version_step(plan(inventory, facts)).why == f"hacknode unrecorded (before 0.22.0) -> {__version__}"
    assert plan(inventory, facts)[-1].name == "version"


def test_a_changed_uwsgi_ini_is_a_graceful_reload_and_no_team_restarts():
    inventory = make_inventory()
    facts = edited(provisioned_facts(inventory), TeamPaths("hacknode2").uwsgi_ini, lambda t: t.replace("harakiri", "x"))
    services = services_step(plan(inventory, facts))
    assert services.why == "graceful reload (no request fails): hacknode2"
    assert "hn_uwsgi_reload hacknode2 /etc/hacknode/uwsgi/hacknode2.ini" in services.commands
    assert "hn_supervisor_update" in services.commands           # every changed program, none held back


def test_a_changed_supervisor_program_is_a_restart_said_in_the_plan_one_team_at_a_time_site_checked_between():
    inventory = make_inventory()
    facts = provisioned_facts(inventory)
    for team in ("hacknode1", "hacknode2"):
        edited(facts, TeamPaths(team).supervisor_conf, lambda t: t.replace("startsecs = 3", "startsecs = 2"))
    services = services_step(plan(inventory, facts))
    assert services.why.startswith("RESTART, team by team, each site checked before the next")
    assert services.why.endswith("hacknode1 hacknode2")
    commands = services.commands
    held = commands.index("hn_supervisor_update --except hacknode1 hacknode2")
    first = commands.index("hn_restart_team hacknode1 /etc/supervisor/conf.d/hacknode-hacknode1.conf "
                           "/home/hacknode1/run/uwsgi.sock /var/log/hacknode/hacknode1/uwsgi.log hacknode1.hacknode.test")
    assert held < commands.index("hn_nginx_up") < first         # nginx's files are unchanged: no reload
    assert commands[first + 1].startswith("hn_health hacknode1 hacknode1.hacknode.test ")
    assert commands[first + 2].startswith("hn_restart_team hacknode2 ")
    assert commands[first + 3].startswith("hn_health hacknode2 ")


def test_a_supervisor_config_changed_in_its_comments_only_restarts_nothing_and_its_ini_still_reloads():
    inventory = make_inventory()
    facts = provisioned_facts(inventory)
    p = TeamPaths("hacknode1")
    edited(facts, p.supervisor_conf, lambda t: t.replace("; new files closed to other teams", "; an older comment"))
    edited(facts, p.uwsgi_ini, lambda t: t.replace("harakiri", "x"))
    services = services_step(plan(inventory, facts))
    assert "RESTART" not in services.why and "hn_uwsgi_reload hacknode1 /etc/hacknode/uwsgi/hacknode1.ini" in \
        services.commands


def test_a_new_team_is_started_neither_reloaded_nor_restarted():
    inventory = make_inventory()
    more = dataclasses.replace(inventory, teams=inventory.teams + (
        dataclasses.replace(inventory.teams[0], name="hacknode3"),))
    services = services_step(plan(more, provisioned_facts(inventory)))
    assert services.why == "" and not any("hn_uwsgi_reload" in c or "--except" in c for c in services.commands)


def test_nginx_is_reloaded_only_when_its_own_files_or_the_certificate_changed():
    inventory = make_inventory()
    facts = edited(provisioned_facts(inventory), TeamPaths("hacknode2").uwsgi_ini, lambda t: t.replace("harakiri", "x"))
    assert "hn_nginx_up" in services_step(plan(inventory, facts)).commands     # started if down, not reloaded
    edited(facts, TeamPaths("hacknode2").nginx_conf, lambda t: t + "# edited\n")
    assert "hn_nginx_up reload" in services_step(plan(inventory, facts)).commands
