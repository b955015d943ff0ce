/* Follows the liaison's call on the task page (issue 22 item 2): asks the server how the call
   stands every second and a half, shows it in words (a polite live region announces each
   change), and shows the outcome form once a person answered. Same-origin and no inline
   code, as the Content-Security-Policy requires; without it the page still works by reload. */
(function () {
  "use strict";
  var box = document.querySelector("section.call-progress[data-progress-url]");
  if (!box || box.hasAttribute("data-finished")) {
    return;
  }
  var url = box.getAttribute("data-progress-url");
  var stage = box.querySelector(".call-stage");
  var form = box.querySelector("form.call-outcome");
  var again = box.querySelector(".check-again");
  var polls = 0;
  var MAX_POLLS = 1200; /* thirty minutes: then the attempts say what became of it */

  function show(state) {
    if (stage.textContent !== state.words) {
      stage.textContent = state.words;
    }
    stage.className = "call-stage stage-" + state.stage;
    if (state.asks_outcome && form) {
      var at = form.querySelector("input[name=at]");
      if (at && !at.value && state.answered_at) {
        at.value = state.answered_at;
      }
      form.hidden = false;
    }
  }

  function finished(state) {
    if (again && !state.asks_outcome) {
      again.textContent = "";
      var link = document.createElement("a");
      link.href = window.location.pathname + "#attempts-heading";
      // The words come from the page, in the liaison's language (issue 22 item 8).
      link.textContent = box.getAttribute("data-attempts-words") || "Show the attempts";
      again.appendChild(link);
      again.hidden = false;
    }
  }

  function poll() {
    polls += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.finished) {
          finished(state);
        } else if (polls < MAX_POLLS) {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () {
        if (again) {
          again.hidden = false; /* the reload link stays the way to see it */
        }
      });
  }

  if (again) {
    again.hidden = true;
  }
  window.setTimeout(poll, 1000);
})();
