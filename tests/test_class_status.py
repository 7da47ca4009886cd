"""`fab status` and the class page from the same parsed figures (pure): the collector's lines parsed once
(deploy/remote/class_status), joined with the inventory into one report (deploy/status_report) printed as JSON or
as a table, and rendered as the server's class page (deploy/remote/class_page)."""
import dataclasses
import json
import os
import re
import stat

import pytest
from inventories.keys import ed25519_key

from deploy.admin import usage
from deploy.admin.status import as_json, as_table, class_report
from deploy.configs.render import template_text
from deploy.core.fanout import ServerResult
from deploy.inventory import InventoryError, load_inventory
from deploy.remote.class_page import cap_access_logs, page_context, parse_options, render_page, write_page
from deploy.remote.class_status import age_text, parse, release_time

NOW = release_time("20261202T030000Z")
# what the collector prints on a server (class_collect.py): a line per team, its quotas, its time and (TLS on) its certificates' expiry
SERVER_LINES = "\n".join([
    "\t".join(["hacknode1", "RUNNING", "2:00:00", "20261202T010000Z-6b7f8cd", "200", "102400", "19", "204800", "8192",
               "slice", "42", "20261202T020000Z-aaaaaaa"]),
    "\t".join(["hacknode2", "RUNNING", "0:05:00", "20261202T025500Z-<b>", "idle", "5120", "3", "-", "-", "rlimits",
               "0", "20261202T025500Z-<b>"]),
    "\t".join(["stray", "FATAL", "-", "-", "000", "0", "0", "40", "-", "rlimits", "0", "-"]),
    "quota\tunavailable (no user quotas on the filesystem of /home)",
    f"now\t{NOW}",
    "version\t0.22.0",
    "tls\tmain.example.org\tJan  6 12:00:00 2028 GMT",
    # the nightly backups' last rounds (deploy/remote/class_backups): one proven, one whose restore failed
    f"backup\thacknode1\t{NOW - 3600}\t1234567\thacknode1-20261202T020000Z-6b7f8cd.tar.gz\tverified",
    f"backup\thacknode2\t{NOW - 3600}\t900\thacknode2-20261202T020000Z-x.tar.gz\tFAILED: collection <b>: 3 documents "
    "restored, the dump has 4",
    # each team's workers and last cron run (deploy/remote/class_procs)
    f"procs\thacknode1\t2\ton\tcron-report\t{NOW - 180}\tok\t0",
    f"procs\thacknode2\t0\ton\tcron\t{NOW - 720}\tfailed\t2",
    "procs\tstray\t0\toff\t-\t-\t-\t-",
]) + "\n"


@pytest.fixture
def inventory(tmp_path):
    key = ed25519_key()
    path = tmp_path / "class.yml"
    path.write_text("class: {name: spring, domain: class.example.org, page_seconds: 30}\nmongodb: {mode: secantus}\n"
                    "servers:\n  - {name: main, address: 192.0.2.10, hostname: main.example.org}\n"
                    "  - {name: spare, address: 192.0.2.11}\nteams:\n"
                    + "".join(f"  - {{name: {t}, server: {s}, keys: [\"{key}\"], disk_warn_mb: 150}}\n"
                              for t, s in (("hacknode1", "main"), ("hacknode2", "main"), ("hacknode3", "main"),
                                           ("hacknode4", "spare"))))
    return load_inventory(str(path))


def results(inventory):
    main, spare = inventory.servers
    return [ServerResult(main, parse(SERVER_LINES)), ServerResult(spare, None, "cannot reach spare over SSH")]


def test_status_lines_become_typed_figures_with_ages():
    parsed = parse(SERVER_LINES + "a line of some other tool\n")
    assert parsed["now"] == NOW and parsed["quota"].startswith("unavailable")
    assert [row["team"] for row in parsed["teams"]] == ["hacknode1", "hacknode2", "stray"]
    assert parsed["certificates"] == [{"name": "main.example.org", "expires": "Jan  6 12:00:00 2028 GMT"}]
    assert parsed["version"] == "0.22.0"
    assert parse(SERVER_LINES.replace("version\t0.22.0", "version\t-"))["version"] is None     # provisioned before it
    assert age_text(None) == "-" and [age_text(s) for s in (42, 720, 11100, 187200)] == ["42s", "12m", "3h05m", "2d04h"]


