"""Field types: input checking and conversion, JSON output, re-typing, and filter operators in SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from metamodel.definitions import FieldDef
from metamodel.errors import BadQuery, RecordInvalid
from metamodel.fieldtypes import BUILTIN_FIELD_TYPES, FieldType, FieldTypeRegistry, ValueProblem
from metamodel.fieldtypes.base import DefinitionContext
from metamodel.fieldtypes.misc import AttachmentType
from metamodel.records.query import ListQuery, make_filter, parse_list_args
from metamodel.records.runtime import RecordRuntime
from metamodel.systables import attachments
from tests.metamodel.mmsupport import Site, entity, select_field

UTC = dt.UTC


def field(type_: str, **extra: Any) -> FieldDef:
    """Return a field definition of ``type_`` called ``f``."""
    return FieldDef({"id": "f1", "name": "f", "type": type_, **extra})


def prepare(registry: FieldTypeRegistry, type_: str, raw: Any, **extra: Any) -> Any:
    definition = field(type_, **extra)
    return registry.of(definition).prepare(definition, raw)


def problem(registry: FieldTypeRegistry, type_: str, raw: Any, **extra: Any) -> ValueProblem:
    with pytest.raises(ValueProblem) as caught:
        prepare(registry, type_, raw, **extra)
    return caught.value


def convert(registry: FieldTypeRegistry, old: FieldDef, new: FieldDef, value: Any) -> Any:
    return registry.of(new).convert(new, old, registry.of(old), value)


# --- the registry ---------------------------------------------------------------------------------


def test_registry_holds_every_builtin_type_once(registry: FieldTypeRegistry) -> None:
    assert registry.names() == [t.type for t in BUILTIN_FIELD_TYPES]
    assert len(set(registry.names())) == 17
    assert "decimal" in registry and "money" not in registry
    with pytest.raises(ValueError, match="already registered"):
        registry.register(type(registry.get("text")))
    with pytest.raises(KeyError):
        registry.get("money")


def test_a_plugin_type_can_be_registered(registry: FieldTypeRegistry) -> None:
    class Rating(FieldType):
        type = "rating"

        def column_type(self, field: FieldDef) -> sa.types.TypeEngine[Any]:
            return sa.Integer()

        def prepare(self, field: FieldDef, raw: Any) -> Any:
            return None if raw is None else int(raw)

    registry.register(Rating)
    assert registry.names()[-1] == "rating"
    assert registry.of(field("rating")).prepare(field("rating"), "4") == 4


# --- text-like types ------------------------------------------------------------------------------


def test_text_is_stripped_single_line_and_empty_becomes_none(registry: FieldTypeRegistry) -> None:
    assert prepare(registry, "text", "  Acme Ltd  ") == "Acme Ltd"
    assert prepare(registry, "text", 42) == "42"
    assert prepare(registry, "text", "   ") is None
    assert prepare(registry, "text", None) is None
    assert problem(registry, "text", "two\nlines").message == "must be a single line"
    assert problem(registry, "text", True).message == "must be text"
    assert problem(registry, "text", {"a": 1}).message == "must be text"
    assert problem(registry, "text", "a\x00b").message == "must not contain NUL characters"
    # JSON can carry a lone surrogate; no database or export can store it as text.
    assert (
        problem(registry, "long_text", "a\ud800").message == "must not contain unpaired surrogate characters"
    )
    assert (
        problem(registry, "json", {"k": ["\udfff"]}).message
        == "must not contain unpaired surrogate characters"
    )
    assert prepare(registry, "long_text", "汉字 \U0001f600") == "汉字 \U0001f600"


def test_text_lengths_and_pattern(registry: FieldTypeRegistry) -> None:
    assert prepare(registry, "text", "x" * 255) == "x" * 255
    too_long = problem(registry, "text", "x" * 256)
    assert (too_long.message, too_long.code) == ("must be at most 255 characters", "max_length")
    assert problem(registry, "text", "abcd", max_length=3).message == "must be at most 3 characters"
    assert problem(registry, "text", "ab", min_length=3).message == "must be at least 3 characters"
    assert prepare(registry, "text", "AB-12", pattern=r"[A-Z]{2}-\d+") == "AB-12"
    bad = problem(registry, "text", "ab-12", pattern=r"[A-Z]{2}-\d+")
    assert bad.code == "pattern" and "[A-Z]{2}-\\d+" in bad.message


def test_long_text_keeps_lines_and_spaces(registry: FieldTypeRegistry) -> None:
    assert prepare(registry, "long_text", "  first\nsecond  ") == "  first\nsecond  "
    assert prepare(registry, "long_text", "x" * 100_000) == "x" * 100_000
    assert problem(registry, "long_text", "x" * 100_001).code == "max_length"


def test_email_lowercases_the_domain_only(registry: FieldTypeRegistry) -> None:
    assert prepare(registry, "email", "  Bob.Smith@Example.COM ") == "Bob.Smith@example.com"
    for bad in ("bob", "bob@example", "bob @example.com", "@example.com"):
        assert problem(registry, "email", bad).message == "is not a valid e-mail address", bad


def test_phone_keeps_digits_and_leading_plus(registry: FieldTypeRegistry) -> None:
    assert prepare(registry, "phone", "+1 (555) 123-4567") == "+15551234567"
    assert prepare(registry, "phone", "020 7946.0018") == "02079460018"
    for bad in ("call me", "12", "+44 20 ABC", "1+2345"):
        assert problem(registry, "phone", bad).message == "is not a valid phone number", bad


def test_url_must_be_http_or_https(registry: FieldTypeRegistry) -> None:
    assert prepare(registry, "url", "https://example.com/a?b=1") == "https://example.com/a?b=1"
    assert prepare(registry, "url", "HTTP://EXAMPLE.COM") == "HTTP://EXAMPLE.COM"
    for bad in ("ftp://example.com", "example.com", "javascript:alert(1)", "http:// x"):
        assert problem(registry, "url", bad).message == "must be an http:// or https:// address", bad


# --- numbers --------------------------------------------------------------------------------------


def test_integer_accepts_whole_numbers_only(registry: FieldTypeRegistry) -> None:
    assert prepare(registry, "integer", "12") == 12
    assert prepare(registry, "integer", " -7 ") == -7
    assert prepare(registry, "integer", 12.0) == 12
    assert prepare(registry, "integer", "1,000") == 1000
    assert prepare(registry, "integer", "") is None
    assert prepare(registry, "integer", 2**63 - 1) == 2**63 - 1
    assert problem(registry, "integer", 1.5).message == "must be a whole number"
    assert problem(registry, "integer", "twelve").message == "must be a number"
    assert problem(registry, "integer", True).message == "must be a number"
    assert problem(registry, "integer", "NaN").message == "must be a finite number"
    assert problem(registry, "integer", 2**63).message == "is too large"
    assert problem(registry, "integer", 5, min=10).message == "must be at least 10"
    assert problem(registry, "integer", 11, max=10).message == "must be at most 10"


def test_decimal_is_exact_and_quantized_to_its_scale(registry: FieldTypeRegistry) -> None:
    value = prepare(registry, "decimal", "10.5")
    assert value == Decimal("10.50") and str(value) == "10.50"
    assert str(prepare(registry, "decimal", 0.1)) == "0.10"  # the float's repr, not its binary value
    assert str(prepare(registry, "decimal", "1,234.5")) == "1234.50"
    assert str(prepare(registry, "decimal", 3, scale=0)) == "3"
    assert str(prepare(registry, "decimal", "0.125", scale=3)) == "0.125"
    too_fine = problem(registry, "decimal", "10.555")
    assert (too_fine.message, too_fine.code) == ("must have at most 2 decimal places", "scale")
    assert problem(registry, "decimal", "1e15").message == "is too large"
    assert problem(registry, "decimal", "Infinity").message == "must be a finite number"
    assert problem(registry, "decimal", "ten").message == "must be a number"
    assert problem(registry, "decimal", "0.5", min="1.5").message == "must be at least 1.5"
    definition = field("decimal")
    assert registry.of(definition).serialize(definition, Decimal("10.50")) == "10.50"


def test_currency_is_a_decimal_with_a_code(registry: FieldTypeRegistry) -> None:
    definition = field("currency", currency="EUR")
    currency = registry.of(definition)
    assert currency.serialize(definition, currency.prepare(definition, "99.9")) == "99.90"
    assert problem(registry, "currency", "0.001", currency="EUR").code == "scale"


# --- choices --------------------------------------------------------------------------------------


def test_boolean_understands_common_spellings(registry: FieldTypeRegistry) -> None:
    for raw in (True, 1, "1", "true", "Yes", "on", " y "):
        assert prepare(registry, "boolean", raw) is True, raw
    for raw in (False, 0, "0", "false", "NO", "off"):
        assert prepare(registry, "boolean", raw) is False, raw
    assert prepare(registry, "boolean", "") is None
    wrong: tuple[object, ...] = ("maybe", 2, 0.5)
    for bad in wrong:
        assert problem(registry, "boolean", bad).message == "must be true or false", bad
    definition = field("boolean")
    assert registry.of(definition).is_empty(False) is False  # a required boolean may be false


def test_select_takes_one_option_value(registry: FieldTypeRegistry) -> None:
    options = [{"value": "new"}, {"value": "won"}]
    assert prepare(registry, "select", "won", options=options) == "won"
    assert prepare(registry, "select", "", options=options) is None
    wrong = problem(registry, "select", "lost", options=options)
    assert (wrong.message, wrong.code) == ("must be one of: new, won", "choice")
    assert problem(registry, "select", 1, options=options).message == "must be one of the option values"


def test_multi_select_keeps_option_order_without_repeats(registry: FieldTypeRegistry) -> None:
    options = [{"value": "red"}, {"value": "green"}, {"value": "blue"}]
    assert prepare(registry, "multi_select", ["blue", "red", "blue"], options=options) == ["red", "blue"]
    assert prepare(registry, "multi_select", "green, red", options=options) == ["red", "green"]
    assert prepare(registry, "multi_select", [], options=options) is None
    assert problem(registry, "multi_select", ["red", "pink"], options=options).message == (
        "must be one of: red, green, blue"
    )
    definition = field("multi_select", options=options)
    multi = registry.of(definition)
    assert multi.serialize(definition, None) == []
    assert multi.to_text(definition, ["red", "blue"]) == "red, blue"


# --- dates ----------------------------------------------------------------------------------------


def test_date_accepts_iso_dates(registry: FieldTypeRegistry) -> None:
    assert prepare(registry, "date", "2026-01-31") == dt.date(2026, 1, 31)
    assert prepare(registry, "date", "2026-01-31T23:30:00+08:00") == dt.date(2026, 1, 31)
    assert prepare(registry, "date", dt.datetime(2026, 2, 1, 5, tzinfo=UTC)) == dt.date(2026, 2, 1)
    for bad in ("31/01/2026", "2026-02-30", 20260131):
        assert problem(registry, "date", bad).message == "must be a date like 2026-01-31", bad
    definition = field("date")
    assert registry.of(definition).serialize(definition, dt.date(2026, 1, 31)) == "2026-01-31"


def test_datetime_is_normalised_to_utc(registry: FieldTypeRegistry) -> None:
    shanghai = prepare(registry, "datetime", "2026-01-31T09:30:00+08:00")
    assert shanghai == dt.datetime(2026, 1, 31, 1, 30, tzinfo=UTC) and shanghai.tzinfo == UTC
    assert prepare(registry, "datetime", "2026-01-31T09:30:00Z") == dt.datetime(
        2026, 1, 31, 9, 30, tzinfo=UTC
    )
    assert prepare(registry, "datetime", "2026-01-31T09:30:00") == dt.datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
    assert prepare(registry, "datetime", "2026-01-31T20:00:00-05:00").day == 1  # next day in UTC
    assert prepare(registry, "datetime", dt.date(2026, 1, 31)) == dt.datetime(2026, 1, 31, tzinfo=UTC)
    bad = problem(registry, "datetime", "yesterday")
    assert bad.message == "must be a date and time like 2026-01-31T09:30:00+08:00"
    definition = field("datetime")
    assert registry.of(definition).serialize(definition, shanghai) == "2026-01-31T01:30:00Z"


# --- relations, JSON and attachments --------------------------------------------------------------


def test_link_takes_a_positive_record_id(registry: FieldTypeRegistry) -> None:
    for raw in (5, "5", " 5 ", {"id": 5}):
        assert prepare(registry, "link", raw, target="company") == 5, raw
    assert prepare(registry, "link", "", target="company") is None
    wrong: tuple[object, ...] = (0, -1, "abc", True, 2**63, 1.5)
    for bad in wrong:
        assert problem(registry, "link", bad, target="company").message == "must be a record id", bad


def test_child_table_takes_a_list_of_line_objects(registry: FieldTypeRegistry) -> None:
    assert prepare(registry, "child_table", None, child_entity="line") == []
    lines = [{"qty": 1}, {"qty": 2}]
    assert prepare(registry, "child_table", lines, child_entity="line") == lines
    assert problem(registry, "child_table", {"qty": 1}, child_entity="line").message == (
        "must be a list of line objects"
    )
    assert problem(registry, "child_table", [1, 2], child_entity="line").code == "type"
    too_many = problem(registry, "child_table", [{}] * 3, child_entity="line", max_rows=2)
    assert too_many.message == "must have at most 2 lines"


def test_json_must_be_serialisable_and_small(registry: FieldTypeRegistry) -> None:
    data = {"tags": ["a", "b"], "n": 1.5, "nested": {"ok": True}}
    assert prepare(registry, "json", data) == data
    assert problem(registry, "json", {"x": float("nan")}).message == "must be JSON data"
    assert problem(registry, "json", {1, 2}).message == "must be JSON data"
    assert problem(registry, "json", "x" * 70_000).message == "must be at most 65536 bytes of JSON"
    definition = field("json")
    assert registry.of(definition).from_form(definition, ['{"a": 1}']) == {"a": 1}
    with pytest.raises(ValueProblem, match="is not valid JSON"):
        registry.of(definition).from_form(definition, ["{a: 1}"])


def test_attachment_accept_rules(registry: FieldTypeRegistry) -> None:
    definition = field("attachment", accept=[".pdf", "image/*"])
    attachment = registry.get("attachment")
    assert isinstance(attachment, AttachmentType)
    assert attachment.prepare(definition, "12") == 12
    assert attachment.accepts(definition, "Report.PDF", "application/octet-stream")
    assert attachment.accepts(definition, "photo", "image/png")
    assert not attachment.accepts(definition, "notes.txt", "text/plain")
    assert attachment.accepts(field("attachment"), "anything.exe", "application/x-msdownload")


# --- conversion between types (the basis of re-typing a field) -------------------------------------


def test_convert_between_types(registry: FieldTypeRegistry) -> None:
    text, integer, decimal = field("text"), field("integer"), field("decimal")
    assert convert(registry, text, integer, "42") == 42
    assert convert(registry, integer, text, 42) == "42"
    assert convert(registry, integer, decimal, 42) == Decimal("42.00")
    assert convert(registry, decimal, integer, Decimal("7.00")) == 7
    with pytest.raises(ValueProblem, match="must be a whole number"):
        convert(registry, decimal, integer, Decimal("7.50"))
    with pytest.raises(ValueProblem, match="must be a number"):
        convert(registry, text, integer, "n/a")
    assert convert(registry, text, integer, None) is None
    assert convert(
        registry, field("decimal", scale=2), field("decimal", scale=3), Decimal("1.25")
    ) == Decimal("1.250")
    with pytest.raises(ValueProblem, match="at most 1 decimal places"):
        convert(registry, field("decimal", scale=2), field("decimal", scale=1), Decimal("1.25"))
    assert convert(registry, text, field("email"), "Ann@EXAMPLE.org") == "Ann@example.org"
    assert convert(registry, text, field("boolean"), "yes") is True
    assert convert(registry, field("boolean"), text, True) == "True"
    assert convert(registry, field("date"), field("datetime"), dt.date(2026, 1, 2)) == dt.datetime(
        2026, 1, 2, tzinfo=UTC
    )
    assert convert(registry, field("datetime"), field("date"), dt.datetime(2026, 1, 2, 23, tzinfo=UTC)) == (
        dt.date(2026, 1, 2)
    )


def test_convert_between_choice_types(registry: FieldTypeRegistry) -> None:
    options = [{"value": "a"}, {"value": "b"}]
    single, multi = field("select", options=options), field("multi_select", options=options)
    assert convert(registry, single, multi, "b") == ["b"]
    assert convert(registry, multi, single, ["a"]) == "a"
    with pytest.raises(ValueProblem, match="must be one of"):
        convert(registry, multi, single, ["a", "b"])
    assert convert(registry, field("text"), single, "a") == "a"
    with pytest.raises(ValueProblem, match="must be one of: a, b"):
        convert(registry, field("text"), single, "c")


def test_convert_links_and_attachments(registry: FieldTypeRegistry) -> None:
    to_company, to_person = field("link", target="company"), field("link", target="person")
    assert convert(registry, to_company, field("link", target="company", on_delete="cascade"), 3) == 3
    with pytest.raises(ValueProblem, match="another entity"):
        convert(registry, to_company, to_person, 3)
    assert convert(registry, to_company, to_person, None) is None
    assert convert(registry, field("integer"), to_company, 3) == 3
    with pytest.raises(ValueProblem, match="only an attachment"):
        convert(registry, field("integer"), field("attachment"), 3)
    assert convert(registry, field("json"), field("json"), {"a": [1]}) == {"a": [1]}


def test_definition_checks_of_types(registry: FieldTypeRegistry) -> None:
    from metamodel.definitions import Bundle, EntityDef

    ctx = DefinitionContext(Bundle(), EntityDef({"name": "x", "fields": []}))

    def problems(definition: FieldDef) -> list[tuple[str, str]]:
        return list(registry.of(definition).check_definition(definition, ctx))

    [(key, message)] = problems(field("text", pattern="[a-"))
    assert key == "pattern" and message.startswith("pattern is not a valid regular expression: ")
    assert problems(field("text", min_length=5, max_length=2)) == [
        ("min_length", "min_length is greater than max_length")
    ]
    assert problems(field("integer", min=5, max=1)) == [("min", "min is greater than max")]
    assert problems(field("integer", default="abc")) == [
        ("default", "default value is not valid: must be a number")
    ]
    assert problems(field("select", options=[{"value": "a"}, {"value": "a"}])) == [
        ("options", "option values must be unique; repeated: a")
    ]
    assert problems(field("link", target="nowhere")) == [("target", "target entity 'nowhere' does not exist")]


# --- values through the database ------------------------------------------------------------------

EVERYTHING = entity(
    "thing",
    [
        {"name": "title", "type": "text", "searchable": True},
        {"name": "notes", "type": "long_text"},
        {"name": "qty", "type": "integer"},
        {"name": "price", "type": "decimal"},
        {"name": "fee", "type": "currency", "currency": "EUR"},
        {"name": "active", "type": "boolean"},
        {"name": "due", "type": "date"},
        {"name": "seen_at", "type": "datetime"},
        select_field("stage", ["new", "won", "lost"]),
        {"name": "tags", "type": "multi_select", "options": [{"value": v} for v in ("red", "green", "blue")]},
        {"name": "email", "type": "email"},
        {"name": "phone", "type": "phone"},
        {"name": "site", "type": "url"},
        {"name": "extra", "type": "json"},
        {"name": "parent", "type": "link", "target": "thing", "on_delete": "set_null"},
        {"name": "file", "type": "attachment"},
    ],
    title_field="title",
)


@pytest.fixture
def things(site: Site) -> RecordRuntime:
    return site.publish([EVERYTHING])


def test_every_type_round_trips_through_the_database(site: Site, things: RecordRuntime) -> None:
    with site.engine.begin() as conn:
        file_id = conn.execute(
            attachments.insert().values(
                filename="a.pdf",
                content_type="application/pdf",
                size=3,
                sha256="0" * 64,
                storage_key="k1",
                created_at=site.clock(),
            )
        ).inserted_primary_key[0]
    parent = things.create("thing", {"title": "Parent"})
    created = things.create(
        "thing",
        {
            "title": " Widget ",
            "notes": "line 1\nline 2",
            "qty": "3",
            "price": "19.9",
            "fee": 0.1,
            "active": "yes",
            "due": "2026-04-30",
            "seen_at": "2026-04-30T23:15:00-02:00",
            "stage": "won",
            "tags": ["blue", "red"],
            "email": "Sales@Example.COM",
            "phone": "+49 30 1234-5678",
            "site": "https://example.com",
            "extra": {"colour": "teal", "sizes": [1, 2]},
            "parent": parent["id"],
            "file": file_id,
        },
    )
    got = things.get("thing", created["id"])
    expected = {
        "title": "Widget",
        "notes": "line 1\nline 2",
        "qty": 3,
        "price": "19.90",
        "fee": "0.10",
        "active": True,
        "due": "2026-04-30",
        "seen_at": "2026-05-01T01:15:00Z",
        "stage": "won",
        "tags": ["red", "blue"],
        "email": "Sales@example.com",
        "phone": "+493012345678",
        "site": "https://example.com",
        "extra": {"colour": "teal", "sizes": [1, 2]},
        "parent": parent["id"],
        "file": file_id,
    }
    assert {k: got[k] for k in expected} == expected
    assert created == got
    assert got["_titles"] == {"parent": "Parent"}
    # Empty values stay empty (not "", 0 or []) and serialise as such.
    empty = things.get("thing", parent["id"])
    assert {k: empty[k] for k in expected if k != "title"} == {
        k: ([] if k == "tags" else None) for k in expected if k != "title"
    }


def test_decimals_are_exact_to_the_cent_in_storage(site: Site, things: RecordRuntime, db_kind: str) -> None:
    amounts = ["0.10", "0.20", "0.30", "999999999999999.99", "-0.01", "1234567.89"]
    ids = [things.create("thing", {"title": a, "price": a, "fee": a})["id"] for a in amounts]
    assert [things.get("thing", i)["price"] for i in ids] == amounts
    raw = [row["price"] for row in site.rows("rec_thing", "price")]
    if db_kind == "sqlite":  # SQLite's NUMERIC is a float, so cents are stored as a scaled integer
        assert raw == [10, 20, 30, 99999999999999999, -1, 123456789]
    else:
        assert raw == [Decimal(a) for a in amounts]

    def titles(**args: str) -> list[str]:
        query = parse_list_args(
            things.model.entity("thing"), site.registry, {k: [v] for k, v in args.items()}
        )
        query.sort = "price"
        return [r["title"] for r in things.list("thing", query).items]

    assert titles(price__eq="0.3") == ["0.30"]  # 0.1 + 0.2 would not be 0.3 in floating point
    assert titles(price__gt="0.2") == ["0.30", "1234567.89", "999999999999999.99"]
    assert titles(price__between="0.1,0.3") == ["0.10", "0.20", "0.30"]
    assert titles(fee__in="-0.01,999999999999999.99") == ["-0.01", "999999999999999.99"]
    assert titles(price__lte="-0.01") == ["-0.01"]
    with site.engine.connect() as conn:
        table = things.model.entity("thing").table
        total = conn.execute(sa.select(sa.func.sum(table.c.price))).scalar()
    assert total == Decimal("1000000001234568.47")


def test_datetimes_are_stored_as_utc(site: Site, things: RecordRuntime) -> None:
    a = things.create("thing", {"title": "a", "seen_at": "2026-01-31T09:30:00+08:00"})
    b = things.create("thing", {"title": "b", "seen_at": "2026-01-31T01:30:00Z"})
    c = things.create("thing", {"title": "c", "seen_at": "2026-01-31T03:30:00+01:00"})
    assert a["seen_at"] == b["seen_at"] == "2026-01-31T01:30:00Z"
    assert c["seen_at"] == "2026-01-31T02:30:00Z"
    raw = site.rows("rec_thing", "seen_at")
    assert [str(r["seen_at"])[:19] for r in raw] == ["2026-01-31 01:30:00"] * 2 + ["2026-01-31 02:30:00"]
    model = things.model.entity("thing")

    def titles(op: str, value: str) -> list[str]:
        query = ListQuery([make_filter(model, site.registry, "seen_at", op, value)], sort="title")
        return [r["title"] for r in things.list("thing", query).items]

    assert titles("eq", "2026-01-31T10:30:00+09:00") == ["a", "b"]
    assert titles("gt", "2026-01-31T09:45:00+08:00") == ["c"]
    assert titles("lt", "2026-01-31T02:30:00Z") == ["a", "b"]
    assert titles("between", "2026-01-31T02:00:00Z,2026-01-31T04:00:00+01:00") == ["c"]


def test_email_and_phone_filters_normalise_their_value(site: Site, things: RecordRuntime) -> None:
    things.create("thing", {"title": "ann", "email": "ann@example.com", "phone": "+1 555 123 4567"})
    things.create("thing", {"title": "bob", "email": "bob@example.com", "phone": "(555) 999-0000"})
    model = things.model.entity("thing")

    def titles(name: str, op: str, value: str) -> list[str]:
        query = ListQuery([make_filter(model, site.registry, name, op, value)], sort="title")
        return [r["title"] for r in things.list("thing", query).items]

    assert titles("email", "eq", "ann@EXAMPLE.com") == ["ann"]
    assert titles("phone", "eq", "+1-555-123-4567") == ["ann"]
    assert titles("phone", "startswith", "555") == ["bob"]
    assert titles("email", "in", "bob@Example.com,nobody@example.com") == ["bob"]
    with pytest.raises(RecordInvalid) as caught:
        things.create("thing", {"title": "x", "email": "not-an-address", "phone": "call me"})
    assert {(p.path, p.message) for p in caught.value.problems} == {
        ("email", "is not a valid e-mail address"),
        ("phone", "is not a valid phone number"),
    }


@pytest.fixture
def filled(things: RecordRuntime) -> RecordRuntime:
    rows: list[dict[str, Any]] = [
        {"title": "alpha", "qty": 1, "active": True, "due": "2026-01-10", "stage": "new", "tags": ["red"]},
        {
            "title": "beta",
            "qty": 5,
            "active": False,
            "due": "2026-02-10",
            "stage": "won",
            "tags": ["red", "green"],
            "extra": {"k": None},
        },
        {"title": "gamma 100%", "qty": 10, "due": "2026-03-10", "stage": "lost", "tags": ["green", "blue"]},
        {"title": "delta_x", "active": True, "tags": ["blue"]},
        {"title": "Alphabet"},
    ]
    for row in rows:
        things.create("thing", row)
    return things


def _titles(runtime: RecordRuntime, site: Site, key: str, value: str) -> list[str]:
    query = parse_list_args(runtime.model.entity("thing"), site.registry, {key: [value], "sort": ["id"]})
    return [r["title"] for r in runtime.list("thing", query).items]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("qty__eq", "5", ["beta"]),
        ("qty", "5", ["beta"]),
        ("qty__ne", "5", ["alpha", "gamma 100%", "delta_x", "Alphabet"]),  # ne keeps empty values
        ("qty__lt", "5", ["alpha"]),
        ("qty__lte", "5", ["alpha", "beta"]),
        ("qty__gt", "5", ["gamma 100%"]),
        ("qty__gte", "5", ["beta", "gamma 100%"]),
        ("qty__between", "2,10", ["beta", "gamma 100%"]),
        ("qty__in", "1,10,99", ["alpha", "gamma 100%"]),
        ("qty__isnull", "true", ["delta_x", "Alphabet"]),
        ("qty__isnull", "no", ["alpha", "beta", "gamma 100%"]),
        ("due__lt", "2026-02-10", ["alpha"]),
        ("due__between", "2026-02-01,2026-12-31", ["beta", "gamma 100%"]),
        ("title__eq", "alpha", ["alpha"]),
        ("title__contains", "%", ["gamma 100%"]),
        ("title__contains", "_", ["delta_x"]),
        ("title__contains", "ph", ["alpha", "Alphabet"]),
        ("title__startswith", "Alph", ["alpha", "Alphabet"]),  # case-insensitive on both databases
        ("title__contains", "ALPHA", ["alpha", "Alphabet"]),
        ("title__in", "beta,delta_x", ["beta", "delta_x"]),
        ("active__eq", "true", ["alpha", "delta_x"]),
        ("active__ne", "true", ["beta", "gamma 100%", "Alphabet"]),
        ("active__isnull", "1", ["gamma 100%", "Alphabet"]),
        ("stage__eq", "won", ["beta"]),
        ("stage__ne", "won", ["alpha", "gamma 100%", "delta_x", "Alphabet"]),
        ("stage__in", "new,lost", ["alpha", "gamma 100%"]),
        ("tags__has_any", "blue", ["gamma 100%", "delta_x"]),
        ("tags__has_any", "red,blue", ["alpha", "beta", "gamma 100%", "delta_x"]),
        ("tags__has_all", "green,red", ["beta"]),
        ("tags__has_all", "blue,green", ["gamma 100%"]),
        ("tags__isnull", "true", ["Alphabet"]),
        ("extra__isnull", "false", ["beta"]),
        ("extra__isnull", "true", ["alpha", "gamma 100%", "delta_x", "Alphabet"]),
    ],
)
def test_filter_operators(
    site: Site, filled: RecordRuntime, key: str, value: str, expected: list[str]
) -> None:
    assert _titles(filled, site, key, value) == expected


def test_link_filters(site: Site, things: RecordRuntime) -> None:
    a = things.create("thing", {"title": "a"})
    b = things.create("thing", {"title": "b", "parent": a["id"]})
    things.create("thing", {"title": "c", "parent": b["id"]})
    assert _titles(things, site, "parent", str(a["id"])) == ["b"]
    assert _titles(things, site, "parent__in", f"{a['id']},{b['id']}") == ["b", "c"]
    assert _titles(things, site, "parent__isnull", "true") == ["a"]
    assert _titles(things, site, "parent__ne", str(a["id"])) == ["a", "c"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "qty__contains",
            "1",
            "operator 'contains' is not supported for a integer field; use one of: eq, ne",
        ),
        ("tags__eq", "red", "operator 'eq' is not supported for a multi_select field"),
        ("active__gt", "true", "operator 'gt' is not supported for a boolean field"),
        ("extra__eq", "1", "operator 'eq' is not supported for a json field; use one of: isnull"),
        ("qty__eq", "many", "must be a number"),
        ("qty__eq", "", "an empty value cannot be compared; use isnull"),
        ("qty__between", "1", "between takes two comma-separated values"),
        ("qty__isnull", "perhaps", "isnull takes true or false"),
        ("stage__in", "new,maybe", "must be one of: new, won, lost"),
        ("tags__has_any", "", "has_any takes at least one option value"),
        ("seen_at__gt", "soon", "must be a date and time like"),
        ("price__eq", "1.234", "must have at most 2 decimal places"),
    ],
)
def test_bad_filters_are_refused_naming_the_parameter(
    site: Site, things: RecordRuntime, key: str, value: str, message: str
) -> None:
    with pytest.raises(BadQuery) as caught:
        parse_list_args(things.model.entity("thing"), site.registry, {key: [value]})
    [found] = caught.value.problems
    assert found.path == key
    assert found.message.startswith(message)
