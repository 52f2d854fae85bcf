"""Issue 16 acceptance on a live server (``python -m web.serve`` as ``make run`` starts it, with
its embedded job worker): while a 1,000-row item import, an export of 2,000 items and a paper
assembly (2 forms × 100, TIFs within 5 %, from a 2,000-item pool) run as jobs, a real
python-socketio candidate keeps answering; every answer is acked with p99 < 300 ms and
``/healthz`` answers within 1 s throughout. The heavy work runs in the worker process, never
in the process that serves the exam socket.

On SQLite (one writer at a time) this is an expected failure, not a skip, so ``make test``
still runs it: the import's long read meets the answers' writes and the import fails, and an
answer whose read meets a job's write (a progress report, the export's audit entry) fails with
``server_error``; see docs/architecture.md, "Background jobs". On PostgreSQL it must pass."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
import requests
import socketio

from tests.e2e.logins import http_login
from tests.e2e.polling import HealthPoller, wait_for_job
from tests.e2e.seeding import run_script, started_seat

pytestmark = pytest.mark.e2e

ACK_P99 = 0.300  # seconds
HEALTHZ_BOUND = 1.0
BANK_ITEMS = 2000
IMPORT_ROWS = 1000

#: Adds ``BANK_ITEMS`` active items to the demo blueprint (电工四级) in bulk: the rows the services
#: write for an active item (item, current version with its MinHash signature, its band keys),
#: as ``benchmarks/bench_scale.py`` builds its banks. Prints the blueprint's id.
SEED_BANK = r"""
import json, random, sys
from sqlalchemy import insert, select
from benchmarks.bench_duplicates import _families
from foundation.accounts import User
from itembank import duplicates
from itembank.models import Item, ItemBand, ItemVersion
from web import create_app
from web.extensions import db

n = int(sys.argv[1])
app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    anchor = s.scalar(select(Item).where(Item.code == "DG4-001"))
    blueprint = anchor.point.blueprint
    points = [p for p in blueprint.points]
    writer = s.scalar(select(User).where(User.username == "writer1"))
    rng = random.Random(16)
    stems = _families(rng, n)
    single = {"options": [{"label": x, "html": f"选项{x}"} for x in "ABCD"], "key": ["B"]}
    items = []
    for k in range(n):
        kind = "true_false" if k % 5 == 4 else "single_choice"
        items.append(Item(code=f"LIVE-{k:05d}", point_id=points[k % len(points)].id, level=blueprint.level,
                          item_type=kind, status="active", author_id=writer.id, is_pretest=False,
                          irt_a=rng.uniform(0.6, 2.0), irt_b=rng.uniform(-2.0, 2.0)))
    s.add_all(items)
    s.flush()
    versions = []
    for k, item in enumerate(items):
        versions.append(ItemVersion(item_id=item.id, number=1, stem_html=f"<p>{stems[k]}</p>",
                                    spec_json=json.dumps({"key": "√"} if item.item_type == "true_false" else single,
                                                         ensure_ascii=False),
                                    author_id=writer.id, frozen=True, difficulty=0.6,
                                    minhash=duplicates.signature(stems[k]).tobytes()))
    s.add_all(versions)
    s.flush()
    bands = []
    for item, version in zip(items, versions):
        item.current_version_id = version.id
        bands += [{"item_id": item.id, "band": b, "key": key}
                  for b, key in enumerate(duplicates.band_keys(version.stem_html, version.minhash))]
    s.execute(insert(ItemBand), bands)
    s.commit()
    print(json.dumps({"blueprint_id": blueprint.id, "point_codes": [p.code for p in points]}))
