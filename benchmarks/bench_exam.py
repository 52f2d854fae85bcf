"""Exam-room capacity (issue 4): rooms of 30 simulated candidates against the platform.

``make bench-exam`` (``python -m benchmarks.bench_exam``). Two runs in one session, same
client pattern, same machine:

1. **platform**: ``python -m web.serve`` (one gevent process, what ``make run`` serves, or
   ``--workers N`` processes on one port with PostgreSQL; each runs the time-up job), on a
   fresh database (a SQLite file by default; PostgreSQL with ``--db postgresql://…``), seeded
   with N candidates in rooms of 30 of a locked demo paper;
2. **echo**: :mod:`benchmarks.exam_echo_server`, a bare python-socketio server on the same
   gevent stack that acks every event from memory (the baseline).

Client pattern (:mod:`benchmarks.exam_load`, a separate gevent process of real python-socketio
clients, :class:`web.exam_sim.SimCandidate`): log in over HTTP, connect, arrive; one proctor
per room logs in and watches the room's console (:mod:`benchmarks.exam_proctors`), then every
proctor sends ``open`` in the same moment (the synchronised start: each room's candidates get a
``status`` push and start); answers every 10–30 s (paced); the room-wide time-up: ``--burst-before``
seconds before their deadlines (which all fall within the start's spread) everyone sends a
last answer, then the server's time-up job closes every paper and each page, told by the push,
fetches its final state. ``--burst-submit``: everyone submits right after that last answer
instead (the harshest variant: 3,000 submissions within the same seconds).

Reported: candidates connected, ack latency p50/p99/max by phase, answers acked later than 5 s,
acks that never came, lost answers (acked but not stored, checked in the database after the
run; must be 0), server CPU seconds and peak RSS, and the ratios platform ÷ echo.
"""

