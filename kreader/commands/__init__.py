"""Subcommands of the ``kreader`` command line.

Each module here has ``add_arguments(parser)`` and ``run(ctx) -> int`` (the exit status); `kreader.cli`
wires them up and gives every subcommand ``--content``, ``--data-dir`` and ``--config``.
"""
