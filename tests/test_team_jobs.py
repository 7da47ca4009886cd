"""Teams are set up side by side on a server: the bundle's script runs each team's steps as one background job.
The script is made by deploy/provision/bundle.py from Steps and run here for real, with commands that only touch a temporary
folder (no SSH, no mocks): the report keeps the inventory's order, a failing team stops neither the others nor
the server's steps after it, and it is reported with its log tail."""
import subprocess
import time

from deploy.core.steps import Step
from deploy.inventory.model import MongoSettings
from deploy.provision.bundle import apply_script
from deploy.provision.run import StepPrinter


def job_step(team, name, *commands):
    return Step(team, name, True, "", list(commands), job=team)


def run_apply(steps, tmp_path):
    script = tmp_path / "apply.sh"
    script.write_text(apply_script(steps, MongoSettings(mode="secantus")))
    stage = tmp_path / "stage"
    stage.mkdir()
    return subprocess.run(["bash", str(script), str(stage)], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "T": str(tmp_path)})


def report(stdout):
    lines = []
    printer = StepPrinter("main", lines.append)
    printer.write(stdout)
    printer.finish()
    return lines


def test_teams_run_side_by_side_and_are_reported_in_the_inventorys_order(tmp_path):
    steps = [Step("main", "packages", True, "", ["touch $T/packages"]),
             job_step("team1", "user", "sleep 1", "touch $T/team1"),   # finishes last, reported first
             job_step("team1", "first release", "echo team1 release made"),
             job_step("team2", "user", "touch $T/team2"),
             job_step("team3", "user", "touch $T/team3"),
             Step("main", "services", True, "", ["ls $T > $T/services"])]
    started = time.monotonic()
    done = run_apply(steps, tmp_path)
    assert done.returncode == 0, done.stderr
    assert {"packages", "team1", "team2", "team3"} <= set((tmp_path / "services").read_text().split())   # all done first
    assert [line.split() for line in report(done.stdout)] == [
        ["main", "packages", "changed"], ["main", "team1", "user", "changed"],
        ["main:", "team1", "release", "made"], ["main", "team1", "first", "release", "changed"],
        ["main", "team2", "user", "changed"], ["main", "team3", "user", "changed"], ["main", "services", "changed"]]
    assert time.monotonic() - started < 10


def test_a_failing_team_stops_only_itself_and_is_reported_with_its_log_tail(tmp_path):
    noisy = [f"echo line {n}" for n in range(30)]
    steps = [job_step("team1", "user", "sleep 0.5", "touch $T/team1"),
             job_step("team2", "user", "true"),
             job_step("team2", "first release", *noisy, "hn_fail 'cp: no space left on device'", "touch $T/never"),
             job_step("team3", "user", "touch $T/team3"),
             Step("main", "services", True, "", ["touch $T/services", "hn_health team2 team2.test /nowhere.log"])]
    done = run_apply(steps, tmp_path)
    assert done.returncode == 3
    assert all((tmp_path / name).exists() for name in ("team1", "team3", "services"))
    assert not (tmp_path / "never").exists()
    lines = report(done.stdout)
    assert "main       team2        first release              FAILED  (cp: no space left on device)" in lines
    shown = [line for line in lines if line.startswith("  main: line")]
    assert shown == [f"  main: line {n}" for n in range(10, 30)]          # the tail, not all 30
    assert [line.split()[1] for line in lines if line.split()[-1] == "changed"] == ["team1", "team2", "team3",
                                                                                   "services"]
    reason = [line for line in done.stderr.splitlines() if line.startswith("HN-FAIL ")][-1]
    assert "team(s) team2 failed" in reason and "run provision again" in reason


def test_a_command_run_as_a_team_that_never_ends_fails_its_team_alone_within_the_deadline(tmp_path):
    """A FIFO the team put where its command opens a file, or a stopped process: every command root runs as a team
    (hn_as_user) has a deadline, so the other teams and the server's steps after the jobs go on (review)."""
    steps = [job_step("team1", "first release", "HN_AS_USER_SECONDS=2 hn_as_user daemon sleep 60", "touch $T/never"),
             job_step("team2", "user", "touch $T/team2"),
             Step("main", "services", True, "", ["touch $T/services"])]
    started = time.monotonic()
    done = run_apply(steps, tmp_path)
    assert time.monotonic() - started < 20
    assert done.returncode == 3 and (tmp_path / "team2").exists() and (tmp_path / "services").exists()
    assert not (tmp_path / "never").exists()
    assert ("main       team1        first release              FAILED  (daemon: a command run as daemon (sleep) did "
            "not end within 2 s: stopped)") in report(done.stdout)


def test_a_teams_text_forges_no_report_line_and_sends_the_terminal_no_escape(tmp_path):
    """A team's uwsgi log (hn_log_why) and the output of its commands (its job's log) reach the instructor's terminal
    through StepPrinter: quoted, and their control bytes shown as "?" (review: a forged HN-TEAM-FAILED, OSC 52)."""
    forged = "Traceback (most recent call last)\nHN-TEAM-FAILED team2 forged\nHN-DONE\n\033]52;c;QUJD\007\033[2J\r"
    (tmp_path / "uwsgi.log").write_text(forged + "\n")
    steps = [job_step("team1", "user", f"printf '{forged}\\nHN-STEP team2 user\\n'"),
             job_step("team2", "user", "true"),
             Step("main", "health", True, "", ["hn_log_why $T/uwsgi.log"])]
    done = run_apply(steps, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = report(done.stdout)
    assert [line.split()[1:] for line in lines if not line.startswith("  main: ")] == [
        ["team1", "user", "changed"], ["team2", "user", "changed"], ["health", "changed"]]
    assert not any("FAILED" in line and "|" not in line for line in lines)
    assert "\033" not in done.stdout and "\r" not in done.stdout and "\007" not in done.stdout
    assert "  main:   | HN-TEAM-FAILED team2 forged" in lines


def test_the_terminal_is_shown_no_control_character_the_server_printed():
    lines = report("HN-STEP main a\nsaid \033]52;c;QUJD\007 \u009b2J\r\nHN-TEAM-FAILED main why\033[2J\n")
    assert lines == ["  main: said ?]52;c;QUJD? ?2J?", "main                    a                          FAILED  (why?[2J)"]


def test_a_site_is_healthy_when_it_answers_below_500_from_its_release_whatever_its_app(tmp_path):
    """Provisioning's check of every site (hn_health): a team's own app may have no /healthz (404), but hacknode's
    loader names the release in every answer; an answer naming none, or a 5xx, fails that team alone."""
    (tmp_path / "probe.py").write_text("print('404 20261207T000001Z -\\n404 -\\n503 20261207T000001Z -\\n200 -')\n")
    steps = [Step("main", "services", True, "", [
        "HN_HEALTHZ=$T/probe.py", "hn_health own own.test /nowhere.log none none.test /nowhere.log "
        "broken broken.test /nowhere.log rapid rapid.test /nowhere.log"])]
    done = run_apply(steps, tmp_path)
    assert done.returncode != 0
    reason = [line for line in done.stderr.splitlines() if line.startswith("HN-FAIL ")][-1]
    assert "none: program missing, /healthz through nginx answered 404; broken: program missing, /healthz through " \
           "nginx answered 503 (their uwsgi logs' last lines are above)" in reason
