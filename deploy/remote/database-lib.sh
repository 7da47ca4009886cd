# shellcheck shell=bash
# managed by hacknode: the class database's helpers of a provisioning script (sourced by apply-lib.sh, after
# services-lib.sh, whose hn_secret, hn_mongo, hn_mongo_wait, hn_secantus_stop, hn_service and hn_supervisor_* they use).
# deploy/provision/database.py emits one call per line, its paths and URIs as arguments. Secrets are made here
# (hn_secret), kept in shell variables (never exported, never in a process's arguments, never printed) and handed to
# root's database tool alone, in its environment (hn_mongo). A URI argument has ${HN_PW} where the password goes.

hn_admin_uri() {  # SOURCE: HN_ADMIN_URI (not exported) from stdin (SOURCE -: mode external, the instructor's
  # environment) or from the file SOURCE (empty if it is missing); then stdin closed: nothing after reads the
  # instructor's terminal
  if [ "$1" = - ]; then
    IFS= read -r HN_ADMIN_URI || true
  else
    HN_ADMIN_URI=$(cat "$1" 2>/dev/null || true)
  fi
  exec </dev/null
}

hn_with_password() {  # URI: URI with the password of HN_PW in the place of ${HN_PW}, and a newline
  local mark="\${HN_PW}"
  printf '%s\n' "${1//"$mark"/"$HN_PW"}"
}

hn_admin_uri_write() {  # FILE URI: FILE (0600 root, written whole) holds URI with HN_PW's password
  install -d -m 0755 "$(dirname "$1")"
  (umask 077; hn_with_password "$2" > "$1.new")
  mv "$1.new" "$1"
}

hn_admin_wait() {  # FILE WHY: HN_ADMIN_URI from FILE, and the database answers it within 60 s, else the script stops
  # saying WHY
  HN_ADMIN_URI=$(cat "$1")
  hn_mongo_wait HN_ADMIN_URI 60 || hn_fail "$2"
}

hn_system_user() {  # USER HOME: the system user USER (no login shell), made if it is missing
  id -u "$1" >/dev/null 2>&1 || useradd --system --home-dir "$2" --shell /usr/sbin/nologin "$1"
}

hn_secantus_bootstrap() {  # USER PROGRAM DATA PORT CONF ADMIN_FILE URI: SecantusDB's first start. It has no localhost
  # exception: started by hand without auth (PROGRAM as USER, DATA its storage, on PORT), it gets its admin user,
  # then stops; the supervisor program (CONF) runs it with --auth from then on. ADMIN_FILE holds URI.
  local HN_PW boot
  HN_PW=$(hn_secret)
  # a program of an earlier, failed first start must not take the port; without one, supervisord starts now, while
  # SecantusDB starts by hand (each takes a second)
  if [ -e "$5" ]; then
    hn_supervisor_up
    supervisorctl stop hacknode-secantus >/dev/null 2>&1 || true
  else
    hn_supervisor_start
  fi
  runuser -u "$1" -- "$2" --host 127.0.0.1 --port "$4" --storage-path "$3" --standalone --cache-size 128M \
    >/dev/null 2>&1 &
  boot=$!
  HN_BOOT_URI=mongodb://127.0.0.1:$4/ hn_mongo_wait HN_BOOT_URI 60
  HN_BOOT_URI=mongodb://127.0.0.1:$4/ HN_PW=$HN_PW hn_mongo create-admin
  hn_secantus_stop "$boot" "$4"
  hn_admin_uri_write "$6" "$7"
}

hn_secantus_up() {  # USER: SecantusDB (run by USER) started by supervisor if it is not running
  pgrep -u "$1" -x secantusd-py >/dev/null || supervisorctl start hacknode-secantus >/dev/null 2>&1 || true
}

hn_mongod_packages() {  # KEY_URL KEYRING APT_LINE LIST: MongoDB's packages from its apt repository (APT_LINE in LIST,
  # signed by the key at KEY_URL, kept as KEYRING)
  apt-get install -y -qq gnupg curl >/dev/null
  curl -fsSL "$1" | gpg --dearmor --yes -o "$2"
  echo "$3" > "$4"
  apt-get update -qq && apt-get install -y -qq mongodb-org >/dev/null
}

hn_mongod_secured() {  # PORT ADMIN_FILE URI: mongod on PORT with its admin user, created before authorization is
  # turned on; ADMIN_FILE holds URI
  local HN_PW
  sed -i "s/^  port: .*/  port: $1/" /etc/mongod.conf
  hn_service mongod start
  HN_BOOT_URI=mongodb://127.0.0.1:$1/ hn_mongo_wait HN_BOOT_URI 60
  HN_PW=$(hn_secret)
  HN_BOOT_URI=mongodb://127.0.0.1:$1/ HN_PW=$HN_PW hn_mongo create-admin
  grep -q '^security:' /etc/mongod.conf || printf 'security:\n  authorization: enabled\n' >> /etc/mongod.conf
  hn_service mongod restart
  hn_admin_uri_write "$2" "$3"
  hn_admin_wait "$2" "MongoDB did not start with authorization: journalctl -u mongod"
  if [ -d /run/systemd/system ]; then systemctl enable mongod >/dev/null 2>&1 || true; fi
}

hn_team_database() {  # TEAM FILE URI: TEAM's database user with a fresh password, and FILE (0400, the team's, written
  # by the team) with its URI (URI with the password) and a fresh Flask secret key
  local HN_PW HN_KEY
  [ -n "$HN_ADMIN_URI" ] || hn_fail 'no MongoDB admin URI on this server'
  HN_PW=$(hn_secret)
  HN_KEY=$(hn_secret)
  HN_PW=$HN_PW hn_mongo team-user "$1"
  # printf is bash's own: the secrets are in no process's arguments
  printf 'FLASK_MONGO_URI=%s\nFLASK_SECRET_KEY=%s\n' "$(hn_with_password "$3")" "$HN_KEY" | hn_team_write "$1" "$2" 0400
}
