"""Seed 001's baseline: max over the first samples, then EMA 0.9/0.1, a 10 ms floor; 5x busy, 2x normal."""

from __future__ import annotations

from runbooks.watch.baseline import Baseline, level, update


def test_spike_guard_then_ema_and_floor() -> None:
    b = Baseline()
    for ms in (20, 80, 30, 40):  # fewer than 5 samples: the maximum
        b = update(b, ms)
    assert b.ms == 80
    b = update(b, 30)  # 5th sample: EMA
    assert abs(b.ms - (80 * 0.9 + 30 * 0.1)) < 1e-9
    tiny = Baseline()
    for _ in range(10):
        tiny = update(tiny, 1)
    assert tiny.ms == 10


def test_levels() -> None:
    b = Baseline(ms=100, samples=9)
    assert (level(b, 501), level(b, 500), level(b, 201), level(b, 200)) == ("busy", "normal", "normal", "idle")
