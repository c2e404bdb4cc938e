"""The `logs` alert source: Python tracebacks and error records found in a log drain.

A drain posts lines: JSON objects (Railway, Heroku, Vector, structlog ... with a
`message`/`msg`/`log` text, a `level`/`severity`, a `timestamp` and a process id such as
`deploymentInstanceId`, `pid`, `instance` or `hostname`) or plain text, optionally
prefixed by a timestamp and a `[pid]`/`app[web.1]:` tag. Tracebacks are reassembled per
process stream, so lines of other processes may be interleaved; chained exceptions stay
one traceback; a JSON record may carry one line or many. Error-level records without a
traceback (`level` error/critical/fatal, or a text line saying `ERROR`/`CRITICAL`) are
kept too. Occurrences are grouped by exception type and innermost frame in the
repository (for error records: the message with numbers and ids taken out).

A traceback cut by the end of a request is reported at the end of the batch from what
it shows (its frames, exception "<incomplete>"): nothing is kept between requests, so a
request's job stays independent of every other. Each group becomes `Alert`s with one
`Alert` per occurrence (the store counts one per alert); only the newest of a group
carries the frames and the text, the others only their time. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.alerts.sources import MAX_FRAMES, MAX_TEXT, Alert, Frame, epoch_seconds
from app.alerts.suspect import repo_path

SOURCE = "logs"
MAX_OCCURRENCES = 10000  # per request: a flood is counted up to here (and is a spike)
MAX_TRACEBACK_LINES = 2000
# Where platforms put the code: a frame under one of these is in the repository.
DEPLOY_ROOTS = ("/app/", "/usr/src/app/", "/srv/app/", "/code/", "/workspace/", "/opt/app/")
MESSAGE_KEYS = ("message", "msg", "log", "text", "event")
LEVEL_KEYS = ("level", "severity", "levelname", "log.level", "lvl")
TIME_KEYS = ("timestamp", "time", "ts", "@timestamp", "datetime")
STREAM_KEYS = (
    "deploymentInstanceId",
    "replica",
    "replicaId",
    "instance",
    "instance_id",
    "pid",
    "process",
    "dyno",
    "hostname",
    "host",
    "container_id",
)
TRACE_KEYS = ("exception", "exc_info", "stack_trace", "stack", "traceback")
ERROR_LEVELS = frozenset({"error", "err", "critical", "crit", "fatal", "emergency", "alert"})

TS = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
TAG = r"[\w.-]*\[(?=[^\]]*\d)[\w.:-]+\]:?"
PREFIX = re.compile(rf"^(?:(?P<ts>{TS})\s)?(?:(?P<tag>{TAG})\s?)?")
HEADER = "Traceback (most recent call last):"
CHAINED = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
FRAME = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
EXCEPTION = re.compile(r"^(?P<type>(?:[A-Za-z_]\w*\.)*_*[A-Z]\w*)(?:: ?(?P<msg>.*))?$")
UPPER_LEVEL = re.compile(r"\b(ERROR|CRITICAL|FATAL)\b|\blevel=\"?(error|critical|fatal)\b")
NOISE = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.I), "<hex>"),
    (re.compile(rf"{TS}"), "<time>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
]


@dataclass(frozen=True)
class Line:
    """One line of the drain, with the process it came from."""

    text: str
    stream: str
    severity: str | None  # "error" or "critical" when the record says so, else None
    at: float | None


@dataclass
class Occurrence:
    """A traceback or an error record, before grouping."""

    fingerprint: str
    title: str
    message: str
    frames: tuple[Frame, ...]
    at: float
    severity: str = "error"


@dataclass
class _Traceback:
    at: float
    chain: list[tuple[str, str, list[Frame]]] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    ended: bool = False  # its exception line was read; a chain may still follow
    context: str | None = None  # the error line logged just before it


# ------------------------------------------------------------------------- lines
def _first(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in data and data[key] not in (None, ""):
            return data[key]
    return None


def _severity(level: Any) -> str | None:
    """A record's level as "error" or "critical" (None: below error)."""
    if isinstance(level, bool):
        return None
    if isinstance(level, int | float):  # pino/bunyan (50 error, 60 fatal), else syslog
        worse, bad = (level >= 60, level >= 50) if level > 7 else (level <= 2, level <= 3)
        return "critical" if worse else "error" if bad else None
    if not isinstance(level, str) or level.strip().lower() not in ERROR_LEVELS:
        return None
    return "error" if level.strip().lower() in ("error", "err") else "critical"


