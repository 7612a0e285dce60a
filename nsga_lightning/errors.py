"""Errors that mean bad input or a bad environment, not a bug: the CLI prints them as one line (exit code 2).

This module imports nothing, so the command-line entry point can recognise these errors without loading the
search, torch or Lightning.
"""

from __future__ import annotations


class UserError(Exception):
    """Base of the project's own errors that the CLI reports as one line instead of a traceback."""


class ArchiveError(UserError, ValueError):
    """A run directory's archive cannot be read: damaged, truncated, or an SQLite file of something else."""


class ArchiveWriteError(UserError, OSError):
    """The archive could not be written (disk full, read-only file system); what finished is kept."""


class RunDirectoryError(UserError, PermissionError):
    """The run directory cannot be created or written (read-only folder, permissions)."""
