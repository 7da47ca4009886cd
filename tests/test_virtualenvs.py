"""Every virtualenv is made by deploy/remote/make-venv.sh from wheelhouses only: with uv (shipped in the wheelhouse)
where it runs, else python3 -m venv + pip with one line saying so. Run for real on local folders, with a wheel
made here (no network, no mocks)."""
import subprocess
import zipfile
from pathlib import Path

from deploy.core import wheels
from deploy.provision import artifacts
from tests.test_team_release import LocalPaths, local_tools, run_script

PROBE = "hnprobe"


def probe_wheelhouse(folder):
    """A wheelhouse holding one tiny pure-Python wheel, hnprobe 1.0."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{PROBE}-1.0.dist-info"
    with zipfile.ZipFile(folder / f"{PROBE}-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{PROBE}/__init__.py", "VALUE = 'from the wheelhouse'\n")
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {PROBE}\nVersion: 1.0\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: hacknode-tests\nRoot-Is-Purelib: true\n"
                                        "Tag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", f"{PROBE}/__init__.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")
    return folder


def probe_value(env):
    done = subprocess.run([f"{env}/bin/python", "-c", f"import {PROBE}; print({PROBE}.VALUE)"],
                          capture_output=True, text=True)
    return done.stdout.strip() or done.stderr


def made_by_uv(env):
    return any(line.startswith("uv = ") for line in (Path(env) / "pyvenv.cfg").read_text().splitlines())


def a_release_needing_the_probe(paths, release_id="20260101T000000Z"):
    for d in (paths.releases, paths.envs, paths.run_dir):
        Path(d).mkdir(parents=True, exist_ok=True)
    probe_wheelhouse(paths.wheels)
    release = Path(paths.releases) / release_id
    release.mkdir()
    (release / "requirements.txt").write_text(f"{PROBE}==1.0\n")
    return release_id, wheels.requirements_hash(release / "requirements.txt")


def test_a_teams_virtualenv_is_made_by_uv_with_its_wheels_linked_from_the_teams_own_cache(tmp_path):
    paths = LocalPaths(tmp_path)
    release_id, env_hash = a_release_needing_the_probe(paths)
    code, out = run_script(paths, "prepare", release_id, env_hash)
    assert code == 0, out
    env = Path(paths.envs) / env_hash
    assert (env / ".hacknode-complete").is_file() and made_by_uv(env)
    assert probe_value(env) == "from the wheelhouse"
    assert "cannot run" not in out
    installed = next(env.glob(f"lib/python3*/site-packages/{PROBE}/__init__.py"))
    cached = [p for p in Path(paths.uv_cache).rglob("__init__.py") if p.stat().st_ino == installed.stat().st_ino]
    assert cached, "the installed file is not a hard link to the team's uv cache"


def test_where_uv_cannot_run_one_line_says_so_and_pip_makes_the_virtualenv(tmp_path):
    tools = Path(local_tools(tmp_path, uv=False))
    # a uv built for another CPU: the kernel refuses to run it
    (tools / "uv").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x02\x00\xb7\x00" + bytes(44))
    (tools / "uv").chmod(0o755)
    env = tmp_path / "env"
    done = subprocess.run([tools / "make-venv", env, tmp_path / "cache", probe_wheelhouse(tmp_path / "wheels"),
                           "--", f"{PROBE}==1.0"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("make-venv: uv cannot run here (")
    assert lines[0].endswith("python3 -m venv + pip instead (slower)")
    assert probe_value(env) == "from the wheelhouse" and not made_by_uv(env)


def test_uv_makes_the_virtualenv_under_a_teams_default_memory_limit(tmp_path):
    # a team's commands run with its address-space limit (inventory memory_mb, 512 MB by default, limits.d)
    tools = Path(local_tools(tmp_path))
    env = tmp_path / "env"
    done = subprocess.run(["prlimit", f"--as={512 * 2**20}", "--", tools / "make-venv", env, tmp_path / "cache",
                           probe_wheelhouse(tmp_path / "wheels"), "--", f"{PROBE}==1.0"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert probe_value(env) == "from the wheelhouse" and made_by_uv(env)


def test_no_wheelhouse_on_the_server_is_said_and_nothing_is_made(tmp_path):
    tools = Path(local_tools(tmp_path))
    done = subprocess.run([tools / "make-venv", tmp_path / "env", tmp_path / "cache", tmp_path / "nowhere", "--",
                           f"{PROBE}==1.0"], capture_output=True, text=True)
    assert done.returncode == 1 and "none of the wheelhouses exists" in done.stderr
    assert not (tmp_path / "env").exists()


def test_uv_is_pinned_alike_in_the_servers_wheelhouse_and_in_the_tests_tools():
    dev = (artifacts.REPO / "requirements-dev.txt").read_text().splitlines()
    assert artifacts.UV_REQUIREMENT in dev
    text = artifacts.server_requirements(["pymongo==4.20.0"], artifacts.REPO / ".cache").read_text()
    assert artifacts.UV_REQUIREMENT in text.splitlines()
