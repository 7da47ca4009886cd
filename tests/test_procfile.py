"""A team's Procfile (deploy/core/procfile.py): what it may say, the one line for each mistake (file, line, key),
what a release's .hacknode-procs holds, and when a cron schedule runs."""
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from deploy.core import layout, procfile
from deploy.core.procfile import ProcfileError, cron_matches, parse
from tests.test_readme import readme_blocks

FULL = """\
# a team's app
web: src.app:create_app()   # a factory
health: /
static: /static/ src/static
static: /media/img/ media/
release: flask --app src.app init-db

worker: python -m bot
worker-feeds: python feeds.py
cron: */10 * * * * python scrape.py
cron-report: 0 6 * * 1 python report.py
"""


def test_each_kind_of_process_is_read():
    parsed = parse(FULL)
    assert parsed.web == "src.app:create_app()" and parsed.health == "/"
    assert parsed.static == (("/static/", "src/static"), ("/media/img/", "media"))
    assert parsed.release == "flask --app src.app init-db"
    assert parsed.workers == {"worker": "python -m bot", "worker-feeds": "python feeds.py"}
    assert parsed.cron == {"cron": ("*/10 * * * *", "python scrape.py"),
                           "cron-report": ("0 6 * * 1", "python report.py")}


def test_a_procfile_with_web_alone_has_the_defaults_of_any_app():
    parsed = parse("web: mysite.wsgi:application\n")
    assert (parsed.health, parsed.static, parsed.release, parsed.workers, parsed.cron) == ("/", (), None, {}, {})


def test_no_procfile_runs_rapid_news_as_before():
    assert procfile.DEFAULT == procfile.Procfile(web="app.wsgi:app", health="/healthz",
                                                 static=(("/static/", "app/static"),))
    files = procfile.release_files(procfile.DEFAULT)
    assert files["web"] == "app.wsgi:app\n" and files["health"] == "/healthz\n"
    assert files["uwsgi.ini"] == "[uwsgi]\n"          # no worker, no cron: the team's master alone
    assert json.loads(files["procs.json"]) == {"web": "app.wsgi:app", "health": "/healthz",
                                               "static": [["/static/", "app/static"]], "release": None,
                                               "workers": {}, "cron": {}}
    assert procfile.static_links(procfile.DEFAULT) == {"public/static": "../../app/static"}


def test_windows_line_ends_a_byte_order_mark_tabs_and_comments_are_read():
    parsed = parse("\ufeff# top\r\n\r\n  # indented comment\r\nweb:\tapp:app\r\ncron: 0\t6 * * *\tpython r.py\r\n")
    assert parsed.web == "app:app" and parsed.cron == {"cron": ("0 6 * * *", "python r.py")}


@pytest.mark.parametrize("entry", ["app.wsgi:app", "mysite.wsgi:application", "src.app:create_app()", "main:APP",
                                   "_private.x2:make_app()"])
def test_entry_points_and_factories(entry):
    assert parse(f"web: {entry}\n").web == entry


@pytest.mark.parametrize("entry", ["app.wsgi", "app:create_app(1)", "app:create_app();import os", "os:system('id')",
                                   "import:app", "app:class", ".app:x", "app..x:y", "app:a.b", "1app:x", "app:",
                                   "app:app()()", "appé:x", "app:x ()", "__import__('os'):x"])
def test_an_entry_point_is_names_python_imports_never_code(entry):
    with pytest.raises(ProcfileError) as error:
        parse(f"web: {entry}\n")
    assert str(error.value).startswith("Procfile:1: web: ") and "module:callable" in str(error.value)


def error_of(text, filename="Procfile"):
    with pytest.raises(ProcfileError) as error:
        parse(text, filename)
    message = str(error.value)
    assert "\n" not in message                  # one line, as a user sees it
    return message


HEAD = "# my app\n\nweb: app.wsgi:app\n"        # the mistakes below are on line 4


