"""Issue 19, input: control characters, dates out of range, billing months outside the town's life,
watch-over away periods, body sizes, support workers' halls, and retried bookings against the rate
limit. Each test failed on the behaviour the outside test found."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, text
from sqlmodel import Session, select

from api.app import create_app
from api.cli import main as noriai
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import make_engine, session_scope
from dispatcher.errors import DomainError
from dispatcher.identity.auth import create_user
from dispatcher.models import BillingMonth, Household, User
from dispatcher.settings import DEMO_TENANT_FILE, Settings
from tests.conftest import DAY_START, token_headers
from tests.live import Server
from tests.test_api_orders import member_household, order
from tests.test_api_rides import eligible_resident, post_ride, ride_body
from tests.test_tenants import cli_env

MARKER = "秘密の見守りメモ"


def _problem(r: object, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, (r.request.url, r.status_code, r.text[:300])  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    assert body["code"] == code, body
    return body  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- control characters


def test_control_characters_are_refused_everywhere_and_no_log_holds_parameters(
    client: TestClient, ctx: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """On both databases: a C0 control (other than tab, LF, CR), DEL or a C1 control in a JSON
    string or key (raw or escaped, \\b and \\f included), a form post, a query or a path answers 422
    `request.control_character`; a NUL still answers `request.nul`. Line breaks and tabs in a note
    and JSON whitespace pass. No log line holds the text sent or SQL parameters."""
    caplog.set_level(logging.DEBUG)
    op = token_headers(client, "ina-demo-operator")
    rid = client.get("/api/v1/residents", params={"limit": 1}, headers=op).json()[0]["id"]
    notes = f"/api/v1/residents/{rid}/notes"
    as_json = {**op, "Content-Type": "application/json"}
    refused = [
        client.post(notes, json={"text": f"{MARKER}\u0007"}, headers=op),  # BEL, escaped by json
        client.post(notes, content=f'{{"text": "{MARKER}\\u001b[2J"}}'.encode(), headers=as_json),
        client.post(notes, content=f'{{"text": "{MARKER}\\b"}}'.encode(), headers=as_json),  # backspace
        client.post(notes, content=f'{{"text": "{MARKER}\\f"}}'.encode(), headers=as_json),  # form feed
        client.post(notes, content=f'{{"text": "{MARKER}\x1b"}}'.encode(), headers=as_json),  # raw ESC
        client.post(notes, content=f'{{"text": "{MARKER}\x7f"}}'.encode(), headers=as_json),  # DEL
        client.post(notes, content=f'{{"text": "{MARKER}\u0085"}}'.encode(), headers=as_json),  # C1, UTF-8
        client.post(notes, json={"text": f"{MARKER}\u009b"}, headers=op),  # C1, escaped
        client.post(notes, content=b'{"te\\u0001xt": "x"}', headers=as_json),  # in a key
        client.post(notes, content=f'{{"text": "{MARKER}\\u0002"}}'.encode(), headers=op),  # no type
        client.post("/api/v1/auth/token", data={"username": "ina\x1b-demo", "password": "x"}),
        client.post("/api/v1/tv/devices", json={"tenant_id": "ina-demo\x0c"}),
        client.get("/opendata/gtfs.zip", params={"tenant": "ina\x08"}),
        client.get("/api/v1/residents", params={"q": "伊\x1f"}, headers=op),
        client.get("/api/v1/residents/%1b", headers=op),
    ]
    for r in refused:
        body = _problem(r, 422, "request.control_character")
        assert "制御文字" in str(body["message_ja"])
        assert "/tv/" in str(body["instance"]) or "U+" in str(body["detail"])  # residents read Japanese
    _problem(client.post(notes, json={"text": "a\u0000b"}, headers=op), 422, "request.nul")

    # nothing was stored
    stored = client.get(f"/api/v1/residents/{rid}", headers=op).json()["notes_log"]
    assert all(MARKER not in n["text"] for n in stored)
    # line breaks and tabs in a text area, and JSON whitespace between tokens, are fine
    lines = "一行目\n二行目\r\n\t三行目"
    ok = client.post(
        notes,
        content=b'{\n\t"text":\r\n "'
        + lines.encode().replace(b"\n", b"\\n").replace(b"\r", b"\\r").replace(b"\t", b"\\t")
        + b'"\n}',
        headers=as_json,
    )
    assert ok.status_code == 201, ok.text
    stored = client.get(f"/api/v1/residents/{rid}", headers=op).json()["notes_log"]
    assert any(n["text"] == lines for n in stored)
    signed_in = client.post("/api/v1/auth/token", data={"username": "ina-demo-operator", "password": "x\ty"})
    assert signed_in.status_code == 401  # a tab passes the filter: the password is merely wrong

    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert MARKER not in logged and "[parameters" not in logged and "\x1b" not in logged


def test_database_errors_never_carry_their_parameters(db_url: str, ctx: Dispatcher) -> None:
    """The engine hides statement parameters in every error it raises (and so in every log line
    that prints one): a failing INSERT with a resident's note text names the statement only."""
    engine = make_engine(db_url)
    with pytest.raises(Exception) as failed, engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO tenant (id, name, municipality_code, config, lock_seq, config_version, "
                "created_at) VALUES (:id, :name, '000000', '{}', 0, 0, :at)"
            ),
            {"id": "ina-demo", "name": MARKER, "at": DAY_START},
        )
    assert "INSERT INTO tenant" in str(failed.value)
    assert MARKER not in str(failed.value) and "hidden" in str(failed.value)
    engine.dispose()


