"""``python -m services.redirects``: run the redirects demo alone."""

import sys

from services.redirects.app import main

sys.exit(main())
