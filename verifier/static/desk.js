// The desk's only script: poll the check's state (a safe GET that reveals nothing) and, once the
// holder has answered, submit the page's own "show the result" form (POST, with its CSRF token).
document.addEventListener("DOMContentLoaded", () => {
  const waiting = document.getElementById("waiting");
  const form = document.getElementById("show-result");
  if (!waiting || !form) return;
  const url = waiting.dataset.stateUrl;
  const poll = async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      const state = response.ok ? await response.json() : null;
      if (state && state.phase !== "pending") { form.submit(); return; }
      const hint = document.getElementById("hint");
      if (state && state.declined && hint) hint.hidden = false;
    } catch (e) { /* offline for a moment: try again */ }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1500);
});
