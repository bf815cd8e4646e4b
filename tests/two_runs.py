"""Two ``generate`` runs of one contender on the demo suite, tested in the real sandbox:
the second regenerates every answer (the first run's answers stay, superseded).

    problem                 run 1   run 2
    demo/add-two            pass    fail      (a - b)
    demo/unique-sorted      pass    pass
    demo/counter-class      fail    pass      (bump forgets to add)

So exactly two answers change verdict between the runs and one does not.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from gradebench.engine.workflows.batch import plan_jobs, run_batch
from tests.fakes import FakeBackend
from tests.seed import demo_message, seed_demo_contenders

ADD_RIGHT = "```python\ndef add(a, b):\n    return a + b\n```\n"
ADD_WRONG = "```python\ndef add(a, b):\n    return a - b\n```\n"
DISTINCT = "```python\ndef distinct(items):\n    return sorted(set(items))\n```\n"
COUNTER = """```python
class Counter:
    def __init__(self, start):
        self.start = self.value = start

    def bump(self):
        self.value += {step}
        return self.value

    def reset(self):
        self.value = self.start
```
"""

FIRST = {
    "sum of the integers": ADD_RIGHT,
    "distinct values": DISTINCT,
    "Counter(start)": COUNTER.format(step=0),
}
SECOND = {
    "sum of the integers": ADD_WRONG,
    "distinct values": DISTINCT,
    "Counter(start)": COUNTER.format(step=1),
}
CHANGED = {"demo/add-two": ("pass", "fail"), "demo/counter-class": ("fail", "pass")}
CONTENDER = "fake-plain"


def build_two_runs(db_path: Path, demo_dir: Path, tmp_path: Path) -> tuple[str, str]:
    """The two runs' ids (first, second) in a new database at ``db_path``."""
    db, problems, seats = seed_demo_contenders(db_path, demo_dir, tmp_path, styles=("plain",))
    jobs = plan_jobs(db, problems, seats, demo_message)
    db.conn.close()
    run_batch(db_path, FakeBackend(answers=dict(FIRST)), jobs, suite="demo")
    again = [replace(job, regenerate=True) for job in jobs]
    run_batch(db_path, FakeBackend(answers=dict(SECOND)), again, suite="demo")
    conn = sqlite3.connect(db_path)
    try:
        first, second = (r[0] for r in conn.execute("SELECT id FROM runs ORDER BY started_at"))
    finally:
        conn.close()
    return first, second
