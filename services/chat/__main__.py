"""``python -m services.chat``: run the chat demo alone."""

import sys

from services.chat.app import main

sys.exit(main())
