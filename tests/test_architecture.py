"""docs/architecture.md is one screen at 120 columns that names every package, module and server program, so a
new module cannot be left off it."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "architecture.md"


def blocks(text):
    """{first word of a line that starts at column 0: the text of that line and its indented continuation}"""
    found, current = {}, None
    for line in text.splitlines():
        if line[:1] not in ("", " ", "`", "*", "#"):
            current = line.split()[0]
            found[current] = line[len(current):]
        elif current and line.startswith(" "):
            found[current] += " " + line
        else:
            current = None
    return found


def names_in(folder, keep, whole=False):
    return sorted(p.name if whole else p.stem for p in folder.iterdir() if keep(p) and p.name != "__init__.py")


def test_the_page_fits_one_screen_at_120_columns():
    lines = PAGE.read_text().splitlines()
    assert len(lines) <= 50
    assert [line for line in lines if len(line) > 120] == []


def test_every_package_and_module_is_named_under_its_package():
    page = blocks(PAGE.read_text())
    packages = sorted(p for p in (REPO / "deploy").iterdir() if (p / "__init__.py").exists() and p.name != "remote")
    missing = []
    for package in packages:
        text = page.get(f"deploy/{package.name}/", "")
        missing += [f"deploy/{package.name}/{m}" for m in names_in(package, lambda p: p.suffix == ".py")
                    if not re.search(rf"\b{m}\b", text)]
    remote = page.get("deploy/remote/", "")
    programs = names_in(REPO / "deploy" / "remote", lambda p: p.suffix in (".py", ".sh"), whole=True)
    missing += [f"deploy/remote/{m}" for m in programs if not re.search(rf"(?<![\w-]){re.escape(m)}", remote)]
    lab = page.get("lab/", "")
    missing += [f"lab/{m}" for m in names_in(REPO / "lab", lambda p: p.suffix == ".py")
                if not re.search(rf"\b{m}\b", lab)]
    assert missing == []
    assert [p for p in (REPO / "deploy").glob("*.py") if p.name != "__init__.py"] == [], "a module outside a package"
