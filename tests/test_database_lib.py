"""The class database's helpers (deploy/remote/database-lib.sh), run here for real with the database tool stubbed:
the admin URI read without being exported, each team's secrets made on the server, handed to the database tool in
its environment alone and written into the team's file, never printed. SecantusDB's first start runs on a host
(tests/e2e/test_provision.py), mode external there too (tests/e2e/test_external_db.py)."""
import re
import subprocess

from deploy.core.commands import remote_file

# stubs of services-lib.sh's and apply-lib.sh's helpers: hn_mongo says what a child process of it gets, in argv and
# in its environment
STUBS = r"""
set -euo pipefail
hn_fail() { echo "HN-FAIL $*" >&2; exit 3; }
hn_secret() { head -c 24 /dev/urandom | base64 -w 0 | tr '+/' '-_'; echo; }
hn_mongo() { sh -c 'echo "argv: $*"; echo "env HN_PW: ${HN_PW:-none}"; echo "env admin: ${HN_ADMIN_URI:-none}"' sh "$@" \
  >> "$T/mongo"; }
hn_team_write() { cat > "$2"; chmod "$3" "$2"; }
"""
URI = "mongodb://team1:${HN_PW}@127.0.0.1:27017/team1?journal=true"


def run(script, tmp_path, stdin=""):
    text = STUBS + remote_file("database-lib.sh") + script
    return subprocess.run(["bash", "-c", text, "bash"], input=stdin, capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "T": str(tmp_path)})


def test_a_team_gets_a_fresh_password_in_its_file_alone_handed_to_the_database_tool_in_its_environment(tmp_path):
    done = run(f'HN_ADMIN_URI=mongodb://admin:pw@h/admin\nhn_team_database team1 "$T/uri" \'{URI}\'\n'
               'echo "after: ${HN_PW:-unset} ${HN_KEY:-unset}"', tmp_path)
    assert done.returncode == 0, done.stderr
    settings = dict(line.split("=", 1) for line in (tmp_path / "uri").read_text().splitlines())
    password = re.fullmatch(r"mongodb://team1:([\w-]{32})@127\.0\.0\.1:27017/team1\?journal=true",
                            settings["FLASK_MONGO_URI"]).group(1)
    assert re.fullmatch(r"[\w-]{32}", settings["FLASK_SECRET_KEY"]) and settings["FLASK_SECRET_KEY"] != password
    assert oct((tmp_path / "uri").stat().st_mode & 0o777) == "0o400"
    # the tool gets the password in its environment, the admin URI not exported (hn_mongo hands it over itself)
    assert (tmp_path / "mongo").read_text() == f"argv: team-user team1\nenv HN_PW: {password}\nenv admin: none\n"
    assert done.stdout == "after: unset unset\n" and done.stderr == ""


def test_without_an_admin_uri_a_team_gets_no_database_user_and_one_line_says_why(tmp_path):
    done = run(f'HN_ADMIN_URI=\nhn_team_database team1 "$T/uri" \'{URI}\'', tmp_path)
    assert (done.returncode, done.stderr) == (3, "HN-FAIL no MongoDB admin URI on this server\n")
    assert not (tmp_path / "uri").exists() and not (tmp_path / "mongo").exists()


def test_the_admin_uri_is_read_from_stdin_or_its_file_never_exported_and_stdin_is_closed_after(tmp_path):
    check = 'echo "got ${#HN_ADMIN_URI}"; sh -c \'echo "env ${HN_ADMIN_URI:-none}"\'; read -r rest || echo "stdin closed"'
    done = run(f"hn_admin_uri -\n{check}", tmp_path, stdin="mongodb://admin:s3cret@db1/admin\nmore\n")
    assert done.stdout == "got 32\nenv none\nstdin closed\n"
    (tmp_path / "admin").write_text("mongodb://admin:pw@127.0.0.1:27017/admin\n")
    done = run(f'hn_admin_uri "$T/admin"\n{check}', tmp_path, stdin="more\n")
    assert done.stdout == "got 40\nenv none\nstdin closed\n"
    done = run(f'hn_admin_uri "$T/missing"\n{check}', tmp_path)
    assert done.stdout == "got 0\nenv none\nstdin closed\n" and done.returncode == 0


def test_the_admin_uri_file_is_root_s_alone_with_the_password_in_place(tmp_path):
    done = run('HN_PW=pw-1\nhn_admin_uri_write "$T/etc/mongo-admin" \'mongodb://admin:${HN_PW}@127.0.0.1:27017/admin\'',
               tmp_path)
    assert done.returncode == 0, done.stderr
    admin = tmp_path / "etc" / "mongo-admin"
    assert admin.read_text() == "mongodb://admin:pw-1@127.0.0.1:27017/admin\n"
    assert oct(admin.stat().st_mode & 0o777) == "0o600" and not (tmp_path / "etc" / "mongo-admin.new").exists()
