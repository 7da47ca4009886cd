"""The bench's pure parts: the memory of each program read from ps and /proc (lab/memory.py), and the
figures as a table, JSON and a PNG (lab/bench_report.py). The figures themselves come from ./inv bench."""
import json

from lab import bench_report, memory

PS_AND_PSS = """    1     0 root                             /sbin/init
   40     1 root                             /usr/bin/python3 /usr/bin/supervisord -n -c /etc/supervisor/supervisord.conf
   41    40 hacknode-db                      /opt/secantus/bin/python /opt/secantus/bin/secantusd-py --auth
   50     1 root                             nginx: master process /usr/sbin/nginx
   51    50 www-data                         nginx: worker process
   60    40 team1                            /home/team1/current/rapid-env/bin/python /home/team1/current/rapid-env/bin/uwsgi --ini x
   61    60 team1                            /home/team1/current/rapid-env/bin/python /home/team1/current/rapid-env/bin/uwsgi --ini x
   70    40 team2                            /home/team2/current/rapid-env/bin/python /home/team2/current/rapid-env/bin/uwsgi --ini y
   80    40 root                             /opt/hacknode/venv/bin/python /opt/hacknode/bin/class-page --class c
--- pss
/proc/1/smaps_rollup:Pss:                1000 kB
/proc/40/smaps_rollup:Pss:              12000 kB
/proc/41/smaps_rollup:Pss:              30000 kB
/proc/50/smaps_rollup:Pss:               1500 kB
/proc/51/smaps_rollup:Pss:               2500 kB
/proc/60/smaps_rollup:Pss:               6000 kB
/proc/61/smaps_rollup:Pss:              40000 kB
/proc/70/smaps_rollup:Pss:               5000 kB
/proc/80/smaps_rollup:Pss:               9000 kB
"""


def test_memory_is_summed_per_team_user_and_per_program():
    found = memory.memory_by_program(PS_AND_PSS, {"team1", "team2"})
    assert found["team1"] == {"pss_kb": 46000, "processes": 2}       # master and one worker
    assert found["team2"] == {"pss_kb": 5000, "processes": 1}        # idle: its master alone
    assert found["secantus"]["pss_kb"] == 30000 and found["nginx"] == {"pss_kb": 4000, "processes": 2}
    assert found["supervisord"]["pss_kb"] == 12000 and found["class-page"]["pss_kb"] == 9000 and "root" not in found
    assert found["all"] == {"pss_kb": 107000, "processes": 9}                 # every process of the host
    assert memory.total_mb(found, {"team1", "team2"}) == (49.8, 103.5)     # the teams', and with hacknode's and the database


FIGURES = {
    "machine": {"cpu": "Some CPU", "cores": 2, "memory_gb": 3.8, "kernel": "6.1.0"},
    "throughput": [{"page": p, "connections": c, "rate": r, "p50_ms": 1.5, "p99_ms": 9.0, "failed": 0,
                    "requests": 100, "of_ceiling": round(r / 1000, 4)}
                   for c in (1, 50) for p, r in (("front page /", 600.0), ("/healthz", 900.0), ("static file", 1000.0))],
    "under_load": [{"what": "restart (graceful)", "requests": 5000, "failed": 0, "p99_ms": 800.0, "max_seconds": 6},
                   {"what": "restart --hard", "requests": 4000, "failed": 1082, "p99_ms": 90.0, "max_seconds": 6}],
    "density": [{"teams": 10, "healthy": 10, "provision_s": 30.0, "idle_team_mb": 6.2, "idle_team_max_mb": 6.9,
                 "uwsgi_mb": 62.0, "secantus_mb": 40.0, "nginx_mb": 5.0, "supervisord_mb": 12.0, "total_mb": 119.0,
                 "wake_ups": 10, "wake_errors": 0, "wake_p50_s": 0.9, "wake_max_s": 1.4, "loaded_teams": 10,
                 "loaded_uwsgi_mb": 420.0, "loaded_total_mb": 480.5, "loaded_requests": 900, "loaded_failed": 0,
                 "healthy_after_load": 10}],
    "shipped_class": {"teams": 100, "idle_seconds": 60, "page_seconds": 60, "provision_s": 120.0, "asleep": 100,
                      "idle_after_s": 75, "uwsgi_mb": 600.0, "total_mb": 700.0, "host_mb": 720.0, "secantus_mb": 50.0,
                      "nginx_mb": 10.0, "supervisord_mb": 20.0, "class-page_mb": 20.0, "loaded_teams": 10,
                      "loaded_uwsgi_mb": 900.0, "loaded_total_mb": 1000.0, "loaded_host_mb": 1020.0,
                      "loaded_requests": 9000, "loaded_failed": 0},
}


def test_the_table_shows_each_figure_with_the_machine_it_ran_on():
    text = "\n".join(bench_report.table(FIGURES))
    assert text.startswith("machine: Some CPU, 2 cores, 3.8 GB, Linux 6.1.0")
    assert "| front page / | 50 | 600 | 1.5 | 9.0 | 0 | 60.0% |" in text
    assert "| restart --hard | 4000 | 1082 | 90 |" in text
    assert ("| 10 | 10 (10) | 6.2 MB (6.9) | 62.0 MB | 40.0 MB | 5.0 MB | 12.0 MB | 119.0 MB | 480.5 MB with 10 "
            "(0 of 900) | 0.9 s, 1.4 s (0 of 10) |") in text
    assert "100 teams, shipped settings (idle_seconds 60, page_seconds 60), PSS:" in text
    assert ("| all idle (100 of 100 asleep 75 s after provisioning) | 600.0 MB | 50.0 MB | 10.0 MB | 20.0 MB | "
            "20.0 MB | 700.0 MB | 720.0 MB |") in text
    assert "| 10 under load (0 of 9000 requests failed) | 900.0 MB | | | | | 1000.0 MB | 1020.0 MB |" in text


def test_the_figures_are_written_as_json_and_drawn_as_a_png(tmp_path):
    data, picture = bench_report.write(FIGURES, tmp_path / "bench-results")
    assert json.loads(data.read_text()) == FIGURES
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
