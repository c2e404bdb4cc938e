"""Import checks over a repository's Python files: unresolved imports and import cycles.

What it is for: given the decoded text of the repository's Python files (the whole tree
that is available) and, optionally, the import names its declared dependencies provide,
report imports that cannot resolve (``imports/unresolved``) and cycles between the
repository's own modules formed by module-level imports (``imports/cycle``).
``declared_import_names`` reads the dependency declarations (``pyproject.toml``,
``requirements*.txt``, ``setup.cfg``, ``Pipfile``) and maps distribution names to
top-level import names.

In two steps, so a caller can keep the first: ``extract_imports`` turns one file into
plain ``ImportRecord`` data (parsing is nearly all of the cost), ``resolve_imports`` /
``ImportResolver`` resolve every file's records against the repository's module layout.
``check_imports`` does both; with ``known_paths`` (every path of the repository, only
the paths) it checks some files (the changed ones) against the whole repository.

What it must not do: import, exec, eval or compile the checked code, or look at the
environment it runs in (installed packages, ``sys.path``). Sources are only parsed with
``ast.parse``; dependency files only with ``tomllib``/``configparser``/text parsing.
Files that do not parse are skipped silently (the syntax check reports them).
"""

from __future__ import annotations

import ast
import posixpath
import re
import sys
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from app.engine.findings import Finding, Severity

RULE_UNRESOLVED = "imports/unresolved"
RULE_CYCLE = "imports/cycle"

STDLIB = frozenset(sys.stdlib_module_names) | {"__future__", "__main__"}

_NEWLINE = re.compile(r"\r\n|\r|\n")
_FROM_MODULE = re.compile(r"from\s+([.\w]+(?:[ \t]*\.[ \t]*\w+)*)")
_REQ_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})

# Normalised (PEP 503, "_" separated) distribution name -> the top-level import names.
KNOWN_IMPORT_NAMES: dict[str, tuple[str, ...]] = {
    "pyyaml": ("yaml",),
    "beautifulsoup4": ("bs4",),
    "pillow": ("PIL",),
    "scikit_learn": ("sklearn",),
    "scikit_image": ("skimage",),
    "python_dateutil": ("dateutil",),
    "attrs": ("attr", "attrs"),
    "pyjwt": ("jwt",),
    "opencv_python": ("cv2",),
    "opencv_python_headless": ("cv2",),
    "opencv_contrib_python": ("cv2",),
    "opencv_contrib_python_headless": ("cv2",),
    "protobuf": ("google",),
    "typing_extensions": ("typing_extensions",),
    "msgpack_python": ("msgpack",),
    "python_dotenv": ("dotenv",),
    "pyzmq": ("zmq",),
    "psycopg2_binary": ("psycopg2",),
    "psycopg_binary": ("psycopg",),
    "gitpython": ("git",),
    "pydantic_settings": ("pydantic_settings",),
    "pymongo": ("pymongo", "bson", "gridfs"),
    "pyserial": ("serial",),
    "pycryptodome": ("Crypto",),
    "pycryptodomex": ("Cryptodome",),
    "pyopenssl": ("OpenSSL",),
    "dnspython": ("dns",),
    "pygithub": ("github",),
    "python_jose": ("jose",),
    "python_multipart": ("multipart", "python_multipart"),
    "python_json_logger": ("pythonjsonlogger",),
    "python_magic": ("magic",),
    "python_slugify": ("slugify",),
    "setuptools": ("setuptools", "pkg_resources", "_distutils_hack"),
    "grpcio": ("grpc",),
    "google_api_python_client": ("googleapiclient",),
    "pywin32": ("win32api", "win32con", "win32com", "pythoncom", "pywintypes"),
    "ruamel_yaml": ("ruamel",),
    "pyinstaller": ("PyInstaller",),
    "websocket_client": ("websocket",),
    "discord_py": ("discord",),
    "mysqlclient": ("MySQLdb",),
    "mysql_connector_python": ("mysql",),
    "faiss_cpu": ("faiss",),
    "faiss_gpu": ("faiss",),
    "tensorflow_gpu": ("tensorflow",),
    "tensorflow_cpu": ("tensorflow",),
    "pytest_asyncio": ("pytest_asyncio",),
    "pyusb": ("usb",),
    "pyside6": ("PySide6",),
    "pyqt5": ("PyQt5",),
    "pyqt6": ("PyQt6",),
    "python_levenshtein": ("Levenshtein",),
    "levenshtein": ("Levenshtein",),
    "markdown": ("markdown",),
    "jinja2": ("jinja2",),
    "docker_py": ("docker",),
    "ldap3": ("ldap3",),
    "python_ldap": ("ldap", "ldif", "slapdtest"),
    "pyhamcrest": ("hamcrest",),
    "pynacl": ("nacl",),
    "pysocks": ("socks", "sockshandler"),
    "pytz": ("pytz",),
    "tzdata": ("tzdata",),
    "importlib_metadata": ("importlib_metadata",),
}
# Distribution name prefixes that install into a shared namespace package.
_NAMESPACE_PREFIXES = ("google_", "azure_", "sphinxcontrib_", "jaraco_", "backports_")


