"""The board page: columns per workflow state with counts and sums, cards, lazy columns, and moves
through the workflow service (a guard refuses in words, nothing changes)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from crm_platform.services import CrmServices
from tests.platform.pages.boardsupport import publish_deals
from tests.platform.pages.conftest import csrf_of


def cards_in(html: str) -> list[str]:
    return re.findall(r'class="crm-card-title[^"]*" href="[^"]+">([^<]+)</a>', html)


def test_board_shows_a_column_per_state_with_counts_and_sums(client: FlaskClient, svc: CrmServices) -> None:
    publish_deals(svc)
    runtime = svc.runtime()
    runtime.create("deal", {"title": "Alpha", "amount": "100.50", "priority": "high"})
    runtime.create("deal", {"title": "Beta", "amount": "20"})
    lost = runtime.create("deal", {"title": "Gamma", "amount": "5"})
    runtime.update("deal", lost["id"], {"stage": "lost"})
    page = client.get("/e/deal/board?lang=en")
    assert page.status_code == 200
    html = page.text
    assert [m for m in re.findall(r'data-label="([^"]+)"', html)] == ["New", "Won", "Lost"]
    assert re.findall(r'crm-board-count"[^>]*>(\d+)<', html) == ["2", "0", "1"]
    assert "120.50" in html and "5.00" in html
    assert sorted(cards_in(html)) == ["Alpha", "Beta", "Gamma"]
    assert "Amount" in html and "/e/deal/board/move" in html
    zh = client.get("/e/deal/board?lang=zh-CN").text
    assert "新建" in zh and "赢单" in zh and "看板" in zh


def test_the_switcher_groups_by_another_select_and_drops_the_sum(
    client: FlaskClient, svc: CrmServices
) -> None:
    publish_deals(svc)
    svc.runtime().create("deal", {"title": "Alpha", "priority": "high", "amount": "3"})
    svc.runtime().create("deal", {"title": "Beta"})
    html = client.get("/e/deal/board?group=priority&sum=&lang=en").text
    assert re.findall(r'data-label="([^"]+)"', html) == ["High", "Low", "No value"]
    assert re.findall(r'crm-board-count"[^>]*>(\d+)<', html) == ["1", "0", "1"]
    assert "crm-board-sum" not in html
    assert "data-targets" not in html  # a select board: every column takes every card
    assert client.get("/e/deal/board?group=nope").status_code == 200  # an unknown choice falls back
    bad = client.get("/e/deal/board?amount__gt=abc")
    assert bad.status_code == 400 and "amount__gt" in bad.text


def test_columns_load_their_further_cards_lazily(client: FlaskClient, svc: CrmServices) -> None:
    publish_deals(svc)
    for index in range(25):
        svc.runtime().create("deal", {"title": f"Deal {index:02d}"})
    html = client.get("/e/deal/board").text
    assert len(cards_in(html)) == 20 and re.findall(r'crm-board-count"[^>]*>(\d+)<', html)[0] == "25"
    more = re.search(r'data-url="([^"]+)"', html)
    assert more
    rest = client.get(more.group(1).replace("&amp;", "&")).text
    assert sorted(cards_in(rest)) == [f"Deal {i:02d}" for i in range(5)]
    assert "crm-board-more" not in rest


def test_moves_run_the_workflow_and_refusals_come_back_in_words(
    client: FlaskClient, svc: CrmServices
) -> None:
    publish_deals(svc)
    runtime = svc.runtime()
    rich = runtime.create("deal", {"title": "Rich", "amount": "10"})
    empty = runtime.create("deal", {"title": "Empty", "amount": "0"})
    html = client.get("/e/deal/board").text
    token = csrf_of(html) if 'name="csrf_token"' in html else ""
    assert '"new": ["lost", "won"]' in html.replace("&#34;", '"') or "new" in html

    def move(record_id: int, to: str, lang: str = "en") -> tuple[int, dict]:
        response = client.post(
            f"/e/deal/board/move?lang={lang}",
            data={"record_id": str(record_id), "to": to},
            headers={"X-CSRFToken": token},
        )
        return response.status_code, response.get_json()

    status, answer = move(rich["id"], "won")
    assert status == 200 and answer["ok"] and answer["moved"]
    assert answer["columns"]["won"]["count"] == 1 and "10.00" in answer["columns"]["won"]["total"]
    assert runtime.get("deal", rich["id"])["stage"] == "won"
    status, answer = move(empty["id"], "won")
    assert status == 409 and not answer["ok"]
    assert answer["message"] == "The conditions for this step are not met."
    assert "amount" not in answer["message"]  # never the guard's expression
    assert runtime.get("deal", empty["id"])["stage"] == "new"
    status, answer = move(empty["id"], "won", "zh-CN")
    assert answer["message"] == "不满足这一步的条件。"
    status, answer = move(rich["id"], "new")  # reopen needs the manager role
    assert status == 403 and answer["message"] == "Your role may not take this step."
    status, answer = move(rich["id"], "lost")  # no transition from won to lost
    assert status == 409 and answer["message"] == "There is no step from Won to Lost."
    assert move(999, "won")[0] == 404
    assert (
        client.post("/e/deal/board/move", data={"record_id": str(empty["id"]), "to": "lost"}).status_code
        == 400
    )


def test_a_select_board_moves_by_updating_the_field(client: FlaskClient, svc: CrmServices) -> None:
    publish_deals(svc)
    deal = svc.runtime().create("deal", {"title": "Alpha"})
    token = csrf_of(client.get("/e/deal/board?group=priority").text)
    response = client.post(
        "/e/deal/board/move?group=priority",
        data={"record_id": str(deal["id"]), "to": "high", "lock_version": str(deal["lock_version"])},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200 and response.get_json()["columns"]["high"]["count"] == 1
    assert svc.runtime().get("deal", deal["id"])["priority"] == "high"
    stale = client.post(
        "/e/deal/board/move?group=priority",
        data={"record_id": str(deal["id"]), "to": "low", "lock_version": str(deal["lock_version"])},
        headers={"X-CSRFToken": token},
    )
    assert stale.status_code == 409 and not stale.get_json()["ok"]


def test_entities_without_a_select_have_no_board(client: FlaskClient, svc: CrmServices) -> None:
    html = client.get("/e/company/board?lang=en").text
    assert "No board for this list" in html
    assert client.get("/e/nothing/board").status_code == 404
