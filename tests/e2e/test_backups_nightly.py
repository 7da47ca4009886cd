"""Nightly backups on a class server (the inventory's backups:), by the supervisor program itself: the shared class
provisioned with its time moved to the coming minute, then every team's dump made, kept, restored into a scratch and
compared, shown on the class page and by `fab status`; a dump broken on purpose shown as broken; `fab backups --fetch`
copying the dumps here, then nothing the second time. The class is provisioned back without backups at the end."""
import json
import shlex
import time
from datetime import datetime, timedelta

import pytest

from deploy.core import layout
from deploy.inventory import load_inventory
from tests.e2e.conftest import PAGE_SECONDS
from tests.e2e.test_provision import fab

pytestmark = pytest.mark.e2e
TEAMS = ("hacknode1", "hacknode2", "hacknode3")
ROUND_WAIT = 150        # the coming minute (at most 90 s away) and the round itself


def coming_minute(root):
    """'HH:MM' of the server's clock at least 30 s from now (the provisioning before it takes a few seconds)."""
    now = datetime.strptime(root.run("date '+%Y-%m-%d %H:%M:%S'", hide=True).stdout.strip(), "%Y-%m-%d %H:%M:%S")
    return f"{(now + timedelta(seconds=90)).replace(second=0):%H:%M}"


def last_records(root):
    """{team: its last.json} as root reads them (none yet: absent)."""
    records = {}
    for team in TEAMS:
        out = root.run(f"cat {layout.NIGHTLY_DIR}/{team}/last.json", hide=True, warn=True).stdout
        if out.strip():
            records[team] = json.loads(out)
    return records


def wait_for(root, check, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check(root)
        if found:
            return found
        time.sleep(2)
    log = root.run(f"tail -n 20 {layout.NIGHTLY_LOG}", hide=True, warn=True).stdout
    raise AssertionError(f"{what} within {seconds} s; the program's log:\n{log}")


def class_page(cls):
    return cls.http("hacknode1", "/", by="server")[1]


def status_rows(cls, inventory):
    done = fab("status", "--json", "--inventory", inventory, key=cls.root_key)
    assert done.returncode == 0, done.stderr
    return {t["name"]: t for t in json.loads(done.stdout)["teams"]}


def test_the_nightly_job_backs_up_and_proves_each_dump_and_fetch_copies_only_what_is_new(provisioned_class, tmp_path):
    cls = provisioned_class
    with cls.as_root("main") as root:
        started = int(root.run("date +%s", hide=True).stdout)
        at = coming_minute(root)
        cls.class_lines.append(f"backups: {{at: '{at}', keep: 2}}")
        try:
            inventory = cls.write_inventory(cls.teams, "backups.yml")
        finally:
            cls.class_lines.pop()
        cls.provision(load_inventory(inventory))
        try:
            records = wait_for(root, lambda r: (lambda found: found if len(found) == 3 and all(
                rec["made"] >= started for rec in found.values()) else None)(last_records(r)),
                ROUND_WAIT, f"no round of the nightly backups at {at}")
            assert all(rec["verified"] and rec["bytes"] > 0 for rec in records.values()), records
            log = root.run(f"cat {layout.NIGHTLY_LOG}", hide=True).stdout
            assert "round done" in log and "hacknode2: hacknode2-" in log, log
            # the program's priority and the dumps' owner: root alone
            niceness = root.run("ps -o ni= -C python -o args= | grep nightly-backups | grep -v grep", hide=True).stdout
            assert niceness.split()[0] == "19", niceness
            modes = root.run(f"stat -c '%U %a %n' {layout.NIGHTLY_DIR}/hacknode1 {layout.NIGHTLY_DIR}/hacknode1/*.tar.gz",
                             hide=True).stdout.splitlines()
            assert [line.split()[:2] for line in modes] == [["root", "700"], ["root", "600"]], modes

            rows = status_rows(cls, inventory)
            for team in TEAMS:
                assert rows[team]["backup_verified"] is True and rows[team]["backup_bytes"] == records[team]["bytes"]
            assert wait_for(root, lambda r: "verified" in class_page(cls) and records["hacknode2"]["file"][:9]
                            in class_page(cls), 3 * PAGE_SECONDS, "the class page shows no verified backup")

            # a dump broken on purpose: its restore fails, and the page and fab status say so
            broken = f"{layout.NIGHTLY_DIR}/hacknode2/{records['hacknode2']['file']}"
            root.run(f"truncate -s -64 {shlex.quote(broken)}", hide=True)
            root.run(f"{layout.TOOLS_VENV}/bin/python {layout.NIGHTLY_TOOL} verify --dir {layout.NIGHTLY_DIR} "
                     f"--teams {layout.TEAMS_DIR} --admin-file {layout.MONGO_ADMIN_FILE}", hide=True)
            rows = status_rows(cls, inventory)
            assert rows["hacknode2"]["backup_verified"] is False and rows["hacknode2"]["backup_problem"], rows["hacknode2"]
            assert rows["hacknode1"]["backup_verified"] is True
            table = fab("status", "--inventory", inventory, key=cls.root_key).stdout
            assert "FAILED" in table, table
            wait_for(root, lambda r: "FAILED" in class_page(cls), 3 * PAGE_SECONDS, "the class page shows no failure")
            listing = {line.split()[0]: line for line in fab("backups", "--inventory", inventory,
                                                             key=cls.root_key).stdout.splitlines()}
            assert "  verified  " in listing["hacknode1"] and "  FAILED  " in listing["hacknode2"], listing

            first = fab("backups", "--fetch", "--out", str(tmp_path / "nightly"), "--inventory", inventory,
                        key=cls.root_key)
            assert first.returncode == 0, first.stderr
            copied = sorted(p.relative_to(tmp_path / "nightly") for p in (tmp_path / "nightly").rglob("*.tar.gz"))
            assert [str(p).split("/")[:2] for p in copied] == [["main", t] for t in TEAMS], copied
            assert first.stdout.count("copied ") == 3 and "main: 3 new" in first.stdout, first.stdout
            second = fab("backups", "--fetch", "--out", str(tmp_path / "nightly"), "--inventory", inventory,
                         key=cls.root_key)
            assert second.returncode == 0 and "copied " not in second.stdout, second.stdout
            assert "main: nothing new, 3 dumps" in second.stdout, second.stdout
        finally:
            root.run(f"rm -rf {layout.NIGHTLY_DIR}", hide=True)
            cls.provision()         # the class as the other tests know it: no backups
