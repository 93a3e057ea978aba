"""Allow ``python -m kreader``."""

from kreader.cli import main

raise SystemExit(main())
