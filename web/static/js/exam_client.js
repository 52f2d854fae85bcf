// The exam page's protocol client (docs/protocol.md, namespace /exam): the durable answer
// journal and the Socket.IO connection. No DOM: exam_page.js renders what this reports.
//
// Never lose an answer: every change gets a per-attempt seq and is written to localStorage
// (`exam.journal.<attempt>`, the counter `exam.seq.<attempt>` persisted first) BEFORE it is
// sent; an entry is deleted only on an ok ack or a final refusal. After every (re)connect
// the whole journal is replayed (chunks of <= 200 entries and well under the 64 KB message
// cap), or `state` is fetched when the journal is empty; the page renders from that state
// with the still-pending entries applied on top.
(function (global) {
  "use strict";

  const ACK_TIMEOUT_MS = 10000;
  const REPLAY_TIMEOUT_MS = 20000;
  const MAX_REPLAY_ENTRIES = 200;
  const MAX_REPLAY_BYTES = 40 * 1024; // the server closes connections on messages over 64 KB
  const RETRY_MS = 3000;
  const MOVE_RETRY_MS = 5000;
  const SIGNAL_INTERVAL_MS = 5000;
  // While waiting or paused the page asks for the state every POLL_MS (pushes are hints);
  // while answering only after IDLE_SYNC_MS without any ack (answer acks already carry the
  // server's time, and 3,000 pages re-reading every paper every 20 s was real load).
  const POLL_MS = 20000;
  const IDLE_SYNC_MS = 60000;
  // Refusals after which the entry is kept and sent again (protocol §3 and §5); every other
  // refusal is final and the entry is dropped. `superseded`: this connection lost the attempt,
  // the entry stays for whichever connection owns it now.
  const KEEP_CODES = new Set(["paused", "not_started", "rate_limited", "server_error", "superseded"]);
  const HOLD_CODES = new Set(["paused", "not_started"]); // wait for a state showing in_progress
  const DEVICE_KEY = "exam.device";
  const DEVICE_RE = /^[A-Za-z0-9_-]{8,64}$/;

  function randomId() {
    const bytes = new Uint8Array(24);
    global.crypto.getRandomValues(bytes);
    let bin = "";
    bytes.forEach((b) => { bin += String.fromCharCode(b); });
    return global.btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The computer's id for the one-connection-per-attempt rule: made once, kept across reloads.
  function deviceId(storage) {
    let id = null;
    try { id = storage.getItem(DEVICE_KEY); } catch (e) { id = null; }
    if (!id || !DEVICE_RE.test(id)) {
      id = randomId();
      try { storage.setItem(DEVICE_KEY, id); } catch (e) { /* private mode: per page then */ }
    }
    return id;
  }

  function bySeq(a, b) { return a.seq - b.seq; }

  function byteLength(obj) {
    const text = JSON.stringify(obj);
    return global.TextEncoder ? new global.TextEncoder().encode(text).length : text.length * 3;
  }

  // Chunks of the journal for `replay`: at most 200 entries and MAX_REPLAY_BYTES each.
  function chunks(entries) {
    const out = [];
    let current = [];
    let size = 0;
    entries.forEach((entry) => {
      const n = byteLength(entry) + 1;
      if (current.length && (current.length >= MAX_REPLAY_ENTRIES || size + n > MAX_REPLAY_BYTES)) {
        out.push(current);
        current = [];
        size = 0;
      }
      current.push(entry);
      size += n;
    });
    if (current.length) out.push(current);
    return out;
  }

  function noop() {}

  // A string with a lone UTF-16 surrogate (half an emoji cut off by a length limit or a paste)
  // cannot be stored: the server refuses it (`bad_value`, final), which would lose the answer.
  // The half character becomes U+FFFD instead.
  const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
  function wellFormed(value) {
    if (typeof value === "string") return value.replace(LONE_SURROGATE, "\uFFFD");
    if (Array.isArray(value)) return value.map(wellFormed);
    return value;
  }

  // Epoch ms of a server time, rounded up (the server keeps microseconds, Date.parse drops them).
  function serverMs(iso) {
    const ms = typeof iso === "string" ? Date.parse(iso) : NaN;
    return Number.isNaN(ms) ? 0 : ms + 1;
  }

  class ExamClient {
    // opts: attemptId, io (the socket.io client factory), storage (localStorage), env (window),
    // and callbacks onState(state), onSave(info), onConnection(online), onStatus(push),
    // onNotice(text, kind), onBlocked(kind, message), onOutcome(entry, ack).
    constructor(opts) {
      this.attemptId = opts.attemptId;
      this.io = opts.io;
      this.storage = opts.storage;
      this.env = opts.env || global;
      this.cb = {
        onState: opts.onState || noop,
        onSave: opts.onSave || noop,
        onConnection: opts.onConnection || noop,
        onStatus: opts.onStatus || noop,
        onNotice: opts.onNotice || noop,
        onBlocked: opts.onBlocked || noop,
      };
      this.journalKey = "exam.journal." + this.attemptId;
      this.seqKey = "exam.seq." + this.attemptId;
      this.deviceId = deviceId(this.storage);
      this.entries = this._load();
      this.inFlight = new Set();
      this.held = false; // a temporary refusal (paused / not started): wait for in_progress
      this.syncing = false;
      this.online = false;
      this.netDown = this.env.navigator && this.env.navigator.onLine === false;
      this.blocked = null; // "superseded" | "move_pending" | "refused"
      this.state = null;
      this.lastServerSeq = 0;
      this.lastStamp = 0; // the newest client_time given to a change
      this.socket = null;
      this.timers = {};
      this.lastSignal = {};
      this.storageOk = true;
    }

    // ------------------------------------------------------------------ journal

    _load() {
      try {
        const raw = this.storage.getItem(this.journalKey);
        const list = raw ? JSON.parse(raw) : [];
        return Array.isArray(list) ? list.filter((e) => e && Number.isInteger(e.seq)).sort(bySeq) : [];
      } catch (e) {
        return [];
      }
    }

    _persist() {
      try {
        if (this.entries.length) this.storage.setItem(this.journalKey, JSON.stringify(this.entries));
        else this.storage.removeItem(this.journalKey);
        this.storageOk = true;
      } catch (e) {
        this.storageOk = false; // quota: the entry still lives in memory and is sent
      }
    }

    _storedSeq() {
      let n = 0;
      try { n = parseInt(this.storage.getItem(this.seqKey) || "0", 10) || 0; } catch (e) { n = 0; }
      return n;
    }

    _nextSeq() {
      const maxJournal = this.entries.reduce((m, e) => Math.max(m, e.seq), 0);
      const seq = Math.max(this._storedSeq(), this.lastServerSeq, maxJournal, this.memSeq || 0) + 1;
      this.memSeq = seq;
      try { this.storage.setItem(this.seqKey, String(seq)); } catch (e) { /* kept in memory */ }
      return seq;
    }

    pending() { return this.entries.slice(); }

    // `client_time` of a new change: the server's clock as estimated from the acks (this
    // computer's own clock may be minutes off), but never earlier than the attempt's start nor
    // than any earlier change: the server refuses those (`bad_client_time`, docs/protocol.md §3).
    _stamp() {
      const state = this.state || {};
      let ms = Math.max(this.serverNow() ?? Date.now(), this.lastStamp || 0,
                        serverMs(state.started_at), serverMs(state.last_client_time));
      this.entries.forEach((e) => {
        const t = Date.parse(e.client_time);
        if (!Number.isNaN(t)) ms = Math.max(ms, t);
      });
      this.lastStamp = Math.ceil(ms);
      return new Date(this.lastStamp).toISOString();
    }

    // Journal one change, then send it. Older unsent changes of the same item are superseded
    // by this one (the server would answer them `stale` anyway), so the journal stays small.
    record(position, value) {
      const seq = this._nextSeq();
      const entry = {
        attempt_id: this.attemptId, position: position, seq: seq, value: wellFormed(value),
        client_time: this._stamp(),
      };
      this.entries = this.entries.filter((e) => e.position !== position || this.inFlight.has(e.seq));
      this.entries.push(entry);
      this._persist();
      this._report();
      this.flush();
      return entry;
    }

    _drop(seq) {
      const before = this.entries.length;
      this.entries = this.entries.filter((e) => e.seq !== seq);
      if (this.entries.length !== before) this._persist();
    }

    // An acked change is stored: keep it in the last state's answers until the next state.
    _confirm(entry) {
      if (!this.state) return;
      const answers = this.state.answers || (this.state.answers = {});
      const key = String(entry.position);
      if (!answers[key] || answers[key].seq < entry.seq) answers[key] = { seq: entry.seq, value: entry.value };
      this.lastServerSeq = Math.max(this.lastServerSeq, entry.seq);
    }

    // The stored answers with the pending journal applied on top (what the page shows).
    answers() {
      const out = {};
      const server = (this.state && this.state.answers) || {};
      Object.keys(server).forEach((k) => { out[k] = { seq: server[k].seq, value: server[k].value }; });
      this.entries.slice().sort(bySeq).forEach((e) => {
        const key = String(e.position);
        if (!out[key] || out[key].seq < e.seq) out[key] = { seq: e.seq, value: e.value, pending: true };
      });
      return out;
    }

    saveInfo() {
      return {
        pending: this.entries.length,
        sending: this.inFlight.size > 0 || this.syncing,
        online: this.online,
        held: this.held,
        storageOk: this.storageOk,
      };
    }

    _report() { this.cb.onSave(this.saveInfo()); }

    // ------------------------------------------------------------------ sending

    _canSend() {
      return this.online && !this.syncing && !this.blocked && this.socket && this.socket.connected;
    }

    flush() {
      if (!this._canSend() || this.held) { this._report(); return; }
      this.entries.slice().sort(bySeq).forEach((entry) => {
        if (this.inFlight.has(entry.seq)) return;
        this._sendAnswer(entry);
      });
      this._report();
    }

    _retrySoon() {
      clearTimeout(this.timers.retry);
      this.timers.retry = setTimeout(() => this.flush(), RETRY_MS);
    }

    _sendAnswer(entry) {
      const socket = this.socket;
      this.inFlight.add(entry.seq);
      socket.timeout(ACK_TIMEOUT_MS).emit("answer", entry, (err, ack) => {
        this.inFlight.delete(entry.seq);
        if (err) {
          // No ack: it may or may not be stored. Keep it; resend (re-sending is safe).
          if (socket === this.socket && socket.connected) this._retrySoon();
        } else {
          this._outcome(entry.seq, ack);
        }
        this._report();
      });
    }

    // Handle one answer ack (also each result of a replay).
    _outcome(seq, ack) {
      if (!ack || typeof ack !== "object") return;
      if (ack.ok) {
        const entry = this.entries.find((e) => e.seq === seq);
        if (entry && ack.result !== "stale") this._confirm(entry);
        this._drop(seq);
        return;
      }
      const code = ack.code;
      if (code === "superseded") { this._superseded(ack.error || ""); return; }
      if (KEEP_CODES.has(code)) {
        if (HOLD_CODES.has(code)) this.held = true;
        else this._retrySoon();
        return;
      }
      this._drop(seq);
      this.cb.onNotice(ack.error || "答案未能保存。", "error");
    }

    // An acked event. Every ack that carries the server's time refines the estimate of the
    // server clock from the quickest round trip seen (docs/protocol.md, "Clock"); a returned
    // state is stamped with `deadlineMs`, its deadline on the server's clock.
    _call(event, payload, timeout) {
      const socket = this.socket;
      const sentAt = performance.now();
      return new Promise((resolve, reject) => {
        if (!socket || !socket.connected) { reject(new Error("offline")); return; }
        socket.timeout(timeout || ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
          if (err) { reject(err); return; }
          this.lastAckAt = performance.now();
          const state = ack && ack.state && typeof ack.state === "object" ? ack.state : null;
          this._clockSample(sentAt, performance.now(), (ack && ack.server_time) || (state && state.server_time));
          if (state && state.server_time) {
            state.deadlineMs = Date.parse(state.server_time) + 1000 * (state.remaining_seconds || 0);
          }
          resolve(ack);
        });
      });
    }

    _clockSample(sentAt, receivedAt, serverTime) {
      const server = serverTime ? Date.parse(serverTime) : NaN;
      if (Number.isNaN(server)) return;
      const rtt = receivedAt - sentAt;
      if (this.clockRtt === undefined || rtt <= this.clockRtt) {
        this.clockRtt = rtt;
        this.clockOffset = server - (sentAt + receivedAt) / 2;
      }
    }

    // The server's clock now (epoch ms), or null before any ack carried it.
    serverNow() {
      return this.clockOffset === undefined ? null : performance.now() + this.clockOffset;
    }

    _applyState(state) {
      if (!state || state.attempt_id !== this.attemptId) return;
      this.state = state;
      this.lastServerSeq = Math.max(this.lastServerSeq, state.last_seq || 0);
      if (state.status === "in_progress" && this.held) this.held = false;
      if (["submitted", "expired", "terminated"].includes(state.status)) {
        // The paper is closed: nothing pending can be stored any more.
        this.entries = [];
        this._persist();
      }
      this.cb.onState(state);
      this.flush();
    }

    // Replay the journal (or fetch the state), then render from the returned state.
    async _sync() {
      if (this.syncing) { this.resyncWanted = true; return; }
      this.syncing = true;
      this.resyncWanted = false;
      this._report();
      let state = null;
      let retry = false;
      try {
        for (const chunk of chunks(this.entries.slice().sort(bySeq))) {
          const ack = await this._call("replay", { attempt_id: this.attemptId, entries: chunk }, REPLAY_TIMEOUT_MS);
          if (ack && ack.ok) {
            (ack.results || []).forEach((r) => this._outcome(r.seq, r));
            state = ack.state;
            if (this.blocked) break;
          } else if (ack && KEEP_CODES.has(ack.code)) {
            if (ack.code === "superseded") this._superseded(ack.error || "");
            retry = ack.code !== "superseded";
            break;
          } else {
            // The whole chunk was refused (one bad entry): fall back to one `answer` each,
            // which drops only the bad entry.
            this.cb.onNotice((ack && ack.error) || "补发答案失败，将逐条重试。", "error");
            chunk.forEach((e) => this._sendAnswerAfterSync(e));
          }
        }
        if (!state && !this.blocked) {
          const ack = await this._call("state", { attempt_id: this.attemptId });
          if (ack && ack.ok) state = ack.state;
          else if (ack && ack.code === "superseded") this._superseded(ack.error || "");
          else {
            retry = true;
            if (ack && ack.error) this.cb.onNotice(ack.error, "error");
          }
        }
      } catch (e) {
        retry = true; // ack timeout or disconnected: try again while connected
      } finally {
        this.syncing = false;
      }
      if (state) this._applyState(state);
      if (retry && this.socket && this.socket.connected && !this.blocked) {
        clearTimeout(this.timers.sync);
        this.timers.sync = setTimeout(() => this._sync(), RETRY_MS);
      }
      if (this.resyncWanted) this._sync();
      this.flush();
    }

    _sendAnswerAfterSync(entry) {
      setTimeout(() => { if (this._canSend() && !this.inFlight.has(entry.seq)) this._sendAnswer(entry); }, 0);
    }

    // Fetch the authoritative state (after a push, or periodically as a safety net).
    refresh() {
      if (!this.socket || !this.socket.connected || this.blocked) return;
      if (this.syncing) { this.resyncWanted = true; return; }
      if (this.entries.length) { this._sync(); return; }
      this._call("state", { attempt_id: this.attemptId }).then((ack) => {
        if (ack && ack.ok) this._applyState(ack.state);
        else if (ack && ack.code === "superseded") this._superseded(ack.error || "");
      }).catch(() => {});
    }

    // Lifecycle events (arrive, start, submit): resolve with the ack; apply an ok state.
    async lifecycle(event) {
      const ack = await this._call(event, { attempt_id: this.attemptId });
      if (ack && ack.ok && ack.state) this._applyState(ack.state);
      else if (ack && ack.code === "superseded") this._superseded(ack.error || "");
      return ack;
    }

    // Resolve when the journal is empty; reject when offline or after `ms`.
    drain(ms) {
      return new Promise((resolve, reject) => {
        const until = Date.now() + (ms || 15000);
        const tick = () => {
          if (!this.entries.length) { resolve(); return; }
          if (!this.online) { reject(new Error("offline")); return; }
          if (Date.now() > until) { reject(new Error("timeout")); return; }
          this.flush();
          setTimeout(tick, 250);
        };
        tick();
      });
    }

    // Anti-cheating signal (not acked), at most one per kind every few seconds.
    signal(kind, detail) {
      const now = Date.now();
      if (this.lastSignal[kind] && now - this.lastSignal[kind] < SIGNAL_INTERVAL_MS) return false;
      this.lastSignal[kind] = now;
      if (!this.socket || !this.socket.connected || this.blocked) return false;
      const payload = { attempt_id: this.attemptId, signal: kind };
      if (detail) payload.detail = String(detail).slice(0, 200);
      this.socket.emit("signal", payload);
      return true;
    }

    // ------------------------------------------------------------------ connection

    start() {
      const socket = this.io("/exam", {
        transports: ["websocket"],
        auth: { attempt_id: this.attemptId, device_id: this.deviceId },
        autoConnect: false,
        reconnection: true,
        reconnectionDelay: 1000,
        reconnectionDelayMax: 5000,
        timeout: 10000,
      });
      this.socket = socket;
      socket.on("connect", () => {
        this.online = true;
        this.blocked = null;
        this.inFlight.clear();
        clearTimeout(this.timers.move);
        this.cb.onConnection(true);
        this._sync();
      });
      socket.on("disconnect", () => {
        this.online = false;
        this.inFlight.clear();
        this.cb.onConnection(false);
        this._report();
      });
      socket.on("connect_error", (err) => {
        this.online = false;
        const code = err && err.data && err.data.code;
        let message = (err && err.data && err.data.message) || (err && err.message) || "";
        if (!/[\u4e00-\u9fff]/.test(message)) message = "无法连接考试服务器：连接被拒绝。请刷新页面重试，或举手联系监考员。";
        if (code === "move_pending") {
          this.blocked = "move_pending";
          this.cb.onBlocked("move_pending", message);
          clearTimeout(this.timers.move);
          this.timers.move = setTimeout(() => { if (this.blocked === "move_pending") this._connect(); }, MOVE_RETRY_MS);
        } else if (!socket.active) {
          // Refused by the server (not a network failure): socket.io does not retry these.
          this.blocked = "refused";
          this.cb.onBlocked("refused", message);
        } else {
          this.cb.onConnection(false);
        }
        this._report();
      });
      socket.on("status", (push) => {
        if (!push || push.attempt_id !== this.attemptId) return;
        this.cb.onStatus(push);
        this.refresh();
      });
      socket.on("superseded", (push) => {
        if (!push || push.attempt_id !== this.attemptId || push.owner === socket.id) return;
        this._superseded(push.message || "");
      });
      // The browser knows before the socket does: drop the connection at once when it goes
      // offline (an open WebSocket can linger for minutes), reconnect when it is back.
      this.env.addEventListener("offline", () => {
        this.netDown = true;
        if (socket.connected || socket.active) socket.disconnect();
        this.online = false;
        this.cb.onConnection(false);
        this._report();
      });
      this.env.addEventListener("online", () => {
        this.netDown = false;
        if (!this.blocked && !socket.connected) this._connect();
      });
      clearInterval(this.timers.poll);
      this.timers.poll = setInterval(() => this._poll(), POLL_MS);
      if (!this.netDown) this._connect();
      else { this.cb.onConnection(false); this._report(); }
    }

    _connect() {
      if (this.netDown || !this.socket) return;
      if (this.socket.connected) return;
      this.socket.connect();
    }

    // Pushes are hints: while waiting or paused, ask for the state now and then anyway; while
    // answering, only when nothing has been acked for IDLE_SYNC_MS (a missed push, a stale clock).
    _poll() {
      const status = this.state && this.state.status;
      if (status === "waiting" || status === "paused" || status === "not_started") this.refresh();
      else if (status === "in_progress" && !this.entries.length
               && performance.now() - (this.lastAckAt || 0) >= IDLE_SYNC_MS) this.refresh();
    }

    _superseded(message) {
      this.blocked = "superseded";
      this.online = false;
      if (this.socket) this.socket.disconnect();
      this.cb.onBlocked("superseded", message || "本试卷已在另一个窗口打开，本窗口已停止作答。");
      this._report();
    }

    // After `superseded`: take the attempt over again from this window.
    takeOver() {
      this.blocked = null;
      this._connect();
    }
  }

  global.ExamClient = ExamClient;
  global.ExamClient.chunks = chunks;
  global.ExamClient.deviceId = deviceId;
})(window);
