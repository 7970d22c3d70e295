// The offline wallet (issue 13 item 6): cards kept on this device, and the QR a verifier scans
// when neither side has a network. Everything here runs on the phone:
// - the holder key of a kept card is made here (WebCrypto ECDSA P-256, non-extractable) and kept
//   in IndexedDB; it never leaves the device, so the compact copy is bound to this device;
// - the presentation is built here (offline-codec.js) exactly as the spec says:
//   "AO1:" + Base45(CBOR([cred, [disclosures], [t, w, n, sig]])), sig over the deterministic
//   CBOR of ["AO1-KB", t, w, n, cred, disclosures] (RFC 8949 section 4.2.1: only unsigned
//   integers, byte and text strings, null and arrays occur, so shortest heads are all it takes);
// - the QR is drawn with the vendored qrcode-generator (served by this node, never a CDN).
// Every word shown comes from the page (data-*), in the page's language.
(() => {  // its own scope: wallet.js shares the page's global one
"use strict";

const DB_NAME = "amana-offline";
const SCREEN_W = 120;  // a screen QR: a short window, renewed on the screen before it runs out
const RENEW_MS = 90 * 1000;
const PAPER_W = 30 * 86400;  // a paper QR: a month (the verifier accepts up to 90 days)
const { base45, unbase45, cbor, b64url, unb64url, nonceOf, presentation, ECDSA } = window.AmanaOfflineCodec;

// --- the device: IndexedDB ------------------------------------------------------------------

function supported() {
  return Boolean(window.crypto && crypto.subtle && window.indexedDB);
}

function database() {
  return new Promise((done, failed) => {
    const opening = indexedDB.open(DB_NAME, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore("cards", { keyPath: "id" });
    opening.onsuccess = () => done(opening.result);
    opening.onerror = () => failed(opening.error);
  });
}

async function stored(mode, work) {
  const db = await database();
  return new Promise((done, failed) => {
    const tx = db.transaction("cards", mode);
    const request = work(tx.objectStore("cards"));
    tx.oncomplete = () => { db.close(); done(request.result); };
    tx.onerror = tx.onabort = () => { db.close(); failed(tx.error); };
  });
}

const allCards = () => stored("readonly", (s) => s.getAll());
const putCard = (card) => stored("readwrite", (s) => s.put(card));
const dropCard = (id) => stored("readwrite", (s) => s.delete(id));

// --- keeping a card (the card page) ------------------------------------------------------------

async function proofJwt(pair, aud, nonce) {  // OpenID4VCI 1.0 appendix F.1
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);  // the public half only
  const header = { alg: "ES256", typ: "openid4vci-proof+jwt", jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
  const claims = { aud, iat: Math.floor(Date.now() / 1000), nonce };
  const enc = (o) => b64url(new TextEncoder().encode(JSON.stringify(o)));
  const input = enc(header) + "." + enc(claims);
  const sig = new Uint8Array(await crypto.subtle.sign(ECDSA, pair.privateKey, new TextEncoder().encode(input)));
  return input + "." + b64url(sig);
}

class Refused extends Error {
  constructor(said) { super("refused"); this.said = said; }
}

async function post(url, form) {
  const response = await fetch(url, { method: "POST", body: form, credentials: "same-origin" });
  if (!response.ok) {  // the node's sentence in the page's language, when it gave one
    let said = null;
    try { said = (await response.json()).message; } catch (e) { /* not JSON: a proxy, a lost network */ }
    throw new Refused(typeof said === "string" ? said : null);
  }
  return response.json();
}

async function keep(root) {
  const status = root.querySelector(".keep-status");
  const button = root.querySelector("button");
  const say = (text) => { status.textContent = text; };
  button.disabled = true;
  say(root.dataset.working);
  try {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const form = new FormData(root.querySelector("form"));
    const started = await post(root.dataset.start, form);
    form.set("ticket", started.ticket);
    form.set("proof", await proofJwt(pair, started.aud, started.nonce));
    const card = (await post(root.dataset.finish, form)).card;
    await putCard({ ...card, key: pair.privateKey, kept: Date.now() });
    say(root.dataset.done);
    root.querySelector(".keep-done").hidden = false;
    await readyOffline(root.dataset.offline);
  } catch (e) {
    say(e instanceof Refused && e.said ? `${root.dataset.failed} ${e.said}` : root.dataset.failed);
  } finally {
    button.disabled = false;
  }
}

// --- the installable app: the service worker caches the offline page and its files ---------

async function readyOffline(pageUrl) {
  if (!("serviceWorker" in navigator)) return;
  await navigator.serviceWorker.register("/wallet/sw.js", { scope: "/wallet/" });
  await navigator.serviceWorker.ready;
  if (pageUrl && window.caches) {  // the page in this language, for when there is no network
    const cache = await caches.open("amana-offline-v1");
    await cache.add(pageUrl);
  }
}

// --- the offline page -----------------------------------------------------------------------

function svgQr(text, label) {
  const code = qrcode(0, "M");
  code.addData(text, "Alphanumeric");
  code.make();
  const n = code.getModuleCount(), quiet = 4, size = n + 2 * quiet;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("shape-rendering", "crispEdges");
  const paper = document.createElementNS(ns, "rect");
  paper.setAttribute("width", size); paper.setAttribute("height", size); paper.setAttribute("fill", "#fff");
  let d = "";
  for (let r = 0; r < n; r += 1) for (let c = 0; c < n; c += 1) if (code.isDark(r, c)) d += `M${c + quiet} ${r + quiet}h1v1h-1z`;
  const ink = document.createElementNS(ns, "path");
  ink.setAttribute("d", d); ink.setAttribute("fill", "#000");
  svg.append(paper, ink);
  svg.dataset.version = String((n - 17) / 4);
  return svg;
}

// A text the node wrote in every language ({lang: text}), in this page's (English if the node had
// none in it); a card kept before session 27 holds its value as one string, shown as it is.
function inLanguage(texts, lang) {
  if (texts === undefined || texts === null || typeof texts === "string") return texts;
  return texts[lang] || texts.en || "";
}

function choices(root, card, lang) {
  const words = root.dataset;
  const box = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.textContent = inLanguage(card.type, lang) || card.vct;
  box.append(legend);
  const from = document.createElement("p");
  from.className = "help";
  from.textContent = `${words.from} ${inLanguage(card.issuer, lang) || ""}`;
  box.append(from);
  if (card.exp) {  // the compact copy's own end (day-rounded), as the verifier will read it
    const until = document.createElement("p");
    until.className = "help";
    const date = document.createElement("bdi");
    const local = inLanguage(card.until, lang);
    if (local) {
      date.textContent = local;
    } else {  // an ISO day reads left to right in any language
      date.dir = "ltr";
      date.textContent = new Date(card.exp * 1000).toISOString().slice(0, 10);
    }
    until.append(`${words.until} `, date);
    box.append(until);
  }
  card.disclosures.forEach((d, i) => {
    const label = document.createElement("label");
    label.className = "check";
    const input = document.createElement("input");
    input.type = "checkbox"; input.name = `claim-${card.id}`; input.value = String(i);
    const name = document.createElement("span");
    name.textContent = `${inLanguage(d.label, lang) || d.key}${words.colon ?? ":"} `;  // a page kept before it said its colon: ":"
    const value = document.createElement("bdi");
    value.textContent = inLanguage(d.value, lang);
    label.append(input, " ", name, value);
    box.append(label);
  });
  const show = document.createElement("button");
  show.type = "button"; show.className = "show-qr"; show.textContent = words.show;
  const paper = document.createElement("button");
  paper.type = "button"; paper.className = "paper-qr secondary"; paper.textContent = words.paper;
  const forget = document.createElement("button");
  forget.type = "button"; forget.className = "forget destructive"; forget.textContent = words.forget;
  const buttons = document.createElement("p");
  buttons.className = "offline-buttons";
  buttons.append(show, " ", paper, " ", forget);
  box.append(buttons);
  return box;
}

// A removal cannot be undone (the copy is bound to a key that never leaves this browser): the
// first tap only asks, in the button's own words, and a second tap within a few seconds removes.
// A double tap is one tap (the second within 400 ms is ignored), and whatever happens the button
// asks again next time.
function confirmTwice(button, asking, act) {
  const said = button.textContent;
  let armed = null, armedAt = 0;
  const disarm = () => {
    clearTimeout(armed); armed = null; button.textContent = said; button.classList.remove("asking");
  };
  button.addEventListener("click", async () => {
    if (armed === null) {
      button.textContent = asking; button.classList.add("asking");
      armed = setTimeout(disarm, 6000); armedAt = Date.now();
      return;
    }
    if (Date.now() - armedAt < 400) return;
    disarm();  // before the removal runs: a third tap meanwhile only asks again
    await act();
  });
}

let renewing = null;

async function showQr(root, card, paper) {
  const picked = [...root.querySelectorAll(`input[name="claim-${card.id}"]:checked`)].map((i) => Number(i.value));
  const area = root.querySelector(".qr-area");
  const words = root.dataset;
  const draw = async () => {
    const t = Math.floor(Date.now() / 1000);
    const text = await presentation(unb64url(card.cred), picked.map((i) => unb64url(card.disclosures[i].d)),
      card.key, t, paper ? PAPER_W : SCREEN_W, paper ? null : scannedNonce);
    const holder = area.querySelector(".qr");
    holder.replaceChildren(svgQr(text, words.qrLabel));
    holder.dataset.text = text;
  };
  clearInterval(renewing);
  area.hidden = false;
  area.classList.toggle("paper", paper);
  area.querySelector(".screen-words").hidden = paper;
  area.querySelector(".paper-words").hidden = !paper;
  await draw();
  if (!paper) renewing = setInterval(draw, RENEW_MS);
  area.scrollIntoView();
  area.querySelector(".qr").focus();
}

let scannedNonce = null;

async function setUpOfflinePage(root) {
  const lang = document.documentElement.lang.replace("-", "_");  // fa-AF on the page, fa_AF in the catalogue
  const list = root.querySelector(".kept");
  const say = (text) => { root.querySelector(".offline-status").textContent = text; };
  if (!supported()) { root.querySelector(".unsupported").hidden = false; return; }
  // Without the QR tools this node cannot draw the QR nor read the desk's: the cards kept are still
  // listed, each with its "forget" (a shared phone must be able to drop them), and nothing else.
  const noTools = root.dataset.noQrTools;
  api.ready = readyOffline(location.pathname + location.search);  // this page, kept for no network
  let cards = [];
  try { cards = await allCards(); } catch (e) { root.querySelector(".unsupported").hidden = false; return; }
  // Nothing to tick or to show (none kept, or the last one just removed): the steps for showing
  // one would only confuse; the sentence that says so takes the focus when a removal emptied it.
  const noneKept = (focus) => {
    const none = root.querySelector(".none-kept");
    none.hidden = false;
    for (const step of root.querySelectorAll(".pick-help, .nonce-step, .qr-area")) step.hidden = true;
    if (focus) { none.tabIndex = -1; none.focus(); }
  };
  if (!cards.length) {
    noneKept(false);
    if (noTools) say(noTools);
    return;
  }
  for (const card of cards) {
    const box = choices(root, card, lang);
    if (noTools) {
      for (const button of box.querySelectorAll(".show-qr, .paper-qr")) button.hidden = true;
    } else {
      box.querySelector(".show-qr").addEventListener("click", () => showQr(root, card, false));
      box.querySelector(".paper-qr").addEventListener("click", () => showQr(root, card, true));
    }
    confirmTwice(box.querySelector(".forget"), root.dataset.forgetConfirm, async () => {
      await dropCard(card.id); box.remove();
      if (!list.children.length) noneKept(true);
    });
    list.append(box);
  }
  if (noTools) {
    for (const step of root.querySelectorAll(".pick-help, .nonce-step")) step.hidden = true;
    say(noTools);
    return;
  }
  root.querySelector(".print-qr").addEventListener("click", () => window.print());
  const scan = root.querySelector(".nonce-scan");
  if (scan) {
    scan.querySelector(".photo").addEventListener("change", async (event) => {
      const file = event.target.files[0];
      if (file) useNonce(root, await readQr(scan, () => createImageBitmap(file)));
    });
    scan.querySelector(".start-camera").addEventListener("click", () => cameraNonce(root, scan));
  }
  say("");
}

function useNonce(root, text) {
  const nonce = text ? nonceOf(text) : null;
  root.querySelector(".nonce-status").textContent = nonce ? root.dataset.nonceOk : root.dataset.nonceBad;
  if (nonce) scannedNonce = nonce;
}

// The reader is the desk's (vendored zxing WebAssembly), loaded only when a scan starts.
let detecting = null;
function detector(scan) {
  if (!detecting) {
    detecting = (async () => {
      if (!("BarcodeDetector" in window)) {
        await new Promise((loaded, failed) => {
          const script = document.createElement("script");
          script.src = scan.dataset.reader; script.onload = loaded; script.onerror = failed;
          document.head.append(script);
        });
        window.BarcodeDetectionAPI.prepareZXingModule({ overrides: { locateFile: (path, prefix) =>
          path.endsWith(".wasm") ? scan.dataset.wasm : prefix + path } });
      }
      const Detector = ("BarcodeDetector" in window) ? window.BarcodeDetector : window.BarcodeDetectionAPI.BarcodeDetector;
      return new Detector({ formats: ["qr_code"] });
    })();
  }
  return detecting;
}

async function readQr(scan, source) {
  try {
    const codes = await (await detector(scan)).detect(await source());
    return codes.length ? codes[0].rawValue : null;
  } catch (e) { return null; }
}

async function cameraNonce(root, scan) {
  const video = scan.querySelector(".camera");
  try {
    await detector(scan);
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.hidden = false;
    await video.play();
  } catch (e) { video.hidden = true; root.querySelector(".nonce-status").textContent = root.dataset.cameraFailed; return; }
  const tick = async () => {
    const text = await readQr(scan, async () => video);
    if (text && nonceOf(text)) { video.srcObject.getTracks().forEach((t) => t.stop()); video.hidden = true; useNonce(root, text); return; }
    requestAnimationFrame(tick);
  };
  tick();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const root of document.querySelectorAll(".keep-offline")) {
    if (!supported()) { root.querySelector(".unsupported").hidden = false; continue; }
    if (root.dataset.noQrTools) continue;  // the page says why: a card kept could not be shown
    root.querySelector(".keep-controls").hidden = false;
    root.querySelector("button").addEventListener("click", () => keep(root));
  }
  const page = document.getElementById("offline");
  if (page) setUpOfflinePage(page);
});

// For the tests (tests/test_wallet_offline.py) and nothing else: the same functions the page uses.
// ``ready``: settles once the worker is active and this page is in its cache.
const api = { base45, unbase45, cbor, b64url, unb64url, nonceOf, presentation, putCard, allCards, svgQr,
  ready: Promise.resolve() };
window.amanaOffline = api;
})();
