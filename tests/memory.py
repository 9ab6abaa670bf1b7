"""Peak resident memory of this process, as the corpus tests and the benchmarks measure it.

``ru_maxrss`` is no use in a child started by a big parent: Linux carries the parent's high-water mark across
``exec``, so a small child of a 2.6 GB pytest process reports 2.6 GB. ``VmHWM`` belongs to the process's own
address space (new at ``exec``) and can be reset between measurements.
"""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark of this process (VmHWM; Linux >= 4.0), so the next peak is its own."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_bytes() -> int:
    """VmHWM from /proc/self/status; where there is none, ru_maxrss (then possibly inherited, see above)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
