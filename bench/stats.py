"""Small statistics for noisy machines: medians and high percentiles, in milliseconds."""

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(seconds: float) -> float:
    return seconds * 1000


def summary(latencies_s: Sequence[float]) -> dict[str, float]:
    return {
        "p50": ms(statistics.median(latencies_s)) if latencies_s else float("nan"),
        "p99": ms(percentile(latencies_s, 99)),
        "max": ms(max(latencies_s)) if latencies_s else float("nan"),
    }
