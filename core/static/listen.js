// The "listen" button on holder pages (issue #17 item 5): the page's main text spoken by the
// browser's own speech synthesis, in the page's language. No voice for that language, no button:
// a voice of another language would read Arabic letters as noise, and a button that does nothing
// teaches a person that the page is broken. The button is `hidden` in the HTML and shown only
// once a matching voice is known; voices often arrive later (Chrome loads them asynchronously),
// so the choice is made again on every `voiceschanged`. Nothing leaves the device that the
// browser's own synthesis does not already send; no text is logged.
"use strict";
(() => {
  const button = document.querySelector("button.listen");
  const synth = window.speechSynthesis;
  if (!button || !synth || typeof window.SpeechSynthesisUtterance !== "function") return;
  const words = button.querySelector(".listen-words");
  const listenText = words ? words.textContent : "";
  const stopText = button.dataset.stop || listenText;
  const pageLang = (document.documentElement.lang || "").replace(/_/g, "-").toLowerCase();
  let voice = null;

  // The voice for the page's language: its exact tag first (fa-AF), then any of the same language (fa).
  function matchingVoice() {
    const voices = synth.getVoices() || [];
    const tag = (v) => String(v.lang || "").replace(/_/g, "-").toLowerCase();
    const base = pageLang.split("-")[0];
    if (!base) return null;
    return voices.find((v) => tag(v) === pageLang)
      || voices.find((v) => tag(v).split("-")[0] === base) || null;
  }

  function update() {
    voice = matchingVoice();
    button.hidden = voice === null;
    if (voice === null && synth.speaking) synth.cancel();
  }

  function say(speaking) {
    if (words) words.textContent = speaking ? stopText : listenText;
    button.setAttribute("aria-pressed", speaking ? "true" : "false");
  }

  // What a sighted reader reads: the rendered text of <main> (hidden parts, input values and the
  // header's language list left out), one utterance per line so a long page is not cut short.
  function mainText() {
    const main = document.querySelector("main");
    return main ? main.innerText.split("\n").map((line) => line.trim()).filter(Boolean) : [];
  }

  button.addEventListener("click", () => {
    if (synth.speaking || synth.pending) {
      synth.cancel();
      say(false);
      return;
    }
    if (voice === null) return;
    const lines = mainText();
    lines.forEach((line, index) => {
      const utterance = new SpeechSynthesisUtterance(line);
      utterance.voice = voice;
      utterance.lang = voice.lang || pageLang;
      if (index === lines.length - 1) {
        utterance.addEventListener("end", () => say(false));
        utterance.addEventListener("error", () => say(false));
      }
      synth.speak(utterance);
    });
    say(lines.length > 0);
  });

  synth.addEventListener("voiceschanged", update);
  update();
})();
