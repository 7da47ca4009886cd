"""Keys from accounts, pure: a team's `keys` entry `github:alice` or `gitlab:bob` names a forge account whose public
keys its `<base>/<user>.keys` endpoint serves (GitHub, GitLab: one OpenSSH key a line). Fetching and caching them is
deploy/provision/account_keys.py's job; here: reading an entry, the endpoint's URL, and checking what it answered
like an inline key (deploy/inventory/ssh_keys.py)."""
import re
from dataclasses import dataclass

from deploy.inventory.ssh_keys import public_key_problem

FORGES = ("github", "gitlab")
DEFAULT_BASES = {"github": "https://github.com", "gitlab": "https://gitlab.com"}
# GitHub's and GitLab's user names: letters, digits, '-', '_', '.'; never '/' (the name is one URL path segment)
USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
MAX_ANSWER = 65536          # a person's keys are a few lines; more is not a keys endpoint


@dataclass(frozen=True)
class ForgeAccount:
    """A team's `keys` entry naming an account: its forge, its user, and where the inventory says it."""
    forge: str              # "github" | "gitlab"
    user: str
    where: str = ""         # "inventory.yml:57: teams[3].keys[0]", for messages

    @property
    def name(self):
        return f"{self.forge}:{self.user}"


def is_account_entry(item):
    """Whether a `keys` entry names a forge account ('github:...', 'gitlab:...') rather than a key or a file."""
    return isinstance(item, str) and item.strip().split(":", 1)[0] in FORGES and ":" in item


def account_of_entry(item, where=""):
    """(the ForgeAccount an entry 'github:alice' names, ''), or (None, why not)."""
    forge, _, user = item.strip().partition(":")
    user = user.strip()
    if not USER_RE.match(user):
        return None, (f"{forge}:{user[:40]!r}: not a {forge} user name (letters, digits, '-', '_', '.'), "
                      f"e.g. {forge}:alice")
    return ForgeAccount(forge, user, where), ""


def keys_url(base, user):
    """The account's public keys endpoint: <base>/<user>.keys (GitHub's and GitLab's)."""
    return f"{base.rstrip('/')}/{user}.keys"


def parse_keys_answer(text, account):
    """(the keys an endpoint's answer lists, ''), or (None, why not). Blank lines and '#' comments are skipped;
    each key is checked like an inline one and gets the account as its comment when it has none (who it is, in the
    server's authorized_keys); an answer with no key is refused (the account has none to log in with)."""
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        why = public_key_problem(line)
        if why:
            return None, f"its key on line {number}: {why}"
        fields = line.split(None, 2)
        keys.append(" ".join(fields if len(fields) == 3 else fields + [account.name]))
    if not keys:
        return None, "the account has no public SSH key (its owner adds one in the forge's settings)"
    return keys, ""
