"""A team bounded as a whole (deploy/provision/bounds.py): where systemd runs the server, the drop-in of its user slice
and its program started in that slice, each checked by the real tools (rlimits elsewhere); where the homes'
filesystem has user quotas on, its disk_mb as its hard block limit and its files as its hard inode limit; the
bounds of shared resources (disk, files, database, connections) checked like the other settings."""
import dataclasses
import subprocess

import pytest

from deploy.configs.render import render_server, render_slice
from deploy.core import layout
from deploy.core.commands import remote_file, remote_program
from deploy.core.layout import TeamPaths
from deploy.inventory import InventoryError, load_inventory
from deploy.provision.bounds import SYSTEMD_RUNNING, plan_quotas, plan_slices
from test_provision_plan import bare_facts, make_inventory, root_file
from test_render import nine_team_class, supervisor_parse
from inventories.keys import ed25519_key

APPLY_LIB = remote_program("apply-lib.sh")


def systemd_facts(inventory):
    facts = bare_facts()
    facts.paths[SYSTEMD_RUNNING] = root_file("0755")
    return facts


def test_without_systemd_rlimits_bound_each_team_and_no_slice_is_made():
    step = plan_slices(make_inventory().view("main"), bare_facts())
    assert (step.changed, step.why, step.commands) == (False, "no systemd here: rlimits bound each team", [])


def test_where_systemd_runs_each_teams_slice_gets_its_limits_then_one_daemon_reload():
    inventory = make_inventory()
    view = inventory.view("main")
    step = plan_slices(view, systemd_facts(inventory))
    assert step.changed and step.why == "hacknode1 hacknode2"
    assert step.commands == [f"hn_install_slice {t} \"$HN_STAGE/slices/{t}.conf\" {layout.SLICE_DROPIN}"
                             for t in ("hacknode1", "hacknode2")] + ["systemctl daemon-reload"]
    text = {u.name: u.text for u in step.uploads}["slices/hacknode1.conf"]
    assert "[Slice]\nMemoryMax=512M\nMemorySwapMax=0\nTasksMax=128\nCPUWeight=100\n" in text.replace(
        "# no swap: a leak is stopped at its limit, not pushed onto the disk that every team shares\n", "")


def test_a_slice_in_place_is_ok_and_one_teams_new_limit_changes_only_its_own():
    inventory = make_inventory()
    view = inventory.view("main")
    facts = systemd_facts(inventory)
    facts.slices = {t.name: render_slice(view, t) for t in view.teams}
    assert not plan_slices(view, facts).changed
    bigger = dataclasses.replace(view, teams=(dataclasses.replace(view.teams[0], memory_mb=768), view.teams[1]))
    step = plan_slices(bigger, facts)
    assert step.why == "hacknode1" and "MemoryMax=768M" in step.uploads[0].text and len(step.commands) == 2


def test_with_cgroups_supervisor_starts_each_program_in_its_slice_as_its_user(tmp_path):
    inventory = nine_team_class(tmp_path)
    files = render_server(inventory.view("main"), cgroups=True)
    programs = supervisor_parse(tmp_path, files, [t.name for t in inventory.teams] + ["hacknode-db"])
    paths = TeamPaths("hacknode2")
    # root's part (env, team-scope, systemd-run) in / with a fixed environment, never in the team's folder
    assert programs["hacknode2"]["command"] == (
        f"/usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME={paths.home} USER=hacknode2 "
        f"LOGNAME=hacknode2 TMPDIR={paths.tmp} MALLOC_ARENA_MAX=2 "
        f"{layout.TEAM_SCOPE} hacknode2 /usr/bin/prlimit --nofile=1024 -- {paths.venv}/bin/uwsgi --ini {paths.uwsgi_ini}")
    assert programs["hacknode2"]["uid"] is None           # team-scope becomes the team's user, after systemd-run
    assert programs["hacknode2"]["directory"] == "/" and not programs["hacknode2"]["environment"]
    assert programs["hacknode2"]["umask"] == 0o027
    sessions = files[paths.limits]        # the slice bounds SSH sessions too: only open files stay per process
    assert [line for line in sessions.splitlines() if not line.startswith("#")] == ["hacknode2 - nofile 1024"]


def test_team_scope_keeps_its_process_and_drops_to_the_team_with_the_teams_own_groups():
    last = remote_file("team-scope.sh").rstrip().splitlines()
    assert last[-2].startswith("exec /usr/bin/env -u PWD /usr/bin/systemd-run --scope") and '--slice="user-$uid.slice"' in last[-2]
    assert last[-1].strip() == '/usr/bin/setpriv --reuid="$team" --regid="$team" --init-groups -- "$@"'


def install_slice(tmp_path, text):
    """The apply script's hn_install_slice, run for real (root's uid, a destination under tmp_path)."""
    source = tmp_path / "slice.conf"
    source.write_text(text)
    dest = str(tmp_path / "etc" / "user-{uid}.slice.d" / "50-hacknode.conf")
    script = f'{APPLY_LIB}\nHN_STAGE=$(mktemp -d)\nhn_install_slice root "$1" "$2"\necho installed'
    return subprocess.run(["bash", "-c", script, "bash", str(source), dest], capture_output=True, text=True,
                          timeout=60), tmp_path / "etc" / "user-0.slice.d" / "50-hacknode.conf"


