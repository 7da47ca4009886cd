"""The lab: everything of hacknode that runs on this machine and never touches a class server.

Isolated test hosts (network namespace + systemd-nspawn, testhost.py) for the end-to-end tests, the
local demo class on one of them (`./inv demo`), a local SecantusDB for development and the app's
tests (localdb.py), this machine's root check and Debian packages (localhost.py), and the benchmarks
(`./inv bench`). The lab may use deploy/; deploy/ never imports the lab.
"""
