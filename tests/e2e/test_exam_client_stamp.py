"""What the exam page (exam_client.js, in real Chromium) puts in a journal entry: a
``client_time`` the server accepts (on the server's clock, never before the attempt's start
nor before an earlier change, whatever this computer's own clock says) and a value without
lone surrogates (the server refuses those with ``bad_value``, a final refusal)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CLIENT = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "exam_client.js"

PROBE = """() => {
  const memory = new Map();
  const storage = {getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, String(v)),
                   removeItem: (k) => memory.delete(k)};
  const client = new ExamClient({attemptId: 7, io: () => null, storage, env: window});
  client.flush = () => {};
  const hour = 3600 * 1000;
  // This computer's clock is an hour slow; the server's clock is known from an ack.
  client.clockOffset = Date.now() + hour - performance.now();
  client.clockRtt = 5;
  const startedAt = new Date(Date.now() + hour - 60000);
  client.state = {started_at: startedAt.toISOString().replace("Z", "123+00:00"), last_client_time: null,
                  answers: {}};
  const first = client.record(1, "A\\ud83d");
  // A quicker round trip moves the estimate back by 2 s: the stamps must not go back.
  client.clockOffset -= 2000;
  const second = client.record(2, ["x\\udc00", "ok"]);
  // After a reload on another computer, the state names the last stored change's time.
  const later = new Date(Date.now() + 2 * hour).toISOString();
  const other = new ExamClient({attemptId: 8, io: () => null, storage, env: window});
  other.flush = () => {};
  other.state = {started_at: startedAt.toISOString(), last_client_time: later, answers: {}};
  const third = other.record(1, "B");
  return {
    firstAfterStart: Date.parse(first.client_time) > startedAt.getTime(),
    firstOnServerClock: Math.abs(Date.parse(first.client_time) - (Date.now() + hour)) < 5000,
    monotone: Date.parse(second.client_time) >= Date.parse(first.client_time),
    afterLast: Date.parse(third.client_time) >= Date.parse(later),
    values: [first.value, second.value],
  };
}"""


def test_the_page_stamps_changes_the_server_accepts(page):
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(path=str(CLIENT))
    assert page.evaluate(PROBE) == {
        "firstAfterStart": True, "firstOnServerClock": True, "monotone": True, "afterLast": True,
        "values": ["A\ufffd", ["x\ufffd", "ok"]],
    }
