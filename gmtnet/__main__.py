"""``python -m gmtnet``: the command-line interface (see :mod:`gmtnet.cli`)."""

from gmtnet.cli import main

raise SystemExit(main())
