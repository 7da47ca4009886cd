"""README.md cannot rot: every `sh` block in it is run, in order, in a fresh copy of this checkout.

Convention (README.md, "How this README is tested"): a ```sh block runs here; one right after
`<!-- run: class -->` runs against a provisioned class (tests/e2e/test_readme_class.py); one right after
`<!-- not run: REASON -->` is skipped and must give its reason; ```text blocks are output.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(run: class|not run:(.*?))\s*-->\s*$")


def readme_blocks(text):
    """[(kind, language, code, line)]: kind is 'local', 'class' or 'not run: reason'."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, language, start = fence.group(1), fence.group(2), i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        i += 1
        previous = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        marker = MARKER.match(previous)
        kind = "local" if not marker else ("class" if marker.group(1) == "run: class" else marker.group(1))
        blocks.append((kind, language, "\n".join(body) + "\n", start + 1))
    return blocks


def sh_blocks(kind):
    return [(code, line) for k, language, code, line in readme_blocks((REPO / "README.md").read_text())
            if language == "sh" and k == kind]


def fresh_copy(directory):
    """A git clone of this checkout with its working tree's files (`git ls-files -co --exclude-standard`)
    copied over it, so uncommitted work is tested too; this checkout's .venv linked in."""
    subprocess.run(["git", "clone", "-q", str(REPO), str(directory)], check=True)
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
                            capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, directory / name)
    (directory / ".venv").symlink_to(REPO / ".venv")
    return directory


def run_block(code, line, cwd, env=None):
    """Run a block with bash -e (every command must succeed); return its output."""
    environment = {**os.environ, **(env or {}), "PATH": f"{REPO / '.venv/bin'}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"README.md:{line}: block failed ({done.returncode}):\n{code}\n{output[-3000:]}"
    return output


def test_every_block_that_is_not_run_says_why():
    blocks = readme_blocks((REPO / "README.md").read_text())
    assert blocks, "README.md has no code blocks"
    for kind, language, code, line in blocks:
        if kind.startswith("not run"):
            assert kind.split(":", 1)[1].strip(), f"README.md:{line}: say why this block is not run"
            assert language == "sh", f"README.md:{line}: only sh blocks are run, so only they can be 'not run'"
    assert sh_blocks("local") and sh_blocks("class")


def test_the_quick_start_is_exactly_two_commands():
    text = (REPO / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert [code.strip() for kind, language, code, line in readme_blocks(quick) if language == "sh"] == \
        ["./inv demo", "./inv test"]


def test_local_blocks_run_as_written_in_a_fresh_copy(tmp_path):
    copy = fresh_copy(tmp_path / "hacknode")
    outputs = {line: run_block(code, line, copy) for code, line in sh_blocks("local")}
    everything = "\n".join(outputs.values())
    assert "1^2 = 1; 2^2 = 4; 3^2 = 9;" in everything           # what the README says it prints
    assert "provision" in everything and "deploy" in everything  # fab -l
    assert (copy / "review/nginx").is_dir()                       # ./inv render --out review
    assert "workshop: 0 of 10 exercises done" in everything        # ./inv workshop on the untouched app
