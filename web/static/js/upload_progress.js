// Import forms (form[data-upload-progress]): send the file with XMLHttpRequest so the page can
// show the upload percentage, then "正在检查并解析文件…" while the server checks and parses it,
// and finally show the answer page as a normal post would. Without JavaScript (or without
// XMLHttpRequest/FormData) the form posts as usual.
// Registered on the document after app.js, so a declined data-confirm has already cancelled it.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !("uploadProgress" in form.dataset) || event.defaultPrevented) {
    return;
  }
  if (!window.XMLHttpRequest || !window.FormData) {
    return;
  }
  event.preventDefault();
  let status = form.querySelector(".upload-status");
  if (!status) {
    status = document.createElement("p");
    status.className = "upload-status muted";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    form.appendChild(status);
  }
  const buttons = form.querySelectorAll("button, input[type=submit]");
  const enable = (on) => buttons.forEach((b) => { b.disabled = !on; });
  const data = event.submitter ? new FormData(form, event.submitter) : new FormData(form);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action || window.location.href);
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) {
      status.textContent = `正在上传… ${Math.floor((e.loaded * 100) / e.total)}%`;
    }
  });
  xhr.upload.addEventListener("load", () => { status.textContent = "正在检查并解析文件…"; });
  xhr.addEventListener("load", () => {
    const url = xhr.responseURL || window.location.href;
    // The answer page replaces this one, as after a normal post (flash messages included).
    document.open();
    document.write(xhr.responseText);
    document.close();
    if (url !== window.location.href) {
      window.history.replaceState(null, "", url);
    }
  });
  const failed = () => { status.textContent = "上传失败，请检查网络后重试。"; enable(true); };
  xhr.addEventListener("error", failed);
  xhr.addEventListener("abort", failed);
  status.textContent = "正在上传… 0%";
  enable(false);
  xhr.send(data);
});
