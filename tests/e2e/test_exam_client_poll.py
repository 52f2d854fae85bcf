"""The exam page's own polling (exam_client.js) in real Chromium: `state` every 20 s while
waiting or paused, but while answering only after 60 s without an ack (answer acks carry the
server's time; re-reading the whole paper every 20 s on 3,000 pages was real load)."""

from __future__ import annotations

from pathlib import Path

CLIENT = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "exam_client.js"

PROBE = """() => {
  const memory = new Map();
  const storage = {getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, String(v)),
                   removeItem: (k) => memory.delete(k)};
  const client = new ExamClient({attemptId: 7, io: () => null, storage, env: window});
  let refreshes = 0;
  client.refresh = () => { refreshes += 1; };
  const polls = (status, ackAgoMs, pending) => {
    client.state = {status};
    client.entries = pending ? [{seq: 1}] : [];
    client.lastAckAt = performance.now() - ackAgoMs;
    const before = refreshes;
    client._poll();
    return refreshes - before;
  };
  return {
    answeringRecentAck: polls("in_progress", 30000, false),
    answeringIdle: polls("in_progress", 61000, false),
    answeringIdleWithJournal: polls("in_progress", 61000, true),
    waitingRecentAck: polls("waiting", 1000, false),
    pausedRecentAck: polls("paused", 1000, false),
    submitted: polls("submitted", 120000, false),
  };
}"""


def test_the_page_re_reads_the_state_only_when_it_should(page):
    page.set_content("<!doctype html><html><body></body></html>")
    page.add_script_tag(path=str(CLIENT))
    assert page.evaluate(PROBE) == {
        "answeringRecentAck": 0, "answeringIdle": 1, "answeringIdleWithJournal": 0,
        "waitingRecentAck": 1, "pausedRecentAck": 1, "submitted": 0,
    }
