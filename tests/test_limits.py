"""A team's limits as each mechanism takes them (deploy/configs/limits.py): pure."""
from deploy.admin.usage import disk_warning, use_cells
from deploy.configs.limits import address_space_kb, nice_for_weight, reload_rss_mb
from deploy.inventory.model import Team
from deploy.remote.class_status import FIELDS, team_figures


def test_cpu_weight_becomes_the_nice_level_of_the_same_share():
    # the kernel's weights: nice 0 = 1024, nice 3 = 526 (about half), nice 10 = 110 (about a tenth)
    assert [nice_for_weight(w) for w in (100, 80, 50, 10, 1)] == [0, 1, 3, 10, 19]


def test_memory_in_each_mechanisms_unit():
    team = Team(name="t", server="s", memory_mb=512)
    assert address_space_kb(team) == 524288       # limits.conf: KiB
    assert reload_rss_mb(team) == 256             # uwsgi renews a worker at half the team's memory


def figures(memory_kib, tasks, home_kib, database_kib):
    """A team's figures as parsed from a collector's line with these use cells."""
    cells = ["t", "RUNNING", "0:01:00", "-", "200", memory_kib, tasks, home_kib, database_kib, "rlimits", "0", "-"]
    return team_figures(dict(zip(FIELDS, cells)), now=None)


def test_status_cells_show_use_against_limits_and_warn_above_the_disk_threshold():
    team = Team(name="t", server="s", memory_mb=512, tasks=128, disk_warn_mb=100)
    assert use_cells(team, figures("47104", "14", "20480", "1024")) == ("46M/512M", "14/128", "21M/100M")
    assert disk_warning(team, figures("20480", "14", "20480", "1024")) == ""
    assert use_cells(team, figures("47104", "14", "204800", "-"))[2] == "200M/100M!"
    assert disk_warning(team, figures("47104", "14", "204800", "-")) == (
        "warning: t uses 200 MB of disk (home 200 MB, database unknown), above its disk_warn_mb 100")
    assert use_cells(team, figures("-", "14", "-", "-")) == ("-M/512M", "14/128", "-M/100M")
