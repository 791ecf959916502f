// The subscription worker's Durable Objects.
//
// SourceDO (one per <project>/<streamId>): the source stream's
// subscribers, each with the last source offset delivered to it. Every
// publish runs through one queue, so fan-out happens in source order; a
// subscriber is brought from its last delivered offset up to the source
// tail (read back through core), so nothing is delivered twice and
// nothing is skipped, and a late subscriber starts at the tail it saw
// when it subscribed. The copy into session:<id> carries a producer of
// its own per subscription (id fanout-<hash of the stream id>, epoch =
// the subscription's start, seq counting from 0), so a copy that was
// written but not recorded is deduplicated by core when it is retried.
// Fan-out is bounded (MAX_FANOUT subscribers, FANOUT_BATCH at a time,
// WRITE_TIMEOUT_MS per write); it never fails a publish once the source
// write has committed.
//
// SessionDO (one per <project>/<sessionId>): the session's subscriptions
// and its expiry, an alarm that deletes the session stream and removes
// the session from every SourceDO.
import { DurableObject } from "cloudflare:workers";
import { isJSON, mediaType } from "./protocol.js";

const SESSION_PREFIX = "session:";
const MAX_FANOUT = 1000;
const FANOUT_BATCH = 50;
const WRITE_TIMEOUT_MS = 10000;
const CLEANUP_BATCH = 20;

const err = (status, code, message) => ({ error: { status, code, message } });

function streamURL(project, name, query = "") {
  return `https://core/v1/${project}/stream/${encodeURIComponent(name)}${query}`;
}

/** A request to core through the CORE service binding (CoreRPC entrypoint). */
async function core(env, method, project, name, { headers = {}, body, query = "" } = {}) {
  const init = { method, headers };
  if (body !== undefined) init.body = body;
  const req = fetchWithTimeout(env.CORE, new Request(streamURL(project, name, query), init));
  return req;
}

async function fetchWithTimeout(svc, req) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`core ${req.method} ${new URL(req.url).pathname} timed out`)), WRITE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([svc.fetch(req), t]);
  } finally {
    clearTimeout(timer);
  }
}

async function producerIdFor(streamId) {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(streamId));
  return "fanout-" + [...new Uint8Array(d)].slice(0, 16).map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function errorFrom(resp) {
  let message = `core answered ${resp.status}`;
  let code = "UPSTREAM";
  try {
    const b = await resp.json();
    if (b && b.error) {
      message = b.error.message || message;
      code = b.error.code || code;
    }
  } catch {
    // not JSON
  }
  return err(resp.status, code, message);
}

