// Analysis reports (题目分析报告): the ECharts charts of the item, paper and DIF reports, plus
// two small form conveniences. Each part runs only when its element is on the page; the data
// come from the report's JSON endpoint named in data-chart-url (no inline script or style:
// tooltips use renderMode "richText"). The server renders every table; charts are extra.

(() => {
  // Run pickers submit on change; the DIF form drops the reference when the group changes
  // (the server then takes that group's most frequent value as the reference).
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form && select.form.submit());
  }
  const group = document.querySelector("select[data-reset-reference]");
  if (group && group.form) {
    group.addEventListener("change", () => {
      const reference = group.form.querySelector("select[name='reference']");
      if (reference) reference.disabled = true;
      group.form.submit();
    });
  }
})();

const AnalysisCharts = (() => {
  const palette = ["#c8102e", "#0969da", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#1b7c83", "#57606a"];
  const fmt = (value, digits = 3) =>
    value === null || value === undefined || Number.isNaN(value) ? "—" : Number(value).toFixed(digits);
  const charts = [];

  const init = (element, option) => {
    if (!element || typeof window.echarts === "undefined") return null;
    const chart = window.echarts.init(element);
    chart.setOption(option);
    charts.push(chart);
    return chart;
  };
  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));

  const load = (holder, draw) => {
    if (!holder || !holder.dataset.chartUrl || typeof window.echarts === "undefined") return;
    fetch(holder.dataset.chartUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
      .then(draw)
      .catch(() => {
        for (const element of document.querySelectorAll(".ar-chart")) {
          element.textContent = "图表加载失败，请刷新页面重试。";
        }
      });
  };

  const thetaAxis = (theta) => ({
    type: "value", name: "能力值 θ", nameLocation: "middle", nameGap: 28, min: theta[0], max: theta[theta.length - 1],
  });
  const grid = { left: 50, right: 40, top: 50, bottom: 50, containLabel: true };

  return { palette, fmt, init, load, thetaAxis, grid };
})();

// ---------------------------------------------------------------- item report
(() => {
  const holder = document.getElementById("item-report");
  if (!holder) return;
  const { fmt, init, load, thetaAxis, grid, palette } = AnalysisCharts;

  load(holder, (data) => {
    const theta = data.theta;
    if (data.parameters) {
      const observed = data.observed || [];
      init(document.getElementById("item-icc-chart"), {
        tooltip: {
          trigger: "item",
          renderMode: "richText",
          formatter: (p) => {
            if (p.seriesIndex === 0) return `θ = ${fmt(p.value[0], 2)}\nP(θ) = ${fmt(p.value[1])}`;
            const g = observed[p.dataIndex];
            return [
              `第 ${g.group} 组（${g.n} 人）`,
              `θ 均值 = ${fmt(g.theta, 2)}`,
              `实测通过率 = ${fmt(g.observed)}`,
              `模型预测 = ${fmt(g.expected)}（±${fmt(1.96 * g.se)}）`,
            ].join("\n");
          },
        },
        legend: { top: 0 },
        grid,
        xAxis: thetaAxis(theta),
        yAxis: { type: "value", name: "答对概率", min: 0, max: 1, axisLine: { show: true, onZero: false } },
        series: [
          {
            name: "模型曲线", type: "line", showSymbol: false, lineStyle: { color: palette[0], width: 2 },
            itemStyle: { color: palette[0] }, data: theta.map((t, k) => [t, data.icc[k]]),
          },
          {
            name: "实测通过率", type: "scatter", symbolSize: 10, itemStyle: { color: palette[1] },
            data: observed.map((g) => [g.theta, g.observed]),
          },
          {
            name: "模型预测", type: "scatter", symbol: "emptyCircle", symbolSize: 8, itemStyle: { color: palette[2] },
            data: observed.map((g) => [g.theta, g.expected]),
          },
        ],
      });
      init(document.getElementById("item-info-chart"), {
        tooltip: {
          trigger: "axis",
          renderMode: "richText",
          formatter: (params) => `θ = ${fmt(params[0].value[0], 2)}\n信息量 = ${fmt(params[0].value[1])}`,
        },
        grid,
        xAxis: thetaAxis(theta),
        yAxis: { type: "value", name: "信息量", min: 0, axisLine: { show: true, onZero: false } },
        series: [{
          name: "信息量", type: "line", showSymbol: false, areaStyle: { opacity: 0.15 },
          lineStyle: { color: palette[1], width: 2 }, itemStyle: { color: palette[1] },
          data: theta.map((t, k) => [t, data.information[k]]),
        }],
      });
    }
    const history = data.history || [];
    if (history.length > 1) {
      init(document.getElementById("item-history-chart"), {
        tooltip: {
          trigger: "axis",
          renderMode: "richText",
          formatter: (params) => {
            const h = history[params[0].dataIndex];
            return [`${h.label}${h.current ? "（当前）" : ""}`, `a = ${fmt(h.a)}`, `b = ${fmt(h.b)}`].join("\n");
          },
        },
        legend: { top: 0 },
        grid,
        xAxis: { type: "category", data: history.map((h) => `#${h.run_id}`), name: "标定" },
        yAxis: { type: "value", name: "参数值", axisLine: { show: true, onZero: false } },
        series: [
          { name: "区分度 a", type: "line", data: history.map((h) => h.a), lineStyle: { color: palette[0] },
            itemStyle: { color: palette[0] } },
          { name: "难度 b", type: "line", data: history.map((h) => h.b), lineStyle: { color: palette[1] },
            itemStyle: { color: palette[1] } },
        ],
      });
    }
  });
})();

