// dsctl subscription worker: the pub/sub API of `dsctl serve` on
// Cloudflare Workers. A session subscribes to source streams; a publish
// appends to the source through core and copies the new messages into the
// stream session:<id> of every subscribed session.
//
// Bindings: CORE (service binding to the core worker's CoreRPC entrypoint:
// trusted, and the only way to write session:* streams), SOURCES (one
// SourceDO per source stream: its subscribers, and the queue that orders
// publishes and fan-out), SESSIONS (one SessionDO per session: its
// subscriptions and the alarm that expires it), REGISTRY (the same KV
// project registry as core). Vars: SESSION_TTL_SECONDS (default 1800),
// AUTH_DEFAULT=1 (the default project needs tokens too).
import { HttpError, badRequest, errorResponse, validProducerId, clip } from "./protocol.js";
import { authorize } from "./auth.js";

export { SourceDO, SessionDO } from "./pubsub_do.js";

const DEFAULT_PROJECT = "default";
const PROJECT_RE = /^[a-zA-Z0-9_-]+$/;
const SESSION_PREFIX = "session:";
const MAX_CONTROL_BODY = 64 << 10;

const CORS_ALLOW_HEADERS = "Content-Type, Authorization, Accept, Producer-Id, Producer-Epoch, Producer-Seq";
const CORS_EXPOSE_HEADERS = "Stream-Next-Offset, Stream-Closed, Producer-Epoch, Producer-Seq, Producer-Expected-Seq, " +
  "Producer-Received-Seq, Stream-Fanout-Count, Content-Type";

/** Methods each route answers, and the access each needs (fail closed: anything else is 404/405). */
const ROUTES = {
  health: { GET: "public", HEAD: "public", OPTIONS: "public" },
  subscribe: { POST: "read", OPTIONS: "public" },
  unsubscribe: { DELETE: "write", OPTIONS: "public" },
  publish: { POST: "write", OPTIONS: "public" },
  session: { GET: "read", DELETE: "write", OPTIONS: "public" },
  touch: { POST: "read", OPTIONS: "public" },
};

const idError = (what, s) => badRequest(`invalid ${what} "${clip(s)}": want 1-256 characters from A-Z a-z 0-9 _ - : .`);

/** Maps a path to a route: /v1/<project>/{subscribe,unsubscribe,publish/<id>,session/<id>[/touch]}. */
function parseTarget(rawPath) {
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw badRequest("malformed percent-encoding in the path");
  }
  if (path === "/health") return { kind: "health" };
  const m = /^\/v1\/([^/]+)\/(.+)$/.exec(path);
  if (!m) return { kind: "none" };
  const [, project, rest] = m;
  let t = null;
  if (rest === "subscribe") t = { kind: "subscribe", project };
  else if (rest === "unsubscribe") t = { kind: "unsubscribe", project };
  else if (rest.startsWith("publish/")) t = { kind: "publish", project, name: rest.slice(8) };
  else if (rest.startsWith("session/")) {
    let id = rest.slice(8);
    let kind = "session";
    if (id.endsWith("/touch")) {
      id = id.slice(0, -6);
      kind = "touch";
    }
    t = { kind, project, name: id };
  }
  if (!t) return { kind: "none" };
  if (!PROJECT_RE.test(project)) throw badRequest(`invalid project "${project}": want letters, digits, '_' or '-'`);
  if (t.kind === "publish") {
    if (!validProducerId(t.name)) throw idError("streamId", t.name);
  } else if (t.kind === "session" || t.kind === "touch") {
    if (t.name === "") throw badRequest("missing session id");
    if (!validProducerId(t.name)) throw idError("sessionId", t.name);
  }
  return t;
}

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
  h.set("Cache-Control", "no-store");
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

function json(v, status = 200) {
  return new Response(JSON.stringify(v) + "\n", { status, headers: { "Content-Type": "application/json" } });
}

async function readIds(request) {
  const raw = await request.text();
  if (raw.length > MAX_CONTROL_BODY) throw new HttpError(413, "PAYLOAD_TOO_LARGE", "body too large");
  let b;
  try {
    b = JSON.parse(raw);
  } catch {
    b = null;
  }
  if (!b || typeof b !== "object" || Array.isArray(b)) {
    throw badRequest('body must be a JSON object {"streamId": "…", "sessionId": "…"}');
  }
  if (typeof b.streamId !== "string" || b.streamId === "") throw badRequest("streamId is required");
  if (typeof b.sessionId !== "string" || b.sessionId === "") throw badRequest("sessionId is required");
  if (!validProducerId(b.streamId)) throw idError("streamId", b.streamId);
  if (!validProducerId(b.sessionId)) throw idError("sessionId", b.sessionId);
  return { streamId: b.streamId, sessionId: b.sessionId };
}

const sourceStub = (env, project, streamId) => env.SOURCES.get(env.SOURCES.idFromName(`${project}/${streamId}`));
const sessionStub = (env, project, sid) => env.SESSIONS.get(env.SESSIONS.idFromName(`${project}/${sid}`));

/** Re-throws a {error:{status,code,message}} answer of a Durable Object as an HttpError. */
function check(r) {
  if (r && r.error) throw new HttpError(r.error.status, r.error.code, r.error.message);
  return r;
}

function wantsJSON(request) {
  return (request.headers.get("Accept") || "").split(",").some((p) => p.trim().startsWith("application/json"));
}

