"""A team's limits (deploy/inventory/model.py Team: memory_mb, tasks, open_files, cpu_weight) as each mechanism takes them.

Where each applies (configs rendered from deploy/templates/):
- the team's uwsgi under supervisor, and all it starts: supervisor applies no limits.conf, so its command
  itself carries them (`prlimit` for address space, tasks and open files, `nice` for the CPU share), and
  uwsgi reloads a worker grown past half the memory (reload-on-rss);
- the team's SSH sessions, and all they start: pam_limits (/etc/security/limits.d/hacknode-<team>.conf).
rlimits bound each process (memory) or the team's user (tasks). Where systemd runs the server, the team's user
slice bounds the team as a whole instead (deploy/provision/bounds.py, templates/team-slice.conf.j2: the inventory's
numbers as they are), and only open files stay rlimits. Pure functions only."""
import math

NICE_STEP = 1.25      # the kernel's scheduler gives each nice level about 1.25x less CPU weight than the one before
MAX_NICE = 19


def nice_for_weight(cpu_weight):
    """The nice level that gives a process `cpu_weight`/100 of a default process's CPU weight (100 -> 0)."""
    return min(MAX_NICE, round(math.log(100 / cpu_weight, NICE_STEP)))


def address_space_bytes(team):
    """RLIMIT_AS of each of the team's processes (prlimit takes bytes)."""
    return team.memory_mb * 1024 * 1024


def address_space_kb(team):
    """The same limit as limits.conf takes it (KiB)."""
    return team.memory_mb * 1024


def reload_rss_mb(team):
    """uwsgi reloads a worker (after its request) whose resident memory passed this: half the team's memory,
    so the worker is renewed well before the hard limit stops an allocation."""
    return team.memory_mb // 2


def template_context(team):
    """What the templates use of a team's limits."""
    return {"nice": nice_for_weight(team.cpu_weight), "as_bytes": address_space_bytes(team),
            "as_kb": address_space_kb(team), "reload_rss_mb": reload_rss_mb(team)}