def normalize(name: str) -> str:
    """PEP 503 normalisation, with ``_`` as the separator (an import-name shape)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def import_names_for(distribution: str) -> set[str]:
    """The top-level import names a distribution (name as written) probably provides."""
    norm = normalize(distribution)
    names = {norm}
    names.update(KNOWN_IMPORT_NAMES.get(norm, ()))
    for prefix in _NAMESPACE_PREFIXES:
        if norm.startswith(prefix):
            names.add(prefix[:-1])
    if "." in distribution:  # zope.interface -> zope
        names.add(normalize(distribution.split(".", 1)[0]))
    if norm.startswith("python_") and len(norm) > 7:
        names.add(norm[7:])
    if norm.endswith("_python") and len(norm) > 7:
        names.add(norm[:-7])
    for suffix in ("_binary", "_headless"):
        if norm.endswith(suffix):
            names.add(norm[: -len(suffix)])
    return names


# --------------------------------------------------------------------------------------
# Declared dependencies
# --------------------------------------------------------------------------------------


def _requirement_name(line: str) -> str | None:
    """The distribution name of one PEP 508 requirement string (or ``None``)."""
    line = line.strip()
    if not line or line.startswith(("#", "-", ".", "/")) or "://" in line.split("@")[0]:
        egg = _EGG.search(line)
        return egg.group(1) if egg else None
    match = _REQ_NAME.match(line)
    return match.group(1) if match else None


def _requirements_txt(path: str, files: dict[str, str], seen: set[str], out: set[str]) -> None:
    if path in seen:
        return
    seen.add(path)
    text = files[path].replace("\\\r\n", " ").replace("\\\n", " ")
    for raw in _NEWLINE.split(text):
        line = raw.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r", "--requirement")):
            target = re.sub(r"^(-r|--requirement)[\s=]*", "", line).strip()
            included = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if included in files:
                _requirements_txt(included, files, seen, out)
            continue
        if line.startswith("-") and not line.startswith(("-e", "--editable")):
            continue  # -c constraints, --index-url, ...
        name = _requirement_name(re.sub(r"^(-e|--editable)[\s=]*", "", line))
        if name:
            out.add(name)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield item


def _pyproject(text: str, out: set[str]) -> bool:
    import tomllib  # here: its import costs more than a warm run's whole import check

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return False
    found = False
    project = data.get("project")
    if isinstance(project, dict):
        if "dependencies" in project:
            found = True
            out.update(filter(None, map(_requirement_name, _strings(project["dependencies"]))))
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            found = True
            for group in optional.values():
                out.update(filter(None, map(_requirement_name, _strings(group))))
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        found = True
        for group in groups.values():
            out.update(filter(None, map(_requirement_name, _strings(group))))
    tool: dict[str, Any] = data["tool"] if isinstance(data.get("tool"), dict) else {}
    poetry = tool.get("poetry")
    if isinstance(poetry, dict):
        tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
        if isinstance(poetry.get("group"), dict):
            tables += [
                group.get("dependencies")
                for group in poetry["group"].values()
                if isinstance(group, dict)
            ]
        for table in tables:
            if isinstance(table, dict):
                found = True
                out.update(name for name in table if name.lower() != "python")
    uv = tool.get("uv")
    if isinstance(uv, dict) and "dev-dependencies" in uv:
        found = True
        out.update(filter(None, map(_requirement_name, _strings(uv["dev-dependencies"]))))
    pdm = tool.get("pdm")
    if isinstance(pdm, dict) and isinstance(pdm.get("dev-dependencies"), dict):
        found = True
        for group in pdm["dev-dependencies"].values():
            out.update(filter(None, map(_requirement_name, _strings(group))))
    build = data.get("build-system")
    if found and isinstance(build, dict):  # setup.py / build hooks import these
        out.update(filter(None, map(_requirement_name, _strings(build.get("requires")))))
    return found


def _setup_cfg(text: str, out: set[str]) -> bool:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return False
    found = False
    values: list[str] = []
    if parser.has_option("options", "install_requires"):
        found = True
        values.append(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        found = True
        values.extend(value for _, value in parser.items("options.extras_require"))
    for value in values:
        for line in _NEWLINE.split(value):
            name = _requirement_name(line.split("#", 1)[0].split(";", 1)[0])
            if name:
                out.add(name)
    return found


def _pipfile(text: str, out: set[str]) -> bool:
    import tomllib

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return False
    found = False
    for key in ("packages", "dev-packages"):
        table = data.get(key)
        if isinstance(table, dict):
            found = True
            out.update(table)
    return found


def _is_requirements_file(path: str) -> bool:
    base = posixpath.basename(path)
    if base.startswith("requirements") and base.endswith((".txt", ".in")):
        return True
    return path.endswith(".txt") and posixpath.basename(posixpath.dirname(path)) in {
        "requirements",
        "requirements.d",
    }


def declared_distributions(files: dict[str, str]) -> set[str] | None:
    """Distribution names as declared, or ``None`` when nothing declares dependencies."""
    out: set[str] = set()
    found = False
    seen: set[str] = set()
    for path in sorted(files):
        base = posixpath.basename(path)
        if base == "pyproject.toml":
            found = _pyproject(files[path], out) or found
        elif base == "setup.cfg":
            found = _setup_cfg(files[path], out) or found
        elif base == "Pipfile":
            found = _pipfile(files[path], out) or found
        elif _is_requirements_file(path):
            found = True
            _requirements_txt(path, files, seen, out)
    return out if found else None


def declared_import_names(files: dict[str, str]) -> set[str] | None:
    """Top-level import names provided by the declared dependencies.

    ``None`` when no dependency declaration exists at all (unknown, not "nothing").
    """
    distributions = declared_distributions(files)
    if distributions is None:
        return None
    names: set[str] = set()
    for distribution in distributions:
        names |= import_names_for(distribution)
    return names


# --------------------------------------------------------------------------------------
# Collecting imports
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Import:
    node: ast.Import | ast.ImportFrom
    guarded: bool  # try/except ImportError or TYPE_CHECKING: may be unresolved
    runs_on_import: bool  # module level (incl. class bodies), not TYPE_CHECKING/__main__


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _catches_import_error(handlers: list[ast.ExceptHandler]) -> bool:
    for handler in handlers:
        if handler.type is None:
            return True
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for exc in types:
            name = exc.id if isinstance(exc, ast.Name) else getattr(exc, "attr", None)
            if name in _IMPORT_ERRORS:
                return True
    return False


def _suppresses_import_error(node: ast.With | ast.AsyncWith) -> bool:
    for item in node.items:
        call = item.context_expr
        if isinstance(call, ast.Call):
            func = call.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "suppress" and any(
                getattr(arg, "id", getattr(arg, "attr", None)) in _IMPORT_ERRORS
                for arg in call.args
            ):
                return True
    return False


def _collect(tree: ast.Module) -> list[_Import]:
    found: list[_Import] = []
    stack: list[tuple[list[ast.stmt], bool, bool]] = [(tree.body, False, True)]
    while stack:
        body, guarded, runs = stack.pop()
        for stmt in body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                found.append(_Import(stmt, guarded, runs))
            elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                stack.append((stmt.body, guarded, False))
            elif isinstance(stmt, ast.ClassDef):
                stack.append((stmt.body, guarded, runs))
            elif isinstance(stmt, ast.If):
                if _is_type_checking(stmt.test):
                    stack.append((stmt.body, True, False))
                    stack.append((stmt.orelse, guarded, runs))
                elif _is_main_guard(stmt.test):
                    stack.append((stmt.body, guarded, False))
                    stack.append((stmt.orelse, guarded, runs))
                else:
                    stack.append((stmt.body, guarded, runs))
                    stack.append((stmt.orelse, guarded, runs))
            elif isinstance(stmt, ast.Try | ast.TryStar):
                stack.append((stmt.body, guarded or _catches_import_error(stmt.handlers), runs))
                for handler in stmt.handlers:
                    stack.append((handler.body, guarded, runs))
                stack.append((stmt.orelse, guarded, runs))
                stack.append((stmt.finalbody, guarded, runs))
            elif isinstance(stmt, ast.With | ast.AsyncWith):
                stack.append((stmt.body, guarded or _suppresses_import_error(stmt), runs))
            elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
                stack.append((stmt.body, guarded, runs))
                stack.append((stmt.orelse, guarded, runs))
            elif isinstance(stmt, ast.Match):
                for case in stmt.cases:
                    stack.append((case.body, guarded, runs))
    found.sort(key=lambda imp: (imp.node.lineno, imp.node.col_offset))
    return found


# --------------------------------------------------------------------------------------
# The repository's module layout
# --------------------------------------------------------------------------------------


def _is_python(path: str) -> bool:
    return path.endswith((".py", ".pyi"))


class _Layout:
    """Which modules, packages and namespace directories the repository holds."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.files: set[str] = set()  # paths without the suffix: "pkg/mod", "pkg/__init__"
        self.dirs: set[str] = set()  # directories holding Python files, and their parents
        self.top_names: set[str] = set()
        self.modules: dict[str, str] = {}  # dotted module name -> path of its code
        self.src_layout = False
        paths = sorted(paths)
        has_src_init = "src/__init__.py" in paths
        for path in paths:
            stem = path.rsplit(".", 1)[0]
            self.files.add(stem)
            parts = stem.split("/")
            for i in range(1, len(parts)):
                self.dirs.add("/".join(parts[:i]))
            self.top_names.add(parts[0])
            if parts[0] == "src" and len(parts) > 1 and not has_src_init:
                self.src_layout = True
                self.top_names.add(parts[1])
                parts = parts[1:]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts and all(part.isidentifier() for part in parts):
                # .py wins over .pyi for the same module (sorted: ".py" < ".pyi")
                self.modules.setdefault(".".join(parts), path)
        self._has_src_init = has_src_init

    def exists(self, parts: list[str]) -> bool:
        """Is there a module, package or namespace directory at these path parts?"""
        joined = "/".join(parts)
        return joined in self.files or joined in self.dirs

    def module_of(self, path: str) -> str | None:
        parts = path.rsplit(".", 1)[0].split("/")
        if parts[0] == "src" and len(parts) > 1 and not self._has_src_init:
            parts = parts[1:]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts) if parts else None

    def root_depth(self, path: str) -> int:
        """How many leading directories of ``path`` are not part of the package name."""
        return 1 if path.startswith("src/") and not self._has_src_init else 0


