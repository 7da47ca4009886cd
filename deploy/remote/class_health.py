# managed by hacknode: the path each team's live release answers its health check on (its Procfile's `health`,
# written by `procfile write` into the release's .hacknode-procs/health), read as root for `fab status`'s probe by the
# class's collector (class_collect.py, installed beside it). The team writes that file: it is reached from the team's
# home one name at a time, never through a link but `current` (whose target must read releases/<name>), each folder
# and the file owned by the team (or root: a frozen team's sealed release), the file a regular one of a few bytes,
# its line a plain path; anything else is the default /healthz (Rapid News, every release made before Procfiles).
# Standard library only.
import os
import re
import stat

DEFAULT = "/healthz"
PROCS_DIR = ".hacknode-procs"           # deploy/core/layout.py PROCS_DIR
MAX_BYTES = 300
RELEASE_LINK = re.compile(rb"releases/([A-Za-z0-9][A-Za-z0-9._-]{0,99})")
HEALTH_PATH = re.compile(r"/[A-Za-z0-9._~/?=&%+-]{0,255}")     # deploy/remote/healthz.py HEALTH_PATH


def opened(name, folder, uid, flags=os.O_RDONLY | os.O_DIRECTORY):
    """`name` in the open `folder` (a file descriptor), not through a link, owned by `uid` or root: its descriptor."""
    fd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
    if os.fstat(fd).st_uid not in (uid, 0):
        os.close(fd)
        raise PermissionError(f"{name!r}: not the team's")
    return fd


def health_path(home, uid):
    """The live release's health path under `home` (the team's, of user `uid`), or DEFAULT."""
    fds = []
    try:
        fds.append(opened(home, None, uid))
        found = RELEASE_LINK.fullmatch(os.readlink(b"current", dir_fd=fds[-1]))
        if not found:
            return DEFAULT
        for name in (b"releases", found.group(1), PROCS_DIR.encode()):
            fds.append(opened(name, fds[-1], uid))
        fds.append(opened(b"health", fds[-1], uid, os.O_RDONLY))
        info = os.fstat(fds[-1])
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            return DEFAULT
        line = os.read(fds[-1], MAX_BYTES + 1).decode("ascii").split("\n", 1)[0]
    except (OSError, ValueError):       # missing, a link, not the team's, not ASCII: the default
        return DEFAULT
    finally:
        for fd in fds:
            os.close(fd)
    return line if HEALTH_PATH.fullmatch(line) else DEFAULT
