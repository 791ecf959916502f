// StreamDO: one Durable Object per stream. It is the stream's sequencer
// and hot log (SQLite storage API), holds its long-poll waiters and SSE
// clients, and wakes them on every commit. Forks read their inherited
// range from the source's object over RPC and hold a reference on it.
import { DurableObject } from "cloudflare:workers";
import {
  HttpError, badRequest, clip, formatOffset, parseOffset, parseDecimal, parseExpiresAt, formatTime,
  mediaType, isJSON, isText, validProducerId, splitJSON, compareBytes, cursorFor, base64, utf8,
  renderBody, errorResponse, concat, DEFAULT_CONTENT_TYPE,
} from "./protocol.js";

// A SQLite value may not exceed 2 MB: byte appends are stored in rows of
// at most this many bytes (offsets stay byte positions).
const ROW_BYTES = 1 << 20;
// One read response carries at most this much data.
const PAGE_BYTES = 1 << 20;

const CACHE_HISTORICAL = "public, max-age=60, stale-while-revalidate=300";
const CACHE_AT_TAIL = "no-cache";
const CACHE_LIVE_DATA = "public, max-age=20";
const CACHE_NEVER = "no-store";

const notFound = () => new HttpError(404, "NOT_FOUND", "stream not found");
const gone = () => new HttpError(410, "GONE", "stream was deleted");
const conflict = (msg) => new HttpError(409, "CONFLICT", msg);

/** Positive finite number from a var, else the default. */
function numVar(v, def) {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : def;
}

/** "true" (any case) counts; anything else means absent. */
const headerTrue = (h, name) => (h.get(name) || "").trim().toLowerCase() === "true";

