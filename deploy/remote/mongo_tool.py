# managed by hacknode: the class database's chores on a server (installed as /opt/hacknode/bin/mongo-tool,
# run by root with the tools virtualenv's python, which has pymongo). URIs and passwords come from the
# environment, never from arguments: another user's process list must not show them.
#   wait VAR SECONDS     until the URI in $VAR answers a ping (exit 1 with the last error at the deadline)
#   create-admin         user admin with role root, password $HN_PW, on the server at $HN_BOOT_URI
#   team-user TEAM       user TEAM with readWrite on database TEAM, password $HN_PW   (admin URI: $HN_ADMIN_URI)
#   drop-team TEAM       drop user TEAM and database TEAM                             (admin URI: $HN_ADMIN_URI)
#   sizes TEAM...        "TEAM KIB" per team: its database's data and indexes, "-" where the server cannot say
#   caps DIR             each team's user read-only (deleting allowed) while its database is over its cap
#                        (DIR/TEAM: its database_mb), read-write again once under; a team whose role changed has
#                        its processes connected to the database ended (their connections keep the old roles in
#                        SecantusDB): prints "TEAM read" or "TEAM readWrite" for each
import os
import pwd
import signal
import sys
import time

import pymongo
from pymongo.uri_parser import parse_uri


def client(variable):
    return pymongo.MongoClient(os.environ[variable], serverSelectionTimeoutMS=10000)


def wait(variable, seconds):
    deadline = time.time() + float(seconds)
    while True:
        try:
            pymongo.MongoClient(os.environ[variable], serverSelectionTimeoutMS=1000).admin.command("ping")
            return
        except Exception as error:  # any failure means "not yet": we only stop at the deadline
            if time.time() > deadline:
                sys.exit("MongoDB did not answer: %s" % error)
            time.sleep(0.1)         # a refused connection fails at once: each 0.5 s was most of a wait


def set_user(db, name, roles):
    """Create the user, or give an existing one the new password (a rerun after a failed first run)."""
    if db.command("usersInfo", name)["users"]:
        db.command("updateUser", name, pwd=os.environ["HN_PW"])
    else:
        db.command("createUser", name, pwd=os.environ["HN_PW"], roles=roles)


def drop_team(team):
    db = client("HN_ADMIN_URI")[team]
    if db.command("usersInfo", team)["users"]:
        db.command("dropUser", team)
    db.client.drop_database(team)


def database_bytes(admin, team):
    """What the team's database holds: its documents and indexes (dbStats dataSize + indexSize). It shrinks as the
    team deletes (MongoDB's storageSize keeps the space it freed; SecantusDB's is dataSize)."""
    stats = admin[team].command("dbStats")
    return int(stats.get("dataSize", 0) + stats.get("indexSize", 0))


def sizes(teams):
    admin = client("HN_ADMIN_URI")
    for team in teams:
        try:
            print(team, database_bytes(admin, team) // 1024)
        except Exception:  # a database without dbStats (or not answering): the size is unknown, not an error
            print(team, "-")


SHRINK_ROLE = "hacknodeShrink"     # over its cap a team may still delete documents and drop collections


def capped_roles(team, over):
    """Over its cap: read, and delete what it has (to get back under); else readWrite."""
    if over:
        return [{"role": "read", "db": team}, {"role": SHRINK_ROLE, "db": team}]
    return [{"role": "readWrite", "db": team}]


def ensure_shrink_role(database):
    if not database.command("rolesInfo", SHRINK_ROLE)["roles"]:
        database.command("createRole", SHRINK_ROLE, roles=[], privileges=[
            {"resource": {"db": database.name, "collection": ""}, "actions": ["remove", "dropCollection"]}])


def cap_role(admin, team, cap_mb):
    """The team's user read-only (but for deleting) over its cap, read-write under it; "read" or "readWrite" when
    this changed its roles, else None. MongoDB has no quota per database: its users' roles are what root can change
    (updateUser)."""
    over = database_bytes(admin, team) > cap_mb * 1024 * 1024
    users = admin[team].command("usersInfo", team)["users"]
    if not users or users[0]["roles"] == capped_roles(team, over):
        return None
    if over:
        ensure_shrink_role(admin[team])
    admin[team].command("updateUser", team, roles=capped_roles(team, over))
    return "read" if over else "readWrite"


def database_sockets(uid, port):
    """The inodes of the TCP sockets user `uid` has open to `port` (the kernel's tables name each socket's owner)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as handle:
                rows = [line.split() for line in handle.read().splitlines()[1:]]
        except OSError:
            continue
        inodes |= {row[9] for row in rows if int(row[2].rsplit(":", 1)[1], 16) == port and int(row[7]) == uid}
    return inodes


def end_connected(team, port):
    """End the team's processes connected to the database: SecantusDB keeps a connection's roles from its login,
    so a connection opened before a change would keep writing past the cap. Its uwsgi master starts new workers."""
    try:
        uid = pwd.getpwnam(team).pw_uid
    except KeyError:        # no such user here (mode external's database is shared with no one here)
        return
    sockets = {f"socket:[{inode}]" for inode in database_sockets(uid, port)}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            if sockets & {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}:
                os.kill(int(pid), signal.SIGKILL)
        except OSError:     # gone meanwhile
            continue


def read_cap(path):
    """The MB in a cap file: its last line that is not a comment."""
    with open(path, encoding="utf-8") as handle:
        return int([line for line in handle.read().splitlines() if line.strip() and not line.startswith("#")][-1])


def caps(folder):
    admin = client("HN_ADMIN_URI")
    try:
        port = parse_uri(os.environ["HN_ADMIN_URI"])["nodelist"][0][1]
    except Exception:       # an address pymongo resolves itself (mongodb+srv): no port to look for
        port = None
    for team in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        try:
            role = cap_role(admin, team, read_cap(os.path.join(folder, team)))
        except Exception as error:  # one team's database not answering must not stop the others' check
            print(f"mongo-tool caps: {team}: {error}", file=sys.stderr)
            continue
        if role and port:
            end_connected(team, port)
            print(team, role)


def main(command, *args):
    if command == "wait":
        wait(*args)
    elif command == "create-admin":
        set_user(client("HN_BOOT_URI").admin, "admin", ["root"])
    elif command == "team-user":
        set_user(client("HN_ADMIN_URI")[args[0]], args[0], [{"role": "readWrite", "db": args[0]}])
    elif command == "drop-team":
        drop_team(args[0])
    elif command == "sizes":
        sizes(args)
    elif command == "caps":
        caps(args[0])
    else:
        sys.exit("mongo-tool: unknown command %r" % command)


main(*sys.argv[1:])
# Done: leave at once. The interpreter's own exit waited about half a second more for pymongo's background
# threads, even after MongoClient.close(): a third of each team's database step, 15 s of a class of 30.
sys.stdout.flush()
os._exit(0)
