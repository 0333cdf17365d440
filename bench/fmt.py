"""Number formatting and goal verdicts shared by the parts of docs/performance.md."""

from __future__ import annotations

from typing import Any


def mb(n: Any) -> str:
    return "–" if not isinstance(n, int | float) else f"{n / 1e6:.2f} MB"


def sec(s: Any) -> str:
    return "–" if not isinstance(s, int | float) else f"{s:.2f} s"


def num(n: Any) -> str:
    return "–" if not isinstance(n, int | float) else f"{n:.0f}"


def verdict(ok: bool | None) -> str:
    return {True: "**met**", False: "**missed**", None: "not measured"}[ok]


def le(value: Any, limit: float) -> bool | None:
    return None if not isinstance(value, int | float) else value <= limit


def against(row: dict, best_req: float, best_bytes: float) -> str:
    """met/missed, and by how much when missed."""
    over = []
    if row["requests"] > best_req:
        over.append(f"{row['requests'] - best_req:+.0f} requests")
    if row["bytes"] > best_bytes:
        over.append(f"{(row['bytes'] - best_bytes) / 1e6:+.2f} MB")
    return verdict(not over) + (f" ({', '.join(over)})" if over else "")
