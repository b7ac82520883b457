// Progressive enhancement only: every page works without this file.
// A form with data-confirm asks before it is sent (closing an account, cancelling an invoice).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
