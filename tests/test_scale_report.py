"""The scale bench's picture (lab/scale_bench.py): each timed figure beside its goal, drawn from figures a run
writes. The figures themselves come from ./inv bench."""
from lab import scale_bench


def test_the_scale_figures_are_drawn_as_a_png_with_their_goals(tmp_path):
    figures = {"provision 1 teams": 25.1, "provision 30 teams": 160.2, "add 1 team to 30": 12.2,
               "no-op on 30 teams": 0.48, "SSH round trips, 30 teams": 3, "teams per server (100 placed)": "34/33/33"}
    picture = tmp_path / "scale.png"
    scale_bench.draw(figures, picture)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
