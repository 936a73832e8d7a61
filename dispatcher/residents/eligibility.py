"""Who may ride, decided per ride date from the evidence the municipality recorded.

A resident's categories on a date:
- `age_65_plus` from the birth date: the age on that date is at least `eligibility.min_age`;
- every other category from its evidence (`Resident.evidence`, a list of `Evidence`): it holds from
  `since` (the day the licence was surrendered, the certificate issued; none: always) through
  `until`, the last day of validity printed on the certificate (有効期限, inclusive; none: no end).
  A certificate that expires on the 8th makes its holder eligible on the 8th and not on the 9th.

The tenant's `eligibility.any_of` names the categories that let a resident ride; `verdict` says
whether the resident may ride on a date, by which categories, until when, and for each rule that
failed, why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatcher.errors import Code, field_error
from dispatcher.models import Resident
from dispatcher.tenant_config import CATEGORIES, TenantConfig
from dispatcher.timeline import RecordDay

DISABILITY_KINDS = {
    "physical": "身体障害者手帳",
    "intellectual": "療育手帳",
    "mental": "精神障害者保健福祉手帳",
}
DisabilityKind = Literal["physical", "intellectual", "mental"]


class Evidence(BaseModel):
    """What one eligibility category rests on.

    - `licence_surrendered`: `since` the surrender date, `document_no` the 運転経歴証明書 number;
    - `disability`: `kind` of certificate, `grade` (等級 or 判定, e.g. "2級", "A"), `until` its expiry
      date when it has one, `document_no` the certificate number;
    - a category of the tenant's own: `document_no` and `until` as its definition requires.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(min_length=1, max_length=32)
    since: RecordDay | None = Field(None, description="first day it holds (local date)")
    until: RecordDay | None = Field(None, description="last day it holds, inclusive (local date)")
    document_no: str = Field("", max_length=32, description="number of the certificate or document")
    kind: DisabilityKind | None = Field(None, description="disability certificates: which one")
    grade: str = Field("", max_length=16, description="disability certificates: grade, e.g. 2級 or A")
    note: str = Field("", max_length=200)

    def holds_on(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (self.until is None or day <= self.until)

    def stored(self) -> dict[str, Any]:
        """The JSON kept in `Resident.evidence` (dates as ISO strings, empty fields left out)."""
        return self.model_dump(mode="json", exclude_defaults=True)


def evidence_of(resident: Resident) -> list[Evidence]:
    """The resident's evidence as typed records (rows the retention purge blanked give none)."""
    out: list[Evidence] = []
    for raw in resident.evidence or []:
        try:
            out.append(Evidence.model_validate(raw))
        except ValidationError:
            continue  # stored by an older version in a shape we no longer read: ignore, never crash
    return out


def age_on(birth: date, day: date) -> int:
    """Age in whole years on a date."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def birthday_of_age(birth: date, age: int) -> date:
    """The date a person born on `birth` turns `age` (29 February: 1 March in other years)."""
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:
        return date(birth.year + age, 3, 1)


def categories_on(resident: Resident, cfg: TenantConfig, day: date) -> set[str]:
    """Every category the resident holds on a date (for eligibility and reduced fares)."""
    cats = {e.category for e in evidence_of(resident) if e.holds_on(day)}
    if age_on(resident.birth_date, day) >= cfg.eligibility.min_age:
        cats.add("age_65_plus")
    return cats


@dataclass(frozen=True)
class Rule:
    """One category of `any_of` applied to a resident on a date; `detail` says why in English and
    `params` carry the dates and ages a page puts into its own words."""

    category: str
    holds: bool
    detail: str
    until: date | None = None  # last day it holds (None: no end, or does not hold)
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """Whether a resident may ride on `day`, by which categories, until when (`until`: the last day
    the current categories keep holding; None with `eligible`: no end date), and each rule's result."""

    day: date
    registered: bool
    eligible: bool
    by: tuple[str, ...]
    until: date | None
    rules: tuple[Rule, ...]

    def failed(self) -> str:
        """The rules that failed, as one English sentence for a refusal."""
        if not self.registered:
            return "the registration is not in force"
        return "; ".join(f"{r.category}: {r.detail}" for r in self.rules if not r.holds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "eligible": self.eligible,
            "by": list(self.by),
            "until": self.until.isoformat() if self.until else None,
            "rules": [
                {
                    "category": r.category,
                    "holds": r.holds,
                    "detail": r.detail,
                    "until": r.until.isoformat() if r.until else None,
                    "params": r.params,
                }
                for r in self.rules
            ],
        }


def _age_rule(resident: Resident, cfg: TenantConfig, day: date) -> Rule:
    need = cfg.eligibility.min_age
    age = age_on(resident.birth_date, day)
    if age >= need:
        return Rule("age_65_plus", True, f"{age} years old (from {need})", params={"age": str(age)})
    turns = birthday_of_age(resident.birth_date, need)
    return Rule(
        "age_65_plus",
        False,
        f"{age} years old on {day.isoformat()}; {need} on {turns.isoformat()}",
        params={"age": str(age), "min_age": str(need), "from": turns.isoformat()},
    )


def _evidence_rule(category: str, evidence: list[Evidence], day: date) -> Rule:
    mine = [e for e in evidence if e.category == category]
    holding = [e for e in mine if e.holds_on(day)]
    if holding:
        ends = [e.until for e in holding]
        until = None if any(u is None for u in ends) else max(u for u in ends if u is not None)
        text = f"recorded, valid through {until.isoformat()}" if until else "recorded"
        return Rule(category, True, text, until, params={"until": until.isoformat()} if until else {})
    if not mine:
        return Rule(category, False, "not recorded", params={"missing": "1"})
    expired = [e.until for e in mine if e.until is not None and e.until < day]
    if expired:
        last = max(expired)
        return Rule(category, False, f"expired on {last.isoformat()}", params={"expired": last.isoformat()})
    starts = [e.since for e in mine if e.since is not None and e.since > day]
    first = min(starts) if starts else day
    return Rule(category, False, f"holds from {first.isoformat()}", params={"from": first.isoformat()})


def verdict(resident: Resident, cfg: TenantConfig, day: date) -> Verdict:
    """Whether the resident may ride on `day`, and why (every rule of `eligibility.any_of`)."""
    evidence = evidence_of(resident)
    rules = tuple(
        _age_rule(resident, cfg, day) if cat == "age_65_plus" else _evidence_rule(cat, evidence, day)
        for cat in cfg.eligibility.any_of
    )
    registered = resident.active and (resident.ended_on is None or day < resident.ended_on)
    by = tuple(r.category for r in rules if r.holds)
    until: date | None = None
    if by:
        ends = [r.until for r in rules if r.holds]
        until = None if any(u is None for u in ends) else max(u for u in ends if u is not None)
    if resident.ended_on is not None and resident.ended_on > date.min:
        last = resident.ended_on - timedelta(days=1)
        until = last if until is None else min(until, last)
    return Verdict(day, registered, registered and bool(by), by, until, rules)


def eligibility_refusal(v: Verdict, cfg: TenantConfig, field: str = "resident_id") -> dict[str, str]:
    """The field error of a booking refused for eligibility, naming every rule that failed.

    Parameters for the pages' texts: `day`, and `failed`: one `category|name|state|date` per failed
    rule joined by ';' (state: missing, expired, from, age)."""
    names = category_names(cfg)
    parts = []
    for r in v.rules:
        if r.holds:
            continue
        state, when = "missing", ""
        if "expired" in r.params:
            state, when = "expired", r.params["expired"]
        elif "min_age" in r.params:
            state, when = "age", r.params["from"]
        elif "from" in r.params:
            state, when = "from", r.params["from"]
        parts.append(f"{r.category}|{names.get(r.category, r.category)}|{state}|{when}")
    return field_error(
        field,
        f"the resident is not eligible on {v.day.isoformat()}: {v.failed()}"
        " (record new evidence in the registration if this has changed)",
        code=Code.resident_not_eligible,
        day=v.day.isoformat(),
        failed=";".join(parts),
    )


def check_evidence(
    cfg: TenantConfig, evidence: list[Evidence], prefix: str = "evidence"
) -> list[dict[str, str]]:
    """Field errors for evidence this tenant cannot accept (unknown category, a missing date or
    number the category needs, an expiry before its start)."""
    errors: list[dict[str, str]] = []
    known = cfg.eligibility.known()
    for i, e in enumerate(evidence):
        at = f"{prefix}[{i}]"
        if e.category == "age_65_plus":
            errors.append(
                field_error(
                    f"{at}.category",
                    "age_65_plus comes from the birth date; record no evidence for it",
                    code=Code.evidence_age_derived,
                )
            )
            continue
        if e.category not in known:
            errors.append(
                field_error(
                    f"{at}.category",
                    f"unknown category {e.category!r}; this municipality knows "
                    + ", ".join(sorted(known - {"age_65_plus"})),
                    code=Code.evidence_category_unknown,
                    category=e.category,
                )
            )
            continue
        if e.since and e.until and e.until < e.since:
            errors.append(
                field_error(
                    f"{at}.until", "the expiry date is before the start date", code=Code.evidence_dates
                )
            )
        if e.category == "licence_surrendered":
            if e.since is None:
                errors.append(
                    field_error(
                        f"{at}.since",
                        "the date the licence was surrendered is required",
                        code=Code.evidence_incomplete,
                    )
                )
        elif e.category == "disability":
            if e.kind is None:
                errors.append(
                    field_error(
                        f"{at}.kind",
                        "which certificate: physical, intellectual or mental",
                        code=Code.evidence_incomplete,
                    )
                )
            if not e.grade:
                errors.append(
                    field_error(
                        f"{at}.grade", "the certificate's grade is required", code=Code.evidence_incomplete
                    )
                )
        else:
            own = cfg.eligibility.category(e.category)
            if own is not None and own.document_number_required and not e.document_no:
                errors.append(
                    field_error(
                        f"{at}.document_no",
                        f"the number of the {own.document or 'document'} is required",
                        code=Code.evidence_incomplete,
                    )
                )
            if own is not None and own.expires and e.until is None:
                errors.append(
                    field_error(f"{at}.until", "the expiry date is required", code=Code.evidence_incomplete)
                )
    return errors


def category_names(cfg: TenantConfig) -> dict[str, str]:
    """Japanese names of the tenant's categories, for pages and documents."""
    names = {
        "age_65_plus": f"{cfg.eligibility.min_age}歳以上",
        "licence_surrendered": "運転免許返納",
        "disability": "障害者手帳",
    }
    names.update({c.id: c.name for c in cfg.eligibility.categories})
    return names


@dataclass(frozen=True)
class CategoryInfo:
    """A category as a registration form offers it: `evidence` False for age (from the birth date),
    `accepted` whether it lets a resident ride (eligibility.any_of), and what its evidence needs."""

    id: str
    name: str
    builtin: bool
    evidence: bool
    accepted: bool
    document: str = ""
    document_number_required: bool = False
    expires: bool = False


def category_list(cfg: TenantConfig) -> list[CategoryInfo]:
    """Every category this tenant knows, built-in ones first, with its Japanese name."""
    names = category_names(cfg)
    accepted = set(cfg.eligibility.any_of)
    out = [
        CategoryInfo("age_65_plus", names["age_65_plus"], True, False, "age_65_plus" in accepted, "生年月日"),
        CategoryInfo(
            "licence_surrendered",
            names["licence_surrendered"],
            True,
            True,
            "licence_surrendered" in accepted,
            "運転経歴証明書",
        ),
        CategoryInfo("disability", names["disability"], True, True, "disability" in accepted, "障害者手帳"),
    ]
    out += [
        CategoryInfo(
            c.id, c.name, False, True, c.id in accepted, c.document, c.document_number_required, c.expires
        )
        for c in cfg.eligibility.categories
    ]
    return out


__all__ = ["CATEGORIES", "Evidence", "Verdict", "categories_on", "check_evidence", "verdict"]
