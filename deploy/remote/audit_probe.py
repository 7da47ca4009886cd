# managed by hacknode: `fab audit`'s attacks, run on a server as one team (ME) against another (OTHER, "" when ME is
# alone on its server), started by deploy/remote/audit.py (root) with a clean environment, in the team's home, by
# root's tools python in isolated mode (-I: nothing the team put in its home changes what runs). Prints one JSON object
# for root: {attack: outcome} in words ("worked", "refused: PermissionError", "n/a: why", "http 403", "allowed"), never
# what a read returned; everything an attack makes is removed before it ends. Standard library, plus pymongo.
import http.client
import json
import os
import pwd
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import uuid

ME, OTHER, DOMAIN = sys.argv[1], sys.argv[2], sys.argv[3]
HOME, OTHER_HOME = f"/home/{ME}", f"/home/{OTHER}"
LOGS = "/var/log/hacknode"
MARK = f"hn-audit-{uuid.uuid4().hex[:12]}"          # the name of anything an attack makes (removed after)
# root's folders a team must not write into, one attack each: (attack, folders, existing files opened for writing)
SERVER_WRITES = [
    ("write_etc_hacknode", ["/etc/hacknode", "/etc/hacknode/teams"], [f"/etc/hacknode/uwsgi/{ME}.ini"]),
    ("write_opt_hacknode", ["/opt/hacknode", "/opt/hacknode/bin", "/opt/hacknode/venv/bin"],
     ["/opt/hacknode/bin/healthz", "/opt/hacknode/bin/team-scope"]),
    ("write_var_log_hacknode", [LOGS, f"{LOGS}/{ME}"], [f"{LOGS}/{ME}/access.log"]),
    ("write_nginx", ["/etc/nginx", "/etc/nginx/sites-enabled", "/etc/hacknode/nginx"],
     ["/etc/nginx/sites-enabled/hacknode.conf", f"/etc/hacknode/nginx/{ME}.conf"]),
    ("write_supervisor", ["/etc/supervisor", "/etc/supervisor/conf.d"],
     [f"/etc/supervisor/conf.d/hacknode-{ME}.conf", "/etc/supervisor/supervisord.conf"]),
    ("write_sudoers_limits", ["/etc/sudoers.d", "/etc/security/limits.d", "/etc/systemd/system"],
     [f"/etc/sudoers.d/hacknode-{ME}", f"/etc/security/limits.d/hacknode-{ME}.conf"]),
]
# where a secret root handled could have been left readable (root's file scan, by audit.py, looks for the admin URI)
SCAN_ROOTS = ["/etc/hacknode", "/opt/hacknode/bin", LOGS, "/var/log/supervisor", "/etc/supervisor", "/etc/nginx",
              "/etc/sudoers.d", "/etc/security/limits.d", "/etc/profile.d", "/var/www", "/var/backups", "/tmp",
              "/var/tmp", HOME]
SCAN_SKIP = {f"{HOME}/{name}" for name in ("releases", "envs", ".cache", "wheels", "repo.git")}   # the team's code
SCAN_MAX_FILES = 5000


def attempt(action):
    """"worked" when `action` succeeds, else "refused: <the error's name>"."""
    try:
        action()
        return "worked"
    except OSError as error:
        return f"refused: {type(error).__name__}"


def read(path):
    with open(path, "rb") as handle:
        handle.read(1)


def create(folder):
    """A new file in `folder`; removed at once when it could be made."""
    path = f"{folder}/{MARK}"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    os.unlink(path)


def open_for_writing(path):
    """Opened for appending (through a link too) and closed, nothing written: the right to change it is the attack."""
    os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK))


def connect(path):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(path)


def pids_of(user):
    uid, pids = pwd.getpwnam(user).pw_uid, []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            pids += [pid] if os.stat(f"/proc/{pid}").st_uid == uid else []
        except OSError:     # ended meanwhile
            continue
    return pids


def environ_of_others():
    pids = pids_of(OTHER)
    if not pids:
        return f"n/a: {OTHER} runs no process"
    return either(*(lambda pid=pid: read(f"/proc/{pid}/environ") for pid in pids))


def either(*actions):
    outcomes = [attempt(action) for action in actions]
    return "worked" if "worked" in outcomes else outcomes[0]