# --------------------------------------------------------------------------- dates


def test_dates_outside_2000_to_2100_are_refused_everywhere(
    client: TestClient, ctx: Dispatcher, clock: SimClock
) -> None:
    """Year 1 and year 9999 gave 500 (quote, reminders, billing close) or were stored (a reminder
    for year 9999); every date and instant of a request now answers 422 `date.out_of_range`
    naming the field and the range."""
    op = token_headers(client, "ina-demo-operator")
    rid = eligible_resident(ctx)
    with Session(ctx.engine) as s:
        hh = s.exec(select(Household.id).order_by(Household.id)).first()
    for instant in ("0001-01-01T00:00:00+09:00", "9999-12-31T23:59:00-09:00", "1999-12-31T10:00:00+09:00"):
        answers = {
            "pickup_after": client.post(
                "/api/v1/rides/quote", json=ride_body(rid, pickup_after=instant), headers=op
            ),
            "once_at": client.post(
                f"/api/v1/households/{hh}/reminders", json={"text": "薬", "once_at": instant}, headers=op
            ),
            "until": client.put(f"/api/v1/households/{hh}/watch/away", json={"until": instant}, headers=op),
        }
        for field, r in answers.items():
            body = _problem(r, 422, "request.invalid")
            (err,) = body["errors"]  # type: ignore[misc]
            assert err["field"] == field and err["code"] == "date.out_of_range", err
            assert err["earliest"] == "2000-01-01" and err["latest"] == "2100-12-31"
            assert "2000-01-01" in err["message_ja"]
    day = client.get("/api/v1/rides", params={"date": "9999-01-01"}, headers=op)
    assert _problem(day, 422, "request.invalid")["errors"][0]["code"] == "date.out_of_range"  # type: ignore[index]
    assert client.get(f"/api/v1/households/{hh}/reminders", headers=op).json() == []
    # an elderly resident's birth date reaches back before 2000, and a real date still works
    born = client.get(f"/api/v1/residents/{rid}", headers=op).json()["birth_date"]
    assert born < "2000-01-01"
    assert client.post("/api/v1/rides/quote", json=ride_body(rid), headers=op).status_code == 200


