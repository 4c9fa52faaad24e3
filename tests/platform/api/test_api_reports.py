"""Reports over the API: saved in the metadata, checked at publish, run under the viewer's row scope,
refused on fields hidden or masked for her, labelled in her language, exported as CSV, kept by rollback."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.platform.api.apisupport import Api, error_of, paths_of
from tests.platform.api.reportsupport import BY_STAGE, REPAIR


def rows(api: Api, name: str = "by_stage", **kwargs: Any) -> list[tuple[Any, ...]]:
    result = api.ok("GET", f"/reports/{name}/run", **kwargs)
    keys = [c["key"] for c in result["columns"]]
    return [tuple(row[k] for k in keys) for row in result["rows"]]


def test_each_store_manager_sees_only_her_stores_rows(
    shops: dict[str, Any], admin: Api, user: Api, bob: Api
) -> None:
    assert rows(user) == [("new", 1, 10.5), ("paid", 2, 21.25)]
    assert rows(bob) == [("paid", 1, 100.0)]
    assert rows(admin) == [("new", 1, 10.5), ("paid", 3, 121.25)]


def test_results_carry_labels_in_the_viewers_language(shops: dict[str, Any], user: Api) -> None:
    result = user.ok("GET", "/reports/by_stage/run?lang=zh-CN")
    assert [c["label"] for c in result["columns"]] == ["阶段", "数量", "金额合计"]
    assert result["chart"] == {"type": "bar"}
    listed = user.ok("GET", "/reports?lang=zh-CN")["items"]
    assert listed == [{"name": "by_stage", "entity": "sale", "label": "各阶段销售额", "chart": "bar"}]


def test_masked_and_hidden_fields_are_refused_as_dimension_or_measure(
    shops: dict[str, Any], user: Api, admin: Api
) -> None:
    for query in (
        {"dimensions": ["phone"]},
        {"measures": [{"function": "count_distinct", "field": "phone"}]},
        {"filters": [{"field": "phone", "op": "eq", "value": "1"}]},
    ):
        refused = user.post("/reports/run", {"entity": "sale", "query": query})
        assert refused.status_code in (400, 403), query
        if refused.status_code == 403:
            assert "hidden or masked for you" in error_of(refused)["message"]
    # phone is not groupable at all; count_distinct is refused for her only
    measured = user.post(
        "/reports/run",
        {"entity": "sale", "query": {"measures": [{"function": "count_distinct", "field": "phone"}]}},
    )
    assert measured.status_code == 403
    assert (
        admin.post(
            "/reports/run",
            {"entity": "sale", "query": {"measures": [{"function": "count_distinct", "field": "phone"}]}},
        ).status_code
        == 200
    )


def test_unsaved_reports_and_bad_ones(shops: dict[str, Any], admin: Api) -> None:
    result = admin.ok(
        "POST",
        "/reports/run",
        {
            "entity": "sale",
            "query": {
                "dimensions": [{"field": "day", "bucket": "month"}],
                "measures": [{"function": "max", "field": "amount"}],
            },
        },
    )
    assert [(r["day__month"], r["max__amount"]) for r in result["rows"]] == [
        ("2026-11-01", 20.25),
        ("2026-12-01", 100.0),
    ]
    bad = admin.post("/reports/run", {"entity": "sale", "query": {"dimensions": ["code"], "limit": 0}})
    assert bad.status_code == 400
    assert paths_of(bad) == {"report.preview.query.dimensions[0]", "report.preview.query.limit"}
    assert admin.post("/reports/run", {"entity": "nope"}).status_code == 404
    assert admin.post("/reports/run", {"query": {}}).status_code == 400
    assert admin.get("/reports/nope/run").status_code == 404


def test_a_report_that_does_not_fit_its_entity_is_refused_at_publish(
    shops: dict[str, Any], admin: Api
) -> None:
    admin.define(
        "report",
        "broken",
        {"entity": "sale", "query": {"measures": [{"function": "sum", "field": "stage"}]}},
    )
    refused = admin.post("/meta/publish", {"comment": "broken report"})
    assert refused.status_code == 422
    assert "report.broken.query.measures[0]" in paths_of(refused)


def test_reports_for_roles_and_rollback(shops: dict[str, Any], admin: Api, user: Api) -> None:
    admin.define("report", "secret", {**BY_STAGE, "roles": ["finance"]})
    version = admin.publish("finance report")["number"]
    assert user.get("/reports/secret/run").status_code == 404
    assert [r["name"] for r in user.ok("GET", "/reports")["items"]] == ["by_stage"]
    assert admin.ok("GET", "/reports/secret/run")["rows"]
    admin.ok("POST", "/meta/rollback", {"version": version - 1, "comment": "undo"}, status=201)
    assert admin.get("/reports/secret").status_code == 404
    assert admin.ok("GET", "/reports/by_stage")["query"]["dimensions"] == ["stage"]


def test_csv_export_uses_labels_and_needs_the_export_permission(
    shops: dict[str, Any], admin: Api, user: Api
) -> None:
    assert user.get("/reports/by_stage/export").status_code == 403
    response = admin.get("/reports/by_stage/export")
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines == [["Stage", "Count", "Sum of Amount"], ["new", "1", "10.5"], ["paid", "3", "121.25"]]


def test_a_duration_over_a_hidden_or_masked_field_is_refused_with_a_clear_message(
    shops: dict[str, Any], admin: Api, user: Api
) -> None:
    admin.define("entity", "repair", REPAIR)
    admin.publish("repairs")
    rules = [{"entity": "sale", "operation": "read", "scope": "org_unit"}]
    rules.append({"entity": "repair", "operation": "read", "scope": "all"})
    admin.ok("PUT", "/access/roles/store_manager/permissions", {"permissions": rules})
    admin.ok(
        "PUT",
        "/access/roles/store_manager/fields",
        {
            "fields": [
                {"entity": "repair", "field": "fixed_at", "access": "hidden"},
                {"entity": "repair", "field": "billed_at", "access": "masked"},
            ]
        },
    )
    admin.ok(
        "POST",
        "/records/repair",
        {"reported_at": "2026-11-02T08:00:00Z", "fixed_at": "2026-11-02T14:30:00Z", "billed_at": None},
        status=201,
    )

    def mean_time(api: Api, end: str, since: str = "reported_at", lang: str = "en") -> Any:
        measure = {"function": "avg", "field": end, "since": since, "unit": "hours"}
        return api.post(f"/reports/run?lang={lang}", {"entity": "repair", "query": {"measures": [measure]}})

    assert admin.ok(
        "POST",
        "/reports/run",
        {
            "entity": "repair",
            "query": {
                "measures": [
                    {"function": "avg", "field": "fixed_at", "since": "reported_at", "unit": "hours"}
                ]
            },
        },
    )["rows"] == [{"avg__fixed_at__since__reported_at": 6.5, "drill": {}}]
    for end, since in (
        ("fixed_at", "reported_at"),
        ("reported_at", "fixed_at"),
        ("billed_at", "reported_at"),
    ):
        refused = mean_time(user, end, since)
        assert refused.status_code == 403, (end, since)
        hidden = "fixed_at" if "fixed_at" in (end, since) else "billed_at"
        assert error_of(refused)["message"] == (
            f"you may not measure repair records by {hidden}: the field is hidden or masked for you"
        )
    # The one she sees in clear, measured against itself, is a different problem: a bad query, not a refusal.
    assert mean_time(user, "reported_at", "reported_at").status_code == 400
