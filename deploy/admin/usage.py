"""What `fab status` shows of a team's use against its limits (pure): memory, tasks, disk and database, the
warning when its disk (home + database) passes the inventory's disk_warn_mb, and when its database nears or passes
its database_mb (over it, root makes its database user read-only until it is back under). `figures` are a team's figures
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


DATABASE_NEAR = 0.9     # warned from this share of its database_mb on: writes stop at the cap


def database_share(team, figures):
    """The team's database against its cap (1.0: at the cap), None when its size is unknown."""
    kib = figures.get("database_kib")
    return None if kib is None else kib / (team.database_mb * 1024)


def database_cell(team, figures):
    """DB cell: use/cap, "!" after it when over (its writes are refused)."""
    share = database_share(team, figures)
    return f"{shown(figures['disk_database_mb'])}M/{team.database_mb}M{'!' if share and share > 1 else ''}"


def database_warning(team, figures):
    """A line saying the team's database is near or over its cap, or ''."""
    share = database_share(team, figures)
    if share is None or share < DATABASE_NEAR:
        return ""
    if share > 1:
        return (f"warning: {team.name}'s database holds {figures['database_kib']} KiB, over its database_mb "
                f"{team.database_mb}: its writes are refused until it deletes enough (checked every class page round)")
    return (f"warning: {team.name}'s database holds {figures['database_kib']} KiB, {share:.0%} of its database_mb "
            f"{team.database_mb}: over it, its writes are refused")
