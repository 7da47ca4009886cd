# shellcheck shell=bash
# managed by hacknode: the helpers every provisioning script starts with (bash, run as root).
# The script that follows is made of steps; each prints "HN-STEP <scope> <name>" before it runs,
# so the instructor's terminal shows where the server is.
# Set before this file (deploy/provision/bundle.py server_script): HN_TOOLS, HN_MONGO_TOOL, HN_TEAM_DB_TOOL,
# HN_HEALTHZ, HN_MAKE_VENV, HN_WHEELS, HN_TEAM_ENV_CACHE, HN_TEAM_ENVS; HN_ADMIN_URI comes after (hn_admin_uri).
set -euo pipefail
umask 022
cd /   # steps run commands as other users (hn_as_user), who cannot enter root's home
export DEBIAN_FRONTEND=noninteractive
# the bundle's unpacked folder (run-bundle.sh's argument), else (removal, the caps' check) a folder of its own
HN_STAGE=${1:-$(mktemp -d)}
HN_BACKUP=$(mktemp -d /var/tmp/hacknode-backup.XXXXXX)
trap 'rm -rf "$HN_STAGE" "$HN_BACKUP"' EXIT

# hn_text, hn_uwsgi_master, hn_log_why: shared with release.sh
. uwsgi-lib.sh
# hn_service, hn_supervisor_*, hn_nginx_up, hn_uwsgi_reload, hn_health, hn_mongo...: the server's services
. services-lib.sh
# hn_admin_uri, hn_secantus_*, hn_mongod_*, hn_team_database: the class database and each team's user
. database-lib.sh

hn_step() { echo "HN-STEP $1 $2"; }

hn_fail() { echo "HN-FAIL $*" >&2; exit 3; }

hn_must() {  # WHY COMMAND...: COMMAND, else the script stops saying WHY
  "${@:2}" || hn_fail "$1"
}

hn_put_line() {  # FILE TEXT: FILE holds the line TEXT
  printf '%s\n' "$2" > "$1"
}

hn_as_user() {  # USER COMMAND...: COMMAND as USER (a team, the database's user) with a clean environment: only
  # PATH, HOME, LANG, USER and LOGNAME, none of root's (runuser passed it all on, and a team reads its own processes'
  # /proc/PID/environ). env -i runs as root, so the full environment is never in a process of USER's; setpriv does no
  # PAM session and execs at once (runuser forks, and its child had the whole environment until it exec'd).
  # Within a deadline (HN_AS_USER_SECONDS, 600 s): the team owns what the command opens, and a FIFO or a stopped
  # process there would hold it for ever, and every team's provisioning after it. timeout runs as root: the team
  # cannot stop it; its SIGKILL ends the command 5 s after its SIGTERM.
  local home rc=0
  home=$(getent passwd "$1" | cut -d: -f6)
  env -i -C / PATH=/usr/local/bin:/usr/bin:/bin HOME="${home:-/}" LANG=C.UTF-8 USER="$1" LOGNAME="$1" \
    timeout -k 5 "${HN_AS_USER_SECONDS:-600}" setpriv --reuid="$1" --regid="$1" --init-groups -- "${@:2}" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "HN-FAIL $1: a command run as $1 ($2) did not end within ${HN_AS_USER_SECONDS:-600} s: stopped" >&2
  fi
  return "$rc"
}

hn_team_write() {  # TEAM DEST MODE: stdin into the team's file DEST, written by the team itself (umask 077, then
  # renamed into place), so that a link the team put in a folder's place leads nowhere it could not write itself.
  # Into a new name mktemp made (O_EXCL): a FIFO or link the team put at a fixed name is never opened
  # shellcheck disable=SC2016  # that sh expands them
  hn_as_user "$1" sh -c 'umask 077 && new=$(mktemp "$1.hn-new.XXXXXX") && cat > "$new" && chmod "$2" "$new" &&
    mv -f "$new" "$1"' sh "$2" "$3"
}

