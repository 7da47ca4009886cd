"""The bundle a server's changes travel in: one script (hacknode's shell helpers, then each changed step's
commands, announced) and one tarball with everything the changed steps carry: their files and uploads."""
import io
import shlex
import tarfile

from deploy.core import commands, layout
from deploy.provision import database

# deploy/remote/ shell helpers every root script starts with (with the files they source)
LIBRARIES = ("apply-lib.sh", "archive.sh", "remove-team.sh")
TOOLS = ("supervisor_update.py",)              # deploy/remote/ programs every bundle carries, for those helpers


def server_script(step_commands, mongodb):
    """A root script for a server: our shell helpers, the admin URI (read from stdin in external mode), then
    `step_commands`. It runs from a file or argv, never from stdin: pip and python would read it. Its stage is its
    argument (the bundle's folder, run-bundle.sh), else a folder of its own (apply-lib.sh)."""
    lines = [f"HN_TOOLS={layout.TOOLS_VENV}", f"HN_MONGO_TOOL={layout.MONGO_TOOL}",
             f"HN_TEAM_DB_TOOL={layout.TEAM_DB_TOOL}",
             f"HN_HEALTHZ={layout.HEALTHZ_TOOL}", f"HN_MAKE_VENV={layout.MAKE_VENV}", f"HN_WHEELS={layout.WHEELS}",
             f"HN_TEAM_ENV_CACHE={layout.TEAM_ENV_CACHE}", f"HN_TEAM_ENVS={layout.TEAM_ENVS}",
             *(commands.remote_program(name) for name in LIBRARIES),
             database.script_header(mongodb),     # then stdin is closed: nothing below reads the instructor's terminal
             *step_commands, "echo HN-DONE"]
    return "\n".join(lines) + "\n"


def apply_script(steps, mongodb):
    """The changed steps' commands, each announced by hn_step, as the bundle's script. Steps with a `job` (a
    team's setup) become one shell function per team, run side by side by hn_team_jobs where the first of them
    was; the script fails at its end, after the other teams and the services, when a team's job failed."""
    step_commands, jobs = [], {}
    for step in steps:
        if not step.changed:
            continue
        lines = [f"hn_step {shlex.quote(step.scope)} {shlex.quote(step.name)}", *step.commands]
        if step.job:
            if not jobs:
                step_commands.append(jobs)      # where the jobs run: filled in below
            jobs.setdefault(step.job, []).extend(lines)
        else:
            step_commands += lines
    if jobs:
        at = step_commands.index(jobs)
        step_commands[at:at + 1] = team_jobs(jobs)
        step_commands.append("hn_team_jobs_verdict")
    return server_script(step_commands, mongodb)


def team_jobs(jobs):
    """{team: its commands} as one function per team, then the line that runs them all."""
    lines = []
    for team, commands in jobs.items():
        lines += [f"hn_job_{team}() {{", *(f"  {c}" for c in commands), "}"]
    return lines + ["hn_team_jobs " + " ".join(jobs)]


def make_bundle(steps, script, path):
    """One tarball at `path`: the script as apply.sh, the TOOLS, and what every changed step carries. Not
    compressed: it is mostly wheels, zip files already; gzip took seconds of CPU on both sides to save 1%."""
    added = set()
    with tarfile.open(path, "w") as tar:
        add_text(tar, "apply.sh", script)
        for name in TOOLS:
            add_text(tar, name, commands.remote_file(name))
        for step in steps:
            if not step.changed:
                continue
            for f in step.files:
                add_text(tar, f"files{f.path}", f.content)
            for upload in step.uploads:
                if upload.name in added:      # teams' first releases share the app's copy
                    continue
                added.add(upload.name)
                if upload.text is not None:
                    add_text(tar, upload.name, upload.text)
                    continue
                if upload.fill:
                    upload.fill()
                tar.add(upload.source, arcname=upload.name)


def add_text(tar, name, text):
    data = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))
