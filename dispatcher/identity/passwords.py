"""Password and PIN hashes (argon2id) and the cap on how many are checked at the same time.

Cost. Every staff password, family password and resident PIN is hashed with argon2id at the cost
`Cost` (memory in KiB, passes, lanes), set by NORIAI_ARGON2_MEMORY_KIB, NORIAI_ARGON2_TIME_COST and
NORIAI_ARGON2_PARALLELISM. The default is OWASP's first recommendation for argon2id (19 MiB, 2
passes, 1 lane): about 50 ms of one core on the reference machine (2 cores). One lane, because a
verification is one request's work and the other core should stay free for the other requests.
A hash keeps the cost it was made with, so a changed cost takes effect for each secret at its
owner's next successful sign-in (`needs_rehash`: the sign-in stores a new hash).

Cap. At most `concurrency` verifications (NORIAI_SIGN_IN_CONCURRENCY, default 2: the reference
machine's cores) run at once in one process. A sign-in that finds every slot taken is refused at
once with 429 `auth.sign_in_busy` and `Retry-After: 1` (`SignInBusy`), before anything is counted
against the user: a flood of sign-ins costs at most `concurrency` × the memory cost and leaves the
other requests their share of the processor, instead of queueing hundreds of 19 MiB checks. The
cap covers every verification an unauthenticated caller can start: staff, family and PIN sign-in,
unknown names and locked users included (they check against a dummy hash, for the same time).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from dispatcher.errors import Code, DomainError

DEFAULT_MEMORY_KIB = 19_456  # 19 MiB
DEFAULT_TIME_COST = 2  # passes over the memory
DEFAULT_PARALLELISM = 1  # lanes (threads) of one hash
DEFAULT_CONCURRENCY = 2  # verifications at once per process
RETRY_AFTER_S = 1  # what a refused sign-in is told to wait (a verification takes ~50 ms)
# Verifications run on threads of their own at this lower processor priority (Linux nice; a
# thread's own on Linux), so that when the machine is busy the other requests of the process (the
# operator's board) go first and a flood of sign-ins slows only the sign-ins.
VERIFY_NICE = 10


def _lower_priority() -> None:
    with suppress(AttributeError, OSError):  # not Linux, or not allowed: the normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), VERIFY_NICE)


@dataclass(frozen=True)
class Cost:
    """argon2id cost: `memory_kib` KiB of memory, `time_cost` passes, `parallelism` lanes."""

    memory_kib: int = DEFAULT_MEMORY_KIB
    time_cost: int = DEFAULT_TIME_COST
    parallelism: int = DEFAULT_PARALLELISM


class SignInBusy(DomainError):
    """Every verification slot is taken: 429 with `Retry-After`, at once, nothing counted."""

    status = 429
    title = "Too many sign-ins at once"
    code = Code.sign_in_busy


class _Checker:
    """The hasher of one cost, its dummy hash, and the slots of the cap."""

    def __init__(self, cost: Cost, concurrency: int) -> None:
        self.cost = cost
        self.concurrency = concurrency
        self.hasher = PasswordHasher(
            time_cost=cost.time_cost,
            memory_cost=cost.memory_kib,
            parallelism=cost.parallelism,
            type=Type.ID,
        )
        self.slots = threading.BoundedSemaphore(concurrency)
        # the threads that run the hashes (one per slot; a rehash or dummy check uses one too)
        self.workers = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="argon2", initializer=_lower_priority
        )
        self.in_use = 0
        self.lock = threading.Lock()
        self._dummy: str | None = None

    def dummy(self) -> str:
        """A real hash of this cost to check against when there is nothing to check (made once)."""
        with self.lock:
            if self._dummy is None:
                self._dummy = self.hasher.hash("not-a-real-secret")
            return self._dummy


_checker = _Checker(Cost(), DEFAULT_CONCURRENCY)


def configure(cost: Cost, concurrency: int) -> None:
    """Set this process's cost and cap (the settings do, when a dispatcher is built). A sign-in in
    flight finishes in the slot it holds."""
    global _checker
    if concurrency < 1:
        raise ValueError("at least one verification must be allowed at a time")
    if (cost, concurrency) != (_checker.cost, _checker.concurrency):
        old, _checker = _checker, _Checker(cost, concurrency)
        old.workers.shutdown(wait=False)  # its threads end once their work is done


def current_cost() -> Cost:
    return _checker.cost


def concurrency() -> int:
    """How many verifications may run at once."""
    return _checker.concurrency


def in_use() -> int:
    """How many verification slots are taken now."""
    return _checker.in_use


def busy() -> SignInBusy:
    """The refusal of a sign-in while every slot is taken."""
    return SignInBusy(
        "The server is checking as many sign-ins as it can at once; try again in a second.",
        retry_after_seconds=RETRY_AFTER_S,
    )


def full() -> bool:
    """Whether every verification slot is taken now (a sign-in would be refused)."""
    return _checker.in_use >= _checker.concurrency


@contextmanager
def verification_slot() -> Iterator[None]:
    """Hold one of the `concurrency` slots for a sign-in; raise SignInBusy at once when none is free."""
    checker = _checker  # the slots it was taken from, even if the settings change meanwhile
    if not checker.slots.acquire(blocking=False):
        raise busy()
    with checker.lock:
        checker.in_use += 1
    try:
        yield
    finally:
        with checker.lock:
            checker.in_use -= 1
        checker.slots.release()


def hash_secret(secret: str) -> str:
    """An argon2id hash of a password or PIN at the current cost (on a verification thread)."""
    checker = _checker
    return checker.workers.submit(checker.hasher.hash, secret).result()


def _check(hasher: PasswordHasher, hashed: str, secret: str) -> bool:
    try:
        return bool(hasher.verify(hashed, secret))
    except (VerificationError, InvalidHashError):
        return False


def verify(hashed: str, secret: str) -> bool:
    """Whether `secret` matches `hashed` (any argon2 cost; False for a damaged hash). Runs on a
    verification thread, at the lower priority VERIFY_NICE."""
    checker = _checker
    return checker.workers.submit(_check, checker.hasher, hashed, secret).result()


def verify_dummy(secret: str) -> None:
    """The work of a real check, for an unknown name, a locked user or a resident without a PIN:
    timing then does not tell them apart from a wrong secret."""
    verify(dummy_hash(), secret + "\x00")


def dummy_hash() -> str:
    """The hash `verify_dummy` checks against: made at the current cost."""
    return _checker.dummy()


def needs_rehash(hashed: str) -> bool:
    """Whether a hash was made at another cost than the current one (then store a new one)."""
    try:
        return bool(_checker.hasher.check_needs_rehash(hashed))
    except InvalidHashError:
        return True
