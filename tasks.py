"""Local work: `./inv -l` lists the tasks. Each is thin; the work is in lab/, deploy/ and app/."""
import os
import sys

from invoke import Exit, task

from deploy import __version__
from deploy.team.choice import DEFAULT_INVENTORY, inventory_path
from lab import localhost


@task(help={"k": "only tests matching this pytest -k expression", "fast": "skip the end-to-end tests on isolated hosts"})
def test(c, k="", fast=False):
    """Run the whole test suite (installs the system packages it needs first)."""
    args = ["-q", "--durations=15"]    # the slowest tests, to keep the suite within its 20 minutes
    if k:
        args += ["-k", k]
    try:
        if not fast:    # the end-to-end tests' hosts run this machine's programs (see lab/localhost.HOST_PACKAGES)
            localhost.require_root("the end-to-end tests start isolated hosts (or run: ./inv test --fast)")
            installed = localhost.ensure_packages(localhost.HOST_PACKAGES + localhost.BROWSER_PACKAGES
                                                   + localhost.ACME_CA_PACKAGES + localhost.CHECK_PACKAGES)
        elif os.geteuid() == 0:
            installed = localhost.ensure_packages(localhost.CHECK_PACKAGES)
        else:           # not root: the test that needs a missing one says how to get it
            installed = []
    except localhost.LocalError as e:
        raise Exit(str(e), code=1)
    if installed:
        print("installed Debian packages:", " ".join(installed))
    unit = c.run(pytest_line(args + ["-m", "not e2e"]), pty=False, warn=True)
    # the end-to-end tests mostly wait (on hosts, networks, timers): two sessions side by side, each with its own
    # hosts (tests/e2e/conftest.py), a whole file to each so the files' shared classes are made once per session
    e2e = None if fast else c.run(pytest_line(args + ["-m", "e2e", "-n", "2", "--dist", "loadfile"]), pty=False,
                                  warn=True)
    codes = [r.exited for r in (unit, e2e) if r is not None]
    if any(code not in (0, NO_TESTS) for code in codes) or all(code == NO_TESTS for code in codes):
        raise Exit(code=1)


NO_TESTS = 5    # pytest's exit code when -k selects nothing in a part (the other part may have run)


def pytest_line(args):
    return f"{sys.executable} -m pytest " + " ".join(f"'{a}'" for a in args)


@task(help={"inventory": "the class's inventory file (default $HACKNODE_INVENTORY, else inventory.yml)",
            "out": "folder to write nginx/, supervisor/, uwsgi/, limits/ into (default deploy)"})
def render(c, inventory=None, out="deploy"):
    """Render every config of the class into OUT for review; nothing is sent anywhere."""
    from deploy.configs.render import RenderError, write_review
    from deploy.inventory import InventoryError, load_inventory
    try:
        written, removed = write_review(load_inventory(inventory or inventory_path(os.environ)), out)
    except (InventoryError, RenderError) as e:
        raise Exit(f"render: {e}", code=2)
    for name in written:
        print(f"wrote {out.rstrip('/')}/{name}")
    for name in removed:
        print(f"removed {out.rstrip('/')}/{name} (no longer in the class)")


@task(help={"host": "address to listen on (default 127.0.0.1)", "port": "port to listen on (default 5000)",
            "db_dir": "where the local SecantusDB keeps its data (default .hacknode/localdb)"})
def run(c, host="127.0.0.1", port=5000, db_dir=".hacknode/localdb"):
    """Run Rapid News on the Flask dev server; with a local SecantusDB unless FLASK_MONGO_URI is set."""
    import secrets
    import subprocess
    from lab import localdb

    def serve(mongo_uri):
        # One key for the dev server and its reloader's process, so forms survive a code reload.
        env = {**os.environ, "FLASK_MONGO_URI": mongo_uri,
               "FLASK_SECRET_KEY": os.environ.get("FLASK_SECRET_KEY") or secrets.token_hex(32)}
        command = [sys.executable, "-m", "flask", "--app", "app", "run", "--debug", "--host", host, "--port", str(port)]
        try:
            subprocess.run(command, env=env)
        except KeyboardInterrupt:   # Ctrl-C: the dev server got it too and stops
            pass

    if os.environ.get("FLASK_MONGO_URI"):
        serve(os.environ["FLASK_MONGO_URI"])
        return
    with localdb.running(db_dir) as db:
        print(f"run: local SecantusDB at {db.uri} (data in {db.storage_dir}, log in {db.log_file})", flush=True)
        serve(db.uri)


