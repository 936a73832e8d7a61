"""The `noriai` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol

from dispatcher.context import Dispatcher
from dispatcher.errors import Code, DomainError
from dispatcher.models import Role
from dispatcher.settings import Settings

if TYPE_CHECKING:
    from pathlib import Path

    from dispatcher.tenant_config import TenantConfig


def _ctx(settings: Settings, sync: bool | Literal["missing"] = False) -> Dispatcher:
    """The dispatcher for a command. Commands store no town: only `noriai tenant apply` (and
    `noriai seed-demo`, for the demo towns) does, so a command run without NORIAI_TENANT_FILE
    never adds the demo towns to a production database. A town the database lacks is refused
    with the command that stores it."""
    from dispatcher.platform.bootstrap import build_dispatcher

    return build_dispatcher(settings, sync=sync)


def _day(text: str) -> date:
    """A command-line date: YYYY-MM-DD within the calendar Noriai serves (2000–2100), or argparse
    says what is wrong."""
    from dispatcher.timeline import out_of_range

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None
    why = out_of_range(day)
    if why is not None:
        raise argparse.ArgumentTypeError(f"{text}: {why}")
    return day


class _NoTenant(Exception):
    """Several municipalities are served and the command named none."""


def _tenant(args: argparse.Namespace, ctx: Dispatcher) -> str:
    """The --tenant given, or the only municipality served; with several, the user must choose."""
    from dispatcher.errors import InvalidRequest, NotFound

    if getattr(args, "tenant", None):
        return str(args.tenant)
    if not ctx.tenants():
        raise NotFound("no municipality", code=Code.tenant_unknown)
    try:
        return ctx.default_tenant()
    except InvalidRequest:
        raise _NoTenant(", ".join(t for t, _ in ctx.tenants())) from None


def _refused(e: Exception) -> int:
    """Print a refused command's problem with the option to fix; exit status 1."""
    print(getattr(e, "detail", str(e)), file=sys.stderr)
    for err in getattr(e, "errors", []):
        print(f"  --{err['field']}: {err['message']}", file=sys.stderr)
    return 1


# The pages of every municipality (under /t/<tenant id>) and the server's own addresses.
PAGE_URLS = [
    ("TV page (set-top box)", "/tv"),
    ("Operator console", "/operator"),
    ("Smartphone page", "/m"),
    ("Driver page", "/driver"),
    ("Drone operator page", "/drone"),
    ("Support worker page", "/support"),
    ("Seller page", "/seller"),
    ("Municipality dashboard", "/municipality"),
]
SHOPPING_PAGES = ("/support", "/seller")
OPEN_DATA_URLS = [
    ("Open data: GTFS-Flex feed", "/opendata/gtfs.zip"),
    ("Open data: ridership CSV", "/opendata/ridership.csv"),
    ("Open data: NGSI-LD", "/opendata/ngsi-ld/v1/entities"),
]
SERVER_URLS = [
    ("API docs (Swagger UI)", "/docs"),
    ("OpenAPI schema", "/openapi.json"),
    ("Health (the process)", "/healthz"),
    ("Ready (the database)", "/readyz"),
]


def _demo_logins(ctx: Dispatcher, tenant_id: str) -> list[str]:
    """The staff logins `noriai seed-demo` made for a bundled demo town (none elsewhere)."""
    from sqlmodel import Session, col, select

    from dispatcher.models import User
    from dispatcher.platform.demo import DEMO_TOWN_RESIDENTS

    if tenant_id not in DEMO_TOWN_RESIDENTS:
        return []
    with Session(ctx.engine) as s:
        names = s.exec(select(User.username).where(User.tenant_id == tenant_id).order_by(col(User.id))).all()
    return [n for n in names if n.startswith(f"{tenant_id}-")]


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from api.ratelimit import proxy_options
    from dispatcher.platform.demo import DEMO_PASSWORD

    host, port = args.host or settings.host, args.port or settings.port
    app = create_app(settings, scheduler=not args.no_scheduler)
    ctx: Dispatcher = app.state.ctx
    base = f"http://{host}:{port}"
    print("Noriai is running.", flush=True)
    for tenant_id, name in ctx.tenants():
        cfg = ctx.config(tenant_id)
        print(f"{name} ({tenant_id}):", flush=True)
        for label, path in PAGE_URLS:
            if (path == "/drone" and cfg.drones is None) or (path in SHOPPING_PAGES and cfg.shopping is None):
                continue  # a town without drones or shopping has no use for these pages
            print(f"  {label:26} {base}/t/{tenant_id}{path}", flush=True)
        for label, path in OPEN_DATA_URLS:
            print(f"  {label:26} {base}{path}?tenant={tenant_id}", flush=True)
        logins = _demo_logins(ctx, tenant_id)
        if logins:
            print(f"  {'Demo logins':26} {', '.join(logins)} (password {DEMO_PASSWORD})", flush=True)
    print("This server:", flush=True)
    for label, path in SERVER_URLS:
        print(f"  {label:26} {base}{path}", flush=True)
    if len(ctx.tenants()) > 1:
        print(f"  {'Choose a municipality':26} {base}/tv  (and the other pages without /t/...)", flush=True)
    print(f"  database: {settings.database_url}   tenant files: {settings.tenant_file}", flush=True)
    if os.environ.get("FORWARDED_ALLOW_IPS") and not settings.proxies():
        print(
            "  FORWARDED_ALLOW_IPS is not read: name the reverse proxies in NORIAI_TRUSTED_PROXIES",
            file=sys.stderr,
            flush=True,
        )
    uvicorn.run(app, host=host, port=port, log_level="info", **proxy_options(settings.proxies()))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.db import make_engine, migrate

    migrate(make_engine(settings.database_url))
    print(f"database at the newest schema: {settings.database_url}")
    return 0


