"""The daily timeline of every tenant: the runner that runs what is due.

Each context declares its jobs in its own `jobs.py` (`dispatcher.jobs.JobSpec`); `specs` collects
them. Jobs of a tenant (local times in the tenant's time zone):
- reoptimize: every NORIAI_REOPTIMIZE_MINUTES in service hours; rebuilds the day's plan (keeps
  every promise);
- delivery-cutoff: at the shopping cut-off on delivery days; locks the orders, plans flights and
  ground freight;
- publish-morning: `publishing.morning_minutes_before` service starts; every vehicle's manifest
  and the flight plans;
- publish-changes: every minute after the morning publication; what really changed since;
- statistics: daily at `publishing.statistics_at`; closes the previous day's figures (and any
  missed days);
- billing-close: on the 1st at 04:00; closes the month before (statements, settlements);
- watch-over: every 5 minutes; e-mails families of TVs silent too long, escalates unanswered ones;
- retention: daily at `retention.purge_at`; purges personal data older than the tenant's retention
  period, keeping the figures (dispatcher/platform/retention.py);
- outbox: every 30 s; delivers webhooks and e-mails that are due (retries with backoff).

Time comes from the injected clock (`ctx.clock`), so a simulated day, a test or a demo started
with NORIAI_NOW runs the same timeline. Fire times come from APScheduler's triggers (cron and
interval, in the tenant's time zone, daylight-saving safe). The job store is the `scheduled_job`
table: each job's next fire time survives a restart, so after downtime the runner knows exactly
which fire times were missed and catches up deliberately:

- coalescing: all missed fire times of a job become one run, at the latest of them;
- misfire grace: a fire time older than the job's grace is not run but recorded as missed (a
  morning publication may go out hours late; a re-optimization only within its interval);
- once only: a run is claimed with a conditional UPDATE of the job's next fire time, so two
  scheduler processes on one database never both run it, and `job_run` keeps one row per fire
  time served (unique), with how many fire times it stood in for;
- every job is idempotent (publishing compares content hashes, the cut-off plans a day once,
  statistics recompute the same numbers), so even a repeated run does no harm.

A daily job that fails is retried every RETRY_MINUTES while its grace lasts.
`start_scheduler` wakes the runner from APScheduler's background thread every TICK_SECONDS.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dispatcher.billing import jobs as billing_jobs
from dispatcher.care import jobs as care_jobs
from dispatcher.channels import jobs as channel_jobs
from dispatcher.context import Dispatcher
from dispatcher.integration import jobs as integration_jobs
from dispatcher.jobs import JobSpec, in_service_hours
from dispatcher.models import JobRun, ScheduledJob, Tenant
from dispatcher.platform import retention
from dispatcher.reporting import jobs as reporting_jobs
from dispatcher.rides import jobs as ride_jobs
from dispatcher.rides.reoptimize import reoptimize
from dispatcher.shopping import jobs as shopping_jobs
from dispatcher.tenant_config import TenantConfig

log = logging.getLogger(__name__)
TICK_SECONDS = 15
RETRY_MINUTES = 5
LEASE = timedelta(minutes=10)  # a claimed run not finished by then (its process died) is run again
MAX_COUNTED = 5000  # missed fire times counted one by one; beyond that the count is an estimate

# ------------------------------------------------------------------------------- the catalogue


def specs(ctx: Dispatcher, cfg: TenantConfig) -> list[JobSpec]:
    """The jobs of one tenant: each context declares its own beside its commands."""
    out: list[JobSpec] = []
    for declare in (
        ride_jobs.jobs,
        shopping_jobs.jobs,
        channel_jobs.jobs,
        reporting_jobs.jobs,
        billing_jobs.jobs,
        care_jobs.jobs,
        integration_jobs.jobs,
        retention.jobs,
    ):
        out += declare(ctx, cfg)
    return out


# ---------------------------------------------------------------------------------- the runner


def _fire_times(
    trigger: BaseTrigger, first: datetime, now: datetime
) -> tuple[int, datetime, datetime | None]:
    """(how many fire times from `first` up to `now`, the latest of them, the next one after now)."""
    count, latest, t = 0, first, first
    while t is not None and t <= now:
        count, latest = count + 1, t
        if count >= MAX_COUNTED:  # a long outage of a frequent job: jump to the last day
            t = trigger.get_next_fire_time(None, now - timedelta(days=1))
            while t is not None and t <= now:
                count, latest = count + 1, t
                t = trigger.get_next_fire_time(t, t)
            break
        t = trigger.get_next_fire_time(t, t)
    return count, latest, (t if t is not None and t > now else trigger.get_next_fire_time(latest, now))


def _tenants(ctx: Dispatcher) -> list[str]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(Tenant.id).order_by(col(Tenant.id))))


def sync(ctx: Dispatcher, now: datetime | None = None) -> dict[tuple[str, str], JobSpec]:
    """Make the job store hold exactly the catalogue's jobs; a new job's first fire time is the
    next one from now (nothing is 'missed' before a job existed). Returns the specs by key."""
    now = now or ctx.clock.now()
    catalogue = {(tid, s.name): s for tid in _tenants(ctx) for s in specs(ctx, ctx.config(tid))}
    with Session(ctx.engine) as session:
        rows = {(j.tenant_id, j.name): j for j in session.exec(select(ScheduledJob))}
        for key, spec in catalogue.items():
            row = rows.get(key)
            if row is None:
                session.add(
                    ScheduledJob(
                        tenant_id=key[0],
                        name=key[1],
                        trigger=spec.describe,
                        next_run_at=spec.trigger.get_next_fire_time(None, now),
                    )
                )
            elif row.trigger != spec.describe:  # the tenant's times changed: re-plan from now
                row.trigger = spec.describe
                row.next_run_at = spec.trigger.get_next_fire_time(None, now)
                session.add(row)
        for key, row in rows.items():
            if key not in catalogue:
                session.delete(row)
        try:
            session.commit()
        except IntegrityError:  # another process synced at the same moment
            session.rollback()
    return catalogue


def run_due(
    ctx: Dispatcher, lanes: Iterable[str] = ("dispatch", "outbox"), only: str | None = None
) -> list[dict[str, Any]]:
    """Run every job whose fire time has come (once, however many fire times were missed)."""
    now = ctx.clock.now()
    catalogue = sync(ctx, now)
    lanes = set(lanes)
    with Session(ctx.engine) as session:
        due = session.exec(
            select(ScheduledJob)
            .where(col(ScheduledJob.next_run_at) <= now)
            .order_by(col(ScheduledJob.next_run_at), col(ScheduledJob.id))
        ).all()
    out = []
    todo = [(catalogue[(j.tenant_id, j.name)], j) for j in due if (j.tenant_id, j.name) in catalogue]
    todo.sort(key=lambda sj: sj[0].lane == "outbox")  # what the dispatch jobs queue goes out at once
    for spec, job in todo:
        if spec.lane not in lanes or (only is not None and job.name != only):
            continue
        result = _run_one(ctx, job, spec, now)
        if result is not None:
            out.append(result)
    return out


def _due(spec: JobSpec, job: ScheduledJob, now: datetime) -> tuple[int, datetime, datetime | None]:
    """(fire times to serve, the one this run serves, the next real fire time after now).

    A pending fire time (a run that crashed, or a failed daily job waiting for its retry) is served
    again unless a later real fire time has come meanwhile, which then stands in for both."""
    pending = job.pending_due_at
    if pending is None:
        assert job.next_run_at is not None  # a due job: next_run_at <= now
        return _fire_times(spec.trigger, job.next_run_at, now)
    later = spec.trigger.get_next_fire_time(pending, pending)
    if later is not None and later <= now:
        count, latest, next_at = _fire_times(spec.trigger, later, now)
        return count + 1, latest, next_at
    return 1, pending, later


def _claim(ctx: Dispatcher, job: ScheduledJob, due: datetime, now: datetime) -> bool:
    """Take the run: its lease (next_run_at) moves LEASE ahead and the fire time it serves is noted,
    so a process that dies during the run leaves the fire time to be taken up again."""
    with Session(ctx.engine) as session:
        res = session.exec(
            update(ScheduledJob)
            .where(col(ScheduledJob.id) == job.id, col(ScheduledJob.next_run_at) == job.next_run_at)
            .values(next_run_at=now + LEASE, pending_due_at=due, last_started_at=now)
        )
        session.commit()
        return res.rowcount == 1


def _run_one(ctx: Dispatcher, job: ScheduledJob, spec: JobSpec, now: datetime) -> dict[str, Any] | None:
    count, latest, next_at = _due(spec, job, now)
    if not _claim(ctx, job, latest, now):
        return None  # another scheduler process took it
    base = {"tenant": job.tenant_id, "job": job.name, "due_at": latest.isoformat(), "coalesced": count - 1}
    if now - latest > spec.grace:
        _finish(
            ctx, job, latest, now, "missed", {"missed_fire_times": count}, count - 1, count, next_at, None
        )
        log.warning("job %s of %s missed %d fire time(s) beyond its grace", job.name, job.tenant_id, count)
        return {**base, "status": "missed"}
    pending = None
    try:
        detail = spec.run(ctx, job.tenant_id, latest)
        status = "ok"
    except Exception as e:  # one job's failure must not stop the others
        log.exception("job %s of %s failed", job.name, job.tenant_id)
        detail, status = {"error": f"{type(e).__name__}: {e}"[:500]}, "failed"
        retry = ctx.clock.now() + timedelta(minutes=RETRY_MINUTES)
        if (
            spec.grace >= timedelta(hours=1)
            and retry - latest <= spec.grace
            and (next_at is None or retry < next_at)
        ):
            next_at, pending = (
                retry,
                latest,
            )  # a daily job tries again within its grace, for the same fire time
    _finish(ctx, job, latest, now, status, detail, count - 1, count - 1, next_at, pending)
    return {**base, "status": status, "detail": detail} if detail is not None else None


def _finish(
    ctx: Dispatcher,
    job: ScheduledJob,
    due: datetime,
    started: datetime,
    status: str,
    detail: dict[str, Any] | None,
    coalesced: int,
    missed: int,
    next_at: datetime | None,
    pending: datetime | None,
) -> None:
    """Record the run and hand the job its next fire time (and the fire time still owed, if any).
    History keeps one row per fire time: a retry updates the row of the fire time it retries."""
    finished = ctx.clock.now()
    with Session(ctx.engine) as session:
        row = session.get(ScheduledJob, job.id)
        if row is None:
            return
        row.next_run_at, row.pending_due_at = next_at, pending
        row.last_due_at, row.last_finished_at, row.last_status = due, finished, status
        row.last_detail = detail
        row.runs += status in ("ok", "failed")
        row.missed += missed
        session.add(row)
        if detail is not None or status != "ok":
            run = session.exec(
                select(JobRun).where(
                    JobRun.tenant_id == job.tenant_id, JobRun.job == job.name, JobRun.due_at == due
                )
            ).first()
            run = run or JobRun(tenant_id=job.tenant_id, job=job.name, due_at=due, started_at=started)
            run.finished_at, run.status, run.detail = finished, status, detail
            run.coalesced = max(run.coalesced, coalesced)
            session.add(run)
        session.commit()


def run_now(ctx: Dispatcher, tenant_id: str, name: str) -> dict[str, Any] | None:
    """Run one job at once (an operator's `noriai jobs run NAME`); its timeline is unchanged."""
    spec = next((s for s in specs(ctx, ctx.config(tenant_id)) if s.name == name), None)
    if spec is None:
        from dispatcher.errors import Code, NotFound

        names = ", ".join(s.name for s in specs(ctx, ctx.config(tenant_id)))
        raise NotFound(f"No job {name!r}; the jobs are {names}.", code=Code.job_not_found)
    return spec.run(ctx, tenant_id, ctx.clock.now())


def listing(ctx: Dispatcher) -> list[dict[str, Any]]:
    """Every job with its trigger, next run time and last run (local times)."""
    sync(ctx)
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(ScheduledJob).order_by(col(ScheduledJob.tenant_id), col(ScheduledJob.id))
        ).all()
    out = []
    for j in rows:
        tz = ctx.config(j.tenant_id).tz
        out.append(
            {
                "tenant": j.tenant_id,
                "job": j.name,
                "trigger": j.trigger,
                "next_run": j.next_run_at.astimezone(tz).isoformat() if j.next_run_at else None,
                "last_due": j.last_due_at.astimezone(tz).isoformat() if j.last_due_at else None,
                "last_status": j.last_status,
                "runs": j.runs,
                "missed": j.missed,
            }
        )
    return out


