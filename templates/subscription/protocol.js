// Protocol helpers shared by the Worker and the stream Durable Object:
// offsets, strict header parsing, JSON mode, errors and cursors. Plain
// JavaScript on Web APIs only, so the file uploads as it is.

/** Largest integer a JavaScript client represents exactly. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Content type of a stream created without one. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/**
 * Wire offset "%016d_%016d": a read generation (always 0 until cold
 * segments exist) and a position (bytes, or messages in JSON mode).
 * @param {number} pos
 */
export function formatOffset(pos) {
  return "0000000000000000_" + String(pos).padStart(16, "0");
}

export const ZERO_OFFSET = formatOffset(0);

/** An error that becomes an HTTP response with a JSON body. */
export class HttpError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {Record<string,string>} [headers]
   */
  constructor(status, code, message, headers) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers || {};
  }
}

/** @param {string} msg */
export const badRequest = (msg) => new HttpError(400, "BAD_REQUEST", msg);

/** Keeps hostile input out of messages at a readable length. */
export function clip(s) {
  s = String(s);
  return s.length > 64 ? s.slice(0, 64) + "…" : s;
}

/**
 * Parses a concrete wire offset into a position.
 * @param {string} s
 */
export function parseOffset(s) {
  if (s.length !== 33 || s[16] !== "_" || !/^[0-9]{16}_[0-9]{16}$/.test(s)) {
    throw badRequest(`invalid offset "${clip(s)}": want 16 digits, '_', 16 digits`);
  }
  if (Number(s.slice(0, 16)) !== 0) throw badRequest(`invalid offset "${clip(s)}": unknown read generation`);
  const pos = Number(s.slice(17));
  if (!Number.isSafeInteger(pos)) throw badRequest(`invalid offset "${clip(s)}"`);
  return pos;
}

/**
 * Strict non-negative decimal: digits only, no leading zeros, ≤ 2^53-1.
 * @param {string|null} s
 * @returns {number|null}
 */
export function parseDecimal(s) {
  if (s == null || s === "" || s.length > 16 || !/^[0-9]+$/.test(s)) return null;
  if (s.length > 1 && s[0] === "0") return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** @param {string} s RFC 3339 timestamp → epoch milliseconds. */
export function parseExpiresAt(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(s);
  const t = m ? Date.parse(s.toUpperCase()) : NaN;
  if (!m || Number.isNaN(t)) {
    throw badRequest(`invalid Stream-Expires-At "${clip(s)}": want an RFC 3339 timestamp such as 2030-01-02T15:04:05Z`);
  }
  return t;
}

/** Epoch ms → RFC 3339 in UTC with trailing zero fractions removed. */
export function formatTime(ms) {
  return new Date(ms).toISOString().replace(/\.000Z$/, "Z").replace(/(\.\d*?)0+Z$/, "$1Z");
}

/** Lower-cased type/subtype without parameters. */
export function mediaType(ct) {
  return String(ct || "").split(";")[0].trim().toLowerCase();
}

export const isJSON = (ct) => mediaType(ct) === "application/json";

/** Whether SSE may carry the payload as UTF-8 text rather than base64. */
export function isText(ct) {
  const mt = mediaType(ct);
  return mt.startsWith("text/") || mt === "application/json";
}

/** 1-256 characters from [A-Za-z0-9_-:.]. */
export const validProducerId = (s) => /^[A-Za-z0-9_\-:.]{1,256}$/.test(s);

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/**
 * Validates a JSON body and flattens a top-level array by exactly one
 * level, keeping each message's original bytes.
 * @param {Uint8Array} body
 * @returns {Uint8Array[]}
 */
export function splitJSON(body) {
  let text;
  try {
    text = dec.decode(body);
    JSON.parse(text);
  } catch {
    throw badRequest("body is not valid JSON");
  }
  text = text.trim();
  if (text[0] !== "[") return [enc.encode(text)];
  const out = [];
  let depth = 0;
  let inStr = false;
  let start = -1;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (depth === 0 && start < 0 && !/\s/.test(c) && c !== "," && c !== "]") start = i;
    if (c === '"') inStr = true;
    else if (c === "[" || c === "{") depth++;
    else if (c === "}" || (c === "]" && depth > 0)) depth--;
    else if ((c === "," || c === "]") && depth === 0) {
      if (start >= 0) out.push(enc.encode(text.slice(start, i).trim()));
      start = -1;
      if (c === "]") break;
    }
  }
  return out;
}

/** Byte-wise comparison of two strings' UTF-8 encodings. */
export function compareBytes(a, b) {
  const x = enc.encode(a);
  const y = enc.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

const CURSOR_EPOCH = Date.UTC(2024, 9, 9);
const CURSOR_INTERVAL = 20000;

/**
 * The Stream-Cursor of a live response: the current 20 s interval, or
 * one past the client's cursor when it is not behind.
 * @param {string|null} client
 */
export function cursorFor(client, now = Date.now()) {
  const cur = Math.floor((now - CURSOR_EPOCH) / CURSOR_INTERVAL);
  if (client != null && /^[0-9]{1,15}$/.test(client)) {
    const c = Number(client);
    if (c >= cur) return String(c + 1);
  }
  return String(cur);
}

/** Standard base64 of bytes. */
export function base64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 0x8000)));
  }
  return btoa(s);
}

export const utf8 = (s) => enc.encode(s);

/** Concatenates byte arrays. */
export function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Renders messages as a body: bytes back to back, or one JSON array. */
export function renderBody(json, msgs) {
  if (!json) return concat(msgs.map((m) => m.data));
  const parts = [utf8("[")];
  msgs.forEach((m, i) => {
    if (i > 0) parts.push(utf8(","));
    parts.push(m.data);
  });
  parts.push(utf8("]"));
  return concat(parts);
}

/** JSON error response {"error":{"code","message"}}. */
export function errorResponse(err, method) {
  const e = err instanceof HttpError ? err : new HttpError(500, "INTERNAL", String((err && err.message) || err));
  const headers = new Headers(e.headers);
  headers.set("Content-Type", "application/json");
  headers.set("Cache-Control", "no-store");
  if (e.status === 401) headers.set("WWW-Authenticate", 'Bearer realm="dsctl"');
  const body = method === "HEAD" ? null : JSON.stringify({ error: { code: e.code, message: e.message } }) + "\n";
  return new Response(body, { status: e.status, headers });
}
