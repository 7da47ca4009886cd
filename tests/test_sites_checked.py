"""Which teams' sites provisioning checks at its end (pure): a check wakes an idle team, so only the teams
something changed for, and all of them after a change of the server's own."""
import dataclasses
import functools
import time

from deploy.core.steps import Step
from deploy.provision.plan import sites_to_check
from tests.test_provision_plan import bare_facts, changed, make_inventory, plan, provisioned_facts
from tests.test_remote_reads import remote_module


def checked_sites(steps):
    """The teams whose sites the services step checks (hn_health TEAM HOST LOG ...)."""
    health = [c for c in steps[-1].commands if c.startswith("hn_health ")]
    return health[0].split()[1::3] if health else []


def test_a_new_team_has_its_site_checked_and_the_others_are_not_woken():
    inventory = make_inventory()
    more = dataclasses.replace(inventory, teams=inventory.teams + (
        dataclasses.replace(inventory.teams[0], name="hacknode3"),))
    steps = plan(more, provisioned_facts(inventory))
    assert checked_sites(steps) == ["hacknode3"]
    assert checked_sites(plan(inventory, bare_facts())) == ["hacknode1", "hacknode2"]     # a fresh server: all


def test_a_change_of_the_servers_own_config_checks_every_teams_site():
    inventory = make_inventory()
    facts = provisioned_facts(inventory)
    site = next(path for path in facts.files if path.startswith("/etc/nginx/sites-enabled/"))
    facts.files[site] = dataclasses.replace(facts.files[site], text="# edited by hand\n")
    steps = plan(inventory, facts)
    assert ("main", "configs") in changed(steps)
    assert checked_sites(steps) == ["hacknode1", "hacknode2"]
    facts = provisioned_facts(inventory)
    facts.running["nginx"] = False                    # started again: every site goes through it
    assert checked_sites(plan(inventory, facts)) == ["hacknode1", "hacknode2"]


def test_a_changed_team_setting_checks_only_that_teams_site():
    inventory = make_inventory()
    more = dataclasses.replace(inventory, teams=(inventory.teams[0], dataclasses.replace(inventory.teams[1],
                                                                                      processes=4)))
    assert checked_sites(plan(more, provisioned_facts(inventory))) == ["hacknode2"]


def test_new_slice_limits_check_every_teams_site():
    # daemon-reload applies them to the programs already running (a tasks limit too low: 500s)
    view = make_inventory().view("main")
    names = [t.name for t in sites_to_check(view, [Step("main", "team slices", True, "hacknode2")], [])]
    assert names == ["hacknode1", "hacknode2"]
    assert sites_to_check(view, [Step("main", "team slices", False)], []) == []


def test_each_site_gets_its_own_wait_however_many_wake_before_it():
    """Provisioning's probe (healthz --wait) wakes a class four teams at a time: each team has its own time to
    answer, so the teams asked last are not failed by the class's size (a hundred teams on two cores)."""
    healthz = remote_module("healthz")
    first_ask = {}

    def wakes_after_a_second(host):
        first_ask.setdefault(host, time.monotonic())
        return "200 r" if time.monotonic() - first_ask[host] >= 1.0 else "000 -"

    hosts = [f"team{n}.example.org" for n in range(12)]     # three rounds of four: 3 s in all, 2 s for each
    answers = healthz.probe_all(hosts, functools.partial(healthz.probe_until_healthy, seconds=2.0,
                                                          ask=wakes_after_a_second))
    assert answers == ["200 r"] * len(hosts)
