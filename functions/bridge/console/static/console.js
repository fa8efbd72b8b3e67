// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // After signing in through Cognito, follow the "continue" link by itself (the link stays for no-JS).
  var follow = document.querySelector("a[data-auto-follow]");
  if (follow) { window.location.replace(follow.getAttribute("href")); }
  // A form with data-confirm asks once more before a destructive action; without JS the server's
  // own confirmation page is used.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