@pytest.mark.parametrize("line, expected", [
    ("worker python bot.py", "Procfile:4: expected KEY: VALUE"),
    ("wrker: python bot.py", "Procfile:4: wrker: unknown key (the keys: web, health"),
    ("Worker: python bot.py", "Procfile:4: Worker: unknown key"),
    ("worker-Feeds: python feeds.py", "Procfile:4: worker-Feeds: unknown key: a name after worker- is 1 to 24"),
    ("worker-: python feeds.py", "Procfile:4: worker-: unknown key"),
    ("cron-" + "a" * 25 + ": * * * * * x", "Procfile:4: cron-aaaa"),
    ("worker-$(id): x", "Procfile:4: worker-$(id): unknown key"),
    ("web: other:app", "Procfile:4: web: given twice (first on line 3)"),
    ("health: healthz", "Procfile:4: health: 'healthz': expected a path on the site"),
    ("health: /a b", "Procfile:4: health: 'a b'"[:20]),
    ("health: //evil.example/", "Procfile:4: health: '//evil.example/'"),
    ("static: /static src/static", "Procfile:4: static: '/static': the URL prefix starts and ends with /"),
    ("static: / src/static", "Procfile:4: static: '/': the URL prefix"),
    ("static: /a/../ src/static", "Procfile:4: static: '/a/../'"),
    ("static: /.well-known/ src/static", "Procfile:4: static: '/.well-known/'"),
    ("static: /a//b/ src/static", "Procfile:4: static: '/a//b/'"),
    ("static: /static/", "Procfile:4: static: '/static/': expected a URL prefix and a folder"),
    ("static: /static/ /etc", "Procfile:4: static: '/etc': the folder is relative to the tree and inside it"),
    ("static: /static/ ../other-team", "Procfile:4: static: '../other-team': the folder is relative"),
    ("static: /static/ app/../../x", "Procfile:4: static: 'app/../../x'"),
    ("static: /static/ .", "Procfile:4: static: '.'"),
    ("static: /static/ .hacknode-procs/public", "Procfile:4: static: '.hacknode-procs/public': .hacknode-procs is "
                                                "written by hacknode"),
    ("release:", "Procfile:4: release: no command"),
    ("worker: " + "x" * 1001, "Procfile:4: worker: the command is 1001 characters long: at most 1000"),
    ("worker: python\tbot.py", "Procfile:4: worker: a tab at column 7 of the command"),
    ("worker: python bot.py\x1b[2J", "Procfile:4: a control character (U+001B) at column 22"),
    ("worker: python bot.py\u2028rm -rf ~", "Procfile:4: a control character (U+2028)"),
    ("cron: * * * * python x.py", "Procfile:4: cron: day of week 'python': expected a number, *, a-b"),
    ("cron: * * * *", "Procfile:4: cron: '* * * *': expected five fields"),
    ("cron: 61 * * * * x", "Procfile:4: cron: minute '61': outside 0-59"),
    ("cron: * 24 * * * x", "Procfile:4: cron: hour '24': outside 0-23"),
    ("cron: * * 0 * * x", "Procfile:4: cron: day of month '0': outside 1-31"),
    ("cron: * * * 13 * x", "Procfile:4: cron: month '13': outside 1-12"),
    ("cron: * * * * 8 x", "Procfile:4: cron: day of week '8': outside 0-7"),
    ("cron: 5-1 * * * * x", "Procfile:4: cron: minute '5-1': a range is low-high"),
    ("cron: */0 * * * * x", "Procfile:4: cron: minute '*/0': a range is low-high, a step from 1 to 59"),
    ("cron: 5/10 * * * * x", "Procfile:4: cron: minute '5/10': expected a number, *, a-b, a,b, */n or a-b/n"),
    ("cron: 0 0 * * mon x", "Procfile:4: cron: day of week 'mon'"),
    ("cron: 1,,2 * * * * x", "Procfile:4: cron: minute '1,,2'"),
    ("cron: @daily python x.py", "Procfile:4: cron: '@daily python x.py': expected five fields"),
])
def test_each_mistake_is_one_line_naming_file_line_and_key(line, expected):
    assert error_of(HEAD + line + "\n# after\n").startswith(expected)


