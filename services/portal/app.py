"""The portal service: ``make_app(**settings)`` and ``main()``."""

from __future__ import annotations

import os
import platform
from typing import Any

from framework.web import Application

from services.common.app import make_service_app
from services.common.demos import DEMOS
from services.common.handlers import BaseHandler
from services.common.run import run

__all__ = ["make_app", "main"]

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


class IndexHandler(BaseHandler):
    """The landing page: one card per demo, linked only when the demo is there."""

    def get(self) -> None:
        self.render(
            "index.html",
            demos=DEMOS,
            python_version=platform.python_version(),
        )

    head = get


def make_app(**settings: Any) -> Application:
    """The portal's application (``prefix``, ``debug`` and other settings pass through)."""
    return make_service_app([(r"/", IndexHandler)], template_dir=TEMPLATES, **settings)


def main() -> int:
    """``python -m services.portal --port=8001``."""
    return run(make_app, default_port=8001)
