"""What hacknode installs of its own on a class server: its programs (deploy/remote/), the modules they import
beside them, and the teams' WSGI loader, each with its owner's mode (root only, or read by every team)."""
from pathlib import Path

from deploy.configs.render import template_text
from deploy.core import commands, layout, procfile
from deploy.core.steps import File


def class_page_files():
    """The class page's writer, its collector (`fab status` runs it too), their lines' parser, the paths they take
    (deploy/layout.py itself) and the page's template (root)."""
    return [File(layout.CLASS_STATUS_TOOL, commands.remote_file("class_collect.py"), mode="0700"),
            File(layout.LAYOUT_MODULE, Path(layout.__file__).read_text(), mode="0644"),
            File(layout.CLASS_STATUS_MODULE, commands.remote_file("class_status.py"), mode="0644"),
            File(layout.CLASS_BACKUPS_MODULE, commands.remote_file("class_backups.py"), mode="0644"),
            File(layout.CLASS_SUBMISSIONS_MODULE, commands.remote_file("class_submissions.py"), mode="0644"),
            File(layout.CLASS_HEALTH_MODULE, commands.remote_file("class_health.py"), mode="0644"),
            File(layout.CLASS_PROCS_MODULE, commands.remote_file("class_procs.py"), mode="0644"),
            File(layout.CLASS_PAGE_TOOL, commands.remote_file("class_page.py"), mode="0700"),
            File(layout.CLASS_PAGE_TEMPLATE, template_text("class-page.html.j2"), mode="0644")]


def tool_files():
    """hacknode's own programs on the server: the /healthz probe and the virtualenv maker (every user), the database
    chores (root), a team's database dump (removed teams' archives), team-scope (systemd: a team's program in its
    slice), a team's workers and cron (team-procs), the Procfile's checker, the teams' WSGI loader, the nightly
    backups and the class page's."""
    return [File(layout.HEALTHZ_TOOL, commands.remote_file("healthz.py"), mode="0755"),
            File(layout.MAKE_VENV, commands.remote_file("make-venv.sh"), mode="0755"),
            File(layout.TEAM_SCOPE, commands.remote_file("team-scope.sh"), mode="0755"),
            File(layout.MONGO_TOOL, commands.remote_file("mongo_tool.py"), mode="0700"),
            File(layout.TEAM_DB_TOOL, commands.remote_file("team_db.py"), mode="0755"),
            File(layout.TEAM_PROCS, commands.remote_file("team_procs.py"), mode="0755"),
            File(layout.TEAM_PROCS_RUN, commands.remote_file("team_procs_run.py"), mode="0644"),
            File(layout.CRON_RECORDS_MODULE, commands.remote_file("cron_records.py"), mode="0644"),
            File(layout.NIGHTLY_TOOL, commands.remote_file("nightly_backups.py"), mode="0700"),
            File(layout.PROCFILE_TOOL, commands.remote_file("procfile_tool.py"), mode="0755"),
            File(layout.PROCFILE_MODULE, Path(procfile.__file__).read_text(), mode="0644"),
            File(f"{layout.ENTRY_DIR}/hacknode_entry.py", commands.remote_file("hacknode_entry.py"), mode="0644"),
            ] + class_page_files()
