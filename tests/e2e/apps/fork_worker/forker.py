"""A worker gone wrong: forks until the system refuses, then writes "CHILDREN TASKS ERROR" to ~/forks.txt
(TASKS: the team's processes and threads counted then). Bounded so a test can end it: it starts once the deploy's
checks are over, forks at most 2000 times, and its children exit after 20 s."""
import glob
import os
import time
from pathlib import Path

time.sleep(10)
children, refused = [], "none"
for _ in range(2000):
    try:
        pid = os.fork()
    except OSError as error:
        refused = error.strerror.replace(" ", "_")
        break
    if pid == 0:
        time.sleep(20)
        os._exit(0)
    children.append(pid)


def owned(status, uid=str(os.getuid())):
    try:
        return any(line.split()[1:2] == [uid] for line in open(status) if line.startswith("Uid:"))
    except OSError:             # gone meanwhile
        return False


tasks = sum(1 for status in glob.glob("/proc/[0-9]*/task/*/status") if owned(status))
(Path(os.environ["HOME"]) / "forks.txt").write_text(f"{len(children)} {tasks} {refused}\n")
for pid in children:
    os.waitpid(pid, 0)
while True:           # a worker that ends is restarted: this one waits for the next release
    time.sleep(3600)
