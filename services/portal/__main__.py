"""``python -m services.portal``: run the portal alone."""

import sys

from services.portal.app import main

sys.exit(main())
