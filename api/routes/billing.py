"""Monthly billing: closing a month, statements, sellers' settlements, adjustments, the files for
the cable-TV company (CSV and the Zengin direct-debit request), households' bank accounts."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, select

from api.deps import get_ctx, require
from api.files import file_responses
from api.schemas.billing import Account, Adjustment, Bank, Branch, ClosedMonth, Settlement
from api.schemas.billing import BillingMonth as MonthOut
from api.schemas.billing import Statement as StatementOut
from dispatcher import zengin as bank_master
from dispatcher.billing.statements import (
    account_of,
    add_adjustment,
    bills_to_close,
    close_month,
    collection_csv,
    month_view,
    parse_month,
    set_account,
    settlements_of,
    zengin_file,
)
from dispatcher.context import Dispatcher
from dispatcher.db import RowId
from dispatcher.errors import Code, NotFound
from dispatcher.identity.auth import Principal
from dispatcher.models import BillingAccount, BillingMonth, Role, SellerSettlement, Statement

router = APIRouter(prefix="/api/v1", tags=["billing"])
admin = require()


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, a month that is over")


@router.post(
    "/billing/close",
    response_model=ClosedMonth,
    summary="Close a finished month (once; again changes nothing)",
)
def close(body: CloseIn, p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)) -> dict[str, Any]:
    parse_month(body.month)
    return close_month(ctx, p.tenant_id, body.month, p.actor)


@router.get("/billing/months", response_model=list[MonthOut], summary="Closed months with their totals")
def months(p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)) -> list[dict[str, Any]]:
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(BillingMonth)
            .where(BillingMonth.tenant_id == p.tenant_id)
            .order_by(col(BillingMonth.month))
        ).all()
    return [month_view(m) for m in rows]


@router.get(
    "/billing/{month}/statements",
    response_model=list[StatementOut],
    response_model_exclude_unset=True,  # a line names only what it charges for (and `late` if it is)
    summary="Every household's statement of a closed month",
)
def statements(
    month: str, p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)
) -> list[dict[str, Any]]:
    parse_month(month)
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(Statement)
            .where(Statement.tenant_id == p.tenant_id, Statement.month == month)
            .order_by(col(Statement.household_id))
        ).all()
    return [
        {"household_id": s.household_id, "by_kind": s.by_kind, "total_yen": s.total_yen, "lines": s.lines}
        for s in rows
    ]


@router.get(
    "/billing/{month}/settlements",
    response_model=list[Settlement],
    response_model_exclude_unset=True,  # `seller` and `name` only for an open month
    summary="Sellers' settlements: gross, commission, payout",
)
def settlements(
    month: str, p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)
) -> list[dict[str, Any]]:
    parse_month(month)
    with Session(ctx.engine) as session:
        closed = session.exec(
            select(SellerSettlement).where(
                SellerSettlement.tenant_id == p.tenant_id, SellerSettlement.month == month
            )
        ).all()
        if closed:
            return [
                {
                    "seller_id": s.seller_id,
                    "orders": s.orders,
                    "gross_yen": s.gross_yen,
                    "commission_percent": s.commission_percent,
                    "commission_yen": s.commission_yen,
                    "net_yen": s.net_yen,
                    "closed": True,
                }
                for s in closed
            ]
        cfg = ctx.config(p.tenant_id, session)
        return [
            {**s, "closed": False} for s in settlements_of(session, cfg, bills_to_close(session, cfg, month))
        ]


@router.get(
    "/billing/{month}/collection.csv",
    summary="For the cable-TV company: amounts by kind per customer",
    response_class=Response,
    responses=file_responses("text/csv", "One row per customer"),
)
def collection(month: str, p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)) -> Response:
    parse_month(month)
    return Response(
        collection_csv(ctx, p.tenant_id, month),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="collection-{month}.csv"'},
    )


@router.get(
    "/billing/{month}/zengin",
    summary="The direct-debit request file (Zengin format, 120-byte records)",
    response_class=Response,
    responses=file_responses(
        "application/octet-stream", "The file; `Noriai-Left-Out` names households left out"
    ),
)
def zengin(month: str, p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)) -> Response:
    parse_month(month)
    blob, left_out = zengin_file(ctx, p.tenant_id, month)
    return Response(
        blob,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="debit-{month}.txt"',
            "Noriai-Left-Out": ",".join(
                f"{x['household_id']}:{x['why'].replace(' ', '_')}" for x in left_out
            ),
        },
    )


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    household_id: RowId
    amount_yen: int = Field(ge=-1_000_000, le=1_000_000, description="positive: charge; negative: credit")
    reason: str = Field(min_length=1, max_length=200)
    corrects: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="the closed month it corrects")

    @field_validator("amount_yen")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("must not be 0")
        return v


@router.post(
    "/billing/adjustments",
    status_code=201,
    response_model=Adjustment,
    summary="A correction, charged in this (open) month",
)
def adjustment(
    body: AdjustmentIn, p: Principal = Depends(admin), ctx: Dispatcher = Depends(get_ctx)
) -> dict[str, Any]:
    a = add_adjustment(
        ctx, p.tenant_id, body.household_id, body.amount_yen, body.reason, p.actor, body.corrects
    )
    return {
        "id": a.id,
        "household_id": a.household_id,
        "month": a.month,
        "corrects": a.corrects,
        "amount_yen": a.amount_yen,
        "reason": a.reason,
    }


class AccountIn(BaseModel):
    """A household's direct-debit account as on the bank's form (口座振替依頼書). The bank's and
    the branch's names come from the Zengin bank master."""

    model_config = ConfigDict(extra="forbid")
    customer_no: str = Field(pattern=r"^[0-9]{1,20}$")
    bank_code: str = Field(pattern=r"^[0-9]{4}$", description="金融機関コード, in the Zengin bank master")
    branch_code: str = Field(pattern=r"^[0-9]{3}$", description="店番号, a branch of that bank")
    account_type: int = Field(1, description="1 ordinary, 2 current, 4 savings")
    account_number: str = Field(pattern=r"^[0-9]{1,7}$")
    holder_kana: str = Field(
        min_length=1, max_length=60, description="the account holder in kana (hiragana or katakana)"
    )

    @field_validator("account_type")
    @classmethod
    def _type(cls, v: int) -> int:
        if v not in (1, 2, 4):
            raise ValueError("must be 1 (ordinary), 2 (current) or 4 (savings)")
        return v