// ---------------------------------------------------------------- paper report
(() => {
  const holder = document.getElementById("paper-report");
  if (!holder) return;
  const { fmt, init, load, thetaAxis, grid, palette } = AnalysisCharts;

  load(holder, (data) => {
    const theta = data.theta;
    const labels = Object.keys(data.forms || {});
    const series = [];
    labels.forEach((label, index) => {
      const color = palette[index % palette.length];
      const form = data.forms[label];
      series.push({
        name: `卷 ${label} 信息量`, type: "line", showSymbol: false, yAxisIndex: 0,
        lineStyle: { color, width: 2 }, itemStyle: { color },
        data: theta.map((t, k) => [t, form.tif[k]]),
        markLine: index === 0 ? {
          silent: true, symbol: "none",
          label: { formatter: `合格线 θ=${data.cut_theta}`, position: "insideEndTop" },
          lineStyle: { color: "#57606a", type: "dotted" },
          data: [{ xAxis: data.cut_theta }],
        } : undefined,
      });
      series.push({
        name: `卷 ${label} SEM`, type: "line", showSymbol: false, yAxisIndex: 1,
        lineStyle: { color, width: 1, type: "dashed" }, itemStyle: { color },
        data: theta.map((t, k) => [t, form.sem[k]]),
      });
    });
    if (labels.length) {
      init(document.getElementById("paper-tif-chart"), {
        tooltip: {
          trigger: "axis",
          renderMode: "richText",
          formatter: (params) => [`θ = ${fmt(params[0].value[0], 2)}`,
            ...params.map((p) => `${p.seriesName}：${fmt(p.value[1])}`)].join("\n"),
        },
        legend: { type: "scroll", top: 0 },
        grid,
        xAxis: thetaAxis(theta),
        yAxis: [
          { type: "value", name: "信息量", axisLine: { show: true, onZero: false } },
          { type: "value", name: "SEM", min: 0, max: (v) => Math.min(Math.ceil(v.max), 3),
            axisLine: { show: true, onZero: false }, splitLine: { show: false } },
        ],
        series,
      });
    }
    for (const element of document.querySelectorAll("[data-histogram]")) {
      const form = data.forms[element.dataset.histogram];
      if (!form || !form.histogram) continue;
      const { scores, counts } = form.histogram;
      const total = counts.reduce((a, b) => a + b, 0);
      init(element, {
        tooltip: {
          trigger: "axis",
          renderMode: "richText",
          formatter: (params) => {
            const n = params[0].value;
            return `总分 ${params[0].name}：${n} 人（${total ? fmt((100 * n) / total, 1) : "—"}%）`;
          },
        },
        grid: { left: 40, right: 20, top: 30, bottom: 40, containLabel: true },
        xAxis: { type: "category", data: scores.map(String), name: "总分", nameLocation: "middle", nameGap: 26 },
        yAxis: { type: "value", name: "人数", minInterval: 1 },
        series: [{ type: "bar", name: "人数", data: counts, barCategoryGap: "10%", itemStyle: { color: palette[1] } }],
      });
    }
  });
})();

// ---------------------------------------------------------------- DIF report
(() => {
  const holder = document.getElementById("dif-report");
  if (!holder) return;
  const { fmt, init, load, grid } = AnalysisCharts;
  // Series keep their own colours (one per focal group); B and C bars are labelled and C
  // bars outlined in red.
  const seriesColors = ["#0969da", "#1a7f37", "#8250df", "#1b7c83", "#9a6700", "#bf3989", "#57606a"];
  const mark = (it) => {
    if (it.ets_class !== "B" && it.ets_class !== "C") return {};
    const color = it.ets_class === "C" ? "#cf222e" : "#9a6700";
    return {
      label: { show: true, formatter: it.ets_class, color, fontWeight: "bold",
        position: it.d_dif !== null && it.d_dif < 0 ? "bottom" : "top" },
      itemStyle: it.ets_class === "C" ? { borderColor: color, borderWidth: 2 } : {},
    };
  };

  load(holder, (data) => {
    const comparisons = data.comparisons || [];
    if (!comparisons.length) return;
    const codes = comparisons[0].items.map((it) => it.code);
    const series = comparisons.map((comp, index) => ({
      name: `${comp.focal}（目标组）`,
      type: "bar",
      data: comp.items.map((it) => ({ value: it.d_dif, item: it, ...mark(it) })),
      itemStyle: { color: seriesColors[index % seriesColors.length] },
      markLine: index === 0 ? {
        silent: true, symbol: "none", label: { show: true, position: "end" },
        lineStyle: { color: "#57606a", type: "dashed" },
        data: [{ yAxis: -1.5 }, { yAxis: -1 }, { yAxis: 1 }, { yAxis: 1.5 }],
      } : undefined,
    }));
    init(document.getElementById("dif-chart"), {
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        formatter: (p) => {
          const it = p.data.item;
          return [
            `${it.code} · ${p.seriesName}`,
            `MH D-DIF = ${fmt(it.d_dif, 2)}（SE ${fmt(it.se, 2)}）`,
            `p = ${fmt(it.p, 4)}`,
            `ETS 类别：${it.ets_class || "无法计算"}`,
          ].join("\n");
        },
      },
      legend: { top: 0 },
      grid: { ...grid, bottom: 70 },
      xAxis: { type: "category", data: codes, axisLabel: { rotate: 45, interval: 0, fontSize: 10 } },
      yAxis: { type: "value", name: "MH D-DIF", axisLine: { show: true, onZero: false } },
      dataZoom: codes.length > 40 ? [{ type: "slider", bottom: 5 }, { type: "inside" }] : [],
      series,
    });
  });
})();
