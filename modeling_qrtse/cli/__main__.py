"""`python -m modeling_qrtse.cli` (what `accelerate launch -m` runs): the `qrtse` command."""

import sys

from modeling_qrtse.cli.main import main

sys.exit(main())
