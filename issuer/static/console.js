// The only script on the console: the print button (CSP forbids inline handlers).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.print")) {
    button.addEventListener("click", () => window.print());
  }
});
