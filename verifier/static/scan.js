// Reads a holder's QR from the camera or a photo, on this device, with the browser's own
// BarcodeDetector where there is one and the vendored WASM reader (served by this node,
// never a CDN) where there is not; then posts the text in the page's own form.
// Every word it shows comes from the page (data-*), in the page's language.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("scan");
  if (!root) return;
  const status = document.getElementById("scan-status");
  const say = (text) => { status.textContent = text; };
  if (!("BarcodeDetector" in window) && root.dataset.noReader) {  // this node has no reader: say so, offer nothing
    document.getElementById("scan-controls").hidden = true;
    say(root.dataset.noReader);
    return;
  }
  const api = window.BarcodeDetectionAPI;
  if (api && api.prepareZXingModule) {
    api.prepareZXingModule({ overrides: { locateFile: (path, prefix) =>
      path.endsWith(".wasm") ? root.dataset.wasm : prefix + path } });
  }
  const Detector = ("BarcodeDetector" in window) ? window.BarcodeDetector : api.BarcodeDetector;
  const detector = new Detector({ formats: ["qr_code"] });
  const found = (codes) => {
    if (!codes.length) return false;
    document.getElementById("scanned-text").value = codes[0].rawValue;
    document.getElementById("scanned").submit();
    return true;
  };
  const photo = document.getElementById("photo");
  const read = async () => {
    const file = photo.files[0];
    if (!file) return;
    say(root.dataset.reading);
    try {
      if (!found(await detector.detect(await createImageBitmap(file)))) say(root.dataset.none);
    } catch (e) { say(root.dataset.none); }
  };
  photo.addEventListener("change", read);
  document.getElementById("start-camera").addEventListener("click", async () => {
    const video = document.getElementById("camera");
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.hidden = false;
      await video.play();
    } catch (e) {  // no camera, permission refused, or not a secure context
      video.hidden = true;
      say(root.dataset.cameraFailed);
      return;
    }
    say("");
    const tick = async () => {
      try { if (found(await detector.detect(video))) return; } catch (e) { /* a frame not ready yet */ }
      requestAnimationFrame(tick);
    };
    tick();
  });
  // The field is on the page before this deferred script runs: a photo chosen in between (a
  // slow link, a busy phone) fired its change event with no one listening. Read it now. Only
  // on a fresh visit: going back, a browser may put the last photo back in the field (Chromium
  // does, after the load event), and that one must not be sent again.
  if (performance.getEntriesByType("navigation")[0]?.type === "navigate") read();
});
