"""Issue 11 acceptance: a client written from ``docs/protocol.md`` alone
(``tests/e2e/protocol_client.py``) completes an exam with every item type, and every probe of
points 1–3 gets the documented error code.

The server is a live one of its own, started as ``conftest.live_server`` starts one, because
its centre rule "earliest submit" is set to 1 minute (the default 30 would make a test wait
half an hour before 交卷); the timings below hold whether the late-entry and earliest-submit
windows count from the room's opening, the candidate's start or the scheduled start.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dbutil import fresh_database
from tests.e2e.conftest import REDIS_URL, ROOT, LiveServer, _flask, _free_port, stop_server
from tests.e2e.protocol_client import CandidateClient, ProctorClient
from tests.e2e.seeding import run_script

pytestmark = pytest.mark.e2e

PASSWORD = "Passw0rd!"  # tests.factories.PASSWORD, the proctor's

RULES = r"""
from foundation.roles import Role
from foundation.settings import set_rule
from tests.factories import make_user
from web import create_app
from web.extensions import db

app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    centre = make_user(db.session, Role.CENTRE_ADMIN)
    # The room's clock counts from the scheduled start (not a later opening), so a sitting
    # scheduled 40 s ago lets the earliest-submit time come 20 s after the test starts.
    set_rule(db.session, centre, "room_rules",
             {"late_entry_minutes": 15, "earliest_submit_minutes": 1, "grace_seconds": 120,
              "from_late_opening": False})
    db.session.commit()
"""

#: A seated sitting with one item of every type, scheduled ``sys.argv[1]`` seconds from now;
#: with ``sys.argv[2]`` > 0 the room was opened that many seconds ago. No attempt exists yet
#: unless the room was opened.
SITTING = r"""
import datetime as dt, json, sys
from examroom import attempts as svc
from tests.examroom import worlds
from web import create_app
from tests.factories import ticket_no
from web.extensions import db

worlds.ITEMS = [
    ("single_choice", "安全电压的上限是多少？", {"options": ["12 伏", "36 伏", "110 伏", "220 伏"], "key": "B"}, 10),
    ("multiple_choice", "下列属于绝缘材料的是？",
     {"options": ["橡胶", "铜", "陶瓷", "铝"], "key": ["A", "C"]}, 15),
    ("true_false", "验电前应先在有电设备上确认验电器良好。", {"key": "√"}, 5),
    ("fill_in", "电流的单位是<span class=\"blank\"></span>，电压的单位是<span class=\"blank\"></span>。",
     {"blanks": [{"answers": ["安培"]}, {"answers": ["伏特"]}]}, 10),
    ("short_answer", "简述防止触电的基本措施。",
     {"reference_answer": "<p>绝缘、屏护、间距</p>", "scoring_points": [{"html": "<p>答出绝缘</p>", "points": 2}]}, 20),
    ("calculation", "220 V、1100 W 的电炉电流是多少？",
     {"reference_answer": "<p>5 A</p>", "scoring_points": [{"html": "<p>I=P/U</p>", "points": 5}]}, 20),
    ("essay", "论述电气安全管理制度的意义。",
     {"reference_answer": "<p>……</p>", "scoring_points": [{"html": "<p>要点</p>", "points": 10}], "max_length": 300},
     20),
]
app = create_app({"SOCKETIO_ASYNC_MODE": "threading"})
with app.app_context():
    s = db.session
    exam = worlds.Exam(s)
    now = dt.datetime.now(dt.UTC)
    exam.sitting.starts_at = now + dt.timedelta(seconds=int(sys.argv[1]))
    s.flush()
    opened_ago = int(sys.argv[2])
    if opened_ago:
        svc.open_room(s, exam.proctor1, exam.room1.id, now - dt.timedelta(seconds=opened_ago))
    s.commit()
    c = exam.candidates[0]
    print(json.dumps({"room_id": exam.room1.id, "sitting_id": exam.sitting.id, "ticket_no": ticket_no(c),
                      "id_number": c.id_number, "proctor": exam.proctor1.username}))
