"""`fab git_remote`: `git push <remote> main` deploys, as learners know it from Heroku, Dokku and piku.

The server gets a bare repository in the team's home whose pre-receive hook runs the same release as
`fab deploy` (deploy/remote/git-pre-receive.sh, then release.sh); this side gets a git remote pointing at it.
Run it again after upgrading hacknode: it rewrites the hook and its copy of release.sh.
"""
import io
import shlex
import subprocess
from pathlib import Path

from deploy.core import commands, runner
from deploy.core.errors import DeployError
from deploy.core.layout import TeamPaths
from deploy.inventory.model import team_host
from deploy.team.tasks import say


def remote_url(c, paths):
    return f"ssh://{c.user}@{c.host}:{c.port}{paths.git_repo}"


def ssh_command(key):
    """What git runs to reach the server: with the team's key first (others still offered, so the other
    remotes of the repository keep working), a new host key accepted once, as Fabric does."""
    return " ".join(["ssh", "-o", "StrictHostKeyChecking=accept-new"]
                    + (["-i", shlex.quote(str(Path(key).resolve()))] if key else []))


def local_git(repo_dir, *args):
    done = subprocess.run(["git", "-C", str(repo_dir), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise DeployError(f"git {' '.join(args)} in {repo_dir}: {done.stderr.strip() or done.returncode}")
    return done.stdout.strip()


def install_hook(c, team, inventory, branch):
    """The team's bare repository on the server, its hook and the hook's release script rewritten."""
    paths = TeamPaths(team.name)
    runner.run(c, commands.git_bare_repo(paths))
    hooks = f"{paths.git_repo}/hooks"
    c.put(io.StringIO(commands.release_script_text(paths)), f"{hooks}/hacknode-release.sh")
    c.put(io.StringIO(commands.git_hook_text(paths, team_host(team.name, inventory.domain), branch)),
          f"{hooks}/pre-receive")
    runner.run(c, commands.program("make the hook runnable", "chmod", "0755", f"{hooks}/pre-receive"))
    say(c, f"{paths.git_repo}: pushes of {branch} deploy (hooks/pre-receive)")


def git_remote(c, team, inventory, repo_dir, name="hacknode", branch="main", key=None):
    """Install the hook on the server and add (or update) the git remote `name` in `repo_dir`."""
    local_git(repo_dir, "rev-parse", "--git-dir")
    install_hook(c, team, inventory, branch)
    url = remote_url(c, TeamPaths(team.name))
    action = "set-url" if name in local_git(repo_dir, "remote").split() else "add"
    local_git(repo_dir, "remote", action, name, url)
    if key:
        local_git(repo_dir, "config", "core.sshCommand", ssh_command(key))
    print(f"git remote {name} -> {url}\nnow: git push {name} {branch}   (deploys; ends non-zero when the release "
          "was rolled back)")
