"""Helpers for the import tests: a GBK file with bad rows, duplicates, link titles and child lines."""

from __future__ import annotations

import io
from typing import Any

from tests.platform.api.apisupport import Api

HEADERS = "name,email,phone,age,company,ref,lines.product,lines.qty"
ROWS = [
    "张三,zs@x.com,138 0013 8000,30,Acme,R1,苹果,2",  # row 2: created with two lines
    ",,,,,R1,香蕉,3",  # row 3: second line of R1
    "李四,ls@x.com,,abc,Acme,R2,梨,1",  # row 4: bad age
    "王五,ww@x.com,,40,NoSuchCo,R3,桃,1",  # row 5: unknown company
    "赵六,zl@x.com,,50,Globex,R4,橙,-1",  # row 6: bad line quantity
    "张三 二,ZS@X.com ,,31,Acme,R5,苹果,1",  # row 7: duplicate of row 2 in the file (e-mail case)
    "Old Person,OLD@x.com,,60,Acme,R6,梨,1",  # row 8: duplicate of a stored record
    "孙七,sq@x.com,,20,acme,R7,李,4",  # row 9: created (title matched without case)
]
EXPECTED_ERRORS = [
    {"row": 4, "column": "age", "message": "must be a number"},
    {"row": 5, "column": "company", "message": "no company record 'NoSuchCo'"},
    {"row": 6, "column": "lines.qty", "message": "must be at least 0"},
    {"row": 7, "column": "email", "message": "duplicate of row 2 in the file (skipped)"},
    {"row": 8, "column": "email", "message": "already stored as customer #1 (skipped)"},
]
OPTIONS: dict[str, Any] = {"key_fields": ["email"], "duplicates": "skip", "parent_key": "ref"}


def gbk_file(rows: list[str] | None = None) -> bytes:
    """Return the test file encoded in GBK."""
    return "\r\n".join([HEADERS, *(ROWS if rows is None else rows)]).encode("gbk")


def upload(api: Api, data: bytes, name: str = "customers.csv", entity: str = "customer", **form: str) -> Any:
    """Upload a file for import; returns the response."""
    return api.call(
        "POST",
        f"/records/{entity}/imports",
        data={"file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )


def seed(admin: Api) -> None:
    """Two companies and one stored customer (old@x.com)."""
    admin.ok("POST", "/records/company", {"name": "Acme"}, status=201)
    admin.ok("POST", "/records/company", {"name": "Globex"}, status=201)
    admin.ok("POST", "/records/customer", {"name": "Old Person", "email": "old@x.com"}, status=201)
