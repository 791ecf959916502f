// dsctl core worker: the Durable Streams HTTP API of `dsctl serve` on
// Cloudflare Workers. The Worker routes, authenticates and adds the
// common headers; each stream lives in its own StreamDO.
//
// Bindings: STREAMS (Durable Object namespace of StreamDO), CATALOG (one
// CatalogDO per project: the stream names listings page through), REGISTRY (KV:
// project id → {"signingSecrets":[…],"corsOrigins":[…]}); optional SEGMENTS
// (R2: cold segments of the hot log) and METRICS (Analytics Engine).
// Vars: AUTH_DEFAULT=1 makes the default project need tokens too;
// LONG_POLL_TIMEOUT_MS, SSE_LIFETIME_MS tune live reads; MAX_BODY_BYTES and
// MAX_LIVE_READERS bound a request body and the live readers of a stream;
// SEGMENT_MAX_ROWS, SEGMENT_MAX_BYTES set when the hot log rotates to R2.
import { WorkerEntrypoint } from "cloudflare:workers";
import { HttpError, badRequest, errorResponse } from "./protocol.js";
import { authorize } from "./auth.js";

export { StreamDO, CatalogDO } from "./stream_do.js";

const DEFAULT_PROJECT = "default";
const PROJECT_RE = /^[a-zA-Z0-9_-]+$/;

const CORS_ALLOW_HEADERS = "Content-Type, Authorization, If-None-Match, Stream-Seq, Stream-TTL, Stream-Expires-At, " +
  "Stream-Closed, Producer-Id, Producer-Epoch, Producer-Seq, Stream-Forked-From, Stream-Fork-Offset, " +
  "Stream-Fork-Sub-Offset, X-Stream-Public";
const CORS_EXPOSE_HEADERS = "Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, Stream-Closed, Stream-TTL, " +
  "Stream-Expires-At, Producer-Epoch, Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq, ETag, " +
  "Content-Type, Content-Encoding, Vary, Location, Stream-SSE-Data-Encoding, Stream-Fanout-Count";

/** Methods each route kind answers, and the access each needs. */
const ROUTES = {
  health: { GET: "public", HEAD: "public", OPTIONS: "public" },
  stream: { OPTIONS: "public", PUT: "write", POST: "write", GET: "read", HEAD: "read", DELETE: "write" },
  streamList: { OPTIONS: "public", GET: "manage" },
  streamDetail: { OPTIONS: "public", GET: "manage" },
};

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;

/**
 * Maps a path to what it addresses: /health, /v1/stream/<id> (default
 * project), /v1/<project>/stream/<id> (id may contain '/'), and the
 * inspection API /v1/<project>/streams[/<id>] (bare /v1/streams[/<id>]
 * for the default project).
 * @returns {{kind: string, project?: string, name?: string}}
 */
function parseTarget(rawPath) {
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw badRequest("malformed percent-encoding in the path");
  }
  if (path === "/health") return { kind: "health" };
  if (!path.startsWith("/v1/")) return { kind: "none" };
  const rest = path.slice(4);
  const bare = projectTarget(DEFAULT_PROJECT, rest);
  if (bare) return bare;
  const i = rest.indexOf("/");
  if (i < 0) return { kind: "none" };
  const project = rest.slice(0, i);
  const t = projectTarget(project, rest.slice(i + 1));
  if (!t) return { kind: "none" };
  if (!PROJECT_RE.test(project) || project === "stream" || project === "streams") {
    throw badRequest(`invalid project "${project}": want letters, digits, '_' or '-' (and not "stream" or "streams")`);
  }
  return t;
}

function projectTarget(project, rest) {
  if (rest.startsWith("stream/")) return streamTarget(project, rest.slice(7));
  if (rest === "streams") return { kind: "streamList", project };
  if (rest.startsWith("streams/")) return { ...streamTarget(project, rest.slice(8)), kind: "streamDetail" };
  return null;
}

function streamTarget(project, name) {
  if (name === "") throw Object.assign(badRequest("missing stream id"), { project });
  if (name.length > 1024) throw Object.assign(badRequest("stream id is longer than 1024 characters"), { project });
  if (/[\x00-\x1f\x7f]/.test(name)) throw Object.assign(badRequest("stream id contains a control character"), { project });
  return { kind: "stream", project, name };
}