def test_the_file_named_is_the_one_read():
    assert error_of("web: nope\n", "myapp/Procfile").startswith("myapp/Procfile:1: web: 'nope'")


def test_web_is_required_when_the_file_exists():
    for text in ("", "# nothing yet\n", "worker: python bot.py\n"):
        assert error_of(text).startswith("Procfile:1: web: missing: a Procfile names the app's WSGI entry point")


def test_bytes_are_utf8_text_of_at_most_64_kib():
    assert procfile.decode("web: app:app\n".encode()) == "web: app:app\n"
    with pytest.raises(ProcfileError, match=r"^Procfile:3: not UTF-8 text$"):
        procfile.decode(b"# a\n# b\nweb: caf\xe9:app\n")
    with pytest.raises(ProcfileError, match=r"^Procfile: 65537 bytes: a Procfile is at most 64 KiB$"):
        procfile.decode(b"#" * (64 * 1024 + 1))


def numbered(key, count, value):
    return "".join(f"{key}-{n}: {value}\n" for n in range(count))


def test_at_most_8_workers_16_cron_jobs_and_4_static_folders():
    web = "web: app:app\n"
    assert len(parse(web + numbered("worker", 7, "x") + "worker: x\n").workers) == 8
    assert error_of(web + numbered("worker", 8, "x") + "worker: x\n") == \
        "Procfile:10: worker: a 9th worker: at most 8"
    assert len(parse(web + numbered("cron", 16, "* * * * * x")).cron) == 16
    assert error_of(web + numbered("cron", 16, "* * * * * x") + "cron: * * * * * x\n") == \
        "Procfile:18: cron: a 17th cron job: at most 16"
    statics = "".join(f"static: /s{n}/ f{n}\n" for n in range(4))
    assert len(parse(web + statics).static) == 4
    assert error_of(web + statics + "static: /s4/ f4\n") == "Procfile:6: static: a 5th static folder: at most 4"


def test_static_prefixes_never_overlap():
    # public/static is a link into the tree: public/static/img would be made inside the team's own folder
    web = "web: app:app\nstatic: /static/ a\n"
    assert error_of(web + "static: /static/img/ b\n").startswith("Procfile:3: static: /static/img/ overlaps /static/")
    assert error_of(web + "static: /static/ b\n").startswith("Procfile:3: static: /static/ overlaps /static/")
    assert error_of("web: app:app\nstatic: /a/b/ x\nstatic: /a/ y\n").startswith("Procfile:3: static: /a/ overlaps")
    assert len(parse(web + "static: /static2/ b\n").static) == 2


UWSGI_LINE = re.compile(rf"attach-daemon = {re.escape(layout.TEAM_PROCS)} (worker (worker|worker-[a-z0-9-]+)|cron)")


def test_commands_stay_out_of_the_uwsgi_fragment_which_uwsgi_would_expand():
    text = ("web: app:app\nworker: python bot.py $(id) %(home) a,b; echo `id`\n"
            "worker-x2: sh -c 'echo %d' && python -c \"print(1,2)\"\ncron-a: */5 1-5,7 * * 0,7 echo $(date) %p\n")
    parsed = parse(text)
    files = procfile.release_files(parsed)
    lines = files["uwsgi.ini"].splitlines()
    assert lines[0] == "[uwsgi]" and all(UWSGI_LINE.fullmatch(line) for line in lines[1:]), lines
    assert lines[1:] == [f"attach-daemon = {layout.TEAM_PROCS} worker worker",
                         f"attach-daemon = {layout.TEAM_PROCS} worker worker-x2",
                         f"attach-daemon = {layout.TEAM_PROCS} cron"]
    procs = json.loads(files["procs.json"])
    assert procs["workers"] == parsed.workers                      # the commands as written, in procs.json only
    assert procs["cron"] == {"cron-a": {"schedule": "*/5 1-5,7 * * 0,7", "command": "echo $(date) %p"}}
    assert files["web"] == "app:app\n" and files["health"] == "/\n"


def test_static_folders_become_relative_links_under_public():
    parsed = parse(FULL)
    assert procfile.static_links(parsed) == {"public/static": "../../src/static", "public/media/img": "../../../media"}


