"""Django 5.2's source, the real code several benchmarks run on: downloaded from the
package index as a wheel (pip download, no install) and unpacked into a folder."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

DJANGO = "django==5.2"


def fetch_django(folder: Path) -> Path:
    """Download and unpack the wheel into `folder`; returns the folder holding `django/`."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", DJANGO, "-d", str(folder)],
        check=True,
        timeout=300,
    )
    with zipfile.ZipFile(next(folder.glob("Django-*.whl"))) as archive:
        archive.extractall(folder / "src")
    return folder / "src"
