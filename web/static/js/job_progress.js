// Background job page (后台任务): while the job is queued or running, poll its status.json
// every 1.5 s and move the progress bar; once it is done or failed, reload the page so the
// server renders the result (download link, row errors). Nothing here is needed to read it.

(() => {
  const box = document.getElementById("job-status");
  if (!box) return;
  const url = box.dataset.statusUrl;
  if (!url || !["queued", "running"].includes(box.dataset.status)) return;

  const bar = box.querySelector("[data-job-progress]");
  const percent = box.querySelector("[data-job-percent]");
  const stage = box.querySelector("[data-job-stage]");
  const message = box.querySelector("[data-job-message]");
  let failures = 0;

  const show = (data) => {
    const value = Math.max(0, Math.min(100, Number(data.progress) || 0));
    if (bar) {
      bar.value = value;
      bar.textContent = `${value}%`;
    }
    if (percent) percent.textContent = `${value}%`;
    if (stage) stage.textContent = data.stage || "";
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
    window.setTimeout(poll, 1500);
  };
  window.setTimeout(poll, 1500);
})();
