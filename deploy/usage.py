"""What `fab status` shows of a team's use against its limits (pure): memory, tasks and disk, and the
warning when its disk (home + database) passes the inventory's disk_warn_mb."""

KIB_PER_MB = 1024


def megabytes(kib_text):
    """A size in KiB as printed by the server ("-" when unknown) -> whole MB, or None."""
    return int(kib_text) // KIB_PER_MB if kib_text.isdigit() else None


def disk_mb(home_kib, db_kib):
    """The team's disk use: its home plus its database, MB (the database counts 0 when its size is unknown)."""
    home, db = megabytes(home_kib), megabytes(db_kib)
    return None if home is None else home + (db or 0)


def use_cells(team, memory_kib, tasks, home_kib, db_kib):
    """(MEM, TASKS, DISK) cells: use/limit, with a "!" after the disk above the team's threshold."""
    memory, disk = megabytes(memory_kib), disk_mb(home_kib, db_kib)
    over = "!" if disk_warning(team, home_kib, db_kib) else ""
    return (f"{'-' if memory is None else memory}M/{team.memory_mb}M", f"{tasks}/{team.tasks}",
            f"{'-' if disk is None else disk}M/{team.disk_warn_mb}M{over}")


def disk_warning(team, home_kib, db_kib):
    """A line saying the team passed its disk threshold, or ''."""
    disk = disk_mb(home_kib, db_kib)
    if disk is None or disk <= team.disk_warn_mb:
        return ""
    db = megabytes(db_kib)
    return (f"warning: {team.name} uses {disk} MB of disk (home {megabytes(home_kib)} MB, database "
            f"{'unknown' if db is None else f'{db} MB'}), above its disk_warn_mb {team.disk_warn_mb}")
