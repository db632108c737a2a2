"""Allow ``python -m posekit``."""

import sys

from posekit.cli.main import main

sys.exit(main())
