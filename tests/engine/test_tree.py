"""validate_tree on real working trees: the result cache, --since, worker processes."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import app.engine.lint as lint_module
import app.engine.syntax as syntax_module
import app.engine.tree as tree_module
import app.engine.validate as validate_module
from app.engine.cache import CACHE_DIR_NAME
from app.engine.changes import ChangesUnavailable
from app.engine.findings import FileReport
from app.engine.tree import TreeResult, cache_key, validate_tree
from app.engine.validate import EngineConfig

CONFIG = EngineConfig()


class Counter:
    """Counts the per-file checks, the parses and ruff's runs (and the files it gets)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checked: list[str] = []
        self.parsed: list[str] = []
        self.linted: list[list[str]] = []
        check_source = validate_module.check_source
        parse_python = syntax_module.parse_python
        lint_run = lint_module.LintRun

        def counting_check(source: Any, *args: Any, **kwargs: Any) -> Any:
            self.checked.append(source.path)
            return check_source(source, *args, **kwargs)

        def counting_parse(path: str, text: str) -> Any:
            self.parsed.append(path)
            return parse_python(path, text)

        class CountingLintRun(lint_run):  # type: ignore[misc, valid-type]
            def __init__(run, root: Path, paths: list[str]) -> None:
                self.linted.append(sorted(paths))
                super().__init__(root, paths)

        monkeypatch.setattr(validate_module, "check_source", counting_check)
        monkeypatch.setattr(syntax_module, "parse_python", counting_parse)
        monkeypatch.setattr(lint_module, "LintRun", CountingLintRun)

    def reset(self) -> None:
        self.checked.clear()
        self.parsed.clear()
        self.linted.clear()


@pytest.fixture
def counter(monkeypatch: pytest.MonkeyPatch) -> Counter:
    return Counter(monkeypatch)


def make_tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "a.py").write_text("import os\nfrom pkg import b\n")
    (root / "pkg" / "b.py").write_text("def f(x):\n    return x\n")
    (root / "settings.json").write_text('{"a": 1}\n')
    (root / "notes.txt").write_text("nothing to see\n")
    return root


def summary(result: TreeResult) -> list[tuple[str, list[tuple[str, int, str]], str | None]]:
    return [
        (r.path, [(f.rule, f.line, f.message) for f in r.findings], r.skipped)
        for r in result.reports
    ]


def run(root: Path, **kwargs: Any) -> TreeResult:
    kwargs.setdefault("cache_dir", root.parent / "cache")
    return validate_tree([root], kwargs.pop("config", CONFIG), **kwargs)


# --- the cache -------------------------------------------------------------------------


def test_a_second_run_checks_parses_and_lints_nothing_again(
    tmp_path: Path, counter: Counter
) -> None:
    root = make_tree(tmp_path / "repo")
    first = run(root)
    assert sorted(counter.checked) == [
        "notes.txt",
        "pkg/__init__.py",
        "pkg/a.py",
        "pkg/b.py",
        "settings.json",
    ]
    assert counter.linted == [["pkg/__init__.py", "pkg/a.py", "pkg/b.py"]]
    assert first.stats.checked == 5 and first.stats.cached == 0

    counter.reset()
    second = run(root)
    assert counter.checked == [] and counter.parsed == [] and counter.linted == []
    assert second.stats.checked == 0 and second.stats.cached == 5 and second.stats.linted == 0
    assert summary(second) == summary(first)
    assert any(f.rule == "ruff/F401" for r in second.reports for f in r.findings)


def test_a_changed_file_is_checked_again_and_only_it(tmp_path: Path, counter: Counter) -> None:
    root = make_tree(tmp_path / "repo")
    run(root)
    counter.reset()
    (root / "pkg" / "b.py").write_text("def f(x)\n    return x\n")  # a syntax error now
    result = run(root)
    assert counter.checked == ["pkg/b.py"]
    assert counter.linted == [["pkg/b.py"]]
    report = next(r for r in result.reports if r.path == "pkg/b.py")
    assert [f.rule for f in report.findings] == ["syntax"]

    counter.reset()
    assert run(root).stats.checked == 0 and counter.checked == [] and counter.linted == []


