"""`python -m bpdebug` runs the same command line as the `bpdebug` script."""

from bpdebug.cli import main

raise SystemExit(main())
