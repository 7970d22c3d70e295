// The console's script (CSP forbids inline handlers): the print button, and a form that makes
// something sent once: a second click while the first is on its way would make a second offer
// with its own PIN (helper-90), so the form's buttons wait until the page is left.
//
// Or until 15 s have passed: a browser says nothing to the page when its Stop button ends the
// wait, and the form stayed dead until a reload. Sent again, the node makes it only if the first
// never arrived; else it answers "sent already" and points at the open offers (the form's `once`).
const RESEND_AFTER_MS = 15000;

// A date the browser could not read (half typed) is sent as nothing, and the node would say the
// field is empty while the person sees digits in it (helper-92): said at the field here instead.
function refusedHere(form) {
  const bad = [...form.querySelectorAll("input")].filter((input) => input.validity && input.validity.badInput);
  for (const input of bad) {
    const label = input.closest("label");
    let said = label.nextElementSibling;
    if (!said || !said.classList.contains("bad-input")) {
      said = document.createElement("p");
      said.className = "field-error bad-input";
      said.id = `bad-${input.name}`;
      label.after(said);
    }
    said.textContent = form.dataset.badInput;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", said.id);
  }
  if (bad.length) bad[0].focus();
  return bad.length > 0;
}

function release(form) {
  delete form.dataset.sent;
  for (const button of form.querySelectorAll("button")) button.removeAttribute("aria-disabled");
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.print")) {
    button.addEventListener("click", () => window.print());
  }
  for (const input of document.querySelectorAll(".photo-label input[type=file]")) {  // the class's file, named
    const chosen = input.closest("p").querySelector(".chosen-file");
    input.addEventListener("change", () => { chosen.textContent = input.files.length ? input.files[0].name : ""; });
  }
  for (const form of document.querySelectorAll("form.makes")) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent) { event.preventDefault(); return; }
      if (refusedHere(form)) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      for (const button of form.querySelectorAll("button")) button.setAttribute("aria-disabled", "true");
      setTimeout(() => release(form), Number(form.dataset.resendAfter) || RESEND_AFTER_MS);
    });
  }
  // Back to this page from the browser's cache (the back button): it may be sent again.
  window.addEventListener("pageshow", () => {
    for (const form of document.querySelectorAll("form.makes")) release(form);
  });
});