def test_the_json_report_has_every_figure_per_team_and_per_server(inventory):
    report = json.loads(as_json(class_report(inventory, results(inventory))))
    teams = {t["name"]: t for t in report["teams"]}
    one = teams["hacknode1"]
    assert one == {
        "name": "hacknode1", "server": "main", "in_inventory": True, "state": "RUNNING", "uptime": "2:00:00",
        "healthz": 200, "release": "20261202T010000Z-6b7f8cd", "release_age_seconds": 7200,
        "last_deploy": "2026-12-02T02:00:00Z", "last_deploy_age_seconds": 3600, "requests_5min": 42,
        "memory_mb": 100, "memory_limit_mb": 512, "tasks": 19, "tasks_limit": 128,
        "disk_mb": 208, "disk_home_mb": 200, "disk_database_mb": 8, "disk_warn_mb": 150, "bound_by": "slice",
        "database_kib": 8192, "database_limit_mb": 256,
        "backup_made": "2026-12-02T02:00:00Z", "backup_age_seconds": 3600, "backup_bytes": 1234567,
        "backup_file": "hacknode1-20261202T020000Z-6b7f8cd.tar.gz", "backup_verified": True, "backup_problem": None,
        "workers": 2, "cron_runner": True, "last_cron_job": "cron-report", "last_cron_start": "2026-12-02T02:57:00Z",
        "last_cron_age_seconds": 180, "last_cron_status": "ok", "last_cron_exit": 0,
        "urls": {"subdomain": "http://hacknode1.class.example.org/"}}     # its own origin only, by default
    assert (teams["hacknode2"]["last_cron_status"], teams["hacknode2"]["last_cron_exit"]) == ("failed", 2)
    assert teams["stray"]["last_cron_job"] is None and teams["hacknode3"]["workers"] is None
    assert (teams["hacknode2"]["backup_verified"], teams["hacknode2"]["backup_problem"]) == (
        False, "collection <b>: 3 documents restored, the dump has 4")
    assert teams["stray"]["backup_verified"] is None and teams["hacknode3"]["backup_made"] is None
    assert teams["hacknode2"]["healthz"] is None and teams["hacknode2"]["disk_mb"] is None
    assert teams["stray"]["in_inventory"] is False and teams["stray"]["memory_limit_mb"] is None
    assert teams["hacknode3"]["state"] == "NOT PROVISIONED" and teams["hacknode3"]["release"] is None
    assert "hacknode4" not in teams          # its server could not be asked: nothing is known of it
    assert report["servers"] == [
        {"name": "main", "address": "192.0.2.10", "reachable": True, "error": None, "time": "2026-12-02T03:00:00Z",
         "disk_quotas": "unavailable (no user quotas on the filesystem of /home)",
         "certificates": [{"name": "main.example.org", "expires": "Jan  6 12:00:00 2028 GMT"}],
         "hacknode_version": "0.22.0"},
        {"name": "spare", "address": "192.0.2.11", "reachable": False, "error": "cannot reach spare over SSH",
         "time": None, "disk_quotas": None, "certificates": [], "hacknode_version": None}]
    assert report["class"] == "spring" and report["routing"] == "subdomain" and report["warnings"] == [
        "warning: hacknode1 uses 208 MB of disk (home 200 MB, database 8 MB), above its disk_warn_mb 150"]


