"""The `forges:` section: where keys given as `github:NAME` / `gitlab:NAME` are fetched (NAME.keys under each base
URL: an institution's own GitLab, say), and a CA bundle to trust for them (a private CA's, beside the system's)."""
import os
from urllib.parse import urlsplit

from deploy.inventory.forges import DEFAULT_BASES, FORGES
from deploy.inventory.model import ForgeSettings

FORGE_KEYS = FORGES + ("ca_bundle",)


def base_problem(url):
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return f"{url!r} is not an https:// URL (keys fetched over plain HTTP could be changed on the way)"
    if parts.query or parts.fragment:
        return f"{url!r}: give the forge's base URL only, e.g. https://gitlab.example.edu"
    return ""


def check_forges(check, doc):
    """The ForgeSettings the section gives (GitHub's and GitLab's when absent), or None after a problem."""
    if "forges" not in doc:
        return ForgeSettings()
    section = check.mapping(doc["forges"], doc.lines["forges"], "forges", FORGE_KEYS)
    if section is None:
        return None
    bases = {forge: check.string(section, forge, f"forges.{forge}", DEFAULT_BASES[forge], why_not=base_problem)
             for forge in FORGES}
    bundle = check.string(section, "ca_bundle", "forges.ca_bundle", "")
    if bundle:
        bundle = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(check.path)),
                                               os.path.expanduser(bundle)))
    if None in bases.values() or bundle is None:
        return None
    return ForgeSettings(ca_bundle=bundle, **bases)