def _text_severity(text: str) -> str | None:
    found = UPPER_LEVEL.search(text)
    if found is None or FRAME.match(text):
        return None
    return "error" if (found.group(1) or found.group(2)).lower() == "error" else "critical"


def lines(body: bytes) -> list[Line]:
    """The drain's lines, JSON records split into their text lines."""
    out: list[Line] = []
    for raw in body.decode("utf-8", "replace").splitlines():
        if not raw.strip():
            continue
        stripped = raw.strip()
        data = None
        if stripped.startswith("{"):
            try:
                data = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                data = None
        if isinstance(data, dict):
            out += _record_lines(data)
        else:
            out.append(_text_line(raw))
    return out


def _record_lines(data: dict[str, Any]) -> list[Line]:
    message = _first(data, MESSAGE_KEYS)
    text = message if isinstance(message, str) else ("" if message is None else str(message))
    trace = _first(data, TRACE_KEYS)
    if isinstance(trace, str) and trace.strip():
        text = f"{text}\n{trace}" if text else trace
    stream = _first(data, STREAM_KEYS)
    level = _first(data, LEVEL_KEYS)
    severity = _severity(level) if level is not None else _text_severity(text)
    at = epoch_seconds(_first(data, TIME_KEYS))
    if isinstance(at, float) and at > 1e11:  # milliseconds (or more) since the epoch
        while at > 1e11:
            at /= 1000
    parts = text.rstrip("\n").split("\n") or [""]
    key = "" if stream is None else str(stream)[:200]
    return [Line(p.rstrip("\r"), key, severity, at) for p in parts]


def _text_line(raw: str) -> Line:
    match = PREFIX.match(raw)
    stamp, tag = (match.group("ts"), match.group("tag")) if match else (None, None)
    text = raw[match.end() :] if match and (stamp or tag) else raw
    stream = tag.rstrip(":") if tag else ""
    at = epoch_seconds(stamp.replace(",", ".")) if stamp else None
    return Line(text, stream, _text_severity(text), at)


# -------------------------------------------------------------------- extraction
def in_repository(path: str) -> str | None:
    """The path relative to the repository root, or None (library, stdlib, unknown)."""
    clean = path.replace("\\", "/")
    for root in DEPLOY_ROOTS:
        if clean.startswith(root):
            clean = clean[len(root) :]
            break
    return repo_path(clean)


def _frame(match: re.Match[str]) -> Frame:
    path = match.group("path")
    relative = in_repository(path)
    function = match.group("func")
    return Frame(
        path=(relative or path)[:500],
        line=int(match.group("line")),
        function=function[:200] if function else None,
        in_app=relative is not None,
    )


def normalise(message: str) -> str:
    """A message with what varies between occurrences (numbers, ids, hex) taken out."""
    text = message.strip()
    for pattern, replacement in NOISE:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def _short(text: str) -> str:
    if len(text) <= 180:
        return text
    return text[:120] + "~" + hashlib.sha256(text.encode()).hexdigest()[:16]