# Put a shipped file in place atomically, keeping what was there so hn_restore can bring it back.
hn_install() {  # SOURCE DEST OWNER GROUP MODE
  local src=$1 dest=$2
  if [ "$3" != root ]; then   # a team's own file in its home (authorized_keys); no check reads it: nothing to put back
    hn_team_write "$3" "$dest" "$5" < "$src"
    return
  fi
  if [ -e "$dest" ]; then
    mkdir -p "$HN_BACKUP/old$(dirname "$dest")"
    cp -a "$dest" "$HN_BACKUP/old$dest"
  else
    echo "$dest" >> "$HN_BACKUP/new"
  fi
  mkdir -p "$(dirname "$dest")"
  install -o "$3" -g "$4" -m "$5" "$src" "$dest.hn-new"
  mv -f "$dest.hn-new" "$dest"
}

# Undo every hn_install of this run: a failed check must leave the running config as it was.
hn_restore() {
  if [ -d "$HN_BACKUP/old" ]; then
    (cd "$HN_BACKUP/old" && find . -type f -o -type l) | while read -r f; do cp -a "$HN_BACKUP/old/${f#./}" "/${f#./}"; done
  fi
  if [ -f "$HN_BACKUP/new" ]; then xargs -r rm -f < "$HN_BACKUP/new"; fi
}

hn_install_slice() {  # TEAM SOURCE DEST: the team's user slice drop-in (DEST has {uid}, the team's uid here), checked
  # by systemd-analyze verify first; it exits 0 on a bad value or key and only warns, so any output refuses it.
  # --man=no: a server without man (Debian 13 minimal) would fail it for user@.service(5), the slice's Documentation=
  local uid check out
  uid=$(id -u "$1" 2>/dev/null) || return 0     # no user: the team's job failed, and said so
  check="$HN_BACKUP/slice-check"
  mkdir -p "$check/user-$uid.slice.d" && cp "$2" "$check/user-$uid.slice.d/$(basename "$3")"
  if ! out=$(SYSTEMD_UNIT_PATH="$check:" systemd-analyze verify --man=no "user-$uid.slice" 2>&1) || [ -n "$out" ]; then
    echo "$out" >&2
    hn_restore
    hn_fail "systemd-analyze verify refused the slice limits of $1 (see above); the running config is untouched"
  fi
  hn_install "$2" "${3//\{uid\}/$uid}" root root 0644
}
hn_add_user() {  # TEAM HOME COMMENT TEAMS_DIR: the team's user and its own new group, one team at a time: useradd
  # refuses to run while another holds /etc/passwd's lock, and teams are set up side by side (hn_team_jobs). Never an
  # existing group (a team named disk joined the group disk: the raw disks): --user-group fails if there is one. The
  # record TEAMS_DIR/TEAM says hacknode made the team, and the gid of the group it made: removal deletes that one only.
  (
    flock 8
    if getent group "$1" >/dev/null; then
      hn_fail "team $1: the server already has a group $1 ($(getent group "$1")) that hacknode did not make;" \
        "rename the team"
    fi
    useradd --create-home --home-dir "$2" --shell /bin/bash --user-group --comment "$3" "$1"
    install -d -m 0755 "$4"
    echo "group=$(id -g "$1")" > "$4/$1"
  ) 8>"$HN_BACKUP/users.lock"
}

hn_set_comment() {  # TEAM COMMENT: under the same lock as hn_add_user
  ( flock 8; usermod --comment "$2" "$1" ) 8>"$HN_BACKUP/users.lock"
}

HN_FAILED_TEAMS=""   # teams whose job failed: their sites are not checked, and the script fails at its end

hn_team_jobs() {  # TEAM...: hn_job_<TEAM> of each, side by side, at most as many at once as the server has cores;
  # then each job's output in the order given, whatever order they finished in: the report stays stable. A failed
  # job stops only its own team; its output's last lines are shown, and the next run takes up where it stopped.
  local team dir="$HN_BACKUP/jobs" cores reason
  cores=$(nproc 2>/dev/null || echo 2)
  mkdir -p "$dir"
  for team in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$cores" ]; do wait -n || true; done
    ( set +e; ( set -e; "hn_job_$team" ) >"$dir/$team.log" 2>&1; echo $? >"$dir/$team.rc" ) &
  done
  wait
  for team in "$@"; do
    hn_job_lines "$team" < "$dir/$team.log" > "$dir/$team.shown"
    if [ "$(cat "$dir/$team.rc")" = 0 ]; then cat "$dir/$team.shown"; continue; fi
    # every step line, so the report knows where it stopped, and the last 20 lines of the rest
    grep -v '^HN-FAIL ' "$dir/$team.shown" | awk -v from="$(( $(grep -vc '^HN-FAIL ' "$dir/$team.shown") - 20 ))" \
      '/^HN-STEP / || NR > from'
    reason=$(sed -n 's/^HN-FAIL //p' "$dir/$team.shown" | tail -n 1)
    echo "HN-TEAM-FAILED $team ${reason:-exit $(cat "$dir/$team.rc")}"
    HN_FAILED_TEAMS="$HN_FAILED_TEAMS $team"
  done
}

