"""hacknode: provisions a class of isolated Rapid News hacknodes and ships teams' code."""

# hacknode's version, in this one place: `fab version` and `./inv version` print it, provisioning records it on each
# server (layout.VERSION_FILE) and `fab status` shows it per server. Each release is tagged v<version> in git.
__version__ = "0.22.0"
