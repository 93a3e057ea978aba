"""Placeholder for ``kreader search`` so the command line builds; replace freely."""

from __future__ import annotations

import argparse

from kreader.cli import CliError


def add_arguments(parser: argparse.ArgumentParser) -> None: ...


def run(args: argparse.Namespace) -> int:
    raise CliError("not implemented yet")