# --------------------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------------------


class _Lines:
    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: list[str] | None = None

    def line(self, number: int) -> str:
        if self._lines is None:
            self._lines = _NEWLINE.split(self.text)
        return self._lines[number - 1] if 0 < number <= len(self._lines) else ""

    def column(self, line: int, byte_offset: int) -> int:
        """1-based character column of an ast (UTF-8 byte) offset."""
        text = self.line(line)
        if text.isascii():
            return byte_offset + 1
        return len(text.encode()[:byte_offset].decode("utf-8", "replace")) + 1


Span = tuple[int, int, int, int]


def _node_span(lines: _Lines, node: ast.stmt | ast.alias) -> Span:
    end_line = node.end_lineno or node.lineno
    end_offset = node.end_col_offset if node.end_col_offset is not None else node.col_offset
    return (
        node.lineno,
        lines.column(node.lineno, node.col_offset),
        end_line,
        lines.column(end_line, end_offset),
    )


def _alias_span(lines: _Lines, alias: ast.alias) -> Span:
    """The imported name of an alias (``a.b`` in ``import a.b as c``)."""
    line, column, end_line, end_column = _node_span(lines, alias)
    if alias.asname is not None:
        text = lines.line(line)
        if text[column - 1 : column - 1 + len(alias.name)] == alias.name:
            return line, column, line, column + len(alias.name)
    return line, column, end_line, end_column


