"""The house's size rules, held by a test: no module or server program over 300 lines, no function over 60."""
import ast
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_LINES, MAX_FUNCTION = 300, 60


def tracked(*patterns):
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", *patterns], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split()
    return [REPO / name for name in listed if (REPO / name).is_file()]


def test_no_module_or_server_program_over_300_lines():
    files = tracked("*.py", "deploy/remote/*.sh", "inv")
    assert [f"{p.relative_to(REPO)}: {n}" for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES] == []


def test_no_python_function_over_60_lines():
    long = []
    for path in tracked("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if (size := node.end_lineno - node.lineno + 1) > MAX_FUNCTION:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {size}")
    assert long == []


def test_no_shell_function_over_60_lines():
    long = []
    for path in tracked("deploy/remote/*.sh"):
        start = None
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.rstrip().endswith("() {") and not line.startswith((" ", "\t")):
                start, name = number, line.split("(")[0]
            elif line == "}" and start:
                if number - start + 1 > MAX_FUNCTION:
                    long.append(f"{path.relative_to(REPO)}:{start} {name}: {number - start + 1}")
                start = None
    assert long == []
