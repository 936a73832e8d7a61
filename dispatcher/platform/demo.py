"""The demo municipalities: tenant, fleet, fictional residents and demo logins of each town in
`dispatcher/platform/demo_towns/` (Ina, a city with shopping and drones; Yasuoka, a small village
with rides only).

Residents are generated from a fixed seed, so every machine gets the same people. Their names are
fictional combinations of common names; homes lie around the demo's community halls.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from dispatcher import zengin
from dispatcher.db import id_of
from dispatcher.identity.auth import create_user
from dispatcher.models import BillingAccount, Driver, Household, Membership, Operator, Resident, User
from dispatcher.shopping.catalogue import seed_catalogue
from dispatcher.tenant_config import TenantConfig
from dispatcher.tenants import sync_tenant

FAMILY = [
    ("伊藤", "いとう"),
    ("小池", "こいけ"),
    ("酒井", "さかい"),
    ("宮下", "みやした"),
    ("北原", "きたはら"),
    ("田中", "たなか"),
    ("中村", "なかむら"),
    ("小林", "こばやし"),
    ("丸山", "まるやま"),
    ("春日", "かすが"),
    ("唐木", "からき"),
    ("矢島", "やじま"),
    ("伊東", "いとう"),
    ("池上", "いけがみ"),
    ("竹松", "たけまつ"),
    ("有賀", "あるが"),
    ("平澤", "ひらさわ"),
    ("中島", "なかじま"),
    ("原", "はら"),
    ("北澤", "きたざわ"),
]
GIVEN = [
    ("和子", "かずこ"),
    ("幸子", "さちこ"),
    ("節子", "せつこ"),
    ("弘子", "ひろこ"),
    ("久子", "ひさこ"),
    ("洋子", "ようこ"),
    ("光子", "みつこ"),
    ("照子", "てるこ"),
    ("文子", "ふみこ"),
    ("美代子", "みよこ"),
    ("千代子", "ちよこ"),
    ("静江", "しずえ"),
    ("清", "きよし"),
    ("茂", "しげる"),
    ("勇", "いさむ"),
    ("博", "ひろし"),
    ("正", "ただし"),
    ("実", "みのる"),
    ("進", "すすむ"),
    ("武", "たけし"),
    ("正男", "まさお"),
    ("一郎", "いちろう"),
    ("義雄", "よしお"),
    ("昭", "あきら"),
]
DEMO_PASSWORD = "noriai-demo"
# residents each demo town gets unless `noriai seed-demo --residents` says otherwise
DEMO_TOWN_RESIDENTS = {"ina-demo": 400, "yasuoka-demo": 30}


def demo_residents(cfg: TenantConfig, given: int | None) -> int:
    """How many residents to generate for a town: the number given, else the town's demo size."""
    return given if given is not None else DEMO_TOWN_RESIDENTS.get(cfg.id, 400)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str


def favourites(cfg: TenantConfig, lat: float, lon: float) -> list[str]:
    """The nearest hospital or clinic, supermarket and station (or city office) to a home."""
    out = []
    for kinds in (("hospital", "clinic"), ("supermarket",), ("station", "city_hall")):
        near = sorted(
            (p for p in cfg.places if p.kind in kinds),
            key=lambda p: (p.lat - lat) ** 2 + ((p.lon - lon) * math.cos(math.radians(lat))) ** 2,
        )
        if near:
            out.append(near[0].id)
    return out