def _module_span(lines: _Lines, node: ast.ImportFrom) -> Span:
    """The module part of ``from <module> import ...`` (the dots included)."""
    line, column, end_line, end_column = _node_span(lines, node)
    match = _FROM_MODULE.match(lines.line(line), column - 1)
    if match is None:
        return line, column, end_line, end_column
    start = match.start(1) + 1
    return line, start, line, start + len(match.group(1))


# --------------------------------------------------------------------------------------
# Per file: the imports of one module, with their positions (no syntax tree kept)
# --------------------------------------------------------------------------------------


class ImportRecord(NamedTuple):
    """One import statement as the whole-tree resolution needs it.

    Plain data (strings, ints, bools, 4-int spans), so it can be cached as JSON and
    handed between processes; ``extract_imports`` makes them, ``resolve_imports`` reads
    them. ``module_span`` is the module part of ``from <module> import ...`` (``None``
    for ``import``); ``alias_spans`` has the span of each imported name.
    """

    is_from: bool
    level: int
    module: str | None
    names: tuple[str, ...]
    guarded: bool  # try/except ImportError or TYPE_CHECKING: may be unresolved
    runs_on_import: bool  # module level (incl. class bodies), not TYPE_CHECKING/__main__
    module_span: Span | None
    alias_spans: tuple[Span, ...]