def cmd_seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.db import session_scope
    from dispatcher.platform.demo import demo_phone_login, demo_residents, seed_demo

    ctx = _ctx(settings, sync="missing")  # loading the demo towns is what this command is for
    several = len(ctx.tenant_files) > 1
    for tenant_id in ctx.tenant_files:
        cfg = ctx.config(tenant_id)
        prefix = f"/t/{cfg.id}" if several else ""
        with session_scope(ctx.engine) as session:
            logins = seed_demo(session, cfg, ctx.clock.now(), residents=demo_residents(cfg, args.residents))
            resident_id, pin = demo_phone_login(session, cfg, ctx.clock.now())
        print(
            f"demo municipality {cfg.id} ({cfg.name}) is loaded. Demo logins (password {logins[0].password}):"
        )
        for login in logins:
            print(f"  {login.role:14} {login.username}")
        print(f"  smartphone page {prefix}/m: resident number {resident_id}, PIN {pin}")
        print(
            f"  TV page {prefix}/tv: shows a pairing code; pair it in the operator console {prefix}/operator"
        )
    return 0


def _print_problems(path: object, problems: list[str]) -> None:
    print(f"{path}: {len(problems)} problem(s)")
    for p in problems:
        print(f"  {p}")


def cmd_tenant_validate(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.tenant_config import TenantConfigError, load_tenant

    try:
        cfg = load_tenant(args.file)
    except TenantConfigError as e:
        _print_problems(args.file, e.problems)
        return 1
    vehicles = sum(len(o.vehicles) for o in cfg.operators)
    print(
        f"{args.file}: OK — {cfg.id} ({cfg.name}), {len(cfg.places)} places, "
        f"{len(cfg.operators)} operators, {vehicles} vehicles"
    )
    return 0


def cmd_tenant_apply(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from dispatcher.platform.tenant_apply import apply_tenant_file
    from dispatcher.tenant_config import TenantConfigError, load_tenant

    path = Path(args.file)
    try:
        load_tenant(path)  # the file first: a broken file never opens the database
    except TenantConfigError as e:
        _print_problems(args.file, e.problems)
        print("nothing applied")
        return 1
    ctx = _ctx(settings, sync=False)
    try:
        done = apply_tenant_file(ctx.engine, path, ctx.clock.now(), dry_run=args.dry_run)
    except TenantConfigError as e:  # the file changed under us
        _print_problems(args.file, e.problems)
        return 1
    cfg = done.config
    print(f"{args.file}: OK — {cfg.id} ({cfg.name})")
    for line in done.changes.lines():
        print(f"  {line}")
    if args.dry_run:
        print("dry run: nothing applied")
    elif done.changes.empty:
        print("applied (nothing to change)")
    else:
        print("applied: running servers use it within a few seconds, without a restart")
    if done.changes.new and not args.dry_run:
        print(f"next: the first administrator: noriai user create --tenant {cfg.id} --role admin USERNAME")
    if cfg.id not in ctx.tenant_files:
        print(
            f"note: {args.file} is not among NORIAI_TENANT_FILE ({settings.tenant_file}); add it there so "
            "that a restarted server keeps serving it as applied"
        )
    elif ctx.tenant_files[cfg.id].resolve() != path.resolve():
        print(
            f"note: a server starting up loads {ctx.tenant_files[cfg.id]} for {cfg.id}; "
            f"copy {args.file} there or it will be changed back"
        )
    return 0


PASSWORD_ENV = "NORIAI_PASSWORD"


def _new_password(args: argparse.Namespace) -> str | None:
    """The new user's password: --password (visible to other users of the machine: avoid it), the
    NORIAI_PASSWORD environment variable, one line from standard input when it is not a terminal,
    or typed twice at a prompt that does not echo. None when the two typed passwords differ."""
    import getpass
    import os

    if args.password:
        return str(args.password)
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password for the new user: ")
    if getpass.getpass("the same password again: ") != first:
        print("the passwords differ: nothing created", file=sys.stderr)
        return None
    return first


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.db import session_scope
    from dispatcher.errors import DomainError
    from dispatcher.identity.auth import create_user

    username = args.username_pos or args.username
    if not username:
        print("name the user: noriai user create --tenant T --role ROLE USERNAME", file=sys.stderr)
        return 2
    password = _new_password(args)
    if password is None:
        return 1
    ctx = _ctx(settings, sync=False)
    try:
        with session_scope(ctx.engine) as session:
            user = create_user(
                session,
                args.tenant,
                args.role,
                username,
                password,
                ctx.clock.now(),
                operator_key=args.operator,
                seller_key=args.seller,
                hall_id=args.hall,
            )
    except DomainError as e:
        return _refused(e)
    print(f"user {user.username} ({user.role}) created in {user.tenant_id}")
    return 0


def cmd_plan_show(args: argparse.Namespace, settings: Settings) -> int:
    from sqlmodel import Session, col, select

    from dispatcher.db import id_of
    from dispatcher.models import Vehicle
    from dispatcher.rides.manifests import manifest

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    cfg = ctx.config(tenant)
    day = args.date or ctx.clock.now().astimezone(cfg.tz).date()
    with Session(ctx.engine) as session:
        vehicles = session.exec(
            select(Vehicle).where(Vehicle.tenant_id == tenant).order_by(col(Vehicle.id))
        ).all()
    out = [manifest(ctx, tenant, id_of(v), day) for v in vehicles]
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    print(f"plan of {tenant} for {day} (version {out[0]['plan_version'] if out else 0})")
    for m in out:
        print(f"\n{m['vehicle']}: {len(m['stops'])} stops")
        for s in m["stops"]:
            t = s["planned_time"][11:16]
            w = s["window"]
            win = f"{(w['start'] or '')[11:16]}–{w['end'][11:16]}"
            where = s["place_name"]  # every stop named, the drone base of a freight pickup too
            if s["place_kind"] == "home" and s["rider"]:
                where += f"（{s['rider']}さん）"
            mark = "✓" if s["done"] else " "
            print(
                f"  {mark} {t} {s['kind']:8} ride {s['ride_id']:<5} party {s['party_size']} "
                f"window {win:12} {where}"
            )
    return 0


def cmd_reoptimize(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.rides.reoptimize import reoptimize

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    day = args.date
    print(json.dumps(reoptimize(ctx, tenant, day, time_limit_s=args.seconds).as_dict(), default=str))
    return 0


def cmd_bench_darp(args: argparse.Namespace, settings: Settings) -> int:
    from routing.bench import HEADER, as_json, row, run_darp, summary

    print(
        f"DARP benchmark: {args.instances}, time limit {args.time_limit} s, {args.workers} workers",
        flush=True,
    )
    print(HEADER, flush=True)
    results = run_darp(
        args.instances,
        args.only,
        args.time_limit,
        args.workers,
        args.seed,
        args.iterations,
        progress=lambda r: print(row(r), flush=True),
    )
    print(summary(results))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(
                as_json(results, args.time_limit, args.workers, args.seed, args.iterations), f, indent=1
            )
        print(f"results written to {args.out}")
    return 0 if all(r.feasible for r in results) else 1


def cmd_bench_dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from simulations.dispatch_bench import report, run

    result = run(args.vehicles, args.bookings, args.seed, args.database_url)
    print(report(result))
    return 0 if result.plan_ok else 1


def cmd_bench_scale(args: argparse.Namespace, settings: Settings) -> int:
    from simulations.scale_bench import run

    print(run(args.requests, args.vehicles, args.seed, args.seconds))
    return 0


class _Figures(Protocol):
    """A benchmark's result: its report, its JSON file and whether it met its targets."""

    @property
    def ok(self) -> bool: ...

    def report(self) -> str: ...

    def write_json(self, path: str) -> None: ...


def _print_figures(result: _Figures, json_path: str | None) -> int:
    """Print a benchmark's report, write its figures to `json_path` when given; the exit code."""
    print(result.report())
    if json_path:
        result.write_json(json_path)
        print(f"figures written to {json_path}")
    return 0 if result.ok else 1


def cmd_bench_signin_flood(args: argparse.Namespace, settings: Settings) -> int:
    import httpx

    from simulations.signin_flood import run, served

    env = dict(kv.split("=", 1) for kv in args.env)
    try:
        if args.url:
            result = run(args.url.rstrip("/"), args.seconds, args.concurrency, args.board_interval)
        else:
            with served(args.database_url, env) as (url, pid):
                result = run(
                    url, args.seconds, args.concurrency, args.board_interval, server_pid=pid, server_env=env
                )
    except (RuntimeError, httpx.HTTPError) as e:  # the server did not start, the operator cannot sign in
        print(f"sign-in flood not run: {e}", file=sys.stderr)
        return 1
    return _print_figures(result, args.json)


def cmd_delivery_plan(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.errors import DomainError
    from dispatcher.shopping.delivery import plan_delivery

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    day = args.date or ctx.clock.now().astimezone(ctx.config(tenant).tz).date()
    try:
        summary = plan_delivery(ctx, tenant, day, wind_ms=args.wind, rain=args.rain, actor="user:cli")
    except DomainError as e:
        print(e.detail, file=sys.stderr)
        return 1
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.platform.scheduler import listing

    rows = listing(_ctx(settings))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    print(f"{'tenant':12} {'job':16} {'next run':26} {'last':8} {'runs':>5} {'missed':>6}  trigger")
    for r in rows:
        print(
            f"{r['tenant']:12} {r['job']:16} {(r['next_run'] or '-'):26} {(r['last_status'] or '-'):8} "
            f"{r['runs']:>5} {r['missed']:>6}  {r['trigger']}"
        )
    return 0


def cmd_jobs_run(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.errors import DomainError
    from dispatcher.platform.scheduler import run_now

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    try:
        out = run_now(ctx, tenant, args.name)
    except DomainError as e:
        print(e.detail, file=sys.stderr)
        return 1
    print(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    return 0


def cmd_subscription_add(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.db import session_scope
    from dispatcher.errors import DomainError
    from dispatcher.integration.subscriptions import create_subscription, subscription_view

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    channel, target = ("webhook", args.webhook) if args.webhook else ("email", args.email)
    try:
        with session_scope(ctx.engine) as session:
            sub = create_subscription(
                session,
                tenant,
                channel,
                target,
                args.events.split(","),
                ctx.clock.now(),
                "user:cli",
                operator_key=args.operator,
                description=args.description or "",
                allow_hosts=ctx.webhook_allow_hosts,
            )
            view = subscription_view(sub, with_secret=True)
    except DomainError as e:
        return _refused(e)
    print(json.dumps(view, ensure_ascii=False, indent=1))
    if view.get("secret"):
        print("keep the secret: the partner verifies Noriai-Signature with it; it is not shown again")
    return 0


def cmd_deliveries(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.integration.outbox import delivery_log

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    for m in delivery_log(ctx, tenant, args.subscription, args.limit):
        tries = ", ".join(
            f"#{a['number']} {a['at'][11:19]} {a['status_code'] or a['error'][:40]}" for a in m["attempts"]
        )
        to = f"sub {m['subscription_id']}" if m["subscription_id"] else "e-mail"
        print(f"{m['id']:>6} {m['event_type']:22} {m['status']:9} {to:8} {tries}")
    return 0


def cmd_billing_close(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.billing.statements import close_month
    from dispatcher.errors import DomainError

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    try:
        out = close_month(ctx, tenant, args.month, "user:cli")
    except DomainError as e:
        return _refused(e)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from dispatcher.errors import DomainError
    from dispatcher.platform.retention import purge_all

    ctx = _ctx(settings)
    try:
        results = purge_all(ctx, args.tenant, dry_run=args.dry_run, actor="user:cli")
    except DomainError as e:
        return _refused(e)
    for r in results:
        if r["status"] == "off":
            print(f"{r['tenant']}: retention.personal_data_days is null: personal data is kept")
            continue
        what = "would purge (dry run, nothing changed)" if r["dry_run"] else r["status"]
        print(f"{r['tenant']}: service days up to {r['through']}: {what}")
        if r["held"]:
            print(f"  held before the cut-off {r['cutoff']}: {r['held']}")
        for key, n in r["counts"].items():
            print(f"  {key:40} {n:>8}")
    return 0


def cmd_billing_export(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from dispatcher.billing.statements import collection_csv, zengin_file
    from dispatcher.errors import DomainError

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        (out / f"collection-{args.month}.csv").write_bytes(collection_csv(ctx, tenant, args.month))
        blob, left_out = zengin_file(ctx, tenant, args.month)
    except (DomainError, ValueError) as e:
        return _refused(e)
    (out / f"debit-{args.month}.txt").write_bytes(blob)
    debits = blob.count(b"\r\n") - 3  # header, trailer and end records besides the debits
    print(f"written: {out}/collection-{args.month}.csv, {out}/debit-{args.month}.txt ({debits} debits)")
    for x in left_out:
        print(f"  not debited: household {x['household_id']} ({x['total_yen']} yen): {x['why']}")
    return 0


def _problem_line(p: Any) -> str:
    from api.messages import text

    where = f"line {p.line}" + (f", {p.column}" if p.column else "")
    if p.field and p.field != p.column:
        where += f" ({p.field})"
    return f"  {where}: [{p.code.value}] {p.message} / {text(p.code, p.params)}"


def cmd_residents_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from api.messages import text
    from dispatcher.db import session_scope
    from dispatcher.errors import Code, DomainError
    from dispatcher.residents.importing import import_register

    try:
        data = Path(args.file).read_bytes()
    except OSError as e:
        print(f"{args.file}: cannot read the file: {e.strerror}", file=sys.stderr)
        return 2
    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    try:
        cfg = ctx.config(tenant)
        with session_scope(ctx.engine) as session:
            report = import_register(
                session,
                cfg,
                data,
                ctx.clock.now(),
                "user:cli",
                dry_run=args.dry_run,
                strict=args.strict,
                encoding=args.encoding,
            )
    except DomainError as e:
        if e.code == Code.import_unreadable:
            print(f"{args.file}: {e.detail}", file=sys.stderr)
            print(f"  {text(e.code, e.extra)}", file=sys.stderr)
            return 2
        return _refused(e)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1, default=str))
        return report.exit_code
    r = report
    print(
        f"{args.file} ({r.encoding}): {r.rows} rows: {r.created} created, {r.updated} updated, "
        f"{r.unchanged} unchanged, {r.refused} refused, {r.skipped} skipped; households: "
        f"{r.households_created} created, {r.households_moved} moved, {r.households_updated} updated; "
        f"{r.events} events; {r.not_in_file} registered people not in the file (left as they are)"
    )
    if r.errors:
        print(f"refused rows ({len(r.errors)} problems):")
        for p in r.errors:
            print(_problem_line(p))
    if r.warnings:
        print(f"warnings ({len(r.warnings)}):")
        for p in r.warnings:
            print(_problem_line(p))
    if r.dry_run:
        print("dry run: nothing was written")
    elif not r.written:
        print("strict: nothing was written because some rows were refused")
    return r.exit_code


def _by_number(ctx: Dispatcher, tenant: str, number: str) -> int | None:
    """The id of the person with this registration number (None: no such person)."""
    from sqlmodel import Session, select

    from dispatcher.models import Resident

    with Session(ctx.engine) as session:
        return session.exec(
            select(Resident.id).where(Resident.tenant_id == tenant, Resident.registration_no == number)
        ).first()


def cmd_residents_show(args: argparse.Namespace, settings: Settings) -> int:

    from sqlmodel import Session

    from dispatcher.residents.eligibility import category_names, verdict
    from dispatcher.residents.registry import resident_of
    from dispatcher.timeline import local_date

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    cfg = ctx.config(tenant)
    rid = _by_number(ctx, tenant, args.registration_no)
    if rid is None:
        print(f"no registered person with number {args.registration_no} in {tenant}", file=sys.stderr)
        return 1
    day = args.day or local_date(ctx.clock.now(), cfg.tz)
    names = category_names(cfg)
    with Session(ctx.engine) as session:
        r = resident_of(session, tenant, rid)
        v = verdict(r, cfg, day)
        state = (
            "ended " + str(r.ended_on)
            if not r.active
            else "paused " + str(r.paused_on)
            if r.paused_on
            else "active"
        )
        print(
            f"{r.registration_no}  {r.family_name} {r.given_name} ({r.family_kana} {r.given_kana})"
            f"  born {r.birth_date}"
        )
        print(f"registration: {state}; household {r.household_id}")
        until = f" until {v.until}" if v.until else ""
        print(f"on {day}: {'eligible by ' + ', '.join(v.by) + until if v.eligible else 'NOT eligible'}")
        for rule in v.rules:
            print(
                f"  {'ok ' if rule.holds else 'no '} {names.get(rule.category, rule.category)}: {rule.detail}"
            )
    return 0


def cmd_residents_end(args: argparse.Namespace, settings: Settings) -> int:

    from dispatcher.errors import DomainError
    from dispatcher.platform.offboarding import end_registration
    from dispatcher.timeline import local_date

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    cfg = ctx.config(tenant)
    rid = _by_number(ctx, tenant, args.registration_no)
    if rid is None:
        print(f"no registered person with number {args.registration_no} in {tenant}", file=sys.stderr)
        return 1
    on = args.on or local_date(ctx.clock.now(), cfg.tz)
    try:
        done = end_registration(ctx, tenant, rid, on, args.reason, args.note, "user:cli")
    except DomainError as e:
        return _refused(e)
    print(
        f"registration {args.registration_no} ended on {done.ended_on} ({args.reason}); "
        f"rides cancelled {done.rides_cancelled or 'none'}, "
        f"orders cancelled {done.orders_cancelled or 'none'}"
        + (f", orders kept (being prepared) {done.orders_kept}" if done.orders_kept else "")
        + (
            f"; household left empty: memberships ended {done.memberships_ended}, "
            f"watch-over {'stopped' if done.watch_stopped else 'was off'}"
            if done.household_left_empty
            else ""
        )
    )
    return 0


def cmd_residents_export(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from sqlmodel import Session

    from dispatcher.errors import DomainError
    from dispatcher.residents.importing import export_register

    ctx = _ctx(settings)
    tenant = _tenant(args, ctx)
    try:
        ctx.config(tenant)
        with Session(ctx.engine) as session:
            data = export_register(session, tenant, args.encoding)
    except DomainError as e:
        return _refused(e)
    if args.out in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    Path(args.out).write_bytes(data)
    rows = data.count(b"\n") - 1
    print(f"written: {args.out} ({rows} people, {args.encoding})", file=sys.stderr)
    return 0


def cmd_bench_import(args: argparse.Namespace, settings: Settings) -> int:
    from simulations.register_bench import run

    print(run(args.rows, args.seed, args.postgres_url), flush=True)
    return 0


def _simulated_tenant(path: Path) -> TenantConfig | None:
    """The tenant file of a simulation or a replay, or None once its problems are
    printed on stderr; quietens the dispatcher's log (a simulated late taxi is not news)."""
    import logging

    from dispatcher.tenant_config import TenantConfigError, load_tenant

    logging.getLogger("dispatcher").setLevel(logging.ERROR)
    try:
        return load_tenant(path)
    except TenantConfigError as e:
        print(f"{path}: {len(e.problems)} problem(s)", file=sys.stderr)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return None


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from simulations.demand import Profile
    from simulations.replay import ReplayOptions
    from simulations.report import render
    from simulations.scenarios import Run, fleet_size, simulate, with_fleet

    path = Path(args.tenant)
    cfg = _simulated_tenant(path)
    if cfg is None:
        return 1
    if args.vehicles:
        cfg = with_fleet(cfg, args.vehicles)
    profile = Profile()
    # Ina's registered riders, or three per daily request for a bigger demand (people ride a few
    # times a week at most, not several times a day)
    residents = args.residents or max(profile.reference_riders, round(3 * (args.requests_per_day or 0)))
    opt = ReplayOptions(
        reoptimize_minutes=args.reoptimize_minutes,
        solver_iterations=args.iterations,
        noise_sigma=args.noise,
        requests_per_day=args.requests_per_day,
        weather=args.weather,
    )
    start = date.fromisoformat(args.start)
    run = Run(cfg, path, start, args.days, args.seed, residents, opt, args.database_url, args.hourly)
    values = [float(v) for v in args.values.split(",")] if args.values else None
    print(
        f"simulating {cfg.id} ({cfg.name}): scenario {args.scenario}, {args.days} day(s) from {start}, "
        f"seed {args.seed}, {fleet_size(cfg)} vehicles, {residents} registered residents",
        flush=True,
    )
    try:
        sim = simulate(run, args.scenario, values, progress=lambda line: print(f"  {line}", flush=True))
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 1
    cols = sim["table"]["columns"]
    print(" | ".join(cols))
    for row in sim["table"]["rows"]:
        print(" | ".join("-" if row.get(c) is None else str(row.get(c)) for c in cols))
    for v in sim["variants"]:
        rp = v["summary"]["replay"]
        print(
            f"{v['label']}: replayed {rp['service_seconds'] / 3600:.1f} service hours "
            f"in {rp['wall_seconds']} s, "
            f"{rp['faster_than_real_time']}x faster than real time; "
            f"peak memory {rp['peak_memory_mib']} MiB"
        )
        for day, h in rp["plan_history"].items():
            print(f"  plan history of {day}: {h['versions']} versions, {h['mb']} MB ({_by_hour(h)})")
    if args.json:
        Path(args.json).write_text(json.dumps(sim, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"metrics written to {args.json}")
    if args.report:
        Path(args.report).write_text(render(sim), encoding="utf-8")
        print(f"report written to {args.report}")
    return 0


def _by_hour(history: dict[str, Any]) -> str:
    """A plan history's growth over the day, e.g. "by 09:59 0.4 MB, by 10:59 0.9 MB"."""
    return ", ".join(f"by {h} {mb} MB" for h, mb in history["mb_by_hour"].items())


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from simulations.file_replay import (
        RequestFileError,
        generate_requests,
        read_requests,
        run_file_replay,
        write_outputs,
        write_requests,
    )
    from simulations.replay import ReplayOptions
    from simulations.scenarios import fleet_size, with_fleet

    path = Path(args.tenant)
    cfg = _simulated_tenant(path)
    if cfg is None:
        return 1
    requests = Path(args.requests)
    if args.generate is not None:
        try:
            write_requests(generate_requests(cfg, args.generate, args.date, args.seed), requests)
        except ValueError as e:
            print(str(e), file=sys.stderr)
            return 1
        print(f"{args.generate} requests of {args.date} written to {requests}", flush=True)
        if not args.out:
            return 0
    if not args.out:
        print("give --out DIR (where the outcomes go)", file=sys.stderr)
        return 2
    try:
        rows = read_requests(requests)
    except RequestFileError as e:
        print(f"{requests}: {len(e.problems)} problem(s); nothing was replayed", file=sys.stderr)
        for p in e.problems[:50]:
            print(f"  {p}", file=sys.stderr)
        if len(e.problems) > 50:
            print(f"  ... and {len(e.problems) - 50} more", file=sys.stderr)
        return 1
    if args.vehicles:
        cfg = with_fleet(cfg, args.vehicles)
    opt = ReplayOptions(
        reoptimize_minutes=args.reoptimize_minutes,
        solver_iterations=args.iterations,
        noise_sigma=args.noise,
        position_minutes=args.position_minutes,
    )
    print(
        f"replaying {len(rows)} requests from {requests} for {cfg.id} ({cfg.name}) with "
        f"{fleet_size(cfg)} vehicles, seed {args.seed}",
        flush=True,
    )
    try:
        result = run_file_replay(cfg, path, rows, opt, args.seed, args.database_url)
    except RequestFileError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 1
    out = Path(args.out)
    write_outputs(result, out)
    s = result.summary
    lat, pr = s["booking_latency_ms"], s["promises"]
    print(
        f"{s['confirmed']} confirmed, {s['refused']} refused, {s['invalid']} invalid; "
        f"served share {s['served_share']}"
    )
    print(f"booking latency: p50 {lat['p50']} ms, p95 {lat['p95']} ms, max {lat['max']} ms")
    print(
        f"vehicle-km {s['vehicle_km']}, vehicle-hours {s['vehicle_hours']}, "
        f"sharing rate {s['sharing_rate']}, mean excess ride time {s['mean_excess_ride_minutes']} min"
    )
    print(
        f"promises: {pr['kept']} of {pr['checked']} kept; {pr['pickups_after_window']} pickups after "
        f"their window, {pr['dropoffs_after_latest_arrival']} riders arriving after the latest arrival, "
        f"{pr['rides_over_max_ride']} rides over their ride-time limit, {pr['not_completed']} not completed"
    )
    rp = s["replay"]
    print(f"peak memory {rp['peak_memory_mib']} MiB")
    for day, h in rp["plan_history"].items():
        print(f"plan history of {day}: {h['versions']} versions, {h['mb']} MB ({_by_hour(h)})")
    print(f"replayed in {rp['wall_seconds']} s; outcomes.csv, routes.csv, summary.json in {out}")
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime
    from pathlib import Path

    from dispatcher.platform.backup import BackupError, backup

    kind = "sqlite" if settings.database_url.startswith("sqlite") else "dump"
    out = Path(args.out or f"var/backups/noriai-{datetime.now():%Y%m%d-%H%M%S}.{kind}")
    try:
        done = backup(settings.database_url, out)
    except BackupError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"backup written: {done['file']} ({done['bytes']:,} bytes, {done['kind']})")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from dispatcher.platform.backup import BackupError, restore

    try:
        done = restore(settings.database_url, Path(args.file), force=args.force)
    except BackupError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"restored {done['file']} into {done['restored_into']}; schema at the newest migration")
    return 0


def cmd_loadtest(args: argparse.Namespace, settings: Settings) -> int:
    import httpx

    from dispatcher.platform.demo import DEMO_PASSWORD
    from simulations.loadtest import Options, run

    try:
        result = run(
            args.url.rstrip("/"),
            args.seconds,
            args.concurrency,
            args.seed,
            args.username,
            args.password or DEMO_PASSWORD,
            Options(retry_share=args.retry_share),
        )
    except (RuntimeError, httpx.HTTPError) as e:  # no server there, a failed sign-in, no time left today
        print(f"load test not run: {e}", file=sys.stderr)
        return 1
    return _print_figures(result, args.json)


def cmd_demo_day(args: argparse.Namespace, settings: Settings) -> int:
    import tempfile
    from datetime import datetime

    from fastapi.testclient import TestClient

    from api.app import create_app
    from dispatcher.clock import SimClock
    from dispatcher.db import session_scope
    from dispatcher.platform.bootstrap import build_dispatcher
    from dispatcher.platform.demo import seed_demo
    from dispatcher.settings import DEMO_TENANT_FILE
    from simulations.demo_day import report, run_day

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/demo-day.db"
        clock = SimClock(datetime.fromisoformat(args.start))
        ctx = build_dispatcher(Settings(DATABASE_URL=url, NORIAI_TENANT_FILE=DEMO_TENANT_FILE), clock)
        with session_scope(ctx.engine) as s:
            seed_demo(s, ctx.config("ina-demo"), clock.now())
        with TestClient(create_app(ctx=ctx, scheduler=False)) as client:
            day = run_day(client, clock, args.requests, args.seed)
    print(report(day))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="noriai", description="Noriai dispatch platform")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the API server and the scheduler")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--no-scheduler", action="store_true", help="do not start the background scheduler")
    s.set_defaults(fn=cmd_serve)
    s = sub.add_parser("migrate", help="bring the database schema up to date")
    s.set_defaults(fn=cmd_migrate)
    s = sub.add_parser("seed-demo", help="load the demo municipalities if their residents are missing")
    s.add_argument("--residents", type=int, help="residents of each town (default: Ina 400, Yasuoka 30)")
    s.set_defaults(fn=cmd_seed_demo)
    t = sub.add_parser("tenant", help="tenant files").add_subparsers(dest="tenant_command", required=True)
    s = t.add_parser("validate", help="check a tenant file and list every problem with its location")
    s.add_argument("file")
    s.set_defaults(fn=cmd_tenant_validate)
    s = t.add_parser(
        "apply",
        help="check a tenant file, print what it changes against the stored tenant, then store it "
        "(running servers pick it up without a restart)",
    )
    s.add_argument("file")
    s.add_argument("--dry-run", action="store_true", help="print the changes; store nothing")
    s.set_defaults(fn=cmd_tenant_apply)
    u = sub.add_parser("user", help="staff users").add_subparsers(dest="user_command", required=True)
    s = u.add_parser("create", help="create a staff user")
    s.add_argument("--tenant", required=True)
    s.add_argument("--role", required=True, choices=[r.value for r in Role])
    s.add_argument("username_pos", nargs="?", metavar="USERNAME", help="the new user's name (unique)")
    s.add_argument("--username", help="the same as USERNAME")
    s.add_argument(
        "--password",
        help=f"avoid: other users of the machine can see it; use {PASSWORD_ENV}, standard input or "
        "the prompt (no echo)",
    )
    s.add_argument("--operator", help="operator id (drivers)")
    s.add_argument("--seller", help="seller id (sellers)")
    s.add_argument("--hall", help="community hall place id (required for support workers)")
    s.set_defaults(fn=cmd_user_create)
    pl = sub.add_parser("plan", help="plans").add_subparsers(dest="plan_command", required=True)
    s = pl.add_parser("show", help="print every vehicle's stops of a day")
    s.add_argument("--date", type=_day, help="YYYY-MM-DD (default: today)")
    s.add_argument("--tenant")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_plan_show)
    s = sub.add_parser("reoptimize", help="re-optimize a day's plan now")
    s.add_argument("--date", type=_day, help="YYYY-MM-DD (default: today)")
    s.add_argument("--tenant")
    s.add_argument("--seconds", type=float, default=5.0)
    s.set_defaults(fn=cmd_reoptimize)
    dl = sub.add_parser("delivery", help="shopping deliveries").add_subparsers(
        dest="delivery_command", required=True
    )
    s = dl.add_parser("plan", help="lock the day's orders and plan flights (after the cut-off)")
    s.add_argument("--date", type=_day, help="YYYY-MM-DD (default: today)")
    s.add_argument("--tenant")
    s.add_argument("--wind", type=float, default=0.0, help="forecast wind, m/s")
    s.add_argument("--rain", action="store_true", help="rain forecast")
    s.set_defaults(fn=cmd_delivery_plan)
    s = sub.add_parser("backup", help="write a backup of the database (SQLite copy or pg_dump)")
    s.add_argument("--out", help="default: var/backups/noriai-YYYYMMDD-HHMMSS.sqlite|dump")
    s.set_defaults(fn=cmd_backup)
    s = sub.add_parser("restore", help="replace the database with a backup (stop the server first)")
    s.add_argument("file")
    s.add_argument("--force", action="store_true", help="replace a database that holds data")
    s.set_defaults(fn=cmd_restore)
    s = sub.add_parser("simulate", help="replay simulated service days and compare service designs")
    s.add_argument("--tenant", required=True, help="a tenant file (any valid one)")
    s.add_argument("--scenario", default="day", choices=["day", "fleet", "window", "reoptimize", "bus"])
    s.add_argument("--values", help="the scenario's variants, e.g. 4,6,8 vehicles or 10,15,20 minutes")
    s.add_argument("--days", type=int, default=1)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--start", default="2026-11-24", help="the first day (a Tuesday by default)")
    s.add_argument("--requests-per-day", type=float, help="ride requests of a full day (default: Ina's rate)")
    s.add_argument("--vehicles", type=int, help="fleet size (the tenant's vehicles, then copies of them)")
    s.add_argument("--residents", type=int, help="registered residents (default 2276, or 3 a request)")
    s.add_argument("--reoptimize-minutes", type=float, default=5.0, help="0: insertion only")
    s.add_argument("--iterations", type=int, default=200, help="search iterations per re-optimization")
    s.add_argument("--noise", type=float, default=0.12, help="spread of driving times (lognormal sigma)")
    s.add_argument("--weather", choices=["fine", "cloudy", "rain", "storm"], help="force every day's weather")
    s.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    s.add_argument("--hourly", action="store_true", help="print progress every simulated hour")
    s.add_argument("--json", help="write every figure as JSON here")
    s.add_argument("--report", help="write the HTML report here")
    s.set_defaults(fn=cmd_simulate)
    s = sub.add_parser(
        "replay",
        help="replay a file of ride requests through the booking path on a simulated clock (docs/replay.md)",
    )
    s.add_argument("--tenant", required=True, help="a tenant file: fleet and rules")
    s.add_argument("--requests", required=True, help="the request file (CSV; written with --generate)")
    s.add_argument("--out", help="folder for outcomes.csv, routes.csv and summary.json")
    s.add_argument("--noise", type=float, default=0.0, help="spread of driving times (lognormal sigma)")
    s.add_argument("--seed", type=int, default=1, help="of the noise (and of --generate)")
    s.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    s.add_argument(
        "--position-minutes",
        type=float,
        default=0.0,
        help="drivers report where they are this often (0: never)",
    )
    s.add_argument("--reoptimize-minutes", type=float, default=5.0, help="0: insertion only")
    s.add_argument("--iterations", type=int, default=200, help="search iterations per re-optimization")
    s.add_argument("--vehicles", type=int, help="fleet size (the tenant's vehicles, then copies of them)")
    s.add_argument("--generate", type=int, metavar="N", help="first write N generated requests to --requests")
    s.add_argument("--date", type=_day, default=date(2026, 11, 24), help="the generated day (YYYY-MM-DD)")
    s.set_defaults(fn=cmd_replay)
    jb = sub.add_parser("jobs", help="the scheduler's jobs with their next run times")
    jb.add_argument("--json", action="store_true")
    jb.set_defaults(fn=cmd_jobs)
    jsub = jb.add_subparsers(dest="jobs_command")
    s = jsub.add_parser("run", help="run one job now (e.g. publish-morning, statistics)")
    s.add_argument("name")
    s.add_argument("--tenant")
    s.set_defaults(fn=cmd_jobs_run)
    sb = sub.add_parser("subscription", help="partners that receive webhooks or e-mail").add_subparsers(
        dest="subscription_command", required=True
    )
    s = sb.add_parser("add", help="add a webhook or an e-mail partner")
    to = s.add_mutually_exclusive_group(required=True)
    to.add_argument("--webhook", help="URL that receives signed POSTs")
    to.add_argument("--email", help="address that receives e-mail (needs NORIAI_SMTP_HOST)")
    s.add_argument("--events", required=True, help="comma-separated, e.g. manifest.published,stats.daily")
    s.add_argument("--operator", help="taxi company id (required for manifests)")
    s.add_argument("--tenant")
    s.add_argument("--description")
    s.set_defaults(fn=cmd_subscription_add)
    s = sub.add_parser("deliveries", help="the delivery log of webhooks and e-mails")
    s.add_argument("--tenant")
    s.add_argument("--subscription", type=int)
    s.add_argument("--limit", type=int, default=50)
    s.set_defaults(fn=cmd_deliveries)
    bl = sub.add_parser("billing", help="monthly billing").add_subparsers(
        dest="billing_command", required=True
    )
    s = bl.add_parser("close", help="close a finished month: statements and settlements (once)")
    s.add_argument("--month", required=True, help="YYYY-MM")
    s.add_argument("--tenant")
    s.set_defaults(fn=cmd_billing_close)
    s = bl.add_parser("export", help="the cable-TV company's CSV and the Zengin direct-debit file")
    s.add_argument("--month", required=True, help="YYYY-MM, closed")
    s.add_argument("--out", default="var/billing", help="folder to write into")
    s.add_argument("--tenant")
    s.set_defaults(fn=cmd_billing_export)
    rs = sub.add_parser("residents", help="the register file (docs/residents.md)").add_subparsers(
        dest="residents_command", required=True
    )
    s = rs.add_parser(
        "import",
        help="import a municipality's CSV of residents; exit 0 all fine, 1 rows refused, 2 unreadable",
    )
    s.add_argument("file", help="the CSV file (UTF-8 with or without BOM, or Shift_JIS/CP932)")
    s.add_argument("--tenant")
    s.add_argument("--dry-run", action="store_true", help="check and count only; write nothing")
    s.add_argument("--strict", action="store_true", help="write nothing if any row is refused")
    s.add_argument("--encoding", help="the file's encoding (default: UTF-8 if it reads, else cp932)")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(fn=cmd_residents_import)
    s = rs.add_parser("export", help="write every registered person as the same CSV format")
    s.add_argument("--tenant")
    s.add_argument("--encoding", choices=["cp932", "utf-8"], default="cp932")
    s.add_argument("-o", "--out", help="the file to write (default: standard output)")
    s.set_defaults(fn=cmd_residents_export)
    s = rs.add_parser("show", help="a person's registration and eligibility on a day, rule by rule")
    s.add_argument("registration_no")
    s.add_argument("--tenant")
    s.add_argument("--day", type=_day, help="YYYY-MM-DD (default: today)")
    s.set_defaults(fn=cmd_residents_show)
    s = rs.add_parser(
        "end",
        help="end a registration: rides not yet begun and cancellable orders are cancelled with notices",
    )
    s.add_argument("registration_no")
    s.add_argument("--tenant")
    s.add_argument("--reason", required=True, choices=["moved_away", "deceased", "asked", "other"])
    s.add_argument("--on", type=_day, help="the first day without service, YYYY-MM-DD (default: today)")
    s.add_argument("--note", default="")
    s.set_defaults(fn=cmd_residents_end)
    s = sub.add_parser("purge", help="remove personal data past the retention period (docs/retention.md)")
    s.add_argument("--tenant", help="default: every tenant")
    s.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")
    s.set_defaults(fn=cmd_purge)
    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="bench_command", required=True)
    s = bench.add_parser(
        "darp", help="solve Cordeau dial-a-ride instances and compare with best-known results"
    )
    s.add_argument("--instances", default="../shared/benchmarks/darp", help="folder of instance files")
    s.add_argument("--only", help="glob of instance names, e.g. 'a8-*'")
    s.add_argument("--time-limit", type=float, default=30.0, help="seconds per instance")
    s.add_argument("--workers", type=int, default=2, help="parallel searches per instance (best is kept)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--iterations", type=int, help="deterministic mode: stop after this many iterations")
    s.add_argument("--out", help="write the results as JSON here")
    s.set_defaults(fn=cmd_bench_darp)
    s = bench.add_parser("dispatch", help="quote latency of the booking path with a large fleet")
    s.add_argument("--vehicles", type=int, default=100)
    s.add_argument("--bookings", type=int, default=1000)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    s.set_defaults(fn=cmd_bench_dispatch)
    s = bench.add_parser(
        "import-residents", help="import a generated register file (CP932, seeded mistakes): times"
    )
    s.add_argument("--rows", type=int, default=3000)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument(
        "--postgres-url",
        help="also on PostgreSQL, in a schema of its own dropped afterwards "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)",
    )
    s.set_defaults(fn=cmd_bench_import)
    s = bench.add_parser("scale", help="a generated city-scale day solved from scratch")
    s.add_argument("--requests", type=int, default=1000)
    s.add_argument("--vehicles", type=int, default=60)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--seconds", type=float, default=60.0, help="time limit of the search")
    s.set_defaults(fn=cmd_bench_scale)
    s = bench.add_parser(
        "signin-flood",
        help="concurrent sign-ins under fresh user names while an operator polls the board: "
        "the board's p50/p95 and the sign-in answers",
    )
    s.add_argument("--seconds", type=float, default=20.0, help="length of each of the three phases")
    s.add_argument("--concurrency", type=int, default=32, help="clients signing in at the same time")
    s.add_argument("--board-interval", type=float, default=0.25, help="seconds between board polls")
    s.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the server it starts, e.g. NORIAI_SIGN_IN_CONCURRENCY=2 (repeatable)",
    )
    s.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    s.add_argument(
        "--url", help="a running server instead (demo seeded, NORIAI_RATE_SIGN_IN=0); nothing is started"
    )
    s.add_argument("--json", help="write every figure as JSON here")
    s.set_defaults(fn=cmd_bench_signin_flood)
    s = sub.add_parser(
        "loadtest", help="book rides against a running server; bookings/s, latency, nothing lost"
    )
    s.add_argument("--url", default="http://127.0.0.1:8000", help="a server with NORIAI_RATE_BOOKINGS=0")
    s.add_argument("--seconds", type=float, default=60.0)
    s.add_argument("--concurrency", type=int, default=8, help="clients booking at the same time")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--username", default="ina-demo-operator", help="an operator (default: the demo's)")
    s.add_argument("--password", help="default: the demo password")
    s.add_argument("--retry-share", type=float, default=0.1, help="bookings sent twice with the same key")
    s.add_argument("--json", help="write every figure as JSON here")
    s.set_defaults(fn=cmd_loadtest)
    s = sub.add_parser("demo-day", help="a scripted demo day through the HTTP API, with answer times")
    s.add_argument("--requests", type=int, default=100)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    s.add_argument("--start", default="2026-11-24T08:00:00+09:00", help="a weekday morning")
    s.set_defaults(fn=cmd_demo_day)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args, Settings()))
    except _NoTenant as e:
        print(f"this deployment serves several municipalities ({e}): name one with --tenant", file=sys.stderr)
        return 2
    except DomainError as e:
        if e.code != Code.tenant_unknown:
            raise
        print(f"{e.detail} in this database (DATABASE_URL)", file=sys.stderr)
        print(
            "store a municipality with `noriai tenant apply FILE` (commands never store one by themselves)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
