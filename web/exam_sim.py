"""Simulated candidates (模拟考生): real Socket.IO clients that take an exam like a browser.

Used by ``flask exam simulate`` (the live demo), the durability tests and ``make bench-exam``.
Each :class:`SimCandidate` follows ``docs/protocol.md`` exactly as the exam page does:

1. logs in over HTTP like a browser (GET ``/login`` for the CSRF token, POST
   ``/login/candidate`` with ``ticket_no`` and ``id_number``) and keeps the session cookie;
2. connects to ``/exam`` with auth ``{"attempt_id", "device_id"}`` (websocket transport);
3. on every (re)connect sends ``replay`` with its journal (or ``state`` when it is empty) and
   continues from the returned state;
4. ``arrive``; waits for the room to open (the ``status`` push, asking for the ``state``
   every ``wait_poll`` seconds meanwhile), reads the state, ``start``; answers at its pace
   with an ``(attempt, seq)`` journal: an entry is written
   before it is sent and deleted only on an ok ack or a final refusal; unacked entries are
   replayed; occasionally reports a focus loss; submits at the end.

Everything is thread-based python-socketio (``socketio.Client``); under gevent monkey
patching (the benchmark's load generator) the threads are greenlets. Nothing here touches
the database: the seats (ticket, ID number, attempt id) are given by the caller.
"""

# ruff: noqa: S311  (simulated answers, not cryptography)
from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Ledger", "SimCandidate", "SimSeat", "login", "run_candidates"]

NAMESPACE = "/exam"
#: Refusals after which the journal entry is kept and replayed later (docs/protocol.md §3).
TEMPORARY = frozenset({"paused", "not_started", "rate_limited", "server_error", "superseded"})
FINAL_STATUSES = frozenset({"submitted", "expired", "terminated"})
MAX_REPLAY = 200
#: websocket-client checks every received text frame's UTF-8 in pure Python: 24 ms of CPU for
#: one 100-item paper, which made the simulator, not the server, the bottleneck. The server's
#: frames are its own JSON; browsers check UTF-8 natively.
FAST_WEBSOCKET = {"skip_utf8_validation": True}
#: Seconds without an ack after which an answering page asks for the state (exam_client.js).
IDLE_SYNC = 60.0
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass(frozen=True)
class SimSeat:
    """Who a simulated candidate is: the login and their attempt."""

    ticket_no: str
    id_number: str
    attempt_id: int
    label: str = ""


@dataclass
class Ledger:
    """What one candidate saw: ack latencies by phase, answers acked, refusals, timeouts."""

    latencies: list[tuple[str, float, float]] = field(default_factory=list)  # (phase, seconds, sent at: epoch s)
    acked: dict[int, tuple[int, Any]] = field(default_factory=dict)  # position -> (highest acked seq, value)
    sent: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    timeout_phases: dict[str, int] = field(default_factory=dict)  # "phase:event" -> count
    reconnects: int = 0
    focus_losses: int = 0

    def ack(self, entry: dict[str, Any]) -> None:
        pos, seq = entry["position"], entry["seq"]
        if pos not in self.acked or self.acked[pos][0] < seq:
            self.acked[pos] = (seq, entry["value"])

    def refuse(self, code: str) -> None:
        self.refused[code] = self.refused.get(code, 0) + 1


def login(base_url: str, ticket_no: str, id_number: str, timeout: float = 15) -> Any:
    """An HTTP session logged in as the candidate, exactly as the login form does it."""
    return _form_login(base_url, "/login?tab=candidate", "/login/candidate",
                       {"ticket_no": ticket_no, "id_number": id_number}, f"考生 {ticket_no}", timeout)


def staff_login(base_url: str, username: str, password: str, timeout: float = 15) -> Any:
    """An HTTP session logged in as a member of staff (a proctor), as the login form does it."""
    return _form_login(base_url, "/login", "/login", {"username": username, "password": password},
                       f"用户 {username}", timeout)


