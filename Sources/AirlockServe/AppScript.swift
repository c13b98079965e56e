/// `/app.js`: the page's only script. It posts a button's answer with the page's CSRF token
/// and refreshes pages that wait on a run. It writes only `textContent`, never HTML.
enum AppScript {
    static let source = """
    (function () {
      "use strict";
      const meta = document.querySelector('meta[name="airlock-csrf"]');
      const csrf = meta ? meta.content : "";
      function controls(card, disabled) {
        card.querySelectorAll("button, input").forEach(function (element) { element.disabled = disabled; });
      }
      async function answer(button) {
        const card = button.closest(".approval");
        const status = card.querySelector(".status");
        const reason = card.querySelector("input.reason");
        const decision = button.dataset.decision;
        const body = { run: card.dataset.run, call: card.dataset.call };
        let path = "/api/approve";
        if (decision === "approve_rule") body.rule = true;
        if (decision === "extend") {
          const amount = card.querySelector("input.amount");
          body.extend = Number(amount ? amount.value : "");
        }
        if (decision === "deny" || decision === "terminate") {
          path = "/api/deny";
          if (decision === "terminate") body.terminate = true;
          if (reason && reason.value.trim()) body.reason = reason.value.trim();
        }
        controls(card, true);
        status.textContent = "sending…";
        try {
          const response = await fetch(path, {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-Airlock-CSRF": csrf },
            body: JSON.stringify(body)
          });
          const result = await response.json();
          if (!response.ok || !result.ok) throw new Error(result.error || response.statusText);
          status.textContent = (decision === "deny" || decision === "terminate" ? "Denied" : decision === "extend" ? "Extended" : "Approved") + " by " + result.by;
          card.dataset.answered = result.decision;
          setTimeout(function () { location.reload(); }, 2000);
        } catch (error) {
          status.textContent = "Failed: " + error.message;
          controls(card, false);
        }
      }
      async function stop(button) {
        const box = button.closest(".stop");
        const status = box.querySelector(".status");
        const reason = box.querySelector("input.reason");
        controls(box, true);
        status.textContent = "stopping…";
        try {
          const response = await fetch("/api/runs/" + encodeURIComponent(box.dataset.run) + "/cancel", {
            method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-Airlock-CSRF": csrf },
            body: JSON.stringify({ reason: reason && reason.value.trim() ? reason.value.trim() : "" })
          });
          const result = await response.json();
          if (!response.ok || !result.ok) throw new Error(result.error || response.statusText);
          status.textContent = "Stop requested";
          setTimeout(function () { location.reload(); }, 1000);
        } catch (error) {
          status.textContent = "Failed: " + error.message;
          controls(box, false);
        }
      }
      document.addEventListener("click", function (event) {
        const button = event.target.closest("button[data-decision]");
        if (button) answer(button);
        const stopButton = event.target.closest("button[data-stop]");
        if (stopButton) stop(stopButton);
      });
      const refresh = document.querySelector("[data-refresh]");
      if (refresh) {
        setInterval(function () {
          const busy = Array.from(document.querySelectorAll("input.reason"))
            .some(function (input) { return input.value || input === document.activeElement; })
            || document.querySelector(".approval[data-answered]")
            || Array.from(document.querySelectorAll(".status")).some(function (s) { return s.textContent; });
          if (!busy) location.reload();
        }, Number(refresh.dataset.refresh) * 1000);
      }
    })();
    """
}
