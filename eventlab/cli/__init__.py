"""`eventlab ...`: the command line, a thin layer over the package's functions.

One parser (`main.build_parser`). Each command group is a module here with a
`register(commands)` function that adds its subcommands; `main.GROUPS` lists them. Group modules
import only light modules at the top and the rest inside each command, so `eventlab --help`
loads no DuckDB, pyarrow, orjson or kafka-python. Nothing outside this package imports it.
"""

from eventlab.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
