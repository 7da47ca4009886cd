#!/usr/bin/python3
# managed by hacknode: a release's Procfile checked and turned into what its processes read (layout.PROCS_DIR),
# installed as layout.PROCFILE_TOOL beside hacknode_procfile.py (deploy/core/procfile.py) and hacknode_layout.py.
# Run as the team by release.sh `prepare`, on its own release:
#   procfile check RELEASE_DIR    the Procfile (none: Rapid News's DEFAULT) checked, nothing written
#   procfile write RELEASE_DIR    RELEASE_DIR/.hacknode-procs made anew: web, health, procs.json, uwsgi.ini and
#                                 public/ (nginx's links to the static folders)
# A bad Procfile: one line `HN-FAIL Procfile:LINE: key: what is wrong` on stderr, exit 1, nothing written.
# The tree is the team's: what it put at .hacknode-procs (a folder, a file, a link) is replaced, never followed;
# the Procfile is read only as a plain file; a static folder must be a folder inside the release.
import os
import secrets
import shutil
import stat
import sys

try:                                            # on a server: installed beside this program
    import hacknode_layout as layout
    import hacknode_procfile as procfile
except ImportError:                             # in the repository (its tests)
    from deploy.core import layout, procfile

FAIL = "HN-FAIL "
DIR_MODE, FILE_MODE = 0o755, 0o644              # as rsync ships the tree: nginx reads the links through its group


class Refused(Exception):
    """What stops the tool: str() is the one line it prints."""


def open_release(path):
    """The release's folder, opened without following a link there."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as error:
        raise Refused(f"{path}: not a folder ({error.strerror})") from None


def read_procfile(release):
    """(the release's Procfile, its text), from the folder `release` (an fd); (DEFAULT, None) when it has none."""
    try:
        fd = os.open("Procfile", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=release)
    except FileNotFoundError:
        return procfile.DEFAULT, None
    except OSError as error:        # ELOOP: a link
        raise Refused(f"Procfile: cannot be read as a plain file ({error.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise Refused("Procfile: not a plain file")
        data = f.read(procfile.MAX_BYTES + 1)
    try:
        text = procfile.decode(data)
        return procfile.parse(text), text
    except procfile.ProcfileError as error:
        raise Refused(str(error)) from None


def static_line(text, prefix):
    """`Procfile:LINE` of the static line of `prefix` (the file is known good); the default's words without one."""
    for number, line in enumerate((text or "").split("\n"), 1):
        pair = procfile.key_value(line.strip())
        if pair and pair[0] == "static" and procfile.words(pair[1]).split()[0] == prefix:
            return f"Procfile:{number}"
    return "Procfile (none: Rapid News's static folder)"


def check_static(release_path, parsed, text):
    """Each static folder is a folder inside the release, after every link on the way is followed (nginx follows
    them too, as far as its disable_symlinks allows)."""
    root = os.path.realpath(release_path)
    for prefix, folder in parsed.static:
        where = os.path.realpath(os.path.join(root, folder))
        if os.path.commonpath([root, where]) != root or where == root:
            raise Refused(f"{static_line(text, prefix)}: static: {folder} leads outside the release: a static "
                          "folder is one of the tree's")
        if os.path.exists(where) and not os.path.isdir(where):     # missing: the release command may make it
            raise Refused(f"{static_line(text, prefix)}: static: {folder} is not a folder")


def write_file(folder, name, text):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE, dir_fd=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), FILE_MODE)        # the team's umask (027) would leave others out
        f.write(text)


def subfolder(parent, name):
    """The folder `name` in the folder `parent` (an fd), made with DIR_MODE unless it is there; an fd."""
    try:
        os.mkdir(name, DIR_MODE, dir_fd=parent)
    except FileExistsError:
        pass
    fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
    os.fchmod(fd, DIR_MODE)                     # mkdir obeys the umask
    return fd


def fill(folder, parsed):
    """The new PROCS_DIR's content, into `folder` (an fd of the folder made just now by this program)."""
    for name, text in procfile.release_files(parsed).items():
        write_file(folder, name, text)
    for link, target in procfile.static_links(parsed).items():
        *parents, name = link.split("/")
        fds = []
        try:
            for part in parents:
                fds.append(subfolder(fds[-1] if fds else folder, part))
            os.symlink(target, name, dir_fd=fds[-1])
        finally:
            for fd in fds:
                os.close(fd)


def remove(release, name):
    """`name` in the release gone, whatever it is, without following a link."""
    try:
        mode = os.stat(name, dir_fd=release, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(name, dir_fd=release)
    else:
        os.unlink(name, dir_fd=release)


def write(release, parsed):
    """RELEASE_DIR/PROCS_DIR replaced by a new one: written under a temporary name, then renamed into place."""
    new, old = (f"{layout.PROCS_DIR}.{what}-{secrets.token_hex(4)}" for what in ("new", "old"))
    os.mkdir(new, DIR_MODE, dir_fd=release)
    try:
        folder = subfolder(release, new)
        try:
            fill(folder, parsed)
        finally:
            os.close(folder)
        try:
            os.rename(layout.PROCS_DIR, old, src_dir_fd=release, dst_dir_fd=release)
        except FileNotFoundError:
            pass
        os.rename(new, layout.PROCS_DIR, src_dir_fd=release, dst_dir_fd=release)
    finally:
        remove(release, new)
        remove(release, old)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("check", "write"):
        raise Refused("usage: procfile check|write RELEASE_DIR")
    release_path = argv[2]
    release = open_release(release_path)
    try:
        parsed, text = read_procfile(release)
        check_static(release_path, parsed, text)
        if argv[1] == "write":
            write(release, parsed)
    finally:
        os.close(release)
    print(f"Procfile: {procfile.summary(parsed)}" + ("" if parsed is not procfile.DEFAULT else " (no Procfile)"))


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Refused as refused:
        sys.exit(f"{FAIL}{refused}")
    except OSError as error:                    # a full disk, a folder the tree made unwritable
        sys.exit(f"{FAIL}procfile {sys.argv[1]} {sys.argv[2]}: {error}")
