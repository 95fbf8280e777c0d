"""`python -m eventlab` runs the CLI."""

import sys

from eventlab.cli.main import main

sys.exit(main())
