"""`./inv bench`'s serving figures as a table (printed), JSON and a PNG (matplotlib) under bench-results/."""
import json
from pathlib import Path

RESULTS = Path("bench-results")


def table(figures):
    """The figures as Markdown table lines (the README shows one, from a run)."""
    m = figures["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Linux {m['kernel']}", "",
             "| page | connections | req/s | p50 ms | p99 ms | failed | of the static file's rate |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['page']} | {r['connections']} | {r['rate']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
              f"{r['failed']} | {r['of_ceiling']:.1%} |" for r in figures["throughput"]]
    lines += ["", "| during, under load on the front page | requests | failed | p99 ms |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {r['what']}{' (the operation failed: ' + r['error'] + ')' if r.get('error') else ''} | "
              f"{r['requests']} | {r['failed']} | {r['p99_ms']:.0f} |" for r in figures["under_load"]]
    lines += ["", "| teams | healthy (after the load) | PSS per idle team (max) | all uwsgi | secantus | nginx | supervisord "
              "| total, all idle | total, some under load (failed of requests) | first request after idle: median, "
              "slowest (errors of wake-ups) |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['teams']} | {r['healthy']} ({r['healthy_after_load']}) | {r['idle_team_mb']} MB ({r['idle_team_max_mb']}) "
              f"| {r['uwsgi_mb']} MB | {r['secantus_mb']} MB | {r['nginx_mb']} MB | {r['supervisord_mb']} MB | "
              f"{r['total_mb']} MB | {r['loaded_total_mb']} MB with {r['loaded_teams']} ({r['loaded_failed']} of "
              f"{r['loaded_requests']}) | {r['wake_p50_s']} s, {r['wake_max_s']} s ({r['wake_errors']} of "
              f"{r['wake_ups']}) |" for r in figures["density"]]
    return lines + shipped_class_table(figures.get("shipped_class"))


def shipped_class_table(r):
    """The class of 100 teams with the shipped settings (lab/class_bench.py) as table lines; none without it."""
    if not r:
        return []
    problem = f" (provisioning said: {r['provision_problem']})" if r.get("provision_problem") else ""
    return ["", f"{r['teams']} teams, shipped settings (idle_seconds {r['idle_seconds']}, page_seconds "
                f"{r['page_seconds']}), PSS{problem}:", "",
            "| | teams' uwsgi | secantus | nginx | supervisord | class page | total | the whole host |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| all idle ({r['asleep']} of {r['teams']} asleep {r['idle_after_s']} s after provisioning) | "
            f"{r['uwsgi_mb']} MB | {r['secantus_mb']} MB | {r['nginx_mb']} MB | {r['supervisord_mb']} MB | "
            f"{r['class-page_mb']} MB | {r['total_mb']} MB | {r['host_mb']} MB |",
            f"| {r['loaded_teams']} under load ({r['loaded_failed']} of {r['loaded_requests']} requests failed) | "
            f"{r['loaded_uwsgi_mb']} MB | | | | | {r['loaded_total_mb']} MB | {r['loaded_host_mb']} MB |"]


def draw(figures, path):
    """Three panels: req/s by page and connections, failed requests during team operations, idle memory."""
    import matplotlib
    matplotlib.use("Agg")      # no display: a file only
    from matplotlib import pyplot

    fig, (rates, failed, memory) = pyplot.subplots(1, 3, figsize=(15, 4.5))
    pages = list(dict.fromkeys(r["page"] for r in figures["throughput"]))
    for page in pages:
        rows = [r for r in figures["throughput"] if r["page"] == page]
        rates.plot([r["connections"] for r in rows], [r["rate"] for r in rows], marker="o", label=page)
    rates.set(title="requests/s through nginx (wrk)", xlabel="connections", ylabel="req/s", yscale="log")
    rates.legend()
    operations = figures["under_load"]
    # horizontal: "setup_virtualenv (changed requirements)" under a vertical bar overlapped its neighbours
    failed.barh([r["what"].replace(" (", "\n(") for r in operations], [r["failed"] for r in operations],
                color="tab:red")
    failed.set(title="failed requests under load during", xlabel="failed requests")
    failed.invert_yaxis()
    density = figures["density"]
    teams = [r["teams"] for r in density]
    memory.plot(teams, [r["idle_team_mb"] for r in density], marker="o", label="per idle team (uwsgi)")
    memory.plot(teams, [r["total_mb"] / r["teams"] for r in density], marker="s", label="total / teams, all idle")
    memory.plot(teams, [r["loaded_total_mb"] / r["teams"] for r in density], marker="^",
                label="total / teams, some under load")
    shipped = figures.get("shipped_class")
    if shipped:
        memory.plot([shipped["teams"]] * 2, [shipped["total_mb"] / shipped["teams"],
                                             shipped["loaded_total_mb"] / shipped["teams"]],
                    "D", color="black", label=f"total / teams, shipped settings (all idle; {shipped['loaded_teams']} "
                                              "under load)")
    memory.axhline(15, color="gray", linestyle="--", label="target 15 MB")
    memory.axhline(10.24, color="black", linestyle=":", label="100 idle teams in 1 GB")
    memory.set(title="memory of idle teams (PSS)", xlabel="teams on the server", ylabel="MB")
    memory.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot.close(fig)


def write(figures, directory=RESULTS):
    """bench-results/serving.json and serving.png; their paths."""
    directory = Path(directory)
    directory.mkdir(exist_ok=True)
    data, picture = directory / "serving.json", directory / "serving.png"
    data.write_text(json.dumps(figures, indent=2) + "\n")
    draw(figures, picture)
    return data, picture
