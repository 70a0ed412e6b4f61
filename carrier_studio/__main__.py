"""`python -m carrier_studio` runs the same entry point as the `carrier-studio` script."""

from carrier_studio.cli import main

raise SystemExit(main())
