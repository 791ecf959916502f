// Pub/sub checks of the subscription worker (templates/subscription)
// running next to the core worker under workerd. Run by
// scripts/workers-pubsub.sh with the registry entry
//   acme → {"signingSecrets":["acme-new","acme-old"],…}
// seeded into local KV. Needs CORE_URL and PUBSUB_URL. Node built-ins only.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";

const core = process.env.CORE_URL;
const pubsub = process.env.PUBSUB_URL;
if (!core || !pubsub) throw new Error("CORE_URL and PUBSUB_URL must be set");
const run = crypto.randomUUID().slice(0, 8);

function mint(secret, claims) {
  const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = b({ alg: "HS256", typ: "JWT" }) + "." + b({ exp: Math.floor(Date.now() / 1000) + 120, ...claims });
  return head + "." + crypto.createHmac("sha256", secret).update(head).digest("base64url");
}
const tok = (scope) => mint("acme-new", { sub: "acme", scope });
const W = tok("write");
const R = tok("read");

async function req(base, method, path, { token = W, headers = {}, body } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined && typeof body !== "string") {
    body = JSON.stringify(body);
    h["Content-Type"] ??= "application/json";
  }
  const r = await fetch(base + path, { method, headers: h, body });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) };
}

const P = "/v1/acme";
const source = async (name) => {
  const id = `${run}-${name}`;
  const r = await req(core, "PUT", `${P}/stream/${id}`, { headers: { "Content-Type": "application/json" } });
  assert.equal(r.status, 201, r.text);
  return id;
};
const subscribe = (sessionId, streamId, token = R) => req(pubsub, "POST", `${P}/subscribe`, { token, body: { sessionId, streamId } });
const publish = (streamId, msg, headers = {}) =>
  req(pubsub, "POST", `${P}/publish/${streamId}`, { headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(msg) });
const readSession = async (sid) => {
  const r = await req(core, "GET", `${P}/stream/session:${sid}?offset=-1`, { token: R });
  assert.equal(r.status, 200, r.text);
  return r.json();
};

test("subscribe → publish → the session stream holds the message", async () => {
  const src = await source("basic");
  const sid = `${run}-s1`;
  let r = await subscribe(sid, src);
  assert.equal(r.status, 200, r.text);
  const s = r.json();
  assert.equal(s.sessionId, sid);
  assert.equal(s.streamId, src);
  assert.equal(s.sessionStreamPath, `/v1/acme/stream/session:${sid}`);
  assert.equal(s.isNewSession, true);
  assert.ok(Date.parse(s.expiresAt) > Date.now());
  r = await subscribe(sid, src);
  assert.equal(r.json().isNewSession, false);
  r = await publish(src, { n: 1 });
  assert.ok(r.status === 200 || r.status === 204, r.text);
  assert.equal(r.headers.get("Stream-Fanout-Count"), "1");
  assert.ok(r.headers.get("Stream-Next-Offset"));
  r = await req(pubsub, "POST", `${P}/publish/${src}`, { headers: { "Content-Type": "application/json", Accept: "application/json" }, body: '{"n":2}' });
  assert.equal(r.status, 200);
  assert.equal(r.json().fanoutCount, 1);
  assert.equal(r.json().duplicate, false);
  assert.deepEqual(await readSession(sid), [{ n: 1 }, { n: 2 }]);
  r = await req(pubsub, "GET", `${P}/session/${sid}`, { token: R });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json().subscriptions.map((x) => x.streamId), [src]);
});

test("a retried publish with the same Producer-* headers gives one copy per session", async () => {
  const src = await source("retry");
  const a = `${run}-ra`, b = `${run}-rb`;
  assert.equal((await subscribe(a, src)).status, 200);
  assert.equal((await subscribe(b, src)).status, 200);
  const ph = { "Producer-Id": "pub-1", "Producer-Epoch": "0", "Producer-Seq": "0" };
  let r = await publish(src, { m: "once" }, ph);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get("Stream-Fanout-Count"), "2");
  r = await publish(src, { m: "once" }, ph);
  assert.ok(r.status === 200 || r.status === 204, r.text);
  assert.equal(r.headers.get("Stream-Fanout-Count"), "0");
  assert.deepEqual(await readSession(a), [{ m: "once" }]);
  assert.deepEqual(await readSession(b), [{ m: "once" }]);
  const src2 = await req(core, "GET", `${P}/stream/${src}?offset=-1`, { token: R });
  assert.deepEqual(src2.json(), [{ m: "once" }]);
});

test("a late subscriber gets only later messages; publishes keep order", async () => {
  const src = await source("late");
  const early = `${run}-early`, late = `${run}-late`;
  assert.equal((await subscribe(early, src)).status, 200);
  await publish(src, 1);
  await publish(src, 2);
  assert.equal((await subscribe(late, src)).status, 200);
  await Promise.all([3, 4, 5].map((n) => publish(src, n)));
  const e = await readSession(early);
  const l = await readSession(late);
  assert.deepEqual(e.slice(0, 2), [1, 2]);
  assert.deepEqual(e.slice(2), l);
  assert.deepEqual([...l].sort(), [3, 4, 5]);
  const s = await req(core, "GET", `${P}/stream/${src}?offset=-1`, { token: R });
  assert.deepEqual(s.json(), e); // same order as the source
});

