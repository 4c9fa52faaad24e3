"""Mask styles: phone, email, ID number, name and the default, chosen by rule, field option or type."""

from __future__ import annotations

import pytest

from metamodel.access.masks import MaskStyles
from metamodel.definitions import FieldDef

STYLES = MaskStyles.default()


def field(kind: str, **options: str) -> FieldDef:
    return FieldDef({"id": "f", "name": "f", "type": kind, **options})


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+86 13812341234", "+86 138****1234"),
        ("+8613812341234", "+86 138****1234"),
        ("+1 415 555 2671", "+1 415****2671"),
        ("138-1234-1234", "138****1234"),
        ("12345", "****"),
    ],
)
def test_phone(value: str, masked: str) -> None:
    assert STYLES.apply(field("phone"), value) == masked


def test_email_id_number_name_and_default() -> None:
    assert STYLES.apply(field("email"), "alice@x.com") == "a***@x.com"
    assert STYLES.apply(field("email"), "not-an-email") == "****"
    assert STYLES.apply(field("text", mask="id_number"), "110101199003071234") == "110****1234"
    assert STYLES.apply(field("text", mask="name"), "王小明") == "王*"
    assert STYLES.apply(field("text", mask="name"), "John Smith") == "J***"
    assert STYLES.apply(field("text"), "anything") == "****"
    assert STYLES.apply(field("integer"), 42) == "****"
    assert STYLES.apply(field("phone"), None) is None and STYLES.apply(field("text"), "") == ""


def test_rule_style_wins_over_option_and_type() -> None:
    assert STYLES.style_for(field("phone"), "default") == "default"
    assert STYLES.style_for(field("text", mask="email")) == "email"
    assert STYLES.style_for(field("text", mask="unknown")) == "default"
    styles = MaskStyles.default()
    styles.register("last2", lambda text: "**" + text[-2:])
    assert styles.apply(field("text"), "abcdef", "last2") == "**ef"
    assert "last2" in styles.names()
