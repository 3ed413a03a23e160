"""A minimal ``Locale``: the user's language code and an identity ``translate``.

Enough for ``self.locale`` and templates' ``_()``; translations can be
loaded into ``Locale.translations`` by an application that needs them.
"""

from __future__ import annotations

__all__ = ["Locale", "get_locale"]

_DEFAULT = "en_US"


class Locale:
    """A language such as ``en_US`` or ``zh_CN`` (a small subset of Tornado's ``Locale``)."""

    translations: dict[str, dict[str, str]] = {}

    def __init__(self, code: str) -> None:
        self.code = code
        self.name = code
        self.rtl = code.split("_")[0] in ("ar", "fa", "he")

    def translate(self, message: str, plural_message: str | None = None, count: int | None = None) -> str:
        """Translate ``message`` (or the plural form when ``count != 1``)."""
        chosen = plural_message if plural_message is not None and count is not None and count != 1 else message
        return self.translations.get(self.code, {}).get(chosen, chosen)

    def __repr__(self) -> str:
        return f"Locale({self.code!r})"


def get_locale(*codes: str) -> Locale:
    """The first code given, normalised (``en-us`` -> ``en_US``); the last is the default."""
    for code in codes:
        if not code or code == "*":
            continue
        parts = code.replace("-", "_").split("_")
        if len(parts) > 2 or not parts[0].isalpha():
            continue
        normal = parts[0].lower() + ("_" + parts[1].upper() if len(parts) == 2 else "")
        return Locale(normal)
    return Locale(_DEFAULT)
