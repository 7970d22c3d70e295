// The wallet's one script; every page works without it. It adds: scanning a QR with the
// camera or from a photo (the desk's vendored reader, served by this node, never a CDN), a
// warning a minute before the wallet locks itself with a button to keep it open (WCAG 2.2.1),
// print buttons, and the history's times in this device's own time zone. Every word it shows comes
// from the page (data-*), in the page's language.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.print")) {
    button.addEventListener("click", () => window.print());
  }
  const idle = document.getElementById("idle");
  if (idle) {
    const seconds = Number(idle.dataset.idleS) || 300;
    setTimeout(() => { idle.hidden = false; idle.querySelector("button").focus(); }, Math.max(seconds - 60, 10) * 1000);
  }
  for (const root of document.querySelectorAll(".scan")) setUpScan(root);
  localMoments();
  for (const input of document.querySelectorAll(".photo-label input[name=file]")) {  // the import's file, named
    const chosen = input.closest("p").querySelector(".chosen-file");
    input.addEventListener("change", () => { chosen.textContent = input.files.length ? input.files[0].name : ""; });
  }
});

// "Who saw what": the server writes each moment in UTC, since it knows no reader's time zone, and
// "UTC" means nothing to most readers. Here the moment moves to this device's clock: the day is
// picked from the ones the server wrote (the UTC day and its neighbours, in the reader's calendar
// and digits: wallet.pages_history._when), the hour and minute written in the page's digits.
function localMoments() {
  const list = document.querySelector("ol.history[data-digits]");
  if (!list) return;
  const digits = list.dataset.digits;
  const two = (n) => String(n).padStart(2, "0");
  const written = (text) => text.replace(/[0-9]/g, (d) => digits[Number(d)]);
  for (const when of list.querySelectorAll(".when[data-at]")) {
    const at = new Date(when.dataset.at);
    const day = JSON.parse(when.dataset.days)[`${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}`];
    const clock = when.querySelector(".clock");
    if (Number.isNaN(at.getTime()) || !day || !clock) continue;
    when.querySelector(".date").textContent = day;
    clock.textContent = written(`${two(at.getHours())}:${two(at.getMinutes())}`);
  }
}

function fill(root, text) {
  if (root.dataset.target === "recovery") {
    const parts = text.split(":");  // AMANA-RECOVERY:<wallet code>:<recovery code>
    if (parts.length !== 3 || parts[0] !== "AMANA-RECOVERY") return false;
    document.getElementById("wallet_code").value = parts[1];
    document.getElementById("recovery_code").value = parts[2];
    document.getElementById("passphrase").focus();
    return true;
  }
  const field = document.getElementById(root.dataset.target);
  field.value = text;
  field.form.submit();
  return true;
}

// The reader (44 KB of script, 1.1 MB of WebAssembly) is fetched only when the holder starts a
// scan: every page stays small on a cheap data plan, and a browser with its own
// BarcodeDetector fetches nothing at all.
let detecting = null;
function detector(root) {
  if (!detecting) {
    detecting = (async () => {
      if (!("BarcodeDetector" in window)) {
        await new Promise((loaded, failed) => {
          const script = document.createElement("script");
          script.src = root.dataset.reader;
          script.onload = loaded;
          script.onerror = failed;
          document.head.append(script);
        });
        window.BarcodeDetectionAPI.prepareZXingModule({ overrides: { locateFile: (path, prefix) =>
          path.endsWith(".wasm") ? root.dataset.wasm : prefix + path } });
      }
      const Detector = ("BarcodeDetector" in window) ? window.BarcodeDetector : window.BarcodeDetectionAPI.BarcodeDetector;
      return new Detector({ formats: ["qr_code"] });
    })();
  }
  return detecting;
}

function setUpScan(root) {
  const status = root.querySelector(".scan-status");
  const say = (text) => { status.textContent = text; };
  if (!("BarcodeDetector" in window) && root.dataset.noReader) {  // no reader here: the field stays to paste into
    root.querySelector(".scan-buttons").hidden = true;
    say(root.dataset.noReader);
    return;
  }
  const found = (codes) => codes.length > 0 && fill(root, codes[0].rawValue);
  const photo = root.querySelector(".photo");
  const read = async () => {
    const file = photo.files[0];
    if (!file) return;
    say(root.dataset.reading);
    try {
      const reader = await detector(root);
      if (!found(await reader.detect(await createImageBitmap(file)))) say(root.dataset.none);
      else say("");
    } catch (e) { say(root.dataset.none); }
  };
  photo.addEventListener("change", read);
  root.querySelector(".start-camera").addEventListener("click", async () => {
    const video = root.querySelector(".camera");
    let reader;
    try {
      reader = await detector(root);
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.hidden = false;
      await video.play();
    } catch (e) {  // no camera, permission refused, not a secure context, or the reader did not load
      video.hidden = true;
      say(root.dataset.cameraFailed);
      return;
    }
    say("");
    const tick = async () => {
      try { if (found(await reader.detect(video))) { video.srcObject.getTracks().forEach((t) => t.stop()); return; } }
      catch (e) { /* a frame not ready yet */ }
      requestAnimationFrame(tick);
    };
    tick();
  });
  // The field is on the page before this deferred script runs: a photo chosen in between fired
  // its change event unheard. Read it now, on a fresh visit only (verifier/static/scan.js says why).
  if (performance.getEntriesByType("navigation")[0]?.type === "navigate") read();
}
