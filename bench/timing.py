"""Timing shared by the benchmarks."""

import time


def median_ms(steps, n, warmup=5):
    """Median milliseconds per call of each function in `steps` (name -> function). The
    functions take turns, so that a change in machine load (shared machines) affects them all
    alike."""
    for step in steps.values():
        for _ in range(warmup):  # warm up (and compile)
            step()
    times = {name: [] for name in steps}
    for _ in range(n):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    return {name: 1e3 * sorted(t)[len(t) // 2] for name, t in times.items()}
