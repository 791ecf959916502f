// Checks of the core worker beyond the conformance suite: project auth
// from the KV registry and the inspection API. Run by
// scripts/workers-conformance.sh against `wrangler dev --local` with the
// registry entry below seeded into local KV:
//   acme → {"signingSecrets":["acme-new","acme-old"],"corsOrigins":["https://app.example"]}
// Needs WORKER_URL. Uses only node:test, fetch and node:crypto.
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";

const base = process.env.WORKER_URL;
if (!base) throw new Error("WORKER_URL is not set");
const run = crypto.randomUUID().slice(0, 8);

function mint(secret, claims) {
  const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = b({ alg: "HS256", typ: "JWT" }) + "." + b({ exp: Math.floor(Date.now() / 1000) + 60, ...claims });
  return head + "." + crypto.createHmac("sha256", secret).update(head).digest("base64url");
}

const tok = (scope, extra = {}, secret = "acme-new") => mint(secret, { sub: "acme", scope, ...extra });
const bearer = (t) => ({ Authorization: `Bearer ${t}` });

async function req(method, path, { token, headers = {}, body } = {}) {
  const h = { ...headers };
  if (token) Object.assign(h, bearer(token));
  const r = await fetch(base + path, { method, headers: h, body });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: () => JSON.parse(text) };
}

const path = (name) => `/v1/acme/stream/${run}/${name}`;

test("writes need a write token signed with a current key", async () => {
  const p = path("auth");
  const put = (token) => req("PUT", p, { token, headers: { "Content-Type": "text/plain" }, body: "hello" });
  let r = await put();
  assert.equal(r.status, 401);
  assert.equal(r.json().error.code, "UNAUTHORIZED");
  assert.equal((await put(tok("write", {}, "not-a-key"))).status, 401);
  r = await put(tok("write", { exp: Math.floor(Date.now() / 1000) - 5 }));
  assert.equal(r.status, 401);
  assert.equal(r.json().error.code, "TOKEN_EXPIRED");
  assert.equal((await put(mint("acme-new", { sub: "other", scope: "write", exp: Math.floor(Date.now() / 1000) + 60 }))).status, 403);
  assert.equal((await put(tok("read"))).status, 403);
  assert.equal((await put(tok("write", {}, "acme-old"))).status, 201, "the older key still verifies (rotation)");
  r = await req("GET", p, { token: tok("read") });
  assert.equal(r.status, 200);
  assert.equal(r.text, "hello");
  assert.equal((await req("GET", p)).status, 401);
  assert.equal((await req("GET", p, { token: tok("read", { stream_id: "elsewhere" }) })).status, 403);
  assert.equal((await req("GET", p, { token: tok("read", { stream_id: `${run}/auth` }) })).status, 200);
});

test("alg none and unknown projects are refused", async () => {
  const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const none = b({ alg: "none" }) + "." + b({ sub: "acme", scope: "write", exp: Math.floor(Date.now() / 1000) + 60 }) + ".";
  assert.equal((await req("PUT", path("none"), { token: none })).status, 401);
  const r = await req("PUT", `/v1/nosuchproject/stream/${run}`, { token: tok("write") });
  assert.equal(r.status, 401);
  assert.equal(r.json().error.message, "unknown project");
});

test("public streams are readable without a token, never writable", async () => {
  const p = path("pub");
  assert.equal((await req("PUT", p + "?public=true", { token: tok("write"), headers: { "Content-Type": "text/plain" }, body: "hi" })).status, 201);
  const r = await req("GET", p);
  assert.equal(r.status, 200);
  assert.equal(r.text, "hi");
  assert.equal((await req("POST", p, { headers: { "Content-Type": "text/plain" }, body: "x" })).status, 401);
});

test("per-project CORS echoes only configured origins", async () => {
  const p = path("cors");
  await req("PUT", p, { token: tok("write") });
  let r = await req("HEAD", p, { token: tok("read"), headers: { Origin: "https://app.example" } });
  assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example");
  r = await req("HEAD", p, { token: tok("read"), headers: { Origin: "https://evil.example" } });
  assert.equal(r.headers.get("access-control-allow-origin"), null);
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
});

test("inspection API lists and describes streams (manage scope)", async () => {
  const names = ["i-a", "i-b", "i-c"];
  for (const n of names) {
    assert.equal((await req("PUT", path(n), { token: tok("write"), headers: { "Content-Type": "application/json" }, body: "[1,2]" })).status, 201);
  }
  const w = await req("POST", path("i-a"), {
    token: tok("write"),
    headers: { "Content-Type": "application/json", "Producer-Id": "p1", "Producer-Epoch": "0", "Producer-Seq": "0" },
    body: "3",
  });
  assert.equal(w.status, 200);
  assert.equal((await req("GET", "/v1/acme/streams", { token: tok("write") })).status, 403);
  const seen = [];
  let after = `${run}/i`;
  for (;;) {
    const r = await req("GET", `/v1/acme/streams?limit=2&after=${encodeURIComponent(after)}`, { token: tok("manage") });
    assert.equal(r.status, 200);
    const page = r.json();
    for (const s of page.streams) if (s.id.startsWith(`${run}/i-`)) seen.push(s);
    if (!page.next) break;
    after = page.next;
  }
  assert.deepEqual(seen.map((s) => s.id), names.map((n) => `${run}/${n}`));
  assert.equal(seen[0].messages, 3);
  assert.equal(seen[0].path, `/v1/acme/stream/${run}/i-a`);
  const d = await req("GET", `/v1/acme/streams/${run}/i-a`, { token: tok("manage") });
  assert.equal(d.status, 200);
  const detail = d.json();
  assert.equal(detail.tailOffset, "0000000000000000_0000000000000003");
  assert.deepEqual(detail.producers.map((p) => [p.id, p.epoch, p.lastSeq]), [["p1", 0, 0]]);
  assert.equal(detail.forks, 0);
  assert.equal((await req("DELETE", path("i-b"), { token: tok("write") })).status, 204);
  assert.equal((await req("GET", `/v1/acme/streams/${run}/i-b`, { token: tok("manage") })).status, 404);
  const r = await req("GET", `/v1/acme/streams?after=${encodeURIComponent(`${run}/i`)}`, { token: tok("manage") });
  assert.deepEqual(r.json().streams.map((s) => s.id).filter((id) => id.startsWith(`${run}/i-`)), [`${run}/i-a`, `${run}/i-c`]);
});

