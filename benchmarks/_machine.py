"""The machine a benchmark ran on, for benchmarks/RESULTS.md (shared by every benchmark script)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["cpu_model", "machine", "machine_line"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(versions: str = "") -> dict:
    """nproc, RAM, CPU model, current load average and the given library versions."""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem, 1),
        "cpu": cpu_model(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "versions": f"python {platform.python_version()}" + (f", {versions}" if versions else ""),
    }


def machine_line(versions: str = "") -> str:
    m = machine(versions)
    return f"{m['nproc']} cores, {m['ram_gb']:.0f} GiB, {m['cpu']}, {m['versions']}; load average {m['load']}"