def _form_login(base_url: str, page_path: str, post_path: str, fields: dict[str, str], who: str,
                timeout: float) -> Any:
    import requests

    http = requests.Session()
    page = http.get(base_url + page_path, timeout=timeout)
    page.raise_for_status()
    match = _CSRF.search(page.text)
    if match is None:
        raise RuntimeError("登录页没有 CSRF 令牌")
    resp = http.post(base_url + post_path, timeout=timeout, data={**fields, "csrf_token": match.group(1)})
    if resp.status_code != 200 or "/login" in resp.url:
        raise RuntimeError(f"{who} 登录失败（HTTP {resp.status_code}）")
    return http


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def value_for(item: dict[str, Any], rng: random.Random) -> Any:
    """A plausible answer for one item of a state (by its public fields)."""
    kind = item.get("type")
    if kind == "single_choice":
        return rng.choice([o["label"] for o in item["options"]])
    if kind == "multiple_choice":
        labels = [o["label"] for o in item["options"]]
        return sorted(rng.sample(labels, rng.randint(1, len(labels))))
    if kind == "true_false":
        return rng.choice(item.get("choices") or ["√", "×"])
    if kind == "fill_in":
        return [f"答案{rng.randint(1, 9)}" for _ in range(int(item.get("blank_count", 1)))]
    return f"模拟作答 {rng.randint(1, 999)}"


