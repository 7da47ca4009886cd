# managed by hacknode: each team's deadline and submission (`fab freeze`, deploy/remote/term.sh) as the class's
# collector (class_collect.py, installed beside it) shows them. Root's files are read; the team's link and folder
# are read, never followed. Standard library only.
import os

try:                                            # on a server: installed beside the collector
    import hacknode_layout as layout
except ImportError:                             # in the repository (its tests)
    from deploy.core import layout


def small_file(path, limit=4096):
    """The start of one of root's small files, or None when it is not there."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(limit)
    except OSError:
        return None


def submission(team, now):
    """The team's deadline and submission (`fab freeze`: root's files in FREEZE_DIR, deploy/remote/term.sh), or None
    before any: {"release", "taken", "freeze": lifted | frozen since T | freezes at T, "live": its `current` still
    leads to the submitted release in the releases folder root sealed}; the release as the team's folder names it
    (class_collect shows it as safe bytes). The link and folder are read, never followed."""
    mark, record = small_file(f"{layout.FREEZE_DIR}/{team}"), small_file(f"{layout.FREEZE_DIR}/{team}.submission")
    if mark is None and record is None:
        return None
    fields = dict(line.partition("=")[::2] for line in (record or "").splitlines())
    epoch, _, when = (mark or "").strip().partition("=")[2].partition(" ")
    freeze = "lifted" if not epoch.isdigit() else f"frozen since {when}" if now >= int(epoch) else f"freezes at {when}"
    release, home = fields.get("release", ""), layout.TeamPaths(team).home
    try:
        live = (os.readlink(f"{home}/current") == f"releases/{release}"
                and os.lstat(f"{home}/releases").st_uid == 0)
    except OSError:
        live = False
    return {"release": release, "taken": fields.get("submitted", ""), "freeze": freeze, "live": live}
