"""The Procfile on its way to a server: `fab deploy` checks it before sending anything, release.sh `prepare` runs the
checker (deploy/remote/procfile_tool.py, installed as provisioning installs it) on the release, as the team, and
it writes .hacknode-procs anew, whatever the tree put at that name. Run for real on local folders."""
import os
import subprocess
from pathlib import Path

import pytest

from deploy.core import layout, procfile, release
from deploy.provision import tools
from deploy.team import tasks
from tests.test_team_release import IDS, LocalPaths, local_tools, make_release, run_script

PROCS = layout.PROCS_DIR
APP = "web: src.app:create_app()\nworker: python -m bot $(id) %(home)\ncron: */10 * * * * python scrape.py\n" \
      "static: /static/ src/static\nstatic: /media/img/ media\n"


def tool(root, *args):
    """The checker as release.sh runs it (python3 PROGRAM write DIR), as the team: umask 027."""
    program = Path(local_tools(root)) / "procfile"
    done = subprocess.run(["python3", str(program), *map(str, args)], capture_output=True, text=True, timeout=30,
                          preexec_fn=lambda: os.umask(0o027), cwd="/")
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def tree(tmp_path):
    """A release folder, as rsync made it."""
    folder = tmp_path / "releases" / IDS[0]
    (folder / "src/static").mkdir(parents=True)
    (folder / "media").mkdir()
    return folder


def listing(folder):
    """Every entry under `folder`: (path, kind, link target or text)."""
    found = []
    for path in sorted(Path(folder).rglob("*")):
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        found.append((str(path.relative_to(folder)), kind,
                      os.readlink(path) if kind == "link" else path.read_text() if kind == "file" else ""))
    return found


def test_provisioning_installs_the_checker_and_its_modules_root_owned_and_readable_by_every_team():
    files = {f.path: f for f in tools.tool_files()}
    checker, module, paths = files[layout.PROCFILE_TOOL], files[layout.PROCFILE_MODULE], files[layout.LAYOUT_MODULE]
    assert (checker.owner, checker.mode, module.owner, module.mode) == ("root", "0755", "root", "0644")
    assert (paths.owner, paths.mode) == ("root", "0644")
    assert module.content == Path(procfile.__file__).read_text() and "import hacknode_procfile" in checker.content


def test_write_makes_what_the_procfile_asks_for(tmp_path, tree):
    (tree / "Procfile").write_text(APP)
    code, out, err = tool(tmp_path, "write", tree)
    assert code == 0 and err == "", err
    assert out == f"Procfile: {procfile.summary(procfile.parse(APP))}\n"
    procs = tree / PROCS
    expected = procfile.release_files(procfile.parse(APP))
    assert {p.name: p.read_text() for p in procs.iterdir() if p.is_file()} == expected
    assert os.readlink(procs / "public/static") == "../../src/static"
    assert os.readlink(procs / "public/media/img") == "../../../media"
    assert (procs / "public/static").resolve() == (tree / "src/static").resolve()
    assert (procs / "public/media/img").resolve() == (tree / "media").resolve()
    # nginx reads them through the team's group, the team's umask notwithstanding
    modes = {str(p.relative_to(procs)): oct(p.lstat().st_mode & 0o777) for p in procs.rglob("*") if not p.is_symlink()}
    assert modes == {"web": "0o644", "health": "0o644", "procs.json": "0o644", "uwsgi.ini": "0o644",
                     "public": "0o755", "public/media": "0o755"}
    assert oct(procs.stat().st_mode & 0o777) == "0o755"
    assert sorted(p.name for p in tree.iterdir()) == [PROCS, "Procfile", "media", "src"]     # nothing left over


def test_a_tree_without_procfile_runs_rapid_news(tmp_path, tree):
    code, out, _ = tool(tmp_path, "write", tree)
    assert code == 0 and out.endswith("(no Procfile)\n")
    assert (tree / PROCS / "web").read_text() == "app.wsgi:app\n"
    assert (tree / PROCS / "health").read_text() == "/healthz\n"
    assert (tree / PROCS / "uwsgi.ini").read_text() == "[uwsgi]\n"
    assert os.readlink(tree / PROCS / "public/static") == "../../app/static"


def test_a_bad_procfile_is_one_line_and_nothing_is_written(tmp_path, tree):
    (tree / "Procfile").write_text("# mine\nweb: app.wsgi\n")
    (tree / PROCS).mkdir()
    (tree / PROCS / "web").write_text("shipped:app\n")
    before = listing(tree)
    code, out, err = tool(tmp_path, "write", tree)
    assert (code, out) == (1, "")
    assert err.splitlines() == ["HN-FAIL Procfile:2: web: 'app.wsgi': " + procfile.ENTRY_HELP]
    assert listing(tree) == before


