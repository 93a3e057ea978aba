"""The one kind of error a user can fix: every command prints it as one line and exits with status 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user gave (a file, a folder, an option): one line, exit status 2."""


class CliError(UserError):
    """A problem with the command line or its inputs."""
