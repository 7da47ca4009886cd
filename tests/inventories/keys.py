"""SSH public keys made at test time (no key is committed): OpenSSH one-line format."""
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

_OPENSSH = (serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)


def ed25519_key(comment="member@laptop"):
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(*_OPENSSH).decode() + " " + comment


def rsa_key(bits=2048, comment="member@laptop"):
    public = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    return public.public_bytes(*_OPENSSH).decode() + " " + comment


def ecdsa_key(curve=ec.SECP256R1, comment="member@laptop"):
    public = ec.generate_private_key(curve()).public_key()
    return public.public_bytes(*_OPENSSH).decode() + " " + comment


def ed25519_private_key():
    private = ed25519.Ed25519PrivateKey.generate()
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption()).decode()


def write_demo_keys(folder, teams=("hacknode1", "hacknode2", "hacknode3")):
    """The key files the shipped inventory names (.hacknode/keys/<team>.pub), under `folder`."""
    keys = folder / ".hacknode" / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    for team in teams:
        (keys / f"{team}.pub").write_text(ed25519_key(f"{team}@demo") + "\n")