def test_check_validates_and_writes_nothing(tmp_path, tree):
    (tree / "Procfile").write_text(APP)
    code, out, _ = tool(tmp_path, "check", tree)
    assert code == 0 and out.startswith("Procfile: web src.app:create_app()")
    assert not (tree / PROCS).exists()
    (tree / "Procfile").write_text("web: app:app\ncron: 0 0 * *\n")
    code, _, err = tool(tmp_path, "check", tree)
    assert code == 1 and err.startswith("HN-FAIL Procfile:2: cron: ")


@pytest.mark.parametrize("shipped", ["folder", "file", "link to a folder", "link to nothing"])
def test_what_the_tree_put_at_hacknode_procs_is_replaced_and_never_followed(tmp_path, tree, shipped):
    elsewhere = tmp_path / "another-teams-folder"
    elsewhere.mkdir()
    (elsewhere / "web").write_text("theirs\n")
    procs = tree / PROCS
    if shipped == "folder":
        (procs / "public/static").mkdir(parents=True)
        (procs / "public/static/x.css").write_text("old")
        (procs / "web").write_text("shipped:app\n")
    elif shipped == "file":
        procs.write_text("a file\n")
    else:
        procs.symlink_to(elsewhere if shipped == "link to a folder" else tmp_path / "nothing")
    (tree / "Procfile").write_text(APP)
    code, _, err = tool(tmp_path, "write", tree)
    assert code == 0, err
    assert not procs.is_symlink() and procs.is_dir()
    assert (procs / "web").read_text() == "src.app:create_app()\n" and os.path.islink(procs / "public/static")
    assert listing(elsewhere) == [("web", "file", "theirs\n")]
    assert sorted(p.name for p in tree.iterdir()) == [PROCS, "Procfile", "media", "src"]


def test_writing_again_replaces_the_first_write(tmp_path, tree):
    (tree / "Procfile").write_text(APP)
    assert tool(tmp_path, "write", tree)[0] == 0
    (tree / "Procfile").write_text("web: app:app\n")
    assert tool(tmp_path, "write", tree)[0] == 0
    assert sorted(p.name for p in (tree / PROCS).iterdir()) == ["health", "procs.json", "uwsgi.ini", "web"]


@pytest.mark.parametrize("make, expected", [
    (lambda tree, out: (tree / "src/static").rmdir() or (tree / "src/static").symlink_to(out),
     "HN-FAIL Procfile:4: static: src/static leads outside the release"),
    (lambda tree, out: (tree / "src/static").rmdir() or (tree / "src/static").symlink_to("../../.."),
     "HN-FAIL Procfile:4: static: src/static leads outside the release"),
    (lambda tree, out: (tree / "src/static").rmdir() or (tree / "src/static").symlink_to(".."),
     "HN-FAIL Procfile:4: static: src/static leads outside"),            # its parent is fine, the tree itself is not
    (lambda tree, out: (tree / "src/static").rmdir() or (tree / "src/static").write_text("x"),
     "HN-FAIL Procfile:4: static: src/static is not a folder"),
])
def test_a_static_folder_that_leads_outside_the_release_or_is_no_folder_is_refused(tmp_path, tree, make, expected):
    outside = tmp_path / "other-team-home"
    outside.mkdir()
    make(tree, outside)
    (tree / "Procfile").write_text(APP)
    code, _, err = tool(tmp_path, "write", tree)
    assert code == 1 and err.startswith(expected), err
    assert not (tree / PROCS).exists()


def test_without_procfile_rapid_news_static_folder_must_be_inside_the_release_too(tmp_path, tree):
    (tree / "app").mkdir()
    (tree / "app/static").symlink_to(tmp_path)
    code, _, err = tool(tmp_path, "write", tree)
    assert code == 1 and err.startswith("HN-FAIL Procfile (none: Rapid News's static folder): static: app/static "
                                        "leads outside the release"), err


def test_a_static_folder_the_release_command_makes_later_may_be_missing(tmp_path, tree):
    (tree / "Procfile").write_text("web: app:app\nstatic: /static/ collected/static\n")
    code, _, err = tool(tmp_path, "write", tree)
    assert code == 0, err
    assert os.readlink(tree / PROCS / "public/static") == "../../collected/static"


def test_a_procfile_that_is_a_link_or_a_fifo_is_refused_without_blocking(tmp_path, tree):
    (tmp_path / "elsewhere").write_text("web: app:app\n")
    (tree / "Procfile").symlink_to(tmp_path / "elsewhere")
    code, _, err = tool(tmp_path, "write", tree)
    assert code == 1 and err.startswith("HN-FAIL Procfile: cannot be read as a plain file")
    (tree / "Procfile").unlink()
    os.mkfifo(tree / "Procfile")
    code, _, err = tool(tmp_path, "write", tree)            # a FIFO would block a plain open for ever
    assert code == 1 and err == "HN-FAIL Procfile: not a plain file\n"
    assert not (tree / PROCS).exists()


