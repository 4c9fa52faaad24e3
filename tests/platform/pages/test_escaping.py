"""Script written into metadata labels (by an admin or a pack) is shown as text on every generated page."""

from __future__ import annotations

from flask.testing import FlaskClient

from crm_platform.services import CrmServices

PAYLOAD = '<img src=x onerror="alert(1)">'
ESCAPED = "&lt;img src=x onerror="


def _label(text: str) -> dict[str, str]:
    return {"en": f"{text} {PAYLOAD}", "zh-CN": f"{text} {PAYLOAD}"}


def test_script_in_labels_is_escaped(client: FlaskClient, svc: CrmServices) -> None:
    svc.metadata.put_document(
        "entity",
        "probe",
        {
            "label": _label("Probe"),
            "label_plural": _label("Probes"),
            "title_field": "name",
            "list_fields": ["name", "kind"],
            "fields": [
                {
                    "name": "name",
                    "type": "text",
                    "label": _label("Name"),
                    "help": _label("Help"),
                    "placeholder": _label("Placeholder"),
                },
                {
                    "name": "kind",
                    "type": "select",
                    "label": _label("Kind"),
                    "options": [{"value": "a", "label": _label("Option")}],
                },
            ],
        },
        "test",
    )
    svc.metadata.publish("test", "labels carrying markup")
    record = svc.runtime().create("probe", {"name": PAYLOAD, "kind": "a"})
    for url in ("/", "/e/probe", "/e/probe/new", f"/e/probe/{record['id']}", f"/e/probe/{record['id']}/edit"):
        for lang in ("en", "zh-CN"):
            response = client.get(f"{url}?lang={lang}")
            assert response.status_code == 200, url
            assert PAYLOAD not in response.text, url
            assert 'onerror="alert(1)"' not in response.text, url
    assert ESCAPED in client.get("/e/probe").text