def extract_imports(text: str, tree: ast.Module | None = None) -> list[ImportRecord] | None:
    """The imports of one Python file, in source order; ``None`` if it does not parse.

    ``tree``: the file's already parsed module (parsing is nearly all of the cost).
    """
    if tree is None:
        if "import" not in text:
            return []
        try:
            tree = ast.parse(text, filename="<deckhand-imports>")
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None
    lines = _Lines(text)
    records = []
    for imp in _collect(tree):
        node = imp.node
        is_from = isinstance(node, ast.ImportFrom)
        records.append(
            ImportRecord(
                is_from=is_from,
                level=node.level if isinstance(node, ast.ImportFrom) else 0,
                module=node.module if isinstance(node, ast.ImportFrom) else None,
                names=tuple(alias.name for alias in node.names),
                guarded=imp.guarded,
                runs_on_import=imp.runs_on_import,
                module_span=_module_span(lines, node) if isinstance(node, ast.ImportFrom) else None,
                alias_spans=tuple(_alias_span(lines, alias) for alias in node.names),
            )
        )
    return records


def record_to_json(record: ImportRecord) -> list[Any]:
    """A compact JSON form: the fields, with every span in one flat list of ints."""
    flat: list[int] = list(record.module_span) if record.module_span is not None else []
    for span in record.alias_spans:
        flat += span
    return [record.is_from, record.level, record.module, record.names, record.guarded,
            record.runs_on_import, flat]  # fmt: skip


def record_from_json(data: Any) -> ImportRecord:
    """The record :func:`record_to_json` made; TypeError or ValueError if malformed."""
    is_from, level, module, names, guarded, runs, flat = data
    if (
        type(is_from) is not bool
        or type(level) is not int
        or (module is not None and type(module) is not str)
        or type(names) is not list
        or not set(map(type, names)) <= {str}
        or type(guarded) is not bool
        or type(runs) is not bool
        or type(flat) is not list
        or not set(map(type, flat)) <= {int}
        or len(flat) != 4 * (len(names) + is_from)
    ):
        raise ValueError("not an import record")
    spans: list[Span] = list(zip(*[iter(flat)] * 4, strict=True))
    return ImportRecord(
        is_from,
        level,
        module,
        tuple(names),
        guarded,
        runs,
        spans[0] if is_from else None,
        tuple(spans[1:] if is_from else spans),
    )


