"""Broker knobs, read once from ``Settings.extra`` (so tests can shorten leases)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BrokerConfig:
    #: A running job whose worker has not heartbeat for this long goes back to pending.
    lease_seconds: float = 60.0
    #: Claims of one job before it is failed for good (a job that kills its workers).
    max_attempts: int = 3
    #: A worker heard from within this many seconds counts as connected ("online"); after
    #: that it is listed as "lost".
    worker_timeout_seconds: float = 120.0
    #: A worker not heard from for this long, holding no running job, is deleted by the
    #: reaper (dead workers do not stay listed forever; one that comes back registers again).
    prune_worker_seconds: float = 86400.0
    #: How often workers should heartbeat (sent to them at registration).
    heartbeat_seconds: float = 10.0
    #: Longest wait of the broker's lease reaper between rounds (also at most a quarter
    #: lease); 0 turns it off (tests of what reads do on their own).
    reap_seconds: float = 5.0

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> BrokerConfig:
        known = cls.__dataclass_fields__
        values = {k: type(getattr(cls, k))(v) for k, v in extra.items() if k in known}
        return cls(**values)