test("default project is open and listed under /v1/streams", async () => {
  const name = `${run}-open`;
  assert.equal((await req("PUT", `/v1/stream/${name}`, { headers: { "Content-Type": "text/plain" }, body: "x" })).status, 201);
  const r = await req("GET", `/v1/streams/${name}`);
  assert.equal(r.status, 200);
  assert.equal(r.json().path, `/v1/stream/${name}`);
});

test("bodies over MAX_BODY_BYTES get 413 and change nothing", async () => {
  const name = `/v1/stream/${run}-big`;
  assert.equal((await req("PUT", name, { headers: { "Content-Type": "application/octet-stream" } })).status, 201);
  const r = await req("POST", name, { headers: { "Content-Type": "application/octet-stream" }, body: new Uint8Array((16 << 20) + 1) });
  assert.equal(r.status, 413);
  assert.equal(r.json().error.code, "PAYLOAD_TOO_LARGE");
  const h = await req("HEAD", name);
  assert.equal(h.headers.get("stream-next-offset"), "0000000000000000_0000000000000000");
});

// Needs the SEGMENTS binding, DEBUG_TESTING=1 and a small
// SEGMENT_MAX_ROWS (the script's default run).
const segments = process.env.SEGMENTS_TEST === "1";

async function segState(p) {
  return (await req("GET", p, { headers: { "X-Debug-Action": "segments" } })).json();
}

async function readAll(p, from = "-1") {
  let out = "";
  let offset = from;
  for (;;) {
    const r = await req("GET", `${p}?offset=${offset}`);
    if (r.status !== 200) return { status: r.status, text: out, error: r.text };
    out += r.text;
    offset = r.headers.get("stream-next-offset");
    if (r.headers.get("stream-up-to-date") === "true") return { status: 200, text: out };
  }
}

test("cold segments: reads span R2 and the hot log; a truncated segment is a clear 500", { skip: !segments }, async () => {
  const p = `/v1/stream/${run}-cold`;
  assert.equal((await req("PUT", p, { headers: { "Content-Type": "text/plain" } })).status, 201);
  let want = "";
  for (let i = 0; i < 30; i++) {
    const chunk = `m${String(i).padStart(2, "0")};`;
    want += chunk;
    assert.equal((await req("POST", p, { headers: { "Content-Type": "text/plain" }, body: chunk })).status, 204);
  }
  let st;
  for (let i = 0; i < 50; i++) {
    st = await segState(p);
    if (st.segments.length >= 3 && !st.rotating) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(st.segments.length >= 3, `segments: ${JSON.stringify(st)}`);
  assert.ok(st.hotRows < 8, `hot rows left: ${st.hotRows}`);
  assert.equal((await readAll(p)).text, want);
  // From inside the first segment, mid-message (byte offsets).
  assert.equal((await readAll(p, "0000000000000000_0000000000000005")).text, want.slice(5));
  // A fork of a stream whose data is cold.
  const f = `/v1/stream/${run}-cold-fork`;
  assert.equal((await req("PUT", f, { headers: { "Stream-Forked-From": p, "Stream-Fork-Offset": "0000000000000000_0000000000000010" } })).status, 201);
  assert.equal((await readAll(f)).text, want.slice(0, 10));
  // Corrupt the newest segment: reads that need it fail with 500, never wrong data.
  assert.equal((await req("POST", p, { headers: { "X-Debug-Action": "truncate-latest" } })).status, 200);
  const r = await readAll(p);
  assert.equal(r.status, 500);
  assert.match(r.error, /SEGMENT_TRUNCATED/);
  assert.ok(want.startsWith(r.text), "no wrong data before the failure");
  // Data before the broken segment still reads.
  const first = st.segments[0];
  const head = await req("GET", `${p}?offset=-1`);
  if (head.status === 200) assert.equal(head.text, want.slice(0, Number(head.headers.get("stream-next-offset").slice(17))));
  assert.ok(first.seg_end > 0);
});

test("session:* streams are reserved for pub/sub", async () => {
  const r = await req("PUT", `/v1/stream/session:${run}`);
  assert.equal(r.status, 403);
  assert.equal(r.json().error.code, "RESERVED_STREAM");
  assert.equal((await req("POST", `/v1/stream/session:${run}`, { headers: { "Content-Type": "text/plain" }, body: "x" })).status, 403);
  assert.equal((await req("PUT", `/v1/stream/${run}-from-session`, { headers: { "Stream-Forked-From": `/v1/stream/session:${run}` } })).status, 403);
});
