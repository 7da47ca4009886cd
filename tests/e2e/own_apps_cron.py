"""The cron scenario of test_own_apps_background.py: the cron app (tests/e2e/apps/cron_file) deployed, its job run
once, then deployed again so that the release's switch lasts across a minute boundary (the new release's web starts
only 2 s after it), while the team's switch lock is watched; then the job's run due at that minute."""
import time

from deploy.core.layout import TeamPaths
from deploy.team import tasks as team_tasks
from tests.e2e.own_apps import app_tree, deploy, in_background, root_run

WATCH = """end=$(( $(date +%s) + {seconds} ))
while [ "$(date +%s)" -lt "$end" ]; do
    if flock -n -s {lock} true 2>/dev/null; then state=free; else state=held; fi
    echo "$(date +%s.%N) $state"; sleep 0.1
done"""


def ticks_of(cls, team):
    """[(start, end, release)] of the job's runs, from the file it appends to."""
    text = root_run(cls, team, f"cat {TeamPaths(team).home}/ticks.txt", warn=True).stdout
    return [(float(start), float(end), release) for start, end, release in
            (line.split() for line in text.splitlines() if line.strip())]


def wait_ticks(cls, team, enough, seconds):
    deadline = time.monotonic() + seconds
    while not enough(ticks := ticks_of(cls, team)):
        assert time.monotonic() < deadline, f"the cron job did not run as expected within {seconds}s: {ticks}"
        time.sleep(1)
    return ticks


def watch_switch_lock(cls, team, seconds):
    """A join() giving [(time, "held"|"free")] of the team's switch lock, sampled every 0.1 s for `seconds`, as
    the cron runner sees it (a shared lock it may or may not take)."""
    def watch():
        with cls.as_team(team) as c:
            out = c.run(WATCH.format(seconds=seconds, lock=TeamPaths(team).switch_lock), hide=True).stdout
        return [(float(stamp), state) for stamp, state in (line.split() for line in out.splitlines())]
    return in_background(watch)


def held_windows(samples):
    """[(first, last sample that found it held)] of each stretch the watched lock was held."""
    windows, held = [], []
    for stamp, state in samples + [(None, "free")]:
        if state == "held":
            held.append(stamp)
        elif held:
            windows.append((held[0], held[-1]))
            held = []
    return windows


def cron_records(cls, team):
    """What `fab logs --cron` prints to the team."""
    with cls.as_team(team) as c:
        return team_tasks.logs(c, team, cron=True)


def cron_scenario(cls, team, tmp_path):
    root_run(cls, team, f"rm -f {TeamPaths(team).home}/ticks.txt")
    first = deploy(cls, team, app_tree(tmp_path / "first", "cron_file"))
    wait_ticks(cls, team, lambda ticks: len(ticks) >= 1, 75)
    # the next deploy starts 12 s before a minute boundary; its web starts 2 s after it (well within the 20 s a
    # release has to answer its health check)
    now = time.time()
    boundary = (now // 60 + 1) * 60
    if boundary - now < 20:
        boundary += 60
    tree = app_tree(tmp_path / "second", "cron_file")
    (tree / "slow-start").write_text(f"{boundary + 2}\n")
    time.sleep(boundary - 12 - time.time())
    watched = watch_switch_lock(cls, team, 45)
    time.sleep(0.5)
    second = deploy(cls, team, tree)
    ticks = wait_ticks(cls, team, lambda ticks: any(start >= boundary - 1 for start, _, _ in ticks), 40)
    return {"first": first, "second": second, "boundary": boundary, "ticks": ticks, "samples": watched(),
            "records": cron_records(cls, team), "runner_kb": runner_pss_kb(cls, team)}


def runner_pss_kb(cls, team):
    """What the team's cron runner costs beside its uwsgi master: the PSS of its processes in kB (None: not found)."""
    pids = root_run(cls, team, f"pgrep -u {team} -f 'team-procs cron'", warn=True).stdout.split()
    files = " ".join(f"/proc/{pid}/smaps_rollup" for pid in pids)        # with the shell that started it, if any
    lines = root_run(cls, team, f"grep -h '^Pss:' {files}", warn=True).stdout.splitlines() if pids else []
    return sum(int(line.split()[1]) for line in lines) or None
