"""bench/proc.py: what the benchmarks read of a process in /proc."""

import os
import time

from bench import proc


def test_a_process_cpu_is_read_as_user_and_kernel_time() -> None:
    """Against os.times() (the same clock ticks, from another call): the kernel's
    part is stime, and the whole is utime + stime."""
    deadline = time.monotonic() + 5
    # Enough user time past the system time that reading the wrong field shows.
    while os.times().user - os.times().system < 0.1 and time.monotonic() < deadline:
        sum(range(10_000))
    fields = proc.stat_fields(os.getpid())
    times = os.times()
    tick = 1 / os.sysconf("SC_CLK_TCK")
    assert times.user - times.system >= 0.1
    assert abs(proc.kernel_cpu_of(fields) - times.system) <= tick
    assert abs(proc.cpu_of(fields) - (times.user + times.system)) <= 2 * tick
