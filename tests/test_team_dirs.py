"""Provisioning's hn_team_dirs (apply-lib.sh), run for real with this user's ids: a team's folders are made or
put right without ever following a link the team put in a folder's place."""
import grp
import os
import pwd
import subprocess

from deploy.core.commands import remote_program

APPLY_LIB = remote_program("apply-lib.sh")


def test_a_teams_folder_is_fixed_without_following_a_link_the_team_put_in_its_place(tmp_path):
    # the team owns its home: a link there to a folder of root's (here `target`) must not hand it that folder
    me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    target = tmp_path / "target"
    target.mkdir(mode=0o755)
    (tmp_path / "tmp").symlink_to(target)
    (tmp_path / "run").mkdir(mode=0o777)
    script = f'{APPLY_LIB}\nHN_STAGE=$(mktemp -d)\nhn_team_dirs "$@"\necho fixed'
    done = subprocess.run(["bash", "-c", script, "bash", f"{tmp_path}/tmp {me} {group} 0700",
                           f"{tmp_path}/run {me} {group} 2750", f"{tmp_path}/new {me} {group} 0750"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "fixed", done.stderr
    assert oct(target.stat().st_mode & 0o7777) == "0o755"                      # the link's target untouched
    assert not (tmp_path / "tmp").is_symlink() and oct((tmp_path / "tmp").stat().st_mode & 0o7777) == "0o700"
    assert oct((tmp_path / "run").stat().st_mode & 0o7777) == "0o2750"
    assert oct((tmp_path / "new").stat().st_mode & 0o7777) == "0o750"
