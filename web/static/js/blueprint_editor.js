// Blueprint (细目表) pages. Each part runs only when its element is on the page:
//  - new blueprint form: show only the chosen occupation's 工种;
//  - row editor: add, insert and remove rows, indent names by code depth;
//  - detail page: ECharts bar chart of approved items per range (data in data-chart).
// The server checks and renders everything; this only adds conveniences.

(() => {
  const form = document.getElementById("blueprint-form");
  if (!form) return;
  const occupation = form.querySelector("select[name='occupation_id']");
  const workType = form.querySelector("select[name='work_type_id']");
  if (!occupation || !workType) return;
  const filter = () => {
    for (const option of workType.options) {
      const owner = option.dataset.occupation;
      option.hidden = Boolean(owner) && owner !== occupation.value;
    }
    const chosen = workType.selectedOptions[0];
    if (chosen && chosen.hidden) workType.value = "";
  };
  occupation.addEventListener("change", filter);
  filter();
})();

(() => {
  const editor = document.getElementById("blueprint-editor");
  if (!editor) return;
  const body = editor.querySelector("#editor-rows");
  const addButton = editor.querySelector("#add-row");
  if (!body) return;

  const depthOf = (code) => Math.min((code.trim().match(/-/g) || []).length + 1, 6);

  const setDepth = (row) => {
    const code = row.querySelector("input[name='code']");
    const name = row.querySelector("input[name='name']");
    if (!code || !name) return;
    const cell = name.closest("td");
    for (const cls of [...cell.classList]) {
      if (cls.startsWith("bp-depth-")) cell.classList.remove(cls);
    }
    cell.classList.add(`bp-depth-${depthOf(code.value)}`);
  };

  const renumber = () => {
    let n = 0;
    for (const row of body.querySelectorAll("tr.bp-row")) {
      n += 1;
      const cell = row.querySelector(".bp-rownum");
      if (cell) cell.textContent = String(n);
    }
  };

  const blankRow = () => {
    const template = body.querySelector("tr.bp-row");
    const row = template.cloneNode(true);
    row.classList.remove("bp-row-error");
    for (const input of row.querySelectorAll("input")) input.value = "";
    const select = row.querySelector("select");
    if (select) select.value = "";
    setDepth(row);
    return row;
  };

  const messagesOf = (row) => {
    const next = row.nextElementSibling;
    return next && next.classList.contains("bp-row-messages") ? next : null;
  };

  for (const button of editor.querySelectorAll("[data-row-action], #add-row")) button.hidden = false;

  body.addEventListener("click", (event) => {
    const button = event.target.closest("[data-row-action]");
    if (!button) return;
    const row = button.closest("tr.bp-row");
    if (!row) return;
    if (button.dataset.rowAction === "remove") {
      if (body.querySelectorAll("tr.bp-row").length === 1) {
        for (const input of row.querySelectorAll("input")) input.value = "";
      } else {
        const messages = messagesOf(row);
        if (messages) messages.remove();
        row.remove();
      }
    } else if (button.dataset.rowAction === "insert") {
      const fresh = blankRow();
      (messagesOf(row) || row).after(fresh);
      fresh.querySelector("input[name='code']").focus();
    }
    renumber();
  });

  body.addEventListener("input", (event) => {
    if (event.target.matches("input[name='code']")) setDepth(event.target.closest("tr"));
  });

  if (addButton) {
    addButton.addEventListener("click", () => {
      const fresh = blankRow();
      body.append(fresh);
      renumber();
      fresh.querySelector("input[name='code']").focus();
    });
  }
})();

(() => {
  const element = document.getElementById("coverage-chart");
  if (!element || typeof window.echarts === "undefined") return;
  let data = [];
  try {
    data = JSON.parse(element.dataset.chart || "[]");
  } catch (error) {
    return;
  }
  if (!data.length) {
    element.hidden = true;
    return;
  }
  const chart = window.echarts.init(element);
  const many = data.length > 12;
  chart.setOption({
    tooltip: {
      trigger: "axis",
      renderMode: "richText",
      formatter: (params) => {
        const entry = data[params[0].dataIndex];
        const lines = [`${entry.code} ${entry.name}`, `鉴定点：${entry.points} 个，试题不足：${entry.gaps} 个`];
        for (const p of params) lines.push(`${p.seriesName}：${p.value} 道`);
        return lines.join("\n");
      },
    },
    legend: { data: ["已终审 / 已启用试题", "最低要求"] },
    grid: { left: 40, right: 20, top: 40, bottom: many ? 70 : 40, containLabel: true },
    xAxis: {
      type: "category",
      data: data.map((d) => d.code),
      axisLabel: { rotate: many ? 45 : 0 },
    },
    yAxis: { type: "value", name: "试题数", minInterval: 1 },
    dataZoom: many ? [{ type: "slider", startValue: 0, endValue: 11 }] : [],
    series: [
      {
        name: "已终审 / 已启用试题",
        type: "bar",
        barMaxWidth: 48,
        itemStyle: { color: "#1a7f37" },
        // A range with any point short of items is drawn red.
        data: data.map((d) => (d.gaps ? { value: d.approved, itemStyle: { color: "#cf222e" } } : d.approved)),
      },
      {
        name: "最低要求",
        type: "bar",
        barMaxWidth: 48,
        data: data.map((d) => d.required),
        itemStyle: { color: "#d8dee4" },
      },
    ],
  });
  window.addEventListener("resize", () => chart.resize());
})();