test("touch extends expiresAt", async () => {
  const sid = `${run}-touch`;
  let r = await req(pubsub, "POST", `${P}/session/${sid}/touch`, { token: R });
  assert.equal(r.status, 200, r.text);
  const first = Date.parse(r.json().expiresAt);
  await new Promise((res) => setTimeout(res, 50));
  r = await req(pubsub, "POST", `${P}/session/${sid}/touch`, { token: R });
  assert.ok(Date.parse(r.json().expiresAt) > first);
  r = await req(pubsub, "GET", `${P}/session/${sid}`, { token: R });
  assert.equal(r.status, 200);
  assert.ok(Date.parse(r.json().expiresAt) > first);
});

test("session:* streams cannot be written through core", async () => {
  const sid = `${run}-res`;
  await req(pubsub, "POST", `${P}/session/${sid}/touch`, { token: R });
  for (const m of ["PUT", "POST", "DELETE"]) {
    const r = await req(core, m, `${P}/stream/session:${sid}`, { headers: { "Content-Type": "application/json" }, body: m === "DELETE" ? undefined : "[1]" });
    assert.equal(r.status, 403, `${m}: ${r.text}`);
    assert.equal(r.json().error.code, "RESERVED_STREAM");
  }
  const r = await publish(`session:${sid}`, 1);
  assert.equal(r.status, 403);
});

test("unknown session is 404; delete is idempotent; ids are validated", async () => {
  let r = await req(pubsub, "GET", `${P}/session/${run}-nope`, { token: R });
  assert.equal(r.status, 404);
  const src = await source("del");
  const sid = `${run}-del`;
  assert.equal((await subscribe(sid, src)).status, 200);
  r = await req(pubsub, "DELETE", `${P}/session/${sid}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { sessionId: sid, deleted: true });
  r = await req(pubsub, "DELETE", `${P}/session/${sid}`);
  assert.equal(r.status, 200);
  assert.equal(r.json().deleted, false);
  assert.equal((await req(pubsub, "GET", `${P}/session/${sid}`, { token: R })).status, 404);
  assert.equal((await req(core, "GET", `${P}/stream/session:${sid}`, { token: R })).status, 404);
  r = await publish(src, "after-delete");
  assert.equal(r.headers.get("Stream-Fanout-Count"), "0");
  assert.equal((await req(pubsub, "GET", `${P}/session/bad%20id`, { token: R })).status, 400);
  assert.equal((await req(pubsub, "DELETE", `${P}/session/a%2Fb`)).status, 400);
  assert.equal((await subscribe("bad id", src)).status, 400);
});

test("scopes: read cannot publish, unsubscribe or delete; no token is 401", async () => {
  const src = await source("scope");
  assert.equal((await req(pubsub, "POST", `${P}/publish/${src}`, { token: R, headers: { "Content-Type": "application/json" }, body: "1" })).status, 403);
  assert.equal((await req(pubsub, "DELETE", `${P}/session/x`, { token: R })).status, 403);
  assert.equal((await req(pubsub, "DELETE", `${P}/unsubscribe`, { token: R, body: { sessionId: "x", streamId: src } })).status, 403);
  assert.equal((await req(pubsub, "POST", `${P}/subscribe`, { token: "", body: { sessionId: "x", streamId: src } })).status, 401);
  assert.equal((await subscribe(`${run}-x`, `${run}-missing`)).status, 404);
});

test("unsubscribe stops delivery", async () => {
  const src = await source("unsub");
  const sid = `${run}-unsub`;
  assert.equal((await subscribe(sid, src)).status, 200);
  await publish(src, "a");
  let r = await req(pubsub, "DELETE", `${P}/unsubscribe`, { body: { sessionId: sid, streamId: src } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { sessionId: sid, streamId: src, unsubscribed: true });
  r = await publish(src, "b");
  assert.equal(r.headers.get("Stream-Fanout-Count"), "0");
  assert.deepEqual(await readSession(sid), ["a"]);
});

test("an idle session expires: its stream and subscriptions go (alarm)", async () => {
  const ttl = Number(process.env.SESSION_TTL || 0);
  if (!(ttl > 0 && ttl <= 15)) return; // only with a short SESSION_TTL_SECONDS
  const src = await source("expire");
  const sid = `${run}-exp`;
  assert.equal((await subscribe(sid, src)).status, 200);
  await new Promise((res) => setTimeout(res, ttl * 1000 + 2500));
  // Checked through core first: only the alarm can have deleted it.
  assert.equal((await req(core, "GET", `${P}/stream/session:${sid}`, { token: R })).status, 404);
  assert.equal((await req(pubsub, "GET", `${P}/session/${sid}`, { token: R })).status, 404);
  assert.equal((await publish(src, "late")).headers.get("Stream-Fanout-Count"), "0");
});
