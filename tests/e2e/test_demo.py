"""The Quick start's first command, for real: `./inv demo` in a fresh checkout brings up the shipped
class on the isolated host hn-demo (10.131.1.2), and a team deploys to it with `fab deploy`.

The fresh checkout is a `git clone` of this repository with this working tree's files copied over it
(tracked and untracked-but-not-ignored, as `git ls-files -co --exclude-standard` lists them), so uncommitted
work is tested too; it has no .hacknode/. Its .venv is a link to this checkout's (the same pinned
requirements: ./inv accepts it), which saves building one, and so is its .cache (wheels fetched once: the
provisioning tests fetch them into an empty cache on a clean clone), which saves fetching them again.

CAUTION: the demo's host name and address are fixed: a demo you are running on this machine is stopped
by this test (`./inv demo` from your checkout starts it again).
"""
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from deploy.core import health
from lab import demo_machine, testhost

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TEAMS = ("hacknode1", "hacknode2", "hacknode3")
ADDRESS = "10.131.1.2"
CLASS_CA = ".hacknode/class-ca/ca.crt"       # the demo's inventory.yml has tls: {mode: class-ca}


def run(checkout, command, check=True, timeout=600):
    """`command` as a learner's new shell in the checkout runs it: no virtualenv on its PATH."""
    path = ":".join(d for d in os.environ["PATH"].split(":") if ".venv" not in d)
    done = subprocess.run(command, shell=True, cwd=checkout, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PATH": path})
    output = done.stdout + done.stderr
    print(f"$ {command}\n{output}")   # shown by pytest when a test fails
    if check and done.returncode != 0:
        pytest.fail(f"{command} failed ({done.returncode}):\n{output[-3000:]}", pytrace=False)
    return done.returncode, output


def get(checkout, url, host=None):
    """(status, body) of GET `url` over HTTPS (for the name `host`, SNI included), trusting the class CA the demo
    made in the checkout, as a learner's browser that imported it does."""
    return health.get(url, host, cafile=str(checkout / CLASS_CA))


def fresh_checkout(directory):
    subprocess.run(["git", "clone", "-q", str(REPO), str(directory)], check=True)
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
                            capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        source, target = REPO / name, directory / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif target.exists() and not source.exists():   # deleted in the working tree
            target.unlink()
    (directory / ".venv").symlink_to(REPO / ".venv")
    (REPO / ".cache").mkdir(exist_ok=True)
    (directory / ".cache").symlink_to(REPO / ".cache")
    return directory


def nothing_of_the_demo_left(checkout):
    """What `--stop` must leave: no host, mount, netns or veth, no hosts block, no instructor key."""
    assert not (Path(testhost.STATE_DIR) / demo_machine.HOST_NAME).exists()
    assert demo_machine.HOST_NAME not in Path("/proc/mounts").read_text()
    assert not Path("/run/netns", demo_machine.HOST_NAME).exists()
    assert not Path("/sys/class/net/hnv1").exists()
    assert demo_machine.HOSTS_BEGIN not in Path("/etc/hosts").read_text()
    assert not (checkout / ".hacknode/admin_key").exists()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    made = fresh_checkout(tmp_path_factory.mktemp("demo") / "hacknode")
    run(made, "./inv demo --stop")    # a running demo (from another checkout) goes: see CAUTION above
    yield made
    run(made, "./inv demo --stop", check=False)


def test_not_root_is_refused_in_one_line_with_nothing_changed():
    # as uid 65534 in a user namespace: not root, yet able to read this checkout wherever it is (CI's clone
    # may sit in a root-only folder), like a user running the demo in their own checkout
    code, output = run(REPO, "HOME=/nonexistent unshare --user --map-user=65534 --map-group=65534 ./inv demo",
                       check=False)
    assert code == 1
    assert "demo: FAILED: must run as root" in output and "nothing was changed" in output
    assert "Traceback" not in output


def test_the_demo_address_in_use_is_refused_and_nothing_is_left(checkout):
    run(checkout, "ip link add hn-squatter type veth peer name hn-squatter1 && ip addr add 10.131.1.2/24 dev hn-squatter")
    try:
        code, output = run(checkout, "./inv demo", check=False)
    finally:
        run(checkout, "ip link del hn-squatter")
    assert code == 1
    assert "10.131.1.0/30 are in use on this machine (hn-squatter 10.131.1.2/24)" in output
    assert "Traceback" not in output
    nothing_of_the_demo_left(checkout)


def test_a_team_whose_app_fails_stops_the_demo_with_the_reason_and_nothing_left(checkout):
    wsgi = checkout / "app/wsgi.py"
    good = wsgi.read_text()
    wsgi.write_text(good + "\nraise RuntimeError('broken on purpose by test_demo')\n")
    try:
        code, output = run(checkout, "./inv demo", check=False)
    finally:
        wsgi.write_text(good)
    assert code == 1
    assert "demo: FAILED:" in output and "nothing of the demo is left running" in output
    assert "broken on purpose by test_demo" in output       # the team's log tail says why
    assert "Traceback (most recent call last)" not in output.split("demo: FAILED:")[1].split("\n")[0]
    nothing_of_the_demo_left(checkout)


@pytest.fixture(scope="module")
def first_run(checkout):
    code, output = run(checkout, "./inv demo")
    return output


def test_first_run_reports_each_step_and_every_team_answers_at_its_printed_urls(checkout, first_run):
    assert re.search(r"demo \[5/11\] class server local: changed \(started hn-demo\)", first_run)
    for team in TEAMS:
        assert re.search(rf"local\s+{team}\s+first release\s+changed", first_run)
        assert re.search(rf"seed {team}: changed \(5 articles added\)", first_run)
        name = f"{team}.hacknode.test"
        assert f"by subdomain  https://{name}/" in first_run and "by path" not in first_run   # own origins only
        status, page = get(checkout, f"https://{ADDRESS}/", host=name)
        assert status == 200 and 'href="/submit"' in page
        articles = json.loads(get(checkout, f"https://{ADDRESS}/frontpage.json", host=name)[1])["articles"]
        assert {"Flask documentation", "PyMongo tutorial"} <= {a["title"] for a in articles}
        assert get(checkout, f"https://{ADDRESS}/{team}/")[0] == 404          # not on the server's origin
        assert get(checkout, f"http://{ADDRESS}/", host=name)[0] == 301       # plain HTTP redirects to HTTPS
        curl = re.search(rf"\((?:from this machine: )?(curl --cacert {CLASS_CA} --resolve {name}:443:{ADDRESS} "
                         rf"https://{name}/) ", first_run)
        code, page = run(checkout, curl.group(1))
        assert "<title>(RN) Latest News</title>" in page
        assert f"fab deploy --team {team}" in first_run
    assert re.search(r"demo: changed: .*; total \d+\.\ds \(target: first run < 5 min, second run < 30 s\)", first_run)
    assert (checkout / ".hacknode/admin_key").is_file()
    assert all((checkout / f".hacknode/keys/{team}").is_file() for team in TEAMS)


def test_a_team_deploys_a_template_change_from_the_checkout(checkout, first_run):
    marker = f"demo-change-{uuid.uuid4().hex[:8]}"
    index = checkout / "app/templates/index.html"
    index.write_text(index.read_text().replace("{% block body %}", "{% block body %}<p id=\"marker\">" + marker
                                               + "</p>", 1))
    printed = re.search(r"deploy +(\S+ deploy --team hacknode2) ", first_run).group(1)
    code, output = run(checkout, printed)                               # as the demo printed it
    assert printed == ".venv/bin/fab deploy --team hacknode2"
    assert re.search(r"release \S+ is live at https://hacknode2.hacknode.test/", output)
    assert marker in get(checkout, f"https://{ADDRESS}/", host="hacknode2.hacknode.test")[1]
    assert marker not in get(checkout, f"https://{ADDRESS}/", host="hacknode1.hacknode.test")[1]   # only that team's

    run(checkout, "./.venv/bin/fab use_team --team hacknode1")           # choose once, then plain commands
    run(checkout, "./.venv/bin/fab deploy")
    assert marker in get(checkout, f"https://{ADDRESS}/", host="hacknode1.hacknode.test")[1]
    code, status = run(checkout, re.search(r"instructor: (\S+ status) ", first_run).group(1))
    assert all(re.search(rf"{team}\s+local\s+RUNNING\s+200", status) for team in TEAMS)


def test_second_run_reuses_the_class_and_changes_nothing(checkout, first_run):
    code, output = run(checkout, "./inv demo")
    assert "class server local: ok" in output
    assert "provision: ok" in output
    assert all(f"seed {team}: ok (already there)" in output for team in TEAMS)
    assert re.search(r"demo: nothing to change; total \d+\.\ds", output)


def test_hosts_entry_then_stop_leaves_the_machine_as_it_was(checkout, first_run):
    hosts_before = Path("/etc/hosts").read_text()
    run(checkout, "./inv demo --hosts")
    assert demo_machine.HOSTS_BEGIN in Path("/etc/hosts").read_text()
    for team in TEAMS:
        status, body = get(checkout, f"https://{team}.hacknode.test/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
    code, output = run(checkout, "./inv down")
    assert "host hn-demo: stopped" in output
    nothing_of_the_demo_left(checkout)
    assert Path("/etc/hosts").read_text() == hosts_before
