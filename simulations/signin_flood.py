"""`noriai bench signin-flood`: a flood of sign-ins under fresh user names against a real server,
while an operator polls the board. What the operator sees is the figure that matters.

The command starts `noriai serve` itself (a fresh SQLite file with the demo towns, or the database
given, with the clock at 09:00 on a Tuesday and the scheduler off), unless `url` names a running
server. The server runs with `NORIAI_RATE_SIGN_IN=0`: the per-address and per-name limits would
otherwise refuse the flood from one address after ten attempts, and the flood stands for one spread
over many addresses. Any other setting goes to the server unchanged (`env`), e.g. the cap on
concurrent verifications `NORIAI_SIGN_IN_CONCURRENCY` or the argon2 cost.

Three phases, each `seconds` long:
1. the operator polls `GET /api/v1/board` alone (every `board_interval_s`): the quiet figure;
2. the same while `concurrency` clients each sign in under a fresh user name and a random password
   as fast as they are answered (they never wait, whatever `Retry-After` says);
3. the operator alone again: does the server come back.

The flood runs in a child process (asyncio + httpx) and the board is polled from this one, so that
a board answer is never kept waiting behind the flood's own answers in the client.

The figures: the board's p50/p95/max in each phase, the sign-in answers by status with their p50/p95,
the processor seconds per second of the server and of the clients, and the server's peak memory
(VmHWM); the last two only for a server this command started. Target: the board's p95 under the
flood below 1 s on 2 cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dispatcher.platform.demo import DEMO_PASSWORD
from simulations.loadtest import percentiles

DEMO_OPERATOR = "ina-demo-operator"
DEMO_TENANT = "ina-demo"
CLOCK = "2026-11-24T09:00:00+09:00"  # a Tuesday inside the demo's service hours
TIMEOUT_S = 60.0


@dataclass
class Phase:
    """One phase: the board's answer times and the sign-ins' answers (none in a quiet phase)."""

    name: str
    seconds: float
    board: dict[str, float]  # p50, p95, p99, max, mean (ms)
    board_polls: int
    board_errors: int  # answers other than 200, and connection errors
    sign_ins: dict[str, int] = field(default_factory=dict)  # by status ("connection error" for none)
    sign_in_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # by status: percentiles
    sign_ins_per_s: float = 0.0  # answered sign-ins (any status) per second
    server_cpu: float | None = None  # the server's processor seconds per second (2.0: both cores busy)
    client_cpu: float = 0.0  # this command's own processor seconds per second


@dataclass
class FloodResult:
    url: str
    concurrency: int
    server_env: dict[str, str]
    phases: list[Phase]
    peak_memory_mib: float | None  # the server's VmHWM at the end (None: not started here)
    server_errors: int  # 5xx answers to sign-ins and to the board, every phase

    @property
    def flood(self) -> Phase:
        return self.phases[1]

    @property
    def ok(self) -> bool:
        """The target: the board's p95 under the flood below 1 s, with no 5xx."""
        return self.flood.board["p95"] < 1000 and self.server_errors == 0 and self.flood.board_errors == 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}

    def write_json(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    def report(self) -> str:
        env = " ".join(f"{k}={v}" for k, v in sorted(self.server_env.items())) or "(defaults)"
        lines = [
            f"sign-in flood against {self.url}: {self.concurrency} clients, fresh user names; server {env}"
        ]
        for p in self.phases:
            b = p.board
            lines.append(
                f"  {p.name:<13} board p50 {b['p50']:.0f} ms, p95 {b['p95']:.0f} ms, max {b['max']:.0f} ms "
                f"({p.board_polls} polls, {p.board_errors} failed)"
            )
            if p.sign_ins:
                answers = ", ".join(
                    f"{k}: {n} (p50 {p.sign_in_ms[k]['p50']:.0f} ms, p95 {p.sign_in_ms[k]['p95']:.0f} ms)"
                    for k, n in sorted(p.sign_ins.items())
                )
                lines.append(f"  {'':<13} sign-ins {p.sign_ins_per_s:.1f}/s answered; {answers}")
            server = f"server {p.server_cpu:.2f}" if p.server_cpu is not None else "server ?"
            lines.append(f"  {'':<13} processor seconds per second: {server}, this client {p.client_cpu:.2f}")
        if self.peak_memory_mib is not None:
            lines.append(f"  server peak memory (VmHWM): {self.peak_memory_mib:.0f} MiB")
        lines.append(
            f"  server errors (5xx): {self.server_errors}; target board p95 < 1000 ms under the flood: "
            f"{'met' if self.ok else 'NOT met'}"
        )
        return "\n".join(lines)


def _poll_board(url: str, token: str, until: float, interval_s: float) -> tuple[list[float], int]:
    """The operator's board every `interval_s` until `until`: answer times (s), failed polls."""
    times: list[float] = []
    failed = 0
    with httpx.Client(base_url=url, timeout=TIMEOUT_S) as client:
        headers = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < until:
            t0 = time.monotonic()
            try:
                r = client.get("/api/v1/board", headers=headers)
                times.append(time.monotonic() - t0)
                failed += r.status_code != 200
            except httpx.HTTPError:
                failed += 1
            time.sleep(max(0.0, interval_s - (time.monotonic() - t0)))
    return times, failed


async def _flood_loop(client: httpx.AsyncClient, until: float, answers: list[tuple[str, float]]) -> None:
    while time.monotonic() < until:
        form = {
            "username": f"flood-{secrets.token_hex(6)}",
            "password": secrets.token_urlsafe(12),
            "tenant_id": DEMO_TENANT,
        }
        t0 = time.monotonic()
        try:
            r = await client.post("/api/v1/auth/token", data=form)
            answers.append((str(r.status_code), time.monotonic() - t0))
        except httpx.HTTPError:
            answers.append(("connection error", time.monotonic() - t0))


async def _flood_all(url: str, seconds: float, concurrency: int) -> list[tuple[str, float]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    answers: list[tuple[str, float]] = []
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S, limits=limits) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(*(_flood_loop(client, until, answers) for _ in range(concurrency)))
    return answers


def _flood(url: str, seconds: float, concurrency: int, out: Any) -> None:
    """The flood, in a process of its own (so that the board's poller does not wait behind it):
    puts (answers, its processor seconds) on `out`."""
    answers = asyncio.run(_flood_all(url, seconds, concurrency))
    out.put((answers, time.process_time()))


def _cpu_s(pid: int | None) -> float | None:
    """A process's user + system processor time so far, in seconds (None: not known)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _phase(
    url: str, token: str, name: str, seconds: float, concurrency: int, interval_s: float, pid: int | None
) -> Phase:
    """One phase: the board polled here while `concurrency` clients flood from a child process."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    flood = ctx.Process(target=_flood, args=(url, seconds, concurrency, results)) if concurrency else None
    if flood is not None:
        flood.start()
        time.sleep(1.0)  # the child's start-up (spawn imports this module), so the flood is running
    server0, client0, t0 = _cpu_s(pid), time.process_time(), time.monotonic()
    board, failed = _poll_board(url, token, t0 + seconds - (1.0 if flood else 0.0), interval_s)
    answers: list[tuple[str, float]] = []
    flood_cpu = 0.0
    if flood is not None:
        answers, flood_cpu = results.get(timeout=seconds + TIMEOUT_S + 60)
        flood.join(30)
    wall = time.monotonic() - t0
    server1 = _cpu_s(pid)
    by_status = Counter(s for s, _ in answers)
    return Phase(
        name=name,
        seconds=seconds,
        board=percentiles(board),
        board_polls=len(board),
        board_errors=failed,
        sign_ins=dict(by_status),
        sign_in_ms={s: percentiles([t for k, t in answers if k == s]) for s in by_status},
        sign_ins_per_s=len(answers) / seconds if answers else 0.0,
        server_cpu=(server1 - server0) / wall if server0 is not None and server1 is not None else None,
        client_cpu=(time.process_time() - client0 + flood_cpu) / wall,
    )


def _sign_in(url: str, username: str, password: str) -> str:
    r = httpx.post(
        f"{url}/api/v1/auth/token",
        data={"username": username, "password": password, "tenant_id": DEMO_TENANT},
        timeout=TIMEOUT_S,
    )
    if r.status_code != 200:
        raise RuntimeError(f"the operator cannot sign in ({r.status_code}): {r.text[:200]}")
    return str(r.json()["access_token"])


def run(
    url: str,
    seconds: float = 20.0,
    concurrency: int = 32,
    board_interval_s: float = 0.25,
    username: str = DEMO_OPERATOR,
    password: str = DEMO_PASSWORD,
    server_pid: int | None = None,
    server_env: dict[str, str] | None = None,
) -> FloodResult:
    """The three phases against the server at `url` (see the module's docstring)."""
    token = _sign_in(url, username, password)
    phases = [
        _phase(url, token, "quiet", seconds, 0, board_interval_s, server_pid),
        _phase(url, token, "under flood", seconds, concurrency, board_interval_s, server_pid),
        _phase(url, token, "after", seconds, 0, board_interval_s, server_pid),
    ]
    errors = sum(n for p in phases for s, n in p.sign_ins.items() if s.startswith("5"))
    errors += sum(1 for p in phases if p.board_errors)
    return FloodResult(
        url=url,
        concurrency=concurrency,
        server_env=server_env or {},
        phases=phases,
        peak_memory_mib=_peak_memory_mib(server_pid) if server_pid else None,
        server_errors=errors,
    )


def _peak_memory_mib(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def served(database_url: str | None, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`noriai serve` on a loopback port over a seeded demo database: (its URL, its pid)."""
    with tempfile.TemporaryDirectory() as tmp:
        server_env = {
            **os.environ,
            "DATABASE_URL": database_url or f"sqlite:///{tmp}/flood.db",
            "NORIAI_NOW": CLOCK,
            "NORIAI_CACHE_DIR": f"{tmp}/cache",
            "NORIAI_RATE_SIGN_IN": "0",
            **env,
        }
        cli = [sys.executable, "-m", "api.cli"]
        for step in (["migrate"], ["seed-demo"]):
            done = subprocess.run(cli + step, env=server_env, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"noriai {step[0]} failed: {done.stderr[-2000:]}")
        port = _free_port()
        log = Path(tmp) / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [*cli, "serve", "--port", str(port), "--no-scheduler"],
                env=server_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 120
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                            break
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the server did not start:\n{log.read_text()[-2000:]}")
                    time.sleep(0.2)
                yield base, proc.pid
            finally:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
