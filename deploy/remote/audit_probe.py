# managed by hacknode: `fab audit`'s attacks, run on a server as one team (ME) against another (OTHER, "" when ME is
# alone on its server), started by deploy/remote/audit.py (root) with a clean environment, in the team's home, by
# root's tools python in isolated mode (-I: nothing the team put in its home changes what runs), with root's SETTINGS
# (what it must not write to, where to list the files it can read, the database's hosts). Prints one JSON object for
# root: {attack: outcome} in words ("worked", "refused: PermissionError", "n/a: why", "untried: why", "http 403",
# "allowed"), never what a read returned; all an attack makes is removed before it ends. Standard library, pymongo.
import http.client
import itertools
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

ME, OTHER, DOMAIN, SETTINGS = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
HOME, OTHER_HOME = f"/home/{ME}", f"/home/{OTHER}"
LOGS = "/var/log/hacknode"
MARK = f"hn-audit-{uuid.uuid4().hex[:12]}"          # the name of anything an attack makes (removed after)
SCAN_SKIP = {f"{HOME}/{name}" for name in ("releases", "envs", ".cache", "wheels", "repo.git")}   # the team's code


def attempt(action):
    """"worked" when `action` succeeds, "untried" when its target is missing (nothing was refused: a team that removed
    its own file must not read as denied), else "refused: <the error's name>"."""
    try:
        action()
        return "worked"
    except (FileNotFoundError, NotADirectoryError) as error:
        return f"untried: {error.filename or 'its target'} is missing"
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
    tried = [attempt(lambda pid=pid: read(f"/proc/{pid}/environ")) for pid in pids_of(OTHER)]
    tried = [outcome for outcome in tried if not outcome.startswith("untried")]      # ended meanwhile
    return either(*tried) if tried else f"n/a: {OTHER} runs no process"


def either(*outcomes):
    """One outcome of several tries: worked when one did, untried when one could not be tried, else the first."""
    return next((o for word in ("worked", "untried") for o in outcomes if o.startswith(word)), outcomes[0])


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
            "write_logs": either(attempt(lambda: create(f"{LOGS}/{OTHER}")),
                                 attempt(lambda: open_for_writing(f"{LOGS}/{OTHER}/uwsgi.log"))),
            "connect_socket": attempt(lambda: connect(f"{OTHER_HOME}/run/uwsgi.sock")),
            "proc_environ": environ_of_others()}


def server_writes():
    out = {}
    for attack, folders, files in SETTINGS["writes"]:
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
    """Whether it may schedule jobs: "allowed", or why not (deploy/admin/audit.py says what bounds them)."""
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


def fetch(host, path):  # nginx's answer for `path` asked as a visitor of `host` through 127.0.0.1 ("http -": none)
    try:
        if https_on():
            raw = socket.create_connection(("127.0.0.1", 443), 5)
            context = ssl._create_unverified_context()     # the audit asks what is served, not whose certificate
            conn = http.client.HTTPSConnection(host, 443, timeout=5, context=context)
            conn.sock = context.wrap_socket(raw, server_hostname=host)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=5)
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        conn.close()
        # nginx refused, the team's own app answered (marked by hacknode's loader): it reads only as the team
        mine = response.status == 200 and response.getheader("X-Hacknode-Release")
        return "refused: by nginx (the team's own app answered)" if mine else f"http {response.status}"
    except Exception as error:  # nothing answered: said as such
        return f"http - ({type(error).__name__})"


