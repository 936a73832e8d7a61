"""Sign-in costs are bounded (issue 19): a cap on password and PIN checks running at once, argon2
parameters from the settings, a new hash when they change, and one answer to a wrong PIN whether
the resident has a PIN or not.

The cap is shown by behaviour, not by timing: with the only slot taken, every kind of sign-in
(staff, an unknown staff name, PIN, family) is answered 429 `auth.sign_in_busy` with Retry-After
and counts nothing; against a real server, a second sign-in while a slow one is being checked is
refused while the first is still in flight. What a flood does to the operator's board is measured
by `noriai bench signin-flood` (docs/benchmarks.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, col, select

from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.identity import passwords
from dispatcher.identity.family import create_member
from dispatcher.identity.pins import set_pin
from dispatcher.models import Event, FamilyMember, Resident, ResidentPin, User
from dispatcher.platform.bootstrap import build_dispatcher
from dispatcher.platform.demo import DEMO_PASSWORD
from dispatcher.settings import DEMO_TENANT_FILE, Settings
from tests.conftest import client_for, token_headers
from tests.live import Server

FAMILY_PASSWORD = "sakura-2026"
OPERATOR = "ina-demo-operator"


@pytest.fixture
def restore_passwords() -> Iterator[None]:
    """Put the process's argon2 cost and cap back as they were after the test."""
    cost, cap = passwords.current_cost(), passwords.concurrency()
    yield
    passwords.configure(cost, cap)


def _residents(ctx: Dispatcher) -> list[Resident]:
    with Session(ctx.engine) as s:
        return list(
            s.exec(
                select(Resident)
                .where(Resident.tenant_id == "ina-demo", Resident.active == True)  # noqa: E712
                .order_by(col(Resident.id))
            ).all()
        )


def _without_pin(ctx: Dispatcher) -> Resident:
    with Session(ctx.engine) as s:
        have = set(s.exec(select(ResidentPin.resident_id)).all())
    return next(r for r in _residents(ctx) if r.id not in have)


def _family(ctx: Dispatcher, login: str) -> int:
    with session_scope(ctx.engine) as s:
        m = create_member(s, "ina-demo", "伊那 花子", login, FAMILY_PASSWORD, ctx.clock.now(), "test")
        return int(m.id or 0)


def _stored(ctx: Dispatcher) -> dict[str, Any]:
    """The stored secrets and failure counts the tests look at."""
    with Session(ctx.engine) as s:
        return {
            "user": s.exec(select(User.password_hash).where(User.username == OPERATOR)).one(),
            "pins": {p.resident_id: (p.pin_hash, p.failures) for p in s.exec(select(ResidentPin))},
            "family": {m.login_id: (m.password_hash, m.failures) for m in s.exec(select(FamilyMember))},
            "events": s.exec(select(Event.id).order_by(col(Event.id).desc())).first(),
        }


# --- the cap -----------------------------------------------------------------------------------------


def test_with_every_slot_taken_each_sign_in_is_refused_at_once_and_counts_nothing(
    ctx: Dispatcher, restore_passwords: None
) -> None:
    """Cap 1, its slot held: staff (known and unknown names), PIN and family sign-ins all get 429
    `auth.sign_in_busy` with Retry-After, and no failure is counted or recorded. Without the cap
    (before issue 19) each was checked: 200, 401 and a counted PIN failure."""
    rider = _residents(ctx)[0]
    with session_scope(ctx.engine) as s:
        set_pin(s, "ina-demo", rider.id, "2468", ctx.clock.now(), "test")
    _family(ctx, "hanako.ina")
    passwords.configure(passwords.current_cost(), 1)
    before = _stored(ctx)
    tries = [
        ("/api/v1/auth/token", {"data": {"username": OPERATOR, "password": DEMO_PASSWORD}}),
        ("/api/v1/auth/token", {"data": {"username": "no-such-user", "password": "whatever-1"}}),
        ("/api/v1/m/session", {"json": {"resident_id": rider.id, "pin": "1357"}}),
        ("/api/v1/m/family/session", {"json": {"login_id": "hanako.ina", "password": "wrong-password"}}),
    ]
    with client_for(ctx) as c:
        with passwords.verification_slot():  # a verification in progress holds the only slot
            assert passwords.in_use() == 1
            answers = [c.post(path, **kw) for path, kw in tries]
        for r in answers:
            assert r.status_code == 429, r.text
            body = r.json()
            assert body["code"] == "auth.sign_in_busy" and r.headers["retry-after"] == "1"
            assert body["retry_after_seconds"] == 1 and "混み合って" in body["message_ja"]
        assert _stored(ctx) == before  # nothing counted, nothing recorded
        # the slot free again, the same sign-ins are checked
        assert [c.post(path, **kw).status_code for path, kw in tries] == [200, 401, 401, 401]
    assert passwords.in_use() == 0
    after = _stored(ctx)
    assert after["pins"][rider.id][1] == 1 and after["family"]["hanako.ina"][1] == 1


