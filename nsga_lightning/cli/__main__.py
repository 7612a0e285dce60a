"""``python -m nsga_lightning.cli``: the same as the ``nsga-lightning`` command."""

import sys

from nsga_lightning.cli.main import main

sys.exit(main())
