"""Counting the files libav opens for reading: how many times an analysis reads its media (tests and bench)."""

from __future__ import annotations

from collections.abc import Callable


def counting(real_open: Callable, opened: list[str]) -> Callable:
    """``av.open`` that appends the path of each file opened for reading to ``opened``."""

    def counting_open(file, *args, **kwargs):
        if (args[0] if args else kwargs.get("mode")) in (None, "r"):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    return counting_open
