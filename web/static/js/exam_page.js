// The candidate's exam page (UI). The protocol and the answer journal live in exam_client.js;
// this file renders the state it reports: identity, instructions and waiting room, the items
// with their widgets, navigation, flags, the countdown, the save state, pause and end screens,
// submission, keyboard use and the anti-cheating signals.
(function () {
  "use strict";

  const app = document.getElementById("exam-app");
  if (!app || typeof window.ExamClient !== "function" || typeof window.io !== "function") return;

  const attemptId = parseInt(app.dataset.attemptId, 10);
  const $ = (id) => document.getElementById(id);
  const TYPE_LABELS = {
    single_choice: "单选题", multiple_choice: "多选题", true_false: "判断题", fill_in: "填空题",
    short_answer: "简答题", calculation: "计算题", essay: "论述题",
  };
  const TEXT_TYPES = new Set(["short_answer", "calculation", "essay"]);
  const LETTERS = "ABCDEFGH";
  const FINAL = new Set(["submitted", "expired", "terminated"]);
  const FLAG_KEY = "exam.flags." + attemptId;
  const DEBOUNCE_MS = 800;
  const VIEWS = ["view-loading", "view-blocked", "view-identity", "view-waiting", "view-answer", "view-end"];

  const ui = {
    state: null,
    current: 0, // index into state.items (display order)
    itemsKey: "",
    flags: loadFlags(),
    clock: null, // {seconds, at, running, deadlineMs}
    warned: {},
    everConnected: false,
    online: false,
    blocked: null,
    debounce: null, // {position, timer, read}
    lastFocusNotice: 0,
    submitting: false, // the confirmed submission is on its way
    startGated: false, // 开始作答 waits for the room's start
  };

  // ------------------------------------------------------------------ helpers

  function loadFlags() {
    try {
      const list = JSON.parse(localStorage.getItem(FLAG_KEY) || "[]");
      return new Set(Array.isArray(list) ? list.filter(Number.isInteger) : []);
    } catch (e) {
      return new Set();
    }
  }

  function saveFlags() {
    try { localStorage.setItem(FLAG_KEY, JSON.stringify(Array.from(ui.flags))); } catch (e) { /* memory only */ }
  }

  function show(id, visible) { const el = $(id); if (el) el.hidden = !visible; }

  function showView(id) { VIEWS.forEach((v) => show(v, v === id)); }

  function text(id, value) { const el = $(id); if (el) el.textContent = value == null ? "" : String(value); }

  function hhmm(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });
  }

  function labelsOf(value) {
    if (Array.isArray(value)) return value.map(String);
    if (typeof value === "string" && value) return value.replace(/[,，\s]/g, "").split("");
    return [];
  }

  function isAnswered(value) {
    if (value == null) return false;
    if (Array.isArray(value)) return value.some((v) => String(v).trim() !== "");
    return String(value).trim() !== "";
  }

  let noticeTimer = null;
  function notice(message, kind) {
    if (!message) return;
    const box = $("exam-notice");
    text("exam-notice-text", message);
    box.className = "exam-notice exam-notice-" + (kind || "info");
    box.hidden = false;
    clearTimeout(noticeTimer);
    if (kind !== "error" && kind !== "warn") noticeTimer = setTimeout(() => { box.hidden = true; }, 10000);
  }

  // ------------------------------------------------------------------ client

  const client = new window.ExamClient({
    attemptId: attemptId,
    io: window.io,
    storage: window.localStorage,
    env: window,
    onState: render,
    onSave: renderSave,
    onConnection: (online) => {
      ui.online = online;
      if (online) ui.everConnected = true;
      renderOffline();
      renderSave(client.saveInfo());
    },
    onStatus: (push) => {
      if (push.message) notice(push.message, push.reason === "warned" || push.reason === "terminated" ? "warn" : "info");
    },
    onNotice: notice,
    onBlocked: (kind, message) => {
      ui.blocked = kind;
      renderOffline();
      text("blocked-title", kind === "move_pending" ? "等待监考员批准换机" : "无法继续作答");
      text("blocked-message", message);
      show("blocked-retry", kind === "move_pending");
      show("blocked-takeover", kind === "superseded");
      showView("view-blocked");
      stopClockDisplay();
    },
  });

  // ------------------------------------------------------------------ rendering

  function render(state) {
    ui.state = state;
    ui.blocked = null;
    renderOffline();
    text("exam-title", state.title || "考试");
    const seat = state.seat ? `${state.seat.number} 号（第 ${state.seat.row} 排第 ${state.seat.col} 列）` : "";
    text("exam-subtitle", [state.place, state.room && "考场：" + state.room, seat && "座位：" + seat]
      .filter(Boolean).join(" · "));
    const who = state.candidate || {};
    text("id-name", who.name);
    text("id-number", who.id_number);
    text("id-ticket", who.ticket_no);
    text("id-room", state.room);
    text("id-seat", seat);
    text("rule-minutes", state.allowed_minutes);
    renderRuleTimes(state);
    syncClock(state);
    show("exam-pause", state.status === "paused");
    switch (state.status) {
      case "not_started":
        showView("view-identity");
        break;
      case "waiting":
        renderWaiting(state);
        break;
      case "in_progress":
      case "paused":
        renderAnswering(state);
        break;
      default:
        renderEnd(state);
    }
  }

  // The room's clock (docs/protocol.md, State): one start and one end for the whole room.
  function renderRuleTimes(state) {
    const parts = [];
    if (state.begins_at) {
      parts.push(`本场开考时刻 ${hhmm(state.begins_at)}，全场 ${hhmm(state.ends_at)} 结束`);
      parts.push(`${hhmm(state.late_entry_until)} 后不得入场`);
      parts.push(`${hhmm(state.earliest_submit_at)} 起可交卷`);
    } else if (state.starts_at) {
      parts.push(`计划开考时间 ${hhmm(state.starts_at)}`);
    }
    text("rule-times", parts.length ? parts.join("；") + "。" : "");
    show("rule-times", parts.length > 0);
  }

  // Epoch ms on the server's clock as estimated from the acks (exam_client.js), else local.
  function serverNowMs() {
    const now = client.serverNow();
    return now === null ? Date.now() : now;
  }

  function beforeMs(iso) { return Boolean(iso) && serverNowMs() < Date.parse(iso); }

  function renderWaiting(state) {
    showView("view-waiting");
    ui.startGated = false;
    if (state.opened && beforeMs(state.begins_at)) {
      ui.startGated = true;
      text("waiting-text", `监考员已开考，考试将于 ${hhmm(state.begins_at)} 开始，届时可点击“开始作答”。`);
      show("btn-start", true);
      $("btn-start").disabled = true;
    } else if (state.opened) {
      const until = state.late_entry_until ? `，请在 ${hhmm(state.late_entry_until)} 前开始` : "";
      text("waiting-text", `监考员已开考${until}。考试时间从开考时刻起计算，全场同时结束。`);
      show("btn-start", true);
      $("btn-start").disabled = false;
    } else {
      text("waiting-text", "身份已确认。请等待监考员开考，开考后本页会自动提示。");
      show("btn-start", false);
    }
  }

  // 确认交卷 is disabled until the earliest-submit instant, with the rule's own words; the
  // server decides with its own clock (a refusal there says the same).
  function submitGate() {
    const state = ui.state;
    if (!state || !beforeMs(state.earliest_submit_at) || remaining() <= 0) return null;
    return `开考 ${state.earliest_submit_minutes} 分钟内不得交卷，${hhmm(state.earliest_submit_at)} 起方可交卷。`;
  }

  function renderSubmitGate() {
    const gate = submitGate();
    text("dlg-submit-gate", gate || "");
    show("dlg-submit-gate", Boolean(gate));
    if (!ui.submitting) $("dlg-submit-ok").disabled = Boolean(gate);
  }

  function renderEnd(state) {
    showView("view-end");
    stopClockDisplay();
    const titles = { submitted: "试卷已提交", expired: "考试时间到，已自动交卷", terminated: "考试已被终止" };
    const messages = {
      submitted: "您的答案已全部保存并提交。请按监考员的指示离开考场。",
      expired: "考试时间已到，系统已自动收卷，已保存的答案全部有效。",
      terminated: "监考员已终止您的本场考试，答案不再保存。如有疑问请咨询监考员。",
    };
    text("end-title", titles[state.status] || "考试已结束");
    text("end-message", messages[state.status] || "");
  }

  function renderAnswering(state) {
    showView("view-answer");
    const items = state.items || [];
    const key = items.map((i) => i.position).join(",");
    if (key !== ui.itemsKey) {
      ui.itemsKey = key;
      ui.current = Math.min(ui.current, Math.max(items.length - 1, 0));
      buildGrid(items);
      renderItem();
    } else if (!typingHere()) {
      renderItem(true);
    }
    renderProgress();
  }

  function typingHere() {
    const widget = $("item-widget");
    return ui.debounce !== null || (document.activeElement && widget.contains(document.activeElement) &&
      /^(TEXTAREA|INPUT)$/.test(document.activeElement.tagName) && document.activeElement.type !== "radio" &&
      document.activeElement.type !== "checkbox");
  }

  function currentItem() {
    const items = (ui.state && ui.state.items) || [];
    return items[ui.current] || null;
  }

  function answerOf(position) {
    const a = client.answers()[String(position)];
    return a ? a.value : null;
  }

  function renderItem(keepFocus) {
    const item = currentItem();
    if (!item) return;
    const focusedOption = keepFocus && document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.index : undefined;
    text("item-number", item.number);
    $("view-answer").dataset.position = String(item.position);
    $("view-answer").dataset.number = String(item.number);
    text("item-meta", `${TYPE_LABELS[item.type] || ""} · ${formatPoints(item.points)} 分 · 共 ${ui.state.items.length} 题`);
    const stem = $("item-stem");
    stem.innerHTML = item.stem_html; // sanitised server-side (nh3)
    if (window.ItemRender) window.ItemRender.render(stem);
    const widget = $("item-widget");
    widget.replaceChildren(buildWidget(item, answerOf(item.position)));
    if (window.ItemRender) window.ItemRender.render(widget);
    if (focusedOption !== undefined) {
      const again = widget.querySelector(`[data-index="${focusedOption}"]`);
      if (again) again.focus();
    }
    renderFlag();
    $("btn-prev").disabled = ui.current === 0;
    $("btn-next").disabled = ui.current >= ui.state.items.length - 1;
  }

  function formatPoints(p) { return Number.isInteger(p) ? String(p) : String(Math.round(p * 100) / 100); }

  function buildWidget(item, value) {
    const frag = document.createDocumentFragment();
    if (item.type === "single_choice" || item.type === "multiple_choice" || item.type === "true_false") {
      const multiple = item.type === "multiple_choice";
      const group = document.createElement("div");
      group.className = "exam-options";
      group.setAttribute("role", multiple ? "group" : "radiogroup");
      group.setAttribute("aria-label", multiple ? "选项（可多选）" : "选项");
      const options = item.type === "true_false"
        ? (item.choices || ["√", "×"]).map((c) => ({ label: c, text: c === "√" ? "√ 正确" : "× 错误" }))
        : (item.options || []);
      const chosen = new Set(item.type === "true_false" ? (value ? [String(value)] : []) : labelsOf(value));
      options.forEach((opt, k) => {
        const label = document.createElement("label");
        label.className = "exam-option";
        const input = document.createElement("input");
        input.type = multiple ? "checkbox" : "radio";
        input.name = "exam-opt-" + item.position;
        input.value = opt.label;
        input.dataset.index = String(k);
        input.checked = chosen.has(opt.label);
        input.addEventListener("change", () => onChoice(item));
        const letter = document.createElement("span");
        letter.className = "exam-option-letter";
        letter.textContent = item.type === "true_false" ? String(k + 1) : LETTERS[k];
        letter.setAttribute("aria-hidden", "true");
        const body = document.createElement("span");
        body.className = "exam-option-body item-render";
        if (opt.html !== undefined) body.innerHTML = opt.html; // sanitised server-side
        else body.textContent = opt.text;
        input.setAttribute("aria-label", (item.type === "true_false" ? "" : "选项 " + LETTERS[k] + "：") +
          (body.textContent || opt.label));
        label.append(input, letter, body);
        if (input.checked) label.classList.add("checked");
        group.appendChild(label);
      });
      frag.appendChild(group);
    } else if (TEXT_TYPES.has(item.type)) {
      const area = document.createElement("textarea");
      area.className = "exam-text";
      area.rows = item.type === "essay" ? 14 : 8;
      if (item.max_length) area.maxLength = item.max_length;
      area.value = value == null ? "" : String(value);
      area.setAttribute("aria-label", `第 ${item.number} 题作答`);
      const count = document.createElement("div");
      count.className = "muted small exam-text-count";
      const updateCount = () => {
        count.textContent = `${area.value.length}${item.max_length ? " / " + item.max_length : ""} 字`;
      };
      updateCount();
      area.addEventListener("input", () => { updateCount(); schedule(item, () => area.value); });
      area.addEventListener("blur", () => flushDebounce());
      frag.append(area, count);
    } else if (item.type === "fill_in") {
      const n = item.blank_count || 1;
      const values = Array.isArray(value) ? value : [];
      const inputs = [];
      const box = document.createElement("div");
      box.className = "exam-blanks";
      for (let k = 0; k < n; k += 1) {
        const label = document.createElement("label");
        label.textContent = `第 ${k + 1} 空 `;
        const input = document.createElement("input");
        input.type = "text";
        input.className = "exam-blank";
        input.value = values[k] == null ? "" : String(values[k]);
        input.addEventListener("input", () => schedule(item, () => inputs.map((i) => i.value)));
        input.addEventListener("blur", () => flushDebounce());
        inputs.push(input);
        label.appendChild(input);
        box.appendChild(label);
      }
      frag.appendChild(box);
    } else {
      const p = document.createElement("p");
      p.textContent = "本题型暂不支持在线作答，请咨询监考员。";
      frag.appendChild(p);
    }
    return frag;
  }

  function onChoice(item) {
    const inputs = Array.from($("item-widget").querySelectorAll("input"));
    inputs.forEach((i) => i.closest("label").classList.toggle("checked", i.checked));
    const picked = inputs.filter((i) => i.checked).map((i) => i.value);
    let value;
    if (item.type === "multiple_choice") value = picked.slice().sort();
    else value = picked.length ? picked[0] : null;
    if (value === null) return;
    client.record(item.position, value);
    renderProgress();
  }

  function schedule(item, read) {
    if (ui.debounce && ui.debounce.position !== item.position) flushDebounce();
    if (ui.debounce) clearTimeout(ui.debounce.timer);
    ui.debounce = { position: item.position, read: read, timer: setTimeout(flushDebounce, DEBOUNCE_MS) };
    renderProgress();
  }

  function flushDebounce() {
    const d = ui.debounce;
    if (!d) return;
    clearTimeout(d.timer);
    ui.debounce = null;
    const value = d.read();
    const before = answerOf(d.position);
    if (JSON.stringify(before == null ? "" : before) === JSON.stringify(value)) return;
    client.record(d.position, value);
    renderProgress();
  }

  function buildGrid(items) {
    const grid = $("exam-grid");
    grid.replaceChildren();
    items.forEach((item, k) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "exam-cell";
      b.textContent = String(item.number);
      b.dataset.k = String(k);
      b.addEventListener("click", () => go(k));
      grid.appendChild(b);
    });
  }

  function counts() {
    const items = (ui.state && ui.state.items) || [];
    const answers = client.answers();
    let answered = 0;
    let flagged = 0;
    items.forEach((item) => {
      const a = answers[String(item.position)];
      if (a && isAnswered(a.value)) answered += 1;
      if (ui.flags.has(item.position)) flagged += 1;
    });
    return { total: items.length, answered: answered, unanswered: items.length - answered, flagged: flagged };
  }

  function renderProgress() {
    const items = (ui.state && ui.state.items) || [];
    const answers = client.answers();
    Array.from($("exam-grid").children).forEach((b) => {
      const k = parseInt(b.dataset.k, 10);
      const item = items[k];
      if (!item) return;
      const a = answers[String(item.position)];
      const done = Boolean(a && isAnswered(a.value));
      const flag = ui.flags.has(item.position);
      b.classList.toggle("answered", done);
      b.classList.toggle("flagged", flag);
      b.classList.toggle("current", k === ui.current);
      if (k === ui.current) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
      b.setAttribute("aria-label", `第 ${item.number} 题，${done ? "已答" : "未答"}${flag ? "，已标记" : ""}`);
    });
    const c = counts();
    text("count-answered", c.answered);
    text("count-unanswered", c.unanswered);
    text("count-flagged", c.flagged);
  }

  function renderFlag() {
    const item = currentItem();
    const flagged = Boolean(item && ui.flags.has(item.position));
    show("item-flag-tag", flagged);
    const btn = $("btn-flag");
    btn.setAttribute("aria-pressed", flagged ? "true" : "false");
    btn.textContent = flagged ? "取消标记 (F)" : "标记待查 (F)";
  }

  function go(k) {
    const items = (ui.state && ui.state.items) || [];
    if (!items.length || k < 0 || k >= items.length) return;
    flushDebounce();
    const hadFocusInside = $("view-answer").contains(document.activeElement);
    ui.current = k;
    renderItem();
    renderProgress();
    if (!hadFocusInside || !document.body.contains(document.activeElement) || document.activeElement === document.body) {
      $("item-heading").focus();
    }
  }

  function toggleFlag() {
    const item = currentItem();
    if (!item) return;
    if (ui.flags.has(item.position)) ui.flags.delete(item.position); else ui.flags.add(item.position);
    saveFlags();
    renderFlag();
    renderProgress();
  }

  function chooseOption(k) {
    const item = currentItem();
    if (!item || ui.state.status !== "in_progress") return;
    const input = $("item-widget").querySelector(`input[data-index="${k}"]`);
    if (!input) return;
    if (input.type === "checkbox") input.checked = !input.checked;
    else input.checked = true;
    input.focus();
    onChoice(item);
  }

  // ------------------------------------------------------------------ save state, offline

  function renderSave(info) {
    const el = $("exam-save");
    let label;
    let cls;
    if (!info.online) {
      label = info.pending ? `离线 · 未同步 ${info.pending} 条` : "离线";
      cls = "offline";
    } else if (info.pending && info.sending) {
      label = `保存中…（${info.pending} 条）`;
      cls = "saving";
    } else if (info.pending) {
      label = `未同步 ${info.pending} 条`;
      cls = "pending";
    } else if (ui.debounce) {
      label = "保存中…";
      cls = "saving";
    } else {
      label = "已保存";
      cls = "saved";
    }
    if (!info.storageOk) label += "（本机存储已满）";
    el.textContent = label;
    el.className = "exam-save exam-save-" + cls;
    el.dataset.pending = String(info.pending);
    if (ui.state && (ui.state.status === "in_progress" || ui.state.status === "paused")) renderProgress();
  }

  function renderOffline() {
    show("exam-offline", !ui.online && !ui.blocked && (ui.everConnected || client.netDown));
  }

  // ------------------------------------------------------------------ clock

  function syncClock(state) {
    const running = state.status === "in_progress";
    const shown = running || state.status === "paused";
    // Counted down to the deadline on the server's clock, as estimated by exam_client.js from
    // the quickest round trip: a slow ack does not shift it (docs/protocol.md, "Clock").
    ui.clock = { seconds: state.remaining_seconds, at: performance.now(), running: running,
                 deadlineMs: typeof state.deadlineMs === "number" ? state.deadlineMs : null };
    show("exam-clock", shown);
    if (shown) tick();
  }

  function remaining() {
    if (!ui.clock) return 0;
    if (!ui.clock.running) return Math.max(0, ui.clock.seconds);
    const serverNow = client.serverNow();
    if (ui.clock.deadlineMs !== null && serverNow !== null) {
      return Math.max(0, (ui.clock.deadlineMs - serverNow) / 1000);
    }
    return Math.max(0, ui.clock.seconds - (performance.now() - ui.clock.at) / 1000);
  }

  function stopClockDisplay() { show("exam-clock", false); }

  let lastRefreshAtZero = 0;
  function tick() {
    if (!ui.clock || !ui.state) return;
    if ($("dlg-submit").open) renderSubmitGate();
    if (ui.startGated && ui.state.status === "waiting" && !beforeMs(ui.state.begins_at)) renderWaiting(ui.state);
    const left = Math.ceil(remaining());
    const h = Math.floor(left / 3600);
    const m = Math.floor((left % 3600) / 60);
    const s = left % 60;
    const pad = (n) => String(n).padStart(2, "0");
    const el = $("exam-clock");
    el.textContent = (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
    el.setAttribute("aria-label", `剩余时间 ${h ? h + " 小时 " : ""}${m} 分 ${s} 秒`);
    el.classList.toggle("exam-clock-warn", left <= 15 * 60 && left > 5 * 60);
    el.classList.toggle("exam-clock-danger", left <= 5 * 60);
    if (ui.clock.running) {
      [15, 5].forEach((mins) => {
        if (left <= mins * 60 && left > 0 && !ui.warned[mins] && ui.clock.seconds > mins * 60 - 30) {
          ui.warned[mins] = true;
          notice(`距离考试结束还有 ${mins} 分钟，请注意检查答案。`, "warn");
        }
        if (left <= mins * 60) ui.warned[mins] = true;
      });
      if (left === 0 && performance.now() - lastRefreshAtZero > 5000) {
        lastRefreshAtZero = performance.now();
        flushDebounce();
        text("exam-save", "时间到，正在收卷…");
        client.refresh();
      }
    }
  }
  setInterval(tick, 250);

  // ------------------------------------------------------------------ actions

  async function lifecycle(event, button) {
    if (button) button.disabled = true;
    try {
      const ack = await client.lifecycle(event);
      if (!ack || !ack.ok) notice((ack && ack.error) || "操作未完成，请重试。", "error");
      return ack;
    } catch (e) {
      notice("网络未连接，请稍后重试。", "error");
      return null;
    } finally {
      if (button) button.disabled = false;
    }
  }

  $("btn-arrive").addEventListener("click", () => lifecycle("arrive", $("btn-arrive")));
  $("btn-start").addEventListener("click", () => lifecycle("start", $("btn-start")));
  $("btn-prev").addEventListener("click", () => go(ui.current - 1));
  $("btn-next").addEventListener("click", () => go(ui.current + 1));
  $("btn-flag").addEventListener("click", toggleFlag);
  $("btn-help").addEventListener("click", () => openDialog("dlg-help"));
  $("dlg-help-close").addEventListener("click", () => $("dlg-help").close());
  $("exam-notice-close").addEventListener("click", () => { $("exam-notice").hidden = true; });
  $("blocked-takeover").addEventListener("click", () => {
    showView("view-loading");
    client.takeOver();
  });
  $("item-heading").tabIndex = -1;

  function openDialog(id) {
    const dlg = $(id);
    if (!dlg.open) dlg.showModal();
  }

  // Submit: confirmation with the counts, then empty the journal, then `submit`.
  $("btn-submit").addEventListener("click", () => {
    flushDebounce();
    const c = counts();
    const summary = `本卷共 ${c.total} 题：已答 ${c.answered} 题，未答 ${c.unanswered} 题，标记待查 ${c.flagged} 题。交卷后不能再修改答案。`;
    text("dlg-submit-summary", summary);
    show("dlg-submit-error", false);
    ui.submitting = false;
    renderSubmitGate();
    openDialog("dlg-submit");
    // While gated, ask for the authoritative state: the gate then follows the server's
    // current instants (the clock ticks re-render it while the dialog is open).
    if (submitGate()) client.refresh();
  });
  $("dlg-submit-cancel").addEventListener("click", () => $("dlg-submit").close());
  $("dlg-submit-ok").addEventListener("click", async () => {
    const ok = $("dlg-submit-ok");
    const fail = (message) => {
      text("dlg-submit-error", message);
      show("dlg-submit-error", true);
      ui.submitting = false;
      renderSubmitGate();
    };
    if (submitGate()) { renderSubmitGate(); return; }
    if (!ui.online) {
      fail("网络未连接，暂不能交卷。答案已保存在本机，请等待网络恢复后再交卷。");
      return;
    }
    ok.disabled = true;
    ui.submitting = true;
    text("dlg-submit-error", "正在提交尚未同步的答案…");
    show("dlg-submit-error", true);
    try {
      await client.drain(20000);
    } catch (e) {
      fail(e && e.message === "offline"
        ? "网络已断开，暂不能交卷。答案已保存在本机，请等待网络恢复后再交卷。"
        : "仍有答案未能同步到服务器，请稍后再交卷。");
      return;
    }
    let ack = null;
    try {
      ack = await client.lifecycle("submit");
    } catch (e) {
      fail("网络未连接，请稍后重试。");
      return;
    }
    if (!ack || !ack.ok) {
      fail((ack && ack.error) || "交卷未完成，请重试。");
      return;
    }
    ui.submitting = false;
    $("dlg-submit").close();
  });

  $("form-goto").addEventListener("submit", (e) => {
    e.preventDefault();
    const n = parseInt($("goto-number").value, 10);
    const items = (ui.state && ui.state.items) || [];
    const k = items.findIndex((i) => i.number === n);
    $("dlg-goto").close();
    if (k >= 0) go(k);
    else notice(`题号应在 1 至 ${items.length} 之间。`, "error");
  });
  $("dlg-goto-cancel").addEventListener("click", () => $("dlg-goto").close());

  // ------------------------------------------------------------------ keyboard

  function answering() {
    return ui.state && (ui.state.status === "in_progress" || ui.state.status === "paused") && !ui.blocked;
  }

  document.addEventListener("keydown", (e) => {
    if (document.querySelector("dialog[open]")) return; // the dialog handles its own keys (Esc closes)
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target;
    const typing = target && (target.tagName === "TEXTAREA" ||
      (target.tagName === "INPUT" && !["radio", "checkbox", "button"].includes(target.type)));
    if (typing) {
      if (e.key === "Escape") { target.blur(); $("item-heading").focus(); }
      return;
    }
    if (e.key === "?") { e.preventDefault(); openDialog("dlg-help"); return; }
    if (!answering()) return;
    const key = e.key.length === 1 ? e.key.toUpperCase() : e.key;
    if (key === "ArrowLeft") { e.preventDefault(); go(ui.current - 1); return; }
    if (key === "ArrowRight") { e.preventDefault(); go(ui.current + 1); return; }
    if (key === "F") { e.preventDefault(); toggleFlag(); return; }
    if (key === "G") {
      e.preventDefault();
      $("goto-number").value = "";
      $("goto-number").max = String(ui.state.items.length);
      openDialog("dlg-goto");
      $("goto-number").focus();
      return;
    }
    if (/^[1-9]$/.test(key)) { e.preventDefault(); chooseOption(parseInt(key, 10) - 1); return; }
    if (/^[A-H]$/.test(key)) { e.preventDefault(); chooseOption(LETTERS.indexOf(key)); return; }
    if ((key === "Enter") && target && target.tagName === "INPUT" &&
        (target.type === "radio" || target.type === "checkbox")) {
      e.preventDefault();
      target.click();
    }
  });

  // ------------------------------------------------------------------ anti-cheating signals

  function inExam() { return ui.state && (ui.state.status === "in_progress" || ui.state.status === "paused"); }

  ["copy", "cut", "paste", "contextmenu", "dragstart", "drop"].forEach((type) => {
    document.addEventListener(type, (e) => {
      e.preventDefault();
      notice("考试期间禁止复制、粘贴、拖放和使用右键菜单。", "warn");
      client.signal("paste_blocked", type);
    });
  });

  let unloading = false; // a reload or leaving through a link is not a focus loss
  window.addEventListener("beforeunload", () => { unloading = true; });
  window.addEventListener("pageshow", () => { unloading = false; });

  function focusLost(detail) {
    if (!inExam() || unloading) return;
    client.signal("focus_loss", detail);
    ui.lastFocusNotice = Date.now();
    notice("检测到您离开了考试页面。考试期间请勿切换窗口或离开本页面，此行为已记录并报告监考员。", "warn");
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") focusLost("hidden");
  });
  window.addEventListener("blur", () => focusLost("blur"));

  window.addEventListener("beforeunload", () => flushDebounce());

  showView("view-loading");
  client.start();
})();
