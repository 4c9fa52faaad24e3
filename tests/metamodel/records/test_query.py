"""Listing records: search, sorting with empty values, keyset and offset paging, counts and bad queries."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metamodel.errors import BadQuery
from metamodel.records.query import MAX_LIMIT, ListQuery, encode_cursor, make_filter, parse_list_args
from metamodel.records.runtime import RecordRuntime
from tests.metamodel.mmsupport import Site, entity, select_field

ITEM = entity(
    "item",
    [
        {"name": "title", "type": "text", "searchable": True},
        {"name": "notes", "type": "long_text", "searchable": True},
        {"name": "score", "type": "integer"},
        {"name": "amount", "type": "decimal"},
        {"name": "due", "type": "date"},
        {"name": "seen_at", "type": "datetime"},
        {"name": "flag", "type": "boolean"},
        select_field("stage", ["a", "b", "c"]),
        {"name": "tags", "type": "multi_select", "options": [{"value": "x"}, {"value": "y"}]},
        {"name": "extra", "type": "json"},
    ],
    title_field="title",
)

# Sortable fields with empty values and repeats, in lower-case ASCII so every collation agrees.
SCORES = [3, None, 1, 3, 2, None, 3, 1, None, 2, 5, 3, None, 4, 1, 3, 2, None, 5, 1, 3, None, 2, 4, 3]


def row(i: int, score: int | None) -> dict[str, Any]:
    return {
        "title": "abcdefgh"[i % 8] * 2 if i % 5 else None,
        "notes": f"note {i}",
        "score": score,
        "amount": None if score is None else f"{score}.{i % 3}5",
        "due": None if i % 4 == 0 else f"2026-0{1 + i % 3}-1{i % 2}",
        "seen_at": None if i % 6 == 0 else f"2026-01-01T0{i % 4}:00:00+0{i % 3}:00",
        "flag": None if i % 7 == 0 else bool(i % 2),
        "stage": "abc"[i % 3] if i % 4 else None,
    }


@pytest.fixture
def items(site: Site) -> RecordRuntime:
    runtime = site.publish([ITEM])
    for i, score in enumerate(SCORES):
        runtime.create("item", row(i, score))
    return runtime


def ids_of(runtime: RecordRuntime, query: ListQuery) -> list[int]:
    return [r["id"] for r in runtime.list("item", query).items]


def walk(runtime: RecordRuntime, sort: str, limit: int, filters: list[Any] | None = None) -> list[int]:
    """Follow next_cursor from the first page to the last; return the ids in the order seen."""
    seen: list[int] = []
    cursor = None
    for _ in range(200):
        page = runtime.list("item", ListQuery(list(filters or []), sort=sort, limit=limit, cursor=cursor))
        assert len(page.items) <= limit
        seen += [r["id"] for r in page.items]
        if not page.has_more:
            assert page.next_cursor is None
            return seen
        assert page.next_cursor and len(page.items) == limit
        cursor = page.next_cursor
    raise AssertionError("paging did not end")


def expected_order(records: list[dict[str, Any]], name: str, descending: bool, db_kind: str) -> list[int]:
    """The order the databases use: by value then id; NULLs smallest on SQLite, largest on PostgreSQL."""
    nulls_small = db_kind == "sqlite"

    def key(record: dict[str, Any]) -> tuple[Any, ...]:
        value = record[name]
        if value is None:
            return (0 if nulls_small else 2, 0, record["id"])
        return (1, Decimal(value) if name == "amount" else value, record["id"])

    return [r["id"] for r in sorted(records, key=key, reverse=descending)]


SORTS = ["score", "title", "amount", "due", "seen_at", "flag", "stage", "created_at", "id", "record_no"]


@pytest.mark.parametrize("sort", SORTS)
def test_sorting_puts_empty_values_at_the_dialects_end(items: RecordRuntime, db_kind: str, sort: str) -> None:
    everything = items.list("item", ListQuery(sort="id", limit=MAX_LIMIT)).items
    for descending in (False, True):
        wanted = expected_order(everything, sort, descending, db_kind)
        assert ids_of(items, ListQuery(sort=("-" if descending else "") + sort, limit=MAX_LIMIT)) == wanted


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 4, 7])
def test_keyset_paging_visits_every_record_exactly_once(items: RecordRuntime, sort: str, limit: int) -> None:
    for direction in ("", "-"):
        full = ids_of(items, ListQuery(sort=direction + sort, limit=MAX_LIMIT))
        assert sorted(full) == list(range(1, len(SCORES) + 1))
        assert walk(items, direction + sort, limit) == full


def test_keyset_paging_with_filters(site: Site, items: RecordRuntime) -> None:
    model = items.model.entity("item")
    filters = [make_filter(model, site.registry, "score", "gte", "2")]
    for sort in ("score", "-score", "title", "-amount"):
        full = ids_of(items, ListQuery(list(filters), sort=sort, limit=MAX_LIMIT))
        assert len(full) == sum(1 for s in SCORES if s is not None and s >= 2)
        assert walk(items, sort, 3, filters) == full


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scores=st.lists(st.one_of(st.none(), st.integers(-2, 2)), max_size=14),
    limit=st.integers(1, 5),
    descending=st.booleans(),
)
def test_keyset_paging_property(
    site: Site, db_kind: str, scores: list[int | None], limit: int, descending: bool
) -> None:
    if "rec_item" not in site.tables():  # the site fixture is shared by every generated example
        site.publish([entity("item", [{"name": "score", "type": "integer"}])])
    runtime = site.runtime()
    with site.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM rec_item")
    records = [runtime.create("item", {"score": s}) for s in scores]
    sort = ("-" if descending else "") + "score"
    wanted = expected_order(records, "score", descending, db_kind)
    assert walk(runtime, sort, limit) == wanted


def test_offset_paging(site: Site, items: RecordRuntime) -> None:
    model = items.model.entity("item")
    full = ids_of(items, ListQuery(sort="-score", limit=MAX_LIMIT))
    pages = [ids_of(items, ListQuery(sort="-score", limit=7, offset=offset)) for offset in range(0, 35, 7)]
    assert [len(p) for p in pages] == [7, 7, 7, 4, 0]
    assert [i for page in pages for i in page] == full
    query = parse_list_args(model, site.registry, {"sort": ["-score"], "limit": ["7"], "page": ["3"]})
    assert (query.offset, query.limit) == (14, 7)
    page = items.list("item", query)
    assert [r["id"] for r in page.items] == pages[2] and page.has_more
    assert not items.list("item", ListQuery(sort="-score", limit=7, offset=21)).has_more


def test_first_page_and_count(site: Site, items: RecordRuntime) -> None:
    page = items.list("item", ListQuery())  # newest first by default
    assert [r["id"] for r in page.items] == list(range(25, 0, -1))
    assert (page.has_more, page.next_cursor, page.total) == (False, None, None)
    model = items.model.entity("item")
    query = parse_list_args(model, site.registry, {"score": ["3"], "count": ["true"], "limit": ["2"]})
    page = items.list("item", query)
    assert page.total == SCORES.count(3) and len(page.items) == 2 and page.has_more
    query = parse_list_args(model, site.registry, {"score__isnull": ["true"], "count": ["1"]})
    assert items.list("item", query).total == SCORES.count(None)
    query = parse_list_args(model, site.registry, {"stage__in": ["a,b"], "flag": ["true"], "count": ["yes"]})
    everything = items.list("item", ListQuery(sort="id", limit=MAX_LIMIT)).items
    assert items.list("item", query).total == sum(
        1 for r in everything if r["stage"] in ("a", "b") and r["flag"] is True
    )


def test_system_columns_filter_and_sort(site: Site, items: RecordRuntime) -> None:
    model = items.model.entity("item")

    def ids(args: dict[str, str]) -> list[int]:
        return ids_of(items, parse_list_args(model, site.registry, {k: [v] for k, v in args.items()}))

    assert ids({"id__in": "3,1,2", "sort": "id"}) == [1, 2, 3]
    assert ids({"id__between": "10,12", "sort": "-id"}) == [12, 11, 10]
    assert len(ids({"created_at__gte": "2026-03-02T09:00:00Z", "limit": "500"})) == 25
    assert ids({"created_at__lt": "2026-03-02T10:00:00+02:00"}) == []


def test_search_over_searchable_fields(site: Site) -> None:
    runtime = site.publish(
        [
            entity(
                "contact",
                [
                    {"name": "name", "type": "text", "searchable": True},
                    {"name": "email", "type": "email", "searchable": True},
                    {"name": "city", "type": "text"},
                    {"name": "age", "type": "integer", "searchable": True},
                    {"name": "balance", "type": "decimal", "searchable": True},
                    {"name": "born", "type": "date", "searchable": True},
                ],
                title_field="name",
            ),
            entity("memo", [{"name": "subject", "type": "text"}], title_field="subject"),
            entity("blob", [{"name": "data", "type": "text"}]),
        ]
    )
    rows: list[dict[str, Any]] = [
        {
            "name": "Ann Lee",
            "email": "ann@acme.com",
            "city": "Paris",
            "age": 42,
            "balance": "10.50",
            "born": "1984-02-29",
        },
        {"name": "Bob 100% Real", "email": "bob@beta.org", "city": "Acme", "age": 7},
        {"name": "Cyd_Smith", "email": "cyd@example.com", "city": "Rome", "balance": "42.00"},
    ]
    for r in rows:
        runtime.create("contact", r)

    def found(entity_name: str, text: str) -> list[int]:
        return [r["id"] for r in runtime.list(entity_name, ListQuery(search=text, sort="id")).items]

    assert found("contact", "ann") == [1]
    assert found("contact", "LEE") == [1]  # case-insensitive
    assert found("contact", "acme") == [1]  # the e-mail matches; the (not searchable) city does not
    assert found("contact", "%") == [2]  # wildcards are literal
    assert found("contact", "_") == [3]
    assert found("contact", "42") == [1, 3]  # a number matches the number, exactly
    assert found("contact", "10.5") == [1]
    assert found("contact", "7") == [2]
    assert found("contact", "0.5") == []  # not a part of 10.50
    assert found("contact", "1984-02") == [1]
    assert found("contact", "nobody") == []
    runtime.create("memo", {"subject": "Quarterly Review"})
    assert found("memo", "review") == [1]  # falls back to the title field
    runtime.create("blob", {"data": "anything"})
    assert found("blob", "anything") == []  # nothing searchable, nothing found
    model = runtime.model.entity("contact")
    query = parse_list_args(model, site.registry, {"q": ["  ann  "], "age__gt": ["40"]})
    assert query.search == "ann" and [r["id"] for r in runtime.list("contact", query).items] == [1]


def problems_of(call: Callable[[], Any]) -> list[tuple[str, str]]:
    with pytest.raises(BadQuery) as caught:
        call()
    assert caught.value.code == "bad_query" and caught.value.status == 400
    return [(p.path, p.message) for p in caught.value.problems]


def test_bad_query_arguments_name_the_parameter(site: Site, items: RecordRuntime) -> None:
    model = items.model.entity("item")

    def parse(**args: str) -> Callable[[], Any]:
        return lambda: parse_list_args(model, site.registry, {k: [v] for k, v in args.items()})

    assert problems_of(parse(colour__eq="red")) == [("colour__eq", "unknown field 'colour'")]
    assert problems_of(parse(score__like="3")) == [
        (
            "score__like",
            "operator 'like' is not supported for a integer field; use one of: eq, ne, lt, lte, gt, gte, between, in, isnull",
        )
    ]
    assert problems_of(parse(sort="-colour")) == [("sort", "unknown field 'colour'")]
    assert problems_of(parse(sort="tags")) == [("sort", "a multi_select field cannot be sorted")]
    assert problems_of(parse(sort="extra")) == [("sort", "a json field cannot be sorted")]
    assert problems_of(parse(limit="ten")) == [("limit", "must be a whole number")]
    assert problems_of(parse(limit="0")) == [("limit", "must be between 1 and 500")]
    assert problems_of(parse(limit="501")) == [("limit", "must be between 1 and 500")]
    assert problems_of(parse(page="0")) == [("page", "must be between 1 and 10000")]
    assert problems_of(parse(offset="-1")) == [("offset", "must be between 0 and 1000000000")]
    assert problems_of(parse(offset="10001"))[0][0] == "offset"
    assert "cursor" in problems_of(parse(offset="10001"))[0][1]
    # every problem is reported at once
    assert [p for p, _ in problems_of(parse(colour="x", score__gt="high", sort="nope", limit="x"))] == [
        "colour__eq",
        "score__gt",
        "limit",
        "sort",
    ]
    # filters and sorts given directly to list() are checked too
    assert problems_of(lambda: items.list("item", ListQuery(sort="nope"))) == [
        ("sort", "unknown field 'nope'")
    ]
    assert problems_of(lambda: make_filter(model, site.registry, "ghost", "eq", "1")) == [
        ("ghost__eq", "unknown field 'ghost'")
    ]


def b64(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        b64('{"a": 1}'),  # an object, not a [value, id] pair
        b64('["x", "y"]'),  # the id is not a number
        b64("[3, 1.5]"),
        b64("[3]"),
        b64('["three", 1]'),  # not a value of the sort field
        b64("[3, 1"),  # not JSON
        "été",
    ],
)
def test_bad_cursors(items: RecordRuntime, cursor: str) -> None:
    assert problems_of(lambda: items.list("item", ListQuery(sort="score", cursor=cursor))) == [
        ("cursor", "not a cursor from this list")
    ]


def test_a_hand_made_cursor_works(items: RecordRuntime) -> None:
    everything = ids_of(items, ListQuery(sort="id", limit=MAX_LIMIT))
    assert ids_of(items, ListQuery(sort="id", cursor=b64("[5, 5]"), limit=3)) == everything[5:8]
    cursor = encode_cursor(items.registry.get("integer"), None, 5, 5)  # type: ignore[arg-type]
    assert ids_of(items, ListQuery(sort="-id", cursor=cursor)) == [4, 3, 2, 1]


def test_a_cursor_only_fits_its_own_sort(site: Site, items: RecordRuntime) -> None:
    page = items.list("item", ListQuery(sort="notes", limit=3))
    assert page.next_cursor
    # the notes-sorted cursor holds a text value that an integer sort cannot read
    assert problems_of(lambda: items.list("item", ListQuery(sort="score", cursor=page.next_cursor))) == [
        ("cursor", "not a cursor from this list")
    ]
    # a cursor from parse_list_args round-trips through the query string
    model = items.model.entity("item")
    query = parse_list_args(
        model, site.registry, {"sort": ["notes"], "limit": ["3"], "cursor": [page.next_cursor]}
    )
    assert ids_of(items, query) == ids_of(items, ListQuery(sort="notes", limit=MAX_LIMIT))[3:6]


def test_list_items_carry_link_titles(site: Site) -> None:
    runtime = site.publish(
        [
            entity("company", [{"name": "name", "type": "text"}], title_field="name"),
            entity("person", [{"name": "employer", "type": "link", "target": "company"}]),
        ]
    )
    acme = runtime.create("company", {"name": "Acme"})
    nameless = runtime.create("company", {})
    for employer in (acme["id"], nameless["id"], None):
        runtime.create("person", {"employer": employer})
    items = runtime.list("person", ListQuery(sort="id")).items
    assert [i["_titles"] for i in items] == [{"employer": "Acme"}, {"employer": f"#{nameless['id']}"}, {}]
    assert dt.datetime.fromisoformat(items[0]["created_at"].replace("Z", "+00:00")).tzinfo is not None
