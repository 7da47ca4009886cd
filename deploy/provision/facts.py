"""What a server reports about itself, as typed values: deploy/remote/facts.py prints one JSON object (one
round trip), Facts.parse turns it into these once, and planning reads only these (as pyinfra's facts do)."""
import json
from dataclasses import dataclass, field

from deploy.core.errors import ProvisionError


@dataclass(frozen=True)
class PathFact:
    """A file, directory or link on the server; `text` only for files whose content was asked for."""
    owner: str
    group: str
    mode: str                   # "0750"
    link: str = ""              # where a symbolic link points
    text: str = None            # a managed file's content
    too_big: bool = False       # a file over the facts' size cap: not read (a team's keys), so it is written again

    def state(self):
        return self.owner, self.group, self.mode


@dataclass
class Facts:
    os_id: str = ""                                 # /etc/os-release ID and VERSION_ID: "debian", "12"
    os_version: str = ""
    python: str = "3.11"                            # the server's python3, major.minor
    arch: str = "x86_64"
    commands: dict = field(default_factory=dict)    # command -> on the PATH
    python_venv: bool = False                       # python3 can make virtualenvs
    users: dict = field(default_factory=dict)       # user -> exists
    gecos: dict = field(default_factory=dict)       # user -> its account's comment field (pam_umask reads it)
    groups: dict = field(default_factory=dict)      # user name -> the group of that name {gid, members}, or None
    scheduled_jobs: dict = field(default_factory=dict)  # user -> how many crontabs and at jobs it has
    files: dict = field(default_factory=dict)       # path -> PathFact with text, or None when absent
    paths: dict = field(default_factory=dict)       # path -> PathFact without text, or None when absent
    present_teams: tuple = ()                       # the teams provisioning made (layout.TEAMS_DIR)
    running: dict = field(default_factory=dict)     # service -> a process of it runs
    slices: dict = field(default_factory=dict)      # user -> its systemd user slice's hacknode drop-in, or None
    quota: dict = field(default_factory=lambda: {"mount": "/", "on": False, "limits": {}})
                                                    # user quotas of /home's filesystem: mount, on, user -> [KiB, inodes]
    globs: dict = field(default_factory=dict)       # pattern asked for -> the paths matching it, sorted
    databases: dict = field(default_factory=dict)   # mode external: host:port -> "" when it answers, else why not

    @classmethod
    def parse(cls, text, host=""):
        """The facts script's output as Facts; ProvisionError when it is not what the script prints."""
        try:
            data = json.loads(text)
            return cls(os_id=data["os"]["id"], os_version=data["os"]["version"], python=data["python"],
                       arch=data["arch"], commands=data["commands"], python_venv=data["python_venv"],
                       users=data["users"], gecos=data["gecos"], groups=data["groups"],
                       scheduled_jobs=data["scheduled_jobs"], files=path_facts(data["files"]),
                       paths=path_facts(data["paths"]),
                       present_teams=tuple(data["present_teams"]), running=data["running"],
                       slices=data["slices"], quota=data["quota"],
                       globs=data.get("globs", {}), databases=data.get("databases", {}))
        except (ValueError, KeyError, TypeError) as error:
            raise ProvisionError(f"{host}: the server's state could not be read ({error!r}): {text[-300:]}")

    def file_text(self, path):
        """The content of a file asked for with its text, or None when it is absent."""
        fact = self.files.get(path)
        return fact.text if fact else None

    def has(self, path):
        return self.paths.get(path) is not None or self.files.get(path) is not None


def path_facts(raw):
    return {path: PathFact(**{k: v for k, v in fact.items() if k != "sha256"}) if fact else None
            for path, fact in raw.items()}
