"""The travel margin's arithmetic: histograms of real over road driving times and the margin of
each leg band they call for, within a tenant's bounds (`dispatcher.tenant_config.TravelMargin`).
Learned from drivers' reports by `dispatcher.rides.margin` (where the method is described); the
planning model is `routing.traveltime.Padded`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from routing.traveltime import LEG_BANDS_S


class MarginRule(Protocol):
    """A tenant's bounds of the margin (percent) and how much to learn before leaving the prior."""

    @property
    def prior_percent(self) -> float: ...
    @property
    def min_percent(self) -> float: ...
    @property
    def max_percent(self) -> float: ...
    @property
    def cover_percent(self) -> float: ...
    @property
    def min_reports(self) -> int: ...


RATIO_MIN = 0.5  # real / road time of the histogram's first bin (anything faster counts there)
RATIO_STEP = 0.02  # width of a histogram bin
BINS = 100  # up to 2.5 x the road time; the last bin holds anything slower
BANDS = len(LEG_BANDS_S) + 1


def _bin(ratio: float) -> int:
    return min(BINS - 1, max(0, int((ratio - RATIO_MIN) / RATIO_STEP)))


def histogram(ratios: Iterable[float]) -> list[float]:
    """Counts of ratios by bin (RATIO_MIN, RATIO_STEP, BINS)."""
    out = [0.0] * BINS
    for r in ratios:
        out[_bin(r)] += 1.0
    return out


def quantile(hist: Sequence[float], share: float) -> float:
    """The ratio below which `share` of the histogram's weight lies (a bin's upper edge: rather
    more margin than less)."""
    total = sum(hist)
    if total <= 0:
        raise ValueError("an empty histogram has no quantile")
    cumulative = 0.0
    for k, w in enumerate(hist):
        cumulative += w
        if cumulative >= share * total - 1e-9:
            return RATIO_MIN + (k + 1) * RATIO_STEP
    return RATIO_MIN + BINS * RATIO_STEP


def bounded(m: MarginRule, fraction: float) -> float:
    """A margin (fraction of the leg) within the tenant's bounds."""
    return min(m.max_percent / 100, max(m.min_percent / 100, fraction))


@dataclass(frozen=True)
class Cell:
    """What is known about one hour and band: reported legs (decayed weight) and their ratios."""

    hour: int
    band: int
    weight: float
    histogram: list[float]


def margin_of(m: MarginRule, hist: Sequence[float]) -> float:
    """The bounded margin a histogram of real/road ratios calls for."""
    return bounded(m, quantile(hist, m.cover_percent / 100) - 1.0)


def planning_margins(m: MarginRule, cells: Iterable[Cell]) -> tuple[float, ...]:
    """The margin (fraction) of each leg band a day is planned with: per band, the largest of the
    band's margin over all hours (the prior until `min_reports` legs) and each hour's with that many."""
    enough = m.min_reports
    by_band: dict[int, list[Cell]] = defaultdict(list)
    for c in cells:
        by_band[c.band].append(c)
    out = []
    for band in range(BANDS):
        cs = by_band.get(band, [])
        pooled = [sum(c.histogram[k] for c in cs) for k in range(BINS)] if cs else [0.0] * BINS
        prior = bounded(m, m.prior_percent / 100)
        base = margin_of(m, pooled) if sum(c.weight for c in cs) >= enough else prior
        hourly = [margin_of(m, c.histogram) for c in cs if c.weight >= enough]
        out.append(max([base, *hourly]))
    return tuple(out)