def test_the_table_shows_the_same_report(inventory):
    table = as_table(inventory, class_report(inventory, results(inventory)))
    rows = {line.split()[0]: line.split() for line in table.splitlines()}
    assert rows["TEAM"][:13] == ["TEAM", "SERVER", "STATE", "HEALTHZ", "RELEASE", "UPTIME", "MEM", "TASKS", "DISK",
                                 "BOUND", "BY", "DB", "REQ/5M"]
    assert rows["hacknode1"][:18] == ["hacknode1", "main", "RUNNING", "200", "20261202T010000Z-6b7f8cd", "2:00:00",
                                      "100M/512M", "19/128", "208M/150M!", "slice", "8M/256M", "42", "2h00m", "1h00m",
                                      "verified", "1h00m", "ago,", "1.2MB"]
    assert "FAILED 1h00m ago" in " ".join(rows["hacknode2"])
    header, lines = table.splitlines()[0], {line.split()[0]: line for line in table.splitlines()}
    procs = {team: lines[team][header.index("WORKERS"):header.index("URL")].strip().split(None, 1)
             for team in lines}
    assert procs["hacknode1"] == ["2", "cron-report ok 3m ago"]
    assert procs["hacknode2"] == ["0", "cron failed (exit 2) 12m ago"] and procs["hacknode3"] == ["-", "-"]
    assert ("main: hacknode2: nightly backup hacknode2-20261202T020000Z-x.tar.gz FAILED: collection <b>: 3 documents "
            "restored, the dump has 4") in table
    assert rows["hacknode2"][9] == "rlimits"
    assert rows["hacknode2"][3] == "-" and rows["stray"][3:7] == ["000", "-", "-", "-"]
    assert rows["hacknode3"][1:4] == ["main", "NOT", "PROVISIONED"]
    assert "main: disk quotas: unavailable (no user quotas on the filesystem of /home)" in table
    assert "main: provisioned by hacknode 0.22.0" in table and "spare: provisioned" not in table
    assert "main: HTTPS certificate of main.example.org expires Jan  6 12:00:00 2028 GMT" in table
    assert table.endswith("above its disk_warn_mb 150")


def class_page(*options):
    options = parse_options(["--class", "spring", "--server", "main", "--hostname", "main.example.org",
                             "--domain", "class.example.org", *options,
                             "--template", "unused", "--out", "unused", "--every", "30"])
    return render_page(template_text("class-page.html.j2"), page_context(parse(SERVER_LINES), options))


def test_the_class_page_lists_every_team_readable_on_a_phone_with_nothing_from_elsewhere():
    page = class_page()
    assert page.startswith("<!-- managed by hacknode (class spring)") and "<!DOCTYPE html>" in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '<meta http-equiv="refresh" content="30">' in page
    assert 'datetime="2026-12-02T03:00:00Z"' in page
    assert page.count('<tr class="team">') == 3 and 'href="http://hacknode2.class.example.org/"' in page
    assert re.findall(r"<td[^>]*>(\d+) MB</td>", page) == ["100", "208", "5", "0", "0"]
    one = page[page.index('href="http://hacknode1.'):page.index('href="http://hacknode2.')]
    assert all(cell in one for cell in (">RUNNING<", ">200<", ">2h00m<", ">1h00m ago<", ">42<"))
    assert '<td class="idle">idle</td>' in page and '<td class="bad">000</td>' in page
    assert "&lt;b&gt;" in page and "<b>" not in page            # a release name is text, never markup
    assert "<td>verified 1h00m ago, 1.2MB</td>" in page
    assert '<td class="n">2</td>\n<td title="2026-12-02T02:57:00Z">cron-report ok 3m ago</td>' in page
    assert '<td class="bad" title="2026-12-02T02:48:00Z">cron failed (exit 2) 12m ago</td>' in page
    assert '<td class="bad">FAILED 1h00m ago: collection &lt;b&gt;: 3 documents restored, the dump has 4</td>' in page
    # no CDN, no script, no stylesheet or image from anywhere: the only URLs are the teams' own links
    assert not re.search(r"<(script|link|img|iframe)\b|src=|@import|url\(", page)
    # each team on its own origin (routing: subdomain, the default): no team under the class page's origin
    assert set(re.findall(r'href="([^"]+)"', page)) == {
        "http://hacknode1.class.example.org/", "http://hacknode2.class.example.org/", "http://stray.class.example.org/"}
    assert "share one origin" not in page


def test_with_tls_on_the_urls_and_the_class_page_links_are_https(tmp_path, inventory):
    path = tmp_path / "tls.yml"
    path.write_text(open(inventory.path).read() + "tls: {mode: class-ca}\n")
    tls = load_inventory(str(path))
    report = class_report(tls, results(tls))
    assert report["teams"][0]["urls"] == {"subdomain": "https://hacknode1.class.example.org/"}
    assert "https://hacknode1.class.example.org/" in as_table(tls, report)
    assert 'href="https://hacknode1.class.example.org/"' in class_page("--scheme", "https")