def test_imports_are_checked_across_files_from_the_cache(tmp_path: Path, counter: Counter) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text("import b\n")
    (root / "b.py").write_text("X = 1\n")
    (root / "c.py").write_text("Y = 2\n")
    assert run(root, config=EngineConfig(lint=False)).reports[0].findings == []
    (root / "b.py").write_text("import a\n")  # a cycle, through an unchanged file
    counter.reset()
    result = run(root, config=EngineConfig(lint=False))
    assert counter.parsed == ["b.py"]
    assert [(r.path, [f.rule for f in r.findings]) for r in result.reports] == [
        ("a.py", ["imports/cycle"]),
        ("b.py", []),
        ("c.py", []),
    ]
    (root / "b.py").unlink()  # a.py's import no longer resolves (dependencies declared)
    (root / "requirements.txt").write_text("requests\n")
    counter.reset()
    result = run(root, config=EngineConfig(lint=False))
    assert counter.parsed == []
    a_report = next(r for r in result.reports if r.path == "a.py")
    assert [f.rule for f in a_report.findings] == ["imports/unresolved"]


def test_an_engine_config_change_checks_everything_again(tmp_path: Path, counter: Counter) -> None:
    root = make_tree(tmp_path / "repo")
    run(root)
    counter.reset()
    run(root, config=EngineConfig(secrets=False))
    assert len(counter.checked) == 5


def test_a_new_engine_version_checks_everything_again(
    tmp_path: Path, counter: Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "repo")
    run(root)
    counter.reset()
    monkeypatch.setattr(tree_module, "ENGINE_VERSION", "0.0.0-test")
    run(root)
    assert len(counter.checked) == 5 and len(counter.linted) == 1


def test_the_cache_key_follows_tools_and_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "repo")
    keys = {cache_key(root, CONFIG)}
    keys.add(cache_key(root, EngineConfig(max_bytes=10)))
    keys.add(cache_key(root, EngineConfig(lint=False)))
    (root / "ruff.toml").write_text('[lint]\nignore = ["F401"]\n')
    keys.add(cache_key(root, CONFIG))
    other_ruff = tmp_path / "ruff"
    other_ruff.write_bytes(b"another ruff version")
    monkeypatch.setattr(tree_module, "_ruff_binary", lambda: str(other_ruff))
    keys.add(cache_key(root, CONFIG))
    monkeypatch.setattr(tree_module, "ENGINE_VERSION", "0.0.0-test")
    keys.add(cache_key(root, CONFIG))
    assert len(keys) == 6
    assert cache_key(root, CONFIG) == cache_key(root, CONFIG)


def test_a_nested_ruff_config_change_lints_its_files_again(
    tmp_path: Path, counter: Counter
) -> None:
    root = make_tree(tmp_path / "repo")
    (root / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    run(root)
    (root / "pkg" / "ruff.toml").write_text('[lint]\nignore = ["F401"]\n')
    counter.reset()
    result = run(root)
    assert counter.linted == [["pkg/__init__.py", "pkg/a.py", "pkg/b.py"]]
    assert not any(f.rule == "ruff/F401" for r in result.reports for f in r.findings)


def test_the_default_cache_lives_under_the_root_and_git_ignores_it(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "repo")
    validate_tree([root], CONFIG)
    cache = root / CACHE_DIR_NAME
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    (written,) = cache.glob("*.json")
    assert json.loads(written.read_text())["files"]
    # The cache is not itself checked on the next run.
    assert CACHE_DIR_NAME not in str([r.path for r in validate_tree([root], CONFIG).reports])


def test_without_the_cache_nothing_is_kept(tmp_path: Path, counter: Counter) -> None:
    root = make_tree(tmp_path / "repo")
    validate_tree([root], CONFIG, cache=False)
    validate_tree([root], CONFIG, cache=False)
    assert not (root / CACHE_DIR_NAME).exists()
    assert len(counter.checked) == 10


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"\x00garbage{",
        lambda data: data[: len(data) // 2],
        lambda data: b'{"format": 1, "key": "another", "files": {}}',
        lambda data: json.dumps(
            {**json.loads(data), "files": {"pkg/a.py": [1, 2], "pkg/b.py": {"b": 3}}}
        ).encode(),
    ],
    ids=["garbage", "truncated", "other-key", "bad-entries"],
)
def test_a_corrupt_cache_is_ignored_and_replaced(
    tmp_path: Path, counter: Counter, damage: Callable[[bytes], bytes]
) -> None:
    root = make_tree(tmp_path / "repo")
    expected = summary(run(root))
    (cache_file,) = (tmp_path / "cache").glob("*.json")
    cache_file.write_bytes(damage(cache_file.read_bytes()))
    counter.reset()
    assert summary(run(root)) == expected
    assert counter.checked  # checked again
    counter.reset()
    assert summary(run(root)) == expected
    assert counter.checked == []  # and cached again