# --------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------


def _relative_base(layout: _Layout, path: str, level: int) -> list[str] | None:
    """Path parts of the package ``level`` dots refer to, or ``None`` beyond the top."""
    directory = path.split("/")[:-1]
    up = level - 1
    if up > len(directory):
        return None
    base = directory[: len(directory) - up]
    if len(base) <= layout.root_depth(path):
        return None
    return base


def _relative_module(layout: _Layout, path: str, record: ImportRecord) -> str | None:
    """Dotted module name a relative import refers to, for the cycle graph."""
    module = layout.module_of(path)
    if module is None:
        return None
    parts = module.split(".")
    if not path.rsplit(".", 1)[0].endswith("__init__"):
        parts = parts[:-1]
    up = record.level - 1
    if not parts or up >= len(parts):
        return None
    parts = parts[: len(parts) - up]
    if record.module:
        parts = parts + record.module.split(".")
    return ".".join(parts) if parts else None


def _target(layout: _Layout, module: str) -> str | None:
    """The longest prefix of ``module`` that is one of the repository's modules."""
    parts = module.split(".")
    while parts:
        name = ".".join(parts)
        if name in layout.modules:
            return name
        parts.pop()
    return None


def check_imports(
    files: Mapping[str, str],
    declared: set[str] | None = None,
    *,
    trees: Mapping[str, ast.Module] | None = None,
    known_paths: Iterable[str] | None = None,
) -> list[Finding]:
    """Check the imports of Python files (``files``: path -> text).

    ``declared``: the top-level import names its declared dependencies provide (see
    :func:`declared_import_names`); ``None`` when unknown, and then third-party imports
    are not reported as unresolved at all.

    ``trees``: optional already parsed modules by path (e.g. from the syntax check), so a
    file is not parsed twice; parsing is nearly all of the cost.

    ``known_paths``: every file path of the repository (only the paths, e.g. a checkout's
    listing), when ``files`` holds only some of its files (the changed ones): imports
    resolve against all of them, findings are reported only for ``files``. Cycles can
    only be found through the import edges of ``files`` (the others' contents are not
    known). Without it, ``files`` is the whole repository.

    Rule ids: ``imports/unresolved`` (error), ``imports/cycle`` (warning).
    """
    imports: dict[str, list[ImportRecord]] = {}
    for path, text in files.items():
        if not _is_python(path):
            continue
        tree = trees.get(path) if trees is not None else None
        # A file that does not parse still counts as a module of the repository.
        imports[path] = extract_imports(text, tree) or []
    return resolve_imports(imports, declared, known_paths=known_paths)


def resolve_imports(
    imports: Mapping[str, Sequence[ImportRecord]],
    declared: set[str] | None = None,
    *,
    known_paths: Iterable[str] | None = None,
    report: Collection[str] | None = None,
) -> list[Finding]:
    """The whole-tree step of :func:`check_imports`, from each file's extracted imports.

    ``imports``: path -> the file's :func:`extract_imports` records; every Python path
    in it (and in ``known_paths``) is a module of the repository. ``report``: only
    findings in these paths are returned (all when ``None``); a cycle is reported when
    one of its imports is in them, at the first such import.
    """
    python = set(imports)
    if known_paths is not None:
        python.update(known_paths)
    resolver = ImportResolver(python, declared)
    findings: list[Finding] = []
    edges: dict[str, list[Edge]] = {}
    for path in sorted(imports):
        if not _is_python(path):
            continue
        if report is None or path in report:
            findings.extend(resolver.unresolved(path, imports[path]))
        edges[path] = resolver.edges(path, imports[path])
    findings.extend(resolver.cycles(edges, report))
    return findings


Edge = tuple[str, Span]  # an imported module of the repository, and where