def test_a_release_folder_that_is_a_link_or_bad_arguments_are_refused(tmp_path, tree):
    (tmp_path / "link").symlink_to(tree)
    code, _, err = tool(tmp_path, "write", tmp_path / "link")
    assert code == 1 and "not a folder" in err and not (tree / PROCS).exists()
    assert tool(tmp_path, "erase", tree)[2] == "HN-FAIL usage: procfile check|write RELEASE_DIR\n"


def test_prepare_writes_hacknode_procs_before_the_release_is_marked_ready(tmp_path):
    paths = LocalPaths(tmp_path)
    for d in (paths.releases, paths.envs, paths.run_dir):
        Path(d).mkdir(parents=True)
    good, bad = Path(paths.releases) / IDS[0], Path(paths.releases) / IDS[1]
    for folder, text in ((good, APP), (bad, "web: app:app\nworker-Bot: python bot.py\n")):
        (folder / "src/static").mkdir(parents=True)
        (folder / "media").mkdir()
        (folder / "requirements.txt").write_text("")
        (folder / "Procfile").write_text(text)
    wanted = "e3b0c44298fc"                                 # of an empty requirements.txt
    (Path(paths.envs) / wanted).mkdir()
    (Path(paths.envs) / wanted / ".hacknode-complete").touch()
    code, out = run_script(paths, "prepare", IDS[0], wanted)
    assert code == 0 and "Procfile: web src.app:create_app()" in out, out
    assert (good / PROCS / "web").read_text() == "src.app:create_app()\n" and (good / "RELEASE").is_file()
    code, out = run_script(paths, "prepare", IDS[1], wanted)
    assert code == 1 and "HN-FAIL Procfile:2: worker-Bot: unknown key" in out, out
    assert not (bad / "RELEASE").exists() and not (bad / PROCS).exists()


class NoServer:
    """A connection nothing may use: the deploy must stop before it reaches the server."""
    def __getattr__(self, name):
        raise AssertionError(f"the deploy used the connection ({name}) with a bad Procfile")


def test_fab_deploy_checks_the_procfile_before_it_sends_anything(tmp_path):
    (tmp_path / "requirements.txt").write_text("pyuwsgi==2.0.30.post1\n")
    (tmp_path / "Procfile").write_text("web: app:app\n\ncron: */10 * * * python scrape.py\n")
    with pytest.raises(tasks.TeamTaskError) as error:
        tasks.deploy_release(NoServer(), None, None, str(tmp_path))
    assert str(error.value).startswith(f"{tmp_path}/Procfile:3: cron: ")
    assert isinstance(error.value, tasks.DeployError)
    (tmp_path / "Procfile").unlink()
    (tmp_path / "Procfile").symlink_to("/etc/hostname")
    with pytest.raises(tasks.TeamTaskError, match="Procfile: not a plain file"):
        tasks.deploy_release(NoServer(), None, None, str(tmp_path))
    (tmp_path / "Procfile").unlink()
    assert tasks.read_procfile(tmp_path) is procfile.DEFAULT
    (tmp_path / "Procfile").write_text(APP)
    assert tasks.read_procfile(tmp_path).workers == {"worker": "python -m bot $(id) %(home)"}


def test_an_app_whose_requirements_name_no_pyuwsgi_is_told_before_anything_is_sent(tmp_path):
    """A team's own app starts from its own requirements.txt; its site runs on the uwsgi of that virtualenv."""
    (tmp_path / "Procfile").write_text("web: main:app\n")
    for text in ("flask==3.0.3\n", "flask\n# pyuwsgi\npyuwsgi-tools\n"):
        (tmp_path / "requirements.txt").write_text(text)
        with pytest.raises(tasks.TeamTaskError) as error:
            tasks.deploy_release(NoServer(), None, None, str(tmp_path))
        assert str(error.value) == (f"{tmp_path}/requirements.txt: no pyuwsgi line: the site runs on uwsgi from the "
                                    "release's own virtualenv (add the line pyuwsgi==2.0.30.post1, as Rapid News's "
                                    "requirements.txt has it)")


def test_a_hacknode_procs_in_the_tree_is_never_shipped(tmp_path):
    src, dest = tmp_path / "src", tmp_path / "dest"
    for name in (f"{PROCS}/web", f"{PROCS}/public/static", "app/.hacknode-procs/kept", "Procfile"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(name)
    command = release.rsync_command(src, str(dest), "ssh")
    subprocess.run([part for part in command if part not in ("--rsh", "ssh")], check=True)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == \
        ["Procfile", "app/.hacknode-procs/kept"]

