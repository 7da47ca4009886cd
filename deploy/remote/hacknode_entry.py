# managed by hacknode: every team's WSGI loader (installed as /opt/hacknode/wsgi/hacknode_entry.py, alone in its
# folder: the team's uwsgi has `pythonpath` there and `module = hacknode_entry:application`). Each uwsgi worker runs
# it in the live release (uwsgi chdirs into `current`): it reads the release's entry point from .hacknode-procs/web
# (written from its Procfile at prepare; a release made before has none: Rapid News's app.wsgi:app), imports it,
# calls it when it is a factory (`()`), and wraps it so every answer names the release and settings it comes from
# (X-Hacknode-Release, X-Hacknode-Settings): the health checks read them whatever the app answers. Names are checked,
# never evaluated. A bad entry point or a failed import leaves no `application`: uwsgi's log gets the team's traceback
# and one line naming the entry point and the error, and need-app ends uwsgi (a deploy shows the log's tail then).
# Standard library only.
import importlib
import os
import re
import sys
import traceback

PROCS_DIR = ".hacknode-procs"           # deploy/core/layout.py PROCS_DIR
DEFAULT_ENTRY = "app.wsgi:app"          # Rapid News, and every release made before Procfiles
MAX_LINE = 300
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
ENTRY = re.compile(rf"(?P<module>{NAME}(?:\.{NAME})*):(?P<attribute>{NAME}(?:\.{NAME})*)(?P<factory>\(\))?")
RELEASE_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z(-[0-9a-f]{4,40})?")
SETTINGS_ID = re.compile(r"[0-9]{1,20}(\.[0-9]{1,9})?")
OWN_HEADERS = ("x-hacknode-release", "x-hacknode-settings")


class EntryError(Exception):
    """The release's entry point cannot be loaded: one line naming it and why."""


def first_line(path):
    """The first line of a small file in the release, or None when there is none."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(MAX_LINE + 1).split("\n", 1)[0].strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise EntryError(f"{path}: {error.strerror}") from None


def entry_point(folder):
    """(module, attribute, factory) of the release in `folder`; EntryError when its line is not module:callable."""
    line = first_line(os.path.join(folder, PROCS_DIR, "web"))
    text = DEFAULT_ENTRY if line is None else line
    found = ENTRY.fullmatch(text) if len(text) <= MAX_LINE else None
    if not found:
        raise EntryError(f"{PROCS_DIR}/web: {text[:80]!r} is no entry point: expected module:callable or "
                         "module:factory() (e.g. src.app:create_app())")
    return found["module"], found["attribute"], bool(found["factory"])


def load(module_name, attribute, factory):
    """The WSGI callable the entry point names; EntryError with the import's or the call's error."""
    shown = f"{module_name}:{attribute}{'()' if factory else ''}"
    try:
        target = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
        if factory:
            target = target()
    except Exception as error:
        raise EntryError(f"entry point {shown}: {type(error).__name__}: {error}") from error
    if not callable(target):
        raise EntryError(f"entry point {shown}: {type(target).__name__} is not a WSGI callable")
    return target


def release_headers(folder, environ):
    """The headers every answer carries: the release (its RELEASE file) and the settings id, when known."""
    headers = []
    release = first_line(os.path.join(folder, "RELEASE"))
    if release and RELEASE_ID.fullmatch(release):
        headers.append(("X-Hacknode-Release", release))
    settings = environ.get("HACKNODE_SETTINGS_ID", "")
    if SETTINGS_ID.fullmatch(settings):
        headers.append(("X-Hacknode-Settings", settings))
    return headers


def wrapped(app, headers):
    """`app` whose every answer carries `headers` instead of any the app sent under the same names."""
    def application(environ, start_response):
        def start(status, response_headers, exc_info=None):
            kept = [(k, v) for k, v in response_headers if k.lower() not in OWN_HEADERS]
            return start_response(status, kept + headers, exc_info)
        return app(environ, start)
    return application


def make_application(folder=None, environ=None):
    folder = os.getcwd() if folder is None else folder
    module_name, attribute, factory = entry_point(folder)
    if folder not in sys.path and "." not in sys.path:     # uwsgi puts "." there; the team's modules live here
        sys.path.insert(1, folder)
    return wrapped(load(module_name, attribute, factory), release_headers(folder, os.environ if environ is None
                                                                          else environ))


def report(error):
    """The failure in uwsgi's log: the team's own traceback when its code raised, then one line naming the entry
    point. No `application` is left defined: uwsgi logs "unable to load app", and need-app ends the worker."""
    if error.__cause__ is not None:
        traceback.print_exception(error.__cause__, file=sys.stderr)
    print(f"hacknode: the release's WSGI app did not load: {error}", file=sys.stderr, flush=True)


if __name__ == "hacknode_entry":      # imported by uwsgi (its tests load this file under another name)
    try:
        application = make_application()
    except EntryError as failure:
        report(failure)
