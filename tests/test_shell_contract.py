"""The shell contract: every program of deploy/remote/ passes shellcheck as it runs on a server (with the header
its builder puts first and the files it sources put in place), and every shell helper (hn_*) a Python builder names
is defined there, so a misspelt variable, helper or unquoted path is found here, not on a class server."""
import ast
import re
import shutil
import subprocess
import tokenize
from pathlib import Path

import pytest

from deploy.admin import tasks
from deploy.core import commands
from deploy.provision import bundle
from deploy.core.layout import TeamPaths
from deploy.inventory.model import MongoSettings

REMOTE = commands.REMOTE
DEPLOY = Path(__file__).parent.parent / "deploy"
HELPER = re.compile(r"\bhn_[a-z0-9_]+")
STRING_TOKENS = {tokenize.STRING} | ({tokenize.FSTRING_MIDDLE} if hasattr(tokenize, "FSTRING_MIDDLE") else set())
PATHS = TeamPaths("hacknode1")


def programs():
    """{name: the text that runs} for each deploy/remote/*.sh that runs by itself; the others are sourced by them."""
    composed = {
        "release.sh": commands.release_script_text(PATHS),
        "git-pre-receive.sh": commands.git_hook_text(PATHS, "hacknode1.class.example.org", "main"),
        "acme.sh": commands.acme_tool_text(),
        "apply-lib.sh": bundle.server_script(["hn_step main example"], MongoSettings(mode="secantus")),
        "teardown.sh": bundle.server_script(tasks.teardown_commands(), MongoSettings(mode="secantus")),
    }
    sourced = {name for path in REMOTE.glob("*.sh") for name in commands.SOURCED.findall(path.read_text())}
    alone = {path.name: commands.remote_program(path.name) for path in REMOTE.glob("*.sh")
             if path.name not in sourced | set(bundle.LIBRARIES)}
    return {**alone, **composed}


def shellcheck(name, text, tmp_path):
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is missing: `./inv test` installs it (as root), or apt-get install shellcheck")
    path = tmp_path / name
    path.write_text(text)
    shell = [] if text.startswith("#!") else ["--shell=bash"]
    done = subprocess.run(["shellcheck", "--format=tty", "--color=never", *shell, path.name], cwd=tmp_path,
                          capture_output=True, text=True)
    return done.stdout + done.stderr


def test_every_shell_program_passes_shellcheck_as_it_runs(tmp_path):
    found = {name: shellcheck(name, text, tmp_path) for name, text in programs().items()}
    said = "".join(found.values())
    assert said == "", said


def test_every_shell_file_is_checked_in_a_program_that_runs():
    texts = "\n".join(programs().values())
    for path in REMOTE.glob("*.sh"):
        body = max(path.read_text().splitlines(), key=len)       # its longest line, as it is in a program
        assert body in texts, f"{path.name} is neither a program nor in one"


def python_strings(path):
    """The text of every string literal of a Python file (what it can emit), comments left out."""
    with open(path, "rb") as f:
        return [t.string for t in tokenize.tokenize(f.readline) if t.type in STRING_TOKENS]


def shell_code(text):
    """A shell file without its comments (a `#` starting a line or after a space)."""
    return "\n".join(re.sub(r"(^|\s)#.*", "", line) for line in text.splitlines())


def test_every_helper_a_builder_emits_is_defined_and_every_helper_is_used():
    shell = {path.name: shell_code(path.read_text()) for path in REMOTE.glob("*.sh")}
    defined = {name for code in shell.values() for name in re.findall(r"^(hn_\w+)\(\)", code, re.MULTILINE)}
    emitted = {name for path in DEPLOY.rglob("*.py") for string in python_strings(path)
               for name in HELPER.findall(string) if not name.endswith("_")}     # hn_job_<team>: bundle.team_jobs
    assert emitted - defined == set(), "emitted by deploy/ but defined in no deploy/remote/*.sh"
    called = {name for code in shell.values() for name in HELPER.findall(re.sub(r"^hn_\w+\(\)", "", code,
                                                                                 flags=re.MULTILINE))}
    assert defined - emitted - called == set(), "defined in deploy/remote/ but used nowhere"


# Shell control syntax: ||, &&, $( ), `...$...`, if/then, loops, [ tests ], a pipe, a background &, a redirection to or
# from a file or fd. In a string, it is shell composed in Python: it belongs in a helper of deploy/remote/.
SHELL_SYNTAX = re.compile(r"\|\||&&|\$\(|`[^`]*[$|][^`]*`|;\s*(then|do|else|fi|done)\b|\bif \[|\[ -[a-z] |\s\|\s|\s&(\s|$)"
                          r"|(^|\s)\d?>>?(\s|[/&$\"])|(^|\s)<\s*[\"']?[/$]")
# {(file, the string as composed_strings gives it): why it stays}: local commands (the user's own machine), no server's
SHELL_ALLOWED = {
    ("deploy/team/tasks.py", "X -o ConnectTimeout=15 X true </dev/null"):
        "the local ssh that opens the rsyncs' master connection in the background: it must not read the terminal",
}


def composed_strings(path):
    """(line, text) for each string a Python file composes (an f-string's values as X), docstrings left out."""
    tree = ast.parse(path.read_text())
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skip |= {id(value) for value in node.values}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)


def test_no_python_string_in_deploy_composes_shell():
    found = {(str(path.relative_to(DEPLOY.parent)), text): line for path in sorted(DEPLOY.rglob("*.py"))
             if REMOTE not in path.parents for line, text in composed_strings(path) if SHELL_SYNTAX.search(text)}
    assert set(found) - set(SHELL_ALLOWED) == set(), "\n".join(f"{f}:{line}: {text}" for (f, text), line in found.items()
                                                             if (f, text) not in SHELL_ALLOWED)
    assert set(SHELL_ALLOWED) - set(found) == set(), "allowed, but no longer found there"


def test_shell_syntax_is_told_from_prose():
    assert all(SHELL_SYNTAX.search(line) for line in ["a || b", "a && b", "x=$(hn_secret)", "if [ -e X ]; then b; fi",
                                                      "echo X > /etc/f", "cmd 2>/dev/null", "a | b", "a & b=$!",
                                                      "done < /etc/f", "`cat $f`"])
    assert not any(SHELL_SYNTAX.search(line) for line in ["run `fab status` first", ">I", "a -> b", "hn_must 'why' a",
                                                          "for <team>.<domain>", "python_version < '3.11'"])
