"""The `class:` section: the class's name, the domain its teams answer at (<team>.<domain>), how often each
server rewrites its class page (page_seconds) and its routing: `subdomain` (the default: each team on its own origin,
<team>.<domain>) or `path` (also <server>/<team>/, for a class with no DNS: the teams then share one origin)."""
from deploy.inventory.values import domain_problem

CLASS_KEYS = ("name", "domain", "page_seconds", "routing")
REQUIRED_KEYS = ("name", "domain")
PAGE_SECONDS = (60, 5, 3600)       # default, lowest, highest
ROUTINGS = ("subdomain", "path")   # the first is the default


def routing_problem(routing):
    return "" if routing in ROUTINGS else f"{routing!r} is not one of {', '.join(ROUTINGS)}"


def check_class(check, doc):
    """The class's (name, domain, page_seconds, routing), each None when missing or invalid."""
    if "class" not in doc:      # reported as required already
        return None, None, None, None
    section = check.mapping(doc.get("class"), doc.lines.get("class", doc.line), "class",
                            CLASS_KEYS, required=REQUIRED_KEYS)
    if section is None:
        return None, None, None, None
    name = check.name(section, "name", "class.name")
    domain = check.string(section, "domain", "class.domain", why_not=domain_problem)
    return (name, domain, check.integer(section, "page_seconds", "class.page_seconds", *PAGE_SECONDS),
            check.string(section, "routing", "class.routing", ROUTINGS[0], why_not=routing_problem))
