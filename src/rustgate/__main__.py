"""``python -m rustgate``: the CLI without relying on a console script being on PATH."""

import sys

from rustgate.cli.main import main

sys.exit(main())
