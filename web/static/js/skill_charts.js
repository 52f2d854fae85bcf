// Examiner statistics: one bar chart per group of each examiner's mean deviation from the
// candidates' mean (negative: severe 偏严, positive: lenient 偏松).
(function () {
  "use strict";
  if (typeof echarts === "undefined") return;
  document.querySelectorAll(".examiner-chart").forEach(function (el) {
    var data = JSON.parse(el.dataset.chart);
    if (!data.names.length) return;
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.names },
      yAxis: { type: "value", name: "平均偏差（分）" },
      series: [{ type: "bar", data: data.deviation, itemStyle: { color: function (p) { return p.value < 0 ? "#cf222e" : "#1a7f37"; } } }],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