class SimCandidate:
    """One simulated candidate. ``run()`` takes the whole exam; the knobs:

    * ``pace``: seconds between answer changes (uniform in the range);
    * ``changes``: answer changes before submitting (None: every item once, then a few
      revisions until submitting is allowed);
    * ``burst_before``: seconds before the deadline when the candidate sends its last
      answers in one go (the room-wide time-up burst); None: no burst;
    * ``burst_submit``: after those answers the candidate submits at once (True), or waits
      for the server's time-up job to close the paper (False);
    * ``focus_loss``: probability per answer of reporting a focus loss;
    * ``submit``: submit at the end (False: keep answering until time-up, when the server's
      job closes the attempt).
    """

    def __init__(
        self,
        base_url: str,
        seat: SimSeat,
        *,
        pace: tuple[float, float] = (10.0, 30.0),
        changes: int | None = None,
        burst_before: float | None = None,
        burst_changes: int = 2,
        burst_submit: bool = True,
        focus_loss: float = 0.08,
        submit: bool = True,
        device_id: str | None = None,
        rng: random.Random | None = None,
        ack_timeout: float = 15.0,
        wait_poll: float = 20.0,
        log: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.base_url, self.seat = base_url.rstrip("/"), seat
        self.pace, self.changes, self.burst_before, self.burst_changes = pace, changes, burst_before, burst_changes
        self.burst_submit = burst_submit
        self.focus_loss, self.submit_at_end = focus_loss, submit
        # One simulated computer per seat: a rerun is the same computer, not a move.
        self.device_id = device_id or f"sim-{seat.attempt_id:08d}"
        self.rng = rng or random.Random()
        self.ack_timeout, self.wait_poll = ack_timeout, wait_poll
        self._log = log
        self.stop = stop or threading.Event()
        self.ledger = Ledger()
        self.journal: dict[int, dict[str, Any]] = {}  # seq -> answer payload (the local journal)
        self.next_seq = 1
        self.state: dict[str, Any] = {}
        self.status = "offline"
        self.made = 0  # answer changes acked so far
        self.done = threading.Event()
        self.error: str | None = None
        self.client: Any = None
        self.http: Any = None
        self._connected = threading.Event()
        self._need_sync = True
        self._pushed = threading.Event()
        self._superseded = False
        self._deadline_server: float | None = None  # the deadline on the server's clock (epoch s), last state
        self._clock_offset: float | None = None  # server epoch seconds minus time.monotonic()
        self._clock_rtt: float | None = None  # the quickest round trip the offset came from
        self._last_ack = time.monotonic()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing

    def log(self, message: str) -> None:
        if self._log is not None:
            self._log(f"[{self.seat.label or self.seat.ticket_no}] {message}")

    def _on_connect(self) -> None:
        if self._connected.is_set():
            return
        if self.ledger.reconnects or self.status != "offline":
            self.ledger.reconnects += 1
        self._need_sync = True
        self._connected.set()

    def _on_disconnect(self, *_: Any) -> None:
        self._connected.clear()

    def _on_status(self, data: Any) -> None:
        self._pushed.set()

    def _on_superseded(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("owner") != self._sid():
            self._superseded = True
            self._pushed.set()

    def _sid(self) -> str | None:
        try:
            return self.client.get_sid(NAMESPACE)  # type: ignore[no-any-return]
        except Exception:  # noqa: BLE001
            return None

    def connect(self) -> None:
        """Log in and connect; python-socketio reconnects by itself afterwards."""
        import socketio

        self.http = http = login(self.base_url, self.seat.ticket_no, self.seat.id_number)
        client = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=3,
                                 http_session=http, request_timeout=20, websocket_extra_options=FAST_WEBSOCKET)
        client.on("connect", self._on_connect, namespace=NAMESPACE)
        client.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        client.on("status", self._on_status, namespace=NAMESPACE)
        client.on("superseded", self._on_superseded, namespace=NAMESPACE)
        self.client = client
        client.connect(self.base_url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=20,
                       auth={"attempt_id": self.seat.attempt_id, "device_id": self.device_id})
        self._connected.wait(20)

    def _call(self, event: str, payload: dict[str, Any], phase: str) -> dict[str, Any] | None:
        """One acked event; None when it could not be sent or no ack came (keep the journal)."""
        if not self._connected.wait(self.ack_timeout):
            return None
        t0, sent_at, sent_mono = time.perf_counter(), time.time(), time.monotonic()
        try:
            ack = self.client.call(event, payload, namespace=NAMESPACE, timeout=self.ack_timeout)
        except Exception:  # noqa: BLE001  (TimeoutError, or the connection dropped meanwhile)
            self.ledger.timeouts += 1
            key = f"{phase}:{event}"
            self.ledger.timeout_phases[key] = self.ledger.timeout_phases.get(key, 0) + 1
            return None
        self.ledger.latencies.append((phase, time.perf_counter() - t0, sent_at))
        self._last_ack = time.monotonic()
        if isinstance(ack, dict):
            state = ack.get("state") if isinstance(ack.get("state"), dict) else {}
            self._clock_sample(sent_mono, time.monotonic(), ack.get("server_time") or state.get("server_time"))
        return ack if isinstance(ack, dict) else None

    def _clock_sample(self, sent: float, received: float, server_time: Any) -> None:
        """The server's clock from the quickest round trip seen, as the exam page estimates it
        (docs/protocol.md, "Clock"): a slow ack (seconds in the server's send queue during a
        storm) cannot shift the countdown."""
        if not isinstance(server_time, str):
            return
        rtt = received - sent
        if self._clock_rtt is None or rtt <= self._clock_rtt:
            self._clock_rtt = rtt
            self._clock_offset = dt.datetime.fromisoformat(server_time).timestamp() - (sent + received) / 2

    @property
    def _deadline(self) -> float | None:
        """time.monotonic() of the deadline: the server's deadline on the estimated server clock."""
        if self._deadline_server is None or self._clock_offset is None:
            return None
        return self._deadline_server - self._clock_offset

    def _take_state(self, state: dict[str, Any]) -> None:
        self.state = state
        self.status = state["status"]
        if self.status in ("in_progress",):
            self._deadline_server = (dt.datetime.fromisoformat(state["server_time"]).timestamp()
                                     + float(state["remaining_seconds"]))
        self.next_seq = max(self.next_seq, int(state.get("last_seq", 0)) + 1)

    def _results(self, entries: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        by_seq = {e["seq"]: e for e in entries}
        for result in results:
            entry = by_seq.get(result.get("seq"))
            if entry is None:
                continue
            if result.get("ok"):
                self.ledger.ack(entry)
                self.journal.pop(entry["seq"], None)
            elif result.get("code") not in TEMPORARY:
                self.ledger.refuse(str(result.get("code")))
                self.journal.pop(entry["seq"], None)

    def sync(self, phase: str = "sync") -> bool:
        """Replay the journal (or fetch the state) and take the server's state."""
        ref = {"attempt_id": self.seat.attempt_id}
        if not self.journal:
            ack = self._call("state", ref, phase)
            if not ack or not ack.get("ok"):
                return False
            self._take_state(ack["state"])
            self._need_sync = False
            return True
        while self.journal:
            entries = [self.journal[s] for s in sorted(self.journal)[:MAX_REPLAY]]
            ack = self._call("replay", {**ref, "entries": entries}, phase)
            if not ack or not ack.get("ok"):
                return False
            self._results(entries, ack["results"])
            self._take_state(ack["state"])
            if any(not r.get("ok") and r.get("code") in TEMPORARY for r in ack["results"]):
                break
        self._need_sync = False
        return True

    def answer(self, item: dict[str, Any], phase: str = "paced") -> bool:
        """Journal one change and send it; True when it was acked."""
        entry = {"attempt_id": self.seat.attempt_id, "position": item["position"], "seq": self.next_seq,
                 "value": value_for(item, self.rng), "client_time": _now_iso()}
        self.next_seq += 1
        self.journal[entry["seq"]] = entry
        self.ledger.sent += 1
        ack = self._call("answer", entry, phase)
        if ack is None:
            self._need_sync = True  # replay it on the next step
            return False
        if ack.get("ok"):
            self.ledger.ack(entry)
            self.journal.pop(entry["seq"], None)
            return True
        code = str(ack.get("code"))
        if code not in TEMPORARY:
            self.ledger.refuse(code)
            self.journal.pop(entry["seq"], None)
        else:
            self._need_sync = True
        return False

    def signal(self) -> None:
        if not self._connected.is_set():
            return
        try:
            self.client.emit("signal", {"attempt_id": self.seat.attempt_id, "signal": "focus_loss",
                                        "detail": "模拟考生切换窗口"}, namespace=NAMESPACE)
            self.ledger.focus_losses += 1
        except Exception:  # noqa: BLE001, S110  (a lost signal is not worth a retry)
            pass

    def lifecycle(self, event: str, phase: str | None = None) -> dict[str, Any] | None:
        ack = self._call(event, {"attempt_id": self.seat.attempt_id}, phase or event)
        if ack and ack.get("ok"):
            self._take_state(ack["state"])
        return ack

    def _transition(self, event: str, done: str, refused: str) -> bool:
        """``arrive`` or ``start``; False when the server refused it for good (the candidate
        stops). No ack (the server may have committed it all the same), already done, or a
        temporary refusal (the server was busy): the state is read before asking again, never
        in a tight loop."""
        ack = self.lifecycle(event)
        if ack and ack.get("ok"):
            self.log(done)
            return True
        code = ack.get("code") if ack else None
        if code == "before_start":  # the room was opened ahead of its start: wait for it, as the page does
            self._need_sync = True
            self._sleep(self.wait_poll * (0.5 + self.rng.random()))
            return True
        if code is not None and code != "illegal_transition" and code not in TEMPORARY:
            self.error = f"{event} refused: {code}"
            self.log(f"{refused}：{ack.get('error')}")  # type: ignore[union-attr]
            return False
        self._need_sync = True
        self._sleep(0.5 + self.rng.random())
        return True

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped or pushed; True if a push arrived."""
        pushed = self._pushed.wait(max(0.0, seconds))
        self._pushed.clear()
        return pushed

    # ------------------------------------------------------------------ behaviour

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001  (reported, never raised into the pool)
            self.error = f"{type(exc).__name__}: {exc}"
            self.log(f"出错：{self.error}")
        finally:
            self.done.set()

    def _run(self) -> None:
        self.connect()
        self.log("已登录并连接")
        submit_tried_at = 0.0
        while not self.stop.is_set():
            if self._superseded:
                self.log("连接已被接管，停止")
                return
            if self._need_sync and not self.sync():
                time.sleep(0.2)
                continue
            status = self.status
            if status in FINAL_STATUSES:
                self.log(f"结束：{status}，已保存 {len(self.ledger.acked)} 题")
                return
            if status == "not_started":
                if not self._transition("arrive", "已入场，等待开考", "不能入场"):
                    return
                continue
            if status == "waiting":
                if not self.state.get("opened"):
                    # As the exam page does: wait for the `opened` push, asking for the state
                    # every wait_poll meanwhile; either way the state comes next.
                    self._sleep(self.wait_poll * (0.5 + self.rng.random()))
                    self._need_sync = True
                    continue
                if not self._transition("start", "开始作答", "不能开始"):
                    return
                continue
            if status == "paused":
                self._sleep(self.wait_poll)
                self._need_sync = True
                continue
            # in progress
            if not self.journal and time.monotonic() - self._last_ack >= IDLE_SYNC:
                self._need_sync = True  # as the page: the state after a minute without any ack
                continue
            items = self.state.get("items") or []
            if not items:
                self._need_sync = True
                time.sleep(0.5)
                continue
            if self.burst_before is not None and self._deadline is not None:
                left = self._deadline - time.monotonic()
                if left <= self.burst_before:
                    self._burst(items)
                    continue
            target = self.changes if self.changes is not None else len(items) + 2
            made = self.made
            if made >= target:
                if not self.submit_at_end:
                    self._sleep(self._pause())
                    continue
                if time.monotonic() - submit_tried_at > max(self.pace[1], 5.0):
                    submit_tried_at = time.monotonic()
                    ack = self.lifecycle("submit")
                    if ack and ack.get("ok"):
                        self.log(f"已交卷（作答 {made} 次）")
                        continue
                    if ack and ack.get("code") not in ("early_submit",):
                        self.log(f"交卷失败：{ack.get('error')}")
                # Not yet allowed: keep reviewing at the pace.
            wait = self._pause() * (3 if made >= target else 1)  # reviewing while waiting to submit
            if self.burst_before is not None and self._deadline is not None:
                wait = min(wait, max(0.0, self._deadline - time.monotonic() - self.burst_before))
            if self._sleep(wait):
                self._need_sync = True
                continue
            if self.stop.is_set():
                break
            if self.burst_before is not None and self._deadline is not None \
                    and self._deadline - time.monotonic() <= self.burst_before:
                continue
            unanswered = [i for i in items if str(i["position"]) not in self.state.get("answers", {})
                          and i["position"] not in self.ledger.acked]
            item = unanswered[0] if unanswered else self.rng.choice(items)
            before = len(self.ledger.acked)
            if self.answer(item):
                self.made = made = made + 1
                if len(self.ledger.acked) > before:
                    self.log(f"已作答 {len(self.ledger.acked)}/{len(items)} 题")
                elif made % 5 == 0:
                    self.log(f"检查并修改答案（共作答 {made} 次）")
            if self.rng.random() < self.focus_loss:
                self.signal()
        # Stopped: stay connected; the caller may flush the journal, then close().

    def _pause(self) -> float:
        return self.rng.uniform(*self.pace)

    def _burst(self, items: list[dict[str, Any]]) -> None:
        """The room-wide time-up: the last answers at once; then the candidate submits
        (``burst_submit``: everyone in the same seconds, the harshest case) or, as in a room
        where time runs out, the server's time-up job closes the paper and the page, told by
        the push (or polling after the deadline), fetches its final state."""
        for item in self.rng.sample(items, min(self.burst_changes, len(items))):
            self.answer(item, phase="burst")
        if self.journal:
            self.sync(phase="burst")
        if self.burst_submit:
            ack = self.lifecycle("submit", "burst")
            if ack and ack.get("ok"):
                self.log("时间到，已交卷")
            elif not self.sync(phase="burst"):
                time.sleep(0.5)
        else:
            while not self.stop.is_set() and self.status not in FINAL_STATUSES:
                left = (self._deadline or time.monotonic()) - time.monotonic()
                self._sleep(max(0.0, left) + self.wait_poll)  # returns at once on the push
                if not self.sync(phase="burst"):
                    time.sleep(0.5)
            self.log(f"时间到，系统收卷：{self.status}")
        self.burst_before = None  # once

    def close(self) -> None:
        try:
            if self.client is not None:
                self.client.disconnect()
        except Exception:  # noqa: BLE001, S110  (closing a dead connection)
            pass
        if self.http is not None:
            self.http.close()


def run_candidates(candidates: list[SimCandidate], *, stagger: float = 0.0, timeout: float | None = None
                   ) -> list[SimCandidate]:
    """Run every candidate in its own thread (a greenlet under gevent); wait for all."""
    threads = []
    for cand in candidates:
        thread = threading.Thread(target=cand.run, daemon=True, name=f"sim-{cand.seat.attempt_id}")
        thread.start()
        threads.append(thread)
        if stagger:
            time.sleep(stagger)
    end = None if timeout is None else time.monotonic() + timeout
    for thread in threads:
        thread.join(None if end is None else max(0.0, end - time.monotonic()))
    for cand in candidates:
        cand.close()
    return candidates