def start_scheduler(ctx: Dispatcher) -> BackgroundScheduler:
    """APScheduler's background thread wakes the runner: one lane for the dispatch jobs, one for
    the outbox (a slow partner's server must not hold up re-optimization)."""
    sched = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    )
    sched.add_job(
        run_due,
        "interval",
        seconds=TICK_SECONDS,
        args=[ctx, ("dispatch",)],
        id="timeline",
        next_run_time=datetime.now().astimezone(),
    )
    sched.add_job(
        run_due,
        "interval",
        seconds=TICK_SECONDS,
        args=[ctx, ("outbox",)],
        id="outbox",
        next_run_time=datetime.now().astimezone(),
    )
    sched.start()
    return sched


def reoptimize_all(ctx: Dispatcher, time_limit_s: float) -> dict[str, object]:
    """Re-optimize today's plan of every tenant that is in service hours now (after a cancellation,
    a no-show or a late vehicle, outside the timeline)."""
    now = ctx.clock.now()
    out: dict[str, object] = {}
    for tid in _tenants(ctx):
        if not in_service_hours(ctx.config(tid), now):
            out[tid] = "outside service hours"
            continue
        try:
            out[tid] = reoptimize(ctx, tid, time_limit_s=time_limit_s).as_dict()
        except Exception:  # one tenant's failure must not stop the others
            log.exception("re-optimization failed for tenant %s", tid)
            out[tid] = "failed"
    return out


