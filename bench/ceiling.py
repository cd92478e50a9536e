"""The commit ceiling of the design: writes/s of one writer as its batches grow.

Group commit runs every write queued together in one transaction; a batch costs its
writes' statements plus ONE serialised append and COMMIT (SQLite: one fsync of the WAL
at FULL, none at NORMAL; PostgreSQL: one round trip and one WAL flush, under the
``event_head`` row lock every instance shares). Measured in process, without HTTP:
each write is ``update_task`` (a read, a check, a write, one event).
"""

import time

from maestro_mcp.core.models import ProjectCreate, TaskCreate, TaskPatch
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Store

BATCH_SIZES = (1, 4, 16, 64)


def writes_per_second(
    store: Store, writes: int, sizes: tuple[int, ...] = BATCH_SIZES
) -> dict[int, float]:
    """For each batch size, the writes/s of ``writes`` updates committed that many at a time."""
    service = Service(store)
    project = service.create_project(ProjectCreate(name=f"ceiling {time.time()}")).value
    tasks = [
        service.create_task(TaskCreate(project_id=project.id, title=f"t{n}")).value.id
        for n in range(max(sizes))
    ]
    results: dict[int, float] = {}
    for size in sizes:
        began = time.perf_counter()
        done = 0
        while done < writes:
            batch = tuple(tasks[n % len(tasks)] for n in range(done, min(done + size, writes)))
            # As group commit runs it first: careless, told the tasks it will read.
            with store.batch(careful=False, reads=batch):
                for n, task_id in enumerate(batch, done):
                    service.update_task(task_id, TaskPatch(title=f"b{size}-{n}"))
            done += size
        results[size] = writes / (time.perf_counter() - began)
    return results
