"""``framework.locale``: CSV and gettext translations, choosing a locale, formatting; and handlers' ``locale``."""

from __future__ import annotations

import datetime
import logging
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import framework.locale
from framework.locale import CSVLocale, GettextLocale, Locale
from framework.testing import serve
from framework.web import Application, RequestHandler

UTC = datetime.UTC


@pytest.fixture(autouse=True)
def fresh_catalog(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with nothing loaded, and leaves nothing behind."""
    monkeypatch.setattr(framework.locale, "_catalog", framework.locale._Catalog())
    Locale._cache.clear()
    yield
    Locale._cache.clear()


def write_csv(directory: Path, code: str, text: str, encoding: str = "utf-8") -> None:
    (directory / f"{code}.csv").write_bytes(text.encode(encoding))


def write_mo(path: Path, messages: dict[str, str]) -> None:
    """A GNU .mo catalogue (what msgfmt writes): header, two index tables, the strings."""
    keys = sorted(messages)
    ids = [k.encode() for k in keys]
    strs = [messages[k].encode() for k in keys]
    start = 7 * 4 + 16 * len(keys)
    offsets, blob = [], b""
    for data in ids + strs:
        offsets.append((len(data), start + len(blob)))
        blob += data + b"\0"
    index = b"".join(struct.pack("<2I", *pair) for pair in offsets)
    head = struct.pack("<7I", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, start)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head + index + blob)


# -- CSV -------------------------------------------------------------------------

CSV_ES = (
    '"Hello","Hola"\n'
    '"%(name)s liked this","A %(name)s le gustó esto","singular"\n'
    '"%(name)s liked this","A %(name)s les gustó esto","plural"\n'
    '"January","enero"\n'
    '"%(commas)s and %(last)s","%(commas)s y %(last)s"\n'
)


def test_load_translations_and_translate_with_plurals(tmp_path: Path) -> None:
    write_csv(tmp_path, "es_LA", CSV_ES)
    framework.locale.load_translations(str(tmp_path))
    assert framework.locale.get_supported_locales() == {"es_LA", "en_US"}
    es = framework.locale.get("es_LA")
    assert isinstance(es, CSVLocale)
    assert es.translate("Hello") == "Hola"
    assert es.translate("Goodbye") == "Goodbye"
    assert es.translate("%(name)s liked this", "%(name)s liked this", 1) == "A %(name)s le gustó esto"
    assert es.translate("%(name)s liked this", "%(name)s liked this", 2) == "A %(name)s les gustó esto"
    assert es.list(["a", "b", "c"]) == "a, b y c"
    assert es.format_day(datetime.datetime(2024, 1, 22), dow=False) == "enero 22"
    with pytest.raises(ValueError):
        es.translate("x", "xs")


def test_load_translations_reads_utf16_and_a_given_encoding(tmp_path: Path) -> None:
    write_csv(tmp_path, "fr", '"Hello","Bonjour \u00e0 tous"\n', "utf-16")
    (tmp_path / "latin").mkdir()
    write_csv(tmp_path / "latin", "de", '"Hello","Gr\u00fc\u00df dich"\n', "latin-1")
    framework.locale.load_translations(str(tmp_path / "latin"), encoding="latin-1")
    assert framework.locale.get("de").translate("Hello") == "Gr\u00fc\u00df dich"
    framework.locale.load_translations(str(tmp_path))
    assert framework.locale.get("fr").translate("Hello") == "Bonjour \u00e0 tous"


def test_bad_file_names_and_plural_kinds_are_logged_and_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_csv(tmp_path, "Spanish", '"Hello","Hola"\n')
    write_csv(tmp_path, "es", '"Hello","Hola","dual"\n"Bye","Adios"\n')
    (tmp_path / "README.txt").write_text("not a translation")
    with caplog.at_level(logging.ERROR, logger="framework.general"):
        framework.locale.load_translations(str(tmp_path))
    assert framework.locale.get_supported_locales() == {"es", "en_US"}
    assert framework.locale.get("es").translate("Hello") == "Hello"
    assert framework.locale.get("es").translate("Bye") == "Adios"
    assert len(caplog.records) == 2


def test_csv_pgettext_falls_back_to_translate(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_csv(tmp_path, "es", '"Hello","Hola"\n')
    framework.locale.load_translations(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="framework.general"):
        assert framework.locale.get("es").pgettext("greeting", "Hello") == "Hola"
    assert "pgettext is not supported" in caplog.text


# -- gettext ---------------------------------------------------------------------


def test_load_gettext_translations_with_plurals_and_contexts(tmp_path: Path) -> None:
    write_mo(
        tmp_path / "fr_FR" / "LC_MESSAGES" / "app.mo",
        {
            "": "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n",
            "school": "\u00e9cole",
            "%(num)d apple\0%(num)d apples": "%(num)d pomme\0%(num)d pommes",
            "law\x04right": "le droit",
            "good\x04right": "le bien",
            "organization\x04club\0organization\x04clubs": "club\0clubs",
        },
    )
    (tmp_path / "fr_FR" / "notes.txt").write_text("ignored")
    (tmp_path / "de_DE").mkdir()  # no catalogue for the domain: not supported
    framework.locale.load_gettext_translations(str(tmp_path), "app")
    assert framework.locale.get_supported_locales() == {"fr_FR", "en_US"}
    fr = framework.locale.get("fr_FR")
    assert isinstance(fr, GettextLocale)
    assert fr.translate("school") == "\u00e9cole"
    assert fr.translate("%(num)d apple", "%(num)d apples", 1) == "%(num)d pomme"
    assert fr.translate("%(num)d apple", "%(num)d apples", 0) == "%(num)d pomme"  # French: 0 is singular
    assert fr.translate("%(num)d apple", "%(num)d apples", 3) == "%(num)d pommes"
    assert fr.pgettext("law", "right") == "le droit"
    assert fr.pgettext("good", "right") == "le bien"
    assert fr.pgettext("other", "right") == "right"
    assert fr.pgettext("organization", "club", "clubs", 1) == "club"
    assert fr.pgettext("stick", "club", "clubs", 2) == "clubs"
    assert fr.name == "Fran\u00e7ais"


# -- choosing a locale -----------------------------------------------------------


def test_get_closest_with_translations_loaded(tmp_path: Path) -> None:
    for code in ("es", "pt_BR", "zh_CN"):
        write_csv(tmp_path, code, '"Hello","x"\n')
    framework.locale.load_translations(str(tmp_path))
    assert framework.locale.get("es_MX").code == "es"  # the language alone
    assert framework.locale.get("pt-br").code == "pt_BR"
    assert framework.locale.get("de", "zh-cn").code == "zh_CN"
    assert framework.locale.get("de", "it").code == "en_US"  # the default
    assert framework.locale.get("", "a_b_c", "*").code == "en_US"
    assert framework.locale.get("es") is framework.locale.get("es")  # cached
    framework.locale.set_default_locale("es")
    assert framework.locale.get("de").code == "es"
    assert framework.locale.get_supported_locales() == {"es", "pt_BR", "zh_CN"}


def test_without_translations_every_code_is_taken_as_given() -> None:
    """A deliberate difference (module docstring): Tornado would answer en_US."""
    assert framework.locale.get("de-at").code == "de_AT"
    assert framework.locale.get("??", "fr").code == "fr"
    assert framework.locale.get().code == "en_US"
    assert framework.locale.get_supported_locales() == {"en_US"}
    framework.locale.set_default_locale("en_US")  # choosing a default turns Tornado's rule on
    assert framework.locale.get("de").code == "en_US"


def test_locale_attributes() -> None:
    assert Locale.get("ar_AR").rtl and Locale.get("he_IL").rtl and not Locale.get("en_US").rtl
    assert Locale.get("zh_CN").name == "\u4e2d\u6587(\u7b80\u4f53)"
    assert Locale.get("xx").name == "Unknown"
    assert Locale("fr_FR").translate("Hello") == "Hello"  # built directly: identity
    assert Locale("fr_FR").translate("one", "many", 2) == "many"


# -- formatting --------------------------------------------------------------------


def ago(**delta: float) -> datetime.datetime:
    return datetime.datetime.now(UTC) - datetime.timedelta(**delta)


def test_format_date_relative() -> None:
    en = Locale.get("en_US")
    assert en.format_date(ago(seconds=2)) == "2 seconds ago"
    assert en.format_date(ago(seconds=1)) == "1 second ago"
    assert en.format_date(ago(minutes=2)) == "2 minutes ago"
    assert en.format_date(ago(hours=2)) == "2 hours ago"
    assert en.format_date(ago(seconds=2).timestamp()) == "2 seconds ago"
    naive = datetime.datetime.now(UTC).replace(tzinfo=None) - datetime.timedelta(minutes=3)
    assert en.format_date(naive) == "3 minutes ago"  # naive means UTC
    assert en.format_date(datetime.datetime.now(UTC) + datetime.timedelta(seconds=5)) == "0 seconds ago"  # skew


def test_format_date_days_and_full_format() -> None:
    en = Locale.get("en_US")
    four_days = ago(days=4)
    assert en.format_date(four_days, shorter=True) == en._weekdays[four_days.weekday()]
    assert en.format_date(four_days).startswith(en._weekdays[four_days.weekday()] + " at ")
    old = datetime.datetime(2013, 7, 10, 16, 5, tzinfo=UTC)
    assert en.format_date(old, full_format=True) == "July 10, 2013 at 4:05 pm"
    assert en.format_date(old, shorter=True) == "July 10, 2013"
    assert en.format_date(old, gmt_offset=60, full_format=True) == "July 10, 2013 at 3:05 pm"
    assert Locale.get("de_DE").format_date(old, full_format=True) == "July 10, 2013 at 16:05"
    assert Locale.get("zh_CN").format_date(old, full_format=True) == "July 10, 2013 at \u4e0b\u53484:05"
    future = datetime.datetime.now(UTC) + datetime.timedelta(days=400)
    assert str(future.year) in en.format_date(future)
    recent = ago(days=10)
    assert en.format_date(recent, relative=False, shorter=True) == f"{en._months[recent.month - 1]} {recent.day}"


def test_format_date_yesterday() -> None:
    en = Locale.get("en_US")
    yesterday = ago(hours=24, seconds=1)
    assert en.format_date(yesterday, shorter=True) == "yesterday"
    assert en.format_date(yesterday).startswith("yesterday at ")


def test_format_day_list_and_friendly_number() -> None:
    en = Locale.get("en_US")
    day = datetime.datetime(2024, 1, 22, 0, 30)
    assert en.format_day(day) == "Monday, January 22"
    assert en.format_day(day, dow=False) == "January 22"
    assert en.format_day(day, gmt_offset=60) == "Sunday, January 21"
    assert en.list([]) == ""
    assert en.list(["A"]) == "A"
    assert en.list(["A", "B", "C"]) == "A, B and C"
    assert Locale.get("fa_IR").list(["A", "B", "C"]) == "A \u0648 B and C"
    assert en.friendly_number(1234567) == "1,234,567"
    assert en.friendly_number(12) == "12"
    assert Locale.get("de_DE").friendly_number(1234567) == "1234567"


# -- handlers ----------------------------------------------------------------------


class LocaleHandler(RequestHandler):
    def get(self) -> None:
        self.write(f"{self.locale.code} {self.locale.translate('Hello')}")


class UserLocaleHandler(RequestHandler):
    def get_user_locale(self) -> Locale | None:
        return framework.locale.get(self.get_argument("lang")) if self.get_argument("lang", None) else None

    def get(self) -> None:
        self.write(self.locale.code)


def test_handler_locale_from_accept_language_with_translations(tmp_path: Path) -> None:
    write_csv(tmp_path, "es", '"Hello","Hola"\n')
    write_csv(tmp_path, "fr_FR", '"Hello","Bonjour"\n')
    framework.locale.load_translations(str(tmp_path))
    with serve(Application([("/", LocaleHandler), ("/user", UserLocaleHandler)])) as server:

        def get(path: str, language: str | None = None) -> str:
            headers = {"Accept-Language": language} if language else {}
            return requests.get(server.url(path), headers=headers, timeout=10).text

        assert get("/", "es-MX,en;q=0.5") == "es Hola"
        assert get("/", "de;q=0.9, fr-fr;q=0.8") == "fr_FR Bonjour"
        assert get("/", "fr-FR;q=0, es;q=0.1") == "es Hola"  # q=0: not this one
        assert get("/", "de") == "en_US Hello"
        assert get("/") == "en_US Hello"
        assert get("/user?lang=fr_FR", "es") == "fr_FR"
        assert get("/user", "es") == "es"


class MonthHandler(RequestHandler):
    def get(self) -> None:
        self.render("month.html")


@pytest.mark.parametrize("engine", ["jinja2", "tornado"])
def test_templates_translate_with_a_context_through_pgettext(tmp_path: Path, engine: str) -> None:
    """Tornado's template namespace has ``pgettext`` beside ``_``: the same word, two meanings."""
    write_mo(
        tmp_path / "locale" / "fr_FR" / "LC_MESSAGES" / "app.mo",
        {"": "Content-Type: text/plain; charset=UTF-8\n", "month\x04May": "mai", "verb\x04May": "peut"},
    )
    framework.locale.load_gettext_translations(str(tmp_path / "locale"), "app")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "month.html").write_text('{{ pgettext("month", "May") }}/{{ pgettext("verb", "May") }}')
    app = Application([("/", MonthHandler)], template_path=str(tmp_path / "templates"), template_engine=engine)
    with serve(app) as server:
        response = requests.get(server.url("/"), headers={"Accept-Language": "fr-FR"}, timeout=10)
    assert response.text.strip() == "mai/peut"
