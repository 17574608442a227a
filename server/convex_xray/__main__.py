"""Allow `python -m convex_xray`."""

from convex_xray.cli.main import main

raise SystemExit(main())
