// The proctor console (监考台) and the supervisor's read-only view of a room, live over the
// Socket.IO namespace /proctor (protocol: docs/protocol-proctor.md).
//
// On every (re)connect the page sends `watch` and re-renders the whole seat grid from the
// snapshot in the ack; `seat` pushes then update one seat at a time. In proctor mode the
// side panel and the room buttons send acked actions; the server re-authorises every one
// and refuses them in read-only mode anyway.
(() => {
  "use strict";

  const root = document.getElementById("pc-console");
  if (!root || typeof window.io !== "function") return;

  const roomId = Number(root.dataset.roomId);
  const cols = Number(root.dataset.cols);
  const rows = Number(root.dataset.rows);
  const canAct = root.dataset.mode === "proctor";
  const grid = root.querySelector("[data-grid]");
  const conn = root.querySelector("[data-conn]");
  const feed = root.querySelector("[data-feed]");
  const panel = root.querySelector("[data-panel]");
  const panelBody = panel.querySelector("[data-panel-body]");
  const panelEmpty = panel.querySelector("[data-panel-empty]");
  const panelInfo = panel.querySelector("[data-panel-info]");
  const panelPhoto = panel.querySelector("[data-panel-photo]");
  if (panelPhoto) {
    panelPhoto.addEventListener("load", () => { panelPhoto.hidden = false; });
    panelPhoto.addEventListener("error", () => { panelPhoto.hidden = true; });
  }
  const result = panel.querySelector("[data-result]");
  const ACK_TIMEOUT_MS = 10000;
  const CLOSED = new Set(["submitted", "expired", "terminated"]);
  const openButton = root.querySelector('[data-room-action="open"]');

  const seats = new Map(); // seat_id -> summary
  const lastEvent = new Map(); // seat_id -> newest event id seen
  let selected = null; // seat_id

  grid.style.gridTemplateColumns = `repeat(${cols}, minmax(7.5rem, 1fr))`;

  // ------------------------------------------------------------------ formatting

  function time(iso, seconds) {
    if (!iso) return "";
    const opts = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" };
    if (seconds) opts.second = "2-digit";
    return new Date(iso).toLocaleTimeString("zh-CN", opts);
  }

  function node(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function seatName(s) {
    return s.name ? `${s.name}（${s.row}排${s.col}座）` : `${s.row}排${s.col}座`;
  }

  // ------------------------------------------------------------------ the grid

  function seatCell(s) {
    const b = node("button", `pc-seat pc-st-${s.status}`);
    b.type = "button";
    b.dataset.seatId = s.seat_id;
    b.dataset.attemptId = s.attempt_id || "";
    b.setAttribute("aria-pressed", String(selected === s.seat_id));
    if (selected === s.seat_id) b.classList.add("pc-selected");
    b.append(node("span", "pc-pos", `${s.row}排${s.col}座${s.form ? ` · ${s.form}卷` : ""}`));
    b.append(node("span", "pc-name", s.name || "（空座）"));
    b.append(node("span", "pc-state", s.status_label));
    let meta = s.item_count ? `已答 ${s.answered}/${s.item_count}` : "";
    if (s.last_saved_at) meta += ` · ${time(s.last_saved_at, true)}`;
    b.append(node("span", "pc-meta", meta));
    const badges = node("span", "pc-badges");
    const badge = (cls, text, title) => {
      const e = node("span", `pc-badge ${cls}`, text);
      if (title) e.title = title;
      badges.append(e);
    };
    if (s.focus_losses) badge("pc-b-focus", `离开 ${s.focus_losses}`, "离开考试页面次数");
    if (s.warnings) badge("pc-b-warn", `警告 ${s.warnings}`, "警告次数");
    if (s.incidents) badge("pc-b-incident", `违纪 ${s.incidents}`, "违纪记录");
    if (s.pending_move) badge("pc-b-move", "申请换机");
    b.append(badges);
    b.setAttribute("aria-label", `${seatName(s)}，${s.status_label}${meta ? `，${meta}` : ""}`);
    return b;
  }

  function renderGrid() {
    const byPos = new Map();
    for (const s of seats.values()) byPos.set(`${s.row}-${s.col}`, s);
    const cells = [];
    for (let r = 1; r <= rows; r += 1) {
      for (let c = 1; c <= cols; c += 1) {
        const s = byPos.get(`${r}-${c}`);
        if (s) cells.push(seatCell(s));
        else {
          const e = node("div", "pc-empty");
          e.setAttribute("aria-hidden", "true");
          cells.push(e);
        }
      }
    }
    grid.replaceChildren(...cells);
    renderCounts();
  }

  // 开考 is offered until the room is opened (by this console or another proctor's).
  function renderOpened(openedAt) {
    if (!openButton) return;
    let opened = Boolean(openedAt);
    for (const s of seats.values()) opened = opened || Boolean(s.opened);
    if (!opened) return;
    openButton.disabled = true;
    openButton.textContent = "已开考";
    if (openedAt) openButton.title = `开考时间 ${time(openedAt, true)}`;
  }

  function renderCounts() {
    const counts = {};
    for (const s of seats.values()) counts[s.status] = (counts[s.status] || 0) + 1;
    for (const e of root.querySelectorAll("[data-count]")) e.textContent = String(counts[e.dataset.count] || 0);
  }

  function updateSeat(summary) {
    const known = seats.get(summary.seat_id) || {};
    const s = { ...known, ...summary };
    seats.set(s.seat_id, s);
    const old = grid.querySelector(`[data-seat-id="${s.seat_id}"]`);
    if (old) old.replaceWith(seatCell(s));
    else renderGrid();
    renderCounts();
    renderOpened();
    noteEvent(s);
    if (selected === s.seat_id) renderPanel();
  }

  // ------------------------------------------------------------------ the event feed

  // One shape for every line, as the server renders the first ones (console.html):
  // time, label, who, detail, and the actor unless it is the candidate themself.
  const roomLines = new Map(); // "kind|at|actor" of a room-wide action -> {who, n}

  function addFeed(at, label, who, detail, actor) {
    const empty = feed.querySelector("[data-feed-empty]");
    if (empty) empty.remove();
    const li = node("li");
    const whoNode = node("span", "pc-who", who);
    li.append(node("time", "", time(at || new Date().toISOString(), true)), " ", node("strong", "", label), " ", whoNode);
    if (detail) li.append(`：${detail}`);
    if (actor) li.append(" ", node("span", "muted", `（${actor}）`));
    feed.prepend(li);
    while (feed.children.length > 200) feed.lastElementChild.remove();
    return whoNode;
  }

  function noteEvent(s) {
    const e = s.last_event;
    if (!e) return;
    const seen = lastEvent.get(s.seat_id) || 0;
    if (e.id <= seen) return;
    lastEvent.set(s.seat_id, e.id);
    if (seen === 0 && !feed.dataset.live) return; // the first snapshot: already in the server-rendered feed
    if (e.room) {
      // A room-wide action wrote one event per seat: one line for the room, counting them.
      const key = `${e.kind}|${e.at}|${e.actor}`;
      const line = roomLines.get(key);
      if (line) {
        line.n += 1;
        line.who.textContent = `全场 ${line.n} 人`;
      } else {
        roomLines.set(key, { n: 1, who: addFeed(e.at, e.label, "全场 1 人", e.detail, e.actor) });
      }
      return;
    }
    addFeed(e.at, e.label, seatName(s), e.detail, e.own ? "" : e.actor);
  }

  // ------------------------------------------------------------------ the side panel

  function renderPanel() {
    const s = seats.get(selected);
    for (const b of grid.querySelectorAll(".pc-seat")) {
      const on = Number(b.dataset.seatId) === selected;
      b.classList.toggle("pc-selected", on);
      b.setAttribute("aria-pressed", String(on));
    }
    if (!s) {
      panelBody.hidden = true;
      panelEmpty.hidden = false;
      return;
    }
    panelBody.hidden = false;
    panelEmpty.hidden = true;
    const rowsInfo = [
      ["座位", `${s.row}排${s.col}座${s.form ? `（${s.form}卷）` : ""}`],
      ["姓名", s.name],
      ["准考证号", s.ticket_no],
      ["身份证号", s.id_masked],
      ["状态", `${s.status_label}${s.online ? "（在线）" : ""}`],
      ["已答", s.item_count ? `${s.answered} / ${s.item_count}` : "—"],
      ["最近保存", s.last_saved_at ? time(s.last_saved_at, true) : "—"],
      ["离开页面", `${s.focus_losses || 0} 次`],
      ["粘贴拦截", `${s.paste_blocked || 0} 次`],
      ["警告", `${s.warnings || 0} 次`],
      ["违纪记录", `${s.incidents || 0} 条`],
    ];
    if (s.pending_move) rowsInfo.push(["换机申请", `新设备 ${s.pending_move.device}，${time(s.pending_move.requested_at, true)}`]);
    panelInfo.replaceChildren(...rowsInfo.flatMap(([k, v]) => [node("dt", "", k), node("dd", "", v)]));
    if (panelPhoto) {
      // The photo route answers only this room's proctors; no photo (404) leaves it hidden.
      const src = s.person_id ? `/people/${s.person_id}/photo.jpg` : "";
      if (panelPhoto.dataset.src !== src) {
        panelPhoto.dataset.src = src;
        panelPhoto.hidden = true;
        if (src) panelPhoto.src = src; else panelPhoto.removeAttribute("src");
      }
    }
    if (canAct) {
      const move = panel.querySelector('[data-act="approve_move"]');
      if (move) move.hidden = !s.pending_move;
      for (const b of panel.querySelectorAll("[data-act]")) b.disabled = !s.attempt_id;
      // Only what the seat's status allows (the server refuses the rest anyway).
      const closed = CLOSED.has(s.attempt_status);
      for (const e of panel.querySelectorAll("[data-when]")) {
        const when = e.dataset.when;
        e.hidden = when === "open" ? closed : s.attempt_status !== when;
      }
      panel.querySelector("[data-panel-closed]").hidden = !closed;
    }
  }

  grid.addEventListener("click", (event) => {
    const b = event.target.closest(".pc-seat");
    if (!b) return;
    selected = Number(b.dataset.seatId);
    result.textContent = "";
    renderPanel();
  });

  // ------------------------------------------------------------------ the socket

  // Websocket only, as the exam page: with several server processes on one port a polling
  // session could land on a process that does not know it (web/serve.py).
  const socket = window.io("/proctor", { transports: ["websocket"] });

  function setConn(text, cls) {
    conn.textContent = text;
    conn.className = `pc-conn tag ${cls}`;
  }

  socket.on("connect", () => {
    setConn("实时连接正常", "ok");
    socket.timeout(ACK_TIMEOUT_MS).emit("watch", { room_id: roomId }, (err, ack) => {
      if (err || !ack) return setConn("获取座位图超时，正在重试…", "warn");
      if (!ack.ok) return setConn(ack.error, "off");
      seats.clear();
      for (const s of ack.snapshot.seats) {
        seats.set(s.seat_id, s);
        if (s.last_event && !lastEvent.has(s.seat_id)) lastEvent.set(s.seat_id, s.last_event.id);
      }
      renderGrid();
      renderPanel();
      renderOpened(ack.snapshot.room.opened_at);
      feed.dataset.live = "1";
      return undefined;
    });
  });
  socket.on("disconnect", () => setConn("连接已断开，正在重新连接…", "warn"));
  socket.on("connect_error", (err) => setConn((err && err.message) || "无法连接服务器，正在重试…", "off"));
  socket.on("seat", (summary) => {
    if (summary && summary.room_id === roomId && summary.seat_id) updateSeat(summary);
  });
  // Candidate events arrive coalesced: the seats that changed in the last second, per room.
  socket.on("seats", (batch) => {
    if (!batch || batch.room_id !== roomId || !Array.isArray(batch.seats)) return;
    for (const summary of batch.seats) {
      if (summary && summary.seat_id) updateSeat(summary);
    }
  });

  function send(event, payload, done) {
    result.textContent = "正在提交…";
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
      if (err || !ack) {
        result.textContent = "服务器未确认，操作可能未完成，请查看座位状态后再试。";
        return;
      }
      if (!ack.ok) {
        result.textContent = ack.error;
        return;
      }
      if (ack.seat) updateSeat(ack.seat);
      done(ack);
    });
  }

  if (!canAct) return;

  // ------------------------------------------------------------------ actions on one seat

  const field = (name) => panel.querySelector(`[data-f="${name}"]`);
  const ACT_LABELS = {
    pause: "已暂停", resume: "已恢复", extend: "已延长时间", warn: "已发出警告", incident: "已记录违纪",
    terminate: "已终止考试", approve_move: "已批准换机",
  };

  panel.addEventListener("click", (event) => {
    const b = event.target.closest("[data-act]");
    if (!b) return;
    const s = seats.get(selected);
    if (!s || !s.attempt_id) return;
    const act = b.dataset.act;
    const reason = field("reason").value.trim();
    const tier = Number(field("tier").value);
    const payload = { attempt_id: s.attempt_id };
    if (act === "pause" || act === "resume") {
      if (reason) payload.reason = reason;
    } else if (act === "extend") {
      payload.minutes = Number(field("minutes").value);
      payload.reason = reason;
      if (!window.confirm(`为 ${seatName(s)} 延长 ${payload.minutes} 分钟？`)) return;
    } else if (act === "warn") {
      payload.message = field("message").value.trim();
    } else if (act === "incident") {
      payload.tier = tier;
      payload.description = field("description").value.trim();
    } else if (act === "terminate") {
      payload.reason = reason;
      payload.tier = tier;
      if (!reason) {
        result.textContent = "请填写终止原因。";
        return;
      }
      if (!window.confirm(`确认终止 ${seatName(s)} 的考试？终止后不能恢复。\n原因：${reason}`)) return;
    } else if (act === "approve_move") {
      if (!window.confirm(`批准 ${seatName(s)} 换到新电脑继续作答？原电脑上的页面将停止作答。`)) return;
    }
    send(act, payload, () => {
      result.textContent = `${seatName(s)}：${ACT_LABELS[act] || "已完成"}。`;
      if (act === "warn") field("message").value = "";
      if (act === "incident") field("description").value = "";
    });
  });

  // ------------------------------------------------------------------ room-wide actions

  const roomReason = root.querySelector("[data-room-reason]");
  const roomMinutes = root.querySelector("[data-room-minutes]");
  const ROOM_CONFIRM = {
    open: "确认开考？考生确认身份后即可开始作答。",
    pause_room: "确认暂停全场所有正在作答的考生？",
    resume_room: "确认恢复全场所有已暂停的考生？",
  };

  for (const b of root.querySelectorAll("[data-room-action]")) {
    b.addEventListener("click", () => {
      const act = b.dataset.roomAction;
      const label = b.textContent;
      const reason = roomReason.value.trim();
      let event = act;
      const payload = { room_id: roomId };
      if (act === "pause_room" || act === "resume_room") {
        if (reason) payload.reason = reason;
      } else if (act === "extend_room") {
        event = "extend";
        payload.minutes = Number(roomMinutes.value);
        payload.reason = reason;
        if (!reason) {
          result.textContent = "全场延时请在“原因”中填写原因。";
          return;
        }
      }
      const question = ROOM_CONFIRM[act] || `确认为全场考生延长 ${payload.minutes} 分钟？原因：${reason}`;
      if (!window.confirm(question)) return;
      send(event, payload, (ack) => {
        // The feed line comes with the seats' push, to every console of the room.
        const refused = ack.refused.length ? `，${ack.refused.length} 人未变更（状态不适用）` : "";
        result.textContent = `${label}：${ack.changed.length} 人已变更${refused}。`;
        if (act === "open") renderOpened(new Date().toISOString());
      });
    });
  }
})();
