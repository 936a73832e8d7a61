"""Settings from the environment (and an optional `.env` file)."""

from __future__ import annotations

import ipaddress
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dispatcher.clock import Clock, OffsetClock, WallClock
from dispatcher.mailer import MailSettings

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_TOWNS = PACKAGE_DIR / "platform" / "demo_towns"  # the demo's municipalities, one file each
DEMO_TENANT_FILE = DEMO_TOWNS / "ina-demo.yaml"


class Settings(BaseSettings):
    """Noriai's settings; every field can be set by the environment variable in its alias."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(default="sqlite:///var/noriai.db", alias="DATABASE_URL")
    # One tenant file, a folder of them (*.yaml, *.yml, *.json), or several of either separated by
    # the path separator (":" on Linux) or commas: every municipality this deployment serves.
    tenant_file: str = Field(default=str(DEMO_TOWNS), alias="NORIAI_TENANT_FILE")
    now: datetime | None = Field(default=None, alias="NORIAI_NOW")
    host: str = Field(default="127.0.0.1", alias="NORIAI_HOST")
    port: int = Field(default=8000, alias="NORIAI_PORT")
    reoptimize_minutes: float = Field(default=5.0, gt=0, alias="NORIAI_REOPTIMIZE_MINUTES")
    reoptimize_seconds_limit: float = Field(default=5.0, gt=0, alias="NORIAI_SOLVER_SECONDS")
    token_hours: float = Field(default=12.0, gt=0, alias="NORIAI_TOKEN_HOURS")
    cache_dir: Path = Field(default=Path("var/cache"), alias="NORIAI_CACHE_DIR")
    smtp_host: str = Field(default="", alias="NORIAI_SMTP_HOST")
    smtp_port: int = Field(default=25, gt=0, lt=65536, alias="NORIAI_SMTP_PORT")
    smtp_user: str = Field(default="", alias="NORIAI_SMTP_USER")
    smtp_password: str = Field(default="", alias="NORIAI_SMTP_PASSWORD")
    smtp_starttls: bool = Field(default=False, alias="NORIAI_SMTP_STARTTLS")
    mail_from: str = Field(default="noriai@localhost", alias="NORIAI_MAIL_FROM")
    public_url: str = Field(default="", alias="NORIAI_PUBLIC_URL")  # links in e-mails; default host:port
    # Rate limits, requests per minute (0: no limit). Sign-in counts per client address and per user
    # name; pairing per client address; bookings and orders per credential (token or box).
    rate_sign_in: int = Field(default=10, ge=0, alias="NORIAI_RATE_SIGN_IN")
    rate_pairing: int = Field(default=10, ge=0, alias="NORIAI_RATE_PAIRING")
    rate_bookings: int = Field(default=30, ge=0, alias="NORIAI_RATE_BOOKINGS")
    # A TV box's polls of GET /api/v1/tv/device (the page asks every 5 s while it waits): per box,
    # and per client address (boxes behind one cable-TV address share it).
    rate_tv_poll: int = Field(default=20, ge=0, alias="NORIAI_RATE_TV_POLL")
    rate_tv_poll_address: int = Field(default=120, ge=0, alias="NORIAI_RATE_TV_POLL_ADDRESS")

    # Webhooks (dispatcher/integration/targets.py): targets must be public addresses, except the
    # hosts named here, comma-separated exactly as written in the URL (a partner on the town's own
    # network: "hooks.lan,10.0.0.7"); NORIAI_WEBHOOK_CA_FILE: a PEM file of CAs to trust besides
    # the public ones (such a partner's own CA).
    webhook_allow_hosts: str = Field(default="", alias="NORIAI_WEBHOOK_ALLOW_HOSTS")
    webhook_ca_file: str = Field(default="", alias="NORIAI_WEBHOOK_CA_FILE")

    # --- Request limits and database trouble (issue 19; docs/security.md "Input limits",
    # "Database trouble"). Bodies over max_body_bytes answer 413 before they are read; the
    # register file (POST /api/v1/residents/import) may be up to max_upload_bytes. A statement
    # running longer than db_statement_timeout_seconds is cancelled (PostgreSQL statement_timeout;
    # on SQLite the wait for the write lock, busy_timeout); a connection not made within
    # db_connect_timeout_seconds fails (PostgreSQL connect_timeout). Either answers 503.
    max_body_bytes: int = Field(default=1_048_576, ge=1024, alias="NORIAI_MAX_BODY_BYTES")
    max_upload_bytes: int = Field(default=20_000_000, ge=1024, alias="NORIAI_MAX_UPLOAD_BYTES")
    db_statement_timeout_seconds: float = Field(default=30.0, gt=0, alias="NORIAI_DB_STATEMENT_TIMEOUT")
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, alias="NORIAI_DB_CONNECT_TIMEOUT")

    # --- Sign-in costs and client addresses (docs/security.md, "Sign-in costs" and "Client address").
    # argon2id cost of passwords and PINs: memory in KiB, passes, lanes. The defaults (the same as
    # dispatcher/identity/passwords.py's, which says why) take about 50 ms of one core. A changed
    # cost applies to each secret at its owner's next successful sign-in (it is hashed again).
    argon2_memory_kib: int = Field(default=19_456, ge=1024, le=4_194_304, alias="NORIAI_ARGON2_MEMORY_KIB")
    argon2_time_cost: int = Field(default=2, ge=1, le=100, alias="NORIAI_ARGON2_TIME_COST")
    argon2_parallelism: int = Field(default=1, ge=1, le=64, alias="NORIAI_ARGON2_PARALLELISM")
    # Password and PIN checks running at once in one process; one more sign-in is refused at once
    # with 429 and Retry-After. Peak memory of sign-ins: this x the memory cost.
    sign_in_concurrency: int = Field(default=2, ge=1, le=64, alias="NORIAI_SIGN_IN_CONCURRENCY")
    # Addresses (or networks, e.g. 10.0.0.0/8) of reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed, comma-separated; "*" believes any. Default: none, so the client
    # address is the connection's, and a caller cannot pick one for the per-address limits.
    trusted_proxies: str = Field(default="", alias="NORIAI_TRUSTED_PROXIES")

    @field_validator("tenant_file", mode="before")
    @classmethod
    def _path_as_text(cls, v: Any) -> Any:
        return os.fspath(v) if isinstance(v, os.PathLike) else v

    def webhook_hosts(self) -> frozenset[str]:
        """NORIAI_WEBHOOK_ALLOW_HOSTS as a set of lower-case host names (IPv6 without brackets)."""
        return frozenset(
            h.strip().lower().strip("[]") for h in self.webhook_allow_hosts.split(",") if h.strip()
        )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, v: str) -> str:
        for part in (p.strip() for p in v.split(",")):
            if not part or part == "*":
                continue
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is no IP address or network (e.g. 10.0.0.0/8)") from None
        return v

    def mail(self) -> MailSettings | None:
        """The SMTP server for partners who take their work by e-mail (None: not configured)."""
        if not self.smtp_host:
            return None
        return MailSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            user=self.smtp_user,
            password=self.smtp_password,
            starttls=self.smtp_starttls,
            sender=self.mail_from,
        )

    def proxies(self) -> list[str]:
        """The trusted reverse proxies (empty: none)."""
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    def clock(self) -> Clock:
        """The wall clock, or one starting at NORIAI_NOW and running in real time."""
        return OffsetClock(self.now) if self.now is not None else WallClock()
