"""`python -m eventlab` runs the CLI."""

import sys

from eventlab.cli import main

sys.exit(main())
