"""Certificates (issue 14): issuing with PDFs, and the public verify page under load.

``make bench-certificates`` (``python -m benchmarks.bench_certificates``). Two parts:

1. **Issue 1,000 certificates with PDFs.** A fresh database (SQLite file by default,
   ``--db postgresql://…`` re-creates that database) with a filed institution, its scope and an
   acknowledged batch of ``--count`` candidates, each with a 1-inch photo stored through
   :mod:`foundation.photos`. Timed: ``issue_certificates`` for the whole batch (one transaction:
   eligibility, one serial allocation, the rows, the audit entry), then for every certificate the
   signed statement and its A4 PDF (photo, vector QR code, WenQuanYi Zen Hei embedded) exactly as
   the download route builds it. Baseline, in the same run and interleaved in blocks of 50 so
   both see the same machine load: a one-line reportlab page with the same embedded font.
   Reported: seconds per certificate (issue share + PDF) and the ratio to the baseline (target ≤ 3).
2. **/verify under 100 concurrent clients.** ``python -m web.serve`` (one gevent process, what
   ``make run`` serves) on that database; :mod:`benchmarks.verify_load` (a separate gevent process)
   runs 100 keep-alive clients, each asking ``/verify?number=…&name=…`` for a random issued
   certificate (one in ten with a wrong name), pausing 0.5–1.5 s between requests (about 100
   requests a second: people, not a flood), then the same with no pause (the saturated case,
   which measures throughput; its latency is the queue). Baseline: ``/healthz`` with the same
   clients. The rate limit stays on, raised for the run (every client is 127.0.0.1). Target:
   p99 < 50 ms in the paced run. ``--workers 2`` serves with two processes (``web.serve
   --workers``: PostgreSQL, ``--db``, and a Socket.IO queue, Redis, are then required).
"""

# ruff: noqa: S603, S310  (starts this project's own commands; HTTP only to the loopback server it started)
from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "certificates.md"
PY = sys.executable
TARGET_RATIO = 3.0
TARGET_P99_MS = 50.0


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


