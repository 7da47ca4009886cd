"""What `fab status` shows of a team's use against its limits (pure): memory, tasks and disk, and the
warning when its disk (home + database) passes the inventory's disk_warn_mb. `figures` are a team's figures
as deploy/remote/class_status.team_figures makes them (None when unknown)."""


def shown(value):
    return "-" if value is None else value


def over_disk(team, figures):
    return figures["disk_mb"] is not None and figures["disk_mb"] > team.disk_warn_mb


def use_cells(team, figures):
    """(MEM, TASKS, DISK) cells: use/limit, with a "!" after the disk above the team's threshold."""
    return (f"{shown(figures['memory_mb'])}M/{team.memory_mb}M", f"{shown(figures['tasks'])}/{team.tasks}",
            f"{shown(figures['disk_mb'])}M/{team.disk_warn_mb}M{'!' if over_disk(team, figures) else ''}")


def disk_warning(team, figures):
    """A line saying the team passed its disk threshold, or ''."""
    if not over_disk(team, figures):
        return ""
    db = figures["disk_database_mb"]
    return (f"warning: {team.name} uses {figures['disk_mb']} MB of disk (home {figures['disk_home_mb']} MB, database "
            f"{'unknown' if db is None else f'{db} MB'}), above its disk_warn_mb {team.disk_warn_mb}")