"""

#: A valid answer for each type, from the item's public fields only (§3 State, items).
def valid_value(item: dict[str, Any]) -> Any:
    kind = item["type"]
    if kind == "single_choice":
        return item["options"][-1]["label"]
    if kind == "multiple_choice":
        return [item["options"][0]["label"], item["options"][2]["label"]]
    if kind == "true_false":
        return item["choices"][0]
    if kind == "fill_in":
        return [f"第{k + 1}空" for k in range(item["blank_count"])]
    return "答" * min(item["max_length"], 50)


DOCUMENTED_FIELDS = {
    "single_choice": {"options"}, "multiple_choice": {"options"}, "true_false": {"choices"},
    "fill_in": {"blank_count"}, "short_answer": {"max_length"}, "calculation": {"max_length"},
    "essay": {"max_length"},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("protocol")
    port = _free_port()
    env = {
        **os.environ, "DATABASE_URL": fresh_database("protocol", tmp), "FLASK_SECRET_KEY": "e2e-secret-key",
        "FLASK_SESSION_COOKIE_SECURE": "false", "FLASK_REMEMBER_COOKIE_SECURE": "false", "PORT": str(port),
        "FLASK_SOCKETIO_MESSAGE_QUEUE": REDIS_URL, "FLASK_SOCKETIO_CHANNEL": f"skilleval-protocol-{port}",
    }
    _flask(env, "db", "upgrade")
    _flask(env, "seed", "reference")
    live = LiveServer(url=f"http://127.0.0.1:{port}", env=env, demo_output="", log_path=tmp / "server.log")
    run_script(live, RULES)
    log = open(tmp / "server.log", "w")  # noqa: SIM115  (closed by stop_server)
    proc = subprocess.Popen([sys.executable, "-m", "web.serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(live.url + "/healthz", timeout=2) as resp:  # noqa: S310 (loopback)
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc, log)
            raise AssertionError("server did not start:\n" + (tmp / "server.log").read_text())
        time.sleep(0.2)
    try:
        yield live
    finally:
        stop_server(proc, log)


def _refused(ack: dict[str, Any], code: str) -> None:
    """The documented error ack: ok false, the code, a Chinese message (§2 "Error ack")."""
    assert ack["ok"] is False and ack["code"] == code and ack["error"], (code, ack)


def test_a_client_from_the_document_completes_an_exam_and_gets_every_documented_refusal(server):
    seat = run_script(server, SITTING, -40, 0)  # scheduled 40 s ago, the room not open yet
    me = CandidateClient(server.url, seat["ticket_no"], seat["id_number"], "protocol-computer-A")

    # §1 step 2: no attempt until the candidate enters (or the room opens); then its id.
    (row,) = me.sittings()
    assert row["sitting_id"] == seat["sitting_id"] and row["attempt_id"] is None and row["status"] == "not_started"
    attempt_id = me.find_attempt()
    assert [r["attempt_id"] for r in me.sittings()] == [attempt_id]

    me.connect()
    proctor = ProctorClient(server.url, seat["proctor"], PASSWORD)
    try:
        state = me.state()  # §1: an empty journal, so `state`
        assert (state["status"], state["opened"], state["items"]) == ("not_started", False, [])
        _refused(me.call("start", me.ref()), "illegal_transition")  # the room is not open
        assert me.call("arrive", me.ref())["state"]["status"] == "waiting"

        # The proctor opens the room (§P4 `open`); the candidate's page hears `status` opened (§6).
        opened = proctor.call("open", {"room_id": seat["room_id"]})
        assert opened["ok"] is True and attempt_id in opened["changed"], opened
        me.wait_push("opened")
        started = me.call("start", me.ref())
        if not started["ok"]:  # §5: before the room's start, wait for `begins_at` and start again
            _refused(started, "before_start")
            begins = dt.datetime.fromisoformat(me.state()["begins_at"])
            time.sleep(max(0.0, (begins - me.server_now()).total_seconds()) + 1)
            started = me.call("start", me.ref())
        assert started["ok"] is True, started
        state = started["state"]
        assert state["status"] == "in_progress" and state["item_count"] == 7 == len(state["items"])
        me.adopt(state)

        # Point 3: 交卷 right after the start is refused early_submit.
        _refused(me.call("submit", me.ref()), "early_submit")

        # Every item has the documented fields of its type, and nothing else.
        for item in state["items"]:
            assert set(item) == {"number", "position", "points", "stem_html", "type"} | DOCUMENTED_FIELDS[item["type"]]
        assert sorted(i["type"] for i in state["items"]) == sorted(DOCUMENTED_FIELDS)

        # Answer every item; one is cleared with null and answered again.
        expected: dict[str, dict[str, Any]] = {}
        for item in state["items"]:
            value = valid_value(item)
            ack = me.answer(item["position"], value)
            assert ack["ok"] is True and ack["result"] == "accepted", ack
            expected[str(item["position"])] = {"seq": ack["seq"], "value": value}
        cleared = state["items"][0]["position"]
        ack = me.answer(cleared, None)
        assert ack["result"] == "accepted"
        assert me.state()["answers"][str(cleared)] == {"seq": ack["seq"], "value": None}
        ack = me.answer(cleared, valid_value(state["items"][0]))
        expected[str(cleared)] = {"seq": ack["seq"], "value": valid_value(state["items"][0])}

        # Point 2: seq >= 2**31 -> bad_seq; a lone surrogate -> bad_value; in answer and in replay.
        now = me.stamp()
        position = state["items"][-1]["position"]
        for seq in (2**31, 2**31 + 1, 2**63):
            _refused(me.call("answer", {**me.ref(), "position": position, "seq": seq, "value": "x",
                                        "client_time": now}), "bad_seq")
        for value in ("\ud800", ["\udfff"], "前\udc00后"):
            fill_in = next(i["position"] for i in state["items"] if i["type"] == "fill_in")
            for pos in (position, fill_in):
                _refused(me.call("answer", {**me.ref(), "position": pos, "seq": me.seq + 1, "value": value,
                                            "client_time": now}), "bad_value")
        bad = {**me.ref(), "position": position, "seq": 2**31, "value": "x", "client_time": now}
        _refused(me.call("replay", {**me.ref(), "entries": [bad]}), "bad_seq")
        _refused(me.call("replay", {**me.ref(), "entries": [{**bad, "seq": me.seq + 1, "value": "\ud800"}]}),
                 "bad_value")

        # Point 1: client_time before the start, or before the last acknowledged write.
        started_at = dt.datetime.fromisoformat(state["started_at"])
        last = dt.datetime.fromisoformat(me.state()["last_client_time"])
        for when in (started_at - dt.timedelta(seconds=1), started_at - dt.timedelta(days=1),
                     last - dt.timedelta(milliseconds=1)):
            _refused(me.call("answer", {**me.ref(), "position": position, "seq": me.seq + 1, "value": "y",
                                        "client_time": when.isoformat()}), "bad_client_time")

        # 交卷 once earliest_submit_at has passed on the server's clock (§2 "Clock").
        earliest = dt.datetime.fromisoformat(me.state()["earliest_submit_at"])
        time.sleep(max(0.0, (earliest - me.server_now()).total_seconds()) + 1)
        submitted = me.call("submit", me.ref())
        assert submitted["ok"] is True, submitted
        final = submitted["state"]
        assert final["status"] == "submitted" and final["items"] == [] and final["answers"] == expected

        # Point 1: after 交卷 nothing is written, whatever the client_time (a replay of an
        # earlier stamp included), from this computer ...
        for when in (me.server_now(), started_at + dt.timedelta(seconds=5), started_at - dt.timedelta(minutes=5)):
            entry = {**me.ref(), "position": position, "seq": me.seq + 1, "value": "改",
                     "client_time": when.isoformat()}
            _refused(me.call("answer", entry), "submitted")
            replay = me.call("replay", {**me.ref(), "entries": [entry]})
            assert replay["ok"] is True and replay["results"][0]["code"] == "submitted", replay
            assert replay["state"]["answers"] == expected
    finally:
        me.disconnect()
        proctor.close()

    # ... and from another computer, which may view the closed paper but never write to it.
    other = CandidateClient(server.url, seat["ticket_no"], seat["id_number"], "protocol-computer-B")
    other.find_attempt()
    other.connect()
    try:
        viewed = other.state()
        assert viewed["status"] == "submitted" and viewed["answers"] == expected
        other.adopt(viewed)
        _refused(other.answer(position, "换机后修改"), "submitted")
        assert other.state()["answers"] == expected
    finally:
        other.disconnect()


def test_late_entry_gets_the_documented_refusal(server):
    """Point 3: scheduled 40 minutes ago, the room opened 30 minutes ago: past the late-entry
    limit counted from either."""
    seat = run_script(server, SITTING, -40 * 60, 30 * 60)
    me = CandidateClient(server.url, seat["ticket_no"], seat["id_number"], "protocol-late-computer")
    me.find_attempt()
    me.connect()
    try:
        state = me.state()
        assert state["opened"] is True and state["status"] == "not_started"
        _refused(me.call("start", me.ref()), "late_entry")
        assert me.state()["status"] == "not_started"  # nothing changed
    finally:
        me.disconnect()
