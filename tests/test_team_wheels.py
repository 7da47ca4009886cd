"""Wheelhouse naming, the pip command it runs, its cache, and environment markers judged for the server."""
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import parse_wheel_filename

from deploy.core import wheels


def requirements(tmp_path, text="Flask==3.1.3\n"):
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


def test_key_covers_requirements_python_and_architecture(tmp_path):
    one = wheels.wheelhouse_key(requirements(tmp_path), "3.11", "x86_64")
    assert one == f"{wheels.requirements_hash(tmp_path / 'requirements.txt')}-py3.11-x86_64"
    assert wheels.wheelhouse_key(requirements(tmp_path), "3.12", "x86_64") != one
    assert wheels.wheelhouse_key(requirements(tmp_path), "3.11", "aarch64") != one
    assert wheels.wheelhouse_key(requirements(tmp_path, "Flask==3.1.2\n"), "3.11", "x86_64") != one


def test_requirements_hash_is_twelve_hex_digits_of_sha256(tmp_path):
    # sha256("Flask==3.1.3\n") starts with these digits: the server's `sha256sum | cut -c1-12` agrees
    import hashlib
    assert wheels.requirements_hash(requirements(tmp_path)) == hashlib.sha256(b"Flask==3.1.3\n").hexdigest()[:12]


@pytest.mark.parametrize("version, arch, field", [("3", "x86_64", "python version"), ("3.11; rm", "x86_64", "python"),
                                                  ("3.11", "x86 64", "architecture")])
def test_bad_server_facts_are_named(tmp_path, version, arch, field):
    with pytest.raises(wheels.WheelhouseError, match=field):
        wheels.build_wheelhouse(requirements(tmp_path), version, arch, cache_dir=tmp_path / "cache")


def test_pip_download_asks_for_binary_wheels_of_the_server_platform(tmp_path):
    command = wheels.pip_download_command(["Flask==3.1.3", "tomli>=2.0"], "3.11", "aarch64", tmp_path, pip=("pip",))
    assert command[:2] == ["pip", "download"] and command[-2:] == ["Flask==3.1.3", "tomli>=2.0"]
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == "3.11"
    platforms = [command[i + 1] for i, part in enumerate(command) if part == "--platform"]
    assert platforms == ["manylinux_2_28_aarch64", "manylinux2014_aarch64", "manylinux_2_17_aarch64"]


def test_a_complete_wheelhouse_is_reused_without_pip(tmp_path):
    path = requirements(tmp_path)
    cached = tmp_path / "cache" / wheels.wheelhouse_key(path, "3.11", "x86_64")
    cached.mkdir(parents=True)
    (cached / wheels.COMPLETE).write_text("")
    (cached / "flask-3.1.3-py3-none-any.whl").write_text("")
    started = time.monotonic()
    assert wheels.build_wheelhouse(path, "3.11", "x86_64", cache_dir=tmp_path / "cache") == str(cached)
    print(f"cached wheelhouse lookup: {(time.monotonic() - started) * 1000:.1f} ms")
    assert wheels.wheel_files(cached) == ["flask-3.1.3-py3-none-any.whl"]


def test_missing_requirements_file_is_named(tmp_path):
    with pytest.raises(wheels.WheelhouseError, match="no-such.txt: no such requirements file"):
        wheels.build_wheelhouse(tmp_path / "no-such.txt", "3.11", "x86_64", cache_dir=tmp_path)


@pytest.mark.parametrize("requirement, python, arch, extras, needed", [
    ('tomli>=2.0; python_version < "3.11"', "3.10", "x86_64", (), True),
    ('tomli>=2.0; python_version < "3.11"', "3.11", "x86_64", (), False),
    ('exceptiongroup; python_full_version < "3.11.0"', "3.10", "x86_64", (), True),
    ('libclang; sys_platform == "win32"', "3.11", "x86_64", (), False),
    ('uvloop; sys_platform != "win32" and platform_python_implementation != "PyPy"', "3.11", "x86_64", (), True),
    ('simdjson; platform_machine == "aarch64"', "3.11", "aarch64", (), True),
    ('simdjson; platform_machine == "aarch64"', "3.11", "x86_64", (), False),
    ('pytest>=8.0; extra == "dev"', "3.11", "x86_64", (), False),
    ('pytest>=8.0; extra == "dev"', "3.11", "x86_64", ("dev",), True),
    ("Flask==3.1.3", "3.10", "aarch64", (), True),
])
def test_markers_are_judged_for_the_server_not_this_python(requirement, python, arch, extras, needed):
    environment = wheels.target_environment(python, arch)
    assert wheels.wanted(Requirement(requirement), environment, extras) is needed


