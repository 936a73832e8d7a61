"""Problem codes: every problem document carries one, and every code has its Japanese text.

Pages choose their words by `code` (`message_ja`), never by the English `detail`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.messages import JA, TO_RESIDENTS, message_ja, text
from dispatcher.errors import Code, DomainError, field_error

ROOT = Path(__file__).resolve().parent.parent


def test_every_code_has_japanese_text() -> None:
    missing = [c.value for c in Code if not JA.get(c)]
    assert missing == []
    assert set(TO_RESIDENTS) <= set(Code)
    for c in Code:  # every text formats with no parameters at all (missing ones read as nothing)
        assert text(c, {}) and "{" not in text(c, {}), c


def test_a_code_without_text_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above is not vacuous: drop one text and it names the code."""
    monkeypatch.delitem(JA, Code.place_same)
    assert [c.value for c in Code if not JA.get(c)] == ["place.same"]


def _codes_raised() -> set[str]:
    """Every `code=Code.x` written in dispatcher/ and api/."""
    out = set()
    for path in [*ROOT.joinpath("dispatcher").rglob("*.py"), *ROOT.joinpath("api").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Code"
                and node.attr in Code.__members__
            ):
                out.add(Code[node.attr].value)
    return out


def test_the_code_catalogue_has_no_dead_entries() -> None:
    """Every code is used somewhere (a code nobody raises is a text nobody reads)."""
    unused = {c.value for c in Code} - _codes_raised()
    assert unused == set()


def test_texts_are_chosen_by_code_with_parameters() -> None:
    err = DomainError("x", code=Code.rate_limited)
    assert text(err.code, {"retry_after_seconds": 12}) == JA[Code.rate_limited].format(retry_after_seconds=12)
    errors = [
        field_error(
            "pickup_after", "in English, reworded at will", Code.time_outside_hours, hours="08:00–17:00"
        ),
        field_error("destination", "anything", Code.place_same),
    ]
    assert message_ja(Code.invalid_request, {}, errors, residents=True) == (
        "運行時間（08:00–17:00）の中で時刻を選んでください。 出発と行き先が同じ場所です。"
    )


def test_every_problem_document_carries_a_code(client: TestClient, operator: dict[str, str]) -> None:
    """Domain errors, validation errors, unknown paths and methods, residents' endpoints: each
    answer has `code`, `type` ending in it, and a Japanese `message_ja`."""
    answers = [
        client.get("/api/v1/rides/999999", headers=operator),  # a domain NotFound
        client.post("/api/v1/rides/quote", json={}, headers=operator),  # validation
        client.get("/api/v1/no-such-thing"),  # Starlette's 404
        client.delete("/api/v1/places", headers=operator),  # 405
        client.get("/api/v1/rides/1"),  # not signed in
        client.get("/api/v1/me/rides"),  # a resident endpoint, not signed in
    ]
    for r in answers:
        body = r.json()
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        assert body["code"] and body["type"].endswith(body["code"]), body
        assert any("\u3040" <= ch <= "\u30ff" for ch in body["message_ja"]), body
    assert [a.json()["code"] for a in answers] == [
        "ride.not_found",
        "request.invalid",
        "not_found",
        "request.method_not_allowed",
        "auth.not_signed_in",
        "auth.not_signed_in",
    ]
    assert answers[-1].json()["detail"] == answers[-1].json()["message_ja"]  # residents read Japanese
