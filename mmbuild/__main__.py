"""``python -m mmbuild``."""

import sys

from mmbuild.cli import main

sys.exit(main())
