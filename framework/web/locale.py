"""``Locale`` for handlers and templates: the one implementation is ``framework.locale``.

Kept so that ``framework.web.Locale`` (and this module's old ``get_locale``)
go on working; ``RequestHandler.locale`` uses ``framework.locale.get``.
"""

from __future__ import annotations

from framework.locale import Locale as Locale
from framework.locale import get as get_locale

__all__ = ["Locale", "get_locale"]
