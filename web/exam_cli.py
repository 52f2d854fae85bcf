"""``flask exam …``: the live exam demo.

* ``flask exam demo-reset``: move the demo sitting to start now and clear its attempts.
* ``flask exam simulate --room demo``: simulated candidates (real Socket.IO clients, see
  :mod:`web.exam_sim`) take the exam in a room of a running server, so a proctor watching the
  console sees the seat map fill. The demo candidate a visitor uses is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import threading
import time

import click
from flask.cli import AppGroup
from sqlalchemy import select

from web.extensions import db

exam_cli = AppGroup("exam", help="在线考试：演示考场、模拟考生")


@exam_cli.command("demo-reset")
def demo_reset_cmd() -> None:
    """Move the demo sitting to start now and delete its attempts (demo room only)."""
    from examroom.demo import reset_demo_session

    try:
        lines = reset_demo_session(db.session, dt.datetime.now(dt.UTC))
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    for line in lines:
        click.echo(line)


def _pace(value: str) -> tuple[float, float]:
    try:
        low, _, high = value.partition("-")
        lo, hi = float(low), float(high or low)
    except ValueError:
        raise click.BadParameter("节奏应写成“最短-最长”秒数，例如 10-30。") from None
    if lo < 0 or hi < lo:
        raise click.BadParameter("节奏应写成“最短-最长”秒数，例如 10-30。")
    return lo, hi


def room_seats(room_arg: str, count: int | None) -> tuple[str, list]:
    """The room and the simulated seats (every seated candidate but the visitor's), with
    their attempts created (as opening the room would) so each client knows its attempt id."""
    from examroom import attempts as svc
    from examroom.demo import DEMO_HUMAN_TICKET, demo_room
    from examroom.models import Room, Seat
    from examroom.registration import tickets_for_rooms
    from web.exam_sim import SimSeat

    if room_arg == "demo":
        found = demo_room(db.session)
        if found is None:
            raise click.ClickException("没有找到演示考场：请先运行 `flask --app web seed demo`。")
        room = found.room
    else:
        try:
            room = db.session.get(Room, int(room_arg))
        except ValueError:
            raise click.BadParameter("请填写考场编号或 demo。") from None
        if room is None:
            raise click.ClickException(f"考场 {room_arg} 不存在。")
    seats = db.session.scalars(select(Seat).where(Seat.room_id == room.id, Seat.candidate_id.is_not(None))
                               .order_by(Seat.row, Seat.col)).all()
    tickets = tickets_for_rooms(db.session, [room.id])
    sim: list[SimSeat] = []
    for seat in seats:
        candidate = seat.candidate
        ticket = tickets.get((room.id, seat.candidate_id or 0), "")
        if candidate is None or not ticket or ticket == DEMO_HUMAN_TICKET:
            continue
        attempt = svc.attempt_for_candidate(db.session, candidate, room.exam_session_id)
        sim.append(SimSeat(ticket, candidate.id_number, attempt.id,
                           label=f"{seat.row}-{seat.col} {candidate.name}"))
        if count is not None and len(sim) >= count:
            break
    label = f"「{room.name}」（编号 {room.id}）"
    db.session.commit()
    return label, sim


@exam_cli.command("simulate")
@click.option("--room", "room_arg", default="demo", show_default=True, help="考场编号，或 demo（演示考场）")
@click.option("--pace", default="10-30", show_default=True, help="每次作答的间隔秒数范围")
@click.option("--count", type=int, default=None, help="模拟考生人数上限（默认：除访客外的全部考生）")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="正在运行的平台地址")
@click.option("--changes", type=int, default=None, help="每人交卷前的作答次数（默认：每题一次再修改两次）")
@click.option("--seed", type=int, default=None, help="随机种子（可复现的作答）")
@click.option("--quiet", is_flag=True, help="只显示汇总")
def simulate_cmd(room_arg: str, pace: str, count: int | None, url: str, changes: int | None, seed: int | None,
                 quiet: bool) -> None:
    """Simulated candidates take the exam in a room of a running server (real Socket.IO clients)."""
    from web.exam_sim import SimCandidate

    lo_hi = _pace(pace)
    room_label, seats = room_seats(room_arg, count)
    db.session.remove()  # the clients talk to the server only
    if not seats:
        raise click.ClickException("该考场没有可模拟的考生。")
    rng = random.Random(seed)  # noqa: S311  (simulated answers)
    out_lock = threading.Lock()
    started = time.monotonic()

    def log(message: str) -> None:
        if quiet:
            return
        with out_lock:
            click.echo(f"{time.monotonic() - started:7.1f}s  {message}")
            sys.stdout.flush()

    stop = threading.Event()
    cands = [SimCandidate(url, seat, pace=lo_hi, changes=changes, rng=random.Random(rng.random()), log=log,  # noqa: S311
                          stop=stop) for seat in seats]
    click.echo(f"{len(cands)} 名模拟考生进入{room_label}，服务器 {url}，"
               f"作答间隔 {lo_hi[0]:g}–{lo_hi[1]:g} 秒。等待监考员开考……（Ctrl-C 结束）")
    threads = [threading.Thread(target=c.run, daemon=True) for c in cands]
    for thread in threads:
        thread.start()
        time.sleep(0.05)  # a room does not log in within one millisecond
    try:
        while any(t.is_alive() for t in threads):
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("正在停止模拟考生……")
        stop.set()
        for thread in threads:
            thread.join(5)
    for cand in cands:
        cand.close()
    acked = sum(len(c.ledger.acked) for c in cands)
    statuses: dict[str, int] = {}
    for cand in cands:
        statuses[cand.status] = statuses.get(cand.status, 0) + 1
    errors = [c for c in cands if c.error]
    click.echo(f"模拟结束：{len(cands)} 名考生，已保存的题目 {acked} 个，状态 "
               + "，".join(f"{k} {v}" for k, v in sorted(statuses.items()))
               + (f"；{len(errors)} 人出错（例如：{errors[0].error}）" if errors else ""))
    if errors:
        sys.exit(1)
