// Calendar entry form: a Saturday or Sunday can only be a make-up workday (调休上班) and a
// Monday–Friday only a holiday, so pick the kind that fits the chosen date. The server
// checks the same rule; this only saves a round trip.
(() => {
  const form = document.getElementById("calendar-day-form");
  if (!form) return;
  const day = form.querySelector("input[name='day']");
  const kind = form.querySelector("select[name='kind']");
  if (!day || !kind) return;
  day.addEventListener("change", () => {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day.value);
    if (!match) return;
    const weekday = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])).getDay();
    kind.value = weekday === 0 || weekday === 6 ? "workday" : "holiday";
  });
})();
