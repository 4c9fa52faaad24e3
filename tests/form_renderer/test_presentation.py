"""Each built-in field type's presentation: human display text, list cells, widgets and filter inputs."""

from __future__ import annotations

from typing import Any

import pytest

from form_renderer.presentation import (
    DisplayContext,
    Presentation,
    PresentationRegistry,
    Shown,
    register_builtin_presentations,
)
from metamodel.definitions import FieldDef
from metamodel.fieldtypes import BUILTIN_FIELD_TYPES

REGISTRY = register_builtin_presentations(PresentationRegistry())
TEXT = {"value.yes": "Yes", "value.no": "No", "value.lines": "{n} line(s)", "form.current_file": "File"}
EN = DisplayContext(
    "en", lambda entity, rid: f"/e/{entity}/{rid}", lambda aid: f"/files/{aid}", TEXT.__getitem__
)
ZH = DisplayContext("zh-CN", EN.record_url, EN.file_url, EN.text)


def show(doc: dict[str, Any], value: Any, ctx: DisplayContext = EN, cell: bool = False, **extra: Any) -> str:
    """Render ``value`` of a field defined by ``doc``."""
    return str(REGISTRY.present(Shown(FieldDef({"name": "f", **doc}), value, **extra), ctx, cell=cell))


def test_every_builtin_field_type_has_a_presentation_and_its_widget_template() -> None:
    from pathlib import Path

    import form_renderer

    folder = Path(form_renderer.__file__).parent / "templates" / "widgets"
    for field_type in BUILTIN_FIELD_TYPES:
        assert field_type.type in REGISTRY, field_type.type
        presentation = REGISTRY.of(field_type.type)
        assert field_type.widget in presentation.widgets  # its own widget comes first-class
        if field_type.widget != "child_table":  # the lines editor is the form's own macro
            assert (folder / f"{field_type.widget}.html").is_file(), field_type.widget


def test_registering_a_type_twice_is_refused() -> None:
    class Again(Presentation):
        type = "text"

    with pytest.raises(ValueError, match="already registered"):
        register_builtin_presentations(PresentationRegistry()).register(Again)


def test_empty_values_are_a_dash_and_masks_stay_masks() -> None:
    assert "—" in show({"type": "text"}, None) and "—" in show({"type": "multi_select"}, [])
    masked = show({"type": "phone"}, "138****1234", masked=True)
    assert "crm-masked" in masked and "138****1234" in masked and "tel:" not in masked
    # a pool's contact arrives masked without a field rule: still no link to a number nobody can call
    assert "tel:" not in show({"type": "phone"}, "138****1234")
    assert "mailto:" not in show({"type": "email"}, "a***@x.com")


@pytest.mark.parametrize(
    ("doc", "value", "en", "zh"),
    [
        ({"type": "integer"}, 1234567, "1,234,567", "1,234,567"),
        ({"type": "decimal", "scale": 2}, "1234.5", "1,234.50", "1,234.50"),
        ({"type": "currency", "currency": "CNY"}, "1234.50", "CN¥1,234.50", "¥1,234.50"),
        ({"type": "currency", "currency": "USD"}, "-5.00", "-$5.00", "-US$5.00"),
        ({"type": "date"}, "2026-12-04", "2026-12-04", "2026-12-04"),
    ],
)
def test_numbers_and_dates_in_the_locale(doc: dict[str, Any], value: Any, en: str, zh: str) -> None:
    assert show(doc, value) == en
    assert show(doc, value, ZH) == zh


def test_datetimes_drop_seconds_and_microseconds_and_lists_shorten_them() -> None:
    value = "2026-12-04T14:30:59.123456Z"
    shown = show({"type": "datetime"}, value)
    assert ">Dec 4, 2026, 14:30<" in shown and "59.123456" not in shown.split(">", 1)[1]
    assert 'title="2026-12-04 14:30 UTC"' in shown
    cell = show({"type": "datetime"}, value, cell=True)
    assert ">12-04 14:30<" in cell and 'title="Dec 4, 2026, 14:30 UTC"' in cell
    assert ">Dec 4, 2026, 14:30<" in show({"type": "datetime"}, "2026-12-04T22:30:00+08:00")  # a UTC reader
    assert ">2026年12月4日 14:30<" in show({"type": "datetime"}, value, ZH)


def test_options_are_labelled_badges_in_their_colours_and_escaped() -> None:
    doc = {
        "type": "select",
        "options": [
            {"value": "gold", "label": {"en": "Gold", "zh-CN": "金卡"}, "color": "yellow"},
            {"value": "x", "label": {"en": "<b>X</b>"}, "color": "#12ab9f"},
            {"value": "bad", "color": "red;background:url(x)"},
        ],
    }
    assert show(doc, "gold") == (
        '<span class="badge crm-badge" style="--crm-badge: var(--tblr-yellow)"><span class="crm-dot"></span>Gold</span>'
    )
    assert "金卡" in show(doc, "gold", ZH)
    hexed = show(doc, "x")
    assert "--crm-badge: #12ab9f" in hexed and "&lt;b&gt;X&lt;/b&gt;" in hexed
    assert "url(x)" not in show(doc, "bad")  # a colour that is no colour is not written into the style
    multi = show({**doc, "type": "multi_select"}, ["gold", "x"])
    assert multi.count("badge crm-badge") == 2


def test_booleans_links_urls_and_attachments() -> None:
    yes = show({"type": "boolean"}, True)
    assert "ti-circle-check" in yes and ">Yes<" in yes
    assert ">No<" in show({"type": "boolean"}, False)
    link = show({"type": "link", "target": "company"}, 7, title="ACME <Ltd>")
    assert link == '<a href="/e/company/7">ACME &lt;Ltd&gt;</a>'
    assert show({"type": "link", "target": "company"}, 7) == '<a href="/e/company/7">#7</a>'
    assert "href" not in show({"type": "url"}, "javascript:alert(1)")
    assert 'href="https://x.cn/a"' in show({"type": "url"}, "https://x.cn/a")
    assert 'href="/files/3"' in show({"type": "attachment"}, 3)
    assert 'href="mailto:a@x.cn"' in show({"type": "email"}, "a@x.cn")
    assert 'href="tel:+8613812345678"' in show({"type": "phone"}, "+86 138 1234 5678")


def test_filter_widgets_follow_the_type() -> None:
    def kind(doc: dict[str, Any]) -> str:
        return REGISTRY.of(doc["type"]).filter_widget(FieldDef({"name": "f", **doc}), "en").kind

    assert kind({"type": "date"}) == "date" and kind({"type": "decimal"}) == "number"
    widget = REGISTRY.of("select").filter_widget(
        FieldDef({"name": "f", "type": "select", "options": [{"value": "a", "label": {"zh-CN": "甲"}}]}),
        "zh-CN",
    )
    assert widget.kind == "select" and widget.options == (("a", "甲"),)
    assert kind({"type": "text"}) == "text"


def test_a_type_without_a_presentation_shows_as_escaped_text() -> None:
    assert show({"type": "no_such_type"}, "<i>") == "&lt;i&gt;"