"""


class Candidate(threading.Thread):
    """A candidate answering over the exam socket every 0.2 s (the socket's limit is 20 a
    second) on positions 1 and 2 (single choice in the seeded paper); records each answer's round
    trip until acked."""

    def __init__(self, base: str, seat: dict) -> None:
        super().__init__(daemon=True)
        http = http_login(base, "/login/candidate", {"ticket_no": seat["ticket_no"], "id_number": seat["id_number"]})
        self.client = socketio.Client(reconnection=False, http_session=http)
        self.client.connect(base, namespaces=["/exam"], auth={"attempt_id": seat["attempt_id"],
                                                              "device_id": "scale-live-1"}, wait_timeout=10)
        self.attempt_id = seat["attempt_id"]
        self.stop = threading.Event()
        self.samples: list[float] = []
        self.failures: list[object] = []

    def run(self) -> None:
        seq = 0
        while not self.stop.is_set():
            seq += 1
            payload = {"attempt_id": self.attempt_id, "position": 1 + seq % 2, "seq": seq,
                       "value": "ABCD"[seq % 4], "client_time": dt.datetime.now(dt.UTC).isoformat()}
            started = time.monotonic()
            try:
                ack = self.client.call("answer", payload, namespace="/exam", timeout=30)
            except Exception as exc:  # a timeout is a failure to report, not a crash of the thread
                self.failures.append(repr(exc))
                ack = None
            self.samples.append(time.monotonic() - started)
            if ack is not None and ack.get("result") != "accepted":
                self.failures.append(ack)
            time.sleep(0.2)


def _token(http: requests.Session, base: str, path: str) -> str:
    """The session's CSRF token, from the page's ``<meta name="csrf-token">`` (base.html)."""
    page = http.get(base + path, timeout=10).text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _import_file(point_codes: list[str]) -> bytes:
    from tests.itembank.worlds import single, xlsx

    return xlsx([single(f"IMP-LIVE-{k:04d}", stem=f"关于第{k}号电工作业规程第{k % 7}条的说法正确的是？",
                        point=point_codes[k % len(point_codes)]) for k in range(IMPORT_ROWS)])


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def test_exam_answers_and_healthz_stay_fast_while_heavy_jobs_run(live_server, request):
    if live_server.env["DATABASE_URL"].startswith("sqlite"):
        request.applymarker(pytest.mark.xfail(reason="SQLite has one writer: a 1,000-row import fails while answers "
                                              "are written, and answers meeting a job's write fail (docs/"
                                              "architecture.md, Background jobs)", strict=False))
    base = live_server.url
    bank = run_script(live_server, SEED_BANK, BANK_ITEMS, timeout=300)
    blueprint_id, point_codes = bank["blueprint_id"], [c for c in bank["point_codes"]]
    seat = started_seat(live_server)
    upload = _import_file(point_codes)

    writer = http_login(base, "/login", {"username": "writer1", "password": "Demo1234"})
    centre = http_login(base, "/login", {"username": "centre", "password": "Demo1234"})
    assembler = http_login(base, "/login", {"username": "qc_admin", "password": "Demo1234"})
    import_token = _token(writer, base, "/itembank/items/import")
    export_token = _token(centre, base, "/itembank/items")
    api_token = _token(assembler, base, "/itembank/papers/new")

    candidate = Candidate(base, seat)
    poller = HealthPoller(base)
    candidate.start()
    poller.start()
    try:
        time.sleep(1.0)  # a baseline before the jobs
        imported = writer.post(base + "/itembank/items/import", timeout=60, data={
            "csrf_token": import_token, "blueprint_id": str(blueprint_id)},
            files={"file": ("试题.xlsx", upload, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
        assert imported.status_code == 200 and "/jobs/" in imported.url, imported.url
        exported = centre.post(base + "/itembank/items/export", timeout=60, data={
            "csrf_token": export_token, "format": "xlsx", "blueprint": str(blueprint_id)})
        assert exported.status_code == 200 and "/jobs/" in exported.url, exported.url
        assembly = assembler.post(base + "/api/v1/papers", timeout=60, headers={"X-CSRFToken": api_token}, json={
            "blueprint_id": blueprint_id, "name": "并发验收卷", "mode": "blueprint", "n_forms": 2,
            "tif_tolerance": 0.05, "scale_to_100": True,
            "sections": [{"type": "single_choice", "count": 80, "points": 1},
                         {"type": "true_false", "count": 20, "points": 1}]})
        assert assembly.status_code == 202, assembly.text
        statuses = {
            "import": wait_for_job(writer, imported.url, timeout=600),
            "export": wait_for_job(centre, exported.url, timeout=600),
        }
        deadline = time.monotonic() + 600
        while not (job := assembler.get(base + assembly.headers["Location"], timeout=10).json())["finished"]:
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        statuses["assembly"] = job
        time.sleep(0.5)
    finally:
        candidate.stop.set()
        poller.stop.set()
        candidate.join(timeout=60)
        poller.join(timeout=60)
        candidate.client.disconnect()

    assert statuses["import"]["status"] == "done", statuses["import"]
    assert f"{IMPORT_ROWS}" in statuses["import"]["message"], statuses["import"]
    assert statuses["export"]["status"] == "done" and statuses["export"]["download_url"], statuses["export"]
    assert statuses["assembly"]["status"] == "done", statuses["assembly"]
    assert statuses["assembly"]["result"]["forms"] == 2
    assert not candidate.failures, candidate.failures[:5]
    assert len(candidate.samples) >= 20, len(candidate.samples)
    worst = sorted(candidate.samples)[-5:]
    print(f"\nanswers: {len(candidate.samples)}, p50 {sorted(candidate.samples)[len(candidate.samples) // 2]:.3f} s,"
          f" p99 {_p99(candidate.samples):.3f} s, worst {worst}; healthz: {len(poller.samples)}, "
          f"max {max(poller.samples):.3f} s")
    assert _p99(candidate.samples) < ACK_P99, worst
    assert not poller.failures, poller.failures
    assert len(poller.samples) > 10
    assert max(poller.samples) < HEALTHZ_BOUND, sorted(poller.samples)[-5:]
