// The examiner's score sheet (评分记录表) on a tablet: drafts go to the server as the examiner
// types; while the connection is lost they stay in this browser's localStorage (with the page's
// revision counter) and are sent when it returns, so nothing typed is lost. The server keeps
// only a draft newer than the one it has (web/skill/views.py save_draft). State shown:
// 已保存 (the server has everything typed), 未同步 (not yet sent), 保存中, or the server's refusal.
// Signing is a normal form post of the same fields and needs the connection.
(function () {
  "use strict";
  var signed = document.getElementById("sheet-signed");
  if (signed) {  // a signed sheet: nothing left to keep locally
    try { localStorage.removeItem("score-sheet:" + signed.dataset.sheet); } catch (e) { /* storage off */ }
  }
  var form = document.getElementById("score-sheet");
  if (!form) return;
  var key = "score-sheet:" + form.dataset.sheet;
  var url = form.dataset.draftUrl;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var stateEl = document.getElementById("sync-state");
  var totalEl = document.getElementById("sheet-total");
  var server = JSON.parse(form.dataset.state);
  var revision = server.revision || 0;
  var pending = null;
  var inflight = false;
  var timer = null;

  function setState(name, text) {
    stateEl.dataset.state = name;
    stateEl.textContent = text;
  }

  function fields(kind) {
    return Array.prototype.slice.call(form.querySelectorAll("input[name^='" + kind + "_']"));
  }

  function apply(data) {
    fields("mark").forEach(function (input) { input.value = (data.marks || {})[input.name.slice(5)] || ""; });
    fields("note").forEach(function (input) { input.value = (data.notes || {})[input.name.slice(5)] || ""; });
    form.querySelector("textarea[name=comment]").value = data.comment || "";
  }

  function collect() {
    var marks = {}, notes = {};
    fields("mark").forEach(function (input) { if (input.value.trim()) marks[input.name.slice(5)] = input.value.trim(); });
    fields("note").forEach(function (input) { if (input.value.trim()) notes[input.name.slice(5)] = input.value.trim(); });
    return { marks: marks, notes: notes, comment: form.querySelector("textarea[name=comment]").value };
  }

  function recount() {
    var tenths = 0;
    fields("mark").forEach(function (input) {
      var v = parseFloat(input.value);
      if (!isNaN(v)) tenths += Math.round(v * 10);
    });
    totalEl.textContent = String(tenths / 10);
  }

  function remember() {
    try { localStorage.setItem(key, JSON.stringify(pending)); } catch (e) { /* storage full or off */ }
  }

  function forget(rev) {
    try {
      var kept = JSON.parse(localStorage.getItem(key) || "null");
      if (kept && kept.revision <= rev) localStorage.removeItem(key);
    } catch (e) { /* ignore */ }
  }

  function send() {
    if (!pending || inflight) return;
    if (!navigator.onLine) { setState("offline", "未同步（网络已断开，草稿保存在本机）"); return; }
    inflight = true;
    var body = pending;
    setState("saving", "保存中…");
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (resp) {
      return resp.json().then(function (data) { return { ok: resp.ok, data: data }; });
    }).then(function (result) {
      if (result.ok) {
        forget(body.revision);
        if (pending === body) { pending = null; setState("saved", "已保存"); }
      } else {
        if (pending === body) pending = null;
        setState("error", "未保存：" + (result.data.error || "请检查填写内容"));
      }
    }).catch(function () {
      setState("offline", "未同步（网络已断开，草稿保存在本机）");
    }).then(function () {
      inflight = false;
      if (pending && pending !== body && navigator.onLine) send();
    });
  }

  function changed() {
    revision += 1;
    pending = collect();
    pending.revision = revision;
    remember();
    recount();
    setState("pending", "未同步");
    clearTimeout(timer);
    timer = setTimeout(send, 500);
  }

  apply(server);
  var kept = null;
  try { kept = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { kept = null; }
  if (kept && kept.revision > revision) {  // typed here while the server could not be reached
    apply(kept);
    revision = kept.revision;
    pending = kept;
    setState("pending", "未同步");
    send();
  }
  recount();
  form.addEventListener("input", changed);
  window.addEventListener("online", send);
  window.addEventListener("offline", function () { if (pending) setState("offline", "未同步（网络已断开，草稿保存在本机）"); });
  setInterval(send, 5000);
  form.addEventListener("submit", function (event) {
    if (!navigator.onLine) {
      event.preventDefault();
      setState("offline", "网络已断开：签名须在联网时提交，草稿已保存在本机");
      return;
    }
    if (!window.confirm("签名提交后不能再修改，确定提交吗？")) event.preventDefault();
  });
})();
