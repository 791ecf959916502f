// Token checks, the same rules as the local engine: HS256 JWTs signed
// with one of the project's secrets (newest first, so keys can rotate),
// sub = project, exp required, scopes read < write < manage, an optional
// stream_id restriction, and public streams readable without a token.
import { HttpError } from "./protocol.js";

const unauthorized = (msg, code = "UNAUTHORIZED") => new HttpError(401, code, msg);
const forbidden = (msg) => new HttpError(403, "FORBIDDEN", msg);

const SCOPES = { read: 1, write: 2, manage: 3 };

function b64urlDecode(s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error("bad base64url");
  s = s.replace(/-/g, "+").replace(/_/g, "/");
  while (s.length % 4) s += "=";
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const enc = new TextEncoder();

/**
 * Verifies raw against each secret; returns its claims.
 * @param {string} raw
 * @param {string[]} secrets
 * @param {number} nowMs
 */
export async function verifyToken(raw, secrets, nowMs) {
  const parts = raw.split(".");
  if (parts.length !== 3) throw unauthorized("invalid token");
  let header, claims, sig;
  try {
    header = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[0])));
    claims = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[1])));
    sig = b64urlDecode(parts[2]);
  } catch {
    throw unauthorized("invalid token");
  }
  if (!header || header.alg !== "HS256" || !claims || typeof claims !== "object") throw unauthorized("invalid token");
  const signed = enc.encode(parts[0] + "." + parts[1]);
  let ok = false;
  for (const secret of secrets) {
    const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    if (await crypto.subtle.verify("HMAC", key, sig, signed)) {
      ok = true;
      break;
    }
  }
  if (!ok) throw unauthorized("invalid token");
  if (typeof claims.exp !== "number") throw unauthorized("invalid token");
  const now = nowMs / 1000;
  if (now >= claims.exp) throw unauthorized("token expired", "TOKEN_EXPIRED");
  if (typeof claims.nbf === "number" && now < claims.nbf) throw unauthorized("invalid token");
  if (!SCOPES[claims.scope]) throw unauthorized("invalid token");
  if (typeof claims.sub !== "string" || claims.sub === "") throw unauthorized("invalid token");
  return claims;
}

/** "Authorization: Bearer <token>" → token, or null. */
function bearer(request) {
  const h = request.headers.get("Authorization") || "";
  const i = h.indexOf(" ");
  if (i < 0 || h.slice(0, i).toLowerCase() !== "bearer") return null;
  const tok = h.slice(i + 1).trim();
  return tok || null;
}

/**
 * Throws the 401/403 for a request the token does not allow.
 * @param {{request: Request, target: any, access: string, project: {secrets: string[]}, stub: any, now: number}} a
 */
export async function authorize({ request, target, access, project, stub, now }) {
  if (access === "public") return;
  // A public stream is readable by anyone; writes still need a token.
  if (access === "read" && target.kind === "stream") {
    try {
      if (await stub.isPublic()) return;
    } catch (err) {
      console.error(`public check for ${target.project}/${target.name}: ${err && err.stack}`);
    }
  }
  const raw = bearer(request);
  if (!raw) throw unauthorized("missing bearer token: send Authorization: Bearer <token> (dsctl token --project <name>)");
  const c = await verifyToken(raw, project.secrets, now);
  if (c.sub !== target.project) throw forbidden("token is for another project");
  if (SCOPES[c.scope] < SCOPES[access]) {
    throw forbidden(access === "manage" ? "token scope does not allow this: it needs manage"
      : "token scope does not allow writes: it needs write or manage");
  }
  if (typeof c.stream_id === "string" && c.stream_id !== "") {
    if (target.kind !== "stream" || c.stream_id !== target.name) throw forbidden("token is restricted to another stream");
    const from = request.headers.get("Stream-Forked-From");
    if (from && request.method === "PUT") {
      let name = "";
      try {
        const p = decodeURIComponent(new URL(from, "http://x").pathname);
        const m = /^\/v1\/(?:stream\/|[A-Za-z0-9_-]+\/stream\/)(.+)$/.exec(p);
        name = m ? m[1] : "";
      } catch {
        name = "";
      }
      if (name !== c.stream_id) throw forbidden("token is restricted to another stream");
    }
  }
}
