"""Release naming, the rsync file selection and the server script's prune/list, run for real on local
directories (no SSH, no mocks)."""
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from deploy.core import commands, layout, release, wheels
from deploy.core.layout import TeamPaths
from deploy.provision.tools import tool_files


def test_release_id_is_utc_timestamp_then_sha():
    moment = datetime(2026, 1, 21, 10, 30, 5, tzinfo=timezone(timedelta(hours=1)))
    assert release.release_id(moment) == "20260121T093005Z"
    assert release.release_id(moment, "1a2b3c4") == "20260121T093005Z-1a2b3c4"
    assert release.RELEASE_ID.match(release.release_id(moment, "1a2b3c4"))


def test_release_ids_sort_in_time_order():
    start = datetime(2026, 12, 31, 23, 59, 58, tzinfo=timezone.utc)
    ids = [release.release_id(start + timedelta(seconds=s), sha) for s, sha in ((0, "ffff"), (1, "0000"), (3, None))]
    assert sorted(ids) == ids


def test_new_release_id_of_a_git_tree_carries_its_sha(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("x")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "m"],
                   check=True)
    sha = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    assert release.new_release_id(tmp_path).endswith("-" + sha)
    assert release.git_short_sha(tmp_path / "nowhere") is None


def test_rsync_ships_the_tree_without_git_venvs_caches_or_secrets(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    for name in ("app/wsgi.py", "app/static/x.css", "requirements.txt", ".git/HEAD", ".venv/bin/python",
                 "rapid-env/bin/python", "app/__pycache__/wsgi.cpython-311.pyc", "app/old.pyc",
                 ".pytest_cache/v", ".cache/wheels/a.whl", ".hacknode/keys/hacknode1", "RELEASE", ".hacknode-procs/web",
                 "app/RELEASE.md", "docs/.cache/keep", "test-artifacts/shot.png", "bench-results/serving.png",
                 "docs/worktree/.git"):          # in a git worktree, .git is a file
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(name)
    command = release.rsync_command(src, str(dest), "ssh")
    subprocess.run([part for part in command if part not in ("--rsh", "ssh")], check=True)
    shipped = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert shipped == ["app/RELEASE.md", "app/static/x.css", "app/wsgi.py", "docs/.cache/keep", "requirements.txt"]
    assert oct((dest / "app/static/x.css").stat().st_mode & 0o777) == "0o644"   # nginx reads static files



def test_a_venv_that_is_a_link_is_not_shipped_either(tmp_path):
    """A git worktree often links .venv to its main checkout's: the link (rsync copies it as a link) stays home."""
    src, dest, elsewhere = tmp_path / "src", tmp_path / "dest", tmp_path / "main-venv"
    (src / "app").mkdir(parents=True)
    (src / "app/wsgi.py").write_text("app")
    elsewhere.mkdir()
    (src / ".venv").symlink_to(elsewhere)
    command = release.rsync_command(src, str(dest), "ssh")
    subprocess.run([part for part in command if part not in ("--rsh", "ssh")], check=True)
    assert sorted(p.name for p in dest.iterdir()) == ["app"]

def test_ssh_command_for_rsync_uses_the_key_only():
    assert release.ssh_command(2222, "/k/team key") == (
        "ssh -p 2222 -o BatchMode=yes -o StrictHostKeyChecking=accept-new -i '/k/team key' -o IdentitiesOnly=yes")
    assert "-i" not in release.ssh_command()


def test_rsyncs_share_one_ssh_master_kept_in_a_folder_of_this_user_alone(tmp_path):
    base = tempfile.mkdtemp(prefix="hn-", dir="/tmp")     # short: ssh's socket paths are limited
    try:
        folder = release.control_dir(base)
        assert oct(os.stat(folder).st_mode & 0o777) == "0o700"
        assert release.ssh_command(22, control_dir=folder).endswith(
            f"-o ControlMaster=auto -o ControlPath={folder}/%C -o ControlPersist=60")
        os.chmod(folder, 0o755)                      # others could use a master's socket there: not used
        assert release.control_dir(base) is None
    finally:
        shutil.rmtree(base)
    assert release.control_dir(str(tmp_path / ("x" * 60))) is None     # no room for the socket's name


def test_each_task_has_its_own_ssh_master_so_closing_it_cuts_no_other_tasks_rsync():
    """Two members deploying at once: the one refused first closed the shared master at its end (ssh -O exit), and
    the other's rsync over it failed with exit 255. Each task's connection names its own."""
    from fabric import Connection
    from deploy.team.tasks import rsync_ssh
    first, second = Connection("10.0.0.1", user="team"), Connection("10.0.0.1", user="team")
    path = lambda c: rsync_ssh(c).split("ControlPath=")[1].split()[0]      # noqa: E731
    assert path(first) == path(first) and path(first) != path(second)
    assert len(path(first)) < 100          # ssh's limit for a socket's path, with its 40 characters of %C


def test_script_command_carries_the_script_and_quotes_its_arguments(tmp_path):
    paths = LocalPaths(tmp_path)
    command = commands.release(paths, "list", "a b'c").line()
    assert command.endswith(" release.sh list 'a b'\"'\"'c'")
    Path(paths.releases, "20260101T000000Z").mkdir(parents=True)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True)   # as sshd runs it
    assert done.returncode == 0 and done.stdout == "  20260101T000000Z  (incomplete)\n"


