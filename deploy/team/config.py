"""`fab config`: a team's settings without a commit (as Dokku's and piku's config:set, Kamal's env).

Every function takes the team's connection `c` first; the decisions are pure (deploy/team/settings.py) and the
change runs on the server under the release lock (deploy/remote/release.sh `settings`): the settings file
outside releases is rewritten, uwsgi reloads gracefully, /healthz decides, and a setting that breaks the
app puts the previous settings back and shows the log's tail, as a failed deploy does.
"""
from deploy.core import commands, runner
from deploy.core.layout import TeamPaths
from deploy.inventory.model import team_host
from deploy.team import settings
from deploy.team.tasks import say


def list_settings(c, team_name, show=print):
    """Print the team's settings, NAME=value, secrets masked."""
    paths = TeamPaths(team_name)
    text = runner.run(c, commands.read_settings(paths)).stdout
    say(c, f"settings of {team_name} ({paths.mongo_uri_file}; the app sees them as environment variables)")
    for line in settings.listing(text):
        show(f"  {line}")


def change_settings(c, team, inventory, assignments=(), removals=()):
    """Set NAME=value `assignments` and remove `removals`, then reload and health-check the live release;
    SettingsError (nothing sent) for a bad name, RemoteError when the release was unhealthy and the
    previous settings were put back."""
    changes = settings.changes(assignments, removals)
    names = [line.split("=", 1)[0] for line in changes.splitlines()]
    say(c, f"config of {team.name}: {', '.join(names)} (a graceful reload of the live release, checked by /healthz)")
    host = team_host(team.name, inventory.domain)
    runner.run(c, commands.change_settings(TeamPaths(team.name), host, changes), show=True)
