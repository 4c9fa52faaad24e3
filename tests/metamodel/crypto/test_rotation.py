"""Key rotation: every ciphertext re-encrypted under the current key, resumably; then the old key can go."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from metamodel.crypto.rotation import rotate_keys
from metamodel.fieldtypes import FieldTypeRegistry
from metamodel.records.query import ListQuery, make_filter
from tests.metamodel.crypto.cryptosupport import KEY_NEW, KEY_OLD, keyring, raw_column, sealed_site
from tests.metamodel.mmsupport import entity

DOC = entity(
    "patient",
    [
        {"name": "name", "type": "text"},
        {"name": "insurance_no", "type": "text", "sensitive": True, "search_hash": True, "unique": True},
        {"name": "diagnosis", "type": "long_text", "sensitive": True},
        {"name": "allergy", "type": "text", "sensitive": True},
    ],
)


class Interrupted(Exception):
    pass


def test_rotation_rewrites_everything_resumably_and_the_old_key_can_go(
    engine: Engine, registry: FieldTypeRegistry
) -> None:
    old_site = sealed_site(engine, registry, keyring(f"k0:{KEY_OLD}"))
    runtime = old_site.publish([DOC])
    for n in range(7):
        runtime.create(
            "patient",
            {"name": f"p{n}", "insurance_no": f"INS-{n}", "diagnosis": f"dx {n}", "allergy": f"al {n}"},
        )
    runtime.create("patient", {"name": "blank"})
    # A removed field keeps its (encrypted) column until purge: it must be rotated too.
    draft = old_site.draft_docs()["patient"]
    draft["fields"] = [f for f in draft["fields"] if f["name"] != "allergy"]
    old_site.publish([draft])

    both = keyring(f"k1:{KEY_NEW},k0:{KEY_OLD}")
    both_site = sealed_site(engine, registry, both)
    before = both_site.runtime().list("patient", ListQuery(sort="id")).items
    assert [r["insurance_no"] for r in before][:2] == ["INS-0", "INS-1"]  # old ciphertexts still readable

    seen: list[tuple[str, int]] = []

    def stop_after_first_batch(label: str, done: int) -> None:
        seen.append((label, done))
        raise Interrupted

    with pytest.raises(Interrupted):
        rotate_keys(engine, both, batch_size=3, progress=stop_after_first_batch)
    assert (
        sum(str(v).startswith("v1:k1:") for v in raw_column(engine, "rec_patient", seen[0][0].split(".")[1]))
        == 3
    )

    report = rotate_keys(engine, both, batch_size=3)
    assert report.total == 3 * 7 - 3  # the first run's batch stayed done
    assert set(report.rewritten) == {
        "rec_patient.insurance_no",
        "rec_patient.diagnosis",
        "rec_patient.rm_" + _field_id(old_site, "allergy"),
    }
    assert set(report.current.values()) == {7}
    for column in ("insurance_no", "diagnosis", "rm_" + _field_id(old_site, "allergy")):
        stored = [v for v in raw_column(engine, "rec_patient", column) if v is not None]
        assert len(stored) == 7 and all(v.startswith("v1:k1:") for v in stored)

    assert rotate_keys(engine, both).total == 0  # a re-run finds nothing left to do

    new_only = sealed_site(engine, registry, keyring(f"k1:{KEY_NEW}"))
    runtime = new_only.runtime()
    after = runtime.list("patient", ListQuery(sort="id")).items
    assert [(r["insurance_no"], r["diagnosis"]) for r in after] == [
        (r["insurance_no"], r["diagnosis"]) for r in before
    ]
    model = runtime.model.entity("patient")
    query = ListQuery([make_filter(model, runtime.registry, "insurance_no", "eq", "INS-4")])
    assert [r["name"] for r in runtime.list("patient", query).items] == ["p4"]
    restored = new_only.draft_docs()["patient"]
    restored["fields"].append(
        next(f for f in DOC["fields"] if f["name"] == "allergy") | {"id": _field_id(old_site, "allergy")}
    )
    runtime = new_only.publish([restored])
    assert runtime.get("patient", 3)["allergy"] == "al 2"  # the set-aside column was rotated as well


def _field_id(site: object, name: str) -> str:
    import sqlalchemy as sa

    from metamodel.systables import physical_columns

    engine: Engine = site.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(physical_columns.c.field_id).where(physical_columns.c.field_name == name)
            ).scalar_one()
        )