def _photos(k: int) -> list[bytes]:
    from PIL import Image, ImageDraw

    out = []
    for i in range(k):
        img = Image.new("RGB", (295, 413), (200 + i, 215, 235))
        draw = ImageDraw.Draw(img)
        draw.ellipse((80, 50, 215, 215), fill=(235, 200 - i, 170))
        draw.rectangle((45, 255, 250, 413), fill=(30 + 10 * i, 50, 110))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def seed(app: Any, count: int) -> dict[str, Any]:
    """A filed institution with scope, its admin, an acknowledged level-3 batch of ``count``
    candidates with photos (ten distinct pictures), each with a confirmed 合格 decision,
    publicised and approved by the centre."""
    from examroom.models import Batch, BatchCandidate
    from foundation.accounts import User
    from foundation.calendar import seed_calendar
    from foundation.idcard import check_digit
    from foundation.institutions import Institution, ScopeEntry
    from foundation.occupations import Occupation, WorkType
    from foundation.people import Person
    from foundation.photos import PhotoStore, check_photo
    from grading.publicity.services import publicise_and_approve
    from grading.results.models import LevelDecision
    from web.extensions import db

    s = db.session
    occupation = Occupation(code="6-31-01-03", name="电工", lowest_level=5, highest_level=1)
    occupation.work_types = [WorkType(name="低压电工")]
    inst = Institution(name="吉林省基准测试评价机构", kind="school", tier="technician_college", status="filed",
                       code="S000022990001", serial="990001")
    s.add_all([occupation, inst])
    s.flush()
    s.add(ScopeEntry(institution_id=inst.id, occupation_id=occupation.id, lowest_level=5, highest_level=1))
    admin = User(username="bench_admin", password_hash="x",  # noqa: S106 - never logs in
                 name="基准管理员", role="institution_admin", institution_id=inst.id)
    batch = Batch(institution_id=inst.id, occupation_id=occupation.id, work_type_id=occupation.work_types[0].id,
                  level=3, name="2026年电工三级认定（基准）", status="acknowledged",
                  filed_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
    s.add_all([admin, batch])
    s.flush()
    store = PhotoStore(app.config["PHOTO_DIR"])
    shas = []
    for data in _photos(10):
        photo = check_photo(data)
        store.save(photo)
        shas.append(photo.sha256)
    surnames, given = "王李张刘陈杨赵黄周吴", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    people = []
    for k in range(count):
        first17 = f"220102{dt.date(1970, 1, 1) + dt.timedelta(days=k * 7):%Y%m%d}{k % 1000:03d}"
        number = first17 + check_digit(first17)
        name = surnames[k % 10] + given[(k // 10) % 20] + given[(k // 200) % 20]
        person = Person(id_type="resident_id", id_number=number, name=name, photo_sha256=shas[k % 10],
                        photo_updated_at=dt.datetime.now(dt.UTC))
        user = User(name=name, role="candidate", institution_id=inst.id, id_number=number, person=person)
        s.add_all([person, user])
        people.append((person, user))
    s.flush()
    registrations = [BatchCandidate(batch_id=batch.id, candidate_id=user.id, person_id=person.id, category="other",
                                    ticket_no=f"B{k:08d}") for k, (person, user) in enumerate(people)]
    s.add_all(registrations)
    s.flush()
    # Issuance needs each registration's confirmed 合格 decision (the decisions service's rows).
    confirmed_at = dt.datetime(2026, 11, 2, 2, tzinfo=dt.UTC)
    s.add_all([LevelDecision(
        registration_id=reg.id, batch_id=batch.id, person_id=reg.person_id, version=1, state="confirmed",
        outcome="qualified", level=3, decided_on=dt.date(2026, 11, 2), qualified_on=dt.date(2026, 10, 20),
        resit_until=None, reasons=[], inputs_json="{}", fingerprint="0" * 64, decided_by_name=admin.name,
        confirmed_by_id=admin.id, confirmed_by_name=admin.name, confirmed_at=confirmed_at) for reg in registrations])
    # … and a publicity that ended clean plus the centre's approval (one path, as the tests take).
    seed_calendar(s)
    centre = User(username="bench_centre", password_hash="x", name="基准中心", role="centre_admin")  # noqa: S106
    s.add(centre)
    s.flush()
    publicise_and_approve(s, admin, centre, batch.id)
    s.commit()
    return {"admin_id": admin.id, "batch_id": batch.id}


def one_line_page() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    from web.pdf import cjk_font

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1)
    c.setFont(cjk_font(), 12)
    c.drawString(72, 770, "职业技能等级证书 S000022990001263000001")
    c.showPage()
    c.save()
    return buf.getvalue()


def issue_part(app: Any, world: dict[str, Any], block: int = 50) -> dict[str, Any]:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from foundation.accounts import User
    from foundation.db import immediate_transactions
    from grading.certificates.issuance import issue_certificates
    from grading.certificates.models import Certificate
    from grading.certificates.signing import sign_statement, statement_fields
    from web.certificates import lookup_lines, signing_key, verify_link
    from web.certificates.pdf import certificate_pdf
    from web.extensions import db
    from web.gctune import GC_THRESHOLDS
    from web.photos import photo_paths_of

    s = db.session
    s.commit()
    t0 = time.perf_counter()
    with immediate_transactions(s):
        certs = issue_certificates(s, s.get_one(User, world["admin_id"]), world["batch_id"], None,
                                   today=dt.date(2026, 12, 1))
        ids = [c.id for c in certs]
        s.commit()
    issue_seconds = time.perf_counter() - t0
    signing_key()
    one_line_page()  # font registered, caches warm, for both sides
    # The collector as the serving process sets it (web.gctune.tune_gc): what was made so far
    # frozen out of collection, the young thresholds raised. Both sides run under it.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    base_times, cert_times, sizes, fonts_ok = [], [], [], True
    with app.test_request_context("/", base_url="https://skills.example.cn"):
        lookup = lookup_lines()
        for start in range(0, len(ids), block):
            for _ in range(block):
                t = time.perf_counter()
                one_line_page()
                base_times.append(time.perf_counter() - t)
            t = time.perf_counter()  # the block's rows and photo paths, read in bulk: counted too
            chunk = s.scalars(select(Certificate).where(Certificate.id.in_(ids[start:start + block]))
                              .options(selectinload(Certificate.versions))).all()
            paths = photo_paths_of([c.person_id for c in chunk])
            share = (time.perf_counter() - t) / len(chunk)
            for cert in chunk:
                t = time.perf_counter()
                token = sign_statement(signing_key(), statement_fields(cert.number, cert.current))
                pdf = certificate_pdf(cert, photo=paths.get(cert.person_id), qr_payload=verify_link(token),
                                      lookup=lookup)
                cert_times.append(time.perf_counter() - t + share)
                sizes.append(len(pdf))
            fonts_ok = fonts_ok and b"/FontFile2" in pdf
            s.expire_all()
    n = len(ids)
    per_cert = issue_seconds / n + statistics.mean(cert_times)
    base = statistics.mean(base_times)
    return {
        "count": n, "issue_seconds": issue_seconds, "pdf_mean": statistics.mean(cert_times),
        "pdf_median": statistics.median(cert_times), "per_cert": per_cert, "baseline_mean": base,
        "baseline_median": statistics.median(base_times), "ratio": per_cert / base,
        "ratio_median": (issue_seconds / n + statistics.median(cert_times)) / statistics.median(base_times),
        "pdf_bytes": statistics.mean(sizes), "font_embedded": fonts_ok,
    }


def wait_http(url: str, proc: subprocess.Popen[Any], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not answer in time")


def load(url: str, targets: Path, *, clients: int, seconds: float, think: str, path: str) -> dict[str, Any]:
    out = subprocess.run([PY, "-m", "benchmarks.verify_load", "--url", url, "--targets", str(targets),
                          "--clients", str(clients), "--seconds", str(seconds), "--think", think, "--path", path],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def verify_part(env: dict[str, str], tmp: Path, world_targets: list[dict[str, str]], args: Any) -> dict[str, Any]:
    targets = tmp / "targets.json"
    targets.write_text(json.dumps(world_targets, ensure_ascii=False))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen([PY, "-m", "web.serve", "--port", str(port), "--workers", str(args.workers)], cwd=ROOT,
                              env=env, stdout=log,
                              stderr=log, start_new_session=True)
    try:
        wait_http(url + "/healthz", server)
        load(url, targets, clients=10, seconds=3, think="0", path="verify")  # warm up
        results = {
            "paced": load(url, targets, clients=args.clients, seconds=args.seconds, think="0.5-1.5", path="verify"),
            "paced_healthz": load(url, targets, clients=args.clients, seconds=args.seconds, think="0.5-1.5",
                                  path="healthz"),
            "saturated": load(url, targets, clients=args.clients, seconds=args.seconds / 2, think="0",
                              path="verify"),
        }
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    return results


def report(issue: dict[str, Any], verify: dict[str, Any], args: Any, db_kind: str) -> str:
    p, h, sat = verify["paced"], verify["paced_healthz"], verify["saturated"]
    lines = [
        "# Certificates benchmark (`make bench-certificates`)", "",
        f"- Date: {dt.date.today()}; machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end; Python {platform.python_version()}; database: {db_kind}",
        f"- Command: `python -m benchmarks.bench_certificates --count {args.count} --clients {args.clients} "
        f"--seconds {args.seconds:g}"
        f"{f' --db postgresql://… --workers {args.workers}' if args.workers > 1 else ''}`; "
        f"`web.serve` processes: {args.workers}; rate-limit storage of the server: `{args.limiter}`"
        f"{' (each process counts its own)' if args.workers > 1 and not args.limiter.startswith('redis') else ''}", "",
        "## Issue with PDFs", "",
        "| what | value |", "|---|---|",
        f"| certificates issued (one `issue_certificates` call) | {issue['count']} in {issue['issue_seconds']:.2f} s |",
        f"| PDF per certificate (statement + A4 PDF with photo, QR, CJK), mean / median | "
        f"{issue['pdf_mean'] * 1000:.1f} / {issue['pdf_median'] * 1000:.1f} ms |",
        f"| **seconds per certificate** (issue share + PDF, mean) | **{issue['per_cert']:.4f} s** |",
        f"| baseline: one-line page, same embedded font, mean / median | {issue['baseline_mean'] * 1000:.1f} / "
        f"{issue['baseline_median'] * 1000:.1f} ms |",
        f"| **ratio** (target ≤ {TARGET_RATIO:g}) | **{issue['ratio']:.2f}×** "
        f"(medians: {issue['ratio_median']:.2f}×) |",
        f"| mean PDF size; WenQuanYi Zen Hei embedded (FontFile2) | {issue['pdf_bytes'] / 1024:.0f} KB; "
        f"{'yes' if issue['font_embedded'] else 'NO'} |", "",
        f"## /verify, {args.clients} concurrent clients", "",
        "| run | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |", "|---|---|---|---|---|---|---|---|",
    ]
    for label, r in (("**/verify, paced 0.5–1.5 s**", p), ("/healthz, paced (baseline)", h),
                     ("/verify, no pause (saturated)", sat)):
        lines.append(f"| {label} | {r['count']} | {r['rate']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
                     f"{r['p99']:.1f} | {r['max']:.1f} | {r['errors']} |")
    lines += ["", f"Target p99 < {TARGET_P99_MS:g} ms (paced): {'met' if p['p99'] < TARGET_P99_MS else 'NOT met'}; "
              f"ratio to /healthz p99: {p['p99'] / max(h['p99'], 0.001):.1f}×. Issue ratio target ≤ {TARGET_RATIO:g}: "
              f"{'met' if issue['ratio'] <= TARGET_RATIO else 'NOT met'}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Certificates benchmark (see module docstring).")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--limiter", default=os.environ.get("BENCH_LIMITER_STORAGE", "sweptmemory://"),
                        help="Flask-Limiter storage of the server (sweptmemory://, the app default; "
                             "redis://… when several processes share the counts)")
    parser.add_argument("--workers", type=int, default=1,
                        help="web.serve processes (more than one needs --db postgresql://… and a Socket.IO queue: "
                             "--socketio-queue)")
    parser.add_argument("--socketio-queue", default=os.environ.get("BENCH_SOCKETIO_QUEUE", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-certs-"))
    try:
        db_url = fresh_db(args.db, tmp)
        env = {**os.environ, "DATABASE_URL": db_url, "FLASK_SECRET_KEY": "bench-certificates", "PYTHONUNBUFFERED": "1",
               "FLASK_PHOTO_DIR": str(tmp / "photos"), "FLASK_CERTIFICATE_KEY_DIR": str(tmp / "keys"),
               "FLASK_VERIFY_RATE_LIMIT": "1000000 per minute", "FLASK_RATELIMIT_STORAGE_URI": args.limiter,
               "FLASK_EXAM_TIMEUP_INTERVAL": "0",
               "FLASK_EXAM_HEARTBEAT_INTERVAL": "0", "JOBS_EMBEDDED": "0", "ACCESS_LOG": "0"}
        if args.workers > 1:  # web.serve's requirements for several processes
            env.update({"FLASK_SOCKETIO_MESSAGE_QUEUE": args.socketio_queue,
                        "FLASK_SOCKETIO_CHANNEL": f"bench-certificates-{os.getpid()}"})
        subprocess.run([PY, "-m", "flask", "--app", "web", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        os.environ.update(env)
        from web import create_app
        from web.extensions import db

        app = create_app({"PHOTO_DIR": str(tmp / "photos"), "CERTIFICATE_KEY_DIR": str(tmp / "keys")})
        with app.app_context():
            t = time.perf_counter()
            world = seed(app, args.count)
            print(f"seeded {args.count} candidates in {time.perf_counter() - t:.1f} s", flush=True)
            issue = issue_part(app, world)
            print(json.dumps(issue), flush=True)
            from sqlalchemy import select

            from grading.certificates.models import Certificate, CertificateVersion

            rows = db.session.execute(select(Certificate.number, CertificateVersion.name).join(
                CertificateVersion, CertificateVersion.certificate_id == Certificate.id)).all()
            db.session.commit()
            db.engine.dispose()
        verify = verify_part(env, tmp, [{"number": n, "name": name} for n, name in rows], args)
        text = report(issue, verify, args, "PostgreSQL" if db_url.startswith("postgres") else "SQLite (WAL)")
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")
        print(text)
    finally:
        if not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
