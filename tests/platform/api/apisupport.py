"""Helpers for API tests: a client bound to one user's token, and the acceptance test's metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

BASE = "/api/v1"


@dataclass
class Api:
    """A test client that sends one user's Bearer token and JSON bodies."""

    client: FlaskClient
    token: str | None

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        """Send a request under /api/v1; ``body`` is sent as JSON."""
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        if body is not None:
            kwargs["json"] = body
        response = self.client.open(BASE + path, method=method, headers=headers, **kwargs)
        assert response.status_code < 500, response.get_data(as_text=True)
        return response

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """GET."""
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        """POST."""
        return self.call("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        """PUT."""
        return self.call("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        """PATCH."""
        return self.call("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        """DELETE."""
        return self.call("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
        """Send a request, assert its status and return the JSON body."""
        response = self.call(method, path, body, **kwargs)
        assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
        return response.get_json() if response.data else None

    def define(self, kind: str, name: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Store a draft document (must succeed)."""
        return self.ok("PUT", f"/meta/draft/{kind}/{name}", doc)

    def publish(self, comment: str = "") -> dict[str, Any]:
        """Publish the draft (must succeed)."""
        return self.ok("POST", "/meta/publish", {"comment": comment}, status=201)


def error_of(response: TestResponse) -> dict[str, Any]:
    """Return the ``error`` object of a JSON error response."""
    body = response.get_json()
    assert isinstance(body, dict) and "error" in body, response.get_data(as_text=True)
    return body["error"]


def paths_of(response: TestResponse) -> set[str]:
    """Return the problem paths of an error response."""
    return {d["path"] for d in error_of(response).get("details", [])}


def options(*values: str) -> list[dict[str, str]]:
    """Return select options for ``values``."""
    return [{"value": v} for v in values]


COMPANY = {
    "label": {"en": "Company"},
    "title_field": "name",
    "fields": [{"name": "name", "type": "text", "required": True, "searchable": True}],
}
CUSTOMER_LINE = {
    "is_child": True,
    "fields": [
        {"name": "product", "type": "text", "required": True},
        {"name": "qty", "type": "integer", "min": 0},
        {"name": "price", "type": "decimal", "scale": 2},
    ],
}
CUSTOMER_FIELDS: list[dict[str, Any]] = [
    {"name": "name", "type": "text", "required": True, "searchable": True, "max_length": 100},
    {"name": "email", "type": "email", "unique": True},
    {"name": "phone", "type": "phone"},
    {"name": "age", "type": "integer", "min": 0, "max": 200},
    {"name": "score", "type": "decimal", "scale": 2},
    {"name": "balance", "type": "currency", "currency": "EUR"},
    {"name": "active", "type": "boolean"},
    {"name": "birthday", "type": "date"},
    {"name": "last_contact", "type": "datetime"},
    {"name": "tier", "type": "select", "options": options("gold", "silver", "bronze"), "default": "bronze"},
    {"name": "tags", "type": "multi_select", "options": options("vip", "new", "partner")},
    {"name": "website", "type": "url"},
    {"name": "notes", "type": "long_text"},
    {"name": "extra", "type": "json"},
    {"name": "company", "type": "link", "target": "company", "on_delete": "restrict"},
    {"name": "lines", "type": "child_table", "child_entity": "customer_line"},
    {"name": "contract", "type": "attachment", "accept": [".pdf", ".txt"], "max_size": 1000},
]


def customer_doc(fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Return the customer entity document."""
    return {
        "label": {"en": "Customer"},
        "title_field": "name",
        "fields": fields if fields is not None else CUSTOMER_FIELDS,
    }


def define_crm(api: Api) -> dict[str, Any]:
    """Define and publish company, customer_line and customer; returns the publish result."""
    api.define("entity", "company", COMPANY)
    api.define("entity", "customer_line", CUSTOMER_LINE)
    api.define("entity", "customer", customer_doc())
    return api.publish("crm entities")