def generate_residents(
    cfg: TenantConfig, count: int, seed: int, today: date
) -> list[tuple[Household, list[Resident]]]:
    """Households with 1-2 residents around the tenant's community halls (or places)."""
    rng = random.Random(seed)
    area = cfg.area_shape()
    centres = [p for p in cfg.places if p.kind == "community_hall"] or cfg.places
    out: list[tuple[Household, list[Resident]]] = []
    made = 0
    while made < count:
        c = rng.choice(centres)
        while True:
            r_m, a = rng.uniform(100, 1800), rng.uniform(0, 2 * math.pi)
            lat = c.lat + r_m * math.cos(a) / 111_320
            lon = c.lon + r_m * math.sin(a) / (111_320 * math.cos(math.radians(c.lat)))
            from shapely.geometry import Point as SP

            if area.covers(SP(lon, lat)):
                break
        family = rng.choice(FAMILY)
        phone = f"0265-{rng.randint(70, 99):02d}-{rng.randint(0, 9999):04d}"
        hh = Household(
            tenant_id=cfg.id,
            address=f"{c.name}付近 {rng.randint(1, 3000)}番地",
            lat=lat,
            lon=lon,
            phone=phone,
            hall_id=c.id if c.kind == "community_hall" else None,  # homes are generated around halls
            settlement=c.name.removesuffix("公民館") if c.kind == "community_hall" else "",
        )
        members = []
        for _ in range(1 if rng.random() < 0.55 else 2):
            given = rng.choice(GIVEN)
            age = rng.choices(
                [rng.randint(58, 64), rng.randint(65, 79), rng.randint(80, 96)], [0.1, 0.5, 0.4]
            )[0]
            birth = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
            cats = []
            if rng.random() < 0.35:
                cats.append("licence_surrendered")
            if rng.random() < 0.08:
                cats.append("disability")
            wheelchair = "disability" in cats and rng.random() < 0.4
            members.append(
                Resident(
                    tenant_id=cfg.id,
                    family_name=family[0],
                    given_name=given[0],
                    family_kana=family[1],
                    given_kana=given[1],
                    birth_date=birth,
                    phone=phone,
                    lat=lat,
                    lon=lon,
                    registration_no=f"{cfg.id[:3].upper()}-{made + 1:05d}",
                    evidence=demo_evidence(cats, made),
                    wheelchair=wheelchair,
                    notes="車いす" if wheelchair else "",
                    registered_at=datetime(2020, 4, 1, tzinfo=cfg.tz),
                    favourite_places=favourites(cfg, lat, lon),
                )
            )
            made += 1
        out.append((hh, members))
    return out


def demo_evidence(categories: list[str], n: int) -> list[dict[str, object]]:
    """Evidence for a demo resident's categories, derived from its number (the generator's random
    stream stays as it was): licences surrendered 2018-2023, physical disability certificates
    without expiry."""
    out: list[dict[str, object]] = []
    for c in categories:
        if c == "licence_surrendered":
            since = date(2018 + n % 6, 1 + n % 12, 1 + n % 28)
            out.append(
                {"category": c, "since": since.isoformat(), "document_no": f"{540000000000 + n * 7919}"}
            )
        elif c == "disability":
            out.append(
                {"category": c, "kind": "physical", "grade": f"{1 + n % 6}級", "document_no": f"D{n:06d}"}
            )
    return out


# The demo's households bank with a regional bank of the Zengin bank master: 八十二長野銀行 (0143),
# at its branches 伊那 (553), 高遠 (555) and 伊那北 (554). Names come from the master.
DEMO_BANK = "0143"
DEMO_BRANCHES = ("553", "555", "554")


def _master(entry: zengin.MasterEntry | None) -> zengin.MasterEntry:
    if entry is None:
        raise LookupError("the demo's bank or branch is missing from the Zengin bank master")
    return entry


