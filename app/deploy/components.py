"""Which deploy components a change affects: by path, and through Python imports.

What it is for: for ``/deploy`` without ``--components``, the components (``deploy.components``
in the repository config: name -> path globs) whose files changed between the deployed
SHA and the new one, plus those holding a Python file that imports a changed Python
module, transitively through any module of the repository.

The import graph is built from the repository's Python files at the new SHA. Each file's
imports depend only on its text, so they are cached by git blob id
(:class:`ImportGraphCache`): a file whose blob did not change is never read or parsed
again; what the imports resolve to (relative imports, packages, the ``src/`` layout) is
recomputed per deployment from the paths, which is cheap.

What it must not do: talk to GitHub, git, HTTP or the database (the caller lists the
files and reads the texts it is asked for), or import/exec the repository's code (texts
are only parsed with ``ast.parse``, by :func:`app.engine.imports.extract_imports`).

Deliberately conservative (deploying one component too many is cheaper than missing one):
every import counts, also those inside functions, ``try``/``except ImportError`` and
``if TYPE_CHECKING:``; a module depends on its parent packages' ``__init__.py``; an
``import x`` that is not a module from the repository root (or ``src/``) may be a
sibling of a script and is looked up in the importing file's directory.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cachetools import LRUCache
from wcmatch import glob

from app.engine.imports import extract_imports

_GLOB_FLAGS = glob.GLOBSTAR | glob.DOTGLOB | glob.BRACE
_SHOWN_HOPS = 4  # files of an import chain shown by describe(), at most
_MARKDOWN_SPECIAL = frozenset("\\`*_[]<>|~")

# One import target as written, independent of where the file is: (level, dotted name).
# ``import a.b`` -> (0, "a.b"); ``from a import b`` -> (0, "a.b") (b may be a submodule);
# ``from . import b`` -> (1, "b"); ``from ..a import *`` -> (2, "a"); ``from . import *``
# -> (1, "").
ImportSpec = tuple[int, str]


def import_specs(text: str) -> tuple[ImportSpec, ...]:
    """The import targets of one Python file's text, deduplicated, in source order.

    A file that does not parse imports nothing (``()``).
    """
    records = extract_imports(text) or []
    specs: dict[ImportSpec, None] = {}
    for record in records:
        if not record.is_from:
            for name in record.names:
                specs[(0, name)] = None
            continue
        base = record.module or ""
        for name in record.names:
            if name == "*":
                specs[(record.level, base)] = None
            else:
                specs[(record.level, f"{base}.{name}" if base else name)] = None
    return tuple(specs)


class ImportGraphCache:
    """Git blob id -> :func:`import_specs` of that blob's text, least recently used first out.

    The specs do not depend on the file's path, so one entry serves every path (and every
    repository) holding the same blob. Keep one instance for the process and pass it to
    every :func:`affected_components` call. Each operation takes a lock, so sharing it
    between threads is safe; two concurrent calls may both parse the same missing blob
    (harmless, the results are equal).
    """

    def __init__(self, maxsize: int = 100_000) -> None:
        self._entries: LRUCache[str, tuple[ImportSpec, ...]] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def get(self, blob_id: str) -> tuple[ImportSpec, ...] | None:
        with self._lock:
            return self._entries.get(blob_id)

    def put(self, blob_id: str, specs: tuple[ImportSpec, ...]) -> None:
        with self._lock:
            self._entries[blob_id] = specs

    def __contains__(self, blob_id: object) -> bool:
        with self._lock:
            return blob_id in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __bool__(self) -> bool:  # an empty cache is still a cache (``cache or ...``)
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class ComponentsResult:
    """The affected components and why.

    ``names``: every affected component, sorted. ``direct``: component -> the changed
    paths (deleted ones included) matching its globs. ``via_imports``: for a component
    affected only through imports, up to ``max_chains`` import chains, shortest first,
    e.g. ``"api/views.py → core/service.py → core/models.py"`` (each file imports the
    next; the last one changed). ``parsed``/``cached``: Python files whose imports were
    read and parsed / taken from the cache, counted by distinct blob (a blob held by
    several paths is read and parsed once); both 0 when no import graph was needed.
    """

    names: tuple[str, ...] = ()
    direct: dict[str, list[str]] = field(default_factory=dict)
    via_imports: dict[str, list[str]] = field(default_factory=dict)
    parsed: int = 0
    cached: int = 0


class _Modules:
    """The repository's Python modules by path, and what an import resolves to."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = set(paths)
        self.dirs: set[str] = set()
        for path in self.paths:
            parts = path.split("/")
            for i in range(1, len(parts)):
                self.dirs.add("/".join(parts[:i]))
        self.src_layout = "src/__init__.py" not in self.paths and any(
            path.startswith("src/") for path in self.paths
        )
        self.roots = ("", "src/") if self.src_layout else ("",)

    def root_of(self, path: str) -> str:
        return "src/" if self.src_layout and path.startswith("src/") else ""

    def find(self, root: str, parts: Sequence[str]) -> list[str]:
        """The files executed to import ``parts`` from ``root``: each package's
        ``__init__.py`` on the way, then the module (or as far as it exists)."""
        found: list[str] = []
        prefix = root
        for part in parts:
            if not part.isidentifier():
                break
            base = prefix + part
            if base + "/__init__.py" in self.paths:
                found.append(base + "/__init__.py")
            elif base + ".py" in self.paths:
                found.append(base + ".py")
                break  # a plain module has no submodules
            elif base not in self.dirs:
                break  # namespace directories go on, anything else is not a module
            prefix = base + "/"
        return found

    def targets(self, path: str, specs: Iterable[ImportSpec]) -> set[str]:
        """The repository files ``path`` depends on: its imports and parent packages."""
        root = self.root_of(path)
        directory = path[len(root) :].split("/")[:-1]
        out = set(self.find(root, directory))  # parent packages run before the module
        for level, name in specs:
            parts = name.split(".") if name else []
            if level == 0:
                found: list[str] = []
                for candidate in self.roots:
                    found += self.find(candidate, parts)
                if not found and "/" in path:  # a sibling of a script
                    found = self.find(path.rsplit("/", 1)[0] + "/", parts)
                out.update(found)
            else:
                up = level - 1
                if up >= len(directory):
                    continue  # beyond the top-level package
                out.update(self.find(root, directory[: len(directory) - up] + parts))
        out.discard(path)
        return out


