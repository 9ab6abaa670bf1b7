"""Where the voice's windows lie in time, and how windows are grouped for a model."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from backend.errors import InputError


def window_bounds(duration: float, window: float = 2.0, hop: float = 1.0) -> list[tuple[float, float]]:
    """``(start, end)`` of each window: full windows every ``hop``, then one shorter final window (the model takes
    any length) if it is at least half a window long, else the tail is dropped (with the default hop of half a
    window the tail is always kept); a signal shorter than one window is a single window."""
    if window <= 0 or hop <= 0:
        raise InputError("voice window and hop must be positive", code="invalid_option")
    if duration <= 0:
        return []
    if duration <= window:
        return [(0.0, duration)]
    bounds, k = [], 0
    while k * hop + window <= duration + 1e-9:
        bounds.append((k * hop, k * hop + window))
        k += 1
    start = k * hop
    if bounds[-1][1] < duration - 1e-9 and duration - start >= window / 2:
        bounds.append((start, duration))
    return bounds


def equal_length_batches(lengths: Iterable[int], size: int) -> Iterator[list[int]]:
    """Indices of items of these ``lengths`` in batches of at most ``size`` items of one length: windows of one length
    stack into one array without padding (which would change a per-window normalisation, or what the encoder's
    attention sees)."""
    by_length: dict[int, list[int]] = {}
    for i, length in enumerate(lengths):
        by_length.setdefault(int(length), []).append(i)
    for indices in by_length.values():
        for start in range(0, len(indices), size):
            yield indices[start : start + size]