class ImportResolver:
    """:func:`resolve_imports` in parts: what one file's imports resolve to depends only
    on its records, the repository's Python paths and the declared dependencies, so a
    caller may keep each file's unresolved findings and edges while those stay the same,
    and redo only the cycles (from every file's edges)."""

    def __init__(self, python_paths: Iterable[str], declared: set[str] | None) -> None:
        self.layout = _Layout(path for path in python_paths if _is_python(path))
        self.declared = declared
        self.declared_norm = (
            {normalize(name) for name in declared} if declared is not None else None
        )

    def unresolved(self, path: str, records: Sequence[ImportRecord]) -> list[Finding]:
        """The imports of the file at ``path`` that resolve to nothing."""
        directory = path.split("/")[:-1]
        findings: list[Finding] = []
        for record in records:
            if not record.guarded:
                findings.extend(
                    _unresolved(
                        self.layout, path, directory, record, self.declared, self.declared_norm
                    )
                )
        return findings

    def edges(self, path: str, records: Sequence[ImportRecord]) -> list[Edge]:
        """The repository's modules the file imports when it is imported, each once, at
        its first import (stubs never run: none)."""
        module = self.layout.module_of(path) if path.endswith(".py") else None
        if module is None:
            return []
        out: dict[str, Span] = {}
        for record in records:
            if record.runs_on_import:
                _add_edges(self.layout, path, module, record, out)
        return list(out.items())

    def cycles(
        self, edges: Mapping[str, Sequence[Edge]], report: Collection[str] | None = None
    ) -> list[Finding]:
        """Import cycles from every file's :meth:`edges` (by path)."""
        graph: dict[str, dict[str, tuple[str, Span]]] = {}
        for path in sorted(edges):
            module = self.layout.module_of(path) if path.endswith(".py") else None
            if module is None:
                continue
            out = graph.setdefault(module, {})
            for target, span in edges[path]:
                if target not in out:
                    out[target] = (path, span)
        return _cycles(graph, report)


def edges_to_json(edges: Sequence[Edge]) -> list[Any]:
    """A compact JSON form of :meth:`ImportResolver.edges`: targets, then flat spans."""
    flat: list[int] = []
    for _, span in edges:
        flat += span
    return [[target for target, _ in edges], flat]


def edges_from_json(data: Any) -> list[Edge]:
    """What :func:`edges_to_json` made; TypeError or ValueError if malformed."""
    targets, flat = data
    if (
        type(targets) is not list
        or type(flat) is not list
        or not set(map(type, targets)) <= {str}
        or not set(map(type, flat)) <= {int}
        or len(flat) != 4 * len(targets)
    ):
        raise ValueError("not import edges")
    spans: list[Span] = list(zip(*[iter(flat)] * 4, strict=True))
    return list(zip(targets, spans, strict=True))


def _unresolved(
    layout: _Layout,
    path: str,
    directory: list[str],
    record: ImportRecord,
    declared: set[str] | None,
    declared_norm: set[str] | None,
) -> Iterator[Finding]:
    if record.is_from and record.level:
        base = _relative_base(layout, path, record.level)
        parts = (base or []) + (record.module.split(".") if record.module else [])
        if base is not None and layout.exists(parts):
            return
        dots = "." * record.level + (record.module or "")
        reason = (
            "goes beyond the top-level package"
            if base is None
            else f"no module or package {'/'.join(parts)!r} in the repository"
        )
        assert record.module_span is not None
        yield _finding(
            path,
            record.module_span,
            RULE_UNRESOLVED,
            Severity.ERROR,
            f"Relative import {dots!r} cannot be resolved: {reason}.",
        )
        return
    names = [record.module or ""] if record.is_from else list(record.names)
    for index, name in enumerate(names):
        top = name.split(".", 1)[0]
        if (
            not top
            or top in STDLIB
            or top in layout.top_names
            or layout.exists([*directory, top])  # a sibling of a script
            or declared is None
            or top in declared
            or (declared_norm is not None and normalize(top) in declared_norm)
        ):
            continue
        span = record.module_span if record.is_from else record.alias_spans[index]
        assert span is not None
        yield _finding(
            path,
            span,
            RULE_UNRESOLVED,
            Severity.ERROR,
            f"Import {name!r} cannot be resolved: {top!r} is not in the standard library, "
            "the repository or the declared dependencies.",
        )