# ruff: noqa: S603, S310  (starts this project's own commands; HTTP only to the loopback servers it started)
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform as platform_mod
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.exam_proctors import Proctors
from benchmarks.paper_text import option_html, stem_html
from foundation.demo import DEMO_PASSWORD as PROCTOR_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("results") / "bench_exam.md"
PY = sys.executable
TICK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def flask(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([PY, "-m", "flask", "--app", "web", *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=False)
    if out.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def wait_http(url: str, proc: subprocess.Popen[Any], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def proc_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds user+system, peak RSS MB) of a live process and its child processes (the
    serving processes of ``web.serve --workers``), from /proc."""
    cpu = rss = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / TICK
        hwm = next((line for line in status if line.startswith("VmHWM")), "VmHWM: 0 kB")
        rss += int(hwm.split()[1]) / 1024
    return cpu, rss


def fresh_db(url: str | None, tmp: Path) -> str:
    if not url or url.startswith("sqlite"):
        return url or f"sqlite:///{tmp / 'bench.db'}"
    import psycopg

    base, _, name = url.rpartition("/")
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------- roles run inside the app


def _app() -> Any:
    from web import create_app

    return create_app({"SOCKETIO_ASYNC_MODE": "threading"})


def bench_paper(session: Any, n_items: int) -> Any:
    """A locked paper of ``n_items`` items the size of a real theory paper (80 % single choice
    with four options, 20 % true/false, stems of about 60 characters), written, reviewed and
    activated through the item-bank services on the demo blueprint; forms A and B hold the same
    items in opposite orders (fixed assembly: no optimisation needed for a benchmark)."""
    from sqlalchemy import select

    from foundation.accounts import User
    from foundation.institutions import Institution
    from itembank import items as item_svc
    from itembank import papers as paper_svc
    from itembank.items import ItemContent
    from itembank.models import Blueprint, Paper

    demo = session.scalar(select(Paper).where(Paper.name == "电工四级理论知识 演示卷"))
    bp = session.get(Blueprint, demo.blueprint_id)
    points = list(bp.points)
    people = {u.username: u for u in session.scalars(select(User).where(User.username.in_(
        ["writer1", "reviewer1", "reviewer2", "centre", "qc_admin"])))}
    school = session.scalar(select(Institution).where(Institution.name == "吉林省汽车工业技师学院"))
    n_single = n_items * 4 // 5
    codes = []
    for n in range(1, n_items + 1):
        if n <= n_single:
            kind = "single_choice"
            spec = {"options": [{"label": x, "html": option_html(x, n)} for x in "ABCD"], "key": ["ABCD"[n % 4]]}
        else:
            kind, spec = "true_false", {"key": "√" if n % 2 else "×"}
        content = ItemContent(stem_html=stem_html(n), spec=spec, difficulty=0.6, source="性能测试")
        item = item_svc.create_item(session, people["writer1"], point_id=points[n % len(points)].id, item_type=kind,
                                    code=f"BENCH-{n:03d}", content=content)
        item_svc.submit_item(session, people["writer1"], item.id)
        item_svc.review_item(session, people["reviewer1"], item.id, "性能测试")
        item_svc.approve_item(session, people["reviewer2"], item.id)
        item_svc.activate_item(session, people["centre"], item.id)
        codes.append(item.code)
    paper = paper_svc.assemble_paper(
        session, people["qc_admin"], institution_id=school.id, blueprint_id=bp.id, name=f"性能测试卷（{n_items} 题）",
        mode="fixed", sections=[paper_svc.Section("single_choice", n_single, 1.0),
                                paper_svc.Section("true_false", n_items - n_single, 1.0)],
        n_forms=2, duration_minutes=90, fixed_codes=[codes, codes[::-1]], scale_to_100=True)
    paper_svc.submit_paper(session, people["qc_admin"], paper.id)
    paper_svc.approve_paper(session, people["reviewer1"], paper.id, "性能测试")
    return paper


def role_seed(count: int, room_size: int, minutes: int, out: str, n_items: int = 0) -> None:
    """N candidates of the demo technician college in rooms of ``room_size``, a sitting of
    ``minutes`` starting now with the demo paper (or a bench paper of ``n_items`` items), two
    proctors per room, seated, attempts made. The plan is marked acknowledged without filing
    (a sitting starting now could never meet the filing lead, and only acknowledged sittings are
    held); earliest submit is 0 minutes so the time-up burst may submit."""
    from sqlalchemy import select

    from examroom import attempts as att
    from examroom import batches as svc
    from examroom.models import BatchStatus
    from foundation.accounts import CandidateCategory, User, create_user
    from foundation.demo import DEMO_PASSWORD, demo_id_number
    from foundation.institutions import Institution
    from foundation.passwords import published_demo_password
    from foundation.roles import Role
    from foundation.settings import set_rule
    from itembank.models import Paper
    from web.extensions import db

    app = _app()
    with app.app_context():
        s = db.session
        t0 = time.monotonic()
        school = s.scalar(select(Institution).where(Institution.name == "吉林省汽车工业技师学院"))
        admin = s.scalar(select(User).where(User.username == "qc_admin"))
        centre = s.scalar(select(User).where(User.username == "centre"))
        paper = (bench_paper(s, n_items) if n_items else
                 s.scalar(select(Paper).where(Paper.name == "电工四级理论知识 演示卷")))
        set_rule(s, centre, "room_rules", {"late_entry_minutes": 15, "earliest_submit_minutes": 0,
                                           "grace_seconds": 120})
        batch = svc.create_batch(s, admin, institution_id=school.id, occupation_id=paper.blueprint.occupation_id,
                                 work_type_id=None, level=4, name=f"性能测试批次{int(time.time())}")
        sitting = svc.add_session(s, admin, batch.id, module="theory", starts_at=dt.datetime.now(dt.UTC),
                                  duration_minutes=minutes, paper_id=paper.id, place="性能测试机房")
        n_rooms = -(-count // room_size)
        rows = 5 if room_size == 30 else 1
        cols = room_size // rows
        rooms = [svc.add_room(s, admin, sitting.id, name=f"第{k + 1}考场", rows=rows, cols=cols)
                 for k in range(n_rooms)]
        ids = []
        for n in range(count):
            user = create_user(s, admin, role=Role.CANDIDATE, name=f"考生{n:05d}", id_number=demo_id_number(100 + n),
                               candidate_category=CandidateCategory.OWN_STAFF.value)
            ids.append(user.id)
        tickets = {e.candidate_id: e.ticket_no for e in svc.add_candidates(s, admin, batch.id, ids)}
        for k, room in enumerate(rooms):
            for j in range(2):
                with published_demo_password():  # the benchmark logs in with the published demo password
                    p = create_user(s, admin, role=Role.PROCTOR, name=f"监考{k}-{j}", username=f"bench_p{k}_{j}",
                                    password=DEMO_PASSWORD)
                svc.assign_staff(s, admin, batch.id, user_id=p.id, role="proctor", room_id=room.id)
        svc.seat_session(s, admin, sitting.id, seed=7)
        batch.status = BatchStatus.ACKNOWLEDGED.value  # the bench's own shortcut past filing
        s.flush()
        seats = []
        for room in rooms:
            for seat in room.seats:
                c = seat.candidate
                attempt = att.attempt_for_candidate(s, c, sitting.id)
                seats.append([tickets[c.id], c.id_number, attempt.id, room.id])
        s.commit()
        Path(out).write_text(json.dumps(seats))
        Path(out).with_name("proctors.json").write_text(json.dumps(
            {str(room.id): f"bench_p{k}_0" for k, room in enumerate(rooms)}))
        print(f"seeded {count} candidates in {n_rooms} rooms in {time.monotonic() - t0:.1f} s", flush=True)


def role_check(seats_file: str, ledger_file: str) -> None:
    """Lost answers: acked (attempt, position, seq) whose stored row is older or missing."""
    from sqlalchemy import select

    from examroom.models import Attempt, Response
    from web.extensions import db

    ledgers = {lg["attempt_id"]: lg for lg in json.loads(Path(ledger_file).read_text())["ledgers"]}
    app = _app()
    with app.app_context():
        stored: dict[int, dict[int, tuple[int, Any]]] = {}
        for r in db.session.scalars(select(Response).where(Response.attempt_id.in_(list(ledgers)))):
            stored.setdefault(r.attempt_id, {})[r.position] = (r.seq, json.loads(r.value_json))
        statuses: dict[str, int] = {}
        for a in db.session.scalars(select(Attempt).where(Attempt.id.in_(list(ledgers)))):
            statuses[a.status] = statuses.get(a.status, 0) + 1
    lost = acked = 0
    for aid, lg in ledgers.items():
        for pos, (seq, value) in lg["acked"].items():
            acked += 1
            row = stored.get(aid, {}).get(int(pos))
            if row is None or row[0] < seq or (row[0] == seq and row[1] != value):
                lost += 1
    print("CHECK " + json.dumps({"lost": lost, "acked_positions": acked, "statuses": statuses}), flush=True)


# ---------------------------------------------------------------- one run


def run_load(target: str, url: str, seats_file: Path, tmp: Path, args: argparse.Namespace, env: dict[str, str],
             server: subprocess.Popen[Any]) -> dict[str, Any]:
    out = tmp / f"load_{target}.json"
    load = subprocess.Popen([PY, "-m", "benchmarks.exam_load", "--seats", str(seats_file), "--url", url,
                             "--out", str(out), "--pace", args.pace, "--burst-before", str(args.burst_before),
                             *(["--burst-submit"] if args.burst_submit else []),
                             "--timeout", str(args.minutes * 60 + 300)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert load.stdout is not None
    ready = load.stdout.readline().split()
    print(f"  [{target}] ready: {' '.join(ready[1:])} (connected, seconds, failed)", flush=True)
    proctors = Proctors(url, {int(k): v for k, v in json.loads((tmp / "proctors.json").read_text()).items()},
                        PROCTOR_PASSWORD)
    try:
        print(f"  [{target}] {len(proctors.rooms)} proctors watching in {proctors.connect():.1f} s", flush=True)
        cpu_before, _ = proc_usage(server.pid)
        peak_conn = int(ready[1]) if len(ready) > 1 else 0
        opened_at = time.time()
        opened = proctors.open_all()
        print(f"  [{target}] rooms opened: {opened} (attempts, seconds to the last ack, median)", flush=True)
        load.wait()
    finally:
        proctors.close()
    cpu_after, rss = proc_usage(server.pid)
    data = json.loads(out.read_text())
    data.update({"opened_at": opened_at, "console_pushes": proctors.pushes, "server_cpu_s": cpu_after,
                 "server_cpu_run_s": cpu_after - cpu_before, "server_rss_mb": rss,
                 "ready": ready, "opened": opened, "peak_connected": peak_conn})
    return data


def _merged(counts: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    return dict(sorted(total.items(), key=lambda kv: -kv[1]))


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    by: dict[str, list[float]] = {}
    windows: dict[int, list[float]] = {}  # paced acks by the 10-second window they were sent in
    starts: dict[int, list[float]] = {}  # start acks by the 2-second window they were sent in
    t_open = data.get("opened_at") or 0.0
    for lg in data["ledgers"]:
        for phase, sec, sent_at in lg["latencies"]:
            by.setdefault(phase, []).append(sec * 1000)
            if phase == "paced" and t_open:
                windows.setdefault(int((sent_at - t_open) // 10), []).append(sec * 1000)
            if phase == "start" and t_open and sent_at >= t_open:
                starts.setdefault(int((sent_at - t_open) // 2), []).append(sec * 1000)
    paced, burst = by.get("paced", []), by.get("burst", [])
    start = by.get("start", [])
    return {
        "connected": data["peak_connected"],
        "n_paced": len(paced), "p50_paced": pct(paced, 0.5), "p99_paced": pct(paced, 0.99),
        "max_paced": max(paced, default=float("nan")),
        "n_start": len(start), "p50_start": pct(start, 0.5), "p99_start": pct(start, 0.99),
        "max_start": max(start, default=float("nan")),
        "n_burst": len(burst), "p50_burst": pct(burst, 0.5), "p99_burst": pct(burst, 0.99),
        "max_burst": max(burst, default=float("nan")),
        "over_5s": sum(1 for v in paced + burst if v > 5000),
        "start_over_5s": sum(1 for v in start if v > 5000),
        "timeouts": sum(lg["timeouts"] for lg in data["ledgers"]),
        "errors": sum(1 for lg in data["ledgers"] if lg["error"]),
        "journal_left": sum(lg["journal_left"] for lg in data["ledgers"]),
        "refused": sum(sum(lg["refused"].values()) for lg in data["ledgers"]),
        "refused_by": _merged(lg["refused"] for lg in data["ledgers"]),
        "timeouts_by": _merged(lg.get("timeout_phases", {}) for lg in data["ledgers"]),
        "errors_by": _merged({lg["error"][:60]: 1}
                             for lg in data["ledgers"] if lg["error"]),
        "paced_windows": {f"{10 * k}–{10 * k + 10} s": (len(v), round(pct(v, 0.99)))
                          for k, v in sorted(windows.items())},
        "start_windows": {f"{2 * k}–{2 * k + 2} s": (len(v), round(pct(v, 0.5)), round(max(v)))
                          for k, v in sorted(starts.items())},
        "console_pushes": data.get("console_pushes", 0),
        "server_cpu_s": data["server_cpu_s"], "server_rss_mb": data["server_rss_mb"],
        "load_cpu_s": data["cpu_s"], "wall_s": data["wall_s"], "opened": data["opened"],
    }


def start_server(cmd: list[str], env: dict[str, str], url: str, log: Path) -> subprocess.Popen[Any]:
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=fh, start_new_session=True)
    wait_http(url, proc)
    return proc


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description="Exam-room capacity benchmark (see module docstring).")
    parser.add_argument("--count", type=int, default=3000, help="candidates (rooms of 30)")
    parser.add_argument("--minutes", type=int, default=3, help="sitting length: paced phase until the time-up")
    parser.add_argument("--items", type=int, default=100,
                        help="items on the paper (a bench paper of that size; 0: the 6-item demo paper)")
    parser.add_argument("--pace", default="10-30", help="seconds between a candidate's answers")
    parser.add_argument("--burst-before", type=float, default=4.0, help="time-up burst: seconds before deadline")
    parser.add_argument("--burst-submit", action="store_true",
                        help="everyone submits after the last answer (default: the time-up job closes the papers)")
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="database URL (default: a fresh SQLite file); a PostgreSQL database is re-created")
    parser.add_argument("--queue", default="redis://127.0.0.1:6379/0", help="Socket.IO message queue for pushes")
    parser.add_argument("--workers", type=int, default=1,
                        help="serving processes of the platform (web.serve --workers; PostgreSQL only when > 1)")
    parser.add_argument("--skip-echo", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/bench_exam.md")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_exam_"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db_url = fresh_db(args.db, tmp)
    channel = f"bench-exam-{port}"
    env = {**os.environ, "DATABASE_URL": db_url, "FLASK_SECRET_KEY": "bench-exam", "PYTHONUNBUFFERED": "1",
           "FLASK_SESSION_COOKIE_SECURE": "false", "FLASK_REMEMBER_COOKIE_SECURE": "false",
           # 3,000 logins from one loopback address: the per-address login limit would refuse them.
           "FLASK_RATELIMIT_ENABLED": "false",
           "FLASK_SOCKETIO_MESSAGE_QUEUE": args.queue, "FLASK_SOCKETIO_CHANNEL": channel,
           "FLASK_EXAM_TIMEUP_INTERVAL": "5",
           "ACCESS_LOG": "0"}  # as in the runs before the access log existed
    print(f"bench-exam: {args.count} candidates, sitting {args.minutes} min, pace {args.pace} s, "
          f"db {db_url.split('@')[-1]}, tmp {tmp}", flush=True)
    t0 = time.monotonic()
    flask(env, "db", "upgrade")
    flask(env, "seed", "reference")
    flask(env, "seed", "demo")
    seats_file = tmp / "seats.json"
    subprocess.run([PY, "-m", "benchmarks.bench_exam", "--role", "seed", str(args.count), str(args.minutes),
                    str(seats_file), str(args.items)], cwd=ROOT, env=env, check=True)
    print(f"  setup {time.monotonic() - t0:.0f} s", flush=True)

    results: dict[str, dict[str, Any]] = {}
    # 1. the platform
    server = start_server([PY, "-m", "web.serve", "--port", str(port), "--workers", str(args.workers)], env,
                          url + "/healthz", tmp / "server.log")

    try:
        data = run_load("platform", url, seats_file, tmp, args, env, server)
    finally:
        stop(server)
    (tmp / "load_platform.json").write_text(json.dumps(data))
    check = subprocess.run([PY, "-m", "benchmarks.bench_exam", "--role", "check", str(seats_file),
                            str(tmp / "load_platform.json")], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True)
    checked = json.loads(check.stdout.strip().splitlines()[-1].split(" ", 1)[1])
    results["platform"] = {**summarise(data), **checked}

    # 2. the bare echo server, same clients
    if not args.skip_echo:
        eport = free_port()
        eurl = f"http://127.0.0.1:{eport}"
        echo = start_server([PY, "-m", "benchmarks.exam_echo_server", "--port", str(eport), "--duration",
                             str(args.minutes * 60), "--seats", str(seats_file), "--items", str(args.items or 6)],
                            env, eurl + "/", tmp / "echo.log")

        try:
            edata = run_load("echo", eurl, seats_file, tmp, args, env, echo)
        finally:
            stop(echo)
        results["echo"] = {**summarise(edata), "lost": "–", "statuses": {}}

    report = render(args, db_url, results)
    print(report)
    if not args.no_write:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(report)
    if os.environ.get("BENCH_KEEP_TMP") != "1":
        shutil.rmtree(tmp, ignore_errors=True)


def server_shape(workers: int) -> str:
    if workers == 1:
        return "one gevent process"
    return f"{workers} gevent processes on one port (SO_REUSEPORT; CPU and RSS summed)"


def render(args: argparse.Namespace, db_url: str, results: dict[str, dict[str, Any]]) -> str:
    from importlib.metadata import version

    db = "SQLite file" if db_url.startswith("sqlite") else "PostgreSQL " + db_url.split("@")[-1]
    lines = [
        "# Exam rooms (`make bench-exam`)",
        "",
        f"- Command: `.venv/bin/python -m benchmarks.bench_exam --count {args.count} --minutes {args.minutes} "
        f"--pace {args.pace} --burst-before {args.burst_before:g} --items {args.items}"
        + (" --burst-submit" if args.burst_submit else "")
        + (f" --workers {args.workers}" if args.workers > 1 else "") + "`" + (f" `--db {db}`" if args.db else ""),
        f"- Date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}; Python {platform_mod.python_version()}, "
        f"python-socketio {version('python-socketio')}, gevent {version('gevent')}, psycopg {version('psycopg')}, "
        f"{os.cpu_count()} CPUs; "
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Server: `python -m web.serve` ({server_shape(args.workers)}, pywsgi + gevent-websocket, "
        "the time-up job every 5 s, "
        f"pushes through Redis); database: {db}. Baseline: `benchmarks/exam_echo_server.py` (python-socketio on "
        "the same gevent stack, acks from memory). Load: one gevent process of python-socketio clients "
        "(websocket transport), on the same 2-CPU machine.",
        "",
        "| | platform | echo | platform ÷ echo |",
        "|---|---:|---:|---:|",
    ]
    p, e = results["platform"], results.get("echo", {})

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.1f}"
        return f"{v:,}" if isinstance(v, int) else str(v)

    def ratio(k: str) -> str:
        a, b = p.get(k), e.get(k)
        if isinstance(a, int | float) and isinstance(b, int | float) and b:
            return f"{a / b:.1f}×"
        return "–"

    rows = [
        ("candidates connected", "connected"), ("paced answers acked", "n_paced"),
        ("ack p50 paced (ms)", "p50_paced"), ("ack p99 paced (ms)", "p99_paced"), ("ack max paced (ms)", "max_paced"),
        ("start acks (synchronised start)", "n_start"), ("start ack p50 (ms)", "p50_start"),
        ("start ack p99 (ms)", "p99_start"), ("start ack max (ms)", "max_start"),
        ("time-up burst acks (last answer, then submit or final state)", "n_burst"),
        ("burst ack p50 (ms)", "p50_burst"),
        ("burst ack p99 (ms)", "p99_burst"), ("burst ack max (ms)", "max_burst"),
        ("answer and burst acks later than 5 s", "over_5s"), ("start acks later than 5 s", "start_over_5s"),
        ("acks never received (timeouts)", "timeouts"),
        ("journal entries left unacked", "journal_left"), ("lost answers (acked, not stored)", "lost"),
        ("refused answers", "refused"), ("client errors", "errors"),
        ("server CPU s (whole run)", "server_cpu_s"), ("server peak RSS MB", "server_rss_mb"),
        ("load generator CPU s", "load_cpu_s"), ("load wall s", "wall_s"),
    ]
    for label, key in rows:
        lines.append(f"| {label} | {cell(p.get(key, '–'))} | {cell(e.get(key, '–'))} | {ratio(key)} |")
    lines += ["", f"Attempt statuses after the run (platform): {p.get('statuses')}; rooms opened "
                  f"(attempts, seconds to the last proctor's ack, median): platform "
                  f"`{p.get('opened', '')}`, echo `{e.get('opened', '')}`; console messages received by the "
                  f"proctors: platform {p.get('console_pushes', 0):,}, echo {e.get('console_pushes', 0):,}; "
                  f"refused answers by code: {p.get('refused_by')}; "
                  f"client errors: {p.get('errors_by')}; acks never received by phase:event: {p.get('timeouts_by')}",
              "",
              "Paced acks by when they were sent (seconds after the rooms were opened: count, p99 ms): "
              + "; ".join(f"{k} {n}, {v:,}" for k, (n, v) in p.get("paced_windows", {}).items()), "",
              "Start acks by when they were sent (seconds after the proctors sent 开考: count, p50 ms, max ms), "
              "platform: " + "; ".join(f"{k} {n}, {a:,}, {b:,}" for k, (n, a, b) in p.get("start_windows", {}).items())
              + "; echo: " + "; ".join(f"{k} {n}, {a:,}, {b:,}" for k, (n, a, b) in e.get("start_windows", {}).items()),
              ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--role":
        role, rest = sys.argv[2], sys.argv[3:]
        if role == "seed":
            role_seed(int(rest[0]), 30, int(rest[1]), rest[2], int(rest[3]) if len(rest) > 3 else 0)
        elif role == "check":
            role_check(rest[0], rest[1])
        else:
            raise SystemExit(f"unknown role {role}")
    else:
        main()
