"""``python -m bench`` (or ``python3 tasks.py bench``): see `bench.suite`."""

from bench.suite import main

raise SystemExit(main())