export class StreamDO extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (
      k INTEGER PRIMARY KEY CHECK (k = 1),
      key TEXT NOT NULL, incarnation TEXT NOT NULL, content_type TEXT NOT NULL,
      tail INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0,
      ttl INTEGER NOT NULL DEFAULT -1, expires_at INTEGER NOT NULL DEFAULT 0,
      last_access INTEGER NOT NULL, created_at INTEGER NOT NULL,
      fork_src TEXT, fork_offset INTEGER NOT NULL DEFAULT 0, fork_sub INTEGER NOT NULL DEFAULT 0,
      refcount INTEGER NOT NULL DEFAULT 0, soft INTEGER NOT NULL DEFAULT 0,
      last_stream_seq TEXT, closed_by_id TEXT, closed_by_epoch INTEGER, closed_by_seq INTEGER,
      public INTEGER NOT NULL DEFAULT 0,
      msg_count INTEGER NOT NULL DEFAULT 0, byte_count INTEGER NOT NULL DEFAULT 0, last_write INTEGER NOT NULL DEFAULT 0)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS msgs (
      start INTEGER PRIMARY KEY, end_pos INTEGER NOT NULL, batch_end INTEGER NOT NULL, data BLOB NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS producers (
      id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, last_seq INTEGER NOT NULL, last_offset INTEGER NOT NULL,
      updated_at INTEGER NOT NULL DEFAULT 0)`);
    // Cold segments in R2: immutable objects holding the rows of
    // [seg_start, seg_end), written before their hot rows are dropped.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS segments (
      seg_start INTEGER PRIMARY KEY, seg_end INTEGER NOT NULL, r2_key TEXT NOT NULL,
      size_bytes INTEGER NOT NULL, row_count INTEGER NOT NULL, created_at INTEGER NOT NULL)`);
    /** @type {Set<() => void>} */
    this.waiters = new Set();
    this.chain = Promise.resolve();
    /** Live readers (long-poll and SSE) connected now. */
    this.readers = 0;
    this.longPollMs = numVar(env.LONG_POLL_TIMEOUT_MS, 20000);
    this.sseLifetimeMs = numVar(env.SSE_LIFETIME_MS, 60000);
    // A Durable Object has 128 MB of memory: bodies are capped well below.
    this.maxBodyBytes = numVar(env.MAX_BODY_BYTES, 16 << 20);
    // Bound the live readers (long-poll + SSE) one stream holds.
    this.maxLiveReaders = numVar(env.MAX_LIVE_READERS, 10000);
    // Rotation of the hot log to R2 (only with a SEGMENTS binding).
    this.segmentMaxRows = numVar(env.SEGMENT_MAX_ROWS, 1000);
    this.segmentMaxBytes = numVar(env.SEGMENT_MAX_BYTES, 4 << 20);
    this.rotating = false;
    /** @type {{key: string, rows: any[]} | null} last decoded segment */
    this.segCache = null;
  }

  // ---- state -------------------------------------------------------------

  meta() {
    const rows = this.sql.exec("SELECT * FROM meta WHERE k = 1").toArray();
    return rows.length ? rows[0] : null;
  }

  /** Runs fn with every other mutation of this stream held off. */
  locked(fn) {
    const run = this.chain.then(fn, fn);
    this.chain = run.then(() => {}, () => {});
    return run;
  }

  /** Wakes every long-poll waiter and SSE client. */
  notify() {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  /** Resolves true on the next commit, false after ms. */
  waitChange(ms) {
    return new Promise((resolve) => {
      let timer;
      const w = () => {
        clearTimeout(timer);
        resolve(true);
      };
      timer = setTimeout(() => {
        this.waiters.delete(w);
        resolve(false);
      }, ms);
      this.waiters.add(w);
    });
  }

  expired(m, now = Date.now()) {
    if (m.expires_at > 0 && now >= m.expires_at) return true;
    return m.ttl >= 0 && now >= m.last_access + m.ttl * 1000;
  }

  deadline(m) {
    let d = m.expires_at > 0 ? m.expires_at : 0;
    if (m.ttl >= 0) {
      const t = m.last_access + m.ttl * 1000;
      if (d === 0 || t < d) d = t;
    }
    return d;
  }

  /** The live stream's metadata, expiring it first when its time passed. */
  async current(inLock = false) {
    let m = this.meta();
    if (m && !m.soft && this.expired(m)) {
      if (inLock) {
        await this.expire(m);
        return this.meta();
      }
      await this.locked(async () => {
        const m2 = this.meta();
        if (m2 && !m2.soft && this.expired(m2)) await this.expire(m2);
      });
      m = this.meta();
    }
    return m;
  }

  /** Metadata of a readable stream, or the 404/410 error. */
  async readable() {
    const m = await this.current();
    if (!m) throw notFound();
    if (m.soft) throw gone();
    return m;
  }

  async expire(m) {
    if (m.refcount > 0) {
      this.sql.exec("UPDATE meta SET soft = 1 WHERE k = 1");
      this.notify();
      return;
    }
    await this.hardDelete(m);
  }

  /** Drops the stream and its data, then releases its fork source. */
  async hardDelete(m) {
    const objects = this.sql.exec("SELECT r2_key FROM segments").toArray().map((r) => r.r2_key);
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM meta");
      this.sql.exec("DELETE FROM msgs");
      this.sql.exec("DELETE FROM producers");
      this.sql.exec("DELETE FROM segments");
    });
    this.segCache = null;
    if (objects.length && this.env.SEGMENTS) {
      try {
        await this.env.SEGMENTS.delete(objects);
      } catch (err) {
        console.error(`stream ${m.key}: deleting ${objects.length} segment objects failed: ${err && err.stack}`);
      }
    }
    await this.ctx.storage.deleteAlarm();
    this.notify();
    await this.catalog(m.key, false);
    if (m.fork_src) {
      try {
        await this.stubFor(m.fork_src).release();
      } catch (err) {
        console.error(`release of fork source ${m.fork_src} failed: ${err && err.stack}`);
      }
    }
  }

  /** Refreshes the TTL window (reads and writes do; HEAD does not). */
  touch(m) {
    if (m.ttl < 0) return;
    const now = Date.now();
    this.sql.exec("UPDATE meta SET last_access = ? WHERE k = 1", now);
    m.last_access = now;
  }

  stubFor(key) {
    return this.env.STREAMS.get(this.env.STREAMS.idFromName(key));
  }

  async alarm() {
    await this.locked(async () => {
      const m = this.meta();
      if (!m || m.soft) return;
      if (this.expired(m)) await this.expire(m);
      else {
        const d = this.deadline(m);
        if (d > 0) await this.ctx.storage.setAlarm(d);
      }
    });
  }

  // ---- reading -------------------------------------------------------------

  /** This stream's own rows overlapping [from, to), up to maxBytes. */
  async readOwn(from, to, maxBytes) {
    const seg = this.sql.exec("SELECT * FROM segments WHERE seg_start <= ? AND seg_end > ?", from, from).toArray()[0];
    if (seg) return this.readSegment(seg, from, to, maxBytes);
    const out = [];
    let used = 0;
    const cur = this.sql.exec(
      "SELECT start, end_pos, batch_end, data FROM msgs WHERE end_pos > ? AND start < ? ORDER BY start LIMIT 1000",
      from, to);
    for (const r of cur) {
      if (out.length > 0 && used >= maxBytes) break;
      const data = new Uint8Array(r.data);
      out.push({ start: r.start, end: r.end_pos, batchEnd: r.batch_end, data });
      used += data.length;
    }
    return out;
  }

  /**
   * Messages in [from, to), following fork ancestry, clipped to the
   * range, stopping after maxBytes (at least one message when non-empty).
   * Also the RPC a fork calls on its source: soft-deleted data stays
   * readable for forks.
   */
  async readRange(from, to, maxBytes) {
    const m = this.meta();
    if (!m) throw new Error("fork source has no data");
    if (to > m.tail) to = m.tail;
    const out = [];
    let used = 0;
    let pos = from;
    while (pos < to && (out.length === 0 || used < maxBytes)) {
      let part;
      const budget = Math.max(maxBytes - used, 1);
      if (m.fork_src && pos < m.fork_offset) {
        part = await this.stubFor(m.fork_src).readRange(pos, Math.min(to, m.fork_offset), budget);
      } else {
        part = await this.readOwn(pos, to, budget);
      }
      if (part.length === 0) throw new HttpError(500, "INTERNAL", `no data at ${formatOffset(pos)} below the tail`);
      for (let msg of part) {
        msg = clipMessage(msg, pos, to);
        if (msg.end <= pos) continue;
        out.push(msg);
        used += msg.data.length;
        pos = msg.end;
        if (pos >= to || used >= maxBytes) break;
      }
    }
    return out;
  }

  /** Rows of a cold segment overlapping [from, to), up to maxBytes. */
  async readSegment(seg, from, to, maxBytes) {
    let rows;
    if (this.segCache && this.segCache.key === seg.r2_key) rows = this.segCache.rows;
    else {
      if (!this.env.SEGMENTS) throw new HttpError(500, "SEGMENT_UNAVAILABLE", "segment unavailable: no SEGMENTS binding");
      const obj = await this.env.SEGMENTS.get(seg.r2_key);
      if (!obj) throw new HttpError(500, "SEGMENT_MISSING", `segment missing: ${seg.r2_key}`);
      const buf = new Uint8Array(await obj.arrayBuffer());
      rows = decodeSegment(buf, seg);
      if (!rows) throw new HttpError(500, "SEGMENT_TRUNCATED", `segment truncated or corrupt: ${seg.r2_key}`);
      this.segCache = { key: seg.r2_key, rows };
    }
    const out = [];
    let used = 0;
    for (const r of rows) {
      if (r.end <= from) continue;
      if (r.start >= to || (out.length > 0 && used >= maxBytes)) break;
      out.push(r);
      used += r.data.length;
    }
    return out;
  }

  /** Starts a rotation when the hot log is past its thresholds. */
  maybeRotate() {
    if (!this.env.SEGMENTS || this.rotating) return;
    const m = this.meta();
    if (!m) return;
    const st = this.sql.exec("SELECT COUNT(*) AS c, COALESCE(SUM(length(data)), 0) AS b FROM msgs").toArray()[0];
    if (st.c === 0) return;
    if (st.c < this.segmentMaxRows && st.b < this.segmentMaxBytes && !m.closed) return;
    this.rotating = true;
    this.rotate(m).catch((err) => console.error(`stream ${m.key}: rotation failed: ${err && err.stack}`))
      .finally(() => {
        this.rotating = false;
      });
  }

  /**
   * Moves the hot rows to one immutable R2 object. The object is written
   * first; then one transaction records the segment and drops the rows,
   * so a reader sees either the rows or the segment, never neither.
   */
  async rotate(m) {
    const rows = this.sql.exec("SELECT start, end_pos, batch_end, data FROM msgs ORDER BY start LIMIT ?",
      Math.max(this.segmentMaxRows, 1) * 4).toArray();
    if (!rows.length) return;
    for (let i = 1; i < rows.length; i++) {
      if (rows[i].start !== rows[i - 1].end_pos) throw new Error(`hot log is not contiguous at ${rows[i].start}`);
    }
    const first = rows[0].start;
    const last = rows[rows.length - 1].end_pos;
    const buf = encodeSegment(rows);
    const key = `streams/${b64url(m.key)}/${m.incarnation}/${String(first).padStart(16, "0")}.seg`;
    await this.env.SEGMENTS.put(key, buf, { customMetadata: { contentType: m.content_type, start: String(first), end: String(last) } });
    let kept = false;
    this.ctx.storage.transactionSync(() => {
      const m2 = this.meta();
      const n = this.sql.exec("SELECT COUNT(*) AS c FROM msgs WHERE start >= ? AND end_pos <= ?", first, last).toArray()[0].c;
      if (!m2 || m2.incarnation !== m.incarnation || n !== rows.length) return;
      this.sql.exec("INSERT INTO segments (seg_start, seg_end, r2_key, size_bytes, row_count, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        first, last, key, buf.length, rows.length, Date.now());
      this.sql.exec("DELETE FROM msgs WHERE start >= ? AND end_pos <= ?", first, last);
      kept = true;
    });
    if (this.env.DEBUG_TESTING === "1") console.log(`segment ${kept ? "written" : "dropped"}: ${m.key} [${first}, ${last}) ${rows.length} rows`);
    if (!kept) await this.env.SEGMENTS.delete(key); // the stream changed meanwhile: an orphan
    else setTimeout(() => this.maybeRotate(), 0);
  }

  /** One page from pos of a stream described by m. */
  async readPage(m, pos) {
    if (pos > m.tail) throw beyondTail(pos, m.tail);
    const msgs = await this.readRange(pos, m.tail, PAGE_BYTES);
    const next = msgs.length ? msgs[msgs.length - 1].end : pos;
    return { msgs, start: pos, next, upToDate: next === m.tail, closed: !!m.closed && next === m.tail };
  }

  // ---- RPC used by forks -------------------------------------------------------

  /** What a fork needs to know about its source, checked like a PUT would. */
  async peek() {
    const m = await this.current();
    if (!m) return { exists: false };
    return { exists: true, soft: !!m.soft, contentType: m.content_type, tail: m.tail, ttl: m.ttl, expiresAt: m.expires_at };
  }

  /**
   * Validates a fork point, takes a reference on this stream and returns
   * the materialized prefix a sub-offset selects.
   */
  async forkPrepare(offset, sub) {
    return this.locked(async () => {
      const m = await this.current(true);
      if (!m) return { status: 404, message: "fork source not found" };
      if (m.soft) return { status: 409, message: "fork source was deleted" };
      if (offset > m.tail) {
        return { status: 400, message: `Stream-Fork-Offset ${formatOffset(offset)} is beyond the source's tail ${formatOffset(m.tail)}` };
      }
      let prefix = [];
      if (sub > 0) {
        if (offset >= m.tail) return { status: 400, message: `Stream-Fork-Sub-Offset ${sub}: the source has no message at the fork offset` };
        const first = await this.readRange(offset, m.tail, 1);
        if (!first.length) return { status: 400, message: `Stream-Fork-Sub-Offset ${sub}: the source has no message at the fork offset` };
        const limit = first[0].batchEnd;
        if (offset + sub > limit) return { status: 400, message: `Stream-Fork-Sub-Offset ${sub} runs past the end of the message at the fork offset` };
        const msgs = await this.readRange(offset, offset + sub, Number.MAX_SAFE_INTEGER);
        prefix = isJSON(m.content_type) ? msgs.map((x) => x.data) : [renderBody(false, msgs)];
      }
      this.sql.exec("UPDATE meta SET refcount = refcount + 1 WHERE k = 1");
      this.touch(m);
      return { status: 200, prefix };
    });
  }

  /** Drops a fork's reference; a soft-deleted stream goes with its last fork. */
  async release() {
    await this.locked(async () => {
      const m = this.meta();
      if (!m) return;
      this.sql.exec("UPDATE meta SET refcount = MAX(refcount - 1, 0) WHERE k = 1");
      if (m.refcount - 1 <= 0 && m.soft) await this.hardDelete(m);
    });
  }

  /**
   * One Analytics Engine data point (only with a METRICS binding):
   * index = stream key, blobs = [key, event, producer id], doubles =
   * [1, bytes]. Metrics never fail a request.
   */
  metric(key, event, bytes = 0, producerId = "") {
    if (!this.env.METRICS || !key) return;
    try {
      this.env.METRICS.writeDataPoint({ indexes: [key.slice(0, 96)], blobs: [key, event, producerId || "anonymous"], doubles: [1, bytes] });
    } catch (err) {
      console.error(`metrics: ${err && err.message}`);
    }
  }

  /** Adds or removes this stream in its project's catalog (for listings). */
  async catalog(key, add) {
    const i = key.indexOf("/");
    const project = key.slice(0, i);
    const name = key.slice(i + 1);
    try {
      const cat = this.env.CATALOG.get(this.env.CATALOG.idFromName(project));
      if (add) await cat.add(name);
      else await cat.remove(name);
    } catch (err) {
      console.error(`catalog ${add ? "add" : "remove"} ${key}: ${err && err.stack}`);
    }
  }

  /** The inspection API's view of this stream, or null when not readable. */
  async summary(detail = false) {
    const m = await this.current();
    if (!m || m.soft) return null;
    const i = m.key.indexOf("/");
    const out = {
      id: m.key.slice(i + 1), path: streamPath(m.key), contentType: m.content_type, sizeBytes: m.byte_count,
      messages: m.msg_count, tailOffset: formatOffset(m.tail), closed: !!m.closed, public: !!m.public,
    };
    if (m.ttl >= 0) out.ttlSeconds = m.ttl;
    if (m.expires_at > 0) out.expiresAt = new Date(m.expires_at).toISOString();
    out.createdAt = new Date(m.created_at).toISOString();
    out.lastWriteAt = new Date(m.last_write || m.created_at).toISOString();
    out.readers = this.readers;
    if (!detail) return out;
    out.producers = this.sql.exec("SELECT id, epoch, last_seq, last_offset, updated_at FROM producers ORDER BY id").toArray()
      .map((p) => ({ id: p.id, epoch: p.epoch, lastSeq: p.last_seq, lastOffset: formatOffset(p.last_offset),
        updatedAt: new Date(p.updated_at).toISOString() }));
    if (m.fork_src) out.forkedFrom = { path: streamPath(m.fork_src), offset: formatOffset(m.fork_offset) };
    out.forks = m.refcount;
    return out;
  }

  /** Whether the stream is public (the Worker lets anonymous reads through). */
  async isPublic() {
    const m = this.meta();
    return !!(m && m.public && !m.soft);
  }

  // ---- HTTP ----------------------------------------------------------------

  async fetch(request) {
    try {
      if (this.env.DEBUG_TESTING === "1" && request.headers.has("X-Debug-Action")) return await this.debug(request);
      switch (request.method) {
        // Bodies are read first, so an early error never leaves the
        // request stream half-read.
        case "PUT": {
          const body = await this.readBody(request);
          return await this.locked(() => this.create(request, body));
        }
        case "POST": return await this.append(request, await this.readBody(request));
        case "GET": return await this.read(request);
        case "HEAD": return await this.head();
        case "DELETE": return await this.locked(() => this.remove());
      }
      return errorResponse(new HttpError(405, "METHOD_NOT_ALLOWED", "method not allowed on this path"), request.method);
    } catch (err) {
      if (!(err instanceof HttpError)) console.error(`stream ${request.headers.get("x-ds-key")}: ${err && err.stack}`);
      return errorResponse(err, request.method);
    }
  }

  /**
   * Test hooks, only with the var DEBUG_TESTING=1 (never in production):
   * X-Debug-Action: segments (counts), truncate-latest (corrupts the
   * newest segment object).
   */
  async debug(request) {
    const action = request.headers.get("X-Debug-Action");
    const json = (v) => new Response(JSON.stringify(v), { headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });
    if (action === "segments") {
      const segs = this.sql.exec("SELECT seg_start, seg_end, row_count FROM segments ORDER BY seg_start").toArray();
      const hot = this.sql.exec("SELECT COUNT(*) AS c FROM msgs").toArray()[0].c;
      return json({ segments: segs, hotRows: hot, rotating: this.rotating });
    }
    if (action === "truncate-latest") {
      const seg = this.sql.exec("SELECT * FROM segments ORDER BY seg_start DESC LIMIT 1").toArray()[0];
      if (!seg) throw new HttpError(404, "NOT_FOUND", "no segment");
      const obj = await this.env.SEGMENTS.get(seg.r2_key);
      const buf = new Uint8Array(await obj.arrayBuffer());
      await this.env.SEGMENTS.put(seg.r2_key, buf.subarray(0, Math.floor(buf.length / 2)));
      this.segCache = null;
      return json({ truncated: seg.r2_key });
    }
    throw badRequest(`unknown X-Debug-Action "${clip(action)}"`);
  }

  /**
   * The request body, or 413 past MAX_BODY_BYTES. An oversized body is
   * still drained (not kept), so the client reliably reads the 413
   * (the platform caps request bodies at 100 MB anyway).
   */
  async readBody(request) {
    if (!request.body) return new Uint8Array(0);
    const parts = [];
    let n = 0;
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n <= this.maxBodyBytes) parts.push(value);
      else parts.length = 0;
    }
    if (n > this.maxBodyBytes) {
      throw new HttpError(413, "PAYLOAD_TOO_LARGE", `body is larger than the ${this.maxBodyBytes}-byte limit`);
    }
    return parts.length === 1 ? parts[0] : concat(parts);
  }

  /** 503 when this stream already holds MAX_LIVE_READERS live readers. */
  admitLiveReader() {
    if (this.readers >= this.maxLiveReaders) {
      throw new HttpError(503, "UNAVAILABLE", "too many live readers on this stream; retry later", { "Retry-After": "1" });
    }
  }

  streamHeaders(m) {
    const h = new Headers({ "Content-Type": m.content_type, "Stream-Next-Offset": formatOffset(m.tail), "Cache-Control": CACHE_NEVER });
    if (m.ttl >= 0) h.set("Stream-TTL", String(m.ttl));
    if (m.expires_at > 0) h.set("Stream-Expires-At", formatTime(m.expires_at));
    if (m.closed) h.set("Stream-Closed", "true");
    return h;
  }

  async create(request, body) {
    const h = request.headers;
    const key = h.get("x-ds-key");
    let ct = h.get("Content-Type");
    let ttl = -1;
    let expiresAt = 0;
    const closed = headerTrue(h, "Stream-Closed");
    const isPublic = headerTrue(h, "X-Stream-Public") || new URL(request.url).searchParams.get("public") === "true";
    if (h.has("Stream-TTL") && h.has("Stream-Expires-At")) throw badRequest("Stream-TTL and Stream-Expires-At are mutually exclusive");
    if (h.has("Stream-TTL")) {
      const n = parseDecimal(h.get("Stream-TTL"));
      if (n === null) throw badRequest(`invalid Stream-TTL "${clip(h.get("Stream-TTL"))}": want a non-negative whole number of seconds without leading zeros`);
      ttl = n;
    }
    if (h.has("Stream-Expires-At")) expiresAt = parseExpiresAt(h.get("Stream-Expires-At"));
    const forkKey = h.get("x-ds-fork-key");
    let forkOffset = null;
    let forkSub = 0;
    if (h.has("Stream-Fork-Offset")) {
      try {
        forkOffset = parseOffset(h.get("Stream-Fork-Offset"));
      } catch {
        throw badRequest(`invalid Stream-Fork-Offset "${clip(h.get("Stream-Fork-Offset"))}"`);
      }
    }
    if (h.has("Stream-Fork-Sub-Offset")) {
      if (!forkKey) throw badRequest("Stream-Fork-Sub-Offset needs Stream-Forked-From");
      const n = parseDecimal(h.get("Stream-Fork-Sub-Offset"));
      if (n === null) throw badRequest(`invalid Stream-Fork-Sub-Offset "${clip(h.get("Stream-Fork-Sub-Offset"))}": want a non-negative whole number without leading zeros`);
      forkSub = n;
    }
    if (!forkKey && forkOffset !== null) throw badRequest("Stream-Fork-Offset needs Stream-Forked-From");
    if (forkSub > 0 && forkOffset === null) throw badRequest("Stream-Fork-Sub-Offset needs an explicit Stream-Fork-Offset");

    // Fork source checks come first, as in the local engine.
    let src = null;
    if (forkKey) {
      src = await this.stubFor(forkKey).peek();
      if (!src.exists) throw new HttpError(404, "NOT_FOUND", "fork source not found");
      if (src.soft) throw conflict("fork source was deleted");
      if (!ct) ct = src.contentType;
      else if (mediaType(ct) !== mediaType(src.contentType)) {
        throw new HttpError(409, "CONTENT_TYPE_MISMATCH", `fork content type ${mediaType(ct)} differs from the source's ${mediaType(src.contentType)}`);
      }
      if (forkOffset === null) forkOffset = src.tail;
      else if (forkOffset > src.tail) {
        throw new HttpError(400, "OFFSET_BEYOND_TAIL", `Stream-Fork-Offset ${formatOffset(forkOffset)} is beyond the source's tail ${formatOffset(src.tail)}`);
      }
      if (ttl < 0 && expiresAt === 0) {
        ttl = src.ttl;
        expiresAt = src.expiresAt;
      }
    }
    if (!ct) ct = DEFAULT_CONTENT_TYPE;

    const existing = await this.current(true);
    if (existing) {
      if (existing.soft) throw conflict("stream was deleted but is kept for its forks; its path cannot be reused yet");
      sameConfig(existing, ct, ttl, expiresAt, closed, forkKey, forkOffset || 0, forkSub);
      this.touch(existing);
      return new Response(null, { status: 200, headers: this.streamHeaders(existing) });
    }

    const json = isJSON(ct);
    let msgs = [];
    if (body.length > 0) msgs = json ? splitJSON(body) : [body];

    let prefix = [];
    if (forkKey) {
      const r = await this.stubFor(forkKey).forkPrepare(forkOffset, forkSub);
      if (r.status !== 200) {
        throw new HttpError(r.status, r.status === 404 ? "NOT_FOUND" : r.status === 409 ? "CONFLICT" : "BAD_REQUEST", r.message);
      }
      prefix = r.prefix;
    }
    const now = Date.now();
    const start = forkKey ? forkOffset : 0;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM msgs");
      this.sql.exec("DELETE FROM producers");
      this.sql.exec("DELETE FROM segments");
      this.sql.exec(
        `INSERT OR REPLACE INTO meta (k, key, incarnation, content_type, tail, closed, ttl, expires_at, last_access, created_at,
          fork_src, fork_offset, fork_sub, refcount, soft, public) VALUES (1, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)`,
        key, crypto.randomUUID(), ct, start, ttl, expiresAt, now, now, forkKey, start, forkSub, isPublic ? 1 : 0);
      let tail = start;
      if (prefix.length) tail = this.insertMessages(json, tail, prefix);
      if (msgs.length) tail = this.insertMessages(json, tail, msgs);
      this.sql.exec("UPDATE meta SET tail = ?, closed = ? WHERE k = 1", tail, closed ? 1 : 0);
    });
    const m = this.meta();
    const d = this.deadline(m);
    if (d > 0) await this.ctx.storage.setAlarm(d);
    this.notify();
    await this.catalog(m.key, true);
    this.maybeRotate();
    const headers = this.streamHeaders(m);
    headers.set("Location", request.headers.get("x-ds-url") || request.url);
    this.metric(m.key, "create", body.length);
    return new Response(null, { status: 201, headers });
  }

  /** Stores one append's messages at tail; returns the new tail. */
  insertMessages(json, tail, msgs) {
    let end = tail;
    let bytes = 0;
    for (const d of msgs) {
      end += json ? 1 : d.length;
      bytes += d.length;
    }
    this.sql.exec("UPDATE meta SET msg_count = msg_count + ?, byte_count = byte_count + ?, last_write = ? WHERE k = 1",
      msgs.length, bytes, Date.now());
    let pos = tail;
    for (const d of msgs) {
      if (json) {
        if (d.length > 2000000) throw new HttpError(413, "PAYLOAD_TOO_LARGE", "a JSON message is larger than 2 MB");
        this.sql.exec("INSERT INTO msgs (start, end_pos, batch_end, data) VALUES (?, ?, ?, ?)", pos, pos + 1, end, d);
        pos++;
        continue;
      }
      for (let o = 0; o < d.length; o += ROW_BYTES) {
        const piece = d.subarray(o, Math.min(o + ROW_BYTES, d.length));
        this.sql.exec("INSERT INTO msgs (start, end_pos, batch_end, data) VALUES (?, ?, ?, ?)", pos, pos + piece.length, end, piece);
        pos += piece.length;
      }
    }
    return end;
  }

  async append(request, body) {
    const h = request.headers;
    const producer = parseProducer(h);
    if (producer && !validProducerId(producer.id)) throw badRequest("invalid Producer-Id: want 1-256 characters from A-Z a-z 0-9 _ - : .");
    const close = headerTrue(h, "Stream-Closed");
    const streamSeq = h.get("Stream-Seq") || "";
    const ct = h.get("Content-Type") || "";
    return this.locked(async () => {
      const m = await this.current(true);
      if (!m) throw notFound();
      if (m.soft) throw gone();
      const closeOnly = body.length === 0 && close;
      const closedHeaders = { "Stream-Closed": "true", "Stream-Next-Offset": formatOffset(m.tail) };
      if (m.closed) {
        if (producer && m.closed_by_id === producer.id && m.closed_by_epoch === producer.epoch && m.closed_by_seq === producer.seq) {
          return appendResponse(204, m.tail, true, producer);
        }
        if (closeOnly && !producer) {
          this.touch(m);
          return appendResponse(204, m.tail, true, null);
        }
        throw new HttpError(409, "STREAM_CLOSED", "stream is closed", closedHeaders);
      }
      let msgs = [];
      const json = isJSON(m.content_type);
      if (!closeOnly) {
        if (body.length === 0) throw badRequest("empty body: send data, or Stream-Closed: true to close the stream");
        if (!ct) throw badRequest("Content-Type is required when appending data");
        if (mediaType(ct) !== mediaType(m.content_type)) {
          throw new HttpError(409, "CONTENT_TYPE_MISMATCH", `stream is ${mediaType(m.content_type)}, request is ${mediaType(ct)}`);
        }
        msgs = json ? splitJSON(body) : [body];
        if (msgs.length === 0) throw badRequest("empty JSON array: nothing to append");
      }
      if (producer) {
        const rows = this.sql.exec("SELECT epoch, last_seq, last_offset FROM producers WHERE id = ?", producer.id).toArray();
        const ps = rows[0];
        if (!ps || producer.epoch > ps.epoch) {
          if (producer.seq !== 0) throw badRequest(`Producer-Seq must start at 0 for a new producer or epoch (got ${producer.seq})`);
        } else if (producer.epoch < ps.epoch) {
          throw new HttpError(403, "STALE_EPOCH", "stale producer epoch", { "Producer-Epoch": String(ps.epoch) });
        } else if (producer.seq <= ps.last_seq) {
          return appendResponse(204, ps.last_offset, false, { id: producer.id, epoch: ps.epoch, seq: ps.last_seq });
        } else if (producer.seq > ps.last_seq + 1) {
          throw new HttpError(409, "PRODUCER_SEQ_GAP", "producer sequence gap", {
            "Producer-Expected-Seq": String(ps.last_seq + 1), "Producer-Received-Seq": String(producer.seq) });
        }
      }
      if (streamSeq && m.last_stream_seq && compareBytes(streamSeq, m.last_stream_seq) <= 0) {
        throw new HttpError(409, "SEQ_REGRESSION", `Stream-Seq "${clip(streamSeq)}" is not greater than "${clip(m.last_stream_seq)}"`);
      }
      let tail = m.tail;
      this.ctx.storage.transactionSync(() => {
        if (!closeOnly) tail = this.insertMessages(json, tail, msgs);
        const now = Date.now();
        this.sql.exec("UPDATE meta SET tail = ?, last_access = ? WHERE k = 1", tail, now);
        if (streamSeq) this.sql.exec("UPDATE meta SET last_stream_seq = ? WHERE k = 1", streamSeq);
        if (producer) {
          this.sql.exec("INSERT OR REPLACE INTO producers (id, epoch, last_seq, last_offset, updated_at) VALUES (?, ?, ?, ?, ?)",
            producer.id, producer.epoch, producer.seq, tail, now);
        }
        if (close) {
          this.sql.exec("UPDATE meta SET closed = 1, closed_by_id = ?, closed_by_epoch = ?, closed_by_seq = ? WHERE k = 1",
            producer ? producer.id : null, producer ? producer.epoch : null, producer ? producer.seq : null);
        }
      });
      this.notify();
      this.maybeRotate();
      const status = producer && !closeOnly ? 200 : 204;
      if (!closeOnly) this.metric(m.key, "append", body.length, producer && producer.id);
      if (close) this.metric(m.key, "close", 0, producer && producer.id);
      return appendResponse(status, tail, close, producer);
    });
  }

  async head() {
    const m = await this.readable();
    return new Response(null, { status: 200, headers: this.streamHeaders(m) });
  }

  async remove() {
    const m = await this.current(true);
    if (!m) throw notFound();
    if (m.soft) throw gone();
    if (m.refcount > 0) {
      this.sql.exec("UPDATE meta SET soft = 1 WHERE k = 1");
      this.notify();
    } else {
      await this.hardDelete(m);
    }
    this.metric(m.key, "delete");
    return new Response(null, { status: 204, headers: { "Cache-Control": CACHE_NEVER } });
  }

  async read(request) {
    const url = new URL(request.url);
    const q = url.searchParams;
    const offs = q.getAll("offset");
    let from = { kind: "start", pos: 0 };
    if (offs.length > 1) throw badRequest("offset must be given once");
    if (offs.length === 1) {
      const o = offs[0];
      if (o === "") throw badRequest("offset must not be empty: use -1 for the start or now for the tail");
      if (o === "now") from = { kind: "now", pos: 0 };
      else if (o !== "-1") from = { kind: "at", pos: parseOffset(o) };
    }
    const lives = q.getAll("live");
    let live = "";
    if (lives.length > 1) throw badRequest("live must be given once");
    if (lives.length === 1) {
      if (lives[0] !== "long-poll" && lives[0] !== "sse") throw badRequest(`unknown live mode "${clip(lives[0])}": want long-poll or sse`);
      live = lives[0];
    }
    const cursor = q.has("cursor") ? q.get("cursor") : null;
    if (live && offs.length === 0) throw badRequest(`live=${live} needs an offset: -1, now, or an offset from Stream-Next-Offset`);
    const m = await this.readable();
    this.touch(m);
    const pos = from.kind === "now" ? m.tail : from.pos;
    if (live) this.admitLiveReader();
    if (live === "long-poll") {
      this.readers++;
      try {
        return await this.longPoll(m, pos, from, cursor);
      } finally {
        this.readers--;
      }
    }
    if (live === "sse") return this.sse(m, pos, cursor);
    this.metric(m.key, "read");
    return this.catchUp(request, m, pos, from);
  }

  readHeaders(m, res) {
    const h = new Headers({ "Content-Type": m.content_type, "Stream-Next-Offset": formatOffset(res.next) });
    if (res.upToDate) h.set("Stream-Up-To-Date", "true");
    if (res.closed) h.set("Stream-Closed", "true");
    return h;
  }

  async catchUp(request, m, pos, from) {
    const res = await this.readPage(m, pos);
    const h = this.readHeaders(m, res);
    const json = isJSON(m.content_type);
    if (from.kind === "now") {
      h.set("Cache-Control", CACHE_NEVER);
      return new Response(json ? "[]" : null, { status: 200, headers: h });
    }
    const etag = `"${m.incarnation}:${res.start}:${res.next}${res.closed ? ":c" : ""}"`;
    h.set("ETag", etag);
    h.set("Cache-Control", res.upToDate && !res.closed ? CACHE_AT_TAIL : CACHE_HISTORICAL);
    if (etagMatches(request.headers.get("If-None-Match"), etag)) return new Response(null, { status: 304, headers: h });
    return new Response(renderBody(json, res.msgs), { status: 200, headers: h });
  }

  async longPoll(m, pos, from, cursor) {
    const deadline = Date.now() + this.longPollMs;
    for (;;) {
      m = await this.readable();
      if (pos > m.tail) throw beyondTail(pos, m.tail);
      if (pos < m.tail) {
        const res = await this.readPage(m, pos);
        const h = this.readHeaders(m, res);
        if (!res.closed) h.set("Stream-Cursor", cursorFor(cursor));
        h.set("ETag", `"${m.incarnation}:${res.start}:${res.next}${res.closed ? ":c" : ""}"`);
        h.set("Cache-Control", from.kind === "now" ? CACHE_NEVER : CACHE_LIVE_DATA);
        return new Response(renderBody(isJSON(m.content_type), res.msgs), { status: 200, headers: h });
      }
      if (m.closed) {
        return new Response(null, { status: 204, headers: {
          "Stream-Next-Offset": formatOffset(m.tail), "Stream-Up-To-Date": "true", "Stream-Closed": "true", "Cache-Control": CACHE_NEVER } });
      }
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.waitChange(left))) {
        return new Response(null, { status: 204, headers: {
          "Stream-Next-Offset": formatOffset(pos), "Stream-Up-To-Date": "true", "Stream-Cursor": cursorFor(cursor),
          "Cache-Control": CACHE_NEVER, "Content-Type": m.content_type } });
      }
    }
  }

  async sse(m, pos, cursor) {
    if (pos > m.tail) throw beyondTail(pos, m.tail);
    const json = isJSON(m.content_type);
    const text = isText(m.content_type);
    const headers = new Headers({ "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" });
    if (!text) headers.set("Stream-SSE-Data-Encoding", "base64");
    const { readable, writable } = new TransformStream();
    const writer = writable.getWriter();
    const endAt = Date.now() + this.sseLifetimeMs;
    const control = (c) => "event: control\ndata:" + JSON.stringify(c) + "\n\n";
    const loop = async () => {
      let first = true;
      for (;;) {
        let cur;
        try {
          cur = await this.readable();
        } catch {
          return; // deleted or expired: end the stream
        }
        const res = await this.readPage(cur, pos);
        let out = "";
        if (res.msgs.length) out += dataEvent(json, text, res.msgs);
        if (res.msgs.length || first || res.closed) {
          const c = { streamNextOffset: formatOffset(res.next) };
          if (!res.closed) c.streamCursor = cursorFor(cursor);
          if (res.upToDate) c.upToDate = true;
          if (res.closed) c.streamClosed = true;
          out += control(c);
        }
        first = false;
        if (out) await writer.write(utf8(out));
        pos = res.next;
        if (res.closed) return;
        if (!res.upToDate) continue;
        this.touch(cur);
        const left = endAt - Date.now();
        if (left <= 0) return;
        const changed = await this.waitChange(Math.min(left, this.longPollMs));
        if (changed) continue;
        if (Date.now() >= endAt) return;
        await writer.write(utf8(control({ streamNextOffset: formatOffset(pos), streamCursor: cursorFor(cursor), upToDate: true })));
      }
    };
    this.readers++;
    this.metric(m.key, "sse_connect");
    loop().finally(() => this.readers--).then(
      () => writer.close().catch(() => {}),
      () => writer.abort().catch(() => {}),
    );
    return new Response(readable, { status: 200, headers });
  }
}

