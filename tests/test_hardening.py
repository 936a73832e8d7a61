"""Hardening against what an outside test found (issue 19): NUL characters are refused before they
reach the database, and a residents' search matches what was typed literally."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from dispatcher.context import Dispatcher
from tests.conftest import token_headers


def test_nul_characters_are_refused_everywhere_with_what_to_fix(client: TestClient, ctx: Dispatcher) -> None:
    """On both databases: a NUL in a JSON body, a form post, a query or a path answers 422
    `request.nul`, never 500, and the connection stays usable."""
    op = token_headers(client, "ina-demo-operator")
    rid = client.get("/api/v1/residents", params={"limit": 1}, headers=op).json()[0]["id"]
    answers = [
        client.post(f"/api/v1/residents/{rid}/notes", json={"text": "耳が\u0000遠い"}, headers=op),
        client.post(
            f"/api/v1/residents/{rid}/notes",
            content=b'{"text": "a\\u0000b"}',
            headers={**op, "Content-Type": "application/json"},
        ),
        client.post("/api/v1/auth/token", data={"username": "ina\u0000-demo", "password": "x"}),
        client.post("/api/v1/tv/devices", json={"tenant_id": "ina-demo\u0000"}),
        client.get("/opendata/gtfs.zip", params={"tenant": "ina\u0000"}),
        client.get("/api/v1/residents", params={"q": "伊\u0000"}, headers=op),
    ]
    for r in answers:
        assert r.status_code == 422, (r.request.url, r.status_code, r.text[:200])
        assert r.json()["code"] == "request.nul" and "NUL" in r.json()["message_ja"]
    # nothing was stored, and the next request on the same client is answered as usual
    notes = client.get(f"/api/v1/residents/{rid}", headers=op).json()["notes_log"]
    assert all("遠い" not in n["text"] for n in notes)
    ok = client.post(
        f"/api/v1/residents/{rid}/notes",
        json={"text": "100%の力で"},
        headers={**op, "X-Request": uuid.uuid4().hex},
    )
    assert ok.status_code == 201, ok.text  # a % in JSON text is text, not an escape


def test_a_search_matches_what_was_typed_literally(client: TestClient, ctx: Dispatcher) -> None:
    op = token_headers(client, "ina-demo-operator")
    everyone = client.get("/api/v1/residents", params={"limit": 500}, headers=op).json()
    assert len(everyone) > 10
    for wildcard in ("%", "_", "%%", "\\"):
        found = client.get("/api/v1/residents", params={"q": wildcard, "limit": 500}, headers=op).json()
        assert found == [], (wildcard, len(found))
    name = everyone[0]["name"].split(" ")[0]
    found = client.get("/api/v1/residents", params={"q": name}, headers=op).json()
    assert found and all(name in r["name"] for r in found)
