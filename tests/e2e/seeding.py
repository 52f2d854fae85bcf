"""Child processes that write test data into the live server's database.

The factories of tests/ number their data from 1 in every process (names, codes, ticket and ID
numbers), so two setups against the same live database would collide. ``run_script`` gives
every child process its own block of numbers and, since ID numbers only keep three serial
digits, its own birth date too.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from typing import Any

from tests.e2e.conftest import ROOT

__all__ = ["STARTED_SEAT", "run_script", "started_seat"]

_blocks = itertools.count(1)

PRELUDE = r"""
import itertools as _it, os as _os
from tests import factories as _factories
from tests.examroom import worlds as _worlds
_offset = int(_os.environ["E2E_SEED_OFFSET"])
_factories._counter = _it.count(_offset)
_worlds._serial = _it.count(_offset)
_worlds._codes = _it.count(_offset)
_plain_id = _factories.valid_id_number
_factories.valid_id_number = lambda serial, birth=None, region="220102": _plain_id(
    serial, birth or f"19{60 + (serial // 1000) % 40}0101", region)
"""


#: A seated sitting that started a minute ago, opened by its proctor 1 and started by candidate 0
#: (the helpers of tests/examroom); prints what a client needs to act as either of them.
STARTED_SEAT = r"""
import datetime as dt, json
from examroom import attempts as svc
from tests.examroom.worlds import Exam
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    exam = Exam(s)
    now = dt.datetime.now(dt.UTC)
    exam.sitting.starts_at = now - dt.timedelta(minutes=1)
    s.flush()
    svc.open_room(s, exam.proctor1, exam.room1.id, now)
    attempt = exam.attempt(0)
    svc.start_attempt(s, exam.candidates[0], attempt.id, now)
    s.commit()
    c = exam.candidates[0]
    print(json.dumps({"attempt_id": attempt.id, "room_id": exam.room1.id, "ticket_no": _factories.ticket_no(c),
                      "id_number": c.id_number, "proctor": exam.proctor1.username}))
"""


def started_seat(live_server: Any) -> dict[str, Any]:
    """Run :data:`STARTED_SEAT` against the live server's database."""
    return run_script(live_server, STARTED_SEAT)  # type: ignore[no-any-return]


def run_script(live_server: Any, script: str, *args: object, timeout: int = 180) -> Any:
    """Run ``script`` (Python source) against the live server's database; return the JSON of
    its last printed line (None when it prints nothing)."""
    for _attempt in range(3):
        offset = next(_blocks) * 1000
        env = {**live_server.env, "E2E_SEED_OFFSET": str(offset)}
        result = subprocess.run([sys.executable, "-c", PRELUDE + script, *map(str, args)], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=timeout, check=False)
        # On SQLite a transaction that read before writing is refused at once ("database is
        # locked") when the live server (its heartbeat, its job worker) wrote meanwhile; the
        # script's transaction rolled back, so it runs again with fresh serials.
        if result.returncode == 0 or "database is locked" not in result.stderr:
            break
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout.strip().splitlines()
    return json.loads(out[-1]) if out else None


if os.environ.get("E2E_SEED_OFFSET"):  # pragma: no cover  (never imported by a child)
    raise RuntimeError("tests.e2e.seeding is for the test process only")
