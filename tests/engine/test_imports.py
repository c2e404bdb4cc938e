"""check_imports / declared_import_names: unresolved imports, cycles, dependency files."""

from __future__ import annotations

import pytest

from app.engine.findings import Severity
from app.engine.imports import (
    check_imports,
    declared_import_names,
    extract_imports,
    import_names_for,
    record_from_json,
    record_to_json,
    resolve_imports,
)


def rules(findings):
    return [(f.path, f.rule) for f in findings]


def pos(finding):
    return (finding.line, finding.column, finding.end_line, finding.end_column)


# --- unresolved: third party -----------------------------------------------------------


def test_third_party_unknown_declarations_not_reported() -> None:
    assert check_imports({"a.py": "import requests\nfrom numpy import array\n"}) == []


def test_third_party_undeclared_reported_with_position() -> None:
    files = {"a.py": "import os\nimport requests.adapters as ra, yaml\nfrom numpy import x\n"}
    findings = check_imports(files, declared={"yaml"})
    assert [f.rule for f in findings] == ["imports/unresolved"] * 2
    assert all(f.severity is Severity.ERROR for f in findings)
    requests, numpy = findings
    assert pos(requests) == (2, 8, 2, 25)  # "requests.adapters", without "as ra"
    assert "'requests'" in requests.message
    assert pos(numpy) == (3, 6, 3, 11)  # "numpy"


def test_declared_third_party_ok() -> None:
    files = {"a.py": "import yaml\nfrom PIL import Image\nimport Requests\n"}
    assert check_imports(files, declared={"yaml", "PIL", "requests"}) == []


def test_stdlib_ok() -> None:
    files = {"a.py": "from __future__ import annotations\nimport os.path, sys, tomllib\n"}
    assert check_imports(files, declared=set()) == []


def test_columns_are_characters() -> None:
    files = {"a.py": 'x = "é"; import missing\n'}
    (finding,) = check_imports(files, declared=set())
    assert pos(finding) == (1, 17, 1, 24)


# --- unresolved: repository modules ----------------------------------------------------


def test_root_layout_modules_ok() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/mod.py": "import pkg.other\nfrom tool import run\n",
        "pkg/other.py": "",
        "tool.py": "",
    }
    assert check_imports(files, declared=set()) == []


def test_src_layout_and_namespace_packages_ok() -> None:
    files = {
        "src/deck/core.py": "from deck.util import helper\nimport nspkg.deep.leaf\n",
        "src/deck/util.py": "",
        "nspkg/deep/leaf.py": "",  # no __init__ anywhere: namespace packages
        "tests/test_core.py": "import deck.core\n",
    }
    assert check_imports(files, declared=set()) == []


# --- unresolved: relative --------------------------------------------------------------


def test_relative_imports_good() -> None:
    files = {
        "pkg/__init__.py": "from . import a\nfrom .a import anything\n",
        "pkg/a.py": "from .sub import mod\nfrom .sub.mod import f\nfrom . import sub\n",
        "pkg/sub/mod.py": "from .. import a\nfrom ..a import g\n",
    }
    findings = check_imports(files, declared=set())
    assert [f.rule for f in findings] == ["imports/cycle"]  # a real one, nothing unresolved


def test_relative_imports_broken() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .missing import x\nfrom ..beyond import y\n",
        "top.py": "from . import z\n",
    }
    findings = check_imports(files)  # relative imports are checked even without deps
    assert rules(findings) == [("pkg/a.py", "imports/unresolved")] * 2 + [
        ("top.py", "imports/unresolved")
    ]
    missing, beyond, top = findings
    assert pos(missing) == (1, 6, 1, 14)  # ".missing"
    assert "pkg/missing" in missing.message
    assert pos(beyond) == (2, 6, 2, 14)
    assert "beyond the top-level package" in beyond.message
    assert pos(top) == (1, 6, 1, 7)


def test_relative_import_in_src_layout() -> None:
    files = {
        "src/pkg/__init__.py": "",
        "src/pkg/a.py": "from .b import x\nfrom .. import nope\n",
        "src/pkg/b.py": "",
    }
    findings = check_imports(files)
    assert [(f.line, f.rule) for f in findings] == [(2, "imports/unresolved")]