def test_billing_months_outside_the_towns_life_are_refused(
    client: TestClient,
    ctx: Dispatcher,
    clock: SimClock,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`billing close 1900-01` created a closed month for ever, year 1 and 9999 gave 500. A month
    outside 2000–2100 is a date out of range, one before the town began (the demo's memberships
    run from 2020-08) is `billing.month_before_service`, a month not over is 409 — on the API and
    the command line, and nothing is stored."""
    admin = token_headers(client, "ina-demo-admin")
    for month, code in (
        ("0001-01", "date.out_of_range"),
        ("9999-12", "date.out_of_range"),
        ("1900-01", "date.out_of_range"),
        ("2020-07", "billing.month_before_service"),
    ):
        body = _problem(
            client.post("/api/v1/billing/close", json={"month": month}, headers=admin), 422, "request.invalid"
        )
        assert body["errors"][0]["field"] == "month" and body["errors"][0]["code"] == code, body  # type: ignore[index]
    assert (
        "2020-08"
        in _problem(
            client.post("/api/v1/billing/close", json={"month": "2020-07"}, headers=admin),
            422,
            "request.invalid",
        )["message_ja"]
    )
    _problem(
        client.post("/api/v1/billing/close", json={"month": "2027-01"}, headers=admin),
        409,
        "billing.month_not_over",
    )
    assert client.get("/api/v1/billing/0001-01/statements", headers=admin).status_code == 422

    cli_env(monkeypatch, db_url, DEMO_TENANT_FILE)
    for month in ("1900-01", "2020-07", "0001-01"):
        assert noriai(["billing", "close", "--month", month]) == 1
        assert "--month" in capsys.readouterr().err
    with Session(ctx.engine) as s:
        assert s.exec(select(func.count()).select_from(BillingMonth)).one() == 0
    assert client.post("/api/v1/billing/close", json={"month": "2020-08"}, headers=admin).status_code == 200
    with pytest.raises(SystemExit):
        noriai(["plan", "show", "--date", "0001-01-01"])
    assert "must be between 2000-01-01 and 2100-12-31" in capsys.readouterr().err


def test_away_until_far_ahead_is_refused(client: TestClient, ctx: Dispatcher, clock: SimClock) -> None:
    """ "Away until 9999" was accepted, which stops the watch-over for good without anyone
    deciding it: an away period ends within 366 days."""
    op = token_headers(client, "ina-demo-operator")
    with Session(ctx.engine) as s:
        hh = s.exec(select(Household.id).order_by(Household.id)).first()
    consent = {"on": "2026-11-20", "method": "written", "given_by": "伊藤 太郎"}
    contacts = [{"name": "伊藤 花子", "email": "hanako@family.example", "relation": "長女"}]
    r = client.put(
        f"/api/v1/households/{hh}/watch", json={"contacts": contacts, "consent": consent}, headers=op
    )
    assert r.status_code == 200, r.text
    away = f"/api/v1/households/{hh}/watch/away"
    far = (clock.now() + timedelta(days=400)).isoformat()
    body = _problem(client.put(away, json={"until": far}, headers=op), 422, "request.invalid")
    assert body["errors"][0]["code"] == "watch.away_too_far" and "366" in body["message_ja"]  # type: ignore[index]
    near = (clock.now() + timedelta(days=300)).isoformat()
    assert client.put(away, json={"until": near, "reason": "入院"}, headers=op).status_code == 200


# --------------------------------------------------------------------------- body size


def _limited(ctx: Dispatcher, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("NORIAI_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("NORIAI_MAX_UPLOAD_BYTES", "8192")
    return TestClient(create_app(Settings(), ctx=ctx, scheduler=False), raise_server_exceptions=False)


def test_bodies_over_the_limit_get_413(sqlite_ctx: Dispatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body over NORIAI_MAX_BODY_BYTES answers 413 problem details, with or without a sign-in;
    the register file has its own, larger limit."""
    with _limited(sqlite_ctx, monkeypatch) as c:
        big = {"username": "x" * 3000, "password": "y"}
        body = _problem(c.post("/api/v1/auth/token", data=big), 413, "request.too_large")
        assert body["limit_bytes"] == 2048 and "2048" in str(body["message_ja"])
        _problem(c.post("/api/v1/tv/devices", json={"tenant_id": "i" * 4000}), 413, "request.too_large")
        admin = token_headers(c, "ina-demo-admin")
        csv = "登録番号,氏名\n".encode() + b"x" * 4000  # over the body limit, under the upload limit
        r = c.post(
            "/api/v1/residents/import?dry_run=true",
            content=csv,
            headers={**admin, "Content-Type": "text/csv"},
        )
        assert r.status_code != 413, r.text
        r = c.post(
            "/api/v1/residents/import", content=b"x" * 9000, headers={**admin, "Content-Type": "text/csv"}
        )
        _problem(r, 413, "request.too_large")
        assert c.post("/api/v1/tv/devices", json={}).status_code == 201  # a small body is fine


def _rest(s: socket.socket, answer: bytes) -> bytes:
    """The rest of an answer, up to the server closing the connection."""
    s.settimeout(10)
    while chunk := s.recv(65536):
        answer += chunk
    return answer


def _raw_http(port: int, head: bytes, parts: list[bytes]) -> tuple[bytes, int]:
    """Send a request's head and then body parts until the server answers; (answer, parts sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        sent = 0
        s.settimeout(0.5)
        for part in parts:
            try:
                answer = s.recv(65536)
                if answer:
                    return _rest(s, answer), sent
            except TimeoutError:
                pass
            s.sendall(part)
            sent += 1
        return _rest(s, b""), sent


def test_a_large_body_is_refused_before_it_is_read(
    sqlite_ctx: Dispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against a real server: a Content-Length of 50 MB is answered 413 before any of the body is
    sent; a chunked body without a length is answered 413 once it passes the limit, long before
    its end."""
    monkeypatch.setenv("NORIAI_MAX_BODY_BYTES", "2048")
    with Server(sqlite_ctx) as base:
        port = int(base.rsplit(":", 1)[1])
        head = (
            b"POST /api/v1/tv/devices HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n"
        )
        answer, sent = _raw_http(port, head, [b"x" * 1024] * 100)
        assert answer.startswith(b"HTTP/1.1 413") and b"request.too_large" in answer, answer[:300]
        assert sent == 0
        chunked = (
            b"POST /api/v1/tv/devices HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
        answer, sent = _raw_http(port, chunked, [chunk] * 100)
        assert answer.startswith(b"HTTP/1.1 413") and b"request.too_large" in answer, answer[:300]
        assert sent < 10


# --------------------------------------------------------------------------- support workers


def test_a_support_worker_needs_a_known_hall(
    ctx: Dispatcher, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A support worker created without --hall saw every hall's names and addresses, and an
    unknown hall was accepted. Both are refused now, on the command line and in `create_user`
    (what any other way of creating users calls)."""
    cli_env(monkeypatch, db_url, DEMO_TENANT_FILE)
    monkeypatch.setenv("NORIAI_PASSWORD", "long-enough-password")
    base = ["user", "create", "--tenant", "ina-demo", "--role", "support_worker"]
    assert noriai([*base, "worker-a"]) == 1
    assert "--hall: a support worker needs the community hall" in capsys.readouterr().err
    assert noriai([*base, "--hall", "hall-atlantis", "worker-b"]) == 1
    err = capsys.readouterr().err
    assert "--hall: 'hall-atlantis' is not a community hall of ina-demo" in err and "hall-tera" in err
    assert noriai([*base, "--hall", "central-hospital", "worker-c"]) == 1  # a place, but no hall
    capsys.readouterr()
    assert noriai([*base, "--hall", "hall-tera", "worker-d"]) == 0
    with Session(ctx.engine) as s:
        users = {
            u.username: u.hall_id for u in s.exec(select(User).where(User.username.startswith("worker-")))
        }
    assert users == {"worker-d": "hall-tera"}
    with session_scope(ctx.engine) as s, pytest.raises(DomainError) as e:
        create_user(s, "ina-demo", "support_worker", "worker-e", "long-enough-password", DAY_START)
    assert e.value.errors[0]["code"] == "user.hall_required"


# --------------------------------------------------------------------------- retries and the rate limit


def test_retried_bookings_do_not_use_up_the_booking_limit(sqlite_ctx: Dispatcher) -> None:
    """A retry with the same Idempotency-Key is answered from what is stored; it used to take one
    of the caller's 30 bookings a minute. Now retries count in a bucket of their own (so a
    replay loop is still limited) and the allowance stays for new bookings."""
    settings = Settings(NORIAI_TENANT_FILE=DEMO_TENANT_FILE, NORIAI_RATE_BOOKINGS=2)
    with TestClient(create_app(settings, ctx=sqlite_ctx, scheduler=False)) as c:
        op = token_headers(c, "ina-demo-operator")
        first = post_ride(c, op, ride_body(eligible_resident(sqlite_ctx)), key="retry-1")
        assert first.status_code == 201, first.text
        for _ in range(2):
            again = post_ride(c, op, ride_body(eligible_resident(sqlite_ctx)), key="retry-1")
            assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true", again.text
            assert again.json()["id"] == first.json()["id"]
        second = post_ride(
            c,
            op,
            ride_body(
                eligible_resident(sqlite_ctx, offset=1), pickup_after=f"{DAY_START.date()}T09:30:00+09:00"
            ),
        )
        assert second.status_code == 201, second.text  # the allowance of 2 was not used by retries
        third = post_ride(c, op, ride_body(eligible_resident(sqlite_ctx, offset=2)))
        assert third.status_code == 429  # 2 new bookings a minute, as set
        loop = post_ride(c, op, ride_body(eligible_resident(sqlite_ctx)), key="retry-1")
        assert loop.status_code == 429  # the third retry of a minute: replays are limited too


def test_retried_orders_do_not_use_up_the_booking_limit(sqlite_ctx: Dispatcher) -> None:
    """As for rides: an order retried under its Idempotency-Key counts in the replay bucket."""
    settings = Settings(NORIAI_TENANT_FILE=DEMO_TENANT_FILE, NORIAI_RATE_BOOKINGS=2)
    with TestClient(create_app(settings, ctx=sqlite_ctx, scheduler=False)) as c:
        op = token_headers(c, "ina-demo-operator")
        items = c.get("/api/v1/catalog", headers=op).json()
        household = member_household(sqlite_ctx)

        def body(i: int) -> dict[str, object]:
            return {"household_id": household, "lines": [{"product_id": items[i]["id"], "quantity": 1}]}

        first = order(c, op, body(0), key="retry-o")
        assert first.status_code == 201, first.text
        for _ in range(2):
            again = order(c, op, body(0), key="retry-o")
            assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true", again.text
            assert again.json()["id"] == first.json()["id"]
        second = order(c, op, body(1))
        assert second.status_code == 201, second.text  # the allowance of 2 was not used by retries
        assert order(c, op, body(2)).status_code == 429  # 2 new orders a minute, as set
        assert order(c, op, body(0), key="retry-o").status_code == 429  # the third retry of a minute
