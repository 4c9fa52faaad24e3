"""Datetimes in the reader's zone: shown in it (Babel, her locale), typed in it and stored in UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from form_renderer.formdata import FormReader, parse_form
from form_renderer.presentation import (
    DisplayContext,
    PresentationRegistry,
    Shown,
    register_builtin_presentations,
)
from form_renderer.presentation.moments import input_value, read_input, zone_offset
from metamodel.definitions import Bundle, FieldDef
from metamodel.errors import ProblemList
from metamodel.fieldtypes import register_builtin_field_types
from metamodel.fieldtypes.base import FieldTypeRegistry
from metamodel.model import SiteModel

REGISTRY = register_builtin_presentations(PresentationRegistry())
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
FIELD = FieldDef({"name": "due", "type": "datetime"})
# 17:30 UTC on 2 March is 01:30 on 3 March in Shanghai: the day differs too.
STORED = "2026-03-02T17:30:45.654321Z"


def present(value: str, locale: str, zone: dt.tzinfo, cell: bool = False) -> str:
    """Render ``value`` of a datetime field for a reader of ``locale`` in ``zone``."""
    ctx = DisplayContext(locale, zone=zone)
    return str(REGISTRY.present(Shown(FIELD, value), ctx, cell=cell))


def test_a_moment_is_shown_in_the_readers_zone_and_locale_without_seconds() -> None:
    assert ">Mar 3, 2026, 01:30<" in present(STORED, "en", SHANGHAI)
    assert ">2026年3月3日 01:30<" in present(STORED, "zh-CN", SHANGHAI)
    assert ">Mar 2, 2026, 12:30<" in present(STORED, "en", NEW_YORK)
    shown = present(STORED, "en", SHANGHAI)
    assert 'datetime="2026-03-02T17:30:45.654321Z"' in shown  # the machine-readable value stays UTC
    assert 'title="2026-03-03 01:30 Asia/Shanghai"' in shown
    assert "45" not in shown.split(">", 1)[1]


def test_list_cells_and_plain_text_use_the_zone_too() -> None:
    cell = present(STORED, "zh-CN", SHANGHAI, cell=True)
    assert ">03-03 01:30<" in cell and "Asia/Shanghai" in cell
    text = REGISTRY.of("datetime").text(Shown(FIELD, STORED), DisplayContext("en", zone=SHANGHAI))
    assert text == "2026-03-03 01:30"  # exports and filter chips


def test_summer_time_is_applied_per_moment() -> None:
    assert ">Jul 1, 2026, 08:00<" in present("2026-07-01T12:00:00Z", "en", NEW_YORK)  # EDT, UTC-4
    assert ">Jan 1, 2026, 07:00<" in present("2026-01-01T12:00:00Z", "en", NEW_YORK)  # EST, UTC-5


def test_an_input_shows_the_wall_time_and_is_read_back_in_the_same_zone() -> None:
    assert input_value(STORED, SHANGHAI) == "2026-03-03T01:30"
    assert input_value(None, SHANGHAI) == ""
    assert read_input("2026-03-03T01:30", SHANGHAI) == "2026-03-02T17:30:00Z"
    assert read_input("2026-07-01T08:00", NEW_YORK) == "2026-07-01T12:00:00Z"
    assert read_input("2026-03-03T01:30+00:00", SHANGHAI) == "2026-03-03T01:30:00Z"  # an offset is kept
    assert read_input("not a time", SHANGHAI) == "not a time"  # left for the field type to refuse
    assert read_input("", SHANGHAI) == ""


def _site() -> SiteModel:
    registry = register_builtin_field_types(FieldTypeRegistry())
    doc = {
        "id": "e1",
        "name": "visit",
        "fields": [
            {"id": "f1", "name": "name", "type": "text"},
            {"id": "f2", "name": "due", "type": "datetime"},
        ],
    }
    return SiteModel(1, Bundle.from_json({"entity": {"visit": doc}}), registry)


def test_a_posted_form_is_read_in_the_readers_zone() -> None:
    site = _site()
    model = site.entity("visit")
    posted = MultiDict({"name": "Ann", "due": "2026-03-03T01:30"})
    problems = ProblemList()
    read = parse_form(site, model, posted, problems, FormReader(REGISTRY, SHANGHAI))
    assert not problems and read["due"] == "2026-03-02T17:30:00Z"
    stored = model.types["due"].prepare(FIELD, read["due"])
    assert stored == dt.datetime(2026, 3, 2, 17, 30, tzinfo=dt.UTC)
    # Without a reader (the old path, the API's rule) a wall time without offset is UTC.
    assert parse_form(site, model, posted, ProblemList())["due"] == "2026-03-03T01:30"


def test_a_day_given_to_a_datetime_filter_is_her_day() -> None:
    presentation = REGISTRY.of("datetime")
    assert presentation.filter_values(FIELD, "gte", "2026-03-03", SHANGHAI) == "2026-03-02T16:00:00Z"
    assert presentation.filter_values(FIELD, "lte", "2026-03-03", SHANGHAI) == "2026-03-03T15:59:59.999999Z"
    assert presentation.filter_values(FIELD, "between", "2026-03-03,2026-03-04", SHANGHAI) == (
        "2026-03-02T16:00:00Z,2026-03-04T15:59:59.999999Z"
    )
    assert (
        presentation.filter_values(FIELD, "gte", "2026-03-03T09:00:00Z", SHANGHAI) == "2026-03-03T09:00:00Z"
    )
    assert presentation.filter_values(FIELD, "isnull", "true", SHANGHAI) == "true"
    chip = presentation.text(Shown(FIELD, "2026-03-03"), DisplayContext("en", zone=SHANGHAI))
    assert chip == "2026-03-03"


def test_a_phone_shows_the_zone_as_its_offset() -> None:
    assert zone_offset(SHANGHAI) == "GMT+08:00"
    assert zone_offset(NEW_YORK, dt.datetime(2026, 1, 5, tzinfo=dt.UTC)) == "GMT-05:00"
    assert zone_offset(NEW_YORK, dt.datetime(2026, 7, 5, tzinfo=dt.UTC)) == "GMT-04:00"
    assert zone_offset(ZoneInfo("Asia/Kolkata")) == "GMT+05:30"