def _account_view(acc: BillingAccount) -> dict[str, Any]:
    view = {k: getattr(acc, k) for k in AccountIn.model_fields}
    b, br = bank_master.bank(acc.bank_code), bank_master.branch(acc.bank_code, acc.branch_code)
    return {
        **view,
        "account_number": re.sub(r"\d(?=\d{3})", "*", view["account_number"]),
        "bank_name": acc.bank_name,
        "bank_name_ja": b.name if b else "",
        "branch_name": acc.branch_name,
        "branch_name_ja": br.name if br else "",
    }


@router.put(
    "/households/{household_id}/billing-account",
    response_model=Account,
    summary="Register a household's direct-debit account (checked against the bank master)",
)
def put_account(
    household_id: RowId,
    body: AccountIn,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    return _account_view(set_account(ctx, p.tenant_id, household_id, body.model_dump(), p.actor))


@router.get(
    "/households/{household_id}/billing-account",
    response_model=Account,
    summary="A household's direct-debit account (404 when none is registered)",
)
def get_account(
    household_id: RowId,
    p: Principal = Depends(require(Role.operator)),
    ctx: Dispatcher = Depends(get_ctx),
) -> dict[str, Any]:
    with Session(ctx.engine) as session:
        return _account_view(account_of(session, p.tenant_id, household_id))


BankCode = Annotated[str, Path(pattern=r"^[0-9]{4}$", description="金融機関コード, 4 digits")]
BranchCode = Annotated[str, Path(pattern=r"^[0-9]{3}$", description="店番号, 3 digits")]


def _bank(code: str) -> bank_master.MasterEntry:
    b = bank_master.bank(code)
    if b is None:
        raise NotFound(f"No bank {code} in the Zengin bank master.", code=Code.bank_unknown, bank_code=code)
    return b


@router.get("/banks/{bank_code}", response_model=Bank, summary="A bank of the Zengin bank master")
def get_bank(bank_code: BankCode, p: Principal = Depends(require(Role.operator))) -> dict[str, Any]:
    b = _bank(bank_code)
    return {"code": b.code, "name": b.name, "kana": b.kana, "master_date": bank_master.master_date()}


@router.get(
    "/banks/{bank_code}/branches/{branch_code}",
    response_model=Branch,
    summary="A branch of a bank in the Zengin bank master",
)
def get_branch(
    bank_code: BankCode, branch_code: BranchCode, p: Principal = Depends(require(Role.operator))
) -> dict[str, Any]:
    b = _bank(bank_code)
    br = bank_master.branch(bank_code, branch_code)
    if br is None:
        raise NotFound(
            f"{b.name} ({b.code}) has no branch {branch_code}.",
            code=Code.branch_unknown,
            branch_code=branch_code,
            bank_name=b.name,
        )
    return {"bank_code": b.code, "bank_name": b.name, "code": br.code, "name": br.name, "kana": br.kana}
