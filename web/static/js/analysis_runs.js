// Calibration run page (题目分析 · 标定任务): while the run is queued or running, poll its
// status.json every second and move the progress bar; once it is done or failed, reload the
// page so the server renders the results. Nothing here is needed to read the results.

(() => {
  const box = document.getElementById("run-status");
  if (!box) return;
  const url = box.dataset.statusUrl;
  if (!url || !["queued", "running"].includes(box.dataset.status)) return;

  const bar = box.querySelector("[data-run-progress]");
  const percent = box.querySelector("[data-run-percent]");
  const stage = box.querySelector("[data-run-stage]");
  const message = box.querySelector("[data-run-message]");
  const tag = document.querySelector("h1 .tag");
  let failures = 0;

  const show = (data) => {
    const value = Math.max(0, Math.min(100, Number(data.progress) || 0));
    if (bar) {
      bar.value = value;
      bar.textContent = `${value}%`;
    }
    if (percent) percent.textContent = `${value}%`;
    if (stage) stage.textContent = data.stage || "";
    if (message) message.textContent = data.message || "";
    if (tag && data.status_label) {
      tag.textContent = data.status_label;
      tag.className = `tag ar-status-${data.status}`;
    }
  };

  const poll = async () => {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store",
                                          credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      failures = 0;
      show(data);
      if (data.finished) {
        window.location.reload();
        return;
      }
    } catch (error) {
      failures += 1;
      if (message && failures >= 5) message.textContent = "暂时无法获取进度，正在重试……";
    }
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 1000);
})();