def against_other():
    """The other team's files, folders, socket and processes."""
    if not OTHER:
        return {}
    return {"read_home": attempt(lambda: read(f"{OTHER_HOME}/.bashrc")),
            "read_secrets": attempt(lambda: read(f"{OTHER_HOME}/.hacknode/mongo_uri")),
            "read_release": attempt(lambda: os.listdir(f"{OTHER_HOME}/current/")),
            "read_logs": attempt(lambda: read(f"{LOGS}/{OTHER}/uwsgi.log")),
            "list_home": attempt(lambda: os.listdir(OTHER_HOME)),
            "write_home": attempt(lambda: create(OTHER_HOME)),
            "write_static": attempt(lambda: create(f"{OTHER_HOME}/current/app/static")),
            "write_logs": either(lambda: create(f"{LOGS}/{OTHER}"),
                                 lambda: open_for_writing(f"{LOGS}/{OTHER}/uwsgi.log")),
            "connect_socket": attempt(lambda: connect(f"{OTHER_HOME}/run/uwsgi.sock")),
            "proc_environ": environ_of_others()}


def server_writes():
    out = {}
    for attack, folders, files in SERVER_WRITES:
        worked = [p for p in folders if os.path.isdir(p) and attempt(lambda: create(p)) == "worked"]
        worked += [p for p in files if os.path.exists(p) and attempt(lambda: open_for_writing(p)) == "worked"]
        out[attack] = f"worked: {worked[0]}" if worked else "refused: every folder and file"
    return out


def run(*argv, stdin=None, cwd=None):
    """(exit code, stdout + stderr) of argv; (None, why) when it cannot run."""
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, cwd=cwd)
    except FileNotFoundError:
        return None, f"no {argv[0]}"
    except subprocess.TimeoutExpired:
        return None, "timed out"
    return done.returncode, done.stdout + done.stderr


def sudo_list():
    code, text = run("sudo", "-n", "-l")
    if code is None:
        return f"refused: {text}"
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines) if "may run the following" in line]
    if code == 0 and starts:
        rules = [line.strip() for line in lines[starts[0] + 1:] if line.strip()]
        first = rules[0].replace(ME, "<team>")[:70] if rules else ""     # the same words for every team
        return f"worked: {len(rules)} rule(s): {first}"
    return "refused: " + ("a password is required" if "password" in text else "no rule")


# issue 21: supervisorctl reads ./supervisord.conf where it is started, and a [ctlplugin:*] section imports and
# calls any callable; code:interact runs what it reads on stdin. Here that code only writes a proof file.
CTLPLUGIN_CONF = "[supervisorctl]\n[ctlplugin:hnaudit]\nsupervisor.ctl_factory = code:interact\n"


def ctlplugin():
    folder = tempfile.mkdtemp(prefix=MARK, dir=f"{HOME}/tmp" if os.path.isdir(f"{HOME}/tmp") else HOME)
    proof = f"{folder}/proof"
    try:
        for where in (folder, f"{folder}/etc"):
            os.makedirs(where, exist_ok=True)
            with open(f"{where}/supervisord.conf", "w") as conf:
                conf.write(CTLPLUGIN_CONF)
        code, text = run("sudo", "-n", "/usr/bin/supervisorctl", "status", ME, cwd=folder,
                         stdin=f"open({proof!r}, 'w').write(str(__import__('os').getuid()))\n")
        if os.path.exists(proof):
            with open(proof) as handle:
                return f"worked: code ran as uid {handle.read().strip()}"
        return "refused: " + ("sudo refused" if code is None or "password" in text else "the plugin did not run")
    finally:
        subprocess.run(["rm", "-rf", "--", folder])


def own_groups():
    gid, groups = os.getgid(), set(os.getgroups()) | {os.getgid()}
    extra = groups - {gid}
    if extra:
        return f"worked: also in gid {','.join(map(str, sorted(extra)))}"
    if gid < 1000:
        return f"worked: its group is system group {gid}"
    return "refused: only its own group"


def jobs():
    """Whether it may schedule jobs: "allowed", or why not (deploy/audit.py says what bounds them)."""
    out = {}
    for attack, argv, refusal in (("crontab", ("crontab", "-l"), "not allowed"), ("at", ("atq",), "permission")):
        code, text = run(*argv)
        out[attack] = f"refused: {text}" if code is None else "refused: not allowed" if refusal in text else "allowed"
    return out


def https_on():
    try:
        with open("/etc/hacknode/healthz.conf") as handle:
            return handle.read().strip() == "https"
    except OSError:
        return False


