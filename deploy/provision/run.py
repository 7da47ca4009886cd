"""Provisioning: bring every server of a class to the state its inventory describes.

Per server, whatever the number of teams, at most three SSH round trips:
1. facts: one script reports what is there (deploy/provision/facts.py parses it);
2. one transfer: the bundle, a tarball of every file the changed steps carry (deploy/provision/bundle.py);
3. one script: the steps that differ, in order, each checked before it goes live.
Planning is pure (deploy/provision/plan.py): it compares desired with actual state and says, step by step, `ok` or
`changed` with the commands it would run. `--dry` prints that plan and stops.
"""
import tempfile
import time
import unicodedata
import uuid

from deploy.core import commands, layout, runner
from deploy.core.errors import ProvisionError
from deploy.core.fanout import on_each_server
from deploy.inventory.placement import placement_check
from deploy.provision import database
from deploy.provision.account_keys import with_account_keys
from deploy.provision.artifacts import ArtifactMaker, REPO
from deploy.provision.bounds import cgroups_bound
from deploy.provision.bundle import apply_script, make_bundle, server_script
from deploy.provision.facts import Facts
from deploy.provision.plan import desired_files, facts_query, plan_server
from deploy.core.steps import Step
from deploy.tls.material import ServerTls, server_material


class StepPrinter:
    """Turns the server script's HN-STEP lines into `server scope step ... changed` lines as they come."""

    def __init__(self, server, say):
        self.server, self.say, self.buffer, self.current = server, say, "", None

    def write(self, text):
        self.buffer += text
        while "\n" in self.buffer:
            line, self.buffer = self.buffer.split("\n", 1)
            if line.startswith("HN-STEP "):
                self.finish()
                self.current = line[len("HN-STEP "):]
            elif line == "HN-DONE":
                self.finish()
            elif line.startswith("HN-TEAM-FAILED "):      # a team's job stopped at its current step
                self.finish("FAILED", printable(line.split(" ", 2)[2] if line.count(" ") >= 2 else ""))
            elif line.strip():
                self.say(f"  {self.server}: {printable(line)}")

    def finish(self, status="changed", why=""):
        if self.current:
            scope, _, name = self.current.partition(" ")
            self.say(format_step(self.server, scope, name, status, why))
            self.current = None

    def flush(self):
        pass


def printable(line):
    """A line of the server's output as the terminal shows it: control characters (escapes, C1 ones too, a carriage
    return) as "?". The script quotes a team's text already (apply-lib.sh's hn_text); this holds for all of it."""
    return "".join("?" if unicodedata.category(c) == "Cc" and c != "\t" else c for c in line)


def format_step(server, scope, name, status, why=""):
    scope = "" if scope == server else scope
    return f"{server:<10} {scope:<12} {name:<26} {status}" + (f"  ({why})" if why else "")


def say_plan(server, steps, dry, say):
    """The steps that are ok (and in a dry run, what would change, with its commands and diffs)."""
    for step in steps:
        if not step.changed:
            say(format_step(server, step.scope, step.name, "ok", step.why))
        elif dry:
            say(format_step(server, step.scope, step.name, "would change", step.why))
    if dry:
        for step in steps:
            for command in step.commands if step.changed else ():
                say(f"  {server}: $ {command}")
        diff = "".join(s.diff for s in steps)
        if diff:
            say(diff.rstrip("\n"))


