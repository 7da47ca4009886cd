"""The `class:` section: the class's name, the domain its teams answer at (<team>.<domain>) and how often each
server rewrites its class page (page_seconds)."""
from deploy.inventory.values import domain_problem

CLASS_KEYS = ("name", "domain", "page_seconds")
REQUIRED_KEYS = ("name", "domain")
PAGE_SECONDS = (60, 5, 3600)       # default, lowest, highest


def check_class(check, doc):
    """The class's (name, domain, page_seconds), each None when missing or invalid."""
    if "class" not in doc:      # reported as required already
        return None, None, None
    section = check.mapping(doc.get("class"), doc.lines.get("class", doc.line), "class",
                            CLASS_KEYS, required=REQUIRED_KEYS)
    if section is None:
        return None, None, None
    name = check.name(section, "name", "class.name")
    domain = check.string(section, "domain", "class.domain", why_not=domain_problem)
    return name, domain, check.integer(section, "page_seconds", "class.page_seconds", *PAGE_SECONDS)
