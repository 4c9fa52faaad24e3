"""Generated list pages: filters, sort, keyset paging, search, languages and escaping."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from crm_platform.services import CrmServices


def _names(html: str) -> list[str]:
    # The title column's cell links to the record.
    return re.findall(r'<td data-label="Name"[^>]*><a [^>]*>([^<]*)</a>', html)


def test_filters_sort_and_paging(client: FlaskClient, svc: CrmServices) -> None:
    runtime = svc.runtime()
    for i in range(30):
        runtime.create(
            "customer", {"name": f"N{i:02d}", "tier": "gold" if i % 3 == 0 else "silver", "credit": str(i)}
        )
    html = client.get("/e/customer?tier=gold&sort=name&limit=4").text
    assert _names(html) == ["N00", "N03", "N06", "N09"]
    assert "10 record(s)" in html
    seen = _names(html)
    next_link = re.search(r'rel="next" class="next" href="([^"]+)"', html)
    while next_link:
        html = client.get(next_link.group(1).replace("&amp;", "&")).text
        seen += _names(html)
        next_link = re.search(r'rel="next" class="next" href="([^"]+)"', html)
    assert seen == [f"N{i:02d}" for i in range(0, 30, 3)]
    html = client.get("/e/customer?credit__gte=25&sort=-credit").text
    assert _names(html) == ["N29", "N28", "N27", "N26", "N25"]
    html = client.get("/e/customer?q=n1&sort=name&limit=50").text
    assert _names(html) == [f"N1{i}" for i in range(10)]


def test_bad_filter_is_a_clear_400(client: FlaskClient) -> None:
    response = client.get("/e/customer?credit__contains=x")
    assert response.status_code == 400
    assert "operator" in response.text
    response = client.get("/e/customer?sort=nosuchfield")
    assert response.status_code == 400
    assert client.get("/e/nosuchentity").status_code == 404


def test_chinese_labels(client: FlaskClient, svc: CrmServices) -> None:
    svc.runtime().create("customer", {"name": "王", "tier": "gold"})
    html = client.get("/e/customer?lang=zh-CN").text
    assert "客户" in html and "名称" in html and "金卡" in html and "新建" in html
    form = client.get("/e/customer/new").text  # the cookie keeps the language
    assert "保存" in form and "品名" in form


def test_script_in_values_is_escaped(client: FlaskClient, svc: CrmServices) -> None:
    record = svc.runtime().create("customer", {"name": "<script>alert(1)</script>"})
    for url in ("/e/customer", f"/e/customer/{record['id']}", f"/e/customer/{record['id']}/edit"):
        html = client.get(url).text
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_lookup_for_pickers(client: FlaskClient, svc: CrmServices) -> None:
    svc.runtime().create("company", {"name": "Alpha Trading"})
    svc.runtime().create("company", {"name": "Beta Works"})
    assert [r["title"] for r in client.get("/e/company/lookup?q=alp").json] == ["Alpha Trading"]


def test_pages_need_sign_in(site_app: Flask) -> None:
    response = site_app.test_client().get("/e/customer")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_cells_and_filter_chips_read_in_words(client: FlaskClient, svc: CrmServices) -> None:
    company = svc.runtime().create("company", {"name": "ACME <Ltd>"})
    svc.runtime().create(
        "customer", {"name": "Wu", "tier": "gold", "credit": "12345.5", "company": company["id"]}
    )
    html = client.get("/e/customer?tier=gold&lang=zh-CN").text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert (
        "名称 等于 金卡" not in text and "Tier 等于 金卡" in text
    )  # the chip: label, operator, option label
    assert re.search(
        r'<td data-label="Credit" class="[^"]*\btext-end\b[^"]*"[^>]*>\s*¥12,345.50\s*</td>', html
    )
    assert f'<a href="/e/company/{company["id"]}">ACME &lt;Ltd&gt;</a>' in html  # linked by its title
    assert 'class="badge crm-badge"' in html