def _matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    if not patterns:
        return lambda _path: False
    compiled = glob.compile(list(patterns), flags=_GLOB_FLAGS)
    return compiled.match


def _load_specs(
    python: Mapping[str, str],
    read: Callable[[Sequence[str]], Mapping[str, str]],
    cache: ImportGraphCache,
) -> tuple[dict[str, tuple[ImportSpec, ...]], int, int]:
    """Each Python file's import specs: from the cache, else read (one batch) and parsed."""
    specs: dict[str, tuple[ImportSpec, ...]] = {}
    missing: dict[str, list[str]] = {}  # blob id -> paths holding it
    hits: set[str] = set()
    for path, blob in python.items():
        hit = cache.get(blob)
        if hit is None:
            missing.setdefault(blob, []).append(path)
        else:
            specs[path] = hit
            hits.add(blob)
    cached = len(hits)
    parsed = 0
    if missing:
        wanted = sorted(paths[0] for paths in missing.values())
        texts = read(wanted)
        for blob, paths in missing.items():
            text = texts.get(paths[0])
            if text is None:  # not readable now: imports nothing, and not cached
                continue
            found = import_specs(text)
            parsed += 1
            cache.put(blob, found)
            for path in paths:
                specs[path] = found
    return specs, parsed, cached


def affected_components(
    components: Mapping[str, Sequence[str]],
    changed_paths: Iterable[str],
    python_files: Mapping[str, str],
    read: Callable[[Sequence[str]], Mapping[str, str]],
    cache: ImportGraphCache,
    *,
    max_chains: int = 3,
) -> ComponentsResult:
    """The components a change affects, directly (a changed path matches its globs) or
    through imports (one of its Python files imports a changed Python module, transitively).

    ``components``: name -> path globs (``deploy.components``). ``changed_paths``: the
    paths changed between the deployed SHA and the new one, added, modified, deleted and
    both sides of renames. ``python_files``: every file of the repository at the new SHA
    that may be Python, path -> git blob id (only ``.py`` paths are used). ``read``: given
    paths of ``python_files`` whose blob is not in ``cache``, their texts (path -> text);
    called at most once per call, with each missing blob once; a path left out of the
    answer counts as importing nothing and is not cached. ``read`` is not called at all
    when no changed path is a ``.py`` file or no component holds a Python file.
    """
    changed = sorted(set(changed_paths))
    matchers = {name: _matcher(patterns) for name, patterns in components.items()}
    direct: dict[str, list[str]] = {}
    for name, match in matchers.items():
        hits = [path for path in changed if match(path)]
        if hits:
            direct[name] = hits

    python = {path: blob for path, blob in python_files.items() if path.endswith(".py")}
    changed_python = [path for path in changed if path.endswith(".py")]
    # Components not directly affected, with their Python files: only they need the graph.
    candidates = {
        name: [path for path in sorted(python) if match(path)]
        for name, match in matchers.items()
        if name not in direct
    }
    candidates = {name: paths for name, paths in candidates.items() if paths}
    if not changed_python or not candidates:
        return ComponentsResult(names=tuple(sorted(direct)), direct=direct)

    specs, parsed, cached = _load_specs(python, read, cache)
    # Deleted modules are still modules here: whatever imports them is affected.
    modules = _Modules([*python, *changed_python])
    importers: dict[str, list[str]] = {}
    for path in sorted(specs):
        for target in modules.targets(path, specs[path]):
            importers.setdefault(target, []).append(path)

    # Breadth first from the changed modules, against the import edges: ``next_hop[f]``
    # is what ``f`` imports on its shortest way to a changed module.
    next_hop: dict[str, str | None] = dict.fromkeys(changed_python)
    distance: dict[str, int] = dict.fromkeys(changed_python, 0)
    queue = deque(changed_python)
    while queue:
        current = queue.popleft()
        for importer in importers.get(current, ()):
            if importer not in next_hop:
                next_hop[importer] = current
                distance[importer] = distance[current] + 1
                queue.append(importer)

    via: dict[str, list[str]] = {}
    for name, paths in candidates.items():
        reached = sorted((distance[path], path) for path in paths if distance.get(path))
        if reached:
            via[name] = [_chain(path, next_hop) for _, path in reached[:max_chains]]
    names = tuple(sorted({*direct, *via}))
    return ComponentsResult(
        names=names, direct=direct, via_imports=via, parsed=parsed, cached=cached
    )


