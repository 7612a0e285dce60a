"""``python -m nsga_lightning.cli``: the same as the ``nsga-lightning`` command."""

import sys

from nsga_lightning.cli.main import main

if __name__ == "__main__":  # worker processes of a parallel search import this module again: run nothing then
    sys.exit(main())
