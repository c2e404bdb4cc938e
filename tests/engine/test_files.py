"""Reading files for the engine: text decoded once, everything odd skipped with a reason."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from app.engine.files import Skipped, SourceFile, collect, decode, read


def test_utf8_text_with_a_bom_and_crlf_is_decoded_and_remembered() -> None:
    result = decode("a.py", codecs.BOM_UTF8 + b"x = 1\r\ny = 2\r\n")
    assert result == SourceFile("a.py", "x = 1\r\ny = 2\r\n", bom=True, crlf=True)


def test_binary_huge_and_undecodable_files_are_skipped_with_a_reason() -> None:
    assert decode("img.png", b"\x89PNG\r\n\x1a\n\0\0\0") == Skipped("img.png", "binary file")
    huge = decode("big.txt", b"x" * 101, max_bytes=100)
    assert isinstance(huge, Skipped) and huge.reason == "larger than 100 bytes (101 bytes)"
    latin = decode("old.py", "café = 1\n".encode("latin-1"))
    assert isinstance(latin, Skipped) and latin.reason.startswith("not UTF-8 text")


def test_empty_files_are_text() -> None:
    assert decode("empty.py", b"") == SourceFile("empty.py", "")


def test_symlinks_out_of_the_tree_are_not_followed(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside.txt"
    tree.mkdir()
    outside.write_text("secret")
    os.symlink(outside, tree / "link.txt")
    (tree / "ok.py").write_text("x = 1\n")
    results = {r.path: r for r in (read(root, f) for root, f in collect([tree], base=tree))}
    assert results["link.txt"] == Skipped("link.txt", "symlink to a file outside the tree")
    assert results["ok.py"] == SourceFile("ok.py", "x = 1\n")


def test_collect_skips_vcs_and_virtualenv_folders(tmp_path: Path) -> None:
    for name in (".git/config", ".venv/lib/x.py", "node_modules/a.js", "pkg/mod.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = collect([tmp_path], base=tmp_path)
    assert [f.relative_to(tmp_path).as_posix() for _, f in found] == ["pkg/mod.py"]


def test_paths_are_shown_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c.py").write_text("x = 1\n")
    [(root, file)] = collect([tmp_path / "a"], base=tmp_path)
    assert read(root, file).path == "a/b/c.py"
    [(root, file)] = collect([tmp_path / "a" / "b" / "c.py"], base=tmp_path)
    assert read(root, file).path == "a/b/c.py"
