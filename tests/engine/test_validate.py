"""validate / check_file: the pure engine, per file and across files."""

from __future__ import annotations

import pickle

from app.engine.files import Skipped, SourceFile
from app.engine.validate import EngineConfig, check_batch, check_file, validate

CONFIG = EngineConfig()


def test_check_file_gives_findings_and_imports() -> None:
    check = check_file(SourceFile("a.py", "import os\nfrom . import b\n"), CONFIG)
    assert check.findings == []
    assert check.imports is not None
    assert [(r.is_from, r.module, r.names) for r in check.imports] == [
        (False, None, ("os",)),
        (True, None, ("b",)),
    ]


def test_a_file_that_does_not_parse_has_a_finding_and_no_imports() -> None:
    check = check_file(SourceFile("a.py", "import os\ndef f(:\n"), CONFIG)
    assert [f.rule for f in check.findings or []] == ["syntax"]
    assert check.imports is None


def test_other_files_have_no_imports() -> None:
    check = check_file(SourceFile("conf.json", '{"a": 1,}'), CONFIG)
    assert [f.rule for f in check.findings or []] == ["config/json"]
    assert check.imports is None


def test_imports_only_runs_no_check() -> None:
    only = check_file(
        SourceFile("a.py", "import os\nx = 'AKIA' + 'x'\n"), CONFIG, imports_only=True
    )
    assert only.findings is None and only.imports is not None and len(only.imports) == 1
    assert check_file(SourceFile("a.py", "def (:\n"), CONFIG, imports_only=True).imports is None
    assert check_file(SourceFile("a.txt", "x"), CONFIG, imports_only=True).imports is None


def test_batches_cross_process_boundaries() -> None:
    batch = [(SourceFile("a.py", "import os\n"), False), (SourceFile("b.py", "import a\n"), True)]
    checks = check_batch(batch, CONFIG)
    assert pickle.loads(pickle.dumps(checks)) == checks
    assert checks[0].findings == [] and checks[1].findings is None


def test_validate_checks_each_file_then_imports_across_them() -> None:
    items: list[SourceFile | Skipped] = [
        SourceFile("pkg/__init__.py", ""),
        SourceFile("pkg/a.py", "from pkg import b\n"),
        SourceFile("pkg/b.py", "import pkg.a\nimport requests\n"),
        SourceFile("pkg/broken.py", "import pkg.a\ndef (:\n"),
        SourceFile("pkg/user.py", "import pkg.broken\n"),
        SourceFile("requirements.txt", "pyyaml\n"),
        Skipped("logo.png", "binary file"),
    ]
    reports = validate(items, CONFIG)
    found = {r.path: [f.rule for f in r.findings] for r in reports}
    assert found == {
        "pkg/__init__.py": [],
        "pkg/a.py": ["imports/cycle"],
        "pkg/b.py": ["imports/unresolved"],  # requests: not declared
        "pkg/broken.py": ["syntax"],
        "pkg/user.py": [],  # absolute imports resolve by their top-level package
        "requirements.txt": [],
        "logo.png": [],
    }
    assert reports[-1].skipped == "binary file"
