"""Validating the sign-up form: each field's rule, and every error at once.

Errors are collected per field (not the first one only), so the page can
show each next to its input, with what the person typed kept in place.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

__all__ = ["TOPICS", "Signup", "validate_signup"]

TOPICS = {"framework": "The framework", "demos": "The demos", "performance": "Performance", "other": "Something else"}
# A pragmatic address check: something@something.tld, no spaces; the real
# test of an address is a message that arrives.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")


@dataclasses.dataclass(frozen=True, slots=True)
class Signup:
    """A valid submission."""

    name: str
    email: str
    age: int | None
    topic: str
    message: str


def validate_signup(values: Mapping[str, str]) -> tuple[Signup | None, dict[str, str]]:
    """Check the submitted ``values``; returns the signup, or None and an error per field."""
    errors: dict[str, str] = {}
    name = values.get("name", "").strip()
    if not name:
        errors["name"] = "Please tell us your name."
    elif len(name) > 80:
        errors["name"] = "That name is longer than 80 characters."
    email = values.get("email", "").strip()
    if not _EMAIL.fullmatch(email):
        errors["email"] = "That does not look like an email address (name@example.org)."
    age = _age(values.get("age", "").strip(), errors)
    topic = values.get("topic", "")
    if topic not in TOPICS:
        errors["topic"] = "Please pick a topic from the list."
    message = values.get("message", "").strip()
    if len(message) > 1000:
        errors["message"] = f"Messages are at most 1000 characters (this one has {len(message)})."
    if values.get("agree") != "yes":
        errors["agree"] = "Please confirm that this is a demo and nothing will be sent."
    if errors:
        return None, errors
    return Signup(name, email, age, topic, message), {}


def _age(text: str, errors: dict[str, str]) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 13 <= int(text) <= 120:
        errors["age"] = "Age is optional, but if given a whole number from 13 to 120."
        return None
    return int(text)
