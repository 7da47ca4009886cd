"""SSH public keys as teams give them: one OpenSSH line ("type base64 comment"), or a .pub file.

Pure checks, no collector: each says why a key or key file is refused ('' or None when fine),
and the teams section reports it at the key's line. A key is decoded far enough to catch
a truncated copy-paste, a private key given by mistake and RSA keys too short to trust.
"""
import base64
import binascii
import os
import struct

KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


def looks_like_key(item):
    """Whether a team's `keys` entry is meant as a key itself rather than a key file's path."""
    return item.split(None, 1)[0] in KEY_TYPES or "PRIVATE KEY" in item


def _ssh_strings(blob):
    """Split an SSH wire-format blob into its length-prefixed strings; None if malformed."""
    parts, offset = [], 0
    while offset < len(blob):
        if offset + 4 > len(blob):
            return None
        (length,) = struct.unpack(">I", blob[offset:offset + 4])
        offset += 4
        if offset + length > len(blob):
            return None
        parts.append(blob[offset:offset + length])
        offset += length
    return parts


def public_key_problem(line):
    """Why `line` is not an OpenSSH public key ("type base64 [comment]"), or ''."""
    if "PRIVATE KEY" in line:
        return "this is a private key: give the public key (the .pub file), and never share the private one"
    fields = line.split(None, 2)
    if len(fields) < 2:
        return "expected 'TYPE BASE64 [comment]', e.g. 'ssh-ed25519 AAAA... ada@laptop'"
    key_type, data = fields[0], fields[1]
    if key_type not in KEY_TYPES:
        return f"unknown key type {key_type[:40]!r} (known: {', '.join(KEY_TYPES)})"
    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "the key data is not valid base64"
    parts = _ssh_strings(blob)
    if not parts:
        return "the key data is cut short or damaged; copy the whole line of the .pub file"
    if parts[0] != key_type.encode():
        return f"the key data is not a {key_type} key"
    expected = {"ssh-ed25519": 2, "ssh-rsa": 3, "sk-ssh-ed25519@openssh.com": 3,
                "sk-ecdsa-sha2-nistp256@openssh.com": 4}.get(key_type, 3)
    if len(parts) != expected:
        return f"the key data is not a complete {key_type} key"
    if key_type.endswith("ed25519") or key_type == "sk-ssh-ed25519@openssh.com":
        if len(parts[1]) != 32:
            return f"the key data is not a complete {key_type} key"
    if key_type.startswith("ecdsa-") or key_type.startswith("sk-ecdsa-"):
        curve = key_type.split("-")[-1].split("@")[0]
        if parts[1] != curve.encode():
            return f"the key data names curve {parts[1][:20]!r}, not {curve}"
    if key_type == "ssh-rsa" and len(parts[2].lstrip(b"\0")) * 8 < 2048:
        return "RSA keys shorter than 2048 bits are refused; make an ed25519 key (ssh-keygen -t ed25519)"
    return ""


def read_key_file(base_dir, name):
    """(the public keys in the file `name`, relative to `base_dir`, and ''), or (None, why not)."""
    file_path = os.path.join(base_dir, os.path.expanduser(name))
    try:
        with open(file_path, encoding="utf-8") as handle:
            text = handle.read(65536)   # a .pub file is small; a path to something huge is a mistake
    except FileNotFoundError:
        return None, (f"key file {name!r} not found ({file_path}); "
                      "give the path of a .pub file or the key itself")
    except (OSError, UnicodeDecodeError) as error:
        return None, f"key file {name!r} cannot be read: {getattr(error, 'strerror', None) or error}"
    if "PRIVATE KEY" in text:
        return None, (f"key file {name!r} holds a private key: give the .pub file, "
                      "and never share the private one")
    keys = []
    for number, key_line in enumerate(text.splitlines(), 1):
        key_line = key_line.strip()
        if not key_line or key_line.startswith("#"):   # authorized_keys-style files may carry comments
            continue
        why = public_key_problem(key_line)
        if why:
            return None, f"key file {name!r} line {number}: {why}"
        keys.append(" ".join(key_line.split()))
    if not keys:
        return None, f"key file {name!r} holds no public key"
    return keys, ""


def keys_of_entry(item, base_dir):
    """(the keys one entry of a team's `keys` gives, ''), or (None, why not).

    An entry is a key itself, or the path of a key file relative to `base_dir`."""
    if not isinstance(item, str) or not item.strip():
        return None, "must be a public key 'ssh-ed25519 AAAA... comment' or a .pub file path"
    item = item.strip()
    if not looks_like_key(item):
        return read_key_file(base_dir, item)
    why = public_key_problem(item)
    return (None, why) if why else ([" ".join(item.split())], "")
