from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import pytest

from app.deploy.components import (
    ComponentsResult,
    ImportGraphCache,
    affected_components,
    describe,
    import_specs,
)


class Repo:
    """A repository at the new SHA: path -> text, blob ids from the text, counted reads."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = dict(files)
        self.reads: list[list[str]] = []

    @property
    def blobs(self) -> dict[str, str]:
        return {path: hashlib.sha1(text.encode()).hexdigest() for path, text in self.files.items()}

    def read(self, paths: Sequence[str]) -> dict[str, str]:
        self.reads.append(list(paths))
        return {path: self.files[path] for path in paths}

    @property
    def read_count(self) -> int:
        return sum(len(batch) for batch in self.reads)


def run(
    repo: Repo,
    components: Mapping[str, Sequence[str]],
    changed: Sequence[str],
    cache: ImportGraphCache | None = None,
) -> ComponentsResult:
    return affected_components(
        components,
        changed,
        repo.blobs,
        repo.read,
        cache if cache is not None else ImportGraphCache(),
    )


COMPONENTS = {
    "api": ["api/**"],
    "worker": ["worker/**"],
    "database": ["db/**", "migrations/**"],
}


def chain_repo() -> Repo:
    return Repo(
        {
            "api/__init__.py": "",
            "api/views.py": "from core import service\n",
            "core/__init__.py": "",
            "core/service.py": "import core.models\n",
            "core/models.py": "X = 1\n",
            "worker/__init__.py": "",
            "worker/jobs.py": "import json\n",
            "db/schema.sql": "create table t ();\n",
        }
    )


def test_chain_a_imports_b_imports_c_marks_a_component() -> None:
    repo = chain_repo()
    result = run(repo, COMPONENTS, ["core/models.py"])
    assert result.names == ("api",)
    assert result.direct == {}
    assert result.via_imports == {
        "api": ["api/views.py → core/service.py → core/models.py"],
    }
    assert result.parsed == 5 and result.cached == 0  # the empty __init__.py files: one blob
    assert describe(result) == (
        "Components: api (api via imports: `api/views.py` → `core/service.py` → `core/models.py`)"
    )


def test_direct_and_via_imports_together() -> None:
    repo = chain_repo()
    result = run(repo, COMPONENTS, ["core/models.py", "db/schema.sql", "api/views.py"])
    assert result.names == ("api", "database")
    assert result.direct == {"api": ["api/views.py"], "database": ["db/schema.sql"]}
    assert result.via_imports == {}  # api is already there directly
    assert describe(result) == "Components: api, database"


def test_cycles_terminate_and_propagate() -> None:
    repo = Repo(
        {
            "core/__init__.py": "",
            "core/a.py": "from core import b\n",
            "core/b.py": "from core import c\n",
            "core/c.py": "from core import a\n",
            "api/app.py": "import core.b\n",
            "api/self.py": "import api.self\n",
        }
    )
    result = run(repo, {"api": ["api/**"]}, ["core/a.py"])
    assert result.names == ("api",)
    assert result.via_imports == {"api": ["api/app.py → core/b.py → core/c.py → core/a.py"]}


def test_relative_imports() -> None:
    repo = Repo(
        {
            "pkg/__init__.py": "",
            "pkg/api/__init__.py": "",
            "pkg/api/views.py": "from ..core import models\nfrom . import helpers\n",
            "pkg/api/helpers.py": "from .. import util\n",
            "pkg/core/__init__.py": "",
            "pkg/core/models.py": "",
            "pkg/util.py": "",
            "pkg/worker/__init__.py": "from .tasks import run\n",
            "pkg/worker/tasks.py": "from ...outside import x\n",  # beyond the top: ignored
            "pkg/report/page.py": "from .. import core\n",  # the package, not models
        }
    )
    comps = {"api": ["pkg/api/**"], "worker": ["pkg/worker/**"], "report": ["pkg/report/**"]}
    models = run(repo, comps, ["pkg/core/models.py"])
    assert models.names == ("api",)
    assert models.via_imports == {"api": ["pkg/api/views.py → pkg/core/models.py"]}

    util = run(repo, comps, ["pkg/util.py"])
    assert util.via_imports == {
        "api": [
            "pkg/api/helpers.py → pkg/util.py",
            "pkg/api/views.py → pkg/api/helpers.py → pkg/util.py",
        ]
    }

    # A package's __init__ runs before its modules: everything under pkg/ depends on it.
    root = run(repo, comps, ["pkg/__init__.py"])
    assert root.names == ("api", "report", "worker")


def test_from_package_import_submodule_and_init() -> None:
    repo = Repo(
        {
            "lib/__init__.py": "from lib.base import VERSION\n",
            "lib/base.py": "VERSION = 1\n",
            "lib/extra.py": "",
            "api/a.py": "from lib import extra\n",
            "worker/w.py": "import lib\n",
        }
    )
    comps = {"api": ["api/*.py"], "worker": ["worker/*.py"]}
    # api/a.py imports lib.extra (a submodule) and, through it, lib/__init__ -> lib.base.
    assert run(repo, comps, ["lib/extra.py"]).names == ("api",)
    assert run(repo, comps, ["lib/base.py"]).names == ("api", "worker")
    assert run(repo, comps, ["lib/__init__.py"]).via_imports == {
        "api": ["api/a.py → lib/__init__.py"],
        "worker": ["worker/w.py → lib/__init__.py"],
    }


def test_cache_hits_avoid_reading_and_parsing() -> None:
    repo = chain_repo()
    cache = ImportGraphCache()
    first = run(repo, COMPONENTS, ["core/models.py"], cache)
    assert first.parsed == 5 and first.cached == 0
    assert repo.read_count == 5 and len(repo.reads) == 1  # one batch, each blob once
    assert len(cache) == 5  # the three empty __init__.py share one blob

    # Next deployment: one file changed its text; only that one is read again.
    repo.files["core/service.py"] = "import core.models\nY = 2\n"
    second = run(repo, COMPONENTS, ["core/service.py"], cache)
    assert second.names == ("api",)
    assert second.parsed == 1 and second.cached == 4
    assert repo.reads[-1] == ["core/service.py"]

    third = run(repo, COMPONENTS, ["core/models.py"], cache)
    assert third.parsed == 0 and third.cached == 5
    assert len(repo.reads) == 2  # read not called at all


def test_same_blob_read_once_and_lru_bound() -> None:
    repo = Repo({f"api/m{i}.py": "import core\n" for i in range(5)} | {"core.py": ""})
    cache = ImportGraphCache(maxsize=1)
    result = run(repo, {"api": ["api/**"]}, ["core.py"], cache)
    assert result.names == ("api",)
    assert result.parsed == 2  # one blob for the five api files, one for core.py
    assert len(cache) == 1


def test_no_read_when_not_needed() -> None:
    repo = chain_repo()
    # Only non-Python changes: direct matches only, no graph.
    result = run(repo, COMPONENTS, ["db/schema.sql", "README.md"])
    assert result.names == ("database",) and repo.reads == []
    # Components holding no Python file need no graph either.
    result = run(repo, {"database": ["db/**"]}, ["core/models.py"])
    assert result == ComponentsResult()
    assert repo.reads == []


def test_globstar_patterns() -> None:
    repo = Repo(
        {
            "services/api/src/deep/handler.py": "import shared.auth\n",
            "services/api/README.md": "",
            "shared/__init__.py": "",
            "shared/auth.py": "",
            ".github/workflows/deploy.yml": "",
        }
    )
    comps = {
        "api": ["services/api/**"],
        "ci": ["**/.github/**"],
        "docs": ["**/*.{md,rst}"],
    }
    result = run(repo, comps, ["shared/auth.py", ".github/workflows/deploy.yml", "x/y/z.rst"])
    assert result.names == ("api", "ci", "docs")
    assert result.direct == {"ci": [".github/workflows/deploy.yml"], "docs": ["x/y/z.rst"]}
    assert result.via_imports == {
        "api": ["services/api/src/deep/handler.py → shared/auth.py"],
    }


def test_no_components_configured() -> None:
    repo = chain_repo()
    result = run(repo, {}, ["core/models.py", "api/views.py"])
    assert result == ComponentsResult()
    assert result.names == () and repo.reads == []
    assert describe(result) == "Components: none affected."


def test_deleted_files_count_as_changed() -> None:
    repo = chain_repo()
    # core/legacy.py was deleted; api/old.py still imports it (and would now break).
    repo.files["api/old.py"] = "from core.legacy import thing\n"
    result = run(repo, COMPONENTS, ["core/legacy.py", "worker/gone.py"])
    assert result.names == ("api", "worker")
    assert result.direct == {"worker": ["worker/gone.py"]}
    assert result.via_imports == {"api": ["api/old.py → core/legacy.py"]}


def test_unparseable_and_non_python_changes() -> None:
    repo = Repo(
        {
            "api/broken.py": "import core\ndef (:\n",  # does not parse: imports nothing
            "worker/ok.py": "import core\n",
            "core.py": "",
            "core.pyi": "",
        }
    )
    comps = {"api": ["api/**"], "worker": ["worker/**"]}
    assert run(repo, comps, ["core.py"]).names == ("worker",)
    assert run(repo, comps, ["core.pyi"]).names == ()  # stubs do not run
    assert run(repo, comps, ["core.txt"]).names == ()


def test_src_layout_and_script_siblings() -> None:
    repo = Repo(
        {
            "src/app/__init__.py": "",
            "src/app/models.py": "",
            "tests/test_models.py": "from app.models import M\n",
            "scripts/run.py": "import helper\n",
            "scripts/helper.py": "import app.models\n",
        }
    )
    comps = {"tests": ["tests/**"], "scripts": ["scripts/*.py"]}
    result = run(repo, comps, ["src/app/models.py"])
    assert result.names == ("scripts", "tests")
    assert result.via_imports["scripts"] == [
        "scripts/helper.py → src/app/models.py",
        "scripts/run.py → scripts/helper.py → src/app/models.py",
    ]


def test_read_may_leave_paths_out() -> None:
    repo = chain_repo()
    cache = ImportGraphCache()
    result = affected_components(
        COMPONENTS, ["core/models.py"], repo.blobs, lambda paths: {}, cache
    )
    assert result.names == () and result.parsed == 0 and len(cache) == 0


def test_import_specs() -> None:
    text = (
        "import a.b, c as d\n"
        "from e import f\n"
        "from e import *\n"
        "from . import g\n"
        "from ..h import i\n"
        "def fn():\n    import a.b\n"
    )
    assert import_specs(text) == ((0, "a.b"), (0, "c"), (0, "e.f"), (0, "e"), (1, "g"), (2, "h.i"))
    assert import_specs("import x\ndef (:\n") == ()


@pytest.mark.parametrize(
    ("names", "via", "expected"),
    [
        (("a_b",), {}, "Components: a\\_b"),
        (
            ("api", "worker"),
            {"api": ["api/__init__.py → core.py"], "worker": ["w.py → core.py"]},
            "Components: api, worker (api via imports: `api/__init__.py` → `core.py`; "
            "worker via imports: `w.py` → `core.py`)",
        ),
    ],
)
def test_describe(names: tuple[str, ...], via: dict[str, list[str]], expected: str) -> None:
    assert describe(ComponentsResult(names=names, via_imports=via)) == expected


def test_chains_are_capped_shortest_first() -> None:
    files = {"core.py": "", "api/a0.py": "import core\n"}
    files |= {f"api/a{i}.py": f"import api.a{i - 1}\n" for i in range(1, 6)}
    result = affected_components(
        {"api": ["api/**"]},
        ["core.py"],
        Repo(files).blobs,
        Repo(files).read,
        ImportGraphCache(),
        max_chains=2,
    )
    assert result.via_imports == {
        "api": ["api/a0.py → core.py", "api/a1.py → api/a0.py → core.py"],
    }


def test_describe_shortens_long_chains() -> None:
    result = ComponentsResult(
        names=("api",), via_imports={"api": ["a.py → b.py → c.py → d.py → e.py"]}
    )
    assert describe(result) == "Components: api (api via imports: `a.py` → `b.py` → … → `e.py`)"