def test_the_summary_names_every_process():
    assert procfile.summary(parse(FULL)) == (
        "web src.app:create_app(), health /, static /static/ -> src/static, static /media/img/ -> media, "
        "a release command, workers: worker, worker-feeds, cron: cron, cron-report")


def at(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M")


@pytest.mark.parametrize("schedule, moment, runs", [
    ("* * * * *", "2026-12-07 20:17", True),
    ("*/10 * * * *", "2026-12-07 20:00", True),
    ("*/10 * * * *", "2026-12-07 20:50", True),
    ("*/10 * * * *", "2026-12-07 20:05", False),
    ("0 6 * * 1", "2026-12-07 06:00", True),             # a Monday
    ("0 6 * * 1", "2026-12-08 06:00", False),
    ("0 6 * * 1", "2026-12-07 06:01", False),
    ("0 0 * * 0", "2026-12-06 00:00", True),             # Sunday is 0 ...
    ("0 0 * * 7", "2026-12-06 00:00", True),             # ... and 7
    ("0 0 * * 7", "2026-12-07 00:00", False),
    ("0 0 * * 5-7", "2026-12-06 00:00", True),
    ("1-10/3 * * * *", "2026-01-01 00:07", True),
    ("1-10/3 * * * *", "2026-01-01 00:08", False),
    ("0,30 9-17 * * 1-5", "2026-12-08 17:30", True),
    ("0,30 9-17 * * 1-5", "2026-12-08 18:00", False),
    ("0 0 1 1 *", "2026-01-01 00:00", True),
    ("0 0 1 1 *", "2026-02-01 00:00", False),
    # both days restricted: either is enough (Vixie cron); Friday the 13th and any Friday, any 13th
    ("0 0 13 * 5", "2026-11-13 00:00", True),            # a Friday the 13th
    ("0 0 13 * 5", "2026-12-11 00:00", True),            # a Friday
    ("0 0 13 * 5", "2026-12-13 00:00", True),            # a Sunday the 13th
    ("0 0 13 * 5", "2026-12-12 00:00", False),
    # one of them starting with *: both must match
    ("0 0 */2 * 1", "2026-12-07 00:00", True),           # Monday the 7th
    ("0 0 */2 * 1", "2026-12-14 00:00", False),          # Monday the 14th
    ("0 0 */2 * 1", "2026-12-09 00:00", False),          # Wednesday the 9th
    ("0 0 13 * *", "2026-12-11 00:00", False),
])
def test_cron_matches(schedule, moment, runs):
    assert cron_matches(schedule, at(moment)) is runs


def test_every_ten_minutes_runs_six_times_an_hour_and_mondays_at_six_once_a_week():
    start = at("2026-12-07 00:00")
    minutes = [start + timedelta(minutes=m) for m in range(7 * 24 * 60)]
    assert sum(cron_matches("*/10 * * * *", m) for m in minutes[:60]) == 6
    assert [m for m in minutes if cron_matches("0 6 * * 1", m)] == [at("2026-12-07 06:00")]


@pytest.mark.parametrize("schedule", ["* * * *", "60 * * * *", "* * * * * *", "a * * * *", ""])
def test_a_schedule_cron_cannot_read_is_refused(schedule):
    with pytest.raises(ValueError):
        cron_matches(schedule, at("2026-12-07 00:00"))


def test_the_readme_shows_one_procfile_with_each_kind_of_process_and_its_real_error_line():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    examples = [code for _, language, code, _ in readme_blocks(text) if language == "Procfile"]
    assert len(examples) == 1
    parsed = parse(examples[0])
    assert [bool(x) for x in (parsed.web, parsed.health, parsed.static, parsed.release, parsed.workers,
                              parsed.cron)] == [True] * 6
    wrong = examples[0].replace("worker: ", "worker-Bot: ")
    shown = error_of(wrong).split(":", 2)[2].replace("Procfile:", "")          # after "Procfile:LINE:"
    assert shown in " ".join(text.split()), shown
