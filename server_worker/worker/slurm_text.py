"""Reading Slurm's answers: ``scontrol show job -o``, exit codes, ``sinfo`` node lines.

Pure functions of the text each command prints, so they are tested without a cluster.
"""

from __future__ import annotations

from typing import Any


def parse_scontrol(text: str) -> dict[str, str]:
    """``scontrol show job -o`` (one line of ``Key=Value``) as a dict; values may hold spaces
    only in the last fields, which we do not read."""
    fields: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep:
            fields[key] = value
    return fields


def combined_exit_code(text: str) -> int:
    """Slurm's ``exit:signal`` as one number (the signal + 128 when there is no exit code)."""
    code, _, sig = text.partition(":")
    try:
        exit_code, signal_number = int(code or 0), int(sig or 0)
    except ValueError:
        return 1
    return exit_code or (128 + signal_number if signal_number else 0)


def advertised_from_sinfo(text: str) -> dict[str, Any] | None:
    """``sinfo -N -o '%c|%m|%G'`` lines (CPUs, memory in MB, GRES) as the capabilities of the
    largest node: ``cpus``, ``memory_bytes`` and one ``gpus`` entry per GPU of its GRES."""
    best: dict[str, Any] | None = None
    for line in text.strip().splitlines():
        cpus, memory, gres = (line.strip().split("|") + ["", ""])[:3]
        try:
            node = {"cpus": int(cpus.rstrip("+")), "memory_bytes": int(memory.rstrip("+")) << 20}
        except ValueError:
            continue
        count = 0
        for item in gres.split(","):  # "gpu:a100:4(S:0-1)" or "gpu:2"
            parts = item.split("(")[0].split(":")
            if parts[0] == "gpu" and parts[-1].isdigit():
                count += int(parts[-1])
        node["gpus"] = [f"GPU {i}: Slurm gres" for i in range(count)]
        if best is None or (node["cpus"], node["memory_bytes"]) > (best["cpus"],
                                                                   best["memory_bytes"]):
            best = node
    return best