const SEG_MAGIC = 0x44535331; // "DSS1"

/**
 * Segment object: magic, row count, then per row start, end, batch end
 * (float64, exact up to 2^53), data length (uint32) and data.
 */
function encodeSegment(rows) {
  let n = 8;
  for (const r of rows) n += 28 + r.data.byteLength;
  const buf = new Uint8Array(n);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, SEG_MAGIC);
  dv.setUint32(4, rows.length);
  let o = 8;
  for (const r of rows) {
    const data = new Uint8Array(r.data);
    dv.setFloat64(o, r.start);
    dv.setFloat64(o + 8, r.end_pos);
    dv.setFloat64(o + 16, r.batch_end);
    dv.setUint32(o + 24, data.length);
    buf.set(data, o + 28);
    o += 28 + data.length;
  }
  return buf;
}

/** Rows of a segment object, or null when it is truncated or corrupt. */
function decodeSegment(buf, seg) {
  if (buf.length !== seg.size_bytes || buf.length < 8) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0) !== SEG_MAGIC || dv.getUint32(4) !== seg.row_count) return null;
  const rows = [];
  let o = 8;
  let pos = seg.seg_start;
  for (let i = 0; i < seg.row_count; i++) {
    if (o + 28 > buf.length) return null;
    const start = dv.getFloat64(o);
    const end = dv.getFloat64(o + 8);
    const batchEnd = dv.getFloat64(o + 16);
    const len = dv.getUint32(o + 24);
    if (start !== pos || end <= start || o + 28 + len > buf.length) return null;
    rows.push({ start, end, batchEnd, data: buf.slice(o + 28, o + 28 + len) });
    pos = end;
    o += 28 + len;
  }
  if (o !== buf.length || pos !== seg.seg_end) return null;
  return rows;
}

