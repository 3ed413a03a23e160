"""``python -m services.forms``: run the forms demo alone."""

import sys

from services.forms.app import main

sys.exit(main())
