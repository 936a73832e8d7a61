"""Family members on both databases: an operator makes a family account for a resident with the
resident's consent; the family member signs in with her own login id and password and sees and
books for the linked resident only — never the spouse in the same household, another household or
another town; a view link sees but cannot book; a revoked link, an ended account and a new password
cut access at the next request; five wrong passwords stop her sign-in for a while; the retention
purge removes what the rules say."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from dispatcher.db import session_scope
from dispatcher.identity import purge as identity_purge
from dispatcher.identity.family import LOCK_MINUTES, MAX_FAILURES
from dispatcher.models import Event, FamilyLink, FamilyMember, FamilySession, Resident, Ride
from dispatcher.platform.retention import stripped
from dispatcher.residents.eligibility import categories_on
from tests.conftest import DAY_START, token_headers
from tests.security_world import B, add_town_b

TODAY = DAY_START.date().isoformat()
PASSWORD = "sakura-2026"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _eligible(ctx: Dispatcher, r: Resident) -> bool:
    cfg = ctx.config(r.tenant_id)
    return bool(categories_on(r, cfg, DAY_START.date()) & set(cfg.eligibility.any_of))


def _people(ctx: Dispatcher) -> tuple[Resident, Resident, Resident]:
    """(mother, her husband in the same household, an eligible resident of another household),
    all of them riders with favourite places."""
    with Session(ctx.engine) as s:
        rows = s.exec(
            select(Resident)
            .where(Resident.tenant_id == "ina-demo", Resident.active == True)  # noqa: E712
            .order_by(col(Resident.id))
        ).all()
    ok = [r for r in rows if _eligible(ctx, r) and r.favourite_places and not r.wheelchair]
    by_hh: dict[int | None, list[Resident]] = {}
    for r in ok:
        by_hh.setdefault(r.household_id, []).append(r)
    mother, husband = next(m for m in by_hh.values() if len(m) >= 2)[:2]
    other = next(r for r in ok if r.household_id != mother.household_id)
    return mother, husband, other


def _ride(rider: Resident, minutes: int = 30) -> dict[str, Any]:
    return {
        "resident_id": rider.id,
        "origin": {"lat": rider.lat, "lon": rider.lon},
        "destination": {"place_id": rider.favourite_places[0]},
        "pickup_after": (DAY_START + timedelta(minutes=minutes)).isoformat(),
    }


def _new_member(login: str, **extra: Any) -> dict[str, Any]:
    return {"name": "伊那 花子", "kana": "いな はなこ", "login_id": login, "password": PASSWORD} | extra


def _link(
    client: TestClient,
    operator: dict[str, str],
    resident_id: int,
    permission: str = "book",
    member: dict[str, Any] | None = None,
    member_id: int | None = None,
    method: str = "written",
) -> Any:
    body: dict[str, Any] = {"permission": permission, "consent_on": TODAY, "consent_method": method}
    if member is not None:
        body["member"] = member
    if member_id is not None:
        body["family_member_id"] = member_id
    return client.post(f"/api/v1/residents/{resident_id}/family", json=body, headers=operator)


def _sign_in(client: TestClient, login: str, password: str = PASSWORD, tenant: str = "ina-demo") -> Any:
    body = {"login_id": login, "password": password} | {"tenant_id": tenant}
    return client.post("/api/v1/m/family/session", json=body)


def _bearer(r: Any) -> dict[str, str]:
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _as(headers: dict[str, str], resident_id: int | str) -> dict[str, str]:
    return {**headers, "Noriai-Resident": str(resident_id)}


def test_a_family_member_sees_and_books_for_her_linked_resident_only(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str]
) -> None:
    mother, husband, other = _people(ctx)
    add_town_b(ctx)
    with Session(ctx.engine) as s:
        foreign = s.exec(select(Resident).where(Resident.tenant_id == B).order_by(col(Resident.id))).first()
    assert foreign is not None

    made = _link(
        client, operator, mother.id, member=_new_member("Hanako.Ina@example.jp", phone="03-1234-5678")
    )
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["permission"] == "book" and link["resident_id"] == mother.id
    # the consent is recorded on the link: when, how and by which operator
    assert (link["consent_on"], link["consent_method"], link["recorded_by"]) == (
        TODAY,
        "written",
        "user:ina-demo-operator",
    )
    member = link["family_member"]
    assert member["login_id"] == "hanako.ina@example.jp" and "password" not in str(member)
    listed = client.get(f"/api/v1/residents/{mother.id}/family", headers=operator).json()
    assert [x["id"] for x in listed] == [link["id"]]
    assert client.get(f"/api/v1/residents/{husband.id}/family", headers=operator).json() == []

    # She signs in with her own login id (any case) and password.
    signed = _sign_in(client, "HANAKO.INA@example.jp")
    daughter = _bearer(signed)
    assert signed.json()["name"] == "伊那 花子"
    assert signed.json()["residents"] == [
        {
            "id": mother.id,
            "name": f"{mother.family_name} {mother.given_name}",
            "given_name": mother.given_name,
            "permission": "book",
        }
    ]
    me = client.get("/api/v1/me", headers=daughter).json()  # the only link: no header needed
    assert [m["id"] for m in me["members"]] == [mother.id]  # not the husband in the same household
    assert me["can_book"] is True and me["whole_household"] is False
    assert husband.given_name not in str(me)

    # The husband's ride (booked by the operator) stays out of her sight.
    his = client.post("/api/v1/rides", json=_ride(husband, 40), headers={**operator, **_key()})
    assert his.status_code == 201, his.text

    booked = client.post("/api/v1/me/rides", json=_ride(mother), headers={**daughter, **_key()})
    assert booked.status_code == 201, booked.text
    ride_id = booked.json()["id"]
    with Session(ctx.engine) as s:
        ride = s.get(Ride, ride_id)
        assert ride is not None and ride.resident_id == mother.id
        actors = set(
            s.exec(select(Event.actor).where(Event.entity == "ride", Event.entity_id == str(ride_id)))
        )
    assert ride.created_by == f"family:{member['id']}" and actors == {f"family:{member['id']}"}
    rides = client.get("/api/v1/me/rides", headers=daughter).json()["rides"]
    assert [r["id"] for r in rides] == [ride_id]
    notices = client.get("/api/v1/me/notices", headers=daughter).json()
    assert notices and all(mother.given_name in n["text"] for n in notices)
    assert client.get("/api/v1/me/orders", headers=daughter).status_code == 200  # the household's orders

    # Anyone else: the husband and the other household are refused in the body, and named as the
    # resident she acts for they do not exist for her; nor does a resident of another town.
    for person in (husband, other):
        r = client.post("/api/v1/me/rides", json=_ride(person), headers={**daughter, **_key()})
        assert r.status_code == 403 and r.json()["code"] == "household.not_yours", r.text
    for rid in (husband.id, other.id, foreign.id, "abc", "99999999999"):
        r = client.get("/api/v1/me/rides", headers=_as(daughter, rid))
        assert r.status_code == 404 and r.json()["code"] == "resident.not_found", (rid, r.text)
        assert r.json()["detail"] == "その利用者は見つかりません。"  # residents' pages read Japanese
    assert client.get("/api/v1/me", headers=_as(daughter, mother.id)).status_code == 200
    cancel_his = client.post(f"/api/v1/me/rides/{his.json()['id']}/cancel", headers=daughter)
    assert cancel_his.status_code == 404
    # The household's own business: shopping, its bill, watch-over, reminders.
    refused = [
        client.post(
            "/api/v1/me/orders",
            json={"lines": [{"product_id": 1, "quantity": 1}]},
            headers={**daughter, **_key()},
        ),
        client.get("/api/v1/me/billing", headers=daughter),
        client.get("/api/v1/me/reminders", headers=daughter),
        client.put("/api/v1/me/watch/away", json={"until": f"{TODAY}T18:00:00+09:00"}, headers=daughter),
    ]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(403, "family.household_only")] * 4
    # Her token is nobody on staff endpoints; a staff token is nobody on hers.
    assert client.get("/api/v1/residents", headers=daughter).status_code == 401
    assert client.get("/api/v1/m/family", headers=operator).status_code == 401
    assert client.get("/api/v1/m/family", headers=daughter).json()["login_id"] == "hanako.ina@example.jp"

    # She cancels her mother's ride.
    cancelled = client.post(f"/api/v1/me/rides/{ride_id}/cancel", headers=daughter)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["rides"][0]["status"] == "cancelled"

    with Session(ctx.engine) as s:
        linked = s.exec(select(Event).where(Event.kind == "family.linked")).one()
    assert linked.actor == "user:ina-demo-operator" and linked.after == {
        "permission": "book",
        "consent_on": TODAY,
        "consent_method": "written",
        "recorded_by": "user:ina-demo-operator",
        "family_member_id": member["id"],
        "resident_id": mother.id,
    }

    # Sign-out ends her session on the server.
    assert client.post("/api/v1/m/session/end", headers=daughter).status_code == 204
    assert client.get("/api/v1/me", headers=daughter).status_code == 401


def test_a_view_link_sees_but_does_not_book_and_revoking_cuts_access_at_once(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock: SimClock
) -> None:
    mother, _husband, other = _people(ctx)
    first = _link(client, operator, mother.id, member=_new_member("taro-family"))
    assert first.status_code == 201, first.text
    member_id = first.json()["family_member"]["id"]
    view = _link(client, operator, other.id, "view", member_id=member_id, method="phone")
    assert view.status_code == 201, view.text
    again = _link(client, operator, other.id, "book", member_id=member_id)
    assert again.status_code == 409 and again.json()["code"] == "family.already_linked"
    son = _bearer(_sign_in(client, "taro-family"))
    assert [
        (x["id"], x["permission"]) for x in client.get("/api/v1/m/family", headers=son).json()["residents"]
    ] == [
        (mother.id, "book"),
        (other.id, "view"),
    ]

    # Two linked: the page must say for whom.
    r = client.get("/api/v1/me", headers=son)
    assert r.status_code == 422 and r.json()["code"] == "family.choose_resident"

    # The view link: her rides are visible, booking and cancelling are not allowed (a later trip
    # than her 8:30 ride: one rider, one ride at a time).
    hers = client.post("/api/v1/rides", json=_ride(other), headers={**operator, **_key()})
    assert hers.status_code == 201, hers.text
    as_other = _as(son, other.id)
    assert client.get("/api/v1/me", headers=as_other).json()["can_book"] is False
    assert [x["id"] for x in client.get("/api/v1/me/rides", headers=as_other).json()["rides"]] == [
        hers.json()["id"]
    ]
    for r in (
        client.post("/api/v1/me/quote", json=_ride(other, 240), headers=as_other),
        client.post("/api/v1/me/rides", json=_ride(other, 240), headers={**as_other, **_key()}),
        client.post(f"/api/v1/me/rides/{hers.json()['id']}/cancel", headers=as_other),
    ):
        assert r.status_code == 403 and r.json()["code"] == "family.view_only", r.text
    with Session(ctx.engine) as s:
        assert s.get(Ride, hers.json()["id"]).status == "confirmed"

    # A change of permission records the resident's consent again (not a day in the future).
    link_id = view.json()["id"]
    tomorrow = (DAY_START.date() + timedelta(days=1)).isoformat()
    body = {"permission": "book", "consent_on": tomorrow, "consent_method": "counter"}
    future = client.put(f"/api/v1/family-links/{link_id}", json=body, headers=operator)
    assert future.status_code == 422 and future.json()["errors"][0]["code"] == "consent.in_future"
    changed = client.put(
        f"/api/v1/family-links/{link_id}", json=body | {"consent_on": TODAY}, headers=operator
    )
    assert changed.status_code == 200 and changed.json()["consent_method"] == "counter"
    booked = client.post("/api/v1/me/rides", json=_ride(other, 240), headers={**as_other, **_key()})
    assert booked.status_code == 201, booked.text
    with Session(ctx.engine) as s:
        ev = s.exec(select(Event).where(Event.kind == "family.permission_changed")).one()
    assert ev.before["permission"] == "view" and ev.before["consent_method"] == "phone"
    assert ev.after["permission"] == "book" and ev.after["consent_method"] == "counter"

    # Revoking the mother's link: at the very next request she is not there for him.
    clock.advance(timedelta(minutes=1))
    mother_link = first.json()["id"]
    revoked = client.post(f"/api/v1/family-links/{mother_link}/revoke", headers=operator)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/api/v1/me", headers=_as(son, mother.id)).status_code == 404
    assert [x["id"] for x in client.get("/api/v1/m/family", headers=son).json()["residents"]] == [other.id]
    assert client.get("/api/v1/me", headers=son).status_code == 200  # the only one left: no header needed
    assert client.post(f"/api/v1/family-links/{mother_link}/revoke", headers=operator).status_code == 409
    history = client.get(f"/api/v1/residents/{mother.id}/family", headers=operator).json()
    assert history[0]["revoked_by"] == "user:ina-demo-operator"

    # Ending the account revokes the rest and ends the session; it signs in no more.
    ended = client.post(f"/api/v1/family-members/{member_id}/end", headers=operator)
    assert ended.status_code == 200 and all(x["revoked_at"] for x in ended.json()["links"])
    assert client.get("/api/v1/me", headers=son).status_code == 401
    refused = _sign_in(client, "taro-family")
    assert refused.status_code == 401 and refused.json()["code"] == "family.sign_in_failed"
    assert _link(client, operator, mother.id, member_id=member_id).json()["code"] == "family.member_ended"


def test_a_linked_nobody_is_told_so(client: TestClient, ctx: Dispatcher, operator: dict[str, str]) -> None:
    mother, _h, _o = _people(ctx)
    made = _link(client, operator, mother.id, "view", member=_new_member("solo-family"))
    family = _bearer(_sign_in(client, "solo-family"))
    client.post(f"/api/v1/family-links/{made.json()['id']}/revoke", headers=operator)
    r = client.get("/api/v1/me", headers=family)
    assert r.status_code == 403 and r.json()["code"] == "family.not_linked"
    assert client.get("/api/v1/m/family", headers=family).json()["residents"] == []


def test_accounts_are_checked_and_kept_to_their_town(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str]
) -> None:
    mother, husband, _other = _people(ctx)
    bad = _link(client, operator, mother.id, member=_new_member("ab", password="short", email="not-mail"))
    assert bad.status_code == 422
    assert {e["field"]: e.get("code") for e in bad.json()["errors"]} == {
        "login_id": "login_id.format",
        "password": "password.too_weak",
        "email": "field.invalid",
    }
    same = _link(client, operator, mother.id, member=_new_member("same-as-pw", password="same-as-pw"))
    assert same.json()["errors"][0]["code"] == "password.too_weak"
    both = client.post(
        f"/api/v1/residents/{mother.id}/family",
        json={
            "permission": "view",
            "consent_on": TODAY,
            "consent_method": "phone",
            "family_member_id": 1,
            "member": _new_member("x-family"),
        },
        headers=operator,
    )
    assert both.status_code == 422
    assert _link(client, operator, mother.id, member=_new_member("kept-family")).status_code == 201
    taken = _link(client, operator, husband.id, member=_new_member("KEPT-family"))
    assert taken.status_code == 422 and taken.json()["errors"][0]["code"] == "login_id.taken"
    with Session(ctx.engine) as s:
        assert len(s.exec(select(FamilyMember)).all()) == 1  # nothing half-made by the refusals

    # Another town: its operator finds neither the resident nor the account; the login id is the
    # town's own (a sign-in to the other town fails).
    add_town_b(ctx)
    b_operator = token_headers(client, f"{B}-operator")
    member_id = client.get("/api/v1/family-members", params={"q": "kept"}, headers=operator).json()[0]["id"]
    assert client.get(f"/api/v1/residents/{mother.id}/family", headers=b_operator).status_code == 404
    assert client.get(f"/api/v1/family-members/{member_id}", headers=b_operator).status_code == 404
    assert client.get("/api/v1/family-members", headers=b_operator).json() == []
    assert _link(client, b_operator, mother.id, member_id=member_id).status_code == 404
    with Session(ctx.engine) as s:
        foreign = s.exec(select(Resident).where(Resident.tenant_id == B)).first()
    assert _link(client, operator, foreign.id, member_id=member_id).status_code == 404
    assert _sign_in(client, "kept-family", tenant=B).status_code == 401
    assert _sign_in(client, "kept-family", tenant="ina-demo").status_code == 200
    # Municipality viewers (no personal data) and drivers have no business here.
    city = token_headers(client, "ina-demo-city")
    assert client.get(f"/api/v1/residents/{mother.id}/family", headers=city).status_code == 403


def test_wrong_passwords_stop_sign_in_for_a_while_and_a_new_password_lifts_it(
    client: TestClient, ctx: Dispatcher, operator: dict[str, str], clock: SimClock
) -> None:
    mother, _h, _o = _people(ctx)
    member_id = _link(client, operator, mother.id, member=_new_member("lock-family")).json()["family_member"][
        "id"
    ]
    earlier = _bearer(_sign_in(client, "lock-family"))
    answers = [_sign_in(client, "lock-family", f"wrong-{i}") for i in range(MAX_FAILURES)]
    assert {a.status_code for a in answers} == {401}
    unknown = _sign_in(client, "nobody-family")
    # one answer for a wrong password, a stopped account and an unknown login id
    assert len({(a.json()["code"], a.json()["detail"]) for a in [*answers, unknown]}) == 1
    assert answers[0].json()["detail"].startswith("ログインIDかパスワードがちがいます。5回続けて")
    stopped = _sign_in(client, "lock-family")  # even the right password
    assert stopped.status_code == 401
    view = client.get(f"/api/v1/family-members/{member_id}", headers=operator).json()
    assert view["locked_until"] is not None and view["live_sessions"] == 1
    assert client.get("/api/v1/me", headers=earlier).status_code == 200  # a stop ends no session
    clock.advance(timedelta(minutes=LOCK_MINUTES - 1))
    assert _sign_in(client, "lock-family").status_code == 401  # tries while stopped do not count
    clock.advance(timedelta(minutes=2))
    assert _sign_in(client, "lock-family").status_code == 200  # over by itself
    with Session(ctx.engine) as s:
        failed = s.exec(
            select(Event).where(Event.kind == "family.sign_in_failed").order_by(col(Event.id))
        ).all()
    assert [e.after["failures"] for e in failed] == [1, 2, 3, 4, 5] and "locked_until" in failed[-1].after

    # Stopped again; an operator's new password lifts it at once and ends the sessions before it.
    for i in range(MAX_FAILURES):
        _sign_in(client, "lock-family", f"again-{i}")
    assert _sign_in(client, "lock-family").status_code == 401
    reset = client.put(
        f"/api/v1/family-members/{member_id}/password", json={"password": "new-pass-77"}, headers=operator
    )
    assert reset.status_code == 204
    assert client.get("/api/v1/me", headers=earlier).status_code == 401
    assert _sign_in(client, "lock-family").status_code == 401  # the old password is gone
    now = _bearer(_sign_in(client, "lock-family", "new-pass-77"))
    other_phone = _bearer(_sign_in(client, "lock-family", "new-pass-77"))

    # She changes it herself: the current one first; her other session ends, this one stays.
    wrong = client.put(
        "/api/v1/m/family/password",
        json={"current_password": "nope-nope", "new_password": "mine-2026-x"},
        headers=now,
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["code"] == "password.wrong"
    assert wrong.json()["detail"] == "今のパスワードがちがいます。"
    ok = client.put(
        "/api/v1/m/family/password",
        json={"current_password": "new-pass-77", "new_password": "mine-2026-x"},
        headers=now,
    )
    assert ok.status_code == 204
    assert client.get("/api/v1/m/family", headers=now).status_code == 200
    assert client.get("/api/v1/m/family", headers=other_phone).status_code == 401
    assert _sign_in(client, "lock-family", "mine-2026-x").status_code == 200
    with Session(ctx.engine) as s:
        hashes = s.exec(select(FamilyMember.password_hash)).all()
    assert all(h.startswith("$argon2id$") for h in hashes)


def test_the_purge_removes_old_links_accounts_and_sessions(ctx: Dispatcher) -> None:
    """Identity's purge step: links revoked before the horizon go (their events keep the consent),
    and so do accounts ended before it or left without links, with their sessions; an anonymised
    resident's links go with her."""
    mother, husband, other = _people(ctx)
    old = DAY_START - timedelta(days=500)
    end = DAY_START - timedelta(days=400)

    def member(login: str, ended: bool = False) -> FamilyMember:
        return FamilyMember(
            tenant_id="ina-demo",
            name="x",
            login_id=login,
            password_hash="x",
            password_set_at=old,
            created_at=old,
            ended_at=old if ended else None,
        )

    def link(m: FamilyMember, r: Resident, revoked: Any = None) -> FamilyLink:
        return FamilyLink(
            tenant_id="ina-demo",
            family_member_id=m.id,
            resident_id=r.id,
            permission="view",
            consent_on=old.date(),
            consent_method="written",
            recorded_by="user:x",
            created_at=old,
            revoked_at=revoked,
        )

    with session_scope(ctx.engine) as s:
        kept, ended, orphan, recent = (
            member("kept1"),
            member("ended1", True),
            member("orphan"),
            member("recent1"),
        )
        s.add_all([kept, ended, orphan, recent])
        s.flush()
        s.add_all(
            [
                link(kept, mother),  # live: kept
                link(kept, husband, revoked=old),  # revoked long ago: goes
                link(ended, mother, revoked=old),
                link(recent, other, revoked=DAY_START),  # revoked recently: kept, and so is recent
                FamilySession(
                    token_hash="a" * 64,
                    tenant_id="ina-demo",
                    family_member_id=ended.id,
                    created_at=old,
                    expires_at=old,
                ),
            ]
        )
        ids = {m.login_id: m.id for m in (kept, ended, orphan, recent)}
    counts: Counter[str] = Counter()
    with session_scope(ctx.engine) as s:
        identity_purge.purge_sign_ins(s, "ina-demo", end, counts)
        identity_purge.purge_family(s, "ina-demo", end, counts)
    with Session(ctx.engine) as s:
        left = {m.login_id for m in s.exec(select(FamilyMember))}
        links = [
            (lk.family_member_id, lk.resident_id)
            for lk in s.exec(select(FamilyLink).order_by(col(FamilyLink.id)))
        ]
    assert left == {"kept1", "recent1"}
    assert links == [(ids["kept1"], mother.id), (ids["recent1"], other.id)]
    assert counts["family_member.deleted"] == 2 and counts["family_session.deleted"] == 1
    with session_scope(ctx.engine) as s:
        identity_purge.forget_residents(s, [mother.id], counts)
    with Session(ctx.engine) as s:
        assert [lk.resident_id for lk in s.exec(select(FamilyLink))] == [other.id]
    # what of the events outlives the period: the consent record, not the login id
    assert stripped("family.linked", {"consent_on": TODAY, "permission": "book"}) == {
        "consent_on": TODAY,
        "permission": "book",
    }
    assert stripped("family.member_created", {"login_id": "hanako@example.jp"}) is None


@pytest.mark.parametrize("header", ["", " "])
def test_a_blank_header_is_no_choice(header: str, sqlite_ctx: Dispatcher) -> None:
    from tests.conftest import client_for

    with client_for(sqlite_ctx) as client:
        operator = token_headers(client, "ina-demo-operator")
        mother, _h, _o = _people(sqlite_ctx)
        _link(client, operator, mother.id, member=_new_member("blank-family"))
        family = _bearer(_sign_in(client, "blank-family"))
        r = client.get("/api/v1/me", headers={**family, "Noriai-Resident": header})
        assert r.status_code == 200 and r.json()["members"][0]["id"] == mother.id
