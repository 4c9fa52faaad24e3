"""The OpenAPI document matches the real routes, and real responses validate against it."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import jsonschema
import sqlalchemy as sa
from flask import Flask

from crm_platform.services import CrmServices
from metamodel.systables import users
from tests.platform.api.apisupport import Api, define_crm


def _rules(app: Flask) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            found.setdefault(path, set()).update(
                m.lower() for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}
            )
    return found


def _json_schema(node: Any) -> Any:
    """Turn OpenAPI 3.0 ``nullable`` into JSON Schema types so jsonschema can check responses."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "$ref" in out:
            out = {"anyOf": [{"$ref": out["$ref"]}, {"type": "null"}]}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def test_document_lists_exactly_the_routes(api_app: Flask, anonymous: Api, admin: Api) -> None:
    """Every /api/v1 rule is documented with the same methods, and nothing else is."""
    define_crm(admin)
    generic = anonymous.ok("GET", "/openapi.json")
    assert {path: set(item) for path, item in generic["paths"].items()} == _rules(api_app)
    doc = admin.ok("GET", "/openapi.json")
    assert doc["openapi"] == "3.0.3"
    documented: dict[str, set[str]] = {}
    for path, item in doc["paths"].items():  # a reader gets each entity's own paths
        template = re.sub(r"^/api/v1/(records|views)/(company|customer)(?=/|$)", r"/api/v1/\1/{entity}", path)
        documented.setdefault(template, set()).update(item)
    assert documented == _rules(api_app)
    assert "/api/v1/records/customer_line" not in doc["paths"]  # lines are written through their parent
    schemas = doc["components"]["schemas"]
    assert {"customerRecord", "customerInput", "companyRecord", "customer_lineRecord", "Error"} <= set(
        schemas
    )
    props = schemas["customerRecord"]["properties"]
    assert props["age"]["type"] == "integer" and props["birthday"]["format"] == "date"
    assert (
        props["tier"]["enum"] == ["gold", "silver", "bronze", None] and props["active"]["type"] == "boolean"
    )
    assert props["lines"]["items"] == {"$ref": "#/components/schemas/customer_lineRecord"}
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}
    list_params = {p["name"]: p for p in doc["paths"]["/api/v1/records/customer"]["get"]["parameters"]}
    assert {"age__gt", "tags__has_any", "name__contains", "cursor", "sort"} <= set(list_params)
    assert list_params["age__gt"]["schema"]["maximum"] == 200 and "company__gt" not in list_params
    assert (
        list_params["age__between"]["schema"]["maxItems"] == 2
        and list_params["age__between"]["explode"] is False
    )
    assert (
        "-birthday" in list_params["sort"]["schema"]["enum"]
        and "tags" not in list_params["sort"]["schema"]["enum"]
    )
    company_params = {p["name"] for p in doc["paths"]["/api/v1/records/company"]["get"]["parameters"]}
    assert "age__gt" not in company_params and "name__contains" in company_params
    assert "/api/v1/records/company/attachments" not in doc["paths"]  # no attachment field there
    assert doc["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_input_schemas_come_from_the_validating_schema(admin: Api) -> None:
    """Each field's input shape is its field type's: bounds, patterns, options, required and closed objects."""
    define_crm(admin)
    schemas = admin.ok("GET", "/openapi.json")["components"]["schemas"]
    customer = schemas["customerInput"]
    props = customer["properties"]
    assert customer["required"] == ["name"] and customer["additionalProperties"] is False
    assert props["name"]["maxLength"] == 100 and "nullable" not in props["name"]
    assert props["age"] == {**props["age"], "type": "integer", "minimum": 0, "maximum": 200, "nullable": True}
    assert props["score"]["pattern"] == r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$"
    assert props["tags"]["items"]["enum"] == ["vip", "new", "partner"] and props["tags"]["minItems"] == 1
    assert props["phone"]["pattern"] == r"^\+?[0-9]{3,20}$"
    assert props["company"]["minimum"] == 1 and props["last_contact"]["format"] == "date-time"
    assert props["lines"]["items"] == {"$ref": "#/components/schemas/customer_lineInput"}
    assert {"lock_version", "owner_id"} <= set(props) and "created_at" not in props
    line = schemas["customer_lineInput"]
    assert line["required"] == ["product"] and set(line["properties"]) == {"product", "qty", "price", "id"}


def test_anonymous_callers_see_no_entities(admin: Api, anonymous: Api) -> None:
    """Without sign-in the document describes the API but names none of the site's entities or fields."""
    define_crm(admin)
    doc = anonymous.ok("GET", "/openapi.json")
    text = json.dumps(doc)
    assert "customer" not in text and "birthday" not in text and "company" not in text.replace("Company", "")
    assert doc["components"]["schemas"]["AnyRecord"] == {"type": "object"}
    entity = next(
        p for p in doc["paths"]["/api/v1/records/{entity}"]["get"]["parameters"] if p["name"] == "entity"
    )
    assert "enum" not in entity["schema"]
    assert "Error" in doc["components"]["schemas"] and "/api/v1/records/{entity}" in doc["paths"]


def test_signed_in_callers_see_only_what_they_may_read(admin: Api, user: Api, api_svc: CrmServices) -> None:
    """A user sees the entities her roles let her read, less hidden fields; masked ones as text, read-only not as input."""
    define_crm(admin)
    admin.ok("POST", "/access/roles", {"name": "clerk"}, status=201)
    rules = [{"entity": "customer", "operation": op, "scope": "all"} for op in ("read", "update")]
    admin.ok("PUT", "/access/roles/clerk/permissions", {"permissions": rules})
    fields = [
        {"entity": "customer", "field": "birthday", "access": "hidden"},
        {"entity": "customer", "field": "phone", "access": "masked"},
        {"entity": "customer", "field": "age", "access": "readonly"},
    ]
    admin.ok("PUT", "/access/roles/clerk/fields", {"fields": fields})
    with api_svc.engine.connect() as conn:
        alice = conn.execute(sa.select(users.c.id).where(users.c.username == "alice")).scalar_one()
    admin.ok("POST", f"/access/users/{alice}/roles", {"role": "clerk"})
    doc = user.ok("GET", "/openapi.json")
    schemas = doc["components"]["schemas"]
    assert "customerRecord" in schemas and "customer_lineRecord" in schemas  # lines come with their parent
    assert "companyRecord" not in schemas and "companyInput" not in schemas
    record, written = schemas["customerRecord"]["properties"], schemas["customerInput"]["properties"]
    assert "birthday" not in record and "birthday" not in written and "birthday" not in json.dumps(doc)
    assert record["phone"]["type"] == "string" and "phone" not in written
    assert record["age"]["type"] == "integer" and "age" not in written and "name" in written
    assert "/api/v1/records/customer" in doc["paths"] and "/api/v1/records/company" not in doc["paths"]
    everything = admin.ok("GET", "/openapi.json")["components"]["schemas"]
    assert "birthday" in everything["customerRecord"]["properties"] and "companyRecord" in everything


def test_real_responses_validate_against_the_document(admin: Api) -> None:
    """Sampled responses of each kind validate against the documented schemas."""
    define_crm(admin)
    acme = admin.ok("POST", "/records/company", {"name": "Acme"}, status=201)["id"]
    doc = admin.ok("GET", "/openapi.json")
    root = _json_schema(doc)

    def check(method: str, template: str, path: str, body: Any = None, **kwargs: Any) -> None:
        response = admin.call(method, path, body, **kwargs)
        operation = doc["paths"]["/api/v1" + template][method.lower()]
        spec = operation["responses"].get(str(response.status_code))
        assert spec is not None, (method, path, response.status_code)
        if "$ref" in spec:
            spec = doc["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
        if "content" not in spec:
            assert not response.data
            return
        media, content = next(iter(spec["content"].items()))
        if media != "application/json":
            return
        schema = {**_json_schema(content["schema"]), "components": root["components"]}
        jsonschema.validate(response.get_json(), schema)

    upload = admin.call(
        "POST",
        "/records/customer/attachments?field=contract",
        data={"file": (io.BytesIO(b"x"), "a.txt", "text/plain")},
    )
    file_id = upload.get_json()["id"]
    full = {
        "name": "Ada",
        "email": "ada@example.com",
        "phone": "+4930123",
        "age": 36,
        "score": "1.50",
        "balance": 12,
        "active": True,
        "birthday": "1990-01-02",
        "last_contact": "2024-01-01T10:00:00Z",
        "tier": "gold",
        "tags": ["vip"],
        "website": "https://a.example.com",
        "notes": "x\ny",
        "extra": {"a": [1]},
        "company": acme,
        "lines": [{"product": "Pen", "qty": 1, "price": "2.00"}],
        "contract": file_id,
    }
    created = admin.ok("POST", "/records/customer", full, status=201)
    rid = created["id"]
    check("POST", "/records/customer", "/records/customer", {"name": "Bob"})
    check("POST", "/records/customer", "/records/customer", {"name": 5, "age": "x"})
    check("GET", "/records/customer", "/records/customer", query_string={"count": "true", "limit": 1})
    check("GET", "/records/customer", "/records/customer", query_string={"age__frob": 1})
    check("GET", "/records/customer/{record_id}", f"/records/customer/{rid}")
    check("GET", "/records/customer/{record_id}", "/records/customer/999")
    check("PATCH", "/records/customer/{record_id}", f"/records/customer/{rid}", {"age": 37})
    check("PATCH", "/records/customer/{record_id}", f"/records/customer/{rid}", {"age": 1, "lock_version": 1})
    check("PUT", "/records/customer/{record_id}", f"/records/customer/{rid}", full)
    check("GET", "/records/customer/lookup", "/records/customer/lookup", query_string={"q": "a"})
    check(
        "POST",
        "/records/customer/attachments",
        "/records/customer/attachments?field=contract",
        data={"file": (io.BytesIO(b"y"), "b.txt", "text/plain")},
    )
    check("GET", "/records/company", "/records/company")
    check("GET", "/meta/field-types", "/meta/field-types")
    check("GET", "/meta/entities", "/meta/entities")
    check("GET", "/meta/entities/{name}", "/meta/entities/customer")
    check("GET", "/meta/draft", "/meta/draft")
    check("GET", "/meta/draft/{kind}/{name}", "/meta/draft/entity/customer")
    check(
        "PUT",
        "/meta/draft/{kind}/{name}",
        "/meta/draft/entity/note",
        {"fields": [{"name": "text", "type": "long_text"}]},
    )
    check("POST", "/meta/draft/validate", "/meta/draft/validate")
    check("GET", "/meta/diff", "/meta/diff?from=1&to=draft")
    check("POST", "/meta/publish", "/meta/publish", {"comment": "notes"})
    check("GET", "/meta/versions", "/meta/versions")
    check("GET", "/meta/versions/{number}", "/meta/versions/1")
    check("POST", "/meta/rollback", "/meta/rollback", {"version": 1})
    check("POST", "/meta/draft/discard", "/meta/draft/discard")
    check("POST", "/meta/purge", "/meta/purge")
    check("POST", "/tokens", "/tokens", {"name": "ci", "days": 1})
    check("DELETE", "/records/customer/{record_id}", f"/records/customer/{rid}")
    check("DELETE", "/meta/draft/{kind}/{name}", "/meta/draft/entity/company")