def test_malformed_imports_found_late_mean_a_run_without_the_cache(
    tmp_path: Path, counter: Counter
) -> None:
    root = make_tree(tmp_path / "repo")
    expected = summary(run(root))
    (cache_file,) = (tmp_path / "cache").glob("*.json")
    data = json.loads(cache_file.read_text())
    data["files"]["pkg/a.py"]["i"] = [["not", "a", "record"]]
    data["meta"] = {}
    cache_file.write_text(json.dumps(data))
    counter.reset()
    assert summary(run(root)) == expected
    assert len(counter.checked) == 5


def test_an_unwritable_cache_is_a_warning(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "repo")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    result = validate_tree([root], CONFIG, cache_dir=blocker)
    assert [w for w in result.warnings if w.startswith("cache not written")]
    assert len(result.reports) == 5


def test_a_file_known_by_its_stat_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "repo")
    monkeypatch.setattr(tree_module, "RACY_NANOSECONDS", -(10**12))  # trust fresh files
    run(root)
    reads: list[str] = []
    load_path = tree_module.load_path

    def counting_load(root: Path, file: str, *args: Any) -> Any:
        reads.append(file)
        return load_path(root, file, *args)

    monkeypatch.setattr(tree_module, "load_path", counting_load)
    run(root)
    assert reads == [str(root / "notes.txt")]  # a dependency declaration: always read
    # Same size, same modification time, other content: the change time tells.
    target = root / "pkg" / "b.py"
    before = target.stat()
    target.write_text("def g(x):\n    return x\n")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    reads.clear()
    result = run(root)
    assert str(target) in reads
    assert result.stats.checked == 1


def test_recently_changed_files_are_always_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "repo")
    run(root)  # the files were written just now: their stat is not trusted
    reads: list[str] = []
    load_path = tree_module.load_path

    def recording_load_path(*args: Any) -> Any:
        reads.append(args[1])
        return load_path(*args)

    monkeypatch.setattr(tree_module, "load_path", recording_load_path)
    assert run(root).stats.checked == 0
    assert len(reads) == 5


# --- worker processes and the progress bar ---------------------------------------------


