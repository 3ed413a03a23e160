"""``python -m services.uploads``: run the uploads demo alone."""

import sys

from services.uploads.app import main

sys.exit(main())