function b64url(s) {
  return base64(utf8(s)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The URL path of a stream key "<project>/<name>". */
function streamPath(key) {
  const i = key.indexOf("/");
  const project = key.slice(0, i);
  const name = key.slice(i + 1);
  return project === "default" ? `/v1/stream/${name}` : `/v1/${project}/stream/${name}`;
}

/**
 * CatalogDO: one per project, the index of its streams' names that
 * listings page through (Durable Objects cannot be enumerated).
 */
export class CatalogDO extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS streams (name TEXT PRIMARY KEY)");
  }

  add(name) {
    this.sql.exec("INSERT OR IGNORE INTO streams (name) VALUES (?)", name);
  }

  remove(name) {
    this.sql.exec("DELETE FROM streams WHERE name = ?", name);
  }

  /** Names after `after`, in order. */
  names(after, limit) {
    return this.sql.exec("SELECT name FROM streams WHERE name > ? ORDER BY name LIMIT ?", after, limit)
      .toArray().map((r) => r.name);
  }
}

/** Frames one page as a single SSE `data` event. */
function dataEvent(json, text, msgs) {
  const payload = renderBody(json, msgs);
  if (!text) return "event: data\ndata:" + base64(payload) + "\n\n";
  const s = new TextDecoder().decode(payload);
  return "event: data\n" + s.split(/\r\n|\r|\n/).map((l) => "data:" + l).join("\n") + "\n\n";
}

