// SciArena: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Elder mode: without JavaScript the toggle form posts and the page reloads. With
  // it, the same form is sent with fetch and the page switches in place.
  function enhanceElderToggle(form) {
    var button = form.querySelector("button[aria-pressed]");
    var wanted = form.querySelector('input[name="elder"]');
    var status = form.querySelector("[data-elder-status]");
    if (!button || !wanted || !window.fetch || !window.FormData) {
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("elder mode: HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          var on = Boolean(data.elder_mode);
          document.documentElement.classList.toggle("elder", on);
          button.setAttribute("aria-pressed", on ? "true" : "false");
          wanted.value = on ? "0" : "1";
          if (status) {
            status.textContent = on ? form.dataset.textOn || "" : form.dataset.textOff || "";
          }
          button.disabled = false;
        })
        .catch(function () {
          // Fall back to the plain form post: the server decides and redirects back.
          button.disabled = false;
          form.submit();
        });
    });
  }

  function init() {
    var forms = document.querySelectorAll("form[data-elder-toggle]");
    for (var i = 0; i < forms.length; i++) {
      enhanceElderToggle(forms[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
