// Copy buttons: <button data-copy="ID"> copies the value (or text) of the element #ID.
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var target = document.getElementById(button.dataset.copy);
    if (!target) return;
    var text = target.value !== undefined ? target.value : target.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
    } else {
      // Without a secure context there is no clipboard API: select it for Ctrl-C.
      var range = document.createRange();
      range.selectNodeContents(target);
      if (target.select) target.select();
      else { window.getSelection().removeAllRanges(); window.getSelection().addRange(range); }
    }
  });
})();