def _add_edges(
    layout: _Layout, path: str, module: str, record: ImportRecord, out: dict[str, Span]
) -> None:
    targets: list[tuple[str | None, Span | None]] = []
    if not record.is_from:
        targets = [
            (_target(layout, name), span)
            for name, span in zip(record.names, record.alias_spans, strict=True)
        ]
    else:
        base = _relative_module(layout, path, record) if record.level else (record.module or None)
        if base is None:
            return
        for name, span in zip(record.names, record.alias_spans, strict=True):
            sub = f"{base}.{name}"
            if name != "*" and sub in layout.modules:
                targets.append((sub, span))
            else:
                targets.append((_target(layout, base), record.module_span))
    for target, target_span in targets:
        if target is None or target == module or target in out:
            continue
        assert target_span is not None
        out[target] = target_span


def _sccs(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph.get(node, [])
            recursed = False
            while child < len(successors):
                succ = successors[child]
                child += 1
                if succ not in index:
                    work.append((node, child))
                    work.append((succ, 0))
                    recursed = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if recursed:
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def _cycles(
    edges: dict[str, dict[str, tuple[str, Span]]], report: Collection[str] | None = None
) -> list[Finding]:
    graph = {source: sorted(targets) for source, targets in edges.items()}
    findings: list[Finding] = []
    for component in _sccs(graph):
        if len(component) < 2:
            continue
        members = set(component)
        found = _reported_cycle(graph, edges, members, report)
        if found is None:
            continue
        cycle, index = found
        path, span = edges[cycle[index]][cycle[index + 1]]
        message = f"Import cycle: {' → '.join(cycle)}."
        if len(members) > len(cycle) - 1:
            message += f" ({len(members)} modules import each other in a cycle group.)"
        findings.append(_finding(path, span, RULE_CYCLE, Severity.WARNING, message))
    findings.sort(key=lambda f: (f.path, f.line, f.column))
    return findings


def _reported_cycle(
    graph: dict[str, list[str]],
    edges: dict[str, dict[str, tuple[str, Span]]],
    members: set[str],
    report: Collection[str] | None,
) -> tuple[list[str], int] | None:
    """The cycle to report for a cycle group, and the index of the import to show.

    The shortest cycle through the group's first module, at its first import; when only
    some paths are reported, the first of those cycles (through the first module, then
    through each module importing from a reported path) having an import in them.
    """
    start = min(members)
    if report is None:
        cycle = _shortest_cycle(graph, members, start)
        return None if cycle is None else (cycle, 0)
    reporting = sorted(
        module
        for module in members
        if any(path in report for target, (path, _) in edges[module].items() if target in members)
    )
    for candidate in [start, *reporting]:
        cycle = _shortest_cycle(graph, members, candidate) or []
        for index in range(len(cycle) - 1):
            if edges[cycle[index]][cycle[index + 1]][0] in report:
                return cycle, index
    return None


def _shortest_cycle(graph: dict[str, list[str]], members: set[str], start: str) -> list[str] | None:
    """Shortest cycle through ``start`` inside its group (BFS, sorted successors), with
    ``start`` at both ends."""
    previous: dict[str, str] = {}
    queue = deque([start])
    closing: str | None = None
    while queue and closing is None:
        current = queue.popleft()
        for succ in graph.get(current, []):
            if succ == start:
                closing = current
                break
            if succ in members and succ not in previous:
                previous[succ] = current
                queue.append(succ)
    if closing is None:  # pragma: no cover - every SCC member lies on a cycle
        return None
    chain = [closing]
    while chain[-1] != start:
        chain.append(previous[chain[-1]])
    chain.reverse()
    return [*chain, start]


def _finding(path: str, span: Span, rule: str, severity: Severity, message: str) -> Finding:
    line, column, end_line, end_column = span
    return Finding(
        path=path,
        line=line,
        column=column,
        rule=rule,
        severity=severity,
        message=message,
        end_line=end_line,
        end_column=end_column,
    )
