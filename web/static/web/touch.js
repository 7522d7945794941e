// The touch form offers only the outcomes that fit the chosen kind
// (followup.choices.OUTCOMES_BY_KIND): the outcome list's groups are named after the
// kinds ("Call", "Email", …), so the other groups are hidden and disabled; a kind with
// no outcomes (a note) hides the outcome field. The server refuses a misfit anyway.
(function () {
  function fit(form) {
    var kind = form.querySelector("select[name=kind]");
    var outcome = form.querySelector("select[name=outcome]");
    if (!kind || !outcome || kind.selectedIndex < 0) return;
    var label = kind.options[kind.selectedIndex].text;
    var any = false;
    outcome.querySelectorAll("optgroup").forEach(function (group) {
      var fits = group.label === label;
      group.hidden = !fits;
      group.disabled = !fits;
      any = any || fits;
    });
    var chosen = outcome.options[outcome.selectedIndex];
    if (chosen && chosen.parentElement.disabled) outcome.value = "";
    var field = outcome.closest(".field");
    if (field) field.style.display = any ? "" : "none";
  }
  function fitAll() {
    document.querySelectorAll("form.touch-form").forEach(fit);
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("form.touch-form select[name=kind]")) fit(event.target.form);
  });
  document.addEventListener("DOMContentLoaded", fitAll);
  document.addEventListener("htmx:afterSettle", fitAll);
})();