async function handle(request, env) {
  const url = new URL(request.url);
  let target = null;
  let project = null;
  const finish = (resp) => {
    resp = new Response(resp.body, resp);
    setCommonHeaders(resp.headers, request, target, project);
    return resp;
  };
  try {
    target = parseTarget(url.pathname);
    if (target.kind === "none") {
      throw new HttpError(404, "NOT_FOUND", "no such route: the pub/sub API is /v1/<project>/{subscribe,unsubscribe,publish/<id>,session/<id>}");
    }
    const routes = ROUTES[target.kind];
    const access = routes[request.method];
    if (!access) {
      const resp = errorResponse(new HttpError(405, "METHOD_NOT_ALLOWED", "method not allowed on this path"), request.method);
      resp.headers.set("Allow", Object.keys(routes).join(", "));
      return finish(resp);
    }
    if (target.kind === "health") return finish(new Response(request.method === "HEAD" ? null : "ok", { headers: { "Content-Type": "text/plain" } }));
    if (request.method === "OPTIONS") return finish(preflight());
    if (!isOpen(env, target.project)) {
      project = await lookupProject(env, target.project);
      if (!project) throw new HttpError(401, "UNAUTHORIZED", "unknown project");
      // Publishing to a stream is an action on that stream (a stream_id
      // token may do it); sessions and subscriptions are not.
      const authTarget = target.kind === "publish" ? { kind: "stream", project: target.project, name: target.name }
        : { kind: target.kind, project: target.project };
      await authorize({ request, env, target: authTarget, access, project, stub: null, now: Date.now() });
    }
    const p = target.project;
    const ttlMs = sessionTTL(env) * 1000;
    switch (target.kind) {
      case "subscribe": {
        const { streamId, sessionId } = await readIds(request);
        if (streamId.startsWith(SESSION_PREFIX)) throw reservedErr(streamId);
        const src = check(await sourceStub(env, p, streamId).head(p, streamId));
        const info = check(await sessionStub(env, p, sessionId).subscribe(p, sessionId, streamId, src.contentType, ttlMs));
        return finish(json({ sessionId, streamId, sessionStreamPath: info.sessionStreamPath, expiresAt: info.expiresAt,
          isNewSession: info.isNew }));
      }
      case "unsubscribe": {
        const { streamId, sessionId } = await readIds(request);
        const removed = check(await sessionStub(env, p, sessionId).unsubscribe(streamId));
        return finish(json({ sessionId, streamId, unsubscribed: removed.removed }));
      }
      case "session": {
        const stub = sessionStub(env, p, target.name);
        if (request.method === "GET") {
          const info = await stub.info();
          if (!info) throw new HttpError(404, "NOT_FOUND", `session ${target.name} not found`);
          return finish(json({ sessionId: info.sessionId, sessionStreamPath: info.sessionStreamPath,
            expiresAt: info.expiresAt, subscriptions: info.subscriptions }));
        }
        const r = check(await stub.remove());
        return finish(json({ sessionId: target.name, deleted: r.existed }));
      }
      case "touch": {
        const info = check(await sessionStub(env, p, target.name).touch(p, target.name, ttlMs));
        return finish(json({ sessionId: info.sessionId, expiresAt: info.expiresAt, sessionStreamPath: info.sessionStreamPath }));
      }
      case "publish": {
        if (target.name.startsWith(SESSION_PREFIX)) throw reservedErr(target.name);
        if ((request.headers.get("Stream-Closed") || "").toLowerCase() === "true") {
          throw badRequest("publish cannot close a stream: POST Stream-Closed: true to the stream itself");
        }
        const headers = {};
        for (const k of ["Content-Type", "Producer-Id", "Producer-Epoch", "Producer-Seq", "Stream-Seq"]) {
          const v = request.headers.get(k);
          if (v !== null) headers[k] = v;
        }
        const body = await request.arrayBuffer();
        const r = await sourceStub(env, p, target.name).publish(p, target.name, headers, body);
        const h = new Headers(r.headers);
        h.set("Stream-Fanout-Count", String(r.fanout));
        if (r.status >= 300) return finish(new Response(r.body, { status: r.status, headers: h }));
        if (wantsJSON(request)) {
          h.set("Content-Type", "application/json");
          return finish(new Response(JSON.stringify({ nextOffset: r.nextOffset, fanoutCount: r.fanout, duplicate: r.duplicate }) + "\n",
            { status: 200, headers: h }));
        }
        return finish(new Response(null, { status: r.status, headers: h }));
      }
    }
    throw new HttpError(404, "NOT_FOUND", "no such route");
  } catch (err) {
    if (!(err instanceof HttpError)) console.error(`${request.method} ${url.pathname}: ${err && err.stack}`);
    return finish(errorResponse(err, request.method));
  }
}

function reservedErr(name) {
  return new HttpError(403, "RESERVED_STREAM",
    `stream "${name}" is reserved: ids starting with "${SESSION_PREFIX}" belong to pub/sub sessions; use /subscribe, /publish and /session`);
}

/** SESSION_TTL_SECONDS, or 1800 unless it is a finite number > 0 (seed lesson 9). */
function sessionTTL(env) {
  const n = Number(env.SESSION_TTL_SECONDS);
  return Number.isFinite(n) && n > 0 ? n : 1800;
}

function preflight() {
  return new Response(null, {
    status: 204,
    headers: {
      "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
      "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
      "Access-Control-Max-Age": "86400",
    },
  });
}

export default {
  /** @param {Request} request */
  fetch(request, env) {
    return handle(request, env);
  },
};
