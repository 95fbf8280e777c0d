"""Start the app: `python -m eventlab.ui.serve [streamlit options]` (what `make run` uses).

app.py declares its pages with st.navigation. Streamlit also sees the top-level pages/ folder
and, until st.navigation has run once in the process, routes a first request for a deep link
through its legacy pages-folder router, which runs the page file without app.py's frame. We
turn that router off before the server starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli as streamlit_cli

APP = Path(__file__).resolve().parent.parent.parent / "app.py"


def main(argv: list[str] | None = None) -> int:
    """Run `streamlit run app.py` with the given options, legacy router off."""
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    return streamlit_cli.main()


if __name__ == "__main__":
    sys.exit(main())
