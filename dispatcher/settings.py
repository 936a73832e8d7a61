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
