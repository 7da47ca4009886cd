"""Checks on single values that are not names: DNS names, IP addresses, the class's domain.

Pure functions: each says why a value is refused, or '' when it is fine.
"""
import ipaddress
import re

DNS_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def is_dns_name(value):
    labels = value.split(".")
    return len(value) <= 253 and all(DNS_LABEL_RE.match(label) for label in labels)


def is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def domain_problem(value):
    """Why `value` cannot be a class domain (teams answer at <team>.<domain>), or ''."""
    if value != value.lower():
        return f"{value!r} must be lowercase"
    if value.endswith("."):
        return f"{value!r} must not end with a dot"
    if is_ip(value):
        return f"{value!r} is an IP address; a domain is needed for <team>.<domain> (wildcard DNS)"
    labels = value.split(".")
    if len(labels) < 2 or not is_dns_name(value) or labels[-1].isdigit():
        return f"{value!r} is not a domain name like class.example.org"
    # room for the longest team name (31 characters) and its dot in front
    if len(value) > 253 - 32:
        return f"{value!r} is too long for <team>.<domain>"
    return ""


def host_problem(value):
    """Why `value` is neither an IP address nor a DNS name, or ''."""
    if is_ip(value) or (is_dns_name(value.lower()) and not value.split(".")[-1].isdigit()):
        return ""
    return f"{value!r} is neither an IP address nor a host name"