export class SourceDO extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    /** @type {Promise<any>} the publish/subscribe queue */
    this.queue = Promise.resolve();
  }

  /** Runs fn after everything queued before it. */
  serial(fn) {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** The source stream's content type and tail, or a 404/410. */
  async head(project, streamId) {
    const r = await core(this.env, "HEAD", project, streamId);
    if (r.status === 404) return err(404, "NOT_FOUND", `stream ${streamId} not found`);
    if (!r.ok) return err(r.status, r.status === 410 ? "GONE" : "UPSTREAM", `stream ${streamId}: core answered ${r.status}`);
    return { contentType: r.headers.get("Content-Type") || "application/octet-stream", tail: r.headers.get("Stream-Next-Offset") };
  }

  /**
   * Adds a subscriber starting at the current source tail (a late
   * subscriber only gets later publishes). An existing subscription of
   * the same session incarnation keeps its position.
   */
  addSubscriber(project, streamId, sessionId, subscribedAt) {
    return this.serial(async () => {
      const key = "sub:" + sessionId;
      const old = await this.ctx.storage.get(key);
      if (old && old.subscribedAt === subscribedAt) return { ok: true };
      const h = await this.head(project, streamId);
      if (h.error) return h;
      await this.ctx.storage.put(key, { lastDelivered: h.tail, subscribedAt, seq: 0 });
      return { ok: true };
    });
  }

  removeSubscriber(sessionId) {
    return this.serial(() => this.ctx.storage.delete("sub:" + sessionId));
  }

  /**
   * Appends to the source through core with the publisher's headers, then
   * brings every subscriber up to the new tail. Answers core's status and
   * headers plus the fan-out count.
   */
  publish(project, streamId, headers, body) {
    return this.serial(async () => {
      const r = await core(this.env, "POST", project, streamId, { headers, body });
      const out = { status: r.status, headers: [], fanout: 0, duplicate: false, nextOffset: "" };
      for (const [k, v] of r.headers) {
        const lk = k.toLowerCase();
        if (lk.startsWith("stream-") || lk.startsWith("producer-") || (r.status >= 300 && lk === "content-type")) out.headers.push([k, v]);
      }
      if (r.status >= 300) {
        out.body = await r.arrayBuffer();
        return out;
      }
      out.nextOffset = r.headers.get("Stream-Next-Offset") || "";
      out.duplicate = r.status === 204 && "Producer-Id" in headers;
      // The source write has committed: nothing below fails the publish.
      try {
        out.fanout = await this.fanout(project, streamId, out.nextOffset);
      } catch (e) {
        console.error(`fan-out of ${project}/${streamId}: ${e && e.stack}`);
      }
      return out;
    });
  }

  async fanout(project, streamId, tail) {
    const subs = await this.ctx.storage.list({ prefix: "sub:", limit: MAX_FANOUT });
    const todo = [...subs].filter(([, s]) => s.lastDelivered < tail); // offsets are fixed-width
    if (todo.length === 0) return 0;
    const producer = await producerIdFor(streamId);
    const src = { contentType: null };
    let n = 0;
    for (let i = 0; i < todo.length; i += FANOUT_BATCH) {
      const results = await Promise.allSettled(todo.slice(i, i + FANOUT_BATCH)
        .map(([key, s]) => this.deliver(project, streamId, key, s, tail, producer, src)));
      for (const r of results) {
        if (r.status === "fulfilled" && r.value) n++;
        else if (r.status === "rejected") console.error(`fan-out of ${project}/${streamId}: ${r.reason && r.reason.stack}`);
      }
    }
    return n;
  }

  /** Copies source[s.lastDelivered, tail) into the session stream; true when something was delivered. */
  async deliver(project, streamId, key, s, tail, producer, src) {
    const sessionId = key.slice(4);
    let delivered = false;
    for (let guard = 0; s.lastDelivered < tail && guard < 100; guard++) {
      const r = await core(this.env, "GET", project, streamId, { query: `?offset=${encodeURIComponent(s.lastDelivered)}` });
      if (!r.ok) {
        await r.body?.cancel();
        return delivered;
      }
      const next = r.headers.get("Stream-Next-Offset") || s.lastDelivered;
      const ct = r.headers.get("Content-Type") || "application/octet-stream";
      const data = await r.arrayBuffer();
      if (next <= s.lastDelivered) return delivered;
      const empty = data.byteLength === 0 || (isJSON(ct) && new TextDecoder().decode(data).trim() === "[]");
      if (!empty) {
        const w = await core(this.env, "POST", project, SESSION_PREFIX + sessionId, {
          body: data,
          headers: { "Content-Type": ct,
            "Producer-Id": producer, "Producer-Epoch": String(s.subscribedAt), "Producer-Seq": String(s.seq) },
        });
        await w.body?.cancel();
        if (w.status === 404 || w.status === 410) { // the session is gone: forget it
          await this.ctx.storage.delete(key);
          return delivered;
        }
        if (!w.ok) {
          console.error(`fan-out ${project}/${streamId} → session:${sessionId}: core answered ${w.status}`);
          return delivered;
        }
        s.seq++;
        delivered = true;
      }
      s.lastDelivered = next;
      await this.ctx.storage.put(key, s);
    }
    return delivered;
  }
}