def apply_steps(c, view, steps, say):
    """Ship the bundle of the changed steps and run its script, its progress printed as it comes."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = f"{tmp}/bundle.tar"
        make_bundle(steps, apply_script(steps, view.mongodb), bundle)
        upload = f"hacknode-upload-{uuid.uuid4().hex}.tar"
        c.put(bundle, upload)
    printer = StepPrinter(view.server.name, say)
    try:
        runner.run(c, commands.apply_bundle(upload, database.admin_uri_input(view.mongodb)), stream=printer)
    finally:
        printer.finish()


def check_database_caps(c, view, say):
    """The teams' database caps checked on a run with nothing else to change (database.caps_need_a_run_of_their_own):
    a step per team whose access changed, else one that is ok."""
    script = server_script([f"hn_mongo caps {layout.DATABASE_CAPS}"], view.mongodb)
    admin_uri = database.admin_uri_input(view.mongodb)
    result = runner.run(c, commands.root_script("the database caps' check", script, admin_uri))
    for line in result.stderr.splitlines():     # a team's database that did not answer: mongo-tool's line
        say(f"  {view.server.name}: {printable(line)}")
    steps = [Step(team, "database cap", True, why) for team, why in database.cap_changes(result.stdout)]
    steps = steps or [Step(view.server.name, "database caps", False, "checked: no team's access changed")]
    for step in steps:
        say(format_step(view.server.name, step.scope, step.name, "changed" if step.changed else "ok", step.why))
    return steps


def provision_server(c, view, make_artifacts, dry=False, say=print, prune=False, placement=None, tls=ServerTls()):
    """Bring one server (a model.ServerView) to its desired state. Returns its steps. `placement`: the class's
    PlacementCheck, told this server's teams before anything changes (None: no team placed by the rule); `tls`:
    the server's HTTPS material (deploy.tls.server_material)."""
    files = desired_files(view)
    try:
        result = runner.run(c, commands.read_facts(facts_query(view, files)))
        facts = Facts.parse(result.stdout, view.server.name)
    except BaseException:
        if placement:
            placement.abort()
        raise
    if placement:
        placement.check(view.server.name, facts.present_teams)
    unreachable = database.unreachable_database(view.mongodb, facts, view.server.name)
    if unreachable:
        raise ProvisionError(unreachable)
    if cgroups_bound(facts):      # the same paths, other content: the teams' programs start in their slices
        files = desired_files(view, cgroups=True)
    steps = plan_server(view, facts, files, make_artifacts(facts), prune, tls)
    say_plan(view.server.name, steps, dry, say)
    if not dry and any(s.changed for s in steps):
        apply_steps(c, view, steps, say)
    elif not dry and database.caps_need_a_run_of_their_own(view.mongodb, view.teams):
        steps = steps + check_database_caps(c, view, say)
    return steps


class ProvisionResult(dict):
    """{server name: its steps}, with the SSH round trips the whole run took (the benchmark reads them)."""

    def __init__(self, steps, round_trips):
        super().__init__(steps)
        self.round_trips = round_trips


def provision_class(inventory, key=None, dry=False, say=print, cache_dir=str(REPO / ".cache"), prune=False,
                    refresh_keys=False):
    """Provision every server of the inventory in parallel. Returns {server: steps} and the SSH round trips
    in all; raises ProvisionError naming every server that failed, after all have finished. Keys of forge accounts
    come first (from their cache, or fetched: `refresh_keys` fetches them all): one missing, and nothing is sent."""
    started = time.monotonic()
    database.admin_uri_input(inventory.mongodb)      # mode external: its variable set, or one line before any SSH
    inventory = with_account_keys(inventory, refresh=refresh_keys, say=say)
    tls = server_material(inventory, say=say)     # certificates checked or issued before anything is sent
    with tempfile.TemporaryDirectory(prefix="hacknode-app-") as work_dir:
        make_artifacts = ArtifactMaker(database.tools_packages(inventory.mongodb), cache_dir, work_dir)
        placement = placement_check(inventory)
        results = on_each_server(inventory.servers, lambda c, server: provision_server(
            c, inventory.view(server.name), make_artifacts, dry, say, prune, placement, tls[server.name]), key)
    verb = "would change" if dry else "changed"
    for r in results:
        if r.error:
            say(f"{r.server.name}: FAILED after {r.round_trips} SSH round trips: {r.error}")
        else:
            changed = sum(s.changed for s in r.value)
            say(f"{r.server.name}: {len(r.value) - changed} ok, {changed} {verb}; {r.round_trips} SSH round trips")
    trips = sum(r.round_trips for r in results)
    nothing = not any(s.changed for r in results for s in r.value or ()) and not any(r.error for r in results)
    say(f"{'dry run' if dry else 'provision'}: {len(results)} servers, {len(inventory.teams)} teams, "
        f"{trips} SSH round trips, {time.monotonic() - started:.1f}s" + ("; nothing to change" if nothing else ""))
    failures = [f"{r.server.name}: {r.error}" for r in results if r.error]
    if failures:
        raise ProvisionError("provision failed on " + "; ".join(failures))
    return ProvisionResult({r.server.name: r.value for r in results}, trips)