def test_requirements_file_lines_and_comments(tmp_path):
    path = requirements(tmp_path, "# pins\nFlask==3.1.3  # web\n\ntomli>=2.0; python_version < '3.11'\n")
    assert [str(r) for r in wheels.read_requirements(path)] == ["Flask==3.1.3", 'tomli>=2.0; python_version < "3.11"']


def test_a_line_that_is_no_requirement_is_named(tmp_path):
    path = requirements(tmp_path, "Flask==3.1.3\n-r other.txt\n")
    with pytest.raises(wheels.WheelhouseError, match=r"requirements.txt line 2: '-r other.txt' is not a requirement"):
        wheels.build_wheelhouse(path, "3.11", "x86_64", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_wheelhouse_holds_what_the_servers_python_needs(tmp_path):
    # Real downloads from PyPI. pymongo 4.19+ needs Python 3.11, so a class with Ubuntu 22.04 (3.10)
    # servers pins by marker; secantusdb needs tomli on 3.10 only. pip alone, running on 3.11, would
    # judge both markers for 3.11: ask for two pymongo versions and leave tomli out.
    path = requirements(tmp_path, "secantusdb==0.7.0b3\n"
                                  "pymongo==4.20.0; python_version >= '3.11'\n"
                                  "pymongo==4.18.3; python_version < '3.11'\n")
    built = {}
    for python in ("3.10", "3.11"):
        started = time.monotonic()
        built[python] = wheels.build_wheelhouse(path, python, "x86_64", cache_dir=tmp_path / "cache")
        print(f"wheelhouse for Python {python}: {time.monotonic() - started:.1f} s")
    found = {python: {name: str(version) for name, version, _, _ in map(parse_wheel_filename, wheels.wheel_files(house))}
             for python, house in built.items()}
    assert "tomli" in found["3.10"] and found["3.10"]["pymongo"] == "4.18.3"
    assert "tomli" not in found["3.11"] and found["3.11"]["pymongo"] == "4.20.0"
    assert all("cp311" not in name for name in wheels.wheel_files(built["3.10"]))
    for python, house in built.items():   # nothing left that the server would miss
        assert wheels.missing_requirements(house, wheels.read_requirements(path),
                                           wheels.target_environment(python, "x86_64")) == []
    # Without its tomli wheel the 3.10 wheelhouse is found lacking exactly that.
    next(Path(built["3.10"]).glob("tomli-*.whl")).unlink()
    missing = wheels.missing_requirements(built["3.10"], wheels.read_requirements(path),
                                          wheels.target_environment("3.10", "x86_64"))
    assert [str(r) for r in missing] == ['tomli>=2.0; python_version < "3.11"']


def test_a_wheelhouse_another_run_finished_meanwhile_is_kept_not_replaced(tmp_path, monkeypatch):
    """Two provisioning runs on a cold cache (the suite's two sessions, two instructors' terminals) build the same
    wheelhouse: the one that finishes second must not delete the first's, which its run may be shipping."""
    path = requirements(tmp_path, "")
    cache = tmp_path / "cache"
    target = cache / wheels.wheelhouse_key(path, "3.11", "x86_64")

    def the_other_run_finishes_first(wheelhouse, wanted, environment):
        target.mkdir(parents=True, exist_ok=True)
        (target / "theirs-1.0-py3-none-any.whl").write_text("in use")
        (target / wheels.COMPLETE).write_text("theirs\n")
        return []

    monkeypatch.setattr(wheels, "missing_requirements", the_other_run_finishes_first)
    assert wheels.build_wheelhouse(path, "3.11", "x86_64", cache_dir=cache) == str(target)
    assert (target / "theirs-1.0-py3-none-any.whl").read_text() == "in use"
    assert [p.name for p in cache.iterdir() if p.name.startswith(f".{target.name}-")] == []   # no partial left