function clipMessage(m, from, to) {
  let { start, end, batchEnd, data } = m;
  if (start < from) {
    data = data.subarray(from - start);
    start = from;
  }
  if (end > to) {
    data = data.subarray(0, data.length - (end - to));
    end = to;
  }
  if (batchEnd > to) batchEnd = to;
  return { start, end, batchEnd, data };
}

function beyondTail(pos, tail) {
  return new HttpError(400, "OFFSET_BEYOND_TAIL", `offset ${formatOffset(pos)} is beyond the tail ${formatOffset(tail)}`);
}

function etagMatches(header, etag) {
  if (!header) return false;
  return header.split(",").some((c) => {
    c = c.trim().replace(/^W\//, "");
    return c === "*" || c === etag;
  });
}

/** Producer-Id/Epoch/Seq: all three or none. */
function parseProducer(h) {
  const id = h.get("Producer-Id");
  const epoch = h.get("Producer-Epoch");
  const seq = h.get("Producer-Seq");
  if (id === null && epoch === null && seq === null) return null;
  if (id === null || epoch === null || seq === null) throw badRequest("Producer-Id, Producer-Epoch and Producer-Seq must be sent together");
  if (id === "") throw badRequest("Producer-Id must not be empty");
  const e = parseDecimal(epoch);
  if (e === null) throw badRequest(`invalid Producer-Epoch "${clip(epoch)}": want a whole number from 0 to 2^53-1`);
  const s = parseDecimal(seq);
  if (s === null) throw badRequest(`invalid Producer-Seq "${clip(seq)}": want a whole number from 0 to 2^53-1`);
  return { id, epoch: e, seq: s };
}

function appendResponse(status, tail, closed, producer) {
  const h = new Headers({ "Stream-Next-Offset": formatOffset(tail), "Cache-Control": CACHE_NEVER });
  if (closed) h.set("Stream-Closed", "true");
  if (producer) {
    h.set("Producer-Epoch", String(producer.epoch));
    h.set("Producer-Seq", String(producer.seq));
  }
  return new Response(null, { status, headers: h });
}

/** 200 for an identical re-create, else the 409 that names the difference. */
function sameConfig(m, ct, ttl, expiresAt, closed, forkKey, forkOffset, forkSub) {
  if (mediaType(m.content_type) !== mediaType(ct)) throw conflict(`stream exists with content type ${mediaType(m.content_type)}`);
  if (m.ttl !== ttl) throw conflict("stream exists with a different Stream-TTL");
  if (m.expires_at !== expiresAt) throw conflict("stream exists with a different Stream-Expires-At");
  if (!!m.closed !== closed) throw conflict(m.closed ? "stream exists and is closed" : "stream exists and is open");
  if ((m.fork_src || null) !== (forkKey || null)) throw conflict("stream exists with a different fork source");
  if (forkKey && (m.fork_offset !== forkOffset || m.fork_sub !== forkSub)) throw conflict("stream exists with a different fork offset");
}
