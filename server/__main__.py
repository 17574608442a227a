"""Allow `python -m convex_xray`."""

from convex_xray.cli import main

raise SystemExit(main())