@task(help={"template": "the Jinja2 template file, e.g. app/templates/index.html",
            "data": "a JSON file of template variables, e.g. app/sample_data/frontpage.json"})
def template(c, template, data):
    """Render a Jinja2 template file with JSON data and print it (the workshop's render.py)."""
    from app.render import RenderError, render_file
    try:
        print(render_file(template, data))
    except RenderError as e:
        raise Exit(f"template: {e}", code=1)


@task(help={"stop": "stop this host, or every host whose name starts with it followed by '*' (e.g. 'hn-t*')"})
def hosts(c, stop=""):
    """List the isolated hosts running on this machine (demo class, tests); --stop stops some."""
    from lab import testhost
    try:
        if stop:
            localhost.require_root("stopping hosts")
            stopped = testhost.stop_all(stop[:-1]) if stop.endswith("*") else (testhost.stop_host(stop) or [stop])
            print("stopped (nothing of them left):", " ".join(stopped) or "no host matched")
        for h in testhost.running_hosts():
            print(f"{h.name}\t{h.address}\tssh -i {h.root_key} root@{h.address}")
    except (localhost.LocalError, testhost.HostError) as e:
        raise Exit(f"hosts: {e}", code=1)


@task(help={"stop": "stop the demo class and remove what it added (= ./inv down)",
            "hosts": "also add the teams' names (<team>.<domain>) to /etc/hosts, in a block --stop removes",
            "server_os": "the class server's OS: debian12 (default: this machine's own) or debian13 (its root is made "
                         "once per machine with debootstrap)"})
def demo(c, stop=False, hosts=False, server_os="debian12"):
    """A whole class on this machine: inventory.yml's three teams on an isolated server, deployed and seeded."""
    from lab import demo_class, serverroots
    try:
        if stop:
            demo_class.stop_demo(".", say=say_now)
        else:
            serverroots.check_os(server_os)
            demo_class.run_demo(".", DEFAULT_INVENTORY, write_hosts=hosts, say=say_now, server_os=server_os)
    except serverroots.RootError as e:
        raise Exit(f"demo: {e}", code=2)
    except demo_class.DemoError as e:
        raise Exit(f"demo: FAILED: {e}", code=1)


def say_now(line):
    print(line, flush=True)


@task
def version(c):
    """Print hacknode's version (the one `fab provision` records on each server and `fab status` shows)."""
    print(f"hacknode {__version__}")


@task
def down(c):
    """Stop the demo class (= ./inv demo --stop)."""
    demo(c, stop=True)


@task(help={"teams": "class sizes to provision, comma-separated (default 1,3,6)",
            "density": "class sizes whose idle memory is measured, comma-separated (default 10,30,50)",
            "scale": "also the class-scale figures: 1/10/30 teams from nothing, no-op, one more team, deploys, "
                     "100 teams over 3 hosts (several minutes; --no-scale skips them)"})
def bench(c, teams="1,3,6", density="10,30,50", scale=True):
    """Print what provisioning costs as a class grows (SSH round trips, time; with --scale, issue 11's figures),
    what durable (journaled) writes cost, and a site's figures (wrk: req/s, latency; failed requests during
    deploy, restart, rollback; memory of idle teams), also written to bench-results/serving.json and .png."""
    from lab import bench_report, benchmarks, durability_bench, load, scale_bench, serving_bench
    durability_bench.run()
    try:
        localhost.require_root("the benchmark starts an isolated host")
        localhost.ensure_packages(localhost.HOST_PACKAGES)
        if scale:
            scale_bench.run()
        benchmarks.run(tuple(int(n) for n in teams.split(",")))
        figures = serving_bench.run(tuple(int(n) for n in density.split(",")), say=say_now)
    except (localhost.LocalError, load.LoadError, ValueError) as e:
        raise Exit(f"bench: {e}", code=1)
    print("\n".join(bench_report.table(figures)))
    print("wrote", *bench_report.write(figures))


# --step NAME, not a positional STEP: invoke has no optional positional arguments, and plain
# `./inv workshop` must list the track.
@task(help={"step": "one step's name (e.g. templates): run only its check and say what is missing"})
def workshop(c, step=""):
    """The learner's track (docs/workshop/): which exercises this checkout passes, or one step's check."""
    from workshop import report
    from workshop.steps import UnknownStep
    try:
        passed = report.run(".", step, say=say_now)
    except UnknownStep as e:
        raise Exit(f"workshop: {e}", code=2)
    if not passed:
        raise Exit(code=1)
