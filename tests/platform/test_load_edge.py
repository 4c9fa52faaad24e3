"""Load at the edge: 4 gunicorn workers under mixed traffic while a field is added, renamed and rolled back.

Bounded (about 10 s of load) on loopback, on the test database (SQLite, or PostgreSQL with
CRM_TEST_DATABASE=postgresql) with Redis sharing the rate limits. Checks: no 5xx, no acknowledged write
lost (every 201 record exists, every acknowledged versioned increment counted), and an anonymous limit
of 20 a minute holding across the workers.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from crm_platform.app import create_app
from crm_platform.auth.users import create_token, create_user
from crm_platform.services import CrmServices
from metamodel.definitions import Bundle

pytestmark = pytest.mark.load

REDIS_URL = "redis://127.0.0.1:6379"
LOAD_SECONDS = 10.0
CLIENTS = 6
ANONYMOUS_PER_MINUTE = 20
MEMBER = {
    "name": "member",
    "title_field": "name",
    "fields": [
        {"name": "name", "type": "text", "required": True},
        {
            "name": "tier",
            "type": "select",
            "default": "standard",
            "options": [{"value": "standard"}, {"value": "gold"}],
        },
        {"name": "points", "type": "integer"},
    ],
}


class Client:
    """One keep-alive HTTP connection with a bearer token; answers (status, headers, JSON body)."""

    def __init__(self, port: int, token: str | None) -> None:
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, Any]:
        """Send one request under /api/v1."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body) if body is not None else None
        try:
            self.conn.request(method, "/api/v1" + path, data, sent)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):  # a worker closed the keep-alive connection
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, "/api/v1" + path, data, sent)
            response = self.conn.getresponse()
        raw = response.read()
        return response.status, response.headers, json.loads(raw) if raw else None


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[tuple[int, str]]:
    """Prepare the site, start gunicorn with 4 workers; yield its port and an administrator's token."""
    prefix = f"crm-load-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "CRM_DATABASE_URL": db_url,
        "CRM_INSTANCE_DIR": str(tmp_path),
        "CRM_SECRET_KEY": "load-test",
        "CRM_SCHEDULER": "off",
        "CRM_ENCRYPTION": "off",
        "CRM_RATELIMIT_STORAGE": REDIS_URL,
        "CRM_RATELIMIT_PREFIX": prefix,
        "CRM_RATELIMIT": "100000/minute",
        "CRM_RATELIMIT_EXPENSIVE": "100000/minute",
        "CRM_RATELIMIT_ANONYMOUS": f"{ANONYMOUS_PER_MINUTE}/minute",
    }
    app = create_app({k: v for k, v in env.items() if k.startswith("CRM_")} | {"SECRET_KEY": "load-test"})
    svc: CrmServices = app.extensions["crm"]
    svc.metadata.replace_draft(Bundle.from_json({"entity": {"member": MEMBER}}), "load")
    svc.metadata.publish("load", "members")
    admin = create_user(svc.engine, "admin", "admin-password-1", is_admin=True)
    token = create_token(svc.engine, admin.id, "load")
    svc.engine.dispose()
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "4",
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "2",
    ]
    process = subprocess.Popen(
        [*command, "crm_platform.wsgi:app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                answer = Client(port, token).call("GET", "/meta/field-types")
                if answer[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        yield port, token
    finally:
        process.terminate()
        process.wait(10)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)


def test_four_workers_under_mixed_load_and_metadata_changes(server: tuple[int, str]) -> None:
    """No 5xx, no lost acknowledged write, limits shared by workers, while the schema changes."""
    port, token = server
    counter = Client(port, token).call("POST", "/records/member", {"name": "counter", "points": 0})[2]
    stop = threading.Event()
    server_errors: list[str] = []
    created: list[int] = []
    increments = [0]
    lock = threading.Lock()
    seen: dict[tuple[str, int], int] = {}
    samples: list[Any] = []

    def note(status: int, what: str, body: Any) -> None:
        with lock:
            seen[(what, status)] = seen.get((what, status), 0) + 1
            if status in (401, 429) and len(samples) < 3:
                samples.append(body)
        if status >= 500:
            server_errors.append(f"{what}: {status} {body}")

    def traffic(seed: int) -> None:
        rng, client = random.Random(seed), Client(port, token)
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.3:
                status, _, body = client.call("POST", "/records/member", {"name": f"m{seed}-{rng.random()}"})
                note(status, "create", body)
                if status == 201:
                    with lock:
                        created.append(body["id"])
            elif roll < 0.55:
                status, _, body = client.call("GET", f"/records/member/{counter['id']}")
                note(status, "read", body)
            elif roll < 0.75:
                status, _, body = client.call("GET", "/records/member?tier=standard&limit=20")
                note(status, "list", body)
            else:
                increment(client)

    def increment(client: Client) -> None:
        # Read-modify-write with If-Match: a 409 means someone else won; read again.
        for _ in range(50):
            status, headers, body = client.call("GET", f"/records/member/{counter['id']}")
            note(status, "read for update", body)
            if status != 200:
                continue
            status, _, answer = client.call(
                "PATCH",
                f"/records/member/{counter['id']}",
                {"points": (body.get("points") or 0) + 1},
                headers={"If-Match": headers["ETag"]},
            )
            note(status, "versioned update", answer)
            if status == 200:
                with lock:
                    increments[0] += 1
                return

    def changes() -> None:
        client = Client(port, token)
        added = {**MEMBER, "fields": [*MEMBER["fields"], {"name": "nickname", "type": "text"}]}
        for step in ("add", "rename", "rollback"):
            time.sleep(LOAD_SECONDS / 4)
            if step == "add":
                client.call("PUT", "/meta/draft/entity/member", added)
            elif step == "rename":
                doc = client.call("GET", "/meta/draft/entity/member")[2]
                doc["fields"][-1]["name"] = "alias"
                client.call("PUT", "/meta/draft/entity/member", doc)
            if step == "rollback":
                status, _, body = client.call("POST", "/meta/rollback", {"version": 1})
            else:
                status, _, body = client.call("POST", "/meta/publish", {"comment": step})
            assert status == 201, (step, status, body)

    threads = [threading.Thread(target=traffic, args=(i,)) for i in range(CLIENTS)]
    changer = threading.Thread(target=changes)
    for thread in [*threads, changer]:
        thread.start()
    changer.join()
    time.sleep(LOAD_SECONDS / 4)
    stop.set()
    for thread in threads:
        thread.join()

    print(f"created {len(created)}, increments {increments[0]}", seen, samples)
    assert not server_errors, server_errors[:5]
    check = Client(port, token)
    assert check.call("GET", f"/records/member/{counter['id']}")[2]["points"] == increments[0] > 0
    missing = [i for i in created if check.call("GET", f"/records/member/{i}")[0] != 200]
    assert created and not missing
    answers = [Client(port, None).call("GET", "/openapi.json") for _ in range(ANONYMOUS_PER_MINUTE + 10)]
    anonymous = [status for status, _, _ in answers]
    assert anonymous.count(200) == ANONYMOUS_PER_MINUTE, answers[0][2]
    assert anonymous.count(200) == ANONYMOUS_PER_MINUTE and anonymous.count(429) == 10
