"""A demo delivery day: `orders` grocery orders from member households before the 11:00 cut-off,
then the cut-off planning (flights, taxi freight for the rest). Prints the plan's numbers and how
long planning took. Run `python -m simulations.delivery_day [--orders 60] [--wind 0] [--rain]`."""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import uuid
from datetime import datetime, timedelta

from sqlmodel import Session, select

from dispatcher.clock import SimClock
from dispatcher.db import session_scope
from dispatcher.models import Household, Membership, Product
from dispatcher.platform.bootstrap import build_dispatcher
from dispatcher.platform.demo import seed_demo
from dispatcher.settings import DEMO_TENANT_FILE, Settings
from dispatcher.shopping.delivery import plan_delivery
from dispatcher.shopping.orders import LineRequest, OrderRequest, place_order


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=60)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--wind", type=float, default=0.0)
    p.add_argument("--rain", action="store_true")
    args = p.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        clock = SimClock(datetime.fromisoformat("2026-11-24T08:00:00+09:00"))
        ctx = build_dispatcher(
            Settings(DATABASE_URL=f"sqlite:///{tmp}/delivery.db", NORIAI_TENANT_FILE=DEMO_TENANT_FILE), clock
        )
        cfg = ctx.config("ina-demo")
        with session_scope(ctx.engine) as s:
            seed_demo(s, cfg, clock.now())
        with Session(ctx.engine) as s:
            members = {m.household_id for m in s.exec(select(Membership))}
            households = [h.id for h in s.exec(select(Household)) if h.id in members]
            products = [x.id for x in s.exec(select(Product)) if x.weight_g <= 1500]
        for _ in range(args.orders):
            clock.advance(timedelta(seconds=150))
            lines = [
                LineRequest(product_id=pid, quantity=1) for pid in rng.sample(products, rng.randint(1, 3))
            ]
            place_order(
                ctx,
                cfg.id,
                OrderRequest(household_id=rng.choice(households), lines=lines),
                str(uuid.uuid4()),
                "simulation",
            )
        clock.set(datetime.fromisoformat("2026-11-24T11:00:00+09:00"))
        summary = plan_delivery(ctx, cfg.id, clock.now().astimezone(cfg.tz).date(), args.wind, args.rain)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