def test_worker_processes_give_the_same_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    for i in range(30):
        (root / f"m{i}.py").write_text(f"import m{(i + 1) % 30}\n" if i % 3 else "x = (\n")
    (root / "conf.yml").write_text("a: [1\n")
    serial = validate_tree([root], CONFIG, cache=False, jobs=1)
    monkeypatch.setattr(tree_module, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(tree_module, "POOL_MIN_BYTES", 0)
    pooled = validate_tree([root], CONFIG, cache=False, jobs=2)
    assert pooled.stats.workers == 2 and serial.stats.workers == 0
    assert summary(pooled) == summary(serial)


def test_worker_processes_without_fork_get_the_texts_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    root = tmp_path / "repo"
    root.mkdir()
    for i in range(4):
        (root / f"m{i}.py").write_text("import os\n" if i % 2 else "def (:\n")
    serial = validate_tree([root], CONFIG, cache=False, jobs=1)
    spawn = multiprocessing.get_context("spawn")
    monkeypatch.setattr(multiprocessing, "get_context", lambda *args: spawn)
    monkeypatch.setattr(tree_module, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(tree_module, "POOL_MIN_BYTES", 0)
    pooled = validate_tree([root], CONFIG, cache=False, jobs=2)
    assert pooled.stats.workers == 2
    assert summary(pooled) == summary(serial)


def test_the_progress_bar_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_tree(tmp_path / "repo")
    validate_tree([root], CONFIG, cache=False, progress=False)
    assert capsys.readouterr().err == ""
    assert type(tree_module._progress_bar(3, False)).__name__ == "_NoBar"
    bar = tree_module._progress_bar(3, True)
    assert type(bar).__name__ == "tqdm"
    bar.close()


# --- since and only --------------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def make_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "core.py").write_text("X = 1\n")
    (root / "pkg" / "user.py").write_text("from pkg import core\n")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = []\n')
    (root / ".gitignore").write_text("ignored.py\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    return root


def paths(reports: list[FileReport]) -> list[str]:
    return [r.path for r in reports]


def test_since_reports_changed_and_untracked_files_resolving_against_the_tree(
    tmp_path: Path,
) -> None:
    root = make_repo(tmp_path / "repo")
    (root / "pkg" / "user.py").write_text("from pkg import core\nimport requests\n")
    (root / "pkg" / "core.py").write_text("from pkg import user\n")  # a cycle now
    git(root, "add", "pkg/core.py")  # staged or not: changed since HEAD
    (root / "pkg" / "new.py").write_text("from pkg.core import X\nfrom .missing import y\n")
    (root / "ignored.py").write_text("import nothing\n")
    result = validate_tree([root], EngineConfig(lint=False), since="HEAD", cache=False)
    assert paths(result.reports) == ["pkg/core.py", "pkg/new.py", "pkg/user.py"]
    found = {(r.path, f.rule, f.line) for r in result.reports for f in r.findings}
    assert found == {
        ("pkg/core.py", "imports/cycle", 1),
        ("pkg/new.py", "imports/unresolved", 2),  # from .missing import y
        ("pkg/user.py", "imports/unresolved", 2),  # requests: not declared
    }


def test_since_finds_cycles_through_unchanged_files(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    (root / "pkg" / "core.py").write_text("import pkg.user\n")
    result = validate_tree([root], EngineConfig(lint=False), since="HEAD")
    assert paths(result.reports) == ["pkg/core.py"]
    (cycle,) = result.reports[0].findings
    assert cycle.rule == "imports/cycle" and cycle.path == "pkg/core.py"
    assert cycle.message == "Import cycle: pkg.core → pkg.user → pkg.core."
    # Nothing changed since the working tree's own state: nothing to report.
    git(root, "commit", "-q", "-am", "two")
    assert validate_tree([root], EngineConfig(lint=False), since="HEAD").reports == []


def test_since_on_a_subdirectory_and_an_older_revision(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    (root / "pkg" / "core.py").write_text("Y = 2\n")
    git(root, "commit", "-q", "-am", "two")
    (root / "top.py").write_text("print(1)\n")
    result = validate_tree([root / "pkg"], EngineConfig(lint=False), since="HEAD~1")
    assert paths(result.reports) == ["core.py"]


def test_since_needs_a_repository_and_a_known_revision(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    with pytest.raises(ChangesUnavailable, match="unknown revision 'nope'"):
        validate_tree([root], CONFIG, since="nope")
    with pytest.raises(ChangesUnavailable, match="unknown revision"):
        validate_tree([root], CONFIG, since="--output=/tmp/x")
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    (elsewhere / "a.py").write_text("")
    with pytest.raises(ChangesUnavailable, match="not in one"):
        validate_tree([elsewhere], CONFIG, since="HEAD")


def test_only_reports_the_given_files(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    result = validate_tree(
        [root], EngineConfig(lint=False), only=[root / "pkg" / "user.py"], cache=False
    )
    assert paths(result.reports) == ["pkg/user.py"]
    assert result.reports[0].findings == []  # pkg.core resolves against the whole tree


def test_fix_tree_and_validate_tree_keep_their_positional_calls(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "repo")
    assert len(tree_module.validate_tree([root], CONFIG).reports) == 5
    before = (root / "pkg" / "a.py").read_text()
    planned = tree_module.fix_tree([root], False)
    assert planned.diff.startswith("--- a/pkg/a.py\n+++ b/pkg/a.py\n")  # as `git apply` takes it
    assert "Would fix 2 errors." in planned.notes and "Would fix" not in planned.diff
    assert (root / "pkg" / "a.py").read_text() == before