hn_job_lines() {  # TEAM: a team's job output shown: a line "HN-..." other than the job's own steps and its failure's
  # reason is the output of a command run as the team, and quoted (a forged HN-TEAM-FAILED or HN-DONE misled the report)
  hn_text | awk -v team="$1" '/^HN-STEP / && $2 == team || /^HN-FAIL / { print; next } /^HN-/ { print "  | " $0; next } 1'
}

hn_team_failed() { [[ " $HN_FAILED_TEAMS " == *" $1 "* ]]; }

hn_team_jobs_verdict() {  # after every other step: fail when a team's job failed, naming the teams
  [ -z "$HN_FAILED_TEAMS" ] || hn_fail "setting up team(s)$HN_FAILED_TEAMS failed (their output is above; the" \
    "other teams are set up); run provision again once the cause is fixed: it goes on where each stopped"
}

hn_apt_install() {  # PACKAGE...: Debian's packages installed, without their recommended ones
  apt-get update -qq || hn_fail "apt-get update failed: the server needs a package source for: $*"
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

hn_install_wheels() {  # DEST UV DIGEST: the bundle's wheelhouse ($HN_STAGE/wheels) in DEST's place, readable by all
  # (the teams' virtualenvs are made from it), uv unpacked from it (hn_unpack_uv), DIGEST in DEST/.digest
  rm -rf "$1.new" && mkdir -p "$(dirname "$1")"
  mv "$HN_STAGE/wheels" "$1.new" && chmod -R a+rX "$1.new"
  rm -rf "$1" && mv "$1.new" "$1"
  hn_unpack_uv "$1" "$2"
  echo "$3" > "$1/.digest"
}

hn_unpack_uv() {  # WHEELHOUSE DEST: uv's program out of its wheel (a zip) in the wheelhouse, for make-venv
  local wheel tmp wheels=("$1"/uv-*.whl)
  wheel=${wheels[0]}; [ -e "$wheel" ] || wheel=""
  rm -f "$2"
  if [ -z "$wheel" ]; then echo "no uv wheel in $1: virtualenvs are made with python3 -m venv + pip"; return 0; fi
  tmp=$(mktemp -d)
  python3 -I -m zipfile -e "$wheel" "$tmp"   # -I: never the working folder's modules, nor PYTHON* variables
  install -D -m 0755 "$tmp"/uv-*.data/scripts/uv "$2"
  rm -rf "$tmp"
}

hn_team_dirs() {  # "PATH OWNER GROUP MODE"...: a team's folders made or put right, never through a link. The team
  # owns its home, so it can put a link where one of its folders was, and install -d, chown and chmod follow links:
  # the next provisioning handed the team the link's target (/etc, say: seen in a test). A link in a folder's
  # place is removed (a file there stops the team's setup); the folder is then opened without following a link
  # and fixed through that handle. -I (isolated): root's Python imports nothing from the working folder (sys.path[0]
  # is the working folder for a program read from stdin) nor takes PYTHON* variables.
  python3 -I - "$@" <<'PY'
import grp, os, pwd, sys
for spec in sys.argv[1:]:
    path, owner, group, mode = spec.split(" ")
    if os.path.islink(path):
        os.unlink(path)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as error:    # a file there, or a link put back meanwhile: the team's setup stops here
        print("%s: %s: it must be a folder of the team's (hacknode follows no link there)" % (path, error.strerror),
              file=sys.stderr)
        sys.exit("HN-FAIL %s is not a folder" % path)
    try:
        os.fchown(fd, pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid)
        os.fchmod(fd, int(mode, 8))
    finally:
        os.close(fd)
PY
}

hn_team_unpack() {  # TEAM DIR TAR: the stage's file TAR unpacked into the team's new folder DIR by the team (root
  # reads the stage, the team writes in its own folder: root never writes below a team's home, where a link could take
  # it elsewhere); -p keeps the modes nginx needs to read static files
  # shellcheck disable=SC2016  # that sh expands them
  hn_as_user "$1" sh -c 'rm -rf "$1" && mkdir "$1" && tar -xpf - -C "$1"' sh "$2" < "$HN_STAGE/$3"
}

hn_team_prepare() {  # TEAM SCRIPT RELEASE HASH: the team's release program (the stage's file SCRIPT) prepares its
  # release RELEASE with the virtualenv HASH, as the team, running no release command (release.sh's `first`)
  hn_as_user "$1" bash -s -- prepare "$3" "$4" first < "$HN_STAGE/$2"
}

hn_team_live() {  # TEAM RELEASE CURRENT RELOAD_FILE: the team's CURRENT link to RELEASE (relative), made by the team,
  # with uwsgi's touch-reload file made before uwsgi starts: deploys signal uwsgi and never touch it, and uwsgi warns
  # in the team's log about a missing one (and would reload when it appears)
  # shellcheck disable=SC2016  # that sh expands them
  hn_as_user "$1" sh -c 'ln -sfn "$1" "$2" && touch "$3"' sh "$2" "$3" "$4"
}

hn_team_env() {  # TEAM HASH REQUIREMENTS LINK: a team's first virtualenv, made by root from the server's shared uv
  # cache of the teams' wheels, unpacked and compiled to bytecode once for all (each team used to unpack its own
  # copy, and to compile it at its site's first request: a second of CPU a team, most of a class's provisioning).
  # Its files are hard links to the cache's, root's and read-only to every team: no team can change a file another
  # team's virtualenv uses. It lives in root's tree, TEAM_ENVS/TEAM/HASH (0750 root:TEAM: only that team reads it),
  # and the team's envs/HASH (LINK) links to it: root writes nothing below the team's home, where the team could
  # swap a folder for a link between two of root's steps. The team's own deploys make their virtualenvs as before.
  local dir="$HN_TEAM_ENVS/$1/$2"
  if [ ! -f "$dir/.hacknode-complete" ]; then
    hn_team_env_cache "$3"
    install -d -o root -g "$1" -m 0750 "$HN_TEAM_ENVS/$1"
    rm -rf "$dir"
    "$HN_MAKE_VENV" "$dir" "$HN_TEAM_ENV_CACHE" "$HN_WHEELS" -- -r "$3"
    touch "$dir/.hacknode-complete"
  fi
  # as the team, in its own folder; a virtualenv of that name its deploys made stays
  # shellcheck disable=SC2016  # that sh expands them
  hn_as_user "$1" sh -c '[ -e "$2" ] || ln -sfn "$1" "$2"' sh "$dir" "$4"
}

hn_team_env_cache() {  # REQUIREMENTS: the shared cache holds their wheels unpacked and compiled, once per wheelhouse
  # (teams are set up side by side: the first one does it, the others wait for it)
  local stamp
  stamp="$HN_TEAM_ENV_CACHE/.compiled-$(cat "$HN_WHEELS/.digest" 2>/dev/null)-$(sha256sum < "$1" | cut -c1-12)"
  (
    flock 8
    [ -f "$stamp" ] && exit 0
    "$HN_MAKE_VENV" "$HN_TEAM_ENV_CACHE/.prime" "$HN_TEAM_ENV_CACHE" "$HN_WHEELS" -- -r "$1" >/dev/null
    rm -rf "$HN_TEAM_ENV_CACHE/.prime"
    # a file it cannot compile (another Python's syntax) is compiled at import, as before
    python3 -I -m compileall -q -j 0 "$HN_TEAM_ENV_CACHE" >/dev/null 2>&1 || true
    touch "$stamp"
  ) 8>"$HN_BACKUP/team-env-cache.lock"
}

hn_remove() {  # PATH: remove a file, kept for hn_restore
  if [ -e "$1" ]; then
    mkdir -p "$HN_BACKUP/old$(dirname "$1")"
    mv "$1" "$HN_BACKUP/old$1"
  fi
}