# --- unresolved: guarded imports -------------------------------------------------------


def test_try_except_import_error_and_type_checking_skipped() -> None:
    text = (
        "from typing import TYPE_CHECKING\n"
        "import typing\n"
        "try:\n    import ujson\nexcept ImportError:\n    import json\n"
        "try:\n    import orjson\nexcept (ValueError, ModuleNotFoundError):\n    pass\n"
        "try:\n    import simplejson\nexcept:\n    pass\n"
        "if TYPE_CHECKING:\n    import mypy_extensions\n"
        "if typing.TYPE_CHECKING:\n    from boto3 import Session\n"
        "try:\n    import notguarded\nexcept ValueError:\n    pass\n"
    )
    findings = check_imports({"a.py": text}, declared=set())
    assert [f.message.split("'")[1] for f in findings] == ["notguarded"]


# --- cycles ----------------------------------------------------------------------------


def test_three_module_cycle_reported_once() -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": '"""A."""\n\nfrom pkg import b\n',
        "pkg/b.py": "import pkg.c\n",
        "pkg/c.py": "from .a import thing\n",
    }
    findings = check_imports(files, declared=set())
    assert len(findings) == 1
    (cycle,) = findings
    assert cycle.rule == "imports/cycle"
    assert cycle.severity is Severity.WARNING
    assert cycle.message == "Import cycle: pkg.a → pkg.b → pkg.c → pkg.a."
    assert cycle.path == "pkg/a.py"
    assert pos(cycle) == (3, 17, 3, 18)  # the "b" of "from pkg import b"


def test_cycle_through_package_init() -> None:
    files = {
        "pkg/__init__.py": "from pkg.a import x\n",
        "pkg/a.py": "from pkg import helpers\n",  # not a module: the package itself
    }
    (cycle,) = check_imports(files)
    assert cycle.message == "Import cycle: pkg → pkg.a → pkg."
    assert (cycle.path, cycle.line, cycle.column) == ("pkg/__init__.py", 1, 6)


def test_function_level_and_type_checking_imports_make_no_cycle() -> None:
    files = {
        "a.py": "import b\n",
        "b.py": "def f():\n    import a\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nimport b\n",
        "d.py": "import a\nif __name__ == '__main__':\n    import d2\n",
        "d2.py": "import d\n",
    }
    assert check_imports(files, declared=set()) == []


def test_stub_files_make_no_cycle_but_are_modules() -> None:
    files = {"a.py": "import b\n", "b.py": "", "b.pyi": "import a\n", "c.py": "import b\n"}
    assert check_imports(files, declared=set()) == []


def test_two_separate_cycles() -> None:
    files = {
        "x.py": "import y\n",
        "y.py": "import x\n",
        "p.py": "import q\nclass K:\n    import r\n",
        "q.py": "",
        "r.py": "import p\n",
    }
    findings = check_imports(files)
    assert [f.message for f in findings] == [
        "Import cycle: p → r → p.",
        "Import cycle: x → y → x.",
    ]


# --- robustness ------------------------------------------------------------------------


def test_syntax_error_file_skipped() -> None:
    files = {"bad.py": "import missing\ndef (:\n", "good.py": "import os\n", "n.txt": "x"}
    assert check_imports(files, declared=set()) == []


def test_a_thousand_module_cycle_is_one_finding() -> None:
    files = {"pkg/__init__.py": ""}
    for i in range(1000):
        files[f"pkg/m{i}.py"] = (
            f"import os\nfrom pkg import m{(i + 1) % 1000}\nimport yaml\n"
            "def f():\n    return 1\n" * 5
        )
    findings = check_imports(files, declared={"yaml"})  # speed: benchmarks/engine_throughput.py
    assert [f.rule for f in findings] == ["imports/cycle"]
    assert findings[0].message.count("→") == 1000


def test_pre_parsed_trees_are_used() -> None:
    import ast

    files = {"a.py": "import os\n"}
    trees = {"a.py": ast.parse("import missing\n")}
    (finding,) = check_imports(files, declared=set(), trees=trees)
    assert "'missing'" in finding.message


# --- declared_import_names -------------------------------------------------------------


def test_no_declarations_is_none() -> None:
    assert declared_import_names({"a.py": "", "pyproject.toml": "[tool.ruff]\n"}) is None


def test_pyproject_all_tables() -> None:
    pyproject = """
