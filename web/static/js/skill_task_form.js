// Skill task form: add criterion rows and show the running total of 配分 (the server checks it).
(function () {
  "use strict";
  var table = document.getElementById("criteria-rows");
  var totalEl = document.getElementById("points-total");
  var add = document.getElementById("add-criterion");
  if (!table || !totalEl) return;
  function recount() {
    var total = 0;
    table.querySelectorAll("input[name=crit_points]").forEach(function (input) {
      var v = parseFloat(input.value);
      if (!isNaN(v)) total += Math.round(v * 10);
    });
    totalEl.textContent = String(total / 10);
    totalEl.classList.toggle("danger-text", total !== 1000);
  }
  table.addEventListener("input", recount);
  if (add) {
    add.addEventListener("click", function () {
      var rows = table.querySelectorAll("tbody tr");
      var last = rows[rows.length - 1];
      var copy = last.cloneNode(true);
      copy.querySelectorAll("input, textarea").forEach(function (el) { el.value = ""; });
      copy.firstElementChild.textContent = String(rows.length + 1);
      last.parentNode.appendChild(copy);
    });
  }
  recount();
})();
