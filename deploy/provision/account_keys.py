"""Keys from accounts: the keys of every `github:NAME` / `gitlab:NAME` entry of the teams, fetched on the instructor's
machine from the forge's `<base>/<NAME>.keys` (the inventory's `forges:`), before anything is sent to a server.

Each answer is cached beside the inventory (.hacknode/forge-keys/<forge>/<name>.json: its URL, the keys, when it was
fetched) and used from there afterwards, offline; `refresh` fetches every account again. An account that has no key,
does not exist or cannot be reached is one line naming its team and entry, and nothing goes on: no server is touched.
"""
import dataclasses
import datetime
import json
import os
import ssl
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from deploy.core.errors import DeployError
from deploy.inventory.forges import MAX_ANSWER, keys_url, parse_keys_answer

TIMEOUT = 15                # seconds for one forge's answer
PARALLEL = 8                # accounts fetched at once: a class of 170 in seconds, a forge not hammered


class AccountKeysError(DeployError):
    """Keys of some accounts could not be had; one line per account, nothing was sent anywhere."""


def cache_dir(inventory):
    return os.path.join(os.path.dirname(os.path.abspath(inventory.path)), ".hacknode", "forge-keys")


def cache_file(inventory, account):
    return os.path.join(cache_dir(inventory), account.forge, f"{account.user.lower()}.json")


def ssl_context(forges):
    """The system's CAs, and forges.ca_bundle's beside them (a private CA: an institution's, the lab's)."""
    context = ssl.create_default_context()
    if forges.ca_bundle:
        try:
            context.load_verify_locations(cafile=forges.ca_bundle)
        except (OSError, ssl.SSLError) as e:
            raise AccountKeysError(f"forges.ca_bundle {forges.ca_bundle}: not a readable PEM file of CAs "
                                   f"({getattr(e, 'strerror', None) or e})") from None
    return context


def fetch(url, context):
    """(the endpoint's answer as text, ''), or (None, why not) in a few words."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT, context=context) as response:
            body = response.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as e:
        return None, (f"no such account ({url} answered 404)" if e.code == 404 else f"{url} answered {e.code}")
    except (urllib.error.URLError, OSError) as e:
        return None, f"cannot reach {url}: {getattr(e, 'reason', None) or e}"
    if len(body) > MAX_ANSWER:
        return None, f"{url} answered more than {MAX_ANSWER} bytes: not a keys endpoint"
    try:
        return body.decode("utf-8"), ""
    except UnicodeDecodeError:
        return None, f"{url} answered something that is not text"


def read_cache(path, url):
    """(keys, fetched time) cached for `url`, or None (no cache, another forge's, or damaged: fetched again)."""
    try:
        with open(path, encoding="utf-8") as handle:
            cached = json.load(handle)
        if cached["url"] == url and cached["keys"] and all(isinstance(k, str) for k in cached["keys"]):
            return list(cached["keys"]), str(cached["fetched"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def write_cache(path, url, keys, fetched):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump({"url": url, "fetched": fetched, "keys": keys}, handle, indent=1)
    os.replace(path + ".tmp", path)


def account_keys(inventory, account, refresh, context):
    """(keys, fetched time, came from the cache, why not)."""
    url = keys_url(getattr(inventory.forges, account.forge), account.user)
    path = cache_file(inventory, account)
    cached = None if refresh else read_cache(path, url)
    if cached:
        keys, why = parse_keys_answer("\n".join(cached[0]), account)   # a cache edited by hand is checked too
        if not why:
            return keys, cached[1], True, ""
    text, why = fetch(url, context)
    keys, why = parse_keys_answer(text, account) if text is not None else (None, why)
    if why:
        return None, "", False, why
    fetched = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_cache(path, url, keys, fetched)
    return keys, fetched, False, ""


def with_account_keys(inventory, refresh=False, say=print):
    """The inventory with every team's forge accounts' keys added to its keys; AccountKeysError naming each team and
    account whose keys cannot be had (nothing sent anywhere). `refresh`: fetch them all again, the cache aside."""
    wanted = {(a.forge, a.user.lower()): a for team in inventory.teams for a in team.accounts}
    if not wanted:
        return inventory
    context = ssl_context(inventory.forges)
    with ThreadPoolExecutor(PARALLEL) as pool:
        found = dict(zip(wanted, pool.map(lambda a: account_keys(inventory, a, refresh, context), wanted.values())))
    failures = [f"{team.name}: {a.name}: {found[(a.forge, a.user.lower())][3]} ({a.where})"
                for team in inventory.teams for a in team.accounts if found[(a.forge, a.user.lower())][3]]
    if failures:
        raise AccountKeysError("\n".join(failures) + "; nothing was sent to any server")
    cached = sorted(f[1] for f in found.values() if f[2])
    say(f"keys from accounts: {len(found) - len(cached)} fetched, {len(cached)} from the cache"
        + (f" (the oldest fetched {cached[0]}; fab provision --refresh-keys fetches them again)" if cached else ""))
    teams = tuple(dataclasses.replace(team, keys=merged(team.keys, [k for a in team.accounts
                                                                     for k in found[(a.forge, a.user.lower())][0]]))
                  for team in inventory.teams)
    return dataclasses.replace(inventory, teams=teams)


def merged(keys, more):
    """`keys` then `more`, each key once (by type and data: the same key given inline and by an account)."""
    seen, result = set(), []
    for key in list(keys) + list(more):
        if tuple(key.split()[:2]) not in seen:
            seen.add(tuple(key.split()[:2]))
            result.append(key)
    return tuple(result)