/** Ids starting with this belong to pub/sub sessions (the subscription worker). */
const SESSION_PREFIX = "session:";

/** Session streams cannot be created, written, deleted or forked directly. */
function reserved(name) {
  if (name.startsWith(SESSION_PREFIX)) {
    throw new HttpError(403, "RESERVED_STREAM",
      `stream "${name}" is reserved: ids starting with "${SESSION_PREFIX}" belong to pub/sub sessions; use /subscribe, /publish and /session`);
  }
}

/** The stream a Stream-Forked-From header names (path or URL). */
function parseForkSource(value) {
  let p = value;
  try {
    const u = new URL(value, "http://x");
    p = u.pathname;
  } catch {
    // keep the raw value
  }
  let t;
  try {
    t = parseTarget(p);
  } catch (e) {
    throw badRequest(`invalid Stream-Forked-From "${value}"`);
  }
  if (t.kind !== "stream") throw badRequest(`Stream-Forked-From "${value}" is not a stream path such as /v1/stream/<id>`);
  return t;
}

/** Project registry entry from KV, or null when unknown. */
async function lookupProject(env, project) {
  if (!env.REGISTRY) throw new HttpError(500, "INTERNAL", "the REGISTRY KV binding is not configured");
  const v = await env.REGISTRY.get(project, "json");
  if (!v || typeof v !== "object") return null;
  const secrets = Array.isArray(v.signingSecrets) ? v.signingSecrets.filter((s) => typeof s === "string" && s) : [];
  const corsOrigins = Array.isArray(v.corsOrigins) ? v.corsOrigins.filter((s) => typeof s === "string") : [];
  return { secrets, corsOrigins };
}

const isOpen = (env, project) => project === DEFAULT_PROJECT && String(env.AUTH_DEFAULT || "") !== "1";

