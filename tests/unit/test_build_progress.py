"""Progress from ninja's [n/N] lines, on real build output."""

from __future__ import annotations

import io
from pathlib import Path

from mmbuild.build.progress import NinjaProgress, estimate_remaining, format_duration, parse_status

REAL_LOG = Path(__file__).resolve().parents[1] / "fixtures" / "build" / "ninja_status.log"


def test_parses_the_status_lines_of_a_real_build():
    statuses = [s for s in map(parse_status, REAL_LOG.read_text().splitlines()) if s]
    assert statuses[0] == (1, 77)
    assert [done for done, _ in statuses] == list(range(1, len(statuses) + 1))
    assert {total for _, total in statuses} == {77}


def test_other_lines_are_not_status():
    assert parse_status("  copying mmcv/ops/csrc/pytorch/nms.cpp -> build/lib") is None
    assert parse_status("[5/3] impossible") is None
    assert parse_status("  [0/0] nothing") is None


def test_eta_scales_with_what_is_left():
    assert estimate_remaining(0, 77, 10.0) is None
    assert estimate_remaining(7, 77, 70.0) == 700.0
    assert format_duration(700) == "11m40s" and format_duration(9.6) == "10s"


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_non_interactive_reports_every_tenth_and_at_the_end():
    clock, out = _Clock(), io.StringIO()
    progress = NinjaProgress(out, interactive=False, interval_s=1e9, clock=clock)
    for done in range(1, 21):
        clock.now = done * 3.0
        progress.feed(f"  [{done}/20] g++ -c x{done}.cpp")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("  build: 1/20 compiled")
    assert lines[-1].startswith("  build: 20/20 compiled")
    assert 5 <= len(lines) <= 11


def test_interactive_bar_shows_eta_on_one_line():
    clock, out = _Clock(), io.StringIO()
    progress = NinjaProgress(out, interactive=True, clock=clock)
    clock.now = 60.0
    progress.feed("[10/40] c++ a.cpp")
    progress.close()
    text = out.getvalue()
    assert text.startswith("\r  [") and "10/40 compiled" in text and "ETA 3m00s" in text
    assert text.endswith("\n") and text.count("\n") == 1
