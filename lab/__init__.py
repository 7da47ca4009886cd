"""The lab: what hacknode runs on this machine only, never against a class server.

Isolated test hosts for the end-to-end tests (testhost.py; their network and root filesystem: hostparts.py),
the local demo class on one of them, `./inv demo` (demo_class.py; its checks on this machine: demo_machine.py),
a local SecantusDB for development and the app's tests (localdb.py), this machine's root check and Debian
packages (localhost.py), and the benchmarks, `./inv bench` (provisioning: benchmarks.py; a site under load
with wrk, load.py, and idle teams' memory: serving_bench.py, written out by bench_report.py). The lab uses
deploy/; deploy/ never imports the lab.
"""