def test_a_slice_drop_in_is_checked_by_systemd_analyze_verify_before_it_goes_live(tmp_path):
    view = make_inventory().view("main")
    done, installed = install_slice(tmp_path, render_slice(view, view.teams[0]))
    assert done.returncode == 0 and done.stdout.strip() == "installed", done.stderr
    assert installed.read_text() == render_slice(view, view.teams[0])
    installed.unlink()
    done, installed = install_slice(tmp_path, "[Slice]\nMemoryMax=lots\nTaskMax=12\n")
    assert done.returncode == 3 and not installed.exists()
    assert "Invalid memory limit 'lots'" in done.stderr and "Unknown key 'TaskMax'" in done.stderr
    assert "systemd-analyze verify refused the slice limits of root" in done.stderr


def quota_facts(on, limits=None):
    facts = bare_facts()
    facts.quota = {"mount": "/srv", "on": on, "limits": limits or {}}
    return facts


def test_without_user_quotas_nothing_bounds_disk_and_the_step_says_so():
    step = plan_quotas(make_inventory().view("main"), quota_facts(False))
    assert (step.changed, step.why, step.commands) == (False, "unavailable: no user quotas on the filesystem of /home", [])


def test_where_quotas_are_on_each_team_gets_its_disk_mb_and_files_as_hard_block_and_inode_limits():
    view = make_inventory().view("main")
    step = plan_quotas(view, quota_facts(True, {"hacknode1": [0, 0]}))     # hacknode2: a new user, not listed yet
    assert step.changed and step.why == "hacknode1 hacknode2"
    assert step.commands[0] == "hn_must 'setquota refused hacknode1' setquota -u hacknode1 0 2097152 0 100000 /srv"
    in_place = quota_facts(True, {"hacknode1": [2097152, 100000], "hacknode2": [2097152, 100000]})
    assert not plan_quotas(view, in_place).changed
    smaller = dataclasses.replace(view, teams=(view.teams[0], dataclasses.replace(view.teams[1], disk_mb=100)))
    step = plan_quotas(smaller, in_place)
    assert step.why == "hacknode2" and step.commands == [
        "hn_must 'setquota refused hacknode2' setquota -u hacknode2 0 102400 0 100000 /srv"]


def test_a_block_limit_in_place_without_its_inode_limit_is_set_again():
    """A server provisioned before inode limits: its teams' block limits are right, their inode limits 0 (none)."""
    view = make_inventory().view("main")
    fewer = dataclasses.replace(view, teams=(dataclasses.replace(view.teams[0], files=5000), view.teams[1]))
    step = plan_quotas(fewer, quota_facts(True, {"hacknode1": [2097152, 0], "hacknode2": [2097152, 100000]}))
    assert step.why == "hacknode1" and step.commands == [
        "hn_must 'setquota refused hacknode1' setquota -u hacknode1 0 2097152 0 5000 /srv"]


@pytest.mark.parametrize("setting, bad, good, limits", [("disk_mb", 5, 4096, "10..1048576"),
                                                        ("files", 999, 250000, "1000..100000000"),
                                                        ("database_mb", 0, 64, "1..1048576"),
                                                        ("connections", 2, 16, "4..1024")])
def test_the_bounds_of_shared_resources_are_validated_like_the_other_limits(tmp_path, setting, bad, good, limits):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("class: {name: c, domain: c.test}\nservers:\n  - {name: s, address: 10.0.0.1}\n"
                         f"defaults: {{{setting}: {good + 1}}}\nteams:\n  - {{name: t1, server: s, keys: [KEY]}}\n"
                         f"  - {{name: t2, server: s, keys: [KEY], {setting}: {bad}}}\n".replace("KEY", ed25519_key()))
    with pytest.raises(InventoryError) as error:
        load_inventory(str(inventory))
    assert str(error.value).splitlines()[-1].endswith(
        f"inventory.yml:7: teams[1].{setting}: {bad} is out of range {limits}")
    inventory.write_text(inventory.read_text().replace(f"{setting}: {bad}}}", f"{setting}: {good}}}"))
    assert [getattr(t, setting) for t in load_inventory(str(inventory)).teams] == [good + 1, good]


def test_nginx_bounds_each_teams_connections_and_every_clients_timeouts():
    """Each team's requests at once counted under its own name (by path and by subdomain), its `connections`; every
    server block cuts slow clients and silent apps and keeps teams' answers off the shared disk (nginx -t passes
    them: tests/test_render.py)."""
    view = make_inventory().view("main")
    smaller = dataclasses.replace(view, teams=(dataclasses.replace(view.teams[0], connections=8), view.teams[1]),
                                  routing="path")     # the location by path is rendered only with path routing
    files = render_server(smaller)
    site, paths = files[layout.NGINX_SITE], TeamPaths("hacknode1")
    assert "limit_conn_zone $hn_team zone=hacknode_team_conn:1m;" in site and "limit_conn_status 503;" in site
    for block in (files[paths.nginx_conf], files[paths.nginx_location]):
        assert "set $hn_team hacknode1;" in block and "limit_conn hacknode_team_conn 8;" in block
    assert "limit_conn hacknode_team_conn 64;" in files[TeamPaths("hacknode2").nginx_conf]
    for block in (site, files[paths.nginx_conf]):
        for directive in ("client_header_timeout 10s;", "client_body_timeout 10s;", "send_timeout 10s;",
                          "uwsgi_read_timeout 35s;", "uwsgi_max_temp_file_size 0;"):
            assert directive in block