def reoptimize_while_asked(ctx: Dispatcher, time_limit_s: float) -> int:
    """Re-optimize until no ask is left; returns how many runs it made (0: another run was already
    serving the asks). Asks that come in during a run (a cut-off cancelling a dozen freight jobs, a
    burst of no-shows) coalesce into one more run after it, none is dropped."""
    runs = 0
    while True:
        if not ctx.reoptimizing.acquire(blocking=False):
            return runs  # the run in progress will see the ask
        try:
            while ctx.reoptimize_asked.is_set():
                ctx.reoptimize_asked.clear()
                reoptimize_all(ctx, time_limit_s)
                runs += 1
        finally:
            ctx.reoptimizing.release()
        if not ctx.reoptimize_asked.is_set():  # an ask between the last look and the release
            return runs


def trigger_reoptimization(sched: BackgroundScheduler | None, ctx: Dispatcher, time_limit_s: float) -> None:
    """Run a re-optimization soon (after a cancellation or a no-show), without blocking the caller."""
    if sched is None or not sched.running:
        return
    ctx.reoptimize_asked.set()
    if ctx.reoptimizing.locked():
        return  # the run in progress runs again once it is done
    sched.add_job(
        reoptimize_while_asked, args=[ctx, time_limit_s], id="reoptimize-now", replace_existing=True
    )