def test_a_second_sign_in_during_a_slow_check_is_refused_without_waiting(
    sqlite_ctx: Dispatcher, restore_passwords: None
) -> None:
    """A real server, cap 1, one user whose stored hash takes seconds to check (an old, costly
    argon2 setting). While that sign-in is in flight, another one (an unknown name) is answered 429
    at once: it does not queue behind the slow check. The slow one then succeeds, and its hash is
    stored again at the current cost."""
    ctx = sqlite_ctx
    slow = PasswordHasher(time_cost=30, memory_cost=65_536, parallelism=1).hash(DEMO_PASSWORD)
    with session_scope(ctx.engine) as s:
        user = s.exec(select(User).where(User.username == OPERATOR)).one()
        user.password_hash = slow
        s.add(user)
    passwords.configure(passwords.current_cost(), 1)
    with Server(ctx) as base:
        first: dict[str, Any] = {}

        def sign_in_slowly() -> None:
            form = {"username": OPERATOR, "password": DEMO_PASSWORD}
            first["answer"] = httpx.post(f"{base}/api/v1/auth/token", data=form, timeout=120)

        thread = threading.Thread(target=sign_in_slowly)
        thread.start()
        deadline = time.monotonic() + 60
        while passwords.in_use() == 0:  # wait until the slow check holds the slot
            assert time.monotonic() < deadline and thread.is_alive(), first
            time.sleep(0.01)
        second = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "flood-1", "password": "x" * 12}, timeout=120
        )
        still_checking = thread.is_alive()
        thread.join(120)
    assert second.status_code == 429 and second.json()["code"] == "auth.sign_in_busy"
    assert still_checking  # answered while the first was still being checked: no queue
    assert first["answer"].status_code == 200
    with Session(ctx.engine) as s:
        stored = s.exec(select(User.password_hash).where(User.username == OPERATOR)).one()
    assert stored != slow and not passwords.needs_rehash(stored)


# --- argon2 parameters and rehashing --------------------------------------------------------------------


def test_argon2_parameters_come_from_the_settings(tmp_path: Any, restore_passwords: None) -> None:
    """NORIAI_ARGON2_* and NORIAI_SIGN_IN_CONCURRENCY set the process's cost and cap; the defaults
    are the documented ones (19 MiB, 2 passes, 1 lane; 2 checks at once)."""
    defaults = Settings(NORIAI_TENANT_FILE=DEMO_TENANT_FILE)
    assert passwords.Cost(
        defaults.argon2_memory_kib, defaults.argon2_time_cost, defaults.argon2_parallelism
    ) == passwords.Cost(19_456, 2, 1)
    assert defaults.sign_in_concurrency == passwords.DEFAULT_CONCURRENCY == 2
    settings = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'n.db'}",
        NORIAI_TENANT_FILE=DEMO_TENANT_FILE,
        NORIAI_ARGON2_MEMORY_KIB=8192,
        NORIAI_ARGON2_TIME_COST=3,
        NORIAI_ARGON2_PARALLELISM=2,
        NORIAI_SIGN_IN_CONCURRENCY=5,
    )
    ctx = build_dispatcher(settings)
    assert passwords.concurrency() == 5
    h = passwords.hash_secret("a-long-password")
    assert h.startswith("$argon2id$v=19$m=8192,t=3,p=2$")
    ctx.engine.dispose()
    with pytest.raises(ValueError):
        Settings(NORIAI_SIGN_IN_CONCURRENCY=0)


