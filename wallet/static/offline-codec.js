// The offline presentation's encodings, in the browser (issue 13; specs/formats/offline-presentation.md):
//   "AO1:" + Base45(CBOR([cred, [disclosures], [t, w, n, sig]])), sig = ECDSA P-256 / SHA-256
//   (IEEE P1363 r||s, what WebCrypto returns) over the deterministic CBOR of
//   ["AO1-KB", t, w, n, cred, disclosures]. Only unsigned integers, byte and text strings, null
//   and arrays occur, so RFC 8949 section 4.2.1's rule comes down to shortest heads.
// Checked against core.offline on its vector and on generated inputs (tests/test_wallet_offline_codec.py).
(() => {
"use strict";

// --- small encodings ---------------------------------------------------------------------

const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

function base45(bytes) {  // RFC 9285
  let out = "";
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const n = bytes[i] * 256 + bytes[i + 1];
    out += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
  }
  if (bytes.length % 2) { const n = bytes[bytes.length - 1]; out += B45[n % 45] + B45[Math.floor(n / 45)]; }
  return out;
}

function unbase45(text) {
  const out = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    const digits = [...chunk].map((c) => B45.indexOf(c));
    if (digits.includes(-1) || chunk.length < 2) throw new Error("base45");
    const n = digits[0] + digits[1] * 45 + (digits.length === 3 ? digits[2] * 2025 : 0);
    if (chunk.length === 3) { if (n > 0xffff) throw new Error("base45"); out.push(n >> 8, n & 255); }
    else { if (n > 0xff) throw new Error("base45"); out.push(n); }
  }
  return new Uint8Array(out);
}

function cborHead(major, n, out) {
  const m = major << 5;
  if (n < 24) out.push(m | n);
  else if (n < 0x100) out.push(m | 24, n);
  else if (n < 0x10000) out.push(m | 25, n >> 8, n & 255);
  else if (n < 0x100000000) out.push(m | 26, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  else {
    const hi = Math.floor(n / 0x100000000), lo = n >>> 0;
    out.push(m | 27, hi >>> 24, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255,
      lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255);
  }
}

function cbor(value, out = []) {  // deterministic: the only shapes the envelope has
  if (value === null) out.push(0xf6);
  else if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new TypeError("cbor: unsigned integers only");
    cborHead(0, value, out);
  } else if (typeof value === "string") {
    const bytes = new TextEncoder().encode(value);
    cborHead(3, bytes.length, out);
    for (const b of bytes) out.push(b);
  } else if (value instanceof Uint8Array) {
    cborHead(2, value.length, out);
    for (const b of value) out.push(b);
  } else if (Array.isArray(value)) {
    cborHead(4, value.length, out);
    for (const item of value) cbor(item, out);
  } else throw new TypeError("cbor: unsupported value");
  return out;
}

function b64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unb64url(text) {
  const raw = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

// The verifier's nonce QR: "AON1:" + Base45(CBOR([nonce: bstr .size 8])) = 0x81 0x48 + 8 bytes.
function nonceOf(text) {
  if (!text.startsWith("AON1:")) return null;
  let bytes;
  try { bytes = unbase45(text.slice(5)); } catch (e) { return null; }
  if (bytes.length !== 10 || bytes[0] !== 0x81 || bytes[1] !== 0x48) return null;
  return bytes.slice(2);
}

// --- the presentation --------------------------------------------------------------------

const ECDSA = { name: "ECDSA", hash: "SHA-256" };

async function presentation(cred, disclosures, key, t, w, nonce) {
  const signed = new Uint8Array(cbor(["AO1-KB", t, w, nonce, cred, disclosures]));
  const sig = new Uint8Array(await crypto.subtle.sign(ECDSA, key, signed));  // IEEE P1363 r||s
  return "AO1:" + base45(new Uint8Array(cbor([cred, disclosures, [t, w, nonce, sig]])));
}

window.AmanaOfflineCodec = { base45, unbase45, cbor, b64url, unb64url, nonceOf, presentation, ECDSA };
})();