def test_with_path_routing_the_urls_the_table_the_json_and_the_class_page_say_the_origin_is_shared(tmp_path, inventory):
    path = tmp_path / "paths.yml"
    path.write_text(open(inventory.path).read().replace("page_seconds: 30", "page_seconds: 30, routing: path"))
    paths = load_inventory(str(path))
    report = class_report(paths, results(paths))
    assert report["routing"] == "path" and report["teams"][0]["urls"] == {
        "subdomain": "http://hacknode1.class.example.org/", "path": "http://main.example.org/hacknode1/"}
    warning = ("warning: main: hacknode1, hacknode2, hacknode3 and the class page share one origin (path routing, "
               "http://main.example.org/<team>/): a team's pages can read and act on the others' as their visitors; "
               "routing: subdomain gives each team its own")
    assert report["warnings"][0] == warning and report["warnings"][2] == (   # a warning per server
        "warning: spare: hacknode4 and the class page share one origin (path routing, http://192.0.2.11/<team>/): "
        "a team's pages can read and act on the others' as their visitors; routing: subdomain gives each team its own")
    table = as_table(paths, report)
    assert warning in table.splitlines()
    assert "http://hacknode1.class.example.org/  http://main.example.org/hacknode1/" in table
    page = class_page("--routing", "path")
    assert 'href="/hacknode2/"' in page and 'href="http://hacknode2.class.example.org/"' in page
    assert "share one origin" in page


def test_the_page_is_replaced_whole_and_stays_readable_by_all(tmp_path):
    page = tmp_path / "www" / "index.html"
    write_page(str(page), "first\n")
    write_page(str(page), "second\n")
    assert page.read_text() == "second\n" and os.listdir(page.parent) == ["index.html"]
    assert stat.S_IMODE(page.stat().st_mode) == 0o644


def test_the_page_interval_is_a_class_setting_with_a_default(tmp_path, inventory):
    assert inventory.page_seconds == 30 and inventory.view("main").page_seconds == 30
    text = open(inventory.path).read()
    (tmp_path / "default.yml").write_text(text.replace(", page_seconds: 30", ""))
    assert load_inventory(str(tmp_path / "default.yml")).page_seconds == 60
    (tmp_path / "bad.yml").write_text(text.replace("page_seconds: 30", "page_seconds: 1"))
    with pytest.raises(InventoryError) as error:
        load_inventory(str(tmp_path / "bad.yml"))
    assert "bad.yml:1: class.page_seconds: 1 is out of range 5..3600" in str(error.value)


def test_an_access_log_over_its_cap_is_moved_aside_once_and_nginx_reopens_its_logs(tmp_path):
    for team, size in (("hacknode1", 300), ("hacknode2", 100)):
        (tmp_path / team).mkdir()
        (tmp_path / team / "access.log").write_bytes(b"x" * size)
    (tmp_path / "hacknode1" / "access.log.1").write_bytes(b"older")
    reopened = []
    moved = cap_access_logs(str(tmp_path / "*" / "access.log"), 200, lambda: reopened.append(True))
    assert moved == [str(tmp_path / "hacknode1" / "access.log")] and reopened == [True]
    assert (tmp_path / "hacknode1" / "access.log.1").read_bytes() == b"x" * 300     # the older one is gone
    assert not (tmp_path / "hacknode1" / "access.log").exists()                     # nginx makes it anew
    assert (tmp_path / "hacknode2" / "access.log").stat().st_size == 100            # under the cap: left alone
    assert cap_access_logs(str(tmp_path / "*" / "access.log"), 200, lambda: reopened.append(True)) == []
    assert reopened == [True]                                                       # nothing moved: no reopen


def test_the_database_cap_is_shown_with_a_warning_near_it_and_over_it(inventory):
    """DB: use/cap, "!" over it; a warning from 90 % of database_mb on, and over it one saying writes are refused."""
    team = dataclasses.replace(inventory.teams[0], database_mb=10)
    figures = lambda kib: {"database_kib": kib, "disk_database_mb": None if kib is None else kib // 1024}  # noqa: E731
    assert (usage.database_cell(team, figures(5000)), usage.database_warning(team, figures(5000))) == ("4M/10M", "")
    assert usage.database_warning(team, figures(9500)) == (
        "warning: hacknode1's database holds 9500 KiB, 93% of its database_mb 10: over it, its writes are refused")
    assert usage.database_cell(team, figures(10241)) == "10M/10M!"
    assert usage.database_warning(team, figures(10241)).startswith(
        "warning: hacknode1's database holds 10241 KiB, over its database_mb 10: its writes are refused")
    assert (usage.database_cell(team, figures(None)), usage.database_warning(team, figures(None))) == ("-M/10M", "")
