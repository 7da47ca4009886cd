"""The `class:` section: the class's name and the domain its teams answer at (<team>.<domain>)."""
from deploy.inventory.values import domain_problem

CLASS_KEYS = ("name", "domain")


def check_class(check, doc):
    """The class's (name, domain), each None when missing or invalid."""
    if "class" not in doc:      # reported as required already
        return None, None
    section = check.mapping(doc.get("class"), doc.lines.get("class", doc.line), "class",
                            CLASS_KEYS, required=CLASS_KEYS)
    if section is None:
        return None, None
    name = check.name(section, "name", "class.name")
    domain = check.string(section, "domain", "class.domain", why_not=domain_problem)
    return name, domain
