// Progressive enhancement only: every page works without this file.
// A form with data-confirm asks before it is sent (closing an account, cancelling an invoice).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A button with data-copy puts its value on the clipboard (the My Credits link) and says so
// for two seconds; without the clipboard API the read-only field beside it is still there.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) return;
  var label = button.textContent;
  navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
    button.textContent = button.getAttribute("data-copied") || label;
    setTimeout(function () { button.textContent = label; }, 2000);
  });
});
