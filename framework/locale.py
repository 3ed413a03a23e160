"""Translations and locale-aware formatting: Tornado's ``tornado.locale``.

Strategy: translations are loaded once, at start-up, from a directory of CSV
files (``load_translations``) or gettext catalogues
(``load_gettext_translations``); the module then knows its supported locales,
and ``get(*codes)`` picks the closest one for a request (``RequestHandler.
locale`` calls it with the browser's ``Accept-Language`` codes). ``Locale``
objects are cached per code and never touch the file system afterwards: the
request path reads only memory.

The loaded state is one ``_Catalog`` value replaced as a whole by each load,
so a reader never sees a half-loaded catalogue and tests can swap it.

Differences from Tornado, each deliberate:

- Until translations are loaded (or ``set_default_locale`` is called), every
  well-formed code is "supported": ``get("zh-CN")`` is a ``zh_CN`` locale
  with identity translations, so an application without translations still
  learns the browser's language (Tornado answers ``en_US``). Once anything is
  loaded, Tornado's rule applies exactly: only loaded locales and the default.
- ``Locale(code)`` may be built directly and translates nothing (identity);
  Tornado's base class raises ``NotImplementedError`` from ``translate``.
- ``Locale.get`` accepts any code (a locale without translations); Tornado
  asserts the code is supported.
- ``load_translations`` detects UTF-16 per file; Tornado keeps the first
  file's guess for the rest of the directory.
- ``LOCALE_NAMES`` covers common languages, not Tornado's full table; other
  codes are named "Unknown", as Tornado names codes it does not know.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import functools
import gettext
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "CONTEXT_SEPARATOR",
    "LOCALE_NAMES",
    "CSVLocale",
    "GettextLocale",
    "Locale",
    "get",
    "get_supported_locales",
    "load_gettext_translations",
    "load_translations",
    "set_default_locale",
]

gen_log = logging.getLogger("framework.general")

CONTEXT_SEPARATOR = "\x04"
"""Joins a gettext context and its message (``msgctxt``), as GNU gettext does."""

_PLURAL_KINDS = ("plural", "singular", "unknown")
_ZH_HALF_DAY = ("\u4e0a\u5348", "\u4e0b\u5348")  # morning, afternoon
# A CSV file is named for its locale: "es" or "es_GT" (Tornado's rule).
_CSV_LOCALE_NAME = re.compile(r"[a-z]+(_[A-Z]+)?")

# Code -> (English name, native name). Facts, not taken from Tornado's table.
LOCALE_NAMES: dict[str, dict[str, str]] = {
    code: {"name_en": english, "name": native}
    for code, english, native in [
        ("ar_AR", "Arabic", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629"),
        ("bg_BG", "Bulgarian", "\u0411\u044a\u043b\u0433\u0430\u0440\u0441\u043a\u0438"),
        ("ca_ES", "Catalan", "Catal\u00e0"),
        ("cs_CZ", "Czech", "\u010ce\u0161tina"),
        ("da_DK", "Danish", "Dansk"),
        ("de_DE", "German", "Deutsch"),
        ("el_GR", "Greek", "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac"),
        ("en_GB", "English (UK)", "English (UK)"),
        ("en_US", "English (US)", "English (US)"),
        ("es_ES", "Spanish (Spain)", "Espa\u00f1ol (Espa\u00f1a)"),
        ("es_LA", "Spanish", "Espa\u00f1ol"),
        ("fa_IR", "Persian", "\u0641\u0627\u0631\u0633\u06cc"),
        ("fi_FI", "Finnish", "Suomi"),
        ("fr_CA", "French (Canada)", "Fran\u00e7ais (Canada)"),
        ("fr_FR", "French", "Fran\u00e7ais"),
        ("he_IL", "Hebrew", "\u05e2\u05d1\u05e8\u05d9\u05ea"),
        ("hi_IN", "Hindi", "\u0939\u093f\u0928\u094d\u0926\u0940"),
        ("hu_HU", "Hungarian", "Magyar"),
        ("id_ID", "Indonesian", "Bahasa Indonesia"),
        ("it_IT", "Italian", "Italiano"),
        ("ja_JP", "Japanese", "\u65e5\u672c\u8a9e"),
        ("ko_KR", "Korean", "\ud55c\uad6d\uc5b4"),
        ("nb_NO", "Norwegian (bokmal)", "Norsk (bokm\u00e5l)"),
        ("nl_NL", "Dutch", "Nederlands"),
        ("pl_PL", "Polish", "Polski"),
        ("pt_BR", "Portuguese (Brazil)", "Portugu\u00eas (Brasil)"),
        ("pt_PT", "Portuguese (Portugal)", "Portugu\u00eas (Portugal)"),
        ("ro_RO", "Romanian", "Rom\u00e2n\u0103"),
        ("ru_RU", "Russian", "\u0420\u0443\u0441\u0441\u043a\u0438\u0439"),
        ("sv_SE", "Swedish", "Svenska"),
        ("th_TH", "Thai", "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22"),
        ("tr_TR", "Turkish", "T\u00fcrk\u00e7e"),
        ("uk_UA", "Ukrainian", "\u0423\u043a\u0440\u0430\u0457\u043d\u0441\u044c\u043a\u0430"),
        ("vi_VN", "Vietnamese", "Ti\u1ebfng Vi\u1ec7t"),
        ("zh_CN", "Chinese (Simplified)", "\u4e2d\u6587(\u7b80\u4f53)"),
        ("zh_TW", "Chinese (Traditional)", "\u4e2d\u6587(\u7e41\u9ad4)"),
    ]
}


@dataclass(frozen=True)
class _Catalog:
    """Everything loaded: one value, replaced whole by each load (never mutated)."""

    default: str = "en_US"
    # CSV: code -> {"plural"|"singular"|"unknown": {english: translation}};
    # gettext: code -> gettext.NullTranslations.
    translations: dict[str, Any] = field(default_factory=dict)
    use_gettext: bool = False
    # False until something is loaded or a default is chosen: see the module docstring.
    configured: bool = False

    @functools.cached_property
    def supported(self) -> frozenset[str]:
        """The loaded codes and the default: computed once per catalog (a page asks on every render)."""
        return frozenset([*self.translations, self.default])


_catalog = _Catalog()


def _install(catalog: _Catalog) -> None:
    global _catalog
    _catalog = catalog
    Locale._cache.clear()
    gen_log.debug("supported locales: %s", sorted(catalog.supported))


def get(*locale_codes: str) -> Locale:
    """The closest supported locale to the given codes, most preferred first (Tornado's ``locale.get``).

    ``get("fr_CA", "en")`` gives ``fr_CA`` if it is loaded, else ``fr``, else
    the next code; failing all, the default locale.
    """
    return Locale.get_closest(*locale_codes)


def set_default_locale(code: str) -> None:
    """Choose the locale used when no requested one is supported (``en_US`` at first)."""
    _install(_Catalog(code, _catalog.translations, _catalog.use_gettext, True))


def get_supported_locales() -> frozenset[str]:
    """The codes of the loaded locales, and the default one."""
    return _catalog.supported


def load_translations(directory: str, encoding: str | None = None) -> None:
    """Load every ``<code>.csv`` in ``directory`` (Tornado's CSV translation format).

    Each row is ``english,translation[,plural]``, the third column
    ``plural``, ``singular`` or ``unknown`` (the default), telling which
    ``translate`` call the row answers. Files named like no locale (``es``,
    ``es_GT``) and rows with an unknown third column are logged and skipped.

    Args:
        directory: holds the CSV files; anything else in it is ignored.
        encoding: of every file; by default UTF-16 when the file starts with
            its byte-order mark, else UTF-8 (with or without a BOM).
    """
    translations: dict[str, dict[str, dict[str, str]]] = {}
    for name in sorted(os.listdir(directory)):
        code, _, extension = name.partition(".")
        if extension != "csv":
            continue
        path = os.path.join(directory, name)
        if not _CSV_LOCALE_NAME.fullmatch(code):
            gen_log.error("unrecognized locale %r (path: %s)", code, path)
            continue
        translations[code] = _read_csv(path, encoding or _sniff_encoding(path))
    _install(_Catalog(_catalog.default, translations, False, True))


def _sniff_encoding(path: str) -> str:
    with open(path, "rb") as file:
        start = file.read(len(codecs.BOM_UTF16_LE))
    return "utf-16" if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"


def _read_csv(path: str, encoding: str) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    with open(path, encoding=encoding, newline="") as file:
        for number, row in enumerate(csv.reader(file), 1):
            if len(row) < 2:
                continue
            english, translation, *rest = (cell.strip() for cell in row)
            kind = (rest[0] if rest else "") or "unknown"
            if kind not in _PLURAL_KINDS:
                gen_log.error("unrecognized plural indicator %r in %s line %d", kind, path, number)
                continue
            table.setdefault(kind, {})[english] = translation
    return table


def load_gettext_translations(directory: str, domain: str) -> None:
    """Load ``<directory>/<code>/LC_MESSAGES/<domain>.mo`` for every code (Tornado's function).

    The catalogues come from ``msgfmt`` (``xgettext`` finds ``_()`` calls in
    handlers and templates). A catalogue that fails to load is logged and
    skipped.
    """
    translations: dict[str, gettext.NullTranslations] = {}
    for code in sorted(os.listdir(directory)):
        if code.startswith(".") or not os.path.isfile(os.path.join(directory, code, "LC_MESSAGES", domain + ".mo")):
            continue
        try:
            translations[code] = gettext.translation(domain, directory, languages=[code])
        except (OSError, ValueError) as exc:  # unreadable, or not a catalogue
            gen_log.error("cannot load translation for %r: %s", code, exc)
    _install(_Catalog(_catalog.default, translations, True, True))


def _normalise(code: str) -> str | None:
    """``"en-us"`` -> ``"en_US"``, ``"EN"`` -> ``"en"``; None for what is no locale code."""
    parts = code.replace("-", "_").split("_")
    if len(parts) > 2 or not parts[0].isalpha() or not parts[-1].isalnum():
        return None
    return parts[0].lower() + ("_" + parts[1].upper() if len(parts) == 2 else "")


class Locale:
    """A language, with its translations and formatting rules (Tornado's ``Locale``).

    Get one with :meth:`get_closest` or :meth:`get` (cached); see the module
    docstring for how building one directly differs from Tornado.

    Attributes:
        code: ``en_US``, ``zh_CN``, ``fr``.
        name: the language's own name for itself (``"Fran\u00e7ais"``), or "Unknown".
        rtl: written right to left (Arabic, Persian, Hebrew).
    """

    _cache: ClassVar[dict[str, Locale]] = {}

    @classmethod
    def get_closest(cls, *locale_codes: str) -> Locale:
        """The supported locale closest to the codes, most preferred first.

        A code matches itself (``pt_BR``), then its language alone (``pt``).
        """
        catalog = _catalog
        supported = catalog.supported
        for code in locale_codes:
            normal = _normalise(code) if code else None
            if normal is None:
                continue
            if not catalog.configured or normal in supported:
                return cls.get(normal)
            language = normal.split("_")[0]
            if language in supported:
                return cls.get(language)
        return cls.get(catalog.default)

    @classmethod
    def get(cls, code: str) -> Locale:
        """The locale for ``code``, built once and cached."""
        locale = cls._cache.get(code)
        if locale is None:
            translations = _catalog.translations.get(code)
            if translations is None:
                locale = CSVLocale(code, {})
            elif _catalog.use_gettext:
                locale = GettextLocale(code, translations)
            else:
                locale = CSVLocale(code, translations)
            cls._cache[code] = locale
        return locale

    def __init__(self, code: str) -> None:
        self.code = code
        self.name = LOCALE_NAMES.get(code, {}).get("name", "Unknown")
        self.rtl = code[:2] in ("ar", "fa", "he")
        _ = self.translate
        self._months = [
            _("January"), _("February"), _("March"), _("April"), _("May"), _("June"),
            _("July"), _("August"), _("September"), _("October"), _("November"), _("December"),
        ]  # fmt: skip
        self._weekdays = [
            _("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday"),
        ]  # fmt: skip

    def translate(self, message: str, plural_message: str | None = None, count: int | None = None) -> str:
        """``message`` in this locale; with ``plural_message``, the form for ``count``.

        This base class translates nothing (see the module docstring).
        """
        if plural_message is not None and count is not None and count != 1:
            return plural_message
        return message

    def pgettext(self, context: str, message: str, plural_message: str | None = None, count: int | None = None) -> str:
        """``translate`` with a disambiguating ``context`` (gettext's ``msgctxt``)."""
        return self.translate(message, plural_message, count)

    def format_date(
        self,
        date: float | datetime.datetime,
        gmt_offset: int = 0,
        relative: bool = True,
        shorter: bool = False,
        full_format: bool = False,
    ) -> str:
        """A date for people: "2 minutes ago", "yesterday at 5:32 pm", "July 10, 1980".

        Mirrors Tornado's ``format_date``: dates are UTC (a naive datetime is
        taken as UTC, a number as a POSIX timestamp); the future gets the
        full format (a few seconds ahead count as now: clock skew).

        Args:
            gmt_offset: the reader's offset from UTC, in minutes, subtracted
                (Tornado's sign: 480 for UTC-8).
            relative: "3 hours ago" and "yesterday" for recent dates.
            shorter: leave the time of day out.
            full_format: always "Month day, year at time".
        """
        when = _as_utc(date)
        now = datetime.datetime.now(datetime.UTC)
        if when > now:
            if relative and (when - now).total_seconds() < 60:
                when = now
            else:
                full_format = True
        if not full_format and relative and (now - when).days == 0:
            recent = self._relative_today(int((now - when).total_seconds()))
            if recent is not None:
                return recent
        offset = datetime.timedelta(minutes=gmt_offset)
        local, local_now = when - offset, now - offset
        template = self._date_template(local, local_now, (now - when).days, relative, shorter, full_format)
        return template % {
            "month_name": self._months[local.month - 1],
            "weekday": self._weekdays[local.weekday()],
            "day": str(local.day),
            "year": str(local.year),
            "time": self._time_of_day(local),
        }

    def _relative_today(self, seconds: int) -> str | None:
        _ = self.translate
        if seconds < 50:
            return _("1 second ago", "%(seconds)d seconds ago", seconds) % {"seconds": seconds}
        if seconds < 50 * 60:
            minutes = round(seconds / 60.0)
            return _("1 minute ago", "%(minutes)d minutes ago", minutes) % {"minutes": minutes}
        hours = round(seconds / 3600.0)
        return _("1 hour ago", "%(hours)d hours ago", hours) % {"hours": hours}

    def _date_template(
        self,
        local: datetime.datetime,
        local_now: datetime.datetime,
        days: int,
        relative: bool,
        shorter: bool,
        full_format: bool,
    ) -> str:
        _ = self.translate
        if not full_format:
            yesterday = local_now - datetime.timedelta(hours=24)
            if days == 0:
                return _("%(time)s")
            if days == 1 and local.day == yesterday.day and relative:
                return _("yesterday") if shorter else _("yesterday at %(time)s")
            if days < 5:
                return _("%(weekday)s") if shorter else _("%(weekday)s at %(time)s")
            if days < 334:  # about 11 months: the year goes without saying
                return _("%(month_name)s %(day)s") if shorter else _("%(month_name)s %(day)s at %(time)s")
        if shorter:
            return _("%(month_name)s %(day)s, %(year)s")
        return _("%(month_name)s %(day)s, %(year)s at %(time)s")

    def _time_of_day(self, local: datetime.datetime) -> str:
        """12-hour clock for US English and Chinese (each its own way), 24-hour for the rest."""
        hour12 = local.hour % 12 or 12
        if self.code in ("en", "en_US"):
            return f"{hour12}:{local.minute:02d} {('am', 'pm')[local.hour >= 12]}"
        if self.code == "zh_CN":
            return f"{_ZH_HALF_DAY[local.hour >= 12]}{hour12}:{local.minute:02d}"
        return f"{local.hour}:{local.minute:02d}"

    def format_day(self, date: datetime.datetime, gmt_offset: int = 0, dow: bool = True) -> str:
        """The day of ``date``: "Monday, January 22" (or "January 22" without ``dow``)."""
        local = date - datetime.timedelta(minutes=gmt_offset)
        _ = self.translate
        values = {
            "month_name": self._months[local.month - 1],
            "weekday": self._weekdays[local.weekday()],
            "day": str(local.day),
        }
        if dow:
            return _("%(weekday)s, %(month_name)s %(day)s") % values
        return _("%(month_name)s %(day)s") % values

    def list(self, parts: Sequence[str]) -> str:
        """A list for a sentence: ``["A", "B", "C"]`` -> "A, B and C"."""
        if not parts:
            return ""
        if len(parts) == 1:
            return parts[0]
        comma = " \u0648 " if self.code.startswith("fa") else ", "
        return self.translate("%(commas)s and %(last)s") % {"commas": comma.join(parts[:-1]), "last": parts[-1]}

    def friendly_number(self, value: int) -> str:
        """``1234567`` -> "1,234,567" in English; other locales get the plain digits (as Tornado)."""
        if self.code not in ("en", "en_US"):
            return str(value)
        return f"{value:,}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r})"


def _as_utc(date: float | datetime.datetime) -> datetime.datetime:
    if isinstance(date, (int, float)):
        return datetime.datetime.fromtimestamp(date, datetime.UTC)
    if date.tzinfo is None:
        return date.replace(tzinfo=datetime.UTC)
    return date.astimezone(datetime.UTC)


class CSVLocale(Locale):
    """A locale translated by a CSV file (``load_translations``)."""

    def __init__(self, code: str, translations: dict[str, dict[str, str]]) -> None:
        self.translations = translations
        super().__init__(code)

    def translate(self, message: str, plural_message: str | None = None, count: int | None = None) -> str:
        """The row for ``message``: ``singular``/``plural`` rows with a plural form, ``unknown`` without.

        Raises:
            ValueError: ``plural_message`` without ``count``.
        """
        if plural_message is None:
            table = self.translations.get("unknown", {})
        elif count is None:
            raise ValueError("translate() with plural_message needs count")
        elif count != 1:
            message, table = plural_message, self.translations.get("plural", {})
        else:
            table = self.translations.get("singular", {})
        return table.get(message, message)

    def pgettext(self, context: str, message: str, plural_message: str | None = None, count: int | None = None) -> str:
        """CSV files have no contexts: ``translate`` (with a warning when translations exist)."""
        if self.translations:
            gen_log.warning("pgettext is not supported by CSVLocale")
        return self.translate(message, plural_message, count)


class GettextLocale(Locale):
    """A locale translated by a gettext catalogue (``load_gettext_translations``)."""

    def __init__(self, code: str, translations: gettext.NullTranslations) -> None:
        self.ngettext = translations.ngettext
        self.gettext = translations.gettext
        # Set before Locale.__init__, which translates the month names.
        super().__init__(code)

    def translate(self, message: str, plural_message: str | None = None, count: int | None = None) -> str:
        """``gettext``, or ``ngettext`` with a plural form (the catalogue's plural rule decides).

        Raises:
            ValueError: ``plural_message`` without ``count``.
        """
        if plural_message is None:
            return self.gettext(message)
        if count is None:
            raise ValueError("translate() with plural_message needs count")
        return self.ngettext(message, plural_message, count)

    def pgettext(self, context: str, message: str, plural_message: str | None = None, count: int | None = None) -> str:
        """The translation of ``message`` in ``context``; untranslated, the plain message.

        ``pgettext("law", "right")`` and ``pgettext("good", "right")`` may
        translate differently. The catalogue is searched for
        ``context + CONTEXT_SEPARATOR + message``, as GNU gettext stores it.
        """
        keyed = f"{context}{CONTEXT_SEPARATOR}{message}"
        if plural_message is None:
            result = self.gettext(keyed)
            return message if CONTEXT_SEPARATOR in result else result
        if count is None:
            raise ValueError("pgettext() with plural_message needs count")
        result = self.ngettext(keyed, f"{context}{CONTEXT_SEPARATOR}{plural_message}", count)
        return self.ngettext(message, plural_message, count) if CONTEXT_SEPARATOR in result else result
