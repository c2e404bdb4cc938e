"""Commit messages from staged changes: a deterministic summary, and the tidying of a
model-written message. Pure: no git, no files, no network.

The summary names the files added, modified and deleted, the Python functions, classes
and methods added, changed or removed (found with `ast` in the old and the new version;
the code is parsed, never run) and the fixes applied. A subject stays within
`SUBJECT_LIMIT` characters and the body is wrapped at `BODY_WIDTH`, as git expects.
"""

from __future__ import annotations

import ast
import copy
import posixpath
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

SUBJECT_LIMIT = 72
BODY_WIDTH = 72
MIN_SHORTENED_SUBJECT = 20  # a model subject cut shorter than this is not worth keeping
MAX_NAMED = 12  # symbols listed per file; the rest are counted

_VERBS = {"added": "Add", "modified": "Update", "deleted": "Delete"}


@dataclass(frozen=True)
class StagedFile:
    """One staged change. Contents are given for Python files only (for `ast`)."""

    path: str  # relative to the top of the work tree, with `/`
    status: str  # "added", "modified" or "deleted"
    old: bytes | None = None
    new: bytes | None = None


@dataclass
class SymbolChanges:
    """Functions, classes and methods (`Class.method`) added, changed and removed."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def python_symbols(source: bytes | None) -> dict[str, tuple[str, str]] | None:
    """Top-level functions and classes and their methods: name -> (kind, fingerprint).
    None when the source is missing or does not parse."""
    if source is None:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    symbols: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            symbols[node.name] = ("function", ast.dump(node))
        elif isinstance(node, ast.ClassDef):
            functions = ast.FunctionDef | ast.AsyncFunctionDef
            methods = [n for n in node.body if isinstance(n, functions)]
            rest = copy.copy(node)  # the class without its methods: they count on their own
            rest.body = [n for n in node.body if n not in methods]
            symbols[node.name] = ("class", ast.dump(rest))
            for method in methods:
                symbols[f"{node.name}.{method.name}"] = ("method", ast.dump(method))
    return symbols


def symbol_changes(old: bytes | None, new: bytes | None) -> SymbolChanges | None:
    """What changed between two versions of a Python file (None for a side missing or
    not parsing, except a file added or deleted as a whole)."""
    before = python_symbols(old) if old is not None else {}
    after = python_symbols(new) if new is not None else {}
    if before is None or after is None:
        return None
    result = SymbolChanges()
    for name, (kind, fingerprint) in after.items():
        if name not in before:
            if kind != "method" or name.split(".")[0] in before:  # not in a new class
                result.added.append(f"{kind} {name}")
        elif before[name][1] != fingerprint:
            result.changed.append(f"{kind} {name}")
    for name, (kind, _) in before.items():
        if name not in after and (kind != "method" or name.split(".")[0] in after):
            result.removed.append(f"{kind} {name}")
    return result


def deterministic_message(changes: Sequence[StagedFile], fixes: Sequence[str] = ()) -> str:
    """Subject, blank line, body: the files, the Python symbols and the fixes."""
    symbols = {c.path: symbol_changes(c.old, c.new) for c in changes if _python(c)}
    listing = []
    for status in ("added", "modified", "deleted"):
        paths = [c.path for c in changes if c.status == status]
        if paths:
            listing.append(_fill(f"{status.capitalize()}: {', '.join(paths)}", "  "))
    body = ["\n".join(listing)] if listing else []
    for path, found in symbols.items():
        if found and (found.added or found.changed or found.removed):
            lines = [f"{what} {name}" for what, names in (
                ("add", found.added), ("change", found.changed), ("remove", found.removed)
            ) for name in names]  # fmt: skip
            if len(lines) > MAX_NAMED:
                lines = [*lines[:MAX_NAMED], f"and {len(lines) - MAX_NAMED} more"]
            body.append("\n".join([f"{path}:", *(_fill(f"- {line}", "  ") for line in lines)]))
    if fixes:
        listed = [_fill(f"- {note}", "  ") for note in fixes]
        body.append("\n".join(["Fixes applied by Deckhand:", *listed]))
    subject = _subject(changes, symbols)
    return subject + ("\n\n" + "\n\n".join(body) if body else "")


def _python(change: StagedFile) -> bool:
    return change.path.endswith((".py", ".pyi"))


def _subject(changes: Sequence[StagedFile], symbols: dict[str, SymbolChanges | None]) -> str:
    statuses = {c.status for c in changes}
    verb = _VERBS[statuses.pop()] if len(statuses) == 1 else "Update"
    names = _symbol_phrase(symbols)
    if len(changes) == 1:
        path = changes[0].path
        candidates = [f"{verb} {path}: {names}" if names else "", f"{verb} {path}"]
        candidates.append(f"{verb} {posixpath.basename(path)}")
    else:
        folder = posixpath.commonpath([c.path for c in changes])
        count = f"{verb} {len(changes)} files"
        candidates = [f"{count}: {names}" if names else ""]
        candidates += [f"{count} in {folder}" if folder else "", count]
    fitting = next((c for c in candidates if c and len(c) <= SUBJECT_LIMIT), candidates[-1])
    return fitting[:SUBJECT_LIMIT]


def _symbol_phrase(symbols: dict[str, SymbolChanges | None]) -> str:
    """`add f, g; change C.m; remove h` over all files (bare names)."""
    parts = []
    for verb, attribute in (("add", "added"), ("change", "changed"), ("remove", "removed")):
        names = [
            entry.split(" ", 1)[1]
            for found in symbols.values()
            if found
            for entry in getattr(found, attribute)
        ]
        if names:
            parts.append(f"{verb} {', '.join(names)}")
    return "; ".join(parts)


def _fill(line: str, indent: str) -> str:
    return textwrap.fill(
        line,
        BODY_WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)
_BULLET = re.compile(r"^\s*([-*•]|\d+[.)])\s+")
_LABEL = re.compile(r"^(subject|title|commit message)\s*:\s*", re.IGNORECASE)


def tidy_model_message(text: str | None) -> str | None:
    """A model's answer as a commit message: a subject within `SUBJECT_LIMIT` (shortened
    at a word boundary when longer), a blank line, the body wrapped at `BODY_WIDTH`.
    None when nothing usable is left (the caller falls back to the summary)."""
    if not text or not text.strip():
        return None
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    lines = text.strip().splitlines()
    subject = _LABEL.sub("", lines[0].strip()).strip("\"'` ").rstrip(".").strip()
    if not subject or subject.startswith(("{", "[", "#", "```")):
        return None
    if len(subject) > SUBJECT_LIMIT:
        cut = subject[: SUBJECT_LIMIT + 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
        if len(cut) < MIN_SHORTENED_SUBJECT or len(cut) > SUBJECT_LIMIT:
            return None
        subject = cut
    body = _wrap_body(lines[1:])
    return subject + ("\n\n" + body if body else "")


def _wrap_body(lines: Sequence[str]) -> str:
    """Paragraphs and bullets re-wrapped at BODY_WIDTH; blank lines separate paragraphs."""
    blocks: list[tuple[str, list[str]]] = []  # (bullet prefix or "", words)
    for raw in lines:
        line = raw.strip()
        if not line:
            blocks.append(("", []))
            continue
        bullet = _BULLET.match(raw)
        if bullet:
            blocks.append((bullet.group(1) + " ", [raw[bullet.end() :].strip()]))
        elif blocks and blocks[-1][1]:
            blocks[-1][1].append(line)
        else:
            blocks.append(("", [line]))
    out: list[str] = []
    for prefix, words in blocks:
        if not words:
            if out and out[-1] != "":
                out.append("")
            continue
        indent = " " * len(prefix)
        out.append(
            textwrap.fill(
                " ".join(words),
                BODY_WIDTH,
                initial_indent=prefix,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)
