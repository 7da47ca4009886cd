"""Which server a team that names none runs on, and the check that no team ever moves by itself.

The rule reads the inventory alone, so the instructor's tasks, `./inv render` and every team's `fab deploy` agree
without asking any server: teams that name a server stay there; the others are placed in the file's order, each
on the server whose teams have the fewest uwsgi processes so far (the named teams counted first), ties going to the
server listed first. A team's place depends only on the teams above it: teams appended to the file never move
one. Inserting or removing a team above, changing a team's processes above it or adding a server could change
where the rule puts a team already running elsewhere; provisioning then sees the team on its server (each
server's facts list the teams it has) and stops before changing anything, naming the `server:` line that keeps
the team where it is (`PlacementCheck`).
"""
import dataclasses
import threading

from deploy.core.errors import ProvisionError


def place(teams, server_names):
    """`teams` (model.Team, in file order; server "" = not named) with every server filled in; the placed ones
    are marked `placed`. Pure."""
    load = {name: 0 for name in server_names}
    for team in teams:
        if team.server:
            load[team.server] += team.processes
    placed = []
    for team in teams:
        if not team.server:
            server = min(server_names, key=lambda name: (load[name], server_names.index(name)))
            load[server] += team.processes
            team = dataclasses.replace(team, server=server, placed=True)
        placed.append(team)
    return tuple(placed)


def moved_teams(teams, present):
    """Placed teams that a server other than their placement already has: `present` is {server: team names the
    server reports}. One line each, saying what to add to the inventory. Pure."""
    lines = []
    for team in teams:
        elsewhere = sorted(server for server, names in present.items() if team.name in names and server != team.server)
        if team.placed and elsewhere:
            lines.append(f"team {team.name} runs on {elsewhere[0]} but the placement rule now puts it on "
                         f"{team.server} (teams above it changed): add `server: {elsewhere[0]}` to it")
    return lines


class PlacementCheck:
    """Between each server's facts and its changes: waits until every server has reported its teams, then raises
    ProvisionError on every server if a placed team would move; nothing has been changed by then."""

    def __init__(self, teams, server_count):
        self.teams, self.present = teams, {}
        self.barrier = threading.Barrier(server_count)

    def abort(self):
        """This server could not report its teams: the others must not go on guessing."""
        self.barrier.abort()

    def check(self, server_name, present_teams):
        self.present[server_name] = set(present_teams)
        try:
            self.barrier.wait(timeout=600)
        except threading.BrokenBarrierError:
            raise ProvisionError("another server could not report its teams, so where placed teams run could not "
                                 "be checked; nothing was changed") from None
        moved = moved_teams(self.teams, self.present)
        if moved:
            raise ProvisionError("nothing was changed: " + "; ".join(moved))


def placement_check(inventory):
    """A PlacementCheck when the class has several servers and teams placed by the rule, else None."""
    if len(inventory.servers) > 1 and any(t.placed for t in inventory.teams):
        return PlacementCheck(inventory.teams, len(inventory.servers))
    return None
