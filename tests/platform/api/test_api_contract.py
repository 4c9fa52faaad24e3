"""schemathesis against the running app: every documented operation with generated requests.

Each operation gets a bounded number of examples (``CRM_CONTRACT_EXAMPLES``, default 3) from a fixed seed,
so CI stays short and repeatable; set ``CRM_CONTRACT_SEED`` to explore other examples.  The checks are
schemathesis' own: no 5xx, only documented status codes, responses matching their schemas, schema-valid
requests accepted, and requests without credentials refused with 401.

One exception to "schema-valid requests are accepted": a 422 whose every problem is about existing data,
another field or a file's content (a link to a missing record, a duplicate, a password equal to the user
name, a file of the wrong kind) is what no schema can express; ``SEMANTIC`` lists those problem codes, and
any other refusal of a schema-valid request fails the test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, assume, given, seed, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from crm_platform.app import create_app
from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from tests.platform.api.apisupport import Api, define_crm
from tests.platform.encryptionsupport import TEST_ENCRYPTION

EXAMPLES = int(os.environ.get("CRM_CONTRACT_EXAMPLES", "3"))
SEED = int(os.environ.get("CRM_CONTRACT_SEED", "20261205"))
# Operations that change the whole site run last, so the record operations meet the defined entities.
_LATE = ("/api/v1/meta/rollback", "/api/v1/meta/publish", "/api/v1/meta/purge", "/api/v1/packs/")
SEMANTIC = frozenset(
    {
        "reference",  # a link or line id naming a record that does not exist (or is not this record's)
        "unique",  # a value another record already holds
        "duplicate",  # the same entity/operation twice in one list
        "unknown_entity",  # a field rule for an entity the site does not have
        "unknown",  # a role name the site does not have
        "equals_username",  # a password equal to the user name
        "common",  # a password from the common-password list
        "weak",  # a password zxcvbn finds easy to guess
        "file",  # an upload that is not a readable CSV or XLSX file
        "file_type",  # an upload of a kind the attachment field does not accept
    }
)


@dataclass
class Run:
    """What the run did: operations, examples and failures by operation."""

    operations: int = 0
    examples: int = 0
    semantic: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def _semantic_refusal(response: Any) -> bool:
    """Whether a 422 refuses only for reasons about data, other fields or file contents (see SEMANTIC)."""
    if response.status_code not in (400, 422):
        return False
    try:
        details = response.json()["error"].get("details") or []
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    if response.status_code == 400:
        # A paging cursor is opaque: one the list never issued is refused, which no schema can say.
        return bool(details) and all(d.get("code") == "cursor" for d in details)
    return bool(details) and all(d.get("code") in SEMANTIC for d in details)


@pytest.fixture
def contract_app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Return an app without rate limits (the run sends hundreds of requests from one address)."""
    built = create_app(
        {
            "CRM_DATABASE_URL": db_url,
            "CRM_ATTACHMENT_DIR": str(tmp_path / "att"),
            "CRM_INSTANCE_DIR": str(tmp_path),
            "SECRET_KEY": "test",
            "TESTING": True,
            "CRM_RATELIMIT": "0",
            "CRM_RATELIMIT_ANONYMOUS": "0",
            "CRM_RATELIMIT_EXPENSIVE": "0",
            **TEST_ENCRYPTION,
        }
    )
    yield built
    built.extensions["crm"].engine.dispose()


def _order(label: str) -> tuple[bool, str]:
    return any(part in label for part in _LATE), label


def _spares_the_caller(case: Any, admin_id: int, token_id: int) -> bool:
    """Whether a case leaves the running administrator and her token alone (else the rest is all 401)."""
    params = case.path_parameters or {}
    if case.method.upper() == "GET":
        return True
    if str(params.get("user_id")) == str(admin_id):
        return False
    return not ("token_id" in params and str(params["token_id"]) == str(token_id))


def _exercise(schema: Any, headers: dict[str, str], keep: Callable[[Any], bool]) -> Run:
    run = Run()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in sorted(operations, key=lambda op: _order(op.label)):
        run.operations += 1

        def check(case: Any) -> None:
            assume(keep(case))
            run.examples += 1
            response = case.call(headers=headers)
            if _semantic_refusal(response):
                run.semantic += 1
                excluded = [positive_data_acceptance]
            else:
                excluded = []
            case.validate_response(
                response, excluded_checks=excluded, headers=headers, transport_kwargs={"headers": headers}
            )

        test = settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(seed(SEED)(given(operation.as_strategy())(check)))
        try:
            test()
        except (Exception, BaseExceptionGroup) as exc:  # a failure group is not an Exception; report all
            run.failures[operation.label] = str(exc)[:1500]
    return run


def test_the_api_honours_its_document(contract_app: Flask) -> None:
    """schemathesis finds no 5xx, no undocumented status or shape and no refused valid request."""
    svc: CrmServices = contract_app.extensions["crm"]
    account = create_user(svc.engine, "admin", "ann-amber-kettle-42", is_admin=True)
    token = create_token(svc.engine, account.id, "contract")
    admin = Api(contract_app.test_client(), token)
    define_crm(admin)
    company = admin.ok("POST", "/records/company", {"name": "Acme"}, status=201)["id"]
    admin.ok("POST", "/records/customer", {"name": "Ada", "company": company, "age": 36}, status=201)
    token_id = admin.ok("GET", "/tokens")["items"][0]["id"]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", contract_app, headers=headers)
    started = time.monotonic()
    run = _exercise(schema, headers, lambda case: _spares_the_caller(case, account.id, token_id))
    summary = (
        f"schemathesis: {run.operations} operations, {run.examples} examples "
        f"({run.semantic} refused for data reasons), {len(run.failures)} failing operations "
        f"in {time.monotonic() - started:.1f} s"
    )
    print(summary)
    assert run.operations > 80 and run.examples > run.operations
    assert not run.failures, summary + "\n\n" + "\n\n".join(f"== {k}\n{v}" for k, v in run.failures.items())
