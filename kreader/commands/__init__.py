"""Subcommands of the ``kreader`` command line.

Each module here has ``add_arguments(parser)`` and ``run(args) -> int`` (the exit status); `kreader.cli`
wires them up and gives every subcommand ``--content``, ``--data-dir`` and ``--config``.
"""