def seed_demo(
    session: Session, cfg: TenantConfig, now: datetime, residents: int = 400, seed: int = 2020
) -> list[DemoLogin]:
    """Load the demo tenant if its residents are missing; returns the demo logins (created or existing)."""
    sync_tenant(session, cfg, now)
    session.flush()
    have = session.exec(select(func.count()).select_from(Resident).where(Resident.tenant_id == cfg.id)).one()
    if have == 0:
        rng = random.Random(seed + 1)
        bank = random.Random(seed + 2)  # its own stream: the rest of the demo stays as it was
        today = now.astimezone(cfg.tz).date()
        for hh, members in generate_residents(cfg, residents, seed, today):
            session.add(hh)
            session.flush()
            assert hh.id is not None
            for m in members:
                m.household_id = hh.id
                session.add(m)
            if bank.random() < 0.9:  # most pay with the cable-TV bill by direct debit
                branch = bank.choice(DEMO_BRANCHES)
                session.add(
                    BillingAccount(
                        household_id=hh.id,
                        tenant_id=cfg.id,
                        customer_no=f"{100000 + hh.id}",
                        bank_code=DEMO_BANK,
                        bank_name=_master(zengin.bank(DEMO_BANK)).kana,
                        branch_code=branch,
                        branch_name=_master(zengin.branch(DEMO_BANK, branch)).kana,
                        account_number=f"{bank.randint(0, 9_999_999):07d}",
                        holder_kana=zengin.kana(f"{members[0].family_kana} {members[0].given_kana}")[:30],
                        updated_at=now,
                        updated_by="system:seed-demo",
                    )
                )
            if cfg.shopping is not None and rng.random() < 0.8:  # most households shop with us
                session.add(
                    Membership(
                        tenant_id=cfg.id,
                        household_id=hh.id,
                        starts_on=date(2020, 8, 1),
                        fee_yen=cfg.shopping.membership_yen_per_month,
                    )
                )
    if cfg.shopping is not None:
        seed_catalogue(session, cfg.id)
    logins = [
        DemoLogin(f"{cfg.id}-admin", "admin", DEMO_PASSWORD),
        DemoLogin(f"{cfg.id}-operator", "operator", DEMO_PASSWORD),
        DemoLogin(f"{cfg.id}-city", "municipality", DEMO_PASSWORD),
    ]
    operators = session.exec(
        select(Operator).where(Operator.tenant_id == cfg.id).order_by(col(Operator.id))
    ).all()
    for op in operators:
        logins.append(DemoLogin(f"{cfg.id}-driver-{op.key}", "driver", DEMO_PASSWORD))
    if cfg.drones is not None:
        logins.append(DemoLogin(f"{cfg.id}-drone", "drone_operator", DEMO_PASSWORD))
    if cfg.shopping is not None:
        logins.append(DemoLogin(f"{cfg.id}-support", "support_worker", DEMO_PASSWORD))
        for sel in cfg.shopping.sellers:
            logins.append(DemoLogin(f"{cfg.id}-seller-{sel.id}", "seller", DEMO_PASSWORD))
    for login in logins:
        if session.exec(select(User).where(User.username == login.username)).first():
            continue
        op_key = login.username.removeprefix(f"{cfg.id}-driver-") if login.role == "driver" else None
        seller_key = login.username.removeprefix(f"{cfg.id}-seller-") if login.role == "seller" else None
        user = create_user(
            session,
            cfg.id,
            login.role,
            login.username,
            login.password,
            now,
            operator_key=op_key,
            actor="system:seed-demo",
            seller_key=seller_key,
            every_hall=login.role == "support_worker",  # one demo login walks every hall
        )
        if login.role == "driver":
            op = next(o for o in operators if o.key == op_key)
            session.add(
                Driver(tenant_id=cfg.id, operator_id=id_of(op), user_id=user.id, name=f"{op.name} 運転手")
            )
    return logins


DEMO_PIN = "2580"


def demo_phone_login(session: Session, cfg: TenantConfig, now: datetime) -> tuple[int, str]:
    """The demo's smartphone-page login: the first resident with the demo PIN (set once)."""
    from dispatcher.identity.pins import set_pin
    from dispatcher.models import ResidentPin

    first = session.exec(
        select(Resident).where(Resident.tenant_id == cfg.id).order_by(col(Resident.id))
    ).first()
    assert first is not None and first.id is not None
    if session.get(ResidentPin, first.id) is None:
        set_pin(session, cfg.id, first.id, DEMO_PIN, now, "system:seed-demo")
    return first.id, DEMO_PIN
