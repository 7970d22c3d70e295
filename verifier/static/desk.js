// The desk's only script: poll the check's state (a safe GET that reveals nothing) and, once the
// holder has answered, submit the page's own "show the result" form (POST, with its CSRF token).
// A 404 (the desk signed out: its key revoked, its session over; or the check gone) submits it
// too, so the page says why instead of waiting for ever: the answer is the sign-in page, or the
// desk's home saying the check is gone.
document.addEventListener("DOMContentLoaded", () => {
  const waiting = document.getElementById("waiting");
  const form = document.getElementById("show-result");
  if (!waiting || !form) return;
  const url = waiting.dataset.stateUrl;
  const poll = async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 404) { form.submit(); return; }
      const state = response.ok ? await response.json() : null;
      if (state && state.phase !== "pending") { form.submit(); return; }
      const hint = document.getElementById("hint");
      if (state && state.declined && hint) hint.hidden = false;
    } catch (e) { /* offline for a moment: try again */ }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1500);
});
