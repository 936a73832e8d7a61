"""Cargo in a taxi: how rides hand goods to the context that owns them.

A ride of a kind other than a passenger's (today: `freight`, groceries that go by taxi) carries
things that another context owns. Rides does not read or write that context's tables; the owner
registers a `CargoHandler` for the ride kind, and the drivers' reports call it:
- `check_loadable` before a pickup is accepted (raises a domain error to refuse it);
- `carried` after the pickup or the drop-off, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from sqlmodel import Session

from dispatcher.models import Ride

Step = Literal["picked_up", "dropped_off"]


class CargoHandler(Protocol):
    def check_loadable(self, session: Session, ride: Ride) -> None:
        """Raise a DomainError when the cargo may not be loaded yet."""

    def carried(
        self, session: Session, tenant_id: str, ride: Ride, step: Step, at: datetime, actor: str
    ) -> None:
        """The cargo was loaded (`picked_up`) or unloaded (`dropped_off`) at `at`."""


_HANDLERS: dict[str, CargoHandler] = {}


def register(ride_kind: str, handler: CargoHandler) -> None:
    """Make `handler` responsible for the cargo of rides of `ride_kind` (done once, at import)."""
    _HANDLERS[ride_kind] = handler


def handler_for(ride: Ride) -> CargoHandler | None:
    """The handler of a ride's cargo; None for a passenger ride. A cargo ride without a handler is a
    wiring fault (its owner's package was never imported) and raises."""
    if ride.kind == "passenger":
        return None
    handler = _HANDLERS.get(ride.kind)
    if handler is None:
        raise RuntimeError(f"no cargo handler for {ride.kind} rides (import the package that owns them)")
    return handler
