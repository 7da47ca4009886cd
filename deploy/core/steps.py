"""What provisioning steps are made of: files and directories kept in a state, and steps that
report `ok` or `changed` with the commands that bring the server to the desired state."""
import difflib
import shlex
from dataclasses import dataclass, field


@dataclass(frozen=True)
class File:
    """A file provisioning keeps in a given state on a server."""
    path: str
    content: str
    owner: str = "root"
    group: str = "root"
    mode: str = "0644"


@dataclass(frozen=True)
class Dir:
    path: str
    owner: str
    group: str
    mode: str


@dataclass(frozen=True)
class Upload:
    """Something a step ships in the bundle beside its files: a local file or folder, or text."""
    name: str                       # where it lands in the bundle ($HN_STAGE/<name> on the server)
    source: str = ""                # a local path
    text: str = None                # or this content
    fill: object = None             # a function that fills `source` first (called before it is bundled)


@dataclass
class Step:
    scope: str                      # the server's name, or a team's
    name: str
    changed: bool
    why: str = ""                   # what differs, in a few words
    commands: list = field(default_factory=list)
    files: list = field(default_factory=list)   # File objects to ship and install
    diff: str = ""
    uploads: list = field(default_factory=list)  # Upload objects the commands use from $HN_STAGE
    job: str = ""                   # a team's name: its steps run in order in one background job, beside other
                                    # teams' jobs (deploy/provision/bundle.py); "" runs in the script's own order


def unified_diff(path, old, new):
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        fromfile=f"{path} (on server)", tofile=f"{path} (new)"))


def file_changes(files, facts):
    """The files whose content, owner or mode differ from the server's, with their diffs."""
    changed, diffs = [], []
    for f in files:
        now = facts.files.get(f.path)
        if now is None:
            changed.append(f)
            diffs.append(unified_diff(f.path, "", f.content))
        elif now.too_big:
            changed.append(f)
            diffs.append(f"{f.path}: too big to read on the server: written again\n")
        elif now.text != f.content:
            changed.append(f)
            diffs.append(unified_diff(f.path, now.text or "", f.content))
        elif now.state() != (f.owner, f.group, f.mode):
            changed.append(f)
            diffs.append(f"{f.path}: {now.owner}:{now.group} {now.mode} -> {f.owner}:{f.group} {f.mode}\n")
    return changed, "".join(diffs)


def install_commands(files):
    return [f"hn_install \"$HN_STAGE/files{f.path}\" {shlex.quote(f.path)} {f.owner} {f.group} {f.mode}"
            for f in files]
