"""`git push` deploys: the hook's refusals run here for real (a local bare repository with hacknode's
pre-receive hook); the deploy through it on a class server is tests/e2e/test_self_service.py."""
import subprocess

from deploy.core import commands
from deploy.core.layout import TeamPaths
from deploy.team import git as team_git


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)


def test_the_hook_refuses_other_branches_and_deleting_the_deploy_branch_and_changes_nothing(tmp_path):
    bare, work, releases = tmp_path / "repo.git", tmp_path / "work", tmp_path / "releases"
    releases.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    hook = commands.git_hook_text(TeamPaths("hacknode1"), "hacknode1.class.example.org", "main")
    hook = hook.replace("releases=/home/hacknode1/releases", f"releases={releases}")
    (bare / "hooks" / "pre-receive").write_text(hook)
    (bare / "hooks" / "pre-receive").chmod(0o755)
    subprocess.run(["git", "init", "-q", "-b", "feature", str(work)], check=True)
    (work / "requirements.txt").write_text("Flask\n")
    git(work, "add", ".")
    assert git(work, "-c", "user.name=A", "-c", "user.email=a@b", "commit", "-qm", "one").returncode == 0
    pushed = git(work, "push", str(bare), "feature")
    assert pushed.returncode != 0
    assert "[hacknode1] push refused: refs/heads/feature: only main deploys" in pushed.stderr
    assert git(bare, "branch").stdout == "" and list(releases.iterdir()) == []


def test_the_remote_is_the_teams_bare_repository_over_ssh_with_its_key_offered_first(tmp_path):
    class Connection:
        user, host, port = "hacknode1", "203.0.113.10", 22
    assert team_git.remote_url(Connection, TeamPaths("hacknode1")) == "ssh://hacknode1@203.0.113.10:22/home/hacknode1/repo.git"
    command = team_git.ssh_command(tmp_path / "my key")
    assert command.startswith("ssh -o StrictHostKeyChecking=accept-new -i ") and "'" in command
    assert "IdentitiesOnly" not in command     # the repository's other remotes keep the user's own keys
