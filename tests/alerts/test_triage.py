"""What the triage model is shown: the frames that point into the repository, and the
numbered code around each (pure functions; the model call is tested in tests/ai)."""

from __future__ import annotations

from app.alerts.sources import Alert, Frame
from app.alerts.triage import EXCERPT_RADIUS, MAX_EXCERPTS, code_frames, excerpts, prompt


def alert(*frames: Frame) -> Alert:
    return Alert("generic", "fp", "ZeroDivisionError", "error", "firing", "production", "", frames)


def test_code_frames_are_the_innermost_repository_frames_with_a_line() -> None:
    frames = code_frames(
        alert(
            Frame("app/pricing.py", 2),
            Frame("/usr/lib/python3.11/asyncio/events.py", 84),
            Frame("app/checkout.py", None),  # no line: nothing to show
            Frame("app/pricing.py", 2),  # the same line again (recursion)
            Frame("app/vendor_code.py", 5, in_app=False),
            Frame("./app/cart.py", 30),
            Frame("app/views.py", 7),
            Frame("app/urls.py", 1),
        )
    )
    assert frames == [("app/pricing.py", 2), ("app/cart.py", 30), ("app/views.py", 7)]
    assert len(frames) == MAX_EXCERPTS


def test_an_excerpt_numbers_the_lines_around_the_frame_and_marks_its_own() -> None:
    text = "".join(f"line {n}\n" for n in range(1, 101))
    shown = excerpts([("app/pricing.py", 50)], {"app/pricing.py": text}, "commit abc1234")
    header, *lines = shown.splitlines()
    first, last = 50 - EXCERPT_RADIUS, 50 + EXCERPT_RADIUS
    assert header == f"===== app/pricing.py, lines {first}-{last}, at commit abc1234 ====="
    assert len(lines) == 2 * EXCERPT_RADIUS + 1
    assert ">    50 | line 50" in lines
    assert "     35 | line 35" in lines and not any(line.startswith(">") for line in lines[:15])


def test_near_the_edges_and_without_the_file_or_the_line() -> None:
    files = {"a.py": "first\nsecond\n", "b.py": "only\n"}
    shown = excerpts([("a.py", 1), ("b.py", 9), ("gone.py", 1)], files, "the default branch")
    assert (
        shown
        == "===== a.py, lines 1-2, at the default branch =====\n>     1 | first\n      2 | second"
    )
    assert excerpts([("gone.py", 1)], files, "x") == ""


def test_the_prompt_carries_the_code_only_when_there_is_some() -> None:
    bare = alert(Frame("app/pricing.py", 2))
    assert "Code around the frames" not in prompt(bare)
    assert prompt(bare, "===== app/pricing.py").endswith(
        "Code around the frames:\n===== app/pricing.py\n"
    )