def _chain(path: str, next_hop: Mapping[str, str | None]) -> str:
    chain = [path]
    hop = next_hop[path]
    while hop is not None:
        chain.append(hop)
        hop = next_hop[hop]
    return " → ".join(chain)


def _escape(text: str) -> str:
    return "".join("\\" + char if char in _MARKDOWN_SPECIAL else char for char in text)


def _code(text: str) -> str:
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def describe(result: ComponentsResult) -> str:
    """One markdown line for the reply, e.g.
    ``Components: api, database (api via imports: `api/views.py` → `core/models.py`)``;
    only the shortest chain of each component, longer ones shortened with ``…``."""
    if not result.names:
        return "Components: none affected."
    line = "Components: " + ", ".join(_escape(name) for name in result.names)
    reasons = []
    for name in sorted(result.via_imports):
        chains = result.via_imports[name]
        if chains:
            parts = [_code(part) for part in chains[0].split(" → ")]
            if len(parts) > _SHOWN_HOPS:  # the importing file, …, the changed module
                parts = [*parts[: _SHOWN_HOPS - 2], "…", parts[-1]]
            first = " → ".join(parts)
            reasons.append(f"{_escape(name)} via imports: {first}")
    if reasons:
        line += " (" + "; ".join(reasons) + ")"
    return line