def test_changed_parameters_rehash_each_secret_at_its_next_sign_in(
    ctx: Dispatcher, restore_passwords: None
) -> None:
    """Hashes made at the old cost; the cost changes; a right password or PIN stores a new hash at
    the new cost (and the sign-in event says so), a wrong one changes nothing. Before issue 19 the
    old hash stayed for ever."""
    rider = _residents(ctx)[0]
    with session_scope(ctx.engine) as s:
        set_pin(s, "ina-demo", rider.id, "2468", ctx.clock.now(), "test")
    _family(ctx, "hanako.ina")
    old = _stored(ctx)
    new_cost = passwords.Cost(memory_kib=8192, time_cost=1, parallelism=1)
    passwords.configure(new_cost, passwords.concurrency())
    assert passwords.needs_rehash(old["user"])
    with client_for(ctx) as c:
        wrong = [
            c.post("/api/v1/auth/token", data={"username": OPERATOR, "password": "not-the-password"}),
            c.post("/api/v1/m/session", json={"resident_id": rider.id, "pin": "1357"}),
            c.post("/api/v1/m/family/session", json={"login_id": "hanako.ina", "password": "wrong-one!"}),
        ]
        assert [r.status_code for r in wrong] == [401, 401, 401]
        unchanged = _stored(ctx)
        assert unchanged["user"] == old["user"] and unchanged["pins"][rider.id][0] == old["pins"][rider.id][0]
        assert unchanged["family"]["hanako.ina"][0] == old["family"]["hanako.ina"][0]
        right = [
            c.post("/api/v1/auth/token", data={"username": OPERATOR, "password": DEMO_PASSWORD}),
            c.post("/api/v1/m/session", json={"resident_id": rider.id, "pin": "2468"}),
            c.post("/api/v1/m/family/session", json={"login_id": "hanako.ina", "password": FAMILY_PASSWORD}),
        ]
        assert [r.status_code for r in right] == [200, 200, 200], [r.text for r in right]
        now = _stored(ctx)
        prefix = "$argon2id$v=19$m=8192,t=1,p=1$"
        assert now["user"].startswith(prefix)
        assert now["pins"][rider.id][0].startswith(prefix) and now["pins"][rider.id][1] == 0
        assert now["family"]["hanako.ina"][0].startswith(prefix) and now["family"]["hanako.ina"][1] == 0
        # the new hashes hold the same secrets, and the sessions opened just now stay valid
        again = c.post("/api/v1/auth/token", data={"username": OPERATOR, "password": DEMO_PASSWORD})
        assert again.status_code == 200
        phone = {"Authorization": f"Bearer {right[1].json()['access_token']}"}
        assert c.get("/api/v1/me", headers=phone).status_code == 200
    with Session(ctx.engine) as s:
        rehashed = [
            (e.kind, e.after)
            for e in s.exec(select(Event).where(col(Event.id) > old["events"]).order_by(col(Event.id)))
            if e.kind in ("user.signed_in", "resident.signed_in", "family.signed_in")
        ]
    assert rehashed[:3] == [
        ("user.signed_in", {"password_rehashed": True}),
        ("resident.signed_in", {"pin_rehashed": True}),
        ("family.signed_in", {"password_rehashed": True}),
    ]
    assert rehashed[3][1] in (None, {})  # the next sign-in had nothing to rehash


# --- PIN sign-in: one answer ------------------------------------------------------------------------------


def test_a_wrong_pin_gets_one_answer_whether_or_not_a_pin_exists(sqlite_ctx: Dispatcher) -> None:
    """Before issue 19 a resident with a PIN got `attempts_left` (4) and "あと4回", one without a
    PIN did not: one probe told who has a PIN. Now the answers are the same, field for field."""
    ctx = sqlite_ctx
    with_pin, without = _residents(ctx)[0], _without_pin(ctx)
    with session_scope(ctx.engine) as s:
        set_pin(s, "ina-demo", with_pin.id, "2468", ctx.clock.now(), "test")
    with client_for(ctx) as c:
        answers = [
            c.post("/api/v1/m/session", json={"resident_id": rid, "pin": "1357", "tenant_id": "ina-demo"})
            for rid in (with_pin.id, without.id, 999_999)
        ]
    assert [r.status_code for r in answers] == [401, 401, 401]
    bodies = [r.json() for r in answers]
    assert "attempts_left" not in bodies[0]
    assert bodies[0] == bodies[1] == bodies[2]
    assert "5回続けてまちがえると" in bodies[0]["detail"] and "暗証番号がまだない方" in bodies[0]["detail"]
    assert answers[0].headers.get("www-authenticate") == answers[1].headers.get("www-authenticate")


def test_wrong_pins_for_a_resident_without_a_pin_count_against_nobody(ctx: Dispatcher) -> None:
    """Six wrong PINs for a resident who has none: nothing is stored or recorded for her, and the
    PIN the operator sets afterwards starts with its five tries."""
    resident = _without_pin(ctx)
    with client_for(ctx) as c:
        op = token_headers(c, OPERATOR)
        mark = _stored(ctx)["events"]
        for k in range(6):
            r = c.post("/api/v1/m/session", json={"resident_id": resident.id, "pin": f"{1357 + k}"})
            assert r.status_code == 401, r.text
        assert _stored(ctx)["events"] == mark  # no event: nobody's count moved
        with Session(ctx.engine) as s:
            assert s.get(ResidentPin, resident.id) is None
        put = c.put(f"/api/v1/residents/{resident.id}/pin", json={"pin": "2468"}, headers=op)
        assert put.status_code == 204
        for k in range(4):  # four wrong tries of her own: not locked yet
            r = c.post("/api/v1/m/session", json={"resident_id": resident.id, "pin": f"{3579 + k}"})
            assert r.status_code == 401, r.text
        right = c.post("/api/v1/m/session", json={"resident_id": resident.id, "pin": "2468"})
        assert right.status_code == 200


def test_unknown_names_and_missing_pins_are_checked_against_a_hash_of_the_current_cost(
    restore_passwords: None,
) -> None:
    """The dummy check for an unknown name, a locked user or a missing PIN does the work of a real
    one: its hash follows the configured cost (and it takes a verification slot like any sign-in:
    the unknown name in the first test above)."""
    passwords.configure(passwords.Cost(memory_kib=8192, time_cost=1, parallelism=1), 1)
    assert passwords.dummy_hash().startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    passwords.configure(passwords.Cost(), 1)
    assert passwords.dummy_hash().startswith("$argon2id$v=19$m=19456,t=2,p=1$")
