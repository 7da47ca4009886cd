"""Where things live on a class server. The one place that names these paths:
templates, provisioning and team tasks all ask here."""
from dataclasses import dataclass

ETC = "/etc/hacknode"                       # rendered configs, owned by root
VERSION_FILE = f"{ETC}/version"             # which hacknode last provisioned this server (its version, one line)
UWSGI_DIR = f"{ETC}/uwsgi"                  # <team>.ini: one per team on this server (the collector's list of teams)
TEAMS_DIR = f"{ETC}/teams"                  # one empty file per team provisioning made on this server
NGINX_SITE = "/etc/nginx/sites-enabled/hacknode.conf"   # includes ETC/nginx/*.conf
SUPERVISOR_DIR = "/etc/supervisor/conf.d"  # supervisor ignores [include] inside included files: programs go here
SECANTUS_CONF = f"{SUPERVISOR_DIR}/hacknode-secantus.conf"  # secantus mode: the database program
TOOLS_VENV = "/opt/hacknode/venv"           # root's virtualenv on the server: pymongo (+ secantusdb in secantus mode)
TOOLS_BIN = "/opt/hacknode/bin"            # hacknode's own server programs (deploy/remote/), read by all
HEALTHZ_TOOL = f"{TOOLS_BIN}/healthz"       # the server side's one /healthz probe (deploy/remote/healthz.py)
MONGO_TOOL = f"{TOOLS_BIN}/mongo-tool"      # database users, waits (deploy/remote/mongo_tool.py), root only
TEAM_DB_TOOL = f"{TOOLS_BIN}/team-db"       # a team's database dumped and loaded (deploy/remote/team_db.py)
MAKE_VENV = f"{TOOLS_BIN}/make-venv"        # every virtualenv, root's and the teams' (deploy/remote/make-venv.sh)
TEAM_SCOPE = f"{TOOLS_BIN}/team-scope"     # where systemd runs: starts a team's uwsgi in its slice (team-scope.sh)
# where systemd runs: the limits of a team's user slice (its SSH sessions and, through TEAM_SCOPE, its uwsgi); the
# uid is only known on the server (a new team's user is made in the same run), so it is filled in there
SLICE_DROPIN = "/etc/systemd/system/user-{uid}.slice.d/50-hacknode.conf"
UV = f"{TOOLS_BIN}/uv"                      # unpacked from the shipped wheelhouse; make-venv finds it beside itself
TOOLS_UV_CACHE = "/opt/hacknode/uv-cache"   # root's uv cache, for the tools virtualenv only
TEAM_ENV_CACHE = "/opt/hacknode/team-env-cache"   # root's uv cache of the teams' first virtualenvs, compiled
TEAM_ENVS = "/opt/hacknode/team-envs"   # those virtualenvs, root's: <team>/<hash>, linked from the team's envs/
WHEELS = "/opt/hacknode/wheels"             # wheels shipped by provisioning; servers may have no internet
SECANTUS_HOME = "/opt/hacknode/secantus"    # secantus mode: its data (SECANTUS_HOME/data), run as user hacknode-db
DB_USER = "hacknode-db"                     # secantus mode: the system user SecantusDB runs as
MONGO_ADMIN_FILE = f"{ETC}/mongo-admin"     # 0600 root: the admin URI, generated on the server
INDEX_ROOT = "/var/www/hacknode"            # 0755 root: the class page nginx serves at /, written by root only
CLASS_PAGE = f"{INDEX_ROOT}/index.html"     # the instructor's live class page (deploy/remote/class_page.py)
CLASS_STATUS_TOOL = f"{TOOLS_BIN}/class_collect.py"  # the class's figures (deploy/remote/class_collect.py), root only
CLASS_STATUS_MODULE = f"{TOOLS_BIN}/class_status.py"  # their parser, imported by class-page and the collector
CLASS_BACKUPS_MODULE = f"{TOOLS_BIN}/class_backups.py"  # each team's last nightly backup (last.json) as lines, figures
CLASS_SUBMISSIONS_MODULE = f"{TOOLS_BIN}/class_submissions.py"  # each team's deadline and submission (fab freeze)
CLASS_HEALTH_MODULE = f"{TOOLS_BIN}/class_health.py"  # the health path of each team's live release, read safely
# this very module, shipped beside them: the collector takes every path from it (standard library only)
LAYOUT_MODULE = f"{TOOLS_BIN}/hacknode_layout.py"
# a team's own app (its Procfile, deploy/core/procfile.py): the checker that writes a release's PROCS_DIR, as the team;
# the program its uwsgi master starts for each worker and for its cron jobs, as the team; the WSGI loader of any entry
# point, alone in ENTRY_DIR (every team's uwsgi pythonpath)
PROCFILE_MODULE = f"{TOOLS_BIN}/hacknode_procfile.py"
PROCFILE_TOOL = f"{TOOLS_BIN}/procfile"
TEAM_PROCS = f"{TOOLS_BIN}/team-procs"
TEAM_PROCS_RUN = f"{TOOLS_BIN}/team_procs_run.py"    # its cron job's one run, and what its workers share with it
# a cron run's record, written and read by TEAM_PROCS as the team, read by root's collector (beside both); the
# collector's part: each team's workers and last cron run
CRON_RECORDS_MODULE = f"{TOOLS_BIN}/cron_records.py"
CLASS_PROCS_MODULE = f"{TOOLS_BIN}/class_procs.py"
ENTRY_DIR = "/opt/hacknode/wsgi"
PROCS_DIR = ".hacknode-procs"               # in each release: what its Procfile asks for, written at prepare
CLASS_PAGE_TOOL = f"{TOOLS_BIN}/class-page"           # rewrites CLASS_PAGE every page_seconds (supervisor program)
CLASS_PAGE_TEMPLATE = f"{TOOLS_BIN}/class-page.html.j2"   # deploy/templates/class-page.html.j2, rendered by it
CLASS_PAGE_CONF = f"{SUPERVISOR_DIR}/hacknode-class-page.conf"   # its supervisor program
NIGHTLY_TOOL = f"{TOOLS_BIN}/nightly-backups"   # every team's database dumped and verified (nightly_backups.py)
NIGHTLY_CONF = f"{SUPERVISOR_DIR}/hacknode-backups.conf"   # its supervisor program (the inventory's backups:)
NIGHTLY_DIR = "/var/backups/hacknode/nightly"  # 0700 root: <team>/ its last dumps and last.json (the newest's check)
LOG_ROOT = "/var/log/hacknode"              # one folder per team (TeamPaths.log_dir)
SECANTUS_LOG = f"{LOG_ROOT}/secantus.log"   # secantus mode: the database's log ("secantus" is no team name)
CLASS_PAGE_LOG = f"{LOG_ROOT}/class-page.log"   # the class page writer's errors
NIGHTLY_LOG = f"{LOG_ROOT}/backups.log"     # a line per team and night: its dump, its size, verified or why not
TEAM_PROFILE = "/etc/profile.d/hacknode-team.sh"   # a team's login shells: its umask and TMPDIR
PAM_UMASK_PROFILE = "/usr/share/pam-configs/hacknode-umask"   # pam_umask in every session (pam-auth-update)
DATABASE_CAPS = f"{ETC}/database-caps"    # a file per team: its database_mb (mongo-tool caps reads them all)
# crontab and at refuse the users these files list: a team's jobs would run outside its slice and limits (cron and atd
# start them), so each team has a line in both (plan_limits.plan_scheduled_jobs), removed with the team
JOB_DENY_FILES = ("/etc/cron.deny", "/etc/at.deny")
CRONTABS = "/var/spool/cron/crontabs"       # Debian's cron: a user's crontab is CRONTABS/<user>
AT_JOBS = "/var/spool/cron/atjobs"          # Debian's at: one file per job, owned by its user
HOMES = "/home"                             # the teams' homes: user quotas, where on, are set on its filesystem
TEAM_GECOS = "hacknode team,umask=0027"     # a team account's comment: pam_umask takes its umask from there
KEEP_RELEASES = 5
# `fab freeze` (deploy/remote/term.sh): 0755 root; <team> holds the deadline ("deadline=EPOCH ISO"), <team>.submission
# the release taken at it: release.sh, run as the team, reads both (refuses after the deadline, never prunes that one)
FREEZE_DIR = f"{ETC}/freeze"
SUBMISSIONS = "/var/backups/hacknode-submissions"   # 0700 root: <team>/ the submitted code and database dump
TERM_ARCHIVE = "/var/backups/hacknode-term"        # 0700, the admin user's: what `fab archive` fetches by rsync
OLD_SUDOERS_DIR = "/etc/sudoers.d"         # no team has a sudo rule; older provisioning left one here
TLS_DIR = f"{ETC}/tls"                      # 0755 root: the class's certificate (files, class-ca), its key 0600 root
ACME_WEBROOT = "/var/www/hacknode-acme"     # root's; nginx serves /.well-known/acme-challenge/ from it on port 80
LETSENCRYPT_LIVE = "/etc/letsencrypt/live"  # acme: certbot's current certificate of each name
HEALTHZ_TRUST = f"{ETC}/healthz-trust.pem"  # the CA the /healthz probe trusts (class-ca, acme's ca_bundle); absent:
                                            # the system's CAs; its scheme is in HEALTHZ_CONF
