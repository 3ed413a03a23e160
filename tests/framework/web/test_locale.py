"""Tests for framework/web/locale.py: a handler's ``locale`` from ``Accept-Language``, and its override."""

from __future__ import annotations

from typing import Any

import framework.web
from framework.web import (
    RequestHandler,
)
from tests.framework.harness import fetch, running


def test_locale_from_accept_language_and_override() -> None:
    class LocaleHandler(RequestHandler):
        def get(self) -> None:
            self.write(self.locale.code)

    class UserLocaleHandler(RequestHandler):
        def get_user_locale(self) -> Any:
            return framework.web.Locale("fr_FR")

        def get(self) -> None:
            self.write(self.locale.code)

    with running([("/", LocaleHandler), ("/user", UserLocaleHandler)]) as server:
        assert fetch(server, "/", headers={"Accept-Language": "zh-CN"}).text == "zh_CN"
        assert fetch(server, "/", headers={"Accept-Language": "de;q=0.5, zh-cn;q=0.9"}).text == "zh_CN"
        assert fetch(server, "/", headers={"Accept-Language": "pt-BR,pt;q=0.8"}).text == "pt_BR"
        assert fetch(server, "/").text == "en_US"
        assert fetch(server, "/user", headers={"Accept-Language": "zh-CN"}).text == "fr_FR"
