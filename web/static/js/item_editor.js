// Item editor: show the fields of the chosen item type, format toolbar, image upload and the
// live preview (POST to the server, which sanitises exactly as on save and renders the same
// partial as the exam page). Everything here is convenience: the server validates again.
(function () {
  "use strict";

  const form = document.getElementById("item-editor");
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // The blueprint picker reloads the page with the chosen blueprint's points.
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form && select.form.submit());
  });

  if (!form) return;

  const typeInput = form.querySelector('[name="item_type"]');
  const preview = document.getElementById("item-preview");

  // ---------------------------------------------------------------- type-specific fields

  function currentType() {
    return typeInput ? typeInput.value : "";
  }

  function showFieldsForType() {
    const type = currentType();
    form.querySelectorAll("[data-types]").forEach((el) => {
      el.hidden = !el.dataset.types.split(" ").includes(type);
    });
  }

  if (typeInput && typeInput.tagName === "SELECT") {
    typeInput.addEventListener("change", showFieldsForType);
  }
  showFieldsForType();

  // ---------------------------------------------------------------- toolbar

  let target = form.querySelector("[data-rich]");
  form.querySelectorAll("[data-rich]").forEach((el) => {
    el.addEventListener("focus", () => {
      target = el;
    });
  });

  function insert(before, after) {
    if (!target) return;
    const start = target.selectionStart;
    const end = target.selectionEnd;
    const selected = target.value.slice(start, end);
    target.setRangeText(before + selected + after, start, end, "select");
    const caret = selected ? start + before.length + selected.length + after.length : start + before.length;
    target.setSelectionRange(caret, caret);
    target.focus();
    target.dispatchEvent(new Event("input", { bubbles: true }));
  }

  form.querySelectorAll("[data-wrap-before]").forEach((button) => {
    button.addEventListener("mousedown", (event) => event.preventDefault()); // keep the selection
    button.addEventListener("click", () => insert(button.dataset.wrapBefore, button.dataset.wrapAfter || ""));
  });

  // ---------------------------------------------------------------- image upload

  const uploadButton = form.querySelector("[data-upload]");
  const uploadInput = form.querySelector("[data-upload-input]");
  const uploadStatus = form.querySelector("[data-upload-status]");
  const MAX_SHOWN_WIDTH = 600;

  function status(text) {
    if (uploadStatus) uploadStatus.textContent = text;
  }

  if (uploadButton && uploadInput) {
    uploadButton.addEventListener("mousedown", (event) => event.preventDefault());
    uploadButton.addEventListener("click", () => uploadInput.click());
    uploadInput.addEventListener("change", async () => {
      const file = uploadInput.files && uploadInput.files[0];
      if (!file) return;
      const body = new FormData();
      body.append("file", file);
      status("正在上传…");
      try {
        const resp = await fetch(form.dataset.uploadUrl, {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        });
        const data = await resp.json().catch(() => ({}));
        if (!resp.ok || !data.url) {
          status(data.error || "上传失败，请重试。");
          return;
        }
        let width = data.width;
        let height = data.height;
        if (width > MAX_SHOWN_WIDTH) {
          height = Math.max(1, Math.round((height * MAX_SHOWN_WIDTH) / width));
          width = MAX_SHOWN_WIDTH;
        }
        insert(`<img src="${data.url}" alt="图" width="${width}" height="${height}">`, "");
        status("已插入图片。");
      } catch (err) {
        status("上传失败：网络错误。");
      } finally {
        uploadInput.value = "";
      }
    });
  }

  // ---------------------------------------------------------------- live preview

  let timer = null;
  let sequence = 0;

  async function refreshPreview() {
    if (!preview || !form.dataset.previewUrl) return;
    const mine = ++sequence;
    try {
      const resp = await fetch(form.dataset.previewUrl, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "text/html" },
      });
      const html = await resp.text();
      if (mine !== sequence) return; // a newer preview is on its way
      if (!resp.ok) {
        preview.textContent = "预览暂不可用（" + resp.status + "）。";
        return;
      }
      // Server-rendered, sanitised fragment of our own template (no scripts run from innerHTML).
      preview.innerHTML = html;
      if (window.ItemRender) window.ItemRender.render(preview);
    } catch (err) {
      if (mine === sequence) preview.textContent = "预览暂不可用：网络错误。";
    }
  }

  function schedulePreview() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refreshPreview, 400);
  }

  form.addEventListener("input", schedulePreview);
  form.addEventListener("change", schedulePreview);
  refreshPreview();
})();