[build-system]
requires = ["setuptools>=69"]
[project]
dependencies = ["PyYAML>=6", "PyJWT[crypto]>=2.8", "requests ; python_version>'3'"]
[project.optional-dependencies]
img = ["Pillow"]
[dependency-groups]
dev = ["pytest>=8", {include-group = "img"}]
[tool.poetry.dependencies]
python = "^3.11"
GitPython = "^3"
[tool.poetry.group.docs.dependencies]
"beautifulsoup4" = "*"
"""
    names = declared_import_names({"pyproject.toml": pyproject})
    assert names is not None
    for expected in ("yaml", "jwt", "requests", "PIL", "pytest", "git", "bs4", "setuptools"):
        assert expected in names
    assert "python" not in names


def test_requirements_with_includes() -> None:
    files = {
        "requirements.txt": "-r requirements/base.txt\nscikit-learn==1.5  # ml\n",
        "requirements/base.txt": (
            "# base\n--index-url https://x\npython-dateutil\n"
            "-e git+https://github.com/o/r.git#egg=my_lib\n"
            "opencv-python-headless\nrich @ https://example.com/rich.whl\n"
        ),
        "dev-reqs.in": "ignored\n",
    }
    names = declared_import_names(files)
    assert names is not None
    assert {"sklearn", "dateutil", "my_lib", "cv2", "rich"} <= names
    assert "ignored" not in names


def test_setup_cfg() -> None:
    cfg = (
        "[metadata]\nname = x\n[options]\ninstall_requires =\n"
        "    attrs>=23\n    psycopg2-binary\n    typing-extensions; python_version<'3.11'\n"
        "[options.extras_require]\npg = psycopg[binary]>=3\n"
    )
    names = declared_import_names({"setup.cfg": cfg})
    assert names is not None
    assert {"attr", "attrs", "psycopg2", "typing_extensions", "psycopg"} <= names


@pytest.mark.parametrize(
    ("distribution", "module"),
    [
        ("PyYAML", "yaml"),
        ("beautifulsoup4", "bs4"),
        ("Pillow", "PIL"),
        ("scikit-learn", "sklearn"),
        ("python-dateutil", "dateutil"),
        ("attrs", "attr"),
        ("PyJWT", "jwt"),
        ("opencv-python", "cv2"),
        ("protobuf", "google"),
        ("google-cloud-storage", "google"),
        ("typing-extensions", "typing_extensions"),
        ("msgpack-python", "msgpack"),
        ("python-dotenv", "dotenv"),
        ("pyzmq", "zmq"),
        ("psycopg2-binary", "psycopg2"),
        ("GitPython", "git"),
        ("pydantic-settings", "pydantic_settings"),
        ("zope.interface", "zope"),
        ("Flask_SQLAlchemy", "flask_sqlalchemy"),
    ],
)
def test_name_table(distribution: str, module: str) -> None:
    assert module in import_names_for(distribution)


def test_declared_names_feed_check_imports() -> None:
    files = {
        "pyproject.toml": '[project]\ndependencies = ["PyYAML", "pydantic-settings"]\n',
        "app/main.py": "import yaml\nfrom pydantic_settings import BaseSettings\nimport toml\n",
    }
    findings = check_imports(files, declared_import_names(files))
    assert [f.message.split("'")[1] for f in findings] == ["toml"]


# --- known_paths: checking some files against the whole repository ---------------------


def test_known_paths_resolve_imports_of_the_checked_files() -> None:
    files = {
        "app/main.py": (
            "from app import util\nimport lib.helpers\nfrom . import sibling\n"
            "from .sub.deep import thing\nimport nowhere\n"
        )
    }
    known = ["app/__init__.py", "app/util.py", "app/sibling.py", "lib/helpers.py"]
    known += ["app/sub/deep.py", "README.md", "app/main.py"]
    findings = check_imports(files, declared=set(), known_paths=known)
    assert [(f.path, f.line) for f in findings] == [("app/main.py", 5)]  # only `nowhere`
    # Without them, the checked file stands alone.
    alone = check_imports(files, declared=set())
    assert [f.line for f in alone] == [2, 4, 5]


def test_known_paths_only_report_on_the_checked_files() -> None:
    files = {"a.py": "import b\n", "b.py": "import a\nimport missing\n"}
    findings = check_imports({"a.py": files["a.py"]}, declared=set(), known_paths=files)
    assert findings == []  # b.py is known, not checked: its imports are not looked at
    findings = check_imports(files, declared=set(), known_paths=["c.py"])
    assert [(f.path, f.rule) for f in findings] == [
        ("b.py", "imports/unresolved"),
        ("a.py", "imports/cycle"),
    ]


def test_known_paths_that_are_not_python_are_not_modules() -> None:
    files = {"a.py": "import data\n"}
    assert check_imports(files, declared=set(), known_paths=["data.json"]) != []
    assert check_imports(files, declared=set(), known_paths=["data/x.txt"]) != []
    assert check_imports(files, declared=set(), known_paths=["data/x.pyi"]) == []


# --- per-file extraction and whole-tree resolution --------------------------------------


def test_extraction_then_resolution_is_check_imports() -> None:
    files = {
        "pkg/__init__.py": "from pkg.a import x\n",
        "pkg/a.py": 'x = "é"; from pkg import helpers, sub\nimport yaml, missing as m\n',
        "pkg/sub.py": "try:\n    import optional\nexcept ImportError:\n    pass\n",
    }
    records = {path: extract_imports(text) for path, text in files.items()}
    assert all(value is not None for value in records.values())
    resolved = resolve_imports({p: r or [] for p, r in records.items()}, declared={"yaml"})
    assert resolved == check_imports(files, declared={"yaml"})
    assert [f.rule for f in resolved] == ["imports/unresolved", "imports/cycle"]


def test_records_survive_json_and_malformed_ones_are_refused() -> None:
    import json

    text = "import a.b as c, d\nfrom ..x import (y,\n    z as w)\nfrom . import *\n"
    records = extract_imports(text)
    assert records is not None and len(records) == 3
    again = [record_from_json(json.loads(json.dumps(record_to_json(r)))) for r in records]
    assert again == records
    assert records[0].alias_spans == ((1, 8, 1, 11), (1, 18, 1, 19))
    assert records[1].module_span == (2, 6, 2, 9)
    good = record_to_json(records[0])
    for bad in (
        good[:-1],
        [*good[:6], good[6][:-1]],
        [*good[:6], ["1", 2, 3, 4, 5, 6, 7, 8]],
        [1, *good[1:]],
        [good[0], True, *good[2:]],
        [*good[:3], "a", *good[4:]],
        [*good[:3], [1], *good[4:]],
    ):
        with pytest.raises((TypeError, ValueError)):
            record_from_json(bad)


def test_a_file_that_does_not_parse_has_no_records() -> None:
    assert extract_imports("import x\ndef (:\n") is None
    assert extract_imports("x = 1\n") == []


def test_report_limits_findings_and_anchors_cycles_in_reported_files() -> None:
    files = {
        "a.py": "import b\nimport missing\n",
        "b.py": "import c\n",
        "c.py": "import a\nimport gone\n",
    }
    records = {path: extract_imports(text) or [] for path, text in files.items()}
    everything = resolve_imports(records, declared=set())
    assert [(f.path, f.rule) for f in everything] == [
        ("a.py", "imports/unresolved"),
        ("c.py", "imports/unresolved"),
        ("a.py", "imports/cycle"),
    ]
    only_c = resolve_imports(records, declared=set(), report={"c.py"})
    assert [(f.path, f.rule, f.line) for f in only_c] == [
        ("c.py", "imports/unresolved", 2),
        ("c.py", "imports/cycle", 1),
    ]
    assert only_c[1].message == everything[2].message  # the same cycle, shown in c.py
    assert resolve_imports(records, declared=set(), report=set()) == []
