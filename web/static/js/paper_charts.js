// Paper (试卷) pages. Each part runs only when its element is on the page:
//  - builder: the centre's institution picker, layout rows (add / remove), the live total of
//    items and points, the fixed-paper code boxes shown only for the chosen mode and forms;
//  - detail: per-button confirmation of approve / return, and the ECharts chart of the
//    forms' test information curves and SEM (data from data-curves-url).
// The server checks and renders everything; this only adds conveniences.

(() => {
  const picker = document.getElementById("pick-institution");
  if (!picker || !picker.form) return;
  picker.addEventListener("change", () => {
    if (picker.value) picker.form.submit();
  });
})();

(() => {
  const builder = document.getElementById("paper-builder");
  if (!builder) return;
  const body = builder.querySelector("#layout-rows");
  const template = builder.querySelector("#layout-row-template");
  const addButton = builder.querySelector("#add-section");
  const totalItems = builder.querySelector("[data-total-items]");
  const totalPoints = builder.querySelector("[data-total-points]");
  const mode = builder.querySelector("select[name='mode']");
  const forms = builder.querySelector("select[name='n_forms']");
  const fixed = builder.querySelector("#fixed-codes");

  const number = (text) => {
    const value = Number.parseFloat(String(text || "").trim());
    return Number.isFinite(value) ? value : 0;
  };
  // Round to cents so 0.1 + 0.2 shows as 0.3.
  const tidy = (value) => String(Math.round(value * 100) / 100);

  const recount = () => {
    let items = 0;
    let points = 0;
    for (const row of body.querySelectorAll("tr.pp-section")) {
      const kind = row.querySelector("select[name='section_type']").value;
      const count = Math.trunc(number(row.querySelector("input[name='section_count']").value));
      const each = number(row.querySelector("input[name='section_points']").value);
      const cell = row.querySelector("[data-subtotal]");
      if (kind && count > 0) {
        items += count;
        points += count * each;
        cell.textContent = `${tidy(count * each)} 分`;
      } else {
        cell.textContent = "";
      }
    }
    totalItems.textContent = String(items);
    totalPoints.textContent = tidy(points);
  };

  const showFixed = () => {
    if (!fixed || !mode) return;
    fixed.hidden = mode.value !== "fixed";
    const n = forms ? Number.parseInt(forms.value, 10) || 1 : 1;
    fixed.querySelectorAll("[data-form-label]").forEach((box, index) => {
      box.hidden = index >= n;
    });
  };

  for (const button of builder.querySelectorAll("[data-remove-section], #add-section")) button.hidden = false;

  body.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-section]");
    if (!button) return;
    const row = button.closest("tr.pp-section");
    if (body.querySelectorAll("tr.pp-section").length === 1) {
      row.querySelector("select").value = "";
      for (const input of row.querySelectorAll("input")) input.value = "";
    } else {
      row.remove();
    }
    recount();
  });
  body.addEventListener("input", recount);
  body.addEventListener("change", recount);

  if (addButton && template) {
    addButton.addEventListener("click", () => {
      const fragment = template.content.cloneNode(true);
      const row = fragment.querySelector("tr.pp-section");
      row.querySelector("[data-remove-section]").hidden = false;
      body.append(fragment);
      row.querySelector("select").focus();
      recount();
    });
  }
  if (mode) mode.addEventListener("change", showFixed);
  if (forms) forms.addEventListener("change", showFixed);
  recount();
  showFixed();
})();

(() => {
  // Approve and return share one form; each button asks for its own confirmation.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-confirm-click]");
    if (button && !window.confirm(button.dataset.confirmClick)) event.preventDefault();
  });
})();

(() => {
  const element = document.getElementById("paper-curves");
  if (!element || typeof window.echarts === "undefined" || !element.dataset.curvesUrl) return;
  const palette = ["#c8102e", "#0969da", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#1b7c83", "#57606a"];

  const draw = (data) => {
    const labels = Object.keys(data.forms || {});
    if (!labels.length) {
      element.hidden = true;
      return;
    }
    const theta = data.theta;
    const series = [];
    labels.forEach((label, index) => {
      const color = palette[index % palette.length];
      series.push({
        name: `卷 ${label} 信息量`,
        type: "line",
        showSymbol: false,
        yAxisIndex: 0,
        lineStyle: { color, width: 2 },
        itemStyle: { color },
        data: theta.map((t, k) => [t, data.forms[label].tif[k]]),
        markLine: index === 0 ? {
          silent: true,
          symbol: "none",
          label: { formatter: `合格线 θ=${data.cut_theta}`, position: "insideEndTop" },
          lineStyle: { color: "#57606a", type: "dotted" },
          data: [{ xAxis: data.cut_theta }],
        } : undefined,
      });
      series.push({
        name: `卷 ${label} SEM`,
        type: "line",
        showSymbol: false,
        yAxisIndex: 1,
        lineStyle: { color, width: 1, type: "dashed" },
        itemStyle: { color },
        data: theta.map((t, k) => [t, data.forms[label].sem[k]]),
      });
    });
    const chart = window.echarts.init(element);
    chart.setOption({
      tooltip: {
        trigger: "axis",
        renderMode: "richText",
        formatter: (params) => {
          const lines = [`θ = ${params[0].value[0]}`];
          for (const p of params) {
            const value = p.value[1];
            lines.push(`${p.seriesName}：${value === null || value === undefined ? "—" : value.toFixed(3)}`);
          }
          return lines.join("\n");
        },
      },
      legend: { type: "scroll", top: 0 },
      grid: { left: 50, right: 50, top: 50, bottom: 50, containLabel: true },
      xAxis: { type: "value", name: "能力值 θ", nameLocation: "middle", nameGap: 28, min: theta[0], max: theta[theta.length - 1] },
      yAxis: [
        // onZero off: with a value x axis the y axis would otherwise sit at θ = 0.
        { type: "value", name: "信息量", axisLine: { show: true, onZero: false } },
        {
          type: "value",
          name: "SEM",
          min: 0,
          max: (v) => Math.min(Math.ceil(v.max), 3),
          axisLine: { show: true, onZero: false },
          splitLine: { show: false },
        },
      ],
      series,
    });
    window.addEventListener("resize", () => chart.resize());
  };

  fetch(element.dataset.curvesUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
    .then(draw)
    .catch(() => {
      element.textContent = "信息曲线加载失败，请刷新页面重试。";
    });
})();
