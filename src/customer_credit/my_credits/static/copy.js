// My Credits: "Copy link" buttons copy their data-copy value (no inline script: the CSP forbids it).
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) return;
  var label = button.firstChild ? button.firstChild.nodeValue : "";
  navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
    if (button.firstChild) button.firstChild.nodeValue = button.getAttribute("data-copied") || label;
    setTimeout(function () { if (button.firstChild) button.firstChild.nodeValue = label; }, 2000);
  });
});