def links_through_nginx():  # a link in its static folder to a file of another owner that nginx (in every team's
    # group) may read: the other team's ~/.bashrc, or /etc/passwd for a team alone on its server
    static = f"{HOME}/current/app/static"
    if not os.path.isdir(static):
        return dict.fromkeys(("nginx_link_subdomain", "nginx_link_path"), "untried: it has no static folder")
    link = f"{static}/{MARK}.txt"
    try:
        os.symlink(f"{OTHER_HOME}/.bashrc" if OTHER else "/etc/passwd", link)
        return {"nginx_link_subdomain": fetch(f"{ME}.{DOMAIN}", f"/static/{MARK}.txt"),
                "nginx_link_path": fetch("127.0.0.1", f"/{ME}/static/{MARK}.txt")}
    except OSError as error:
        return dict.fromkeys(("nginx_link_subdomain", "nginx_link_path"), f"untried: no link ({type(error).__name__})")
    finally:
        if os.path.islink(link):
            os.unlink(link)


def database():
    """Its own credentials on the other team's database, and none at all, on the class's database (root's hosts: the
    team's settings may name another server); tried only once its credentials open its own database: settings the
    team spoiled leave the attacks untried, never denied."""
    attacks = ("db_own_credentials", "db_no_credentials")
    if not OTHER:
        return {}
    try:
        import pymongo
        from pymongo.errors import OperationFailure, PyMongoError
    except ImportError:
        return dict.fromkeys(attacks, "n/a: no pymongo here")
    try:
        with open(f"{HOME}/.hacknode/mongo_uri") as handle:
            settings = dict(line.split("=", 1) for line in handle.read().split() if "=" in line)
        credentials, _, rest = settings["FLASK_MONGO_URI"].partition("://")[2].rpartition("@")
    except (OSError, KeyError):
        return dict.fromkeys(attacks, "untried: no database settings of its own")
    hosts, path = SETTINGS["db_hosts"] or rest.partition("/")[0], rest.partition("/")[2]

    def tried(uri, name):
        try:
            with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
                client[name].list_collection_names()
            return "worked"
        except OperationFailure as error:
            return f"refused: {(error.details or {}).get('codeName') or 'OperationFailure'}"
        except PyMongoError as error:
            return f"untried: {type(error).__name__}"
    own_uri = f"mongodb://{credentials}@{hosts}/{path}"
    own = tried(own_uri, ME) if credentials else "no credentials"
    if own != "worked":
        return dict.fromkeys(attacks, f"untried: its settings do not open its own database ({own})")
    return {"db_own_credentials": tried(own_uri, OTHER), "db_no_credentials": tried(f"mongodb://{hosts}/", OTHER)}


def can_read(path):
    """Whether `path` is a regular file this team can open for reading, no link followed."""
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.close(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY))
            return True
    except OSError:
        pass
    return False


def readable_files():
    """(paths, folders cut short) of the files it can read, for root's scan for the admin URI. Each folder has a budget
    of its own: a decoy of many files in /tmp hides neither /var/tmp nor HOME, and the folder it fills is named."""
    found, cut, budget = [], [], SETTINGS["max_files"]
    for top in SETTINGS["scan"]:
        count = 0
        for folder, subfolders, files in os.walk(top):
            subfolders[:] = [s for s in subfolders if f"{folder}/{s}" not in SCAN_SKIP]
            mine = list(itertools.islice(filter(can_read, (f"{folder}/{n}" for n in files)), budget - count + 1))
            found += mine[:budget - count]
            count += len(mine)
            if count > budget:
                cut.append(top)
                break
    return found, cut


def main():
    os.umask(0o077)
    out, errors, readable, cut = {}, [], [], []
    parts = (against_other, server_writes, jobs, links_through_nginx, database,
             lambda: {"sudo_list": sudo_list()}, lambda: {"ctlplugin": ctlplugin()}, lambda: {"groups": own_groups()})
    for part in parts:
        try:
            out.update(part())
        except Exception as error:  # one part's failure leaves its attacks unreported (FAILED), not the others
            errors.append(f"{type(error).__name__}: {error}")
    try:
        readable, cut = readable_files()
    except Exception as error:  # the file scan said FAILED too (audit.py reports no admin_files then)
        errors.append(f"file scan: {type(error).__name__}: {error}")
    print(json.dumps({"outcomes": out, "readable": readable, "cut": cut, "error": "; ".join(errors)}))


main()