def fetch(host, path):
    """The status nginx answers for `path` asked as a visitor of `host` through 127.0.0.1 ("http -" for none)."""
    try:
        if https_on():
            raw = socket.create_connection(("127.0.0.1", 443), 5)
            context = ssl._create_unverified_context()     # the audit asks what is served, not whose certificate
            conn = http.client.HTTPSConnection(host, 443, timeout=5, context=context)
            conn.sock = context.wrap_socket(raw, server_hostname=host)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=5)
        conn.request("GET", path, headers={"Host": host})
        status = conn.getresponse().status
        conn.close()
        return f"http {status}"
    except Exception as error:  # nothing answered: said as such
        return f"http - ({type(error).__name__})"


def links_through_nginx():
    """A link in its static folder to a file of another owner that nginx (in every team's group) may read: the other
    team's ~/.bashrc, or /etc/passwd for a team alone on its server."""
    static = f"{HOME}/current/app/static"
    if not os.path.isdir(static):
        return dict.fromkeys(("nginx_link_subdomain", "nginx_link_path"), "n/a: it has no static folder")
    link = f"{static}/{MARK}.txt"
    try:
        os.symlink(f"{OTHER_HOME}/.bashrc" if OTHER else "/etc/passwd", link)
        return {"nginx_link_subdomain": fetch(f"{ME}.{DOMAIN}", f"/static/{MARK}.txt"),
                "nginx_link_path": fetch("127.0.0.1", f"/{ME}/static/{MARK}.txt")}
    except OSError as error:
        return dict.fromkeys(("nginx_link_subdomain", "nginx_link_path"), f"n/a: no link ({type(error).__name__})")
    finally:
        if os.path.islink(link):
            os.unlink(link)


def database():
    """Its own credentials on the other team's database, and no credentials at all."""
    try:
        import pymongo
        from pymongo.errors import OperationFailure, PyMongoError
    except ImportError:
        return {"db_own_credentials": "n/a: no pymongo here"}
    try:
        with open(f"{HOME}/.hacknode/mongo_uri") as handle:
            settings = dict(line.split("=", 1) for line in handle.read().split() if "=" in line)
        uri = settings["FLASK_MONGO_URI"]
    except (OSError, KeyError):
        return {"db_own_credentials": "n/a: no database settings of its own"}
    hosts = uri.split("@", 1)[-1].split("/", 1)[0]
    out = {}
    for attack, client_uri in (("db_own_credentials", uri), ("db_no_credentials", f"mongodb://{hosts}/")):
        client = pymongo.MongoClient(client_uri, serverSelectionTimeoutMS=5000)
        try:
            client[OTHER].list_collection_names()
            out[attack] = "worked"
        except OperationFailure as error:
            out[attack] = f"refused: {(error.details or {}).get('codeName') or 'OperationFailure'}"
        except PyMongoError as error:
            out[attack] = f"n/a: {type(error).__name__}"
        finally:
            client.close()
    return out if OTHER else {}


def readable_files():
    """Paths of regular files this team can open for reading under SCAN_ROOTS (root looks in them for the admin
    URI: the team never sees it), links not followed."""
    found = []
    for top in SCAN_ROOTS:
        for folder, subfolders, files in os.walk(top):
            subfolders[:] = [s for s in subfolders if f"{folder}/{s}" not in SCAN_SKIP]
            for name in files:
                path = f"{folder}/{name}"
                try:
                    if not stat.S_ISREG(os.lstat(path).st_mode):
                        continue
                    os.close(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK))
                except OSError:
                    continue
                found.append(path)
                if len(found) >= SCAN_MAX_FILES:
                    return found
    return found


def main():
    os.umask(0o077)
    out, errors, readable = {}, [], []
    parts = (against_other, server_writes, jobs, links_through_nginx, database,
             lambda: {"sudo_list": sudo_list()}, lambda: {"ctlplugin": ctlplugin()}, lambda: {"groups": own_groups()})
    for part in parts:
        try:
            out.update(part())
        except Exception as error:  # one part's failure leaves its attacks unreported (FAILED), not the others
            errors.append(f"{type(error).__name__}: {error}")
    try:
        readable = readable_files()
    except Exception as error:  # the file scan said FAILED too (audit.py reports no admin_files then)
        errors.append(f"file scan: {type(error).__name__}: {error}")
    print(json.dumps({"outcomes": out, "readable": readable, "error": "; ".join(errors)}))


main()
