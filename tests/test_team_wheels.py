"""Wheelhouse naming, the pip command it runs, and its cache."""
import time
from pathlib import Path

import pytest

from deploy import wheels


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
    command = wheels.pip_download_command("r.txt", "3.11", "aarch64", tmp_path, pip=("pip",))
    assert command[:2] == ["pip", "download"]
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
