// Item rendering helper: typesets TeX in item HTML with KaTeX (vendored auto-render).
// Used by the editor preview, the item pages and the exam page. Only \( .. \) and \[ .. \]
// are formulas (docs/item-html.md); trust is off, so \href and HTML commands never render.
// Elements inside [data-math="off"] are skipped (the server refused their formulas).
(function () {
  "use strict";

  const OPTIONS = {
    delimiters: [
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
    ],
    throwOnError: false,
    trust: false,
    strict: "ignore",
    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option", "input", "select"],
  };

  function targets(root) {
    if (!root) return [];
    if (root.classList && root.classList.contains("item-render")) return [root];
    return Array.from(root.querySelectorAll(".item-render"));
  }

  function render(root) {
    if (typeof window.renderMathInElement !== "function") return;
    targets(root || document.body).forEach((el) => {
      if (el.closest('[data-math="off"]')) return;
      try {
        window.renderMathInElement(el, OPTIONS);
      } catch (err) {
        // A formula KaTeX cannot parse stays as its TeX source.
      }
    });
  }

  window.ItemRender = { render };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => render(document.body));
  } else {
    render(document.body);
  }
})();