function setCommonHeaders(h, request, target, project) {
  h.set("X-Content-Type-Options", "nosniff");
  h.set("Cross-Origin-Resource-Policy", "cross-origin");
  if (!target || !target.project || target.project === DEFAULT_PROJECT) {
    h.set("Access-Control-Allow-Origin", "*");
    h.set("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    return;
  }
  h.append("Vary", "Origin");
  const origin = request.headers.get("Origin");
  if (origin && project && project.corsOrigins.some((o) => o === "*" || o === origin)) {
    h.set("Access-Control-Allow-Origin", origin);
    h.set("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
  }
}

/** Returns a copy of resp whose headers can be changed. */
function mutable(resp) {
  return new Response(resp.body, resp);
}

/**
 * @param {Request} request
 * @param {any} env
 * @param {boolean} [internal] true only for requests that came through the
 *   CoreRPC entrypoint (a service binding from the subscription worker):
 *   no token checks, and session:* streams may be written.
 */
async function handle(request, env, internal = false) {
  const url = new URL(request.url);
  let target = null;
  let project = null;
  const finish = (resp) => {
    resp = mutable(resp);
    setCommonHeaders(resp.headers, request, target, project);
    return resp;
  };
  try {
    try {
      target = parseTarget(url.pathname);
    } catch (e) {
      if (e.project) target = { kind: "error", project: e.project };
      if (target && PROJECT_RE.test(target.project) && !isOpen(env, target.project)) {
        project = await lookupProject(env, target.project).catch(() => null);
      }
      throw e;
    }
    if (target.kind === "none") {
      throw new HttpError(404, "NOT_FOUND", "no such route: streams live at /v1/stream/<id> or /v1/<project>/stream/<id>");
    }
    const routes = ROUTES[target.kind];
    const access = routes[request.method];
    let projectErr = null;
    if (target.project && !isOpen(env, target.project) && !internal) {
      project = await lookupProject(env, target.project);
      if (!project) projectErr = new HttpError(401, "UNAUTHORIZED", "unknown project");
    }
    if (!access) {
      const resp = errorResponse(new HttpError(405, "METHOD_NOT_ALLOWED", "method not allowed on this path"), request.method);
      resp.headers.set("Allow", Object.keys(routes).join(", "));
      return finish(resp);
    }
    if (target.kind === "health") {
      if (request.method === "OPTIONS") return finish(preflight());
      return finish(new Response(request.method === "HEAD" ? null : "ok", {
        headers: { "Content-Type": "text/plain", "Cache-Control": "no-store" } }));
    }
    if (request.method === "OPTIONS") return finish(preflight());

    if (project || projectErr) {
      if (projectErr) throw projectErr;
      if (target.kind !== "stream") await authorize({ request, env, target, access, project, stub: null, now: Date.now() });
    }
    if (target.kind === "streamList") return finish(await listStreams(env, target.project, url));
    const key = `${target.project}/${target.name}`;
    const stub = env.STREAMS.get(env.STREAMS.idFromName(key));
    if (target.kind === "streamDetail") {
      const d = await stub.summary(true);
      if (!d) throw new HttpError(404, "NOT_FOUND", "stream not found");
      return finish(jsonResponse(d));
    }
    if (project) await authorize({ request, env, target, access, project, stub, now: Date.now() });
    if (request.method !== "GET" && request.method !== "HEAD" && !internal) reserved(target.name);
    let forkKey = null;
    if (request.method === "PUT" && request.headers.has("Stream-Forked-From")) {
      const src = parseForkSource(request.headers.get("Stream-Forked-From"));
      if (src.project !== target.project) {
        throw new HttpError(403, "FORBIDDEN", "Stream-Forked-From must name a stream of the same project");
      }
      reserved(src.name);
      forkKey = `${src.project}/${src.name}`;
    }

    const headers = new Headers();
    for (const [k, v] of request.headers) if (!k.toLowerCase().startsWith("x-ds-")) headers.append(k, v);
    headers.set("x-ds-key", key);
    headers.set("x-ds-url", url.origin + url.pathname);
    if (forkKey) headers.set("x-ds-fork-key", forkKey);
    const init = { method: request.method, headers };
    if (request.method === "PUT" || request.method === "POST") init.body = request.body;
    const resp = await stub.fetch(new Request(request.url, init));
    return finish(resp);
  } catch (err) {
    if (!(err instanceof HttpError)) console.error(`${request.method} ${url.pathname}: ${err && err.stack}`);
    return finish(errorResponse(err, request.method));
  }
}

function jsonResponse(v, status = 200) {
  return new Response(JSON.stringify(v, null, 2) + "\n", {
    status, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });
}

/** GET /v1/<project>/streams?limit=&after=: a page of readable streams by name. */
async function listStreams(env, project, url) {
  const q = url.searchParams;
  let limit = DEFAULT_LIST_LIMIT;
  if (q.get("limit")) {
    const s = q.get("limit");
    const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
    if (!(n >= 1 && n <= MAX_LIST_LIMIT)) throw badRequest(`invalid limit "${s}": want 1 to ${MAX_LIST_LIMIT}`);
    limit = n;
  }
  const catalog = env.CATALOG.get(env.CATALOG.idFromName(project));
  const found = [];
  let after = q.get("after") || "";
  while (found.length <= limit) {
    const names = await catalog.names(after, Math.min(limit + 1, 200));
    if (names.length === 0) break;
    const sums = await Promise.all(names.map((n) => env.STREAMS.get(env.STREAMS.idFromName(`${project}/${n}`)).summary()));
    for (let i = 0; i < names.length && found.length <= limit; i++) {
      after = names[i];
      if (sums[i]) found.push(sums[i]);
    }
  }
  const out = { streams: found.slice(0, limit) };
  if (found.length > limit) out.next = found[limit - 1].id;
  return jsonResponse(out);
}

function preflight() {
  return new Response(null, {
    status: 204,
    headers: {
      "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, HEAD, OPTIONS",
      "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
      "Access-Control-Max-Age": "86400",
      "Cache-Control": "no-store",
    },
  });
}

/**
 * The subscription worker's way in (service binding with
 * entrypoint = "CoreRPC"): the same HTTP API, trusted, and allowed to
 * write session:* streams. Cloudflare routes internet traffic (routes,
 * workers.dev) only to the default export below, never to a named
 * entrypoint, so this cannot be reached or forged from outside: only a
 * worker in the same account with a service binding to it can call it.
 */
export class CoreRPC extends WorkerEntrypoint {
  /** @param {Request} request */
  fetch(request) {
    return handle(request, this.env, true);
  }
}

export default {
  /** @param {Request} request */
  fetch(request, env) {
    return handle(request, env);
  },
};