class Extractor:
    """Feed lines in order; read `occurrences` after `finish`."""

    def __init__(self, received_at: float | None = None) -> None:
        self.now = received_at or time.time()
        self.open: dict[str, _Traceback] = {}
        self.last_error: dict[str, int] = {}  # stream -> index of its error just before
        self.occurrences: list[Occurrence | None] = []

    def feed(self, line: Line) -> None:
        stream, text = line.stream, line.text
        at = line.at or self.now
        current = self.open.get(stream)
        bare = text.strip()
        if bare == HEADER:
            if current is not None and current.ended and current.text[-1] in CHAINED:
                current.ended = False
                current.text.append(text)
                return
            if current is not None:
                self._close(stream)
            context = self._absorb(stream)
            self.open[stream] = _Traceback(at=at, text=[text], context=context)
            return
        if current is not None:
            if current.ended:
                if not bare:
                    return
                if bare in CHAINED:
                    current.text.append(bare)
                    return
                self._close(stream)
            elif self._within(current, text, bare):
                return
            else:
                self._close(stream)
        frame = FRAME.match(text)
        if frame is not None:  # the head of this traceback was in an earlier request
            tb = _Traceback(at=at, text=["(cut) " + HEADER, text])
            tb.frames.append(_frame(frame))
            self.open[stream] = tb
            return
        self.last_error.pop(stream, None)
        if line.severity and bare and len(self.occurrences) < MAX_OCCURRENCES:
            self.last_error[stream] = len(self.occurrences)
            self.occurrences.append(_error_record(bare, at, line.severity))

    def _within(self, tb: _Traceback, text: str, bare: str) -> bool:
        """Take a line into an open traceback; False when the line is not part of it."""
        if len(tb.text) >= MAX_TRACEBACK_LINES:
            return False
        frame = FRAME.match(text)
        if frame is not None:
            tb.frames.append(_frame(frame))
            tb.text.append(text)
            return True
        if text[:1] in (" ", "\t") or not bare:
            tb.text.append(text)  # source lines, carets, "[Previous line repeated ...]"
            return True
        found = EXCEPTION.match(bare) if tb.frames or len(tb.text) > 1 else None
        if found is None:
            return False
        tb.chain.append((found.group("type"), found.group("msg") or "", tb.frames))
        tb.frames = []
        tb.text.append(bare)
        tb.ended = True
        return True

    def _absorb(self, stream: str) -> str | None:
        """The error line logged right before a traceback (`logger.exception`) is its
        context, not an occurrence of its own."""
        index = self.last_error.pop(stream, None)
        if index is None:
            return None
        found = self.occurrences[index]
        self.occurrences[index] = None
        return found.message if found else None

    def _close(self, stream: str) -> None:
        tb = self.open.pop(stream)
        if tb.frames or not tb.chain:  # frames without their exception line: cut short
            tb.chain.append(("<incomplete>", "the traceback was cut", tb.frames))
        self.occurrences.append(_traceback(tb))

    def finish(self) -> list[Occurrence]:
        for stream in list(self.open):
            self._close(stream)
        return [o for o in self.occurrences if o is not None]


def _error_record(text: str, at: float, severity: str) -> Occurrence:
    normal = normalise(text)
    return Occurrence(
        fingerprint="error:" + _short(normal),
        title=text.splitlines()[0][:200],
        message=text[:MAX_TEXT],
        frames=(),
        at=at,
        severity=severity,
    )


def _traceback(tb: _Traceback) -> Occurrence:
    kind, message, _ = tb.chain[-1]
    frames: list[Frame] = []
    for _, _, chained in reversed(tb.chain):  # the raised exception first, then its causes
        frames += reversed(chained)
    where = next((f for f in frames if f.in_app), frames[0] if frames else None)
    location = f"{where.path}:{where.function or '?'}" if where else "?"
    text = "\n".join(tb.text)
    if tb.context:
        text = f"{tb.context}\n{text}"
    title = f"{kind}: {message}" if message else kind
    if where is not None:
        title = f"{title[:150]} ({where.path})"
    return Occurrence(
        fingerprint=f"traceback:{kind}:{_short(location)}",
        title=title[:300],
        message=text[-MAX_TEXT:],
        frames=tuple(frames[:MAX_FRAMES]),
        at=tb.at,
    )


# --------------------------------------------------------------------- the source
def extract(body: bytes, received_at: float | None = None) -> list[Occurrence]:
    """Every traceback and error record of the drain, in order of completion."""
    extractor = Extractor(received_at)
    for line in lines(body):
        extractor.feed(line)
    return extractor.finish()


def alerts(occurrences: list[Occurrence], environment: str | None = None) -> list[Alert]:
    """One `Alert` per occurrence, grouped; the newest of each group carries the detail."""
    groups: dict[str, list[Occurrence]] = defaultdict(list)
    for occurrence in occurrences[:MAX_OCCURRENCES]:
        groups[occurrence.fingerprint].append(occurrence)
    out: list[Alert] = []
    for fingerprint, group in groups.items():
        group.sort(key=lambda o: o.at)
        newest = group[-1]
        for occurrence in group[:-1]:
            out.append(
                Alert(
                    SOURCE,
                    fingerprint,
                    newest.title,
                    newest.severity,
                    "firing",
                    environment,
                    "",
                    started_at=occurrence.at,
                )
            )
        count = f"{len(group)} times in this batch of logs" if len(group) > 1 else ""
        out.append(
            Alert(
                source=SOURCE,
                fingerprint=fingerprint,
                title=newest.title,
                severity=newest.severity,
                status="firing",
                environment=environment,
                message=f"{newest.message}\n\n({count})" if count else newest.message,
                frames=newest.frames,
                started_at=newest.at,
            )
        )
    return out


def parse_logs(body: bytes, received_at: float | None = None) -> list[Alert]:
    """The alerts of one drain request (an empty list: nothing wrong in these lines)."""
    return alerts(extract(body, received_at))
