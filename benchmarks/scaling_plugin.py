"""A CPU-bound `deckhand_bench` handler for benchmarks/scaling.py.

Loaded with `DECKHAND_PLUGINS=benchmarks.scaling_plugin:router` (the process needs the
repository root on PYTHONPATH). Each `deckhand_bench` delivery runs Deckhand's own
validation engine (`app.engine.validate.validate`: syntax, secrets scan, imports across
files; no ruff, which needs the files on disk) over a fixed corpus: the text of a fixed
list of the project's files under app/engine, read once when the plugin is loaded. The
files are only read as text, never imported or run. A job costs about 70-110 ms of CPU
on the machine this was written on, and calls nothing outside the process (no GitHub).

Like the review bot (app/review/runner.py), the engine runs in a thread, so the worker's
event loop stays free for procrastinate's heartbeats while a job computes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gidgethub import sansio
from gidgethub.routing import Router

from app.engine.files import Skipped, SourceFile, decode
from app.engine.validate import EngineConfig, validate

EVENT = "deckhand_bench"
REPO = Path(__file__).resolve().parent.parent
CORPUS_FILES = (
    "app/engine/configs.py",
    "app/engine/files.py",
    "app/engine/findings.py",
    "app/engine/lint.py",
    "app/engine/repair.py",
    "app/engine/repair_brackets.py",
    "app/engine/repair_indent.py",
    "app/engine/repair_strings.py",
    "app/engine/repair_text.py",
    "app/engine/report.py",
    "app/engine/syntax.py",
    "app/engine/validate.py",
)
CONFIG = EngineConfig(lint=False)


def load_corpus() -> list[SourceFile | Skipped]:
    return [decode(name, (REPO / name).read_bytes()) for name in CORPUS_FILES]


CORPUS = load_corpus()
CORPUS_BYTES = sum(len(item.text) for item in CORPUS if isinstance(item, SourceFile))

router = Router()


def run_engine() -> int:
    """One validation of the corpus; the number of findings."""
    reports = validate(CORPUS, CONFIG)
    if len(reports) != len(CORPUS):
        raise RuntimeError(f"the engine reported {len(reports)} files of {len(CORPUS)}")
    return sum(len(report.findings) for report in reports)


@router.register(EVENT)
async def on_bench(event: sansio.Event, gh: Any, *args: Any, **kwargs: Any) -> None:
    await asyncio.to_thread(run_engine)
