"""What this worker offers: processors that import here, CPUs, memory, GPUs, its executor.

The broker matches these against each job's requirements (``broker.catalog``): a job that
needs a GPU goes only to a worker listing one, and a submission no registered worker can run
is refused at once. So the figures are what a job here can really use: the CPUs this process
may run on (its affinity, not the machine's count), the memory a cgroup limit leaves (when
lower than the physical memory). A worker whose jobs run elsewhere (a Slurm worker: on the
partition's nodes) passes those resources as ``resources`` instead of the login node's.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

#: Where cgroup v2 and v1 keep the memory limit of this process's group.
CGROUP_MEMORY_FILES = ("/sys/fs/cgroup/memory.max",
                       "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def usable_cpus() -> int | None:
    """CPUs this process may run on (``sched_getaffinity``), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def cgroup_memory_limit() -> int | None:
    """The memory limit of this process's cgroup in bytes; None when there is none."""
    for name in CGROUP_MEMORY_FILES:
        try:
            text = Path(name).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:  # v1 writes a huge number for "none"
            return int(text)
    return None


def memory_bytes() -> int | None:
    """Physical memory, or the cgroup's limit when lower (a container's share)."""
    try:
        physical: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = None
    limit = cgroup_memory_limit()
    if physical is None or (limit is not None and limit < physical):
        return limit
    return physical


def gpus() -> list[str]:
    """GPU names from ``nvidia-smi -L`` (argument list, no shell); empty when none.

    ``CUDA_VISIBLE_DEVICES`` set to nothing (or ``-1``) hides them, as it does from CUDA."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return []
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.startswith("GPU")]


def capabilities(slots: int, executor: str,
                 resources: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON a worker registers with. ``resources`` (``cpus``, ``memory_bytes``,
    ``gpus``) replaces what is probed here, for executors whose jobs run on other machines."""
    from ..processors.registry import describe_available

    processors = describe_available()
    found: dict[str, Any] = {
        "processors": processors,
        "sorters": [p["name"] for p in processors],
        "cpus": usable_cpus(),
        "memory_bytes": memory_bytes(),
        "gpus": gpus(),
        "slots": slots,
        "executor": executor,
        "hostname": platform.node(),
        "python": platform.python_version(),
    }
    found.update({k: v for k, v in (resources or {}).items()
                  if k in ("cpus", "memory_bytes", "gpus")})
    return found