@dataclass
class LocalPaths:
    """The layout's names for a team, under a temporary directory instead of /home."""
    root: Path
    team: str = "hacknode1"

    def __getattr__(self, name):
        real = getattr(TeamPaths(self.team), name)
        return str(self.root) + real if isinstance(real, str) else real


def run_script(paths, *args):
    tools = local_tools(paths.root)
    script = commands.release_script_text(paths, keep=3, make_venv=tools + "/make-venv",
                                          procfile_tool=tools + "/procfile")
    done = subprocess.run(["bash", "-s", "--", *args], input=script, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def local_tools(root, uv=True):
    """The server's tools folder under `root`: make-venv, uv beside it (this checkout's .venv has it), the
    Procfile's checker and the modules it imports, as provisioning installs them."""
    tools = Path(root) / "opt-hacknode-bin"
    tools.mkdir(exist_ok=True)
    if not (tools / "make-venv").exists():
        (tools / "make-venv").write_text(commands.remote_file("make-venv.sh"))
        (tools / "make-venv").chmod(0o755)
        if uv:
            (tools / "uv").symlink_to(Path(sys.executable).parent / "uv")
        for f in tool_files():
            if f.path in (layout.PROCFILE_TOOL, layout.PROCFILE_MODULE, layout.LAYOUT_MODULE):
                (tools / Path(f.path).name).write_text(f.content)
    return str(tools)


@pytest.fixture
def home(tmp_path):
    paths = LocalPaths(tmp_path)
    for d in (paths.releases, paths.envs, paths.run_dir):
        Path(d).mkdir(parents=True)
    return paths


def make_release(paths, rid, env="aaaaaaaaaaaa", failed=False):
    d = Path(paths.releases) / rid
    d.mkdir()
    (d / "RELEASE").write_text(rid + "\n")
    (Path(paths.envs) / env).mkdir(exist_ok=True)
    (d / "rapid-env").symlink_to(f"../../envs/{env}")
    if failed:
        (d / ".hacknode-failed").touch()


def releases_left(paths):
    return sorted(p.name for p in Path(paths.releases).iterdir())


IDS = [f"2026010{i}T000000Z" for i in range(1, 9)]   # oldest first


def test_prune_keeps_the_newest(home):
    for rid in IDS:
        make_release(home, rid)
    Path(home.current).symlink_to(f"releases/{IDS[-1]}")
    code, out = run_script(home, "prune")
    assert code == 0, out
    assert releases_left(home) == IDS[-3:]


def test_prune_never_removes_current_nor_the_release_before_it(home):
    for rid in IDS:
        make_release(home, rid)
    Path(home.current).symlink_to(f"releases/{IDS[1]}")      # after rollbacks: current is old
    code, out = run_script(home, "prune")
    assert code == 0, out
    assert releases_left(home) == [IDS[0], IDS[1]] + IDS[-3:]


def test_prune_removes_virtualenvs_no_release_uses(home):
    make_release(home, IDS[0], env="0ld0ld0ld0ld")
    for rid in IDS[1:]:
        make_release(home, rid, env="11ee11ee11ee")
    Path(home.current).symlink_to(f"releases/{IDS[-1]}")
    code, out = run_script(home, "prune")
    assert code == 0, out
    assert sorted(p.name for p in Path(home.envs).iterdir()) == ["11ee11ee11ee"]
    assert "pruned virtualenv envs/0ld0ld0ld0ld" in out


def test_list_marks_current_and_failed_releases(home):
    make_release(home, IDS[0])
    make_release(home, IDS[1])
    make_release(home, IDS[2], failed=True)
    Path(home.current).symlink_to(f"releases/{IDS[1]}")
    code, out = run_script(home, "list")
    assert code == 0, out
    assert out.splitlines() == [f"  {IDS[2]}  (failed its health check)",
                                f"* {IDS[1]}  (rapid-env -> aaaaaaaaaaaa)",
                                f"  {IDS[0]}  (rapid-env -> aaaaaaaaaaaa)"]


def test_rollback_with_nothing_older_says_so(home):
    make_release(home, IDS[0])
    make_release(home, IDS[1], failed=True)
    Path(home.current).symlink_to(f"releases/{IDS[0]}")   # only a newer, failed release besides it
    code, out = run_script(home, "rollback", "hacknode1.example")
    assert code == 1
    assert f"no good release older than {IDS[0]}" in out


def test_unknown_subcommand_is_named(home):
    code, out = run_script(home, "deploi")
    assert code == 1 and "unknown subcommand 'deploi'" in out


def test_a_fifo_as_the_lock_or_at_a_file_prepare_writes_blocks_nothing(home):
    """The team's tree: a FIFO where release.sh opens a file blocked provisioning's prepare for ever (review)."""
    requirements = Path(home.run_dir) / "requirements.txt"
    requirements.write_text("")
    wanted = wheels.requirements_hash(requirements)
    make_release(home, IDS[0], env=wanted)
    (Path(home.envs) / wanted / ".hacknode-complete").touch()
    (Path(home.releases) / IDS[0] / "requirements.txt").write_text("")
    os.mkfifo(Path(home.releases) / IDS[0] / "RELEASE.tmp")
    os.mkfifo(Path(home.releases) / IDS[0] / "RELEASE.hn-new")
    code, out = run_script(home, "prepare", IDS[0], wanted)
    assert code == 0 and "prepared" in out, out
    (Path(home.run_dir) / "release.lock").unlink()
    os.mkfifo(Path(home.run_dir) / "release.lock")
    code, out = run_script(home, "prepare", IDS[0], wanted)
    assert code == 1 and "release.lock is not a plain file" in out, out


def test_prepare_refuses_requirements_that_changed(home):
    make_release(home, IDS[0])
    (Path(home.releases) / IDS[0] / "requirements.txt").write_text("Flask==3.1.3\n")
    code, out = run_script(home, "prepare", IDS[0], "000000000000")
    assert code == 1 and "does not hash to 000000000000" in out


def test_failed_install_leaves_no_virtualenv_and_switches_nothing(home):
    make_release(home, IDS[0])
    Path(home.current).symlink_to(f"releases/{IDS[0]}")
    Path(home.wheels).mkdir(parents=True)                     # a wheelhouse without the package
    new = Path(home.releases) / IDS[1]
    new.mkdir()
    (new / "requirements.txt").write_text("no-such-package-for-hacknode==1.0\n")
    wanted = wheels.requirements_hash(new / "requirements.txt")
    code, out = run_script(home, "prepare", IDS[1], wanted)
    assert code == 1
    assert "installing -r" in out and "the live site is unchanged" in out
    assert not (Path(home.envs) / wanted).exists()
    assert os.readlink(home.current) == f"releases/{IDS[0]}"
    assert not (new / "RELEASE").exists()                     # not a release rollback or activate would take


def test_facts_name_the_python_the_virtualenv_and_the_live_release(home):
    code, out = run_script(home, "facts", "aaaaaaaaaaaa")
    assert code == 0 and out.split()[2:] == ["env=missing", "current="]
    make_release(home, IDS[0])
    (Path(home.envs) / "aaaaaaaaaaaa" / ".hacknode-complete").touch()
    Path(home.current).symlink_to(f"releases/{IDS[0]}")
    code, out = run_script(home, "facts", "aaaaaaaaaaaa")
    python, arch, env, current = out.split()
    assert python.startswith("python=3.") and arch.startswith("arch=")
    assert (env, current) == ("env=present", f"current={IDS[0]}")


def test_a_deploy_claims_its_release_directory_and_a_second_one_of_that_id_is_refused(home):
    code, out = run_script(home, "facts", "aaaaaaaaaaaa", IDS[1])
    assert code == 0 and (Path(home.releases) / IDS[1]).is_dir()
    code, out = run_script(home, "facts", "aaaaaaaaaaaa", IDS[1])      # a second member, the same second
    assert code == 1
    assert f"release {IDS[1]} is being made by another deploy of" in out and "deploy again" in out


def test_an_upload_that_did_not_finish_is_removed_but_never_a_prepared_or_live_release(home):
    (Path(home.releases) / IDS[1] / "app").mkdir(parents=True)      # rsync stopped half-way
    code, out = run_script(home, "abandon", IDS[1])
    assert code == 0 and f"release {IDS[1]}: removed" in out
    assert not (Path(home.releases) / IDS[1]).exists()
    make_release(home, IDS[0])
    code, out = run_script(home, "abandon", IDS[0])
    assert code == 1 and "is prepared; not removing it" in out
    assert (Path(home.releases) / IDS[0] / "RELEASE").is_file()
