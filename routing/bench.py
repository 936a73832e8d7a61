"""Benchmark runs: solve public instances with the production optimizer and compare with the best
known results. The adapter only converts formats; the search is `routing.alns`, the same one the
dispatcher uses, and every plan is verified by the exact checker before it is reported.
"""

from __future__ import annotations

import fnmatch
import multiprocessing as mp
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from routing.benchmarks import DarpInstance, read_bks, read_cordeau
from routing.insertion import Route
from routing.schedule import check
from routing.search import SearchOptions, SearchResult, improve


@dataclass
class BenchResult:
    instance: str
    requests: int
    vehicles: int
    cost: float
    bks: float | None
    gap: float | None  # percent above best known
    seconds: float
    served: int
    feasible: bool
    routes: list[list[int]]
    iterations: int


def _worker(args: tuple[DarpInstance, SearchOptions]) -> SearchResult:
    inst, options = args
    return improve(
        [Route(v, ()) for v in inst.fleet()], inst.travel(), optional=inst.pairs(), options=options
    )


def solve_instance(
    inst: DarpInstance,
    time_limit_s: float,
    workers: int = 2,
    seed: int = 1,
    iterations: int | None = None,
    pool: mp.pool.Pool | None = None,
) -> tuple[SearchResult, float]:
    """Best of `workers` independent searches (seeds seed, seed+1, ...) run in parallel."""
    t0 = time.perf_counter()
    # leave room for process start-up and verification inside the time limit
    budget = max(0.2, time_limit_s - 0.6) if iterations is None else time_limit_s
    jobs = [
        (inst, SearchOptions(time_limit_s=budget, iterations=iterations, seed=seed + k))
        for k in range(workers)
    ]
    results = pool.map(_worker, jobs) if pool is not None and workers > 1 else [_worker(j) for j in jobs]
    best = min(results, key=lambda r: (len(r.unserved), r.travel, results.index(r)))
    return best, time.perf_counter() - t0


def run_darp(
    folder: str | Path,
    only: str | None,
    time_limit_s: float,
    workers: int = 2,
    seed: int = 1,
    iterations: int | None = None,
    progress: Callable[[BenchResult], None] | None = None,
) -> list[BenchResult]:
    """Solve every instance of the folder (optionally those matching a glob)."""
    folder = Path(folder)
    bks = read_bks(folder)
    files = sorted(p for p in folder.glob("*.txt") if not only or fnmatch.fnmatch(p.stem, only))
    out: list[BenchResult] = []
    ctx = mp.get_context("fork")
    with ctx.Pool(workers) as pool:
        for path in files:
            inst = read_cordeau(path)
            res, seconds = solve_instance(inst, time_limit_s, workers, seed, iterations, pool)
            travel = inst.travel()
            feasible = all(
                check(v, stops, travel).feasible for v, stops in zip(inst.fleet(), res.stops, strict=True)
            )
            served = inst.requests - len(res.unserved)
            best = bks.get(inst.name)
            r = BenchResult(
                instance=inst.name,
                requests=inst.requests,
                vehicles=inst.vehicles,
                cost=round(res.travel, 2),
                bks=best,
                gap=None if best is None else round(100 * (res.travel / best - 1), 2) + 0.0,
                seconds=round(seconds, 2),
                served=served,
                feasible=feasible,
                routes=[[s.location for s in stops] for stops in res.stops if stops],
                iterations=res.iterations,
            )
            out.append(r)
            if progress:
                progress(r)
    return out


HEADER = (
    f"{'instance':10} {'requests':>8} {'vehicles':>8} {'cost':>10} {'best-known':>10} {'gap %':>7} "
    f"{'seconds':>8} {'served':>9}"
)


def row(r: BenchResult) -> str:
    bks = f"{r.bks:10.2f}" if r.bks is not None else f"{'-':>10}"
    gap = f"{r.gap:7.2f}" if r.gap is not None else f"{'-':>7}"
    flag = "" if r.feasible else "  INFEASIBLE"
    return (
        f"{r.instance:10} {r.requests:8d} {r.vehicles:8d} {r.cost:10.2f} {bks} {gap} {r.seconds:8.1f} "
        f"{r.served:4d}/{r.requests:<4d}{flag}"
    )


def summary(results: list[BenchResult]) -> str:
    gaps = [r.gap for r in results if r.gap is not None]
    served = sum(1 for r in results if r.served == r.requests)
    feasible = all(r.feasible for r in results)
    worst = max(results, key=lambda r: r.gap if r.gap is not None else -1e9) if gaps else None
    text = f"{len(results)} instances: fully served {served}/{len(results)}, "
    text += "all plans accepted by the checker" if feasible else "SOME PLANS INFEASIBLE"
    if gaps and worst is not None:
        text += f"; mean gap {statistics.mean(gaps):.2f}%, max gap {worst.gap:.2f}% ({worst.instance})"
    return text


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def as_json(
    results: list[BenchResult], time_limit_s: float, workers: int, seed: int, iterations: int | None
) -> dict[str, object]:
    return {
        "time_limit": time_limit_s,
        "workers": workers,
        "seed": seed,
        "iterations": iterations,
        "machine": machine(),
        "summary": summary(results),
        "results": [asdict(r) for r in results],
    }
