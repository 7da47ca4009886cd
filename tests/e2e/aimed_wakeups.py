"""Run on a test host as root (tests/e2e/test_idle_team.py): requests aimed at the moment a team's uwsgi stops
its workers after idle_seconds, when a worker used to take a request and die with it (nginx answered 502).

python3 aimed_wakeups.py TEAM LOG ROUNDS: each round waits for the line of the team's uwsgi log LOG saying its idle
timer fired, then sends GET /healthz through nginx at each of AIMED's delays at once (they wake the team again).
Prints the [status, seconds] of every request as JSON. Standard library only (the host's python3)."""
import json
import sys
import threading
import time
import urllib.error
import urllib.request

AIMED = (0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3)     # seconds after the log line


def get(team):
    request = urllib.request.Request("http://127.0.0.1/healthz", headers={"Host": f"{team}.hacknode.test"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:            # no answer at all
        status = None
    return status, round(time.monotonic() - started, 2)


def wait_for_idle_stop(log, seconds=30):
    log.seek(0, 2)
    deadline = time.monotonic() + seconds
    while "workers have been inactive" not in log.readline():
        if time.monotonic() > deadline:
            sys.exit(f"uwsgi did not stop its workers within {seconds}s")
        time.sleep(0.005)


def main(team, log_path, rounds):
    answers = []

    def aimed(delay):
        time.sleep(delay)
        answers.append(get(team))

    get(team)                  # awake: its idle timer counts from here
    with open(log_path) as log:
        for _ in range(rounds):
            wait_for_idle_stop(log)
            threads = [threading.Thread(target=aimed, args=(delay,)) for delay in AIMED]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    print(json.dumps(answers))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
