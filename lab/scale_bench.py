"""What provisioning and deploying cost at class scale (issue 11's figures), printed next to their goals and written
to bench-results/scale.json; never asserted. Every class here is provisioned on isolated test hosts started fresh
(packages present, the wheelhouse fetched once on this side, as an instructor's second class would be)."""
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from deploy.core import wheels
from deploy.inventory.model import MongoSettings
from deploy.provision import artifacts, database
from deploy.team import tasks as team_tasks
from lab import testhost
from lab.benchmarks import class_inventory, timed_provision

HOSTS = (("hn-scale1", 96), ("hn-scale2", 95), ("hn-scale3", 94))   # beside ./inv bench's hn-bench (99)
REPO = Path(__file__).resolve().parent.parent
WHEEL_CACHE = str(REPO / ".cache" / "wheels")
SSH_OPTIONS = ("-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR")   # fresh hosts, fresh host keys
GOALS = {   # seconds, from the issue
    "provision 30 teams": 30, "add 1 team to 30": 2, "no-op on 30 teams": 0.5,
    "deploy, one file changed": 1, "deploy, requirement changed": 3,
}


def fresh_hosts(count):
    """`count` bench hosts started from nothing; the first one's root key logs into all of them."""
    hosts = []
    for name, index in HOSTS[:count]:
        testhost.stop_host(name)
        hosts.append(testhost.start_host(name, index))
    public = Path(hosts[0].root_key + ".pub").read_text().strip()
    for host in hosts[1:]:
        with host.connection() as c:
            c.run(f"echo '{public}' >> /root/.ssh/authorized_keys", hide=True)
    return hosts


def uwsgi_pids(host, count):
    """{team: pid of its uwsgi master} of team1..team<count>: a restarted program gets a new pid."""
    with host.connection() as c:
        out = c.run("supervisorctl pid " + " ".join(f"team{n}" for n in range(1, count + 1)), hide=True).stdout
    return dict(zip((f"team{n}" for n in range(1, count + 1)), out.split()))


def timed_deploy(host, inventory, directory, source):
    """Seconds of team1's `fab deploy` of `source`, health-checked live."""
    team = next(t for t in inventory.teams if t.name == "team1")
    with host.connection(user="team1", key=str(Path(directory) / "keys" / "team1")) as c:
        started = time.monotonic()
        team_tasks.deploy_release(c, team, inventory, source, cache_dir=WHEEL_CACHE, ssh_options=SSH_OPTIONS)
        return time.monotonic() - started


def deploys(host, inventory, directory, figures):
    """A one-file change, then a changed requirement (its wheels fetched here beforehand), by team1."""
    source = Path(directory) / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".cache", ".hacknode", "test-artifacts", "__pycache__", ".pytest_cache", "bench-results"))
    timed_deploy(host, inventory, directory, source)          # the tree as team1 has it, live
    time.sleep(1)                                             # release ids are per second
    with open(source / "app" / "__init__.py", "a") as f:
        f.write("# a one-line change\n")
    figures["deploy, one file changed"] = timed_deploy(host, inventory, directory, source)
    with open(source / "requirements.txt", "a") as f:
        f.write("blinker==1.9.0\n")      # already a dependency of Flask: a new virtualenv, the same wheels
    with host.connection(user="team1", key=str(Path(directory) / "keys" / "team1")) as c:
        facts = team_tasks.server_facts(c, "team1", wheels.requirements_hash(source / "requirements.txt"))
    wheels.build_wheelhouse(source / "requirements.txt", facts["python"], facts["arch"], cache_dir=WHEEL_CACHE)
    time.sleep(1)
    figures["deploy, requirement changed"] = timed_deploy(host, inventory, directory, source)


def class_of_thirty(directory, figures, sizes):
    """Classes of `sizes` teams from nothing; on the last one a no-op run, one team added, and deploys."""
    for count in sizes:
        host, = fresh_hosts(1)
        inventory = class_inventory(directory, [host.address], count, name=f"c{count}")
        figures[f"provision {count} teams"] = timed_provision(inventory, host.root_key)[0]
    figures[f"no-op on {count} teams"], figures["no-op SSH round trips"], _ = timed_provision(inventory, host.root_key)
    before = uwsgi_pids(host, count)
    more = class_inventory(directory, [host.address], count + 1, name="more")
    figures[f"add 1 team to {count}"] = timed_provision(more, host.root_key)[0]
    after = uwsgi_pids(host, count)
    figures["teams restarted by the addition"] = sum(before[t] != after[t] for t in before)
    deploys(host, more, directory, figures)


def spread_class(directory, figures, team_count):
    """`team_count` teams naming no server, over three hosts provisioned in parallel."""
    hosts = fresh_hosts(3)
    inventory = class_inventory(directory, [h.address for h in hosts], team_count,
                                name=f"spread{team_count}")
    figures[f"provision {team_count} teams over 3 servers"] = timed_provision(inventory, hosts[0].root_key)[0]
    per_server = [len(inventory.teams_on(f"s{n}")) for n in range(3)]
    figures[f"teams per server ({team_count} placed)"] = "/".join(map(str, per_server))


class Figures(dict):
    """The figures, each printed as it is measured, next to its goal."""

    def __init__(self, say):
        super().__init__()
        self.say = say

    def __setitem__(self, what, value):
        super().__setitem__(what, value)
        goal = GOALS.get(what)
        shown = f"{value:8.2f}s" if isinstance(value, float) else f"{value!s:>9}"
        self.say(f"scale: {what:<40} {shown}" + (f"   (goal <= {goal}s)" if goal else ""))


def run(say=print, sizes=(1, 10, 30), spread=100, out="bench-results"):
    figures = Figures(say)
    # the server's wheelhouse is fetched before anything is timed (test hosts run this machine's Python)
    requirements = artifacts.server_requirements(database.tools_packages(MongoSettings(mode="secantus")), REPO / ".cache")
    wheels.build_wheelhouse(requirements, "%d.%d" % sys.version_info[:2], platform.machine(), REPO / ".cache" / "wheels")
    try:
        with tempfile.TemporaryDirectory() as directory:
            class_of_thirty(directory, figures, sizes)
            if spread:
                spread_class(directory, figures, spread)
    finally:
        for name, _ in HOSTS:
            testhost.stop_host(name)
    Path(out).mkdir(exist_ok=True)
    (Path(out) / "scale.json").write_text(json.dumps(figures, indent=2) + "\n")
    draw(figures, Path(out) / "scale.png")
    say(f"scale: figures written to {out}/scale.json and {out}/scale.png")
    return figures


def draw(figures, path):
    """Each timed figure as a bar, its goal (where the issue gives one) as a mark beside it."""
    import matplotlib
    matplotlib.use("Agg")      # no display: a file only
    from matplotlib import pyplot

    timed = [(what, value) for what, value in figures.items() if isinstance(value, float)]
    fig, axes = pyplot.subplots(figsize=(10, 0.45 * len(timed) + 1.5))
    names = [what for what, _ in timed]
    axes.barh(names, [value for _, value in timed], color="tab:blue", label="measured")
    goals = [(what, GOALS[what]) for what in names if what in GOALS]
    axes.scatter([goal for _, goal in goals], [what for what, _ in goals], color="tab:red", marker="|", s=400,
                 label="goal", zorder=3)
    axes.set(title="provisioning and deploying at class scale (./inv bench)", xlabel="seconds (log)", xscale="log")
    axes.invert_yaxis()
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot.close(fig)
