"""The FastAPI application: JSON API under /api/v1 with OpenAPI docs at /docs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from api import pages, problems
from api.ratelimit import RateLimiter, SignInShedding
from api.routes import (
    auth,
    billing,
    board,
    delivery,
    devices,
    directory,
    family,
    field_checks,
    me,
    memberships,
    opendata,
    publishing,
    register_file,
    registry,
    rides,
    servicearea,
    shopping,
    stats,
    users,
    vehicles,
    watchover,
)
from api.schemas.service import Health, Ready
from api.security import SecurityMiddleware
from dispatcher.clock import Clock
from dispatcher.context import Dispatcher
from dispatcher.db import check_ready
from dispatcher.platform.bootstrap import build_dispatcher
from dispatcher.platform.scheduler import start_scheduler, trigger_reoptimization
from dispatcher.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    scheduler: bool = True,
    ctx: Dispatcher | None = None,
) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sched = None
        if scheduler:
            sched = start_scheduler(app.state.ctx)
            app.state.ctx.on_change = lambda _tid: trigger_reoptimization(
                sched, app.state.ctx, settings.reoptimize_seconds_limit
            )
        try:
            yield
        finally:
            if sched is not None:
                sched.shutdown(wait=False)

    # Swagger UI and ReDoc are served from the package, never from a CDN.
    # ReDoc is left out: its bundle fetches a logo from the internet.
    app = FastAPIOffline(
        redoc_url=None,
        title="Noriai API",
        version="1",
        summary="Same-day shared rides for rural municipalities.",
        description="Errors are RFC 9457 problem details (application/problem+json) with `errors: "
        "[{field, message}]`. Sign in at /api/v1/auth/token and send `Authorization: Bearer <token>`. "
        "In answers, times are ISO 8601 with the municipality's UTC offset unless a field says otherwise, "
        "money is integer yen (`*_yen`), and durations name their unit (`*_minutes`, `*_hours`, "
        "`duration_ms`; a token's `expires_in` is in seconds).",
        lifespan=lifespan,
    )
    # Towns come from the files NORIAI_TENANT_FILE names; left at its default (the demo towns),
    # only a database without any town is given them (`make run` on a new database).
    named = "tenant_file" in settings.model_fields_set
    app.state.ctx = ctx or build_dispatcher(settings, clock, sync=True if named else "if_empty")
    app.state.limiter = RateLimiter()
    app.state.rates = {
        "sign-in": settings.rate_sign_in,
        "pin-sign-in": settings.rate_sign_in,
        "family-sign-in": settings.rate_sign_in,
        "pairing": settings.rate_pairing,
        "tv-poll": settings.rate_tv_poll,
        "tv-poll-address": settings.rate_tv_poll_address,
        "booking": settings.rate_bookings,
    }
    app.add_middleware(SignInShedding)  # inside SecurityMiddleware: its checks and headers come first
    app.add_middleware(
        SecurityMiddleware, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes
    )
    problems.install(app)
    for r in (
        auth.router,
        users.router,
        register_file.router,  # before directory: /residents/export.csv is no resident id
        directory.router,
        registry.router,
        servicearea.router,
        vehicles.router,
        rides.router,
        shopping.router,
        memberships.router,
        delivery.router,
        board.router,
        field_checks.router,
        devices.router,
        me.router,
        me.session_router,
        family.router,
        family.phone_router,
        stats.router,
        opendata.router,
        publishing.router,
        billing.router,
        watchover.router,
        watchover.pages,
        pages.router,
    ):
        app.include_router(r)
    app.mount("/static", pages.static, name="static")

    @app.get(
        "/healthz",
        tags=["service"],
        response_model=Health,
        summary="Liveness: the process answers (the database is not asked; see /readyz)",
    )
    def healthz() -> dict[str, str]:
        return {"status": "ok", "now": app.state.ctx.clock.now().isoformat()}

    @app.get(
        "/readyz",
        tags=["service"],
        response_model=Ready,
        summary="Readiness: the database takes writes now (503 with Retry-After when it does not)",
        responses={503: {"description": "The database is unreachable, read-only or too slow"}},
    )
    def readyz() -> JSONResponse:
        why = check_ready(app.state.ctx.engine)
        if why is None:
            return JSONResponse({"status": "ready", "database": "ok"})
        return JSONResponse(
            {"status": "not_ready", "database": why},
            status_code=503,
            headers={"Retry-After": str(problems.RETRY_AFTER_SECONDS)},
        )

    return app
