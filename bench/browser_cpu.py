"""CPU seconds spent by one Chromium and all its processes (renderers, workers' threads, GPU,
network service), read from ``/proc``: the measure that holds on a shared machine, where wall
times swing with the neighbours' load.

Why the process tree and not "every chromium": the benchmarks may run beside other browsers
(the tests, a second benchmark). The browser process is found by its ``--user-data-dir``
(each run has its own profile); its descendants by parent pid. A process that exited and was
reaped still counts: its time moved into its parent's ``cutime``/``cstime``, which are summed
too, so every process is counted once (live ones by their own time, reaped ones through their
parent). Linux only; elsewhere ``available()`` is False and the benchmarks say so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def available() -> bool:
    return (_PROC / "self" / "stat").exists()


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, own + reaped children's CPU seconds) of ``pid``, None if it is gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    # after the ")": state ppid ... utime(12) stime(13) cutime(14) cstime(15), 1-based from state
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return int(fields[1]), ticks / _TICK


def _cmdline(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace")
    except OSError:
        return ""


def browser_pid(profile: Path) -> int | None:
    """The browser process started with ``--user-data-dir=<profile>``."""
    marker = f"--user-data-dir={profile}"
    candidates = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and marker in _cmdline(int(entry.name)):
            candidates.append(int(entry.name))
    if not candidates:
        return None
    tree = {pid: (_stat(pid) or (0, 0.0))[0] for pid in candidates}
    roots = [pid for pid, parent in tree.items() if parent not in tree]  # the topmost one
    return min(roots) if roots else min(candidates)


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and every descendant, user + system, reaped children included."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        got = _stat(int(entry.name))
        if got is not None:
            parents[int(entry.name)], cpu[int(entry.name)] = got
    total = 0.0
    for pid in cpu:
        walk = pid
        while walk and walk != root:  # is ``root`` an ancestor?
            walk = parents.get(walk, 0)
        if walk == root:
            total += cpu[pid]
    return total


@dataclass
class BrowserCpu:
    """A meter on one browser: ``seconds()`` since ``start()``."""

    profile: Path
    root: int | None = None
    base: float = 0.0

    def start(self) -> BrowserCpu:
        if self.root is None:
            self.root = browser_pid(self.profile)
        self.base = tree_cpu_seconds(self.root) if self.root else 0.0
        return self

    def seconds(self) -> float | None:
        """CPU seconds since ``start()``; None when the browser process was not found."""
        if self.root is None:
            return None
        return tree_cpu_seconds(self.root) - self.base