HEALTHZ_CONF = f"{ETC}/healthz.conf"        # "https" when TLS is on: the probe goes through HTTPS (remote/healthz.py)


@dataclass(frozen=True)
class TlsPair:
    certificate: str           # the chain nginx serves (ssl_certificate)
    key: str                   # its private key (ssl_certificate_key)


def tls_pair(mode, name):
    """Where nginx finds the certificate and key of the site `name` (a server_name) in TLS `mode`: certbot's live
    files of that name in acme mode; the one certificate of the class (every name in it) in files and class-ca."""
    if mode == "acme":
        # links to certbot's live files; a self-signed stand-in until certbot has them (deploy/tls/acme.py)
        return TlsPair(f"{ACME_CERTS}/{name}/fullchain.pem", f"{ACME_CERTS}/{name}/privkey.pem")
    return TlsPair(f"{TLS_DIR}/class.crt", f"{TLS_DIR}/class.key")


@dataclass(frozen=True)
class TeamPaths:
    team: str

    @property
    def home(self):            # 0750 team:team; nginx's user is in the team's group
        return f"/home/{self.team}"

    @property
    def releases(self):        # one directory per deploy, named by UTC timestamp
        return f"{self.home}/releases"

    @property
    def current(self):         # symlink to the live release, switched atomically
        return f"{self.home}/current"

    @property
    def envs(self):            # virtualenvs keyed by the hash of requirements.txt
        return f"{self.home}/envs"

    @property
    def venv(self):            # the live release's virtualenv (a link inside the release)
        return f"{self.current}/rapid-env"

    @property
    def run_dir(self):         # uwsgi socket and reload trigger (kept in home: /run is wiped at boot)
        return f"{self.home}/run"

    @property
    def socket(self):          # chmod 660, owned team:www-data
        return f"{self.run_dir}/uwsgi.sock"

    @property
    def stats_socket(self):    # uwsgi's stats (its master answers, no worker): root's collector reads the team's health
        return f"{self.run_dir}/stats.sock"

    @property
    def log_dir(self):         # supervisor's stdout/stderr logs of the team's uwsgi
        return f"{LOG_ROOT}/{self.team}"

    @property
    def uwsgi_log(self):       # readable by the team: deploy prints its tail when a release fails
        return f"{self.log_dir}/uwsgi.log"

    @property
    def access_log(self):      # nginx's "$msec $status $request_uri" per request: class_collect counts recent ones
        return f"{self.log_dir}/access.log"

    @property
    def wheels(self):          # wheels a team's deploy ships when requirements.txt changed (WHEELS has the rest)
        return f"{self.home}/wheels"

    @property
    def uv_cache(self):        # the team's own uv cache: its virtualenvs hard-link the wheels unpacked here
        return f"{self.home}/.cache/uv"

    @property
    def public_dir(self):      # the live release's static files by URL (links public/<prefix> -> its folders, written
        return f"{self.current}/{PROCS_DIR}/public"      # from its Procfile): nginx serves them, under / and /<team>/

    @property
    def cron_runs(self):       # 0750 team:team: the team's cron runs, the last ones of each job (team-procs cron)
        return f"{self.home}/cron"

    @property
    def switch_lock(self):     # held by release.sh while a release is switched: no cron job starts meanwhile
        return f"{self.run_dir}/switch.lock"

    @property
    def reload_file(self):     # uwsgi's touch-reload: deploy touches it for a graceful reload
        return f"{self.run_dir}/reload"

    @property
    def master_fifo(self):     # uwsgi's master reads commands here (0600, the team's): a reload wakes it through it
        return f"{self.run_dir}/master.fifo"

    @property
    def git_repo(self):        # bare repository `git push` deploys through (fab git_remote)
        return f"{self.home}/repo.git"

    @property
    def tmp(self):             # 0700: the team's TMPDIR, so nothing of it passes through the shared /tmp
        return f"{self.home}/tmp"

    @property
    def secrets(self):         # 0700 team:team
        return f"{self.home}/.hacknode"

    @property
    def mongo_uri_file(self):  # 0400 team:team; read by uwsgi at start, never printed
        return f"{self.secrets}/mongo_uri"

    @property
    def uwsgi_ini(self):
        return f"{UWSGI_DIR}/{self.team}.ini"

    @property
    def supervisor_conf(self):
        return f"{SUPERVISOR_DIR}/hacknode-{self.team}.conf"

    @property
    def nginx_conf(self):      # the team's server block (subdomain)
        return f"{ETC}/nginx/{self.team}.conf"

    @property
    def nginx_location(self):  # the team's location (path prefix), included by the server's default block
        return f"{ETC}/nginx/locations/{self.team}.conf"

    @property
    def limits(self):          # pam_limits: the team's SSH sessions (supervisor's uwsgi carries its own)
        return f"/etc/security/limits.d/hacknode-{self.team}.conf"

    @property
    def database_cap(self):    # its database_mb, read by root's check (class page, provisioning): over it, read-only
        return f"{DATABASE_CAPS}/{self.team}"

    @property
    def old_sudoers(self):     # the sudo rule provisioning gave teams before issue 21: removed wherever found
        return f"{OLD_SUDOERS_DIR}/hacknode-{self.team}"


# ---------- tls mode acme (deploy/tls/acme.py) ----------
ACME_CERTS = f"{ETC}/tls/acme"              # <name>/{fullchain,privkey}.pem: what nginx loads (tls_pair) in acme mode
ACME_TOOL = f"{TOOLS_BIN}/acme"             # remote/acme.sh: stand-ins, links, renewal, certbot's deploy hook
ACME_CA_BUNDLE = f"{ETC}/tls/acme-ca-bundle.pem"   # tls.ca_bundle: certbot trusts it to talk to a private ACME CA
CERTBOT_RENEWAL = "/etc/letsencrypt/renewal"       # <name>.conf: a certificate certbot renews
CERTBOT_DROPIN = "/etc/systemd/system/certbot.service.d/hacknode.conf"   # systemd: certbot.timer renews by ACME_TOOL
CERTBOT_TIMER_ON = "/etc/systemd/system/timers.target.wants/certbot.timer"
CERTBOT_CRON = "/etc/cron.d/hacknode-certbot"      # no systemd: cron renews by ACME_TOOL
