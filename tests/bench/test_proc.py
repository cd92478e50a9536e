"""bench/proc.py: what the benchmarks read of a process in /proc."""

import os
import time

from bench import proc

HZ = os.sysconf("SC_CLK_TCK")


def ticks(seconds: float) -> int:
    return round(seconds * HZ)


def test_a_process_cpu_is_read_as_user_and_kernel_time() -> None:
    """Over a stretch of user-space work, what /proc gives as the kernel's part (stime)
    and the whole (utime + stime) moves as os.times() says (the same clock ticks, read
    by another call: one tick apart at most)."""
    fields_before, times_before = proc.stat_fields(os.getpid()), os.times()
    deadline = time.monotonic() + 5
    # Ten ticks of user time at least: reading utime for stime could not pass for it.
    while os.times().user - times_before.user < 10 / HZ and time.monotonic() < deadline:
        sum(range(10_000))
    fields_after, times_after = proc.stat_fields(os.getpid()), os.times()

    user = ticks(times_after.user - times_before.user)
    system = ticks(times_after.system - times_before.system)
    kernel_read = ticks(proc.kernel_cpu_of(fields_after) - proc.kernel_cpu_of(fields_before))
    whole_read = ticks(proc.cpu_of(fields_after) - proc.cpu_of(fields_before))
    assert user >= 10
    assert abs(kernel_read - system) <= 2
    assert abs(whole_read - (user + system)) <= 2
    assert user - system > 4  # the test tells the two fields apart
