"""What this machine offers: processors that import here, CPUs, memory, GPUs."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from typing import Any


def memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def gpus() -> list[str]:
    """GPU names from ``nvidia-smi -L`` (argument list, no shell); empty when none."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.startswith("GPU")]


def capabilities(slots: int, executor: str) -> dict[str, Any]:
    from ..processors.registry import describe_available

    return {
        "processors": describe_available(),
        "cpus": os.cpu_count(),
        "memory_bytes": memory_bytes(),
        "gpus": gpus(),
        "slots": slots,
        "executor": executor,
        "hostname": platform.node(),
        "python": platform.python_version(),
    }