export class SessionDO extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    /** @type {Promise<any>} one change at a time (calls to core interleave otherwise) */
    this.queue = Promise.resolve();
  }

  serial(fn) {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /** The live session's state, expiring it first when due; null when none. */
  async live() {
    const meta = await this.ctx.storage.get("meta");
    if (!meta) return null;
    if (Date.now() >= meta.expiresAt) {
      await this.cleanup(meta);
      return null;
    }
    return meta;
  }

  info(meta) {
    return meta ? this.infoNow(meta) : this.serial(() => this.infoNow(null));
  }

  async infoNow(meta) {
    meta = meta || (await this.live());
    if (!meta) return null;
    const subs = await this.ctx.storage.list({ prefix: "sub:" });
    return {
      sessionId: meta.sessionId,
      sessionStreamPath: `/v1/${meta.project}/stream/${SESSION_PREFIX}${meta.sessionId}`,
      expiresAt: new Date(meta.expiresAt).toISOString(),
      createdAt: new Date(meta.createdAt).toISOString(),
      subscriptions: [...subs].map(([k, v]) => ({ streamId: k.slice(4), subscribedAt: new Date(v.subscribedAt).toISOString() })),
    };
  }

  /** Creates the session (and its stream of content type ct); error when the stream exists without a session. */
  async start(project, sessionId, ct) {
    const r = await core(this.env, "PUT", project, SESSION_PREFIX + sessionId, { headers: { "Content-Type": ct } });
    await r.body?.cancel();
    if (r.status === 200 || r.status === 409) {
      return err(409, "CONFLICT", `stream ${SESSION_PREFIX}${sessionId} exists but is not a pub/sub session; pick another session id`);
    }
    if (r.status !== 201) return err(r.status, "UPSTREAM", `creating the session stream: core answered ${r.status}`);
    const now = Date.now();
    return { project, sessionId, createdAt: now, expiresAt: now };
  }

  async extend(meta, ttlMs) {
    meta.expiresAt = Date.now() + ttlMs;
    await this.ctx.storage.put("meta", meta);
    await this.ctx.storage.setAlarm(meta.expiresAt);
  }

  subscribe(project, sessionId, streamId, ct, ttlMs) {
    return this.serial(() => this.subscribeNow(project, sessionId, streamId, ct, ttlMs));
  }

  async subscribeNow(project, sessionId, streamId, ct, ttlMs) {
    let meta = await this.live();
    let isNew = !meta;
    if (meta) {
      const h = await core(this.env, "HEAD", project, SESSION_PREFIX + sessionId);
      const sct = h.headers.get("Content-Type") || "";
      if (h.ok && mediaType(sct) !== mediaType(ct)) {
        const nsubs = (await this.ctx.storage.list({ prefix: "sub:", limit: 1 })).size;
        const tail = h.headers.get("Stream-Next-Offset") || "";
        if (nsubs > 0 || !/^0+_0+$/.test(tail)) {
          return err(409, "CONTENT_TYPE_MISMATCH", `session ${sessionId} carries ${mediaType(sct)}; stream ${streamId} is ${mediaType(ct)} (a session's streams must share one content type)`);
        }
        await this.cleanup(meta); // an empty session made by touch takes its first source's type
        meta = null;
        isNew = true;
      } else if (h.status === 404) {
        await this.cleanup(meta);
        meta = null;
        isNew = true;
      }
    }
    if (!meta) {
      meta = await this.start(project, sessionId, ct);
      if (meta.error) return meta;
    }
    await this.extend(meta, ttlMs);
    const key = "sub:" + streamId;
    let sub = await this.ctx.storage.get(key);
    if (!sub) {
      sub = { subscribedAt: Date.now() };
      await this.ctx.storage.put(key, sub);
    }
    const src = this.env.SOURCES.get(this.env.SOURCES.idFromName(`${project}/${streamId}`));
    const r = await src.addSubscriber(project, streamId, sessionId, sub.subscribedAt);
    if (r.error) {
      await this.ctx.storage.delete(key);
      return r;
    }
    return { ...(await this.infoNow(meta)), isNew };
  }

  unsubscribe(streamId) {
    return this.serial(() => this.unsubscribeNow(streamId));
  }

  async unsubscribeNow(streamId) {
    const meta = await this.live();
    if (!meta) return { removed: false };
    const key = "sub:" + streamId;
    if (!(await this.ctx.storage.get(key))) return { removed: false };
    const src = this.env.SOURCES.get(this.env.SOURCES.idFromName(`${meta.project}/${streamId}`));
    await src.removeSubscriber(meta.sessionId);
    await this.ctx.storage.delete(key);
    return { removed: true };
  }

  touch(project, sessionId, ttlMs) {
    return this.serial(() => this.touchNow(project, sessionId, ttlMs));
  }

  async touchNow(project, sessionId, ttlMs) {
    let meta = await this.live();
    const isNew = !meta;
    if (!meta) {
      meta = await this.start(project, sessionId, "application/json");
      if (meta.error) return meta;
    }
    await this.extend(meta, ttlMs);
    return { ...(await this.infoNow(meta)), isNew };
  }

  remove() {
    return this.serial(() => this.removeNow());
  }

  async removeNow() {
    const meta = await this.live();
    if (!meta) return { existed: false };
    await this.cleanup(meta);
    return { existed: true };
  }

  alarm() {
    return this.serial(() => this.alarmNow());
  }

  async alarmNow() {
    const meta = await this.ctx.storage.get("meta");
    if (!meta) return;
    if (Date.now() >= meta.expiresAt) await this.cleanup(meta);
    else await this.ctx.storage.setAlarm(meta.expiresAt);
  }

  /** Removes the session from its sources, deletes its stream and forgets it. */
  async cleanup(meta) {
    const subs = [...(await this.ctx.storage.list({ prefix: "sub:" })).keys()].map((k) => k.slice(4));
    for (let i = 0; i < subs.length; i += CLEANUP_BATCH) {
      await Promise.all(subs.slice(i, i + CLEANUP_BATCH).map((id) =>
        this.env.SOURCES.get(this.env.SOURCES.idFromName(`${meta.project}/${id}`)).removeSubscriber(meta.sessionId)));
    }
    const r = await core(this.env, "DELETE", meta.project, SESSION_PREFIX + meta.sessionId);
    await r.body?.cancel();
    if (!r.ok && r.status !== 404 && r.status !== 410) throw new Error(`deleting session stream: core answered ${r.status}`);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }
}
