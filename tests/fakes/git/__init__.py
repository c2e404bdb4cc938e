"""A real git smart-HTTP server for tests (see :mod:`fakes.git.server`)."""

from .repo import BareRepo, CommitInfo, FileChange, GitCommandError
from .server import GitPush, GitRequest, GitServer

__all__ = [
    "BareRepo",
    "CommitInfo",
    "FileChange",
    "GitCommandError",
    "GitPush",
    "GitRequest",
    "GitServer",
]
