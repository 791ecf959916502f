// Package enginetest is the shared behaviour suite for engine.Store
// implementations. It drives a real engine.Engine over the store under
// test, so every store is held to the same protocol rules:
//
//	func TestSuite(t *testing.T) {
//		enginetest.Run(t, enginetest.Config{
//			Open:       func(t *testing.T, dir string) engine.Store { ... },
//			Persistent: true,
//		})
//	}
//
// Time-dependent tests inject a Clock through engine.Options.Now; nothing
// in the suite sleeps for more than a couple of milliseconds or asserts
// how long something took.
package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
)

// Config describes the store under test.
type Config struct {
	// Open returns a Store for dir. Each test passes its own fresh
	// directory; reopen tests call Open a second time on the same
	// directory after closing the first Store. Stores that keep nothing
	// on disk may ignore dir.
	Open func(t *testing.T, dir string) engine.Store
	// Persistent says that the Store keeps its state across Close and
	// Open on the same directory. The reopen tests are skipped otherwise.
	Persistent bool
}

// waitTimeout bounds every wait for an asynchronous event. It is a safety
// net against hangs, not an expectation about speed.
const waitTimeout = 10 * time.Second

// Run runs the whole suite against the store cfg opens.
func Run(t *testing.T, cfg Config) {
	if cfg.Open == nil {
		t.Fatal("enginetest: Config.Open is nil")
	}
	groups := []struct {
		name string
		fn   func(t *testing.T, cfg Config)
	}{
		{"Create", testCreate},
		{"CreateIdempotency", testCreateIdempotency},
		{"CreateJSON", testCreateJSON},
		{"CreateClosed", testCreateClosed},
		{"KeysAreScopedByProject", testKeys},
		{"AppendRules", testAppendRules},
		{"AppendJSON", testAppendJSON},
		{"CloseRules", testCloseRules},
		{"StreamSeq", testStreamSeq},
		{"Producers", testProducers},
		{"ProducerClose", testProducerClose},
		{"ProducerAndStreamSeq", testProducerAndStreamSeq},
		{"ReadPaging", testReadPaging},
		{"ReadMidMessage", testReadMidMessage},
		{"ReadClosed", testReadClosed},
		{"ReadJSON", testReadJSON},
		{"ReadLargeBody", testReadLargeBody},
		{"TTL", testTTL},
		{"ExpiresAt", testExpiresAt},
		{"RecreateAfterExpiry", testRecreateAfterExpiry},
		{"ForkBasics", testForkBasics},
		{"ForkErrors", testForkErrors},
		{"ForkIdempotency", testForkIdempotency},
		{"ForkSubOffsetBytes", testForkSubOffsetBytes},
		{"ForkSubOffsetJSON", testForkSubOffsetJSON},
		{"ForkSubOffsetJSONChainBoundary", testForkSubOffsetJSONChainBoundary},
		{"ForkContentTypeMismatchLeaksNoRef", testForkContentTypeNoLeak},
		{"ForkSoftDelete", testForkSoftDelete},
		{"ForkCascadeThreeLevels", testForkCascade},
		{"ForkCascadeTwoForks", testForkCascadeTwoForks},
		{"ForkNoProducerInheritance", testForkNoProducerInheritance},
		{"ForkTTL", testForkTTL},
		{"ForkExpiryReleasesSource", testForkExpiryReleasesSource},
		{"ReaperExpiresForks", testReaperExpiresForks},
		{"Wait", testWait},
		{"WaitFork", testWaitFork},
		{"Delete", testDelete},
		{"EngineClose", testEngineClose},
		{"EngineCloseTwice", testEngineCloseTwice},
		{"ConcurrentProducers", testConcurrentProducers},
		{"StoreContract", testStoreContract},
		{"CommitFailure", testCommitFailure},
		{"CommitFailureDelete", testCommitFailureDelete},
		{"Reopen", testReopenData},
		{"ReopenProducers", testReopenProducers},
		{"ReopenClosed", testReopenClosed},
		{"ReopenStreamSeq", testReopenStreamSeq},
		{"ReopenForks", testReopenForks},
		{"ReopenTTL", testReopenTTL},
		{"PubSubRecords", testPubSubRecords},
		{"PubSubExpiry", testPubSubExpiry},
		{"PubSubCommitFailure", testPubSubCommitFailure},
		{"ReopenPubSub", testReopenPubSub},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.fn(t, cfg)
		})
	}
}

// ---- clock ----

// Clock is a manually advanced clock for engine.Options.Now.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock {
	return &Clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Now returns the current fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// ---- harness ----

// harness owns one store directory and the engine over it.
type harness struct {
	t     *testing.T
	cfg   Config
	dir   string
	opts  engine.Options
	clock *Clock
	store engine.Store
	e     *engine.Engine
}

// newHarness opens a store in a fresh directory and an engine over it
// with an injected clock; both are closed when the test ends.
func newHarness(t *testing.T, cfg Config, opts engine.Options) *harness {
	t.Helper()
	h := &harness{t: t, cfg: cfg, dir: t.TempDir(), clock: NewClock()}
	if opts.Now == nil {
		opts.Now = h.clock.Now
	}
	h.opts = opts
	h.open()
	t.Cleanup(h.shutdown)
	return h
}

func (h *harness) open() {
	h.t.Helper()
	st := h.cfg.Open(h.t, h.dir)
	if st == nil {
		h.t.Fatal("Config.Open returned a nil store")
	}
	e, err := engine.Open(context.Background(), st, h.opts)
	if err != nil {
		st.Close()
		h.t.Fatalf("engine.Open: %v", err)
	}
	h.store, h.e = st, e
}

func (h *harness) shutdown() {
	if h.e != nil {
		if err := h.e.Close(); err != nil {
			h.t.Errorf("engine.Close: %v", err)
		}
		h.e = nil
	}
	if h.store != nil {
		if err := h.store.Close(); err != nil {
			h.t.Errorf("store.Close: %v", err)
		}
		h.store = nil
	}
}

// reopen closes the engine and the store and opens both again on the
// same directory.
func (h *harness) reopen() {
	h.t.Helper()
	h.shutdown()
	h.open()
}

func requirePersistent(t *testing.T, cfg Config) {
	t.Helper()
	if !cfg.Persistent {
		t.Skip("store is not persistent")
	}
}

var ctx = context.Background()

func key(name string) engine.Key { return engine.Key{Project: "proj", Name: name} }

// plain is a CreateRequest without TTL or Expires-At.
func plain(ct, body string) engine.CreateRequest {
	r := engine.CreateRequest{ContentType: ct, TTLSeconds: -1}
	if body != "" {
		r.Body = []byte(body)
	}
	return r
}

func forkReq(src engine.Key, offset *int64, sub int64) engine.CreateRequest {
	return engine.CreateRequest{TTLSeconds: -1, ForkFrom: &src, ForkOffset: offset, ForkSub: sub}
}

func ptr(n int64) *int64 { return &n }

func (h *harness) create(k engine.Key, req engine.CreateRequest) *engine.CreateResult {
	h.t.Helper()
	res, err := h.e.Create(ctx, k, req)
	if err != nil {
		h.t.Fatalf("create %s: %v", k, err)
	}
	return res
}

func (h *harness) append(k engine.Key, req engine.AppendRequest) *engine.AppendResult {
	h.t.Helper()
	res, err := h.e.Append(ctx, k, req)
	if err != nil {
		h.t.Fatalf("append %s: %v", k, err)
	}
	return res
}

// appendData appends body with content type ct and returns the new tail.
func (h *harness) appendData(k engine.Key, ct, body string) int64 {
	h.t.Helper()
	return h.append(k, engine.AppendRequest{ContentType: ct, Body: []byte(body)}).NextOffset
}

func (h *harness) handle(k engine.Key) *engine.Handle {
	h.t.Helper()
	hd, err := h.e.Stream(k)
	if err != nil {
		h.t.Fatalf("stream %s: %v", k, err)
	}
	return hd
}

func (h *harness) info(k engine.Key) engine.Info {
	h.t.Helper()
	in, err := h.handle(k).Info()
	if err != nil {
		h.t.Fatalf("info %s: %v", k, err)
	}
	return in
}

// readAll follows Next from pos until UpToDate and returns every message,
// the last page and the number of pages.
func (h *harness) readAll(k engine.Key, pos int64) ([]engine.Message, *engine.ReadResult, int) {
	h.t.Helper()
	hd := h.handle(k)
	var out []engine.Message
	for pages := 1; ; pages++ {
		res, err := hd.Read(ctx, pos)
		if err != nil {
			h.t.Fatalf("read %s at %d: %v", k, pos, err)
		}
		if res.Start != pos {
			h.t.Fatalf("read %s at %d: Start = %d", k, pos, res.Start)
		}
		if res.Next < pos {
			h.t.Fatalf("read %s at %d: Next %d went backwards", k, pos, res.Next)
		}
		for i, m := range res.Messages {
			want := pos
			if i > 0 {
				want = res.Messages[i-1].End
			}
			if m.Start != want {
				h.t.Fatalf("read %s at %d: message %d starts at %d, want %d", k, pos, i, m.Start, want)
			}
		}
		out = append(out, res.Messages...)
		if res.UpToDate {
			if res.Next != res.Info.Tail {
				h.t.Fatalf("read %s: up to date at %d but tail is %d", k, res.Next, res.Info.Tail)
			}
			return out, res, pages
		}
		if res.Closed {
			h.t.Fatalf("read %s at %d: Closed on a partial page", k, pos)
		}
		if res.Next == pos {
			h.t.Fatalf("read %s at %d: no progress and not up to date", k, pos)
		}
		pos = res.Next
		if pages > 100000 {
			h.t.Fatalf("read %s: too many pages", k)
		}
	}
}

// body reads the whole stream from pos and renders it as a response body.
func (h *harness) body(k engine.Key, pos int64) string {
	h.t.Helper()
	msgs, last, _ := h.readAll(k, pos)
	return string(engine.Body(last.Info.JSON, msgs))
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", target)
	}
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

// wantMissing asserts that the stream at k cannot be opened because of
// target (engine.ErrNotFound or engine.ErrGone).
func (h *harness) wantMissing(k engine.Key, target error) {
	h.t.Helper()
	_, err := h.e.Stream(k)
	if err == nil {
		h.t.Fatalf("stream %s: opened, want %v", k, target)
	}
	if !errors.Is(err, target) {
		h.t.Fatalf("stream %s: %v, want %v", k, err, target)
	}
}

// eventually polls cond with short sleeps until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ---- create ----

func testCreate(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	now := h.clock.Now()

	res := h.create(key("a"), plain("text/plain", ""))
	if !res.Created {
		t.Fatal("first create: Created = false")
	}
	in := res.Info
	if in.Key != key("a") || in.ContentType != "text/plain" || in.Tail != 0 || in.Closed ||
		in.TTLSeconds != -1 || !in.ExpiresAt.IsZero() || in.JSON || in.ID == 0 {
		t.Fatalf("create info = %+v", in)
	}
	if !in.CreatedAt.Equal(now.Truncate(time.Millisecond)) {
		t.Fatalf("CreatedAt = %v, want %v", in.CreatedAt, now)
	}
	if got := h.info(key("a")); got != in {
		t.Fatalf("Info = %+v, want %+v", got, in)
	}

	// The content type is echoed exactly, parameters included.
	res = h.create(key("b"), plain("text/plain; charset=utf-8", ""))
	if res.Info.ContentType != "text/plain; charset=utf-8" {
		t.Fatalf("content type = %q", res.Info.ContentType)
	}
	if res.Info.ID == in.ID {
		t.Fatal("two streams share an id")
	}

	// No content type: the default.
	res = h.create(key("c"), plain("", ""))
	if res.Info.ContentType != engine.DefaultContentType || engine.DefaultContentType != "application/octet-stream" {
		t.Fatalf("default content type = %q", res.Info.ContentType)
	}
	if h.info(key("c")).ContentType != engine.DefaultContentType {
		t.Fatal("Info lost the default content type")
	}

	// The initial body is the first data.
	res = h.create(key("d"), plain("", "hello"))
	if res.Info.Tail != 5 {
		t.Fatalf("tail after body = %d, want 5", res.Info.Tail)
	}
	if got := h.body(key("d"), 0); got != "hello" {
		t.Fatalf("body = %q", got)
	}

	// Public is kept.
	req := plain("text/plain", "")
	req.Public = true
	if !h.create(key("e"), req).Info.Public || !h.info(key("e")).Public {
		t.Fatal("Public not kept")
	}

	// Invalid combinations.
	bad := plain("text/plain", "")
	bad.TTLSeconds = 60
	bad.ExpiresAt = now.Add(time.Hour)
	_, err := h.e.Create(ctx, key("x"), bad)
	wantErr(t, err, engine.ErrBadRequest)
	bad = plain("text/plain", "")
	bad.ForkSub = 1
	_, err = h.e.Create(ctx, key("x"), bad)
	wantErr(t, err, engine.ErrBadRequest)
	bad = plain("text/plain", "")
	bad.ForkOffset = ptr(0)
	_, err = h.e.Create(ctx, key("x"), bad)
	wantErr(t, err, engine.ErrBadRequest)
	h.wantMissing(key("x"), engine.ErrNotFound)
}

func testCreateIdempotency(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	expires := h.clock.Now().Add(time.Hour).Truncate(time.Second)

	withTTL := func(ct string, ttl int64) engine.CreateRequest {
		r := plain(ct, "")
		r.TTLSeconds = ttl
		return r
	}
	withExpiry := func(ct string, at time.Time) engine.CreateRequest {
		r := plain(ct, "")
		r.ExpiresAt = at
		return r
	}
	closed := func(ct string) engine.CreateRequest {
		r := plain(ct, "")
		r.Closed = true
		return r
	}

	h.create(key("plain"), plain("text/plain", "abc"))
	h.create(key("ttl"), withTTL("text/plain", 60))
	h.create(key("exp"), withExpiry("text/plain", expires))
	h.create(key("closed"), closed("text/plain"))
	h.create(key("default"), plain("", ""))

	tests := []struct {
		name string
		key  string
		req  engine.CreateRequest
		err  error // nil: 200
	}{
		{"same", "plain", plain("text/plain", ""), nil},
		{"media type case", "plain", plain("TEXT/Plain", ""), nil},
		{"media type params", "plain", plain("text/plain; charset=utf-8", ""), nil},
		{"body ignored", "plain", plain("text/plain", "other"), nil},
		{"other type", "plain", plain("application/json", ""), engine.ErrConflict},
		{"absent type means default", "plain", plain("", ""), engine.ErrConflict},
		{"ttl added", "plain", withTTL("text/plain", 60), engine.ErrConflict},
		{"ttl zero added", "plain", withTTL("text/plain", 0), engine.ErrConflict},
		{"expiry added", "plain", withExpiry("text/plain", expires), engine.ErrConflict},
		{"closed on open", "plain", closed("text/plain"), engine.ErrConflict},

		{"same ttl", "ttl", withTTL("text/plain", 60), nil},
		{"other ttl", "ttl", withTTL("text/plain", 61), engine.ErrConflict},
		{"ttl dropped", "ttl", plain("text/plain", ""), engine.ErrConflict},
		{"ttl to expiry", "ttl", withExpiry("text/plain", expires), engine.ErrConflict},

		{"same expiry", "exp", withExpiry("text/plain", expires), nil},
		{"same expiry other zone", "exp", withExpiry("text/plain", expires.In(time.FixedZone("+02:00", 2*3600))), nil},
		{"other expiry", "exp", withExpiry("text/plain", expires.Add(time.Second)), engine.ErrConflict},
		{"expiry dropped", "exp", plain("text/plain", ""), engine.ErrConflict},
		{"expiry to ttl", "exp", withTTL("text/plain", 3600), engine.ErrConflict},

		{"closed again", "closed", closed("text/plain"), nil},
		{"open on closed", "closed", plain("text/plain", ""), engine.ErrConflict},
		{"closed other type", "closed", closed("text/html"), engine.ErrConflict},

		{"default again", "default", plain("", ""), nil},
		{"default explicit", "default", plain("application/octet-stream", ""), nil},
		{"default vs text", "default", plain("text/plain", ""), engine.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.info(key(tt.key))
			res, err := h.e.Create(ctx, key(tt.key), tt.req)
			if tt.err != nil {
				wantErr(t, err, tt.err)
			} else {
				if err != nil {
					t.Fatalf("re-create: %v", err)
				}
				if res.Created {
					t.Fatal("re-create: Created = true, want false (200)")
				}
				if res.Info.ID != before.ID || res.Info.Tail != before.Tail || res.Info.ContentType != before.ContentType {
					t.Fatalf("re-create info = %+v, want %+v", res.Info, before)
				}
			}
			after := h.info(key(tt.key))
			if after.ID != before.ID || after.Tail != before.Tail || after.Closed != before.Closed ||
				after.ContentType != before.ContentType || after.TTLSeconds != before.TTLSeconds ||
				!after.ExpiresAt.Equal(before.ExpiresAt) {
				t.Fatalf("re-create changed the stream: %+v -> %+v", before, after)
			}
		})
	}
	if got := h.body(key("plain"), 0); got != "abc" {
		t.Fatalf("body after re-creates = %q, want %q", got, "abc")
	}
}

func testCreateJSON(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})

	res := h.create(key("empty"), plain("application/json", "[]"))
	if !res.Created || res.Info.Tail != 0 || !res.Info.JSON {
		t.Fatalf("PUT [] = %+v", res)
	}
	if got := h.body(key("empty"), 0); got != "[]" {
		t.Fatalf("empty JSON stream body = %q", got)
	}

	res = h.create(key("two"), plain("application/json; charset=utf-8", `[{"a":1},[2,3]]`))
	if res.Info.Tail != 2 || !res.Info.JSON {
		t.Fatalf("PUT two messages: %+v", res.Info)
	}
	if got := h.body(key("two"), 0); got != `[{"a":1},[2,3]]` {
		t.Fatalf("body = %s", got)
	}

	res = h.create(key("one"), plain("application/json", `{"x":"y"}`))
	if res.Info.Tail != 1 {
		t.Fatalf("PUT one object: tail %d", res.Info.Tail)
	}

	_, err := h.e.Create(ctx, key("bad"), plain("application/json", `{"x":`))
	wantErr(t, err, engine.ErrBadRequest)
	h.wantMissing(key("bad"), engine.ErrNotFound)

	// A JSON fork without its own content type validates against the
	// source's type inside the writer.
	_, err = h.e.Create(ctx, key("badfork"), engine.CreateRequest{TTLSeconds: -1, ForkFrom: ptrKey(key("two")), Body: []byte("nope")})
	wantErr(t, err, engine.ErrBadRequest)
	h.wantMissing(key("badfork"), engine.ErrNotFound)
}

func ptrKey(k engine.Key) *engine.Key { return &k }

func testCreateClosed(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	req := plain("text/plain", "final")
	req.Closed = true
	res := h.create(key("c"), req)
	if !res.Created || !res.Info.Closed || res.Info.Tail != 5 {
		t.Fatalf("create closed = %+v", res)
	}
	_, err := h.e.Append(ctx, key("c"), engine.AppendRequest{ContentType: "text/plain", Body: []byte("more")})
	var ce *engine.ClosedError
	if !errors.As(err, &ce) || ce.NextOffset != 5 {
		t.Fatalf("append to closed: %v", err)
	}
	msgs, last, _ := h.readAll(key("c"), 0)
	if string(engine.Body(false, msgs)) != "final" || !last.Closed {
		t.Fatalf("read closed stream: %q closed=%v", engine.Body(false, msgs), last.Closed)
	}
}

func testKeys(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	a := engine.Key{Project: "one", Name: "s"}
	b := engine.Key{Project: "two", Name: "s"}
	if a.String() != "one/s" {
		t.Fatalf("Key.String = %q", a.String())
	}
	h.create(a, plain("text/plain", "A"))
	if !h.create(b, plain("application/json", `"B"`)).Created {
		t.Fatal("same name in another project was not created")
	}
	if h.body(a, 0) != "A" || h.body(b, 0) != `["B"]` {
		t.Fatal("projects share data")
	}
	if err := h.e.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(a, engine.ErrNotFound)
	if h.body(b, 0) != `["B"]` {
		t.Fatal("delete crossed projects")
	}
}

// ---- append ----

func testAppendRules(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	k := key("s")
	h.create(k, plain("text/plain", ""))

	if got := h.appendData(k, "text/plain", "hello"); got != 5 {
		t.Fatalf("first append: next %d, want 5", got)
	}
	if got := h.appendData(k, "TEXT/PLAIN; charset=utf-8", " world"); got != 11 {
		t.Fatalf("append with case/params: next %d, want 11", got)
	}

	tests := []struct {
		name string
		req  engine.AppendRequest
		err  error
	}{
		{"empty body", engine.AppendRequest{ContentType: "text/plain"}, engine.ErrBadRequest},
		{"empty non-nil body", engine.AppendRequest{ContentType: "text/plain", Body: []byte{}}, engine.ErrBadRequest},
		{"no content type", engine.AppendRequest{Body: []byte("x")}, engine.ErrBadRequest},
		{"other content type", engine.AppendRequest{ContentType: "application/octet-stream", Body: []byte("x")}, engine.ErrContentType},
		{"json to text", engine.AppendRequest{ContentType: "application/json", Body: []byte(`1`)}, engine.ErrContentType},
		{"invalid producer id", engine.AppendRequest{ContentType: "text/plain", Body: []byte("x"), Producer: &engine.ProducerTuple{ID: "a b"}}, engine.ErrBadRequest},
		{"empty producer id", engine.AppendRequest{ContentType: "text/plain", Body: []byte("x"), Producer: &engine.ProducerTuple{}}, engine.ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.e.Append(ctx, k, tt.req)
			wantErr(t, err, tt.err)
			if tail := h.info(k).Tail; tail != 11 {
				t.Fatalf("rejected append changed the tail to %d", tail)
			}
		})
	}

	_, err := h.e.Append(ctx, key("missing"), engine.AppendRequest{ContentType: "text/plain", Body: []byte("x")})
	wantErr(t, err, engine.ErrNotFound)
	if !engine.IsNotFound(err) {
		t.Fatal("IsNotFound = false")
	}
	if got := h.body(k, 0); got != "hello world" {
		t.Fatalf("body = %q", got)
	}
}

func testAppendJSON(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	k := key("j")
	h.create(k, plain("application/json", ""))
	const ct = "application/json"

	if got := h.appendData(k, ct, `[1,[2,3]]`); got != 2 {
		t.Fatalf("append [1,[2,3]]: next %d, want 2", got)
	}
	if got := h.appendData(k, ct, `[[[4]]]`); got != 3 {
		t.Fatalf("append [[[4]]]: next %d, want 3", got)
	}
	if got := h.appendData(k, "application/json; charset=utf-8", ` "five" `); got != 4 {
		t.Fatalf("append primitive: next %d, want 4", got)
	}
	for _, body := range []string{`[]`, ` [ ] `, `{`, `[1,]`, `abc`, `1 2`} {
		_, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: ct, Body: []byte(body)})
		wantErr(t, err, engine.ErrBadRequest)
		// Producer headers do not change that.
		_, err = h.e.Append(ctx, k, engine.AppendRequest{ContentType: ct, Body: []byte(body), Producer: &engine.ProducerTuple{ID: "p"}})
		wantErr(t, err, engine.ErrBadRequest)
	}
	// The rejected producer write did not register the producer.
	res := h.append(k, engine.AppendRequest{ContentType: ct, Body: []byte(`null`), Producer: &engine.ProducerTuple{ID: "p"}})
	if res.Duplicate || res.NextOffset != 5 {
		t.Fatalf("first producer write after rejections = %+v", res)
	}
	if got := h.body(k, 0); got != `[1,[2,3],[[4]],"five",null]` {
		t.Fatalf("body = %s", got)
	}
}

func testCloseRules(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})

	// Close-only keeps the tail, is idempotent and ignores Content-Type.
	k := key("close-only")
	h.create(k, plain("text/plain", "abc"))
	res := h.append(k, engine.AppendRequest{Close: true})
	if !res.Closed || res.NextOffset != 3 || res.Duplicate {
		t.Fatalf("close-only = %+v", res)
	}
	for _, ct := range []string{"", "text/plain", "image/png"} {
		res = h.append(k, engine.AppendRequest{ContentType: ct, Close: true})
		if !res.Closed || res.NextOffset != 3 {
			t.Fatalf("repeated close-only (ct %q) = %+v", ct, res)
		}
	}
	in := h.info(k)
	if !in.Closed || in.Tail != 3 {
		t.Fatalf("info after close = %+v", in)
	}

	// Appending to a closed stream: 409 with the final offset, with or
	// without Stream-Closed.
	for _, req := range []engine.AppendRequest{
		{ContentType: "text/plain", Body: []byte("x")},
		{ContentType: "text/plain", Body: []byte("x"), Close: true},
		{ContentType: "image/png", Body: []byte("x")},
		{ContentType: "text/plain", Body: []byte("x"), StreamSeq: "1"},
		{ContentType: "text/plain", Body: []byte("x"), Producer: &engine.ProducerTuple{ID: "p"}},
		{Close: true, Producer: &engine.ProducerTuple{ID: "p"}},
	} {
		_, err := h.e.Append(ctx, k, req)
		var ce *engine.ClosedError
		if !errors.As(err, &ce) {
			t.Fatalf("append %+v to closed stream: %v, want *ClosedError", req, err)
		}
		if ce.NextOffset != 3 || !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("ClosedError = %+v (%v)", ce, err)
		}
	}
	if got := h.body(k, 0); got != "abc" {
		t.Fatalf("closed stream body = %q", got)
	}

	// Append-and-close is atomic.
	k = key("append-close")
	h.create(k, plain("text/plain", "ab"))
	res = h.append(k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("cd"), Close: true})
	if !res.Closed || res.NextOffset != 4 {
		t.Fatalf("append-and-close = %+v", res)
	}
	msgs, last, _ := h.readAll(k, 0)
	if string(engine.Body(false, msgs)) != "abcd" || !last.Closed {
		t.Fatalf("read after append-and-close: %q closed=%v", engine.Body(false, msgs), last.Closed)
	}
	// Close-only with a mismatched type on an open stream still closes.
	k = key("close-mismatch")
	h.create(k, plain("application/json", ""))
	if res := h.append(k, engine.AppendRequest{ContentType: "text/plain", Close: true}); !res.Closed || res.NextOffset != 0 {
		t.Fatalf("close-only with other type = %+v", res)
	}
	// Closing a missing stream is 404.
	_, err := h.e.Append(ctx, key("nope"), engine.AppendRequest{Close: true})
	wantErr(t, err, engine.ErrNotFound)
}

func testStreamSeq(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	seqAppend := func(k engine.Key, seq string) error {
		_, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte(seq + ";"), StreamSeq: seq})
		return err
	}
	tests := []struct {
		name  string
		first string
		then  string
		ok    bool
	}{
		{"2 then 10 is byte-wise smaller", "2", "10", false},
		{"09 then 10", "09", "10", true},
		{"a then B", "a", "B", false},
		{"B then a", "B", "a", true},
		{"duplicate", "5", "5", false},
		{"prefix then longer", "abc", "abcd", true},
		{"longer then prefix", "abcd", "abc", false},
		{"high byte", "z", "\xc3\xa9", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := key(fmt.Sprintf("seq%d", i))
			h.create(k, plain("text/plain", ""))
			if err := seqAppend(k, tt.first); err != nil {
				t.Fatalf("first seq %q: %v", tt.first, err)
			}
			tail := h.info(k).Tail
			err := seqAppend(k, tt.then)
			if tt.ok {
				if err != nil {
					t.Fatalf("seq %q after %q: %v", tt.then, tt.first, err)
				}
				return
			}
			wantErr(t, err, engine.ErrSeqRegression)
			if h.info(k).Tail != tail {
				t.Fatal("rejected Stream-Seq append changed the tail")
			}
		})
	}

	// Appends without Stream-Seq do not reset it, and a rejected seq is
	// not recorded.
	k := key("seq-mixed")
	h.create(k, plain("text/plain", ""))
	if err := seqAppend(k, "m"); err != nil {
		t.Fatal(err)
	}
	h.appendData(k, "text/plain", "plain")
	wantErr(t, seqAppend(k, "a"), engine.ErrSeqRegression)
	wantErr(t, seqAppend(k, "m"), engine.ErrSeqRegression)
	if err := seqAppend(k, "n"); err != nil {
		t.Fatal(err)
	}
	// Close-only with a Stream-Seq checks and records it too.
	_, err := h.e.Append(ctx, k, engine.AppendRequest{Close: true, StreamSeq: "a"})
	wantErr(t, err, engine.ErrSeqRegression)
	if res := h.append(k, engine.AppendRequest{Close: true, StreamSeq: "o"}); !res.Closed {
		t.Fatal("close with Stream-Seq did not close")
	}
	// Closed wins over seq regression.
	_, err = h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("x"), StreamSeq: "a"})
	wantErr(t, err, engine.ErrClosed)
}

// ---- producers ----

func prod(id string, epoch, seq int64) *engine.ProducerTuple {
	return &engine.ProducerTuple{ID: id, Epoch: epoch, Seq: seq}
}

func (h *harness) produce(k engine.Key, body string, p *engine.ProducerTuple) (*engine.AppendResult, error) {
	return h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte(body), Producer: p})
}

func testProducers(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	k := key("p")
	h.create(k, plain("text/plain", ""))

	// (0,0) is accepted on first use and echoed.
	res, err := h.produce(k, "aa", prod("w", 0, 0))
	if err != nil || res.Duplicate || res.NextOffset != 2 || *res.Producer != *prod("w", 0, 0) {
		t.Fatalf("(0,0) = %+v, %v", res, err)
	}
	res, err = h.produce(k, "bbb", prod("w", 0, 1))
	if err != nil || res.Duplicate || res.NextOffset != 5 || *res.Producer != *prod("w", 0, 1) {
		t.Fatalf("(0,1) = %+v, %v", res, err)
	}

	// Duplicates append nothing and return the highest accepted seq and
	// the offset that write produced.
	for _, seq := range []int64{1, 0} {
		res, err = h.produce(k, "ignored", prod("w", 0, seq))
		if err != nil || !res.Duplicate || res.NextOffset != 5 || *res.Producer != *prod("w", 0, 1) || res.Closed {
			t.Fatalf("duplicate seq %d = %+v, %v", seq, res, err)
		}
	}
	if h.info(k).Tail != 5 {
		t.Fatal("duplicate appended data")
	}

	// A gap names the expected and received seq.
	_, err = h.produce(k, "x", prod("w", 0, 3))
	var pe *engine.ProducerError
	if !errors.As(err, &pe) || !errors.Is(err, engine.ErrProducerSeqGap) || pe.ExpectedSeq != 2 || pe.ReceivedSeq != 3 {
		t.Fatalf("gap: %v (%+v)", err, pe)
	}

	// A new producer or a new epoch must start at seq 0.
	_, err = h.produce(k, "x", prod("other", 0, 1))
	wantErr(t, err, engine.ErrBadRequest)
	_, err = h.produce(k, "x", prod("w", 1, 5))
	wantErr(t, err, engine.ErrBadRequest)
	if h.info(k).Tail != 5 {
		t.Fatal("rejected producer writes appended data")
	}

	// A new epoch resets the sequence.
	res, err = h.produce(k, "cc", prod("w", 1, 0))
	if err != nil || res.Duplicate || res.NextOffset != 7 {
		t.Fatalf("epoch 1 seq 0 = %+v, %v", res, err)
	}
	// The old epoch is fenced, and told the current epoch.
	for _, seq := range []int64{0, 2, 99} {
		_, err = h.produce(k, "zombie", prod("w", 0, seq))
		pe = nil
		if !errors.As(err, &pe) || !errors.Is(err, engine.ErrStaleEpoch) || pe.CurrentEpoch != 1 {
			t.Fatalf("stale epoch seq %d: %v (%+v)", seq, err, pe)
		}
	}
	res, err = h.produce(k, "dd", prod("w", 1, 1))
	if err != nil || res.Duplicate || res.NextOffset != 9 {
		t.Fatalf("epoch 1 seq 1 = %+v, %v", res, err)
	}
	// A jump of several epochs is fine when seq is 0.
	res, err = h.produce(k, "e", prod("w", 7, 0))
	if err != nil || res.Duplicate || res.NextOffset != 10 {
		t.Fatalf("epoch 7 seq 0 = %+v, %v", res, err)
	}

	// Producers are independent of each other.
	res, err = h.produce(k, "f", prod("v", 0, 0))
	if err != nil || res.Duplicate || res.NextOffset != 11 {
		t.Fatalf("second producer = %+v, %v", res, err)
	}
	// ... and of the stream: the same id elsewhere starts fresh.
	h.create(key("p2"), plain("text/plain", ""))
	res, err = h.produce(key("p2"), "g", prod("w", 0, 0))
	if err != nil || res.Duplicate {
		t.Fatalf("same producer on another stream = %+v, %v", res, err)
	}

	// Producer-Seq up to 2^53-1 is fine.
	h.create(key("big"), plain("text/plain", ""))
	if _, err := h.produce(key("big"), "x", prod("b", engine.MaxSafeInteger, 0)); err != nil {
		t.Fatalf("max epoch: %v", err)
	}

	if got := h.body(k, 0); got != "aabbbccddef" {
		t.Fatalf("body = %q", got)
	}
}

func testProducerClose(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})

	// Body + close + new tuple.
	k := key("body-close")
	h.create(k, plain("text/plain", ""))
	if _, err := h.produce(k, "a", prod("c", 0, 0)); err != nil {
		t.Fatal(err)
	}
	res, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("b"), Close: true, Producer: prod("c", 0, 1)})
	if err != nil || !res.Closed || res.Duplicate || res.NextOffset != 2 || *res.Producer != *prod("c", 0, 1) {
		t.Fatalf("append-and-close with producer = %+v, %v", res, err)
	}
	// Retrying the closing tuple, with the same, a different or no body:
	// Duplicate + Closed, nothing changes.
	for _, req := range []engine.AppendRequest{
		{ContentType: "text/plain", Body: []byte("b"), Close: true, Producer: prod("c", 0, 1)},
		{ContentType: "text/plain", Body: []byte("different"), Close: true, Producer: prod("c", 0, 1)},
		{ContentType: "text/plain", Body: []byte("b"), Producer: prod("c", 0, 1)},
		{Close: true, Producer: prod("c", 0, 1)},
	} {
		res, err := h.e.Append(ctx, k, req)
		if err != nil || !res.Duplicate || !res.Closed || res.NextOffset != 2 {
			t.Fatalf("retry of closing tuple %+v = %+v, %v", req, res, err)
		}
	}
	// Any other tuple is rejected as closed.
	for _, p := range []*engine.ProducerTuple{prod("c", 0, 2), prod("c", 0, 0), prod("c", 1, 0), prod("other", 0, 0)} {
		_, err := h.produce(k, "z", p)
		if !errors.Is(err, engine.ErrClosed) && !errors.Is(err, engine.ErrStaleEpoch) {
			t.Fatalf("tuple %+v on closed stream: %v", p, err)
		}
		var ce *engine.ClosedError
		if errors.As(err, &ce) && ce.NextOffset != 2 {
			t.Fatalf("ClosedError.NextOffset = %d", ce.NextOffset)
		}
	}
	if got := h.body(k, 0); got != "ab" {
		t.Fatalf("body = %q", got)
	}

	// Close-only with a producer records the seq.
	k = key("close-only")
	h.create(k, plain("text/plain", ""))
	if _, err := h.produce(k, "a", prod("c", 0, 0)); err != nil {
		t.Fatal(err)
	}
	res, err = h.e.Append(ctx, k, engine.AppendRequest{Close: true, Producer: prod("c", 0, 1)})
	if err != nil || !res.Closed || res.Duplicate || res.NextOffset != 1 || *res.Producer != *prod("c", 0, 1) {
		t.Fatalf("close-only with producer = %+v, %v", res, err)
	}
	res, err = h.e.Append(ctx, k, engine.AppendRequest{Close: true, Producer: prod("c", 0, 1)})
	if err != nil || !res.Closed || !res.Duplicate || res.NextOffset != 1 {
		t.Fatalf("close-only retry = %+v, %v", res, err)
	}
	// A plain close-only after a producer close is still idempotent.
	if res := h.append(k, engine.AppendRequest{Close: true}); !res.Closed || res.NextOffset != 1 {
		t.Fatalf("plain close-only after producer close = %+v", res)
	}

	// Close-only with a gap is rejected and leaves the stream open.
	k = key("close-gap")
	h.create(k, plain("text/plain", ""))
	if _, err := h.produce(k, "a", prod("c", 0, 0)); err != nil {
		t.Fatal(err)
	}
	_, err = h.e.Append(ctx, k, engine.AppendRequest{Close: true, Producer: prod("c", 0, 5)})
	wantErr(t, err, engine.ErrProducerSeqGap)
	if h.info(k).Closed {
		t.Fatal("rejected close-only closed the stream")
	}
}

func testProducerAndStreamSeq(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	k := key("ps")
	h.create(k, plain("text/plain", ""))
	res, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("a"), StreamSeq: "5", Producer: prod("p", 0, 0)})
	if err != nil || res.Duplicate {
		t.Fatalf("first = %+v, %v", res, err)
	}
	// The duplicate check wins over the Stream-Seq regression.
	res, err = h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("a"), StreamSeq: "5", Producer: prod("p", 0, 0)})
	if err != nil || !res.Duplicate || res.NextOffset != 1 {
		t.Fatalf("retry = %+v, %v", res, err)
	}
	// New producer data with a regressing Stream-Seq is rejected and does
	// not advance the producer.
	_, err = h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("b"), StreamSeq: "4", Producer: prod("p", 0, 1)})
	wantErr(t, err, engine.ErrSeqRegression)
	res, err = h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("b"), StreamSeq: "6", Producer: prod("p", 0, 1)})
	if err != nil || res.Duplicate || res.NextOffset != 2 {
		t.Fatalf("seq 1 with Stream-Seq 6 = %+v, %v", res, err)
	}
	// Content type is checked before producer state.
	_, err = h.e.Append(ctx, k, engine.AppendRequest{ContentType: "image/png", Body: []byte("b"), Producer: prod("p", 0, 1)})
	wantErr(t, err, engine.ErrContentType)
}

// ---- reads ----

func testReadPaging(t *testing.T, cfg Config) {
	for _, tc := range []struct {
		name string
		opts engine.Options
	}{
		{"recent buffer", engine.Options{ReadPageBytes: 10}},
		{"store reads", engine.Options{ReadPageBytes: 10, RecentMessages: 1, RecentBytes: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, cfg, tc.opts)
			k := key("paged")
			h.create(k, plain("text/plain", ""))
			var want strings.Builder
			for i := range 20 {
				s := fmt.Sprintf("m%03d", i)
				want.WriteString(s)
				h.appendData(k, "text/plain", s)
			}
			msgs, last, pages := h.readAll(k, 0)
			if got := string(engine.Body(false, msgs)); got != want.String() {
				t.Fatalf("paged read = %q, want %q", got, want.String())
			}
			if pages < 5 {
				t.Fatalf("read took %d pages with 10-byte pages over 80 bytes", pages)
			}
			if last.Next != 80 || last.Closed {
				t.Fatalf("last page = %+v", last)
			}
			// Every page but the last is partial: not up to date.
			hd := h.handle(k)
			res, err := hd.Read(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if res.UpToDate || res.Next <= 0 || res.Next >= 80 || len(res.Messages) == 0 {
				t.Fatalf("first page = %+v", res)
			}
			// A page is never empty and never slices messages, even when
			// a message is larger than the page.
			big := strings.Repeat("B", 100)
			h.appendData(k, "text/plain", big)
			res, err = hd.Read(ctx, 80)
			if err != nil {
				t.Fatal(err)
			}
			if string(engine.Body(false, res.Messages)) != big || !res.UpToDate || res.Next != 180 {
				t.Fatalf("oversized message page: %d bytes, next %d, up to date %v", len(engine.Body(false, res.Messages)), res.Next, res.UpToDate)
			}
			// Reading from the middle of the paged data.
			msgs, _, _ = h.readAll(k, 42)
			if got := string(engine.Body(false, msgs)); got != want.String()[42:]+big {
				t.Fatalf("read from 42 = %q", got)
			}
		})
	}
}

func testReadMidMessage(t *testing.T, cfg Config) {
	for _, tc := range []struct {
		name string
		opts engine.Options
	}{
		{"recent buffer", engine.Options{}},
		{"store reads", engine.Options{RecentMessages: 1, RecentBytes: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, cfg, tc.opts)
			k := key("mid")
			h.create(k, plain("", "hello"))
			h.appendData(k, engine.DefaultContentType, "world")
			h.appendData(k, engine.DefaultContentType, "!")
			hd := h.handle(k)
			for pos := int64(0); pos <= 11; pos++ {
				res, err := hd.Read(ctx, pos)
				if err != nil {
					t.Fatalf("read at %d: %v", pos, err)
				}
				want := "helloworld!"[pos:]
				if got := string(engine.Body(false, res.Messages)); got != want {
					t.Fatalf("read at %d = %q, want %q", pos, got, want)
				}
				if res.Next != 11 || !res.UpToDate || res.Start != pos {
					t.Fatalf("read at %d: %+v", pos, res)
				}
				if len(res.Messages) > 0 && res.Messages[0].Start != pos {
					t.Fatalf("read at %d: first message starts at %d", pos, res.Messages[0].Start)
				}
			}
			for _, pos := range []int64{12, 1000, 9999999999999999} {
				_, err := hd.Read(ctx, pos)
				wantErr(t, err, engine.ErrOffsetNotInTail)
			}
			// An empty stream reads as empty and up to date at 0.
			h.create(key("empty"), plain("", ""))
			res, err := h.handle(key("empty")).Read(ctx, 0)
			if err != nil || len(res.Messages) != 0 || res.Next != 0 || !res.UpToDate || res.Closed {
				t.Fatalf("empty read = %+v, %v", res, err)
			}
			// Tail reports the committed tail.
			tail, closed, err := hd.Tail()
			if err != nil || tail != 11 || closed {
				t.Fatalf("Tail = %d, %v, %v", tail, closed, err)
			}
		})
	}
}

func testReadClosed(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{ReadPageBytes: 4})
	k := key("rc")
	h.create(k, plain("text/plain", ""))
	for _, s := range []string{"aaaa", "bbbb", "cccc"} {
		h.appendData(k, "text/plain", s)
	}
	h.append(k, engine.AppendRequest{Close: true})
	hd := h.handle(k)
	for pos := int64(0); pos < 12; pos = pos + 4 {
		res, err := hd.Read(ctx, pos)
		if err != nil {
			t.Fatal(err)
		}
		final := res.Next == 12
		if res.Closed != final || res.UpToDate != final {
			t.Fatalf("page at %d: Closed=%v UpToDate=%v next=%d", pos, res.Closed, res.UpToDate, res.Next)
		}
		if !res.Info.Closed {
			t.Fatal("Info.Closed = false on a closed stream")
		}
	}
	// EOF: empty, up to date and closed.
	res, err := hd.Read(ctx, 12)
	if err != nil || len(res.Messages) != 0 || !res.Closed || !res.UpToDate || res.Next != 12 {
		t.Fatalf("EOF read = %+v, %v", res, err)
	}
	tail, closed, err := hd.Tail()
	if err != nil || tail != 12 || !closed {
		t.Fatalf("Tail = %d, %v, %v", tail, closed, err)
	}
}

func testReadJSON(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{ReadPageBytes: 8})
	k := key("rj")
	h.create(k, plain("application/json", `[1,2]`))
	h.appendData(k, "application/json", `[{"k":"v"},"three"]`)
	h.appendData(k, "application/json", `[[4,4]]`)
	if got := h.body(k, 0); got != `[1,2,{"k":"v"},"three",[4,4]]` {
		t.Fatalf("body = %s", got)
	}
	if got := h.body(k, 3); got != `["three",[4,4]]` {
		t.Fatalf("body from 3 = %s", got)
	}
	if got := h.body(k, 5); got != `[]` {
		t.Fatalf("body at tail = %s", got)
	}
	// Pages are whole messages and offsets count messages.
	hd := h.handle(k)
	res, err := hd.Read(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Messages {
		if m.End-m.Start != 1 || !json.Valid(m.Data) {
			t.Fatalf("JSON message %+v", m)
		}
	}
	if !json.Valid(engine.Body(true, res.Messages)) {
		t.Fatal("page body is not valid JSON")
	}
	_, err = hd.Read(ctx, 6)
	wantErr(t, err, engine.ErrOffsetNotInTail)
	if in := h.info(k); !in.JSON || in.Tail != 5 {
		t.Fatalf("info = %+v", in)
	}
}

func testReadLargeBody(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{RecentBytes: 1024})
	k := key("large")
	h.create(k, plain("", ""))
	big := make([]byte, 100*1024)
	for i := range big {
		big[i] = byte(i * 7)
	}
	h.append(k, engine.AppendRequest{ContentType: engine.DefaultContentType, Body: big})
	msgs, _, _ := h.readAll(k, 0)
	if got := engine.Body(false, msgs); !bytes.Equal(got, big) {
		t.Fatalf("100 KiB body did not round-trip (%d bytes back)", len(got))
	}
}

// ---- TTL / Expires-At ----

func ttlReq(ct string, ttl int64) engine.CreateRequest {
	r := plain(ct, "")
	r.TTLSeconds = ttl
	return r
}

func testTTL(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	const ttl = 60

	// Idle expiry.
	k := key("idle")
	res := h.create(k, ttlReq("text/plain", ttl))
	if res.Info.TTLSeconds != ttl || !res.Info.ExpiresAt.IsZero() {
		t.Fatalf("create with TTL = %+v", res.Info)
	}
	h.clock.Advance(ttl*time.Second - time.Millisecond)
	if h.info(k).TTLSeconds != ttl {
		t.Fatal("TTL not reported")
	}
	h.clock.Advance(time.Millisecond)
	h.wantMissing(k, engine.ErrNotFound)
	_, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("x")})
	wantErr(t, err, engine.ErrNotFound)
	wantErr(t, h.e.Delete(ctx, k), engine.ErrNotFound)

	// Touch slides the window.
	k = key("touched")
	h.create(k, ttlReq("text/plain", ttl))
	h.clock.Advance(40 * time.Second)
	h.handle(k).Touch()
	h.clock.Advance(40 * time.Second) // 80 s after create, 40 after the touch
	h.info(k)
	h.clock.Advance(20 * time.Second) // 60 s after the touch
	h.wantMissing(k, engine.ErrNotFound)

	// Info (HEAD) does not.
	k = key("head")
	h.create(k, ttlReq("text/plain", ttl))
	h.clock.Advance(40 * time.Second)
	h.info(k)
	if _, err := h.handle(k).Read(ctx, 0); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(20 * time.Second)
	h.wantMissing(k, engine.ErrNotFound)

	// Appends and close-only POSTs refresh it.
	k = key("written")
	h.create(k, ttlReq("text/plain", ttl))
	h.clock.Advance(40 * time.Second)
	h.appendData(k, "text/plain", "x")
	h.clock.Advance(40 * time.Second)
	h.append(k, engine.AppendRequest{Close: true})
	h.clock.Advance(40 * time.Second)
	h.append(k, engine.AppendRequest{Close: true}) // idempotent close refreshes too
	h.clock.Advance(59 * time.Second)
	if in := h.info(k); !in.Closed || in.Tail != 1 {
		t.Fatalf("info = %+v", in)
	}
	h.clock.Advance(time.Second)
	h.wantMissing(k, engine.ErrNotFound)

	// An idempotent re-create refreshes it as well.
	k = key("recreated")
	h.create(k, ttlReq("text/plain", ttl))
	h.clock.Advance(40 * time.Second)
	if h.create(k, ttlReq("text/plain", ttl)).Created {
		t.Fatal("re-create made a new stream")
	}
	h.clock.Advance(40 * time.Second)
	h.info(k)

	// A handle opened before expiry cannot read after it.
	k = key("held")
	h.create(k, ttlReq("text/plain", 1))
	hd := h.handle(k)
	h.clock.Advance(time.Second)
	_, err = hd.Read(ctx, 0)
	wantErr(t, err, engine.ErrNotFound)
	_, err = hd.Info()
	wantErr(t, err, engine.ErrNotFound)
}

func testExpiresAt(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	k := key("abs")
	at := h.clock.Now().Add(30 * time.Second)
	req := plain("text/plain", "")
	req.ExpiresAt = at.In(time.FixedZone("+02:00", 2*3600))
	res := h.create(k, req)
	if !res.Info.ExpiresAt.Equal(at) || res.Info.TTLSeconds != -1 {
		t.Fatalf("create with Expires-At = %+v", res.Info)
	}
	h.clock.Advance(10 * time.Second)
	h.appendData(k, "text/plain", "x")
	h.clock.Advance(10 * time.Second)
	h.handle(k).Touch()
	if in := h.info(k); !in.ExpiresAt.Equal(at) {
		t.Fatalf("Expires-At moved to %v", in.ExpiresAt)
	}
	h.clock.Advance(10*time.Second - time.Millisecond)
	h.info(k)
	h.clock.Advance(time.Millisecond)
	h.wantMissing(k, engine.ErrNotFound)

	// An Expires-At in the past is accepted and the stream is gone at once.
	k = key("past")
	req = plain("text/plain", "")
	req.ExpiresAt = h.clock.Now().Add(-time.Hour)
	h.create(k, req)
	h.wantMissing(k, engine.ErrNotFound)
}

func testRecreateAfterExpiry(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	k := key("re")
	req := ttlReq("text/plain", 10)
	req.Body = []byte("old data")
	first := h.create(k, req)
	h.clock.Advance(10 * time.Second)

	// Re-create with a different config: a new stream.
	res := h.create(k, plain("application/json", `["new"]`))
	if !res.Created || res.Info.ID == first.Info.ID || res.Info.Tail != 1 || res.Info.TTLSeconds != -1 {
		t.Fatalf("re-create after expiry = %+v", res)
	}
	if got := h.body(k, 0); got != `["new"]` {
		t.Fatalf("body = %s", got)
	}

	// Re-create after delete, with the same config.
	if err := h.e.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	res = h.create(k, plain("application/json", ""))
	if !res.Created || res.Info.Tail != 0 {
		t.Fatalf("re-create after delete = %+v", res)
	}
}

// ---- forks ----

func testForkBasics(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src := key("src")
	h.create(src, plain("text/plain", "hello"))
	h.appendData(src, "text/plain", " world")

	// Default offset: the source's tail. Content type is inherited.
	f := key("fork-tail")
	res := h.create(f, forkReq(src, nil, 0))
	if !res.Created || res.Info.Tail != 11 || res.Info.ContentType != "text/plain" {
		t.Fatalf("fork at tail = %+v", res.Info)
	}
	h.appendData(f, "text/plain", "!")
	h.appendData(src, "text/plain", "XYZ")
	if got := h.body(f, 0); got != "hello world!" {
		t.Fatalf("fork body = %q", got)
	}
	if got := h.body(src, 0); got != "hello worldXYZ" {
		t.Fatalf("source body = %q", got)
	}
	if got := h.body(f, 3); got != "lo world!" {
		t.Fatalf("fork body from 3 = %q", got)
	}

	// Explicit offsets: the start, a message boundary, mid-message.
	for _, tc := range []struct {
		name   string
		offset int64
		want   string
	}{
		{"fork-zero", 0, ""},
		{"fork-boundary", 5, "hello"},
		{"fork-mid", 3, "hel"},
		{"fork-mid2", 8, "hello wo"},
	} {
		res := h.create(key(tc.name), forkReq(src, ptr(tc.offset), 0))
		if res.Info.Tail != tc.offset {
			t.Fatalf("%s: tail %d", tc.name, res.Info.Tail)
		}
		if got := h.body(key(tc.name), 0); got != tc.want {
			t.Fatalf("%s: inherited %q, want %q", tc.name, got, tc.want)
		}
		h.appendData(key(tc.name), "text/plain", "+own")
		if got := h.body(key(tc.name), 0); got != tc.want+"+own" {
			t.Fatalf("%s: body %q", tc.name, got)
		}
	}

	// Paged reads across the fork boundary.
	hp := newHarness(t, cfg, engine.Options{ReadPageBytes: 3, RecentMessages: 1, RecentBytes: 1})
	hp.create(src, plain("text/plain", "abcdef"))
	hp.appendData(src, "text/plain", "ghij")
	hp.create(f, forkReq(src, ptr(8), 0))
	hp.appendData(f, "text/plain", "XYZ")
	hp.appendData(f, "text/plain", "123")
	msgs, _, pages := hp.readAll(f, 0)
	if got := string(engine.Body(false, msgs)); got != "abcdefghXYZ123" || pages < 3 {
		t.Fatalf("paged fork read = %q in %d pages", got, pages)
	}

	// A closed source can be forked; the fork starts open.
	closedSrc := key("closed-src")
	req := plain("text/plain", "done")
	req.Closed = true
	h.create(closedSrc, req)
	res = h.create(key("fork-of-closed"), forkReq(closedSrc, nil, 0))
	if res.Info.Closed {
		t.Fatal("fork of a closed source is closed")
	}
	h.appendData(key("fork-of-closed"), "text/plain", "+more")
	if got := h.body(key("fork-of-closed"), 0); got != "done+more" {
		t.Fatalf("fork of closed = %q", got)
	}
	// A fork can be created closed, with an initial body.
	req = forkReq(src, ptr(5), 0)
	req.Body = []byte("!")
	req.Closed = true
	res = h.create(key("fork-closed"), req)
	if !res.Info.Closed || res.Info.Tail != 6 {
		t.Fatalf("closed fork with body = %+v", res.Info)
	}
	if got := h.body(key("fork-closed"), 0); got != "hello!" {
		t.Fatalf("closed fork body = %q", got)
	}
	// A fork with a compatible explicit type.
	req = forkReq(src, nil, 0)
	req.ContentType = "TEXT/plain; charset=utf-8"
	if !h.create(key("fork-ct"), req).Created {
		t.Fatal("fork with compatible content type not created")
	}
	// A fork of an empty source.
	h.create(key("empty-src"), plain("application/json", ""))
	res = h.create(key("fork-empty"), forkReq(key("empty-src"), ptr(0), 0))
	if res.Info.Tail != 0 || !res.Info.JSON || h.body(key("fork-empty"), 0) != "[]" {
		t.Fatalf("fork of empty source = %+v", res.Info)
	}
}

func testForkErrors(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src := key("src")
	h.create(src, plain("text/plain", "hello"))

	ct := func(c string) engine.CreateRequest {
		r := forkReq(src, nil, 0)
		r.ContentType = c
		return r
	}
	tests := []struct {
		name string
		req  engine.CreateRequest
		err  error
	}{
		{"missing source", forkReq(key("nope"), nil, 0), engine.ErrNotFound},
		{"offset beyond tail", forkReq(src, ptr(6), 0), engine.ErrBadRequest},
		{"offset far beyond tail", forkReq(src, ptr(9999999999999999), 0), engine.ErrBadRequest},
		{"sub without offset", forkReq(src, nil, 1), engine.ErrBadRequest},
		{"sub at tail", forkReq(src, ptr(5), 1), engine.ErrBadRequest},
		{"sub past message", forkReq(src, ptr(0), 6), engine.ErrBadRequest},
		{"sub past message mid", forkReq(src, ptr(2), 4), engine.ErrBadRequest},
		{"content type", ct("application/json"), engine.ErrContentType},
		{"content type default", ct("application/octet-stream"), engine.ErrContentType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.e.Create(ctx, key("f"), tt.req)
			wantErr(t, err, tt.err)
			h.wantMissing(key("f"), engine.ErrNotFound)
		})
	}
	// None of the rejected forks holds a reference: deleting the source
	// is a hard delete.
	if err := h.e.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(src, engine.ErrNotFound)
	if !h.create(src, plain("text/plain", "")).Created {
		t.Fatal("path not re-creatable after rejected forks")
	}

	// Sub-offset on an empty source.
	h.create(key("empty"), plain("text/plain", ""))
	_, err := h.e.Create(ctx, key("f"), forkReq(key("empty"), ptr(0), 1))
	wantErr(t, err, engine.ErrBadRequest)
}

func testForkIdempotency(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src, other := key("src"), key("other")
	h.create(src, plain("text/plain", "hello"))
	h.create(other, plain("text/plain", "hello"))
	f := key("f")
	h.create(f, forkReq(src, ptr(2), 2))
	h.appendData(f, "text/plain", "X")

	tests := []struct {
		name string
		req  engine.CreateRequest
		err  error
	}{
		{"same", forkReq(src, ptr(2), 2), nil},
		{"other sub", forkReq(src, ptr(2), 1), engine.ErrConflict},
		{"no sub", forkReq(src, ptr(2), 0), engine.ErrConflict},
		{"other offset", forkReq(src, ptr(3), 0), engine.ErrConflict},
		{"default offset", forkReq(src, nil, 0), engine.ErrConflict},
		{"other source", forkReq(other, ptr(2), 2), engine.ErrConflict},
		{"not a fork", plain("text/plain", ""), engine.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.e.Create(ctx, f, tt.req)
			if tt.err != nil {
				wantErr(t, err, tt.err)
				return
			}
			if err != nil || res.Created || res.Info.Tail != 5 {
				t.Fatalf("idempotent fork re-create = %+v, %v", res, err)
			}
		})
	}
	// A plain stream re-created as a fork is a conflict too.
	_, err := h.e.Create(ctx, other, forkReq(src, nil, 0))
	wantErr(t, err, engine.ErrConflict)
	// The repeated identical PUTs did not add references: deleting the
	// fork frees the source completely.
	if err := h.e.Delete(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(src, engine.ErrNotFound)
}

func testForkSubOffsetBytes(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	a := key("a")
	h.create(a, plain("text/plain", "hello"))
	h.appendData(a, "text/plain", "world")

	// "hello"@0+3 materializes "hel".
	b := key("b")
	res := h.create(b, forkReq(a, ptr(0), 3))
	if res.Info.Tail != 3 {
		t.Fatalf("fork tail = %d, want 3", res.Info.Tail)
	}
	// The returned tail is readable: empty and up to date.
	r, err := h.handle(b).Read(ctx, res.Info.Tail)
	if err != nil || len(r.Messages) != 0 || !r.UpToDate {
		t.Fatalf("read at fork tail = %+v, %v", r, err)
	}
	h.appendData(b, "text/plain", "LO")
	if got := h.body(b, 0); got != "helLO" {
		t.Fatalf("fork body = %q, want helLO", got)
	}
	// An initial body goes after the prefix.
	req := forkReq(a, ptr(0), 3)
	req.Body = []byte("XY")
	h.create(key("b-body"), req)
	if got := h.body(key("b-body"), 0); got != "helXY" {
		t.Fatalf("fork with body = %q, want helXY", got)
	}
	// Mid-message anchor: "hello"@2+3 is "he" + "llo".
	h.create(key("b-mid"), forkReq(a, ptr(2), 3))
	if got := h.body(key("b-mid"), 0); got != "hello" {
		t.Fatalf("fork @2+3 = %q", got)
	}
	// Second message: @5+5 = "hello" + "world".
	h.create(key("b-second"), forkReq(a, ptr(5), 5))
	if got := h.body(key("b-second"), 0); got != "helloworld" {
		t.Fatalf("fork @5+5 = %q", got)
	}
	// Overshoot: past the end of the message at the anchor, even though
	// the source has more data.
	for _, tc := range []struct{ off, sub int64 }{{0, 6}, {3, 3}, {5, 6}, {9, 2}} {
		_, err := h.e.Create(ctx, key("bad"), forkReq(a, ptr(tc.off), tc.sub))
		wantErr(t, err, engine.ErrBadRequest)
	}
	h.wantMissing(key("bad"), engine.ErrNotFound)

	// Chain composition: b is "hel" (own) + "LO" (own).
	c := key("c")
	h.create(c, forkReq(b, ptr(3), 1))
	if got := h.body(c, 0); got != "helL" {
		t.Fatalf("chain fork @3+1 = %q", got)
	}
	_, err = h.e.Create(ctx, key("bad"), forkReq(b, ptr(3), 3))
	wantErr(t, err, engine.ErrBadRequest)
	h.create(key("c2"), forkReq(b, ptr(1), 2))
	if got := h.body(key("c2"), 0); got != "hel" {
		t.Fatalf("chain fork @1+2 = %q", got)
	}
	h.appendData(key("c2"), "text/plain", "p")
	if got := h.body(key("c2"), 0); got != "help" {
		t.Fatalf("chain fork after append = %q", got)
	}

	// Chain through an inherited range: d forks "hello world" at 6 and
	// adds "there"; e anchors inside a's message through d.
	a2 := key("a2")
	h.create(a2, plain("text/plain", "hello world"))
	d := key("d")
	h.create(d, forkReq(a2, ptr(6), 0))
	h.appendData(d, "text/plain", "there")
	e := key("e")
	h.create(e, forkReq(d, ptr(2), 3))
	if got := h.body(e, 0); got != "hello" {
		t.Fatalf("fork through inherited range = %q", got)
	}
	// The sub-offset may not run past d's fork point, even though a2's
	// message continues.
	_, err = h.e.Create(ctx, key("bad"), forkReq(d, ptr(2), 5))
	wantErr(t, err, engine.ErrBadRequest)
	h.create(key("e2"), forkReq(d, ptr(6), 5))
	if got := h.body(key("e2"), 0); got != "hello there" {
		t.Fatalf("fork of fork's own message = %q", got)
	}
}

func testForkSubOffsetJSON(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	a := key("a")
	h.create(a, plain("application/json", `[1,2,3]`))
	h.appendData(a, "application/json", `[4,5]`)

	tests := []struct {
		name     string
		off, sub int64
		want     string
		ok       bool
	}{
		{"inside first append", 1, 2, `[1,2,3]`, true},
		{"first append whole", 0, 3, `[1,2,3]`, true},
		{"one message", 2, 1, `[1,2,3]`, true},
		{"second append", 3, 2, `[1,2,3,4,5]`, true},
		{"second append partial", 3, 1, `[1,2,3,4]`, true},
		{"across appends", 1, 3, ``, false},
		{"past first append", 0, 4, ``, false},
		{"past tail", 4, 2, ``, false},
		{"at tail", 5, 1, ``, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := key(fmt.Sprintf("f%d", i))
			res, err := h.e.Create(ctx, f, forkReq(a, ptr(tt.off), tt.sub))
			if !tt.ok {
				wantErr(t, err, engine.ErrBadRequest)
				h.wantMissing(f, engine.ErrNotFound)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Info.Tail != tt.off+tt.sub || !res.Info.JSON {
				t.Fatalf("tail = %d, want %d", res.Info.Tail, tt.off+tt.sub)
			}
			if got := h.body(f, 0); got != tt.want {
				t.Fatalf("fork body = %s, want %s", got, tt.want)
			}
		})
	}

	// Chains: b = a@1+1 is [1] inherited + [2] own; then [20,21] own.
	b := key("b")
	h.create(b, forkReq(a, ptr(1), 1))
	h.appendData(b, "application/json", `[20,21]`)
	if got := h.body(b, 0); got != `[1,2,20,21]` {
		t.Fatalf("b = %s", got)
	}
	h.create(key("c"), forkReq(b, ptr(2), 2))
	if got := h.body(key("c"), 0); got != `[1,2,20,21]` {
		t.Fatalf("c = %s", got)
	}
	h.create(key("c1"), forkReq(b, ptr(2), 1))
	h.appendData(key("c1"), "application/json", `"own"`)
	if got := h.body(key("c1"), 0); got != `[1,2,20,"own"]` {
		t.Fatalf("c1 = %s", got)
	}
	// b's materialized prefix is its own one-message append.
	_, err := h.e.Create(ctx, key("bad"), forkReq(b, ptr(1), 2))
	wantErr(t, err, engine.ErrBadRequest)
	// An anchor in b's inherited range composes with a's append.
	h.create(key("c0"), forkReq(b, ptr(0), 1))
	if got := h.body(key("c0"), 0); got != `[1]` {
		t.Fatalf("c0 = %s", got)
	}
}

// testForkSubOffsetJSONChainBoundary is the JSON twin of the byte-stream
// check in testForkSubOffsetBytes that a sub-offset anchored in a fork's
// inherited range may not run past that fork's fork point.
func testForkSubOffsetJSONChainBoundary(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	a, b := key("a"), key("b")
	h.create(a, plain("application/json", `[1,2,3,4]`))
	h.create(b, forkReq(a, ptr(2), 0))
	res, err := h.e.Create(ctx, key("c"), forkReq(b, ptr(1), 3))
	if err == nil {
		t.Fatalf("sub-offset past the fork point accepted: tail %d, body %s", res.Info.Tail, h.body(key("c"), 0))
	}
	wantErr(t, err, engine.ErrBadRequest)
	// Within the boundary it works.
	h.create(key("c1"), forkReq(b, ptr(1), 1))
	if got := h.body(key("c1"), 0); got != `[1,2]` {
		t.Fatalf("c1 = %s", got)
	}
}

func testForkContentTypeNoLeak(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src := key("src")
	h.create(src, plain("application/json", `[1]`))
	for i, c := range []string{"text/plain", "application/octet-stream", "application/ld+json"} {
		req := forkReq(src, nil, 0)
		req.ContentType = c
		_, err := h.e.Create(ctx, key(fmt.Sprintf("f%d", i)), req)
		wantErr(t, err, engine.ErrContentType)
	}
	if err := h.e.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(src, engine.ErrNotFound)
	if res := h.create(src, plain("text/plain", "")); !res.Created {
		t.Fatal("source path not free after rejected forks")
	}
}

func testForkSoftDelete(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src, f := key("src"), key("f")
	h.create(src, plain("text/plain", "hello"))
	h.create(f, forkReq(src, nil, 0))
	h.appendData(f, "text/plain", "+fork")
	srcHandle := h.handle(src)

	if err := h.e.Delete(ctx, src); err != nil {
		t.Fatalf("delete source with a fork: %v", err)
	}
	h.wantMissing(src, engine.ErrGone)
	if _, err := srcHandle.Info(); !errors.Is(err, engine.ErrGone) {
		t.Fatalf("old handle Info: %v", err)
	}
	if _, err := srcHandle.Read(ctx, 0); !errors.Is(err, engine.ErrGone) {
		t.Fatalf("old handle Read: %v", err)
	}
	_, err := h.e.Append(ctx, src, engine.AppendRequest{ContentType: "text/plain", Body: []byte("x")})
	wantErr(t, err, engine.ErrGone)
	_, err = h.e.Append(ctx, src, engine.AppendRequest{Close: true})
	wantErr(t, err, engine.ErrGone)
	wantErr(t, h.e.Delete(ctx, src), engine.ErrGone)
	_, err = h.e.Create(ctx, src, plain("text/plain", ""))
	wantErr(t, err, engine.ErrConflict)
	_, err = h.e.Create(ctx, key("f2"), forkReq(src, nil, 0))
	wantErr(t, err, engine.ErrConflict)

	// The fork still reads the source's data.
	if got := h.body(f, 0); got != "hello+fork" {
		t.Fatalf("fork body after source soft delete = %q", got)
	}
	h.appendData(f, "text/plain", "!")
	if got := h.body(f, 2); got != "llo+fork!" {
		t.Fatalf("fork body = %q", got)
	}

	// Deleting the last fork cleans the source up.
	if err := h.e.Delete(ctx, f); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(f, engine.ErrNotFound)
	h.wantMissing(src, engine.ErrNotFound)
	if !h.create(src, plain("application/json", "")).Created {
		t.Fatal("source path not re-creatable after cascade")
	}
	if !h.create(f, plain("text/plain", "")).Created {
		t.Fatal("fork path not re-creatable")
	}
}

func testForkCascade(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	a, b, c := key("a"), key("b"), key("c")
	h.create(a, plain("text/plain", "A"))
	h.create(b, forkReq(a, nil, 0))
	h.appendData(b, "text/plain", "B")
	h.create(c, forkReq(b, nil, 0))
	h.appendData(c, "text/plain", "C")

	if err := h.e.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(a, engine.ErrGone)
	h.wantMissing(b, engine.ErrGone)
	if got := h.body(c, 0); got != "ABC" {
		t.Fatalf("c = %q", got)
	}
	_, err := h.e.Create(ctx, b, plain("text/plain", ""))
	wantErr(t, err, engine.ErrConflict)

	if err := h.e.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, k := range []engine.Key{a, b, c} {
		h.wantMissing(k, engine.ErrNotFound)
	}
	for _, k := range []engine.Key{a, b, c} {
		if !h.create(k, plain("text/plain", "")).Created {
			t.Fatalf("%s not re-creatable", k)
		}
	}

	// Deleting from the leaf up is immediate at every level.
	x, y, z := key("x"), key("y"), key("z")
	h.create(x, plain("text/plain", "X"))
	h.create(y, forkReq(x, nil, 0))
	h.create(z, forkReq(y, nil, 0))
	for _, k := range []engine.Key{z, y, x} {
		if err := h.e.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		h.wantMissing(k, engine.ErrNotFound)
	}
	// Deleting the middle first keeps it for the leaf only.
	h.create(x, plain("text/plain", "X"))
	h.create(y, forkReq(x, nil, 0))
	h.create(z, forkReq(y, nil, 0))
	if err := h.e.Delete(ctx, y); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(y, engine.ErrGone)
	if err := h.e.Delete(ctx, z); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(y, engine.ErrNotFound)
	if h.body(x, 0) != "X" {
		t.Fatal("root lost its data")
	}
	if err := h.e.Delete(ctx, x); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(x, engine.ErrNotFound)
}

func testForkCascadeTwoForks(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src := key("src")
	h.create(src, plain("text/plain", "S"))
	h.create(key("f1"), forkReq(src, nil, 0))
	h.create(key("f2"), forkReq(src, ptr(0), 0))
	if err := h.e.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Delete(ctx, key("f1")); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(src, engine.ErrGone)
	if err := h.e.Delete(ctx, key("f2")); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(src, engine.ErrNotFound)
}

func testForkNoProducerInheritance(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src := key("src")
	h.create(src, plain("text/plain", ""))
	if _, err := h.e.Append(ctx, src, engine.AppendRequest{ContentType: "text/plain", Body: []byte("abc"), StreamSeq: "5", Producer: prod("p", 3, 0)}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []engine.CreateRequest{forkReq(src, nil, 0), forkReq(src, ptr(0), 2)} {
		k := key(fmt.Sprintf("f%d", f.ForkSub))
		h.create(k, f)
		// Epoch 0 is not stale and seq 0 is not a duplicate in the fork.
		res, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("x"), StreamSeq: "1", Producer: prod("p", 0, 0)})
		if err != nil || res.Duplicate {
			t.Fatalf("producer in fork %s = %+v, %v", k, res, err)
		}
	}
}

func testForkTTL(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	ttlSrc := key("ttl-src")
	h.create(ttlSrc, ttlReq("text/plain", 60))
	at := h.clock.Now().Add(time.Hour)
	expSrc := key("exp-src")
	req := plain("text/plain", "")
	req.ExpiresAt = at
	h.create(expSrc, req)

	// Inherited.
	if in := h.create(key("f-ttl"), forkReq(ttlSrc, nil, 0)).Info; in.TTLSeconds != 60 || !in.ExpiresAt.IsZero() {
		t.Fatalf("fork of TTL source = %+v", in)
	}
	if in := h.create(key("f-exp"), forkReq(expSrc, nil, 0)).Info; in.TTLSeconds != -1 || !in.ExpiresAt.Equal(at) {
		t.Fatalf("fork of Expires-At source = %+v", in)
	}
	// Idempotent re-create of a fork with an inherited TTL.
	if h.create(key("f-ttl"), forkReq(ttlSrc, nil, 0)).Created {
		t.Fatal("re-create of fork with inherited TTL made a new stream")
	}
	// The fork's own setting wins, uncapped.
	r := forkReq(ttlSrc, nil, 0)
	r.TTLSeconds = 1000
	if in := h.create(key("f-own-ttl"), r).Info; in.TTLSeconds != 1000 {
		t.Fatalf("fork with own TTL = %+v", in)
	}
	r = forkReq(ttlSrc, nil, 0)
	r.ExpiresAt = at.Add(time.Hour)
	if in := h.create(key("f-own-exp"), r).Info; in.TTLSeconds != -1 || !in.ExpiresAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("fork with own Expires-At = %+v", in)
	}
	r = forkReq(expSrc, nil, 0)
	r.TTLSeconds = 10
	if in := h.create(key("f-exp-own-ttl"), r).Info; in.TTLSeconds != 10 || !in.ExpiresAt.IsZero() {
		t.Fatalf("fork of Expires-At source with own TTL = %+v", in)
	}

	// A fork outlives its expired source and still reads its data.
	src := key("short")
	r = ttlReq("text/plain", 10)
	r.Body = []byte("inherited")
	h.create(src, r)
	long := forkReq(src, nil, 0)
	long.TTLSeconds = 1000
	h.create(key("long"), long)
	h.clock.Advance(30 * time.Second)
	_, err := h.e.Stream(src)
	if !errors.Is(err, engine.ErrNotFound) && !errors.Is(err, engine.ErrGone) {
		t.Fatalf("expired source with a fork: %v", err)
	}
	if got := h.body(key("long"), 0); got != "inherited" {
		t.Fatalf("fork of expired source = %q", got)
	}
	// Its path is kept for the fork.
	_, err = h.e.Create(ctx, src, plain("text/plain", ""))
	wantErr(t, err, engine.ErrConflict)
	h.wantMissing(src, engine.ErrGone)
	// A fork with an inherited TTL expires by it; one with its own lives on.
	h.clock.Advance(30 * time.Second)
	h.wantMissing(key("f-ttl"), engine.ErrNotFound)
	h.info(key("f-own-ttl"))
	if got := h.body(key("long"), 0); got != "inherited" {
		t.Fatalf("fork of expired source = %q", got)
	}
}

func testForkExpiryReleasesSource(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src, f := key("src"), key("f")
	h.create(src, plain("text/plain", "S"))
	r := forkReq(src, nil, 0)
	r.TTLSeconds = 10
	h.create(f, r)
	if err := h.e.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(src, engine.ErrGone)
	h.clock.Advance(10 * time.Second)
	// The write path expires the fork, which releases the source.
	_, err := h.e.Append(ctx, f, engine.AppendRequest{ContentType: "text/plain", Body: []byte("x")})
	wantErr(t, err, engine.ErrNotFound)
	h.wantMissing(src, engine.ErrNotFound)
	if !h.create(src, plain("text/plain", "")).Created {
		t.Fatal("source path not re-creatable")
	}

	// Re-creating an expired fork's path releases the old source too.
	src2, f2 := key("src2"), key("f2")
	h.create(src2, plain("text/plain", "S"))
	h.create(f2, ttlFork(src2))
	h.clock.Advance(10 * time.Second)
	if !h.create(f2, plain("text/plain", "")).Created {
		t.Fatal("expired fork path not re-created")
	}
	if err := h.e.Delete(ctx, src2); err != nil {
		t.Fatal(err)
	}
	h.wantMissing(src2, engine.ErrNotFound)
}

// ttlFork forks src at its tail with a 10 s TTL of its own.
func ttlFork(src engine.Key) engine.CreateRequest {
	r := forkReq(src, nil, 0)
	r.TTLSeconds = 10
	return r
}

// testReaperExpiresForks checks that expiry releases fork references
// without anyone writing to the fork: a read that finds the fork expired
// wakes the reaper, which deletes it and cascades to the soft-deleted
// source.
func testReaperExpiresForks(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src, f := key("src"), key("f")
	h.create(src, plain("text/plain", "S"))
	h.create(f, ttlFork(src))
	if err := h.e.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(10 * time.Second)
	h.wantMissing(f, engine.ErrNotFound)
	eventually(t, "the reaper to release the source", func() bool {
		_, err := h.e.Stream(src)
		return errors.Is(err, engine.ErrNotFound)
	})
}

// ---- wait ----

// waitAsync starts hd.Wait in a goroutine and returns its result channel.
func waitAsync(hd *engine.Handle, wctx context.Context, pos int64, stop <-chan struct{}) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- hd.Wait(wctx, pos, stop) }()
	return ch
}

func recvWait(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("Wait did not return after %s", what)
		return nil
	}
}

func testWait(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	k := key("w")
	h.create(k, plain("text/plain", "ab"))
	hd := h.handle(k)

	// Data beyond pos: returns at once.
	if err := hd.Wait(ctx, 1, nil); err != nil {
		t.Fatalf("Wait below tail: %v", err)
	}

	// An append wakes a waiter at the tail.
	ch := waitAsync(hd, ctx, 2, nil)
	tail := h.appendData(k, "text/plain", "cd")
	if err := recvWait(t, ch, "an append"); err != nil {
		t.Fatalf("Wait after append: %v", err)
	}
	res, err := hd.Read(ctx, 2)
	if err != nil || string(engine.Body(false, res.Messages)) != "cd" {
		t.Fatalf("read after wake = %+v, %v", res, err)
	}

	// Many waiters are all woken by one commit.
	var chans []<-chan error
	for range 8 {
		chans = append(chans, waitAsync(hd, ctx, tail, nil))
	}
	tail = h.appendData(k, "text/plain", "e")
	for _, ch := range chans {
		if err := recvWait(t, ch, "an append (many waiters)"); err != nil {
			t.Fatal(err)
		}
	}

	// Context cancellation and stop.
	cctx, cancel := context.WithCancel(ctx)
	ch = waitAsync(hd, cctx, tail, nil)
	cancel()
	if err := recvWait(t, ch, "cancel"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel = %v", err)
	}
	stop := make(chan struct{})
	ch = waitAsync(hd, ctx, tail, stop)
	close(stop)
	if err := recvWait(t, ch, "stop"); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Wait after stop = %v", err)
	}

	// A rejected append does not wake anyone: with a cancelled context,
	// Wait reports the cancellation because nothing changed.
	if _, err := h.e.Append(ctx, k, engine.AppendRequest{Body: []byte("x")}); err == nil {
		t.Fatal("append without content type accepted")
	}
	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	if err := hd.Wait(done, tail, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait at tail with nothing new = %v", err)
	}

	// Closing wakes a waiter at the tail.
	ch = waitAsync(hd, ctx, tail, nil)
	h.append(k, engine.AppendRequest{Close: true})
	if err := recvWait(t, ch, "close"); err != nil {
		t.Fatal(err)
	}
	// A closed stream never blocks.
	if err := hd.Wait(done, tail, nil); err != nil {
		t.Fatalf("Wait on closed stream = %v", err)
	}

	// Deleting wakes a waiter, and the handle then reports not found.
	k2 := key("w2")
	h.create(k2, plain("text/plain", ""))
	hd2 := h.handle(k2)
	ch = waitAsync(hd2, ctx, 0, nil)
	if err := h.e.Delete(ctx, k2); err != nil {
		t.Fatal(err)
	}
	if err := recvWait(t, ch, "delete"); err != nil {
		t.Fatal(err)
	}
	if _, err := hd2.Read(ctx, 0); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("read via handle after delete = %v", err)
	}
	if err := hd2.Wait(done, 0, nil); err != nil {
		t.Fatalf("Wait on deleted stream = %v", err)
	}

	// A soft delete wakes a waiter too.
	k3 := key("w3")
	h.create(k3, plain("text/plain", ""))
	h.create(key("w3-fork"), forkReq(k3, nil, 0))
	hd3 := h.handle(k3)
	ch = waitAsync(hd3, ctx, 0, nil)
	if err := h.e.Delete(ctx, k3); err != nil {
		t.Fatal(err)
	}
	if err := recvWait(t, ch, "soft delete"); err != nil {
		t.Fatal(err)
	}
	if _, err := hd3.Read(ctx, 0); !errors.Is(err, engine.ErrGone) {
		t.Fatalf("read via handle after soft delete = %v", err)
	}
}

func testWaitFork(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	src, f := key("src"), key("f")
	h.create(src, plain("text/plain", "hello"))
	h.create(f, forkReq(src, ptr(3), 0))
	hd := h.handle(f)
	// Inherited range: data beyond pos at once.
	if err := hd.Wait(ctx, 1, nil); err != nil {
		t.Fatal(err)
	}
	// Source appends do not concern the fork.
	h.appendData(src, "text/plain", "more")
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := hd.Wait(done, 3, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("fork Wait after a source append = %v", err)
	}
	// Fork appends do.
	ch := waitAsync(hd, ctx, 3, nil)
	h.appendData(f, "text/plain", "p")
	if err := recvWait(t, ch, "a fork append"); err != nil {
		t.Fatal(err)
	}
	if got := h.body(f, 0); got != "help" {
		t.Fatalf("fork = %q", got)
	}
}

// ---- delete, close ----

func testDelete(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	k := key("d")
	wantErr(t, h.e.Delete(ctx, k), engine.ErrNotFound)
	req := plain("text/plain", "data")
	req.Closed = true
	h.create(k, req)
	if err := h.e.Delete(ctx, k); err != nil {
		t.Fatalf("delete closed stream: %v", err)
	}
	h.wantMissing(k, engine.ErrNotFound)
	wantErr(t, h.e.Delete(ctx, k), engine.ErrNotFound)
	res := h.create(k, plain("application/json", ""))
	if !res.Created || res.Info.Tail != 0 || res.Info.Closed {
		t.Fatalf("re-create after delete = %+v", res)
	}
	if got := h.body(k, 0); got != "[]" {
		t.Fatalf("old data visible after re-create: %s", got)
	}
	// The old producer state is gone too.
	h.create(key("p"), plain("text/plain", ""))
	if _, err := h.produce(key("p"), "a", prod("x", 5, 0)); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Delete(ctx, key("p")); err != nil {
		t.Fatal(err)
	}
	h.create(key("p"), plain("text/plain", ""))
	if res, err := h.produce(key("p"), "a", prod("x", 0, 0)); err != nil || res.Duplicate {
		t.Fatalf("producer after re-create = %+v, %v", res, err)
	}
}

func testEngineClose(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	k := key("c")
	h.create(k, plain("text/plain", "x"))
	before := h.e.Commits()
	h.appendData(k, "text/plain", "y")
	if h.e.Commits() <= before {
		t.Fatal("Commits did not advance on an append")
	}
	if err := h.e.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("z")})
	wantErr(t, err, engine.ErrUnavailable)
	_, err = h.e.Create(ctx, key("n"), plain("", ""))
	wantErr(t, err, engine.ErrUnavailable)
	wantErr(t, h.e.Delete(ctx, k), engine.ErrUnavailable)
	// Readers keep working on the committed state.
	if got := h.body(k, 0); got != "xy" {
		t.Fatalf("read after Close = %q", got)
	}
	h.e = nil // closed; the cleanup closes only the store
}

func testEngineCloseTwice(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{})
	if err := h.e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	h.e = nil
}

// ---- concurrency ----

func testConcurrentProducers(t *testing.T, cfg Config) {
	const producers, perProducer = 16, 200
	h := newHarness(t, cfg, engine.Options{})
	k := key("conc")
	h.create(k, plain("application/json", ""))
	total := int64(producers * perProducer)

	type rec struct {
		P int `json:"p"`
		S int `json:"s"`
	}

	// A live reader follows the stream with Wait + Read while it grows.
	readerErr := make(chan error, 1)
	readerCount := make(chan int64, 1)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) }) // runs before the harness closes
	go func() {
		hd, err := h.e.Stream(k)
		if err != nil {
			readerErr <- err
			return
		}
		var pos, seen int64
		wctx, cancel := context.WithTimeout(ctx, 4*waitTimeout)
		defer cancel()
		for pos < total {
			if err := hd.Wait(wctx, pos, stop); err != nil {
				readerErr <- fmt.Errorf("wait at %d: %w", pos, err)
				return
			}
			res, err := hd.Read(wctx, pos)
			if err != nil {
				readerErr <- err
				return
			}
			for _, m := range res.Messages {
				if m.Start != pos {
					readerErr <- fmt.Errorf("message at %d, want %d", m.Start, pos)
					return
				}
				var r rec
				if err := json.Unmarshal(m.Data, &r); err != nil {
					readerErr <- fmt.Errorf("torn message %q: %w", m.Data, err)
					return
				}
				pos = m.End
				seen++
			}
		}
		readerCount <- seen
		readerErr <- nil
	}()

	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("producer-%02d", p)
			for s := range perProducer {
				body, _ := json.Marshal(rec{P: p, S: s})
				req := engine.AppendRequest{ContentType: "application/json", Body: body, Producer: prod(id, 0, int64(s))}
				res, err := h.e.Append(ctx, k, req)
				if err != nil {
					errs <- fmt.Errorf("%s seq %d: %w", id, s, err)
					return
				}
				if res.Duplicate || res.Producer == nil || res.Producer.Seq != int64(s) || res.NextOffset < 1 || res.NextOffset > total {
					errs <- fmt.Errorf("%s seq %d: result %+v", id, s, res)
					return
				}
				// Every 50th write is retried, as after a lost response.
				if s%50 == 49 {
					dup, err := h.e.Append(ctx, k, req)
					if err != nil || !dup.Duplicate || dup.NextOffset != res.NextOffset || dup.Producer.Seq != int64(s) {
						errs <- fmt.Errorf("%s retry of seq %d: %+v, %v (first %+v)", id, s, dup, err, res)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	if in := h.info(k); in.Tail != total {
		t.Fatalf("tail = %d, want %d", in.Tail, total)
	}
	select {
	case err := <-readerErr:
		if err != nil {
			t.Fatalf("live reader: %v", err)
		}
		if n := <-readerCount; n != total {
			t.Fatalf("live reader saw %d messages, want %d", n, total)
		}
	case <-time.After(4 * waitTimeout):
		t.Fatal("live reader did not finish")
	}

	msgs, _, _ := h.readAll(k, 0)
	if int64(len(msgs)) != total {
		t.Fatalf("read %d messages, want %d", len(msgs), total)
	}
	next := make([]int, producers)
	for i, m := range msgs {
		if m.Start != int64(i) {
			t.Fatalf("message %d at offset %d", i, m.Start)
		}
		var r rec
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if r.P < 0 || r.P >= producers {
			t.Fatalf("message %d from unknown producer %d", i, r.P)
		}
		if r.S != next[r.P] {
			t.Fatalf("producer %d: seq %d at offset %d, want %d (out of order or duplicate)", r.P, r.S, i, next[r.P])
		}
		next[r.P]++
	}
	for p, n := range next {
		if n != perProducer {
			t.Errorf("producer %d: %d messages, want %d", p, n, perProducer)
		}
	}
}

// ---- persistence ----

func testReopenData(t *testing.T, cfg Config) {
	requirePersistent(t, cfg)
	h := newHarness(t, cfg, engine.Options{})
	bin := make([]byte, 0, 512)
	for i := range 512 {
		bin = append(bin, byte(i))
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 100*1024/16)

	b := key("bin")
	created := h.create(b, plain("", "")).Info
	h.append(b, engine.AppendRequest{ContentType: engine.DefaultContentType, Body: bin[:100]})
	h.append(b, engine.AppendRequest{ContentType: engine.DefaultContentType, Body: bin[100:]})
	h.append(b, engine.AppendRequest{ContentType: engine.DefaultContentType, Body: big})
	want := append(append([]byte{}, bin...), big...)

	j := key("json")
	h.create(j, plain("application/json; charset=utf-8", `[{"a":"ü"},2]`))
	h.appendData(j, "application/json", `[[3],"\u0000"]`)
	pub := plain("text/plain", "")
	pub.Public = true
	h.create(key("public"), pub)
	h.create(key("deleted"), plain("text/plain", "gone"))
	if err := h.e.Delete(ctx, key("deleted")); err != nil {
		t.Fatal(err)
	}

	for round := range 2 {
		h.reopen()
		msgs, _, _ := h.readAll(b, 0)
		if got := engine.Body(false, msgs); !bytes.Equal(got, want) {
			t.Fatalf("round %d: binary data differs after reopen (%d bytes, want %d)", round, len(got), len(want))
		}
		msgs, _, _ = h.readAll(b, 250)
		if got := engine.Body(false, msgs); !bytes.Equal(got, want[250:]) {
			t.Fatalf("round %d: mid-message read differs after reopen", round)
		}
		in := h.info(b)
		if in.ID != created.ID || in.ContentType != engine.DefaultContentType || in.Tail != int64(len(want)) ||
			!in.CreatedAt.Equal(created.CreatedAt) || in.TTLSeconds != -1 || in.Closed {
			t.Fatalf("round %d: info after reopen = %+v (created %+v)", round, in, created)
		}
		if got := h.body(j, 0); got != `[{"a":"ü"},2,[3],"\u0000"]` {
			t.Fatalf("round %d: JSON after reopen = %s", round, got)
		}
		if in := h.info(j); !in.JSON || in.Tail != 4 || in.ContentType != "application/json; charset=utf-8" {
			t.Fatalf("round %d: JSON info = %+v", round, in)
		}
		if !h.info(key("public")).Public {
			t.Fatalf("round %d: Public lost", round)
		}
		h.wantMissing(key("deleted"), engine.ErrNotFound)
	}
	// Appends continue at the right offsets, and new streams get new ids.
	if got := h.appendData(b, engine.DefaultContentType, "tail"); got != int64(len(want))+4 {
		t.Fatalf("append after reopen: next %d", got)
	}
	if got := h.appendData(j, "application/json", `5`); got != 5 {
		t.Fatalf("JSON append after reopen: next %d", got)
	}
	n := h.create(key("new"), plain("", ""))
	for _, k := range []engine.Key{b, j, key("public")} {
		if h.info(k).ID == n.Info.ID {
			t.Fatalf("new stream reuses the id of %s", k)
		}
	}
	h.reopen()
	msgs, _, _ := h.readAll(b, 0)
	if got := engine.Body(false, msgs); !bytes.Equal(got, append(want, "tail"...)) {
		t.Fatal("data after second reopen differs")
	}
}

func testReopenProducers(t *testing.T, cfg Config) {
	requirePersistent(t, cfg)
	h := newHarness(t, cfg, engine.Options{})
	k := key("p")
	h.create(k, plain("text/plain", ""))
	for s, body := range []string{"aa", "bbb"} {
		if _, err := h.produce(k, body, prod("w", 2, int64(s))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.produce(k, "c", prod("v", 0, 0)); err != nil {
		t.Fatal(err)
	}
	h.reopen()

	res, err := h.produce(k, "ignored", prod("w", 2, 1))
	if err != nil || !res.Duplicate || res.NextOffset != 5 || *res.Producer != *prod("w", 2, 1) {
		t.Fatalf("duplicate after reopen = %+v, %v", res, err)
	}
	res, err = h.produce(k, "ignored", prod("w", 2, 0))
	if err != nil || !res.Duplicate || res.Producer.Seq != 1 {
		t.Fatalf("older duplicate after reopen = %+v, %v", res, err)
	}
	_, err = h.produce(k, "x", prod("w", 2, 3))
	var pe *engine.ProducerError
	if !errors.As(err, &pe) || pe.Kind != engine.ErrProducerSeqGap || pe.ExpectedSeq != 2 || pe.ReceivedSeq != 3 {
		t.Fatalf("gap after reopen: %v", err)
	}
	_, err = h.produce(k, "x", prod("w", 1, 0))
	pe = nil
	if !errors.As(err, &pe) || pe.Kind != engine.ErrStaleEpoch || pe.CurrentEpoch != 2 {
		t.Fatalf("stale epoch after reopen: %v", err)
	}
	res, err = h.produce(k, "v", prod("v", 0, 0))
	if err != nil || !res.Duplicate || res.NextOffset != 6 {
		t.Fatalf("second producer duplicate after reopen = %+v, %v", res, err)
	}
	res, err = h.produce(k, "dd", prod("w", 2, 2))
	if err != nil || res.Duplicate || res.NextOffset != 8 {
		t.Fatalf("next seq after reopen = %+v, %v", res, err)
	}
	if got := h.body(k, 0); got != "aabbbcdd" {
		t.Fatalf("body = %q", got)
	}
}

func testReopenClosed(t *testing.T, cfg Config) {
	requirePersistent(t, cfg)
	h := newHarness(t, cfg, engine.Options{})
	byProducer, plainClosed := key("by-producer"), key("plain")
	h.create(byProducer, plain("text/plain", ""))
	if _, err := h.e.Append(ctx, byProducer, engine.AppendRequest{ContentType: "text/plain", Body: []byte("end"), Close: true, Producer: prod("c", 1, 0)}); err != nil {
		t.Fatal(err)
	}
	h.create(plainClosed, plain("text/plain", "x"))
	h.append(plainClosed, engine.AppendRequest{Close: true})
	h.reopen()

	if in := h.info(byProducer); !in.Closed || in.Tail != 3 {
		t.Fatalf("info after reopen = %+v", in)
	}
	res, err := h.e.Append(ctx, byProducer, engine.AppendRequest{ContentType: "text/plain", Body: []byte("other"), Close: true, Producer: prod("c", 1, 0)})
	if err != nil || !res.Duplicate || !res.Closed || res.NextOffset != 3 {
		t.Fatalf("closing tuple retry after reopen = %+v, %v", res, err)
	}
	_, err = h.e.Append(ctx, byProducer, engine.AppendRequest{Close: true, Producer: prod("c", 1, 1)})
	var ce *engine.ClosedError
	if !errors.As(err, &ce) || ce.NextOffset != 3 {
		t.Fatalf("other tuple after reopen: %v", err)
	}
	if res := h.append(plainClosed, engine.AppendRequest{Close: true}); !res.Closed || res.NextOffset != 1 {
		t.Fatalf("close-only after reopen = %+v", res)
	}
	_, err = h.e.Append(ctx, plainClosed, engine.AppendRequest{ContentType: "text/plain", Body: []byte("y")})
	ce = nil
	if !errors.As(err, &ce) || ce.NextOffset != 1 {
		t.Fatalf("append to closed after reopen: %v", err)
	}
	_, last, _ := h.readAll(plainClosed, 0)
	if !last.Closed {
		t.Fatal("read after reopen does not report closed")
	}
}

func testReopenStreamSeq(t *testing.T, cfg Config) {
	requirePersistent(t, cfg)
	h := newHarness(t, cfg, engine.Options{})
	k := key("s")
	h.create(k, plain("text/plain", ""))
	if _, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("a"), StreamSeq: "05"}); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	for _, seq := range []string{"04", "05", "0"} {
		_, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("b"), StreamSeq: seq})
		wantErr(t, err, engine.ErrSeqRegression)
	}
	if _, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("c"), StreamSeq: "06"}); err != nil {
		t.Fatal(err)
	}
}

func testReopenForks(t *testing.T, cfg Config) {
	requirePersistent(t, cfg)
	h := newHarness(t, cfg, engine.Options{})
	a, b, c := key("a"), key("b"), key("c")
	h.create(a, plain("text/plain", "hello"))
	h.appendData(a, "text/plain", "world")
	h.create(b, forkReq(a, ptr(3), 0))
	h.appendData(b, "text/plain", "XY")
	h.create(c, forkReq(b, ptr(4), 1)) // "hel" + "X" + "Y" materialized
	js := key("js")
	h.create(js, plain("application/json", `[1,2,3]`))
	h.create(key("jf"), forkReq(js, ptr(1), 1))
	h.reopen()

	if got := h.body(b, 0); got != "helXY" {
		t.Fatalf("fork after reopen = %q", got)
	}
	if got := h.body(b, 2); got != "lXY" {
		t.Fatalf("fork across boundary after reopen = %q", got)
	}
	if got := h.body(c, 0); got != "helXY" {
		t.Fatalf("sub-offset fork after reopen = %q", got)
	}
	if got := h.body(key("jf"), 0); got != "[1,2]" {
		t.Fatalf("JSON sub-offset fork after reopen = %s", got)
	}
	// Sources appended after the fork stay invisible.
	h.appendData(a, "text/plain", "!")
	if got := h.body(b, 0); got != "helXY" {
		t.Fatalf("fork after source append = %q", got)
	}
	// Idempotent re-create of a fork after reopen.
	if h.create(b, forkReq(a, ptr(3), 0)).Created {
		t.Fatal("fork re-create after reopen made a new stream")
	}

	// Soft delete survives a reopen; refcounts do too.
	if err := h.e.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := h.e.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	h.wantMissing(a, engine.ErrGone)
	h.wantMissing(b, engine.ErrGone)
	_, err := h.e.Create(ctx, a, plain("text/plain", ""))
	wantErr(t, err, engine.ErrConflict)
	if got := h.body(c, 0); got != "helXY" {
		t.Fatalf("leaf after soft deletes and reopen = %q", got)
	}
	h.appendData(c, "text/plain", "Z")
	if err := h.e.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, k := range []engine.Key{a, b, c} {
		h.wantMissing(k, engine.ErrNotFound)
	}
	h.reopen()
	for _, k := range []engine.Key{a, b, c} {
		h.wantMissing(k, engine.ErrNotFound)
		if !h.create(k, plain("text/plain", "")).Created {
			t.Fatalf("%s not re-creatable after cascade and reopen", k)
		}
	}
	if got := h.body(key("jf"), 0); got != "[1,2]" {
		t.Fatalf("unrelated fork changed: %s", got)
	}
}

func testReopenTTL(t *testing.T, cfg Config) {
	requirePersistent(t, cfg)
	h := newHarness(t, cfg, engine.Options{})
	ttl, exp, touched := key("ttl"), key("exp"), key("touched")
	h.create(ttl, ttlReq("text/plain", 60))
	at := h.clock.Now().Add(90 * time.Second)
	req := plain("text/plain", "")
	req.ExpiresAt = at
	h.create(exp, req)
	h.create(touched, ttlReq("text/plain", 60))
	h.clock.Advance(40 * time.Second)
	h.handle(touched).Touch()
	h.reopen()

	if in := h.info(ttl); in.TTLSeconds != 60 || !in.ExpiresAt.IsZero() {
		t.Fatalf("TTL after reopen = %+v", in)
	}
	if in := h.info(exp); in.TTLSeconds != -1 || !in.ExpiresAt.Equal(at) {
		t.Fatalf("Expires-At after reopen = %+v", in)
	}
	// Same config → 200 after reopen; the re-create at 40 s refreshes ttl.
	if h.create(exp, req).Created || h.create(ttl, ttlReq("text/plain", 60)).Created {
		t.Fatal("re-create after reopen made a new stream")
	}
	// Expires-At still applies after the reopen.
	h.clock.Advance(50 * time.Second) // 90 s
	h.wantMissing(exp, engine.ErrNotFound)
	// The touch at 40 s was persisted: alive until 100 s.
	h.clock.Advance(10*time.Second - time.Millisecond)
	h.info(touched)
	h.info(ttl)
	h.clock.Advance(time.Millisecond) // 100 s
	h.wantMissing(touched, engine.ErrNotFound)
	h.wantMissing(ttl, engine.ErrNotFound)
}

// ---- the Store contract, without the engine ----

// testStoreContract checks the Store methods directly: batches, deletes
// applied first, skipped records of deleted streams, range reads that
// start inside a message, and the maxBytes cut.
func testStoreContract(t *testing.T, cfg Config) {
	st := cfg.Open(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	rec := func(id int64, name string, tail int64) *engine.StreamRecord {
		return &engine.StreamRecord{ID: id, Project: "p", Name: name, ContentType: "text/plain",
			TTLSeconds: -1, Tail: tail, ClosedBy: &engine.ProducerTuple{ID: "c", Epoch: 1, Seq: 2}, Closed: true,
			LastStreamSeq: "s9", ForkSource: 0, Refcount: 3, SoftDeleted: true, Public: true,
			CreatedAtMS: 1000, LastAccessMS: 2000, ExpiresAtMS: 3000}
	}
	msg := func(id, start int64, data string, batchEnd int64) engine.MessageRecord {
		return engine.MessageRecord{StreamID: id, Message: engine.Message{
			Start: start, End: start + int64(len(data)), BatchEnd: batchEnd, Data: []byte(data)}}
	}
	if snap, err := st.Load(ctx); err != nil || len(snap.Streams) != 0 || len(snap.Producers) != 0 {
		t.Fatalf("fresh store Load = %+v, %v", snap, err)
	}
	b := &engine.Batch{
		Streams:   map[int64]*engine.StreamRecord{1: rec(1, "a", 9), 2: rec(2, "b", 0)},
		Messages:  []engine.MessageRecord{msg(1, 0, "abc", 6), msg(1, 3, "def", 6), msg(1, 6, "ghi", 9)},
		Producers: []engine.ProducerRecord{{StreamID: 1, ProducerID: "w", Epoch: 1, LastSeq: 2, LastOffset: 9, UpdatedAtMS: 5}},
	}
	if b.Empty() || !(&engine.Batch{}).Empty() {
		t.Fatal("Batch.Empty is wrong")
	}
	if err := st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Streams) != 2 || len(snap.Producers) != 1 {
		t.Fatalf("Load = %+v", snap)
	}
	got := snap.Streams[0]
	if got.ID != 1 {
		got = snap.Streams[1]
	}
	want := *rec(1, "a", 9)
	if got.ClosedBy == nil || *got.ClosedBy != *want.ClosedBy {
		t.Fatalf("ClosedBy = %+v", got.ClosedBy)
	}
	got.ClosedBy, want.ClosedBy = nil, nil
	if got != want {
		t.Fatalf("stream record = %+v, want %+v", got, want)
	}
	if p := snap.Producers[0]; p != b.Producers[0] {
		t.Fatalf("producer record = %+v, want %+v", p, b.Producers[0])
	}

	tests := []struct {
		from, to int64
		max      int
		want     string
	}{
		{0, 9, 100, "abc|def|ghi"},
		{4, 9, 100, "def|ghi"}, // the message containing from, unsliced
		{5, 6, 100, "def"},
		{4, 6, 100, "def"},
		{0, 9, 1, "abc"}, // at least one message
		{0, 9, 3, "abc"},
		{0, 9, 4, "abc|def"},
		{9, 20, 100, ""},
		{0, 0, 100, ""},
	}
	for _, tt := range tests {
		msgs, err := st.ReadRange(ctx, 1, tt.from, tt.to, tt.max)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, m := range msgs {
			parts = append(parts, string(m.Data))
			if m.End-m.Start != int64(len(m.Data)) || m.BatchEnd < m.End {
				t.Errorf("message %+v has inconsistent positions", m)
			}
		}
		if strings.Join(parts, "|") != tt.want {
			t.Errorf("ReadRange(1, %d, %d, %d) = %q, want %q", tt.from, tt.to, tt.max, parts, tt.want)
		}
	}
	if msgs, err := st.ReadRange(ctx, 2, 0, 10, 100); err != nil || len(msgs) != 0 {
		t.Fatalf("ReadRange of empty stream = %+v, %v", msgs, err)
	}

	// Updates replace the mutable fields.
	upd := rec(1, "a", 12)
	upd.Closed, upd.ClosedBy, upd.SoftDeleted, upd.Refcount, upd.LastStreamSeq = false, nil, false, 0, "t"
	b = &engine.Batch{
		Streams:   map[int64]*engine.StreamRecord{1: upd},
		Messages:  []engine.MessageRecord{msg(1, 9, "jkl", 12)},
		Producers: []engine.ProducerRecord{{StreamID: 1, ProducerID: "w", Epoch: 2, LastSeq: 0, LastOffset: 12, UpdatedAtMS: 6}},
	}
	if err := st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	snap, _ = st.Load(ctx)
	for _, r := range snap.Streams {
		if r.ID == 1 && (r.Tail != 12 || r.Closed || r.ClosedBy != nil || r.SoftDeleted || r.Refcount != 0 || r.LastStreamSeq != "t") {
			t.Fatalf("updated record = %+v", r)
		}
	}
	if len(snap.Producers) != 1 || snap.Producers[0].Epoch != 2 || snap.Producers[0].LastOffset != 12 {
		t.Fatalf("updated producer = %+v", snap.Producers)
	}

	// Deletes apply first, so a name can be freed and reused in one
	// batch; records of streams deleted in the batch are skipped.
	b = &engine.Batch{
		Deletes:   []int64{1},
		Streams:   map[int64]*engine.StreamRecord{1: rec(1, "a", 9), 3: rec(3, "a", 2)},
		Messages:  []engine.MessageRecord{msg(1, 12, "zz", 14), msg(3, 0, "ok", 2)},
		Producers: []engine.ProducerRecord{{StreamID: 1, ProducerID: "w"}, {StreamID: 3, ProducerID: "n"}},
	}
	if err := st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	snap, _ = st.Load(ctx)
	ids := map[int64]bool{}
	for _, r := range snap.Streams {
		ids[r.ID] = true
	}
	if len(snap.Streams) != 2 || !ids[2] || !ids[3] {
		t.Fatalf("streams after delete + reuse = %+v", snap.Streams)
	}
	if len(snap.Producers) != 1 || snap.Producers[0].StreamID != 3 {
		t.Fatalf("producers after delete = %+v", snap.Producers)
	}
	if msgs, _ := st.ReadRange(ctx, 1, 0, 100, 100); len(msgs) != 0 {
		t.Fatalf("deleted stream still has messages: %+v", msgs)
	}
	if msgs, _ := st.ReadRange(ctx, 3, 0, 2, 100); len(msgs) != 1 || string(msgs[0].Data) != "ok" {
		t.Fatalf("new stream messages = %+v", msgs)
	}
	// Deleting an unknown id is harmless.
	if err := st.Commit(ctx, &engine.Batch{Deletes: []int64{99}}); err != nil {
		t.Fatalf("delete of unknown id: %v", err)
	}
}

// ---- commit failure ----

// flakyStore fails Commit while fail is set.
type flakyStore struct {
	engine.Store
	fail atomic.Bool
}

var errInjected = errors.New("injected commit failure")

func (f *flakyStore) Commit(c context.Context, b *engine.Batch) error {
	if f.fail.Load() {
		return errInjected
	}
	return f.Store.Commit(c, b)
}

// testCommitFailure checks that a failed commit rejects every write in
// the batch with ErrUnavailable and rolls the engine back to what the
// store holds, so later writes continue from the committed state.
func testCommitFailure(t *testing.T, cfg Config) {
	clock := NewClock()
	st := &flakyStore{Store: cfg.Open(t, t.TempDir())}
	e, err := engine.Open(ctx, st, engine.Options{Now: clock.Now})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	h := &harness{t: t, cfg: cfg, clock: clock, store: st, e: e}
	t.Cleanup(h.shutdown)

	k := key("s")
	h.create(k, plain("text/plain", "abc"))
	if _, err := h.produce(k, "P", prod("w", 0, 0)); err != nil {
		t.Fatal(err)
	}
	hd := h.handle(k)
	h.create(key("other"), plain("text/plain", "o"))

	st.fail.Store(true)
	for _, op := range []func() error{
		func() error { _, err := h.produce(k, "lost", prod("w", 0, 1)); return err },
		func() error {
			_, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("x"), StreamSeq: "9", Close: true})
			return err
		},
		func() error { _, err := h.e.Create(ctx, key("new"), plain("text/plain", "n")); return err },
		func() error { return h.e.Delete(ctx, key("other")) },
	} {
		err := op()
		wantErr(t, err, engine.ErrUnavailable)
		if !strings.Contains(err.Error(), errInjected.Error()) {
			t.Fatalf("error %v does not carry the cause", err)
		}
	}
	// Rejections that need no commit are still reported as such.
	_, err = h.e.Append(ctx, k, engine.AppendRequest{ContentType: "image/png", Body: []byte("x")})
	wantErr(t, err, engine.ErrContentType)
	st.fail.Store(false)

	// Nothing of the failed batches is visible.
	h.wantMissing(key("new"), engine.ErrNotFound)
	if in := h.info(k); in.Tail != 4 || in.Closed {
		t.Fatalf("info after failed commits = %+v", in)
	}
	if got := h.body(k, 0); got != "abcP" {
		t.Fatalf("body after failed commits = %q", got)
	}
	// The old handle still works.
	if tail, closed, err := hd.Tail(); err != nil || tail != 4 || closed {
		t.Fatalf("old handle Tail = %d, %v, %v", tail, closed, err)
	}
	// The producer's lost write is accepted again, not a duplicate, and
	// Stream-Seq was not recorded.
	res, err := h.e.Append(ctx, k, engine.AppendRequest{ContentType: "text/plain", Body: []byte("Q"), StreamSeq: "1", Producer: prod("w", 0, 1)})
	if err != nil || res.Duplicate || res.NextOffset != 5 {
		t.Fatalf("retry after failure = %+v, %v", res, err)
	}
	if !h.create(key("new"), plain("text/plain", "n")).Created {
		t.Fatal("create after failure did not create")
	}
	// A waiter on the old handle is woken by the next commit.
	ch := waitAsync(hd, ctx, 5, nil)
	h.appendData(k, "text/plain", "R")
	if err := recvWait(t, ch, "an append after a failed commit"); err != nil {
		t.Fatal(err)
	}
	if got := h.body(k, 0); got != "abcPQR" {
		t.Fatalf("body = %q", got)
	}
	// The delete did not happen.
	if got := h.body(key("other"), 0); got != "o" {
		t.Fatalf("other = %q", got)
	}
}

// testCommitFailureDelete: a handle held across a failed Delete must keep
// following the stream that is still there.
func testCommitFailureDelete(t *testing.T, cfg Config) {
	clock := NewClock()
	st := &flakyStore{Store: cfg.Open(t, t.TempDir())}
	e, err := engine.Open(ctx, st, engine.Options{Now: clock.Now})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	h := &harness{t: t, cfg: cfg, clock: clock, store: st, e: e}
	t.Cleanup(h.shutdown)

	k := key("s")
	h.create(k, plain("text/plain", "abc"))
	hd := h.handle(k)
	st.fail.Store(true)
	wantErr(t, h.e.Delete(ctx, k), engine.ErrUnavailable)
	st.fail.Store(false)
	h.appendData(k, "text/plain", "d")
	if tail, _, err := hd.Tail(); err != nil || tail != 4 {
		t.Fatalf("old handle Tail after a failed delete and an append = %d, %v; want 4", tail, err)
	}
	ch := waitAsync(hd, ctx, 4, nil)
	h.appendData(k, "text/plain", "e")
	if err := recvWait(t, ch, "an append after a failed delete"); err != nil {
		t.Fatal(err)
	}
}

// ---- pub/sub ----

// pubsubTTL is the session TTL of the pub/sub groups.
const pubsubTTL = 10 * time.Minute

func (h *harness) subscribe(stream, session string) *engine.SessionInfo {
	h.t.Helper()
	in, err := h.e.Subscribe(ctx, "proj", stream, session)
	if err != nil {
		h.t.Fatalf("subscribe %s to %s: %v", session, stream, err)
	}
	return in
}

func (h *harness) publish(k engine.Key, ct, body string) *engine.PublishResult {
	h.t.Helper()
	res, err := h.e.Publish(ctx, k, engine.AppendRequest{ContentType: ct, Body: []byte(body)})
	if err != nil {
		h.t.Fatalf("publish to %s: %v", k, err)
	}
	return res
}

func sessionKey(id string) engine.Key { return key(engine.SessionPrefix + id) }

// subsOf lists the stream ids a session is subscribed to.
func subsOf(in *engine.SessionInfo) []string {
	var out []string
	for _, s := range in.Subscriptions {
		out = append(out, s.StreamID)
	}
	return out
}

// pubsubRows is the pub/sub part of what the store holds, as
// "session@expiresAt" and "session/stream@lastDelivered" rows.
func (h *harness) pubsubRows() []string {
	h.t.Helper()
	snap, err := h.store.Load(ctx)
	if err != nil {
		h.t.Fatalf("load: %v", err)
	}
	var rows []string
	for _, s := range snap.Sessions {
		rows = append(rows, fmt.Sprintf("%s/%s@%d", s.Project, s.SessionID, s.ExpiresAtMS))
	}
	for _, s := range snap.Subscriptions {
		rows = append(rows, fmt.Sprintf("%s/%s/%s@%d", s.Project, s.SessionID, s.StreamID, s.LastDelivered))
	}
	sort.Strings(rows)
	return rows
}

func (h *harness) wantRows(what string, want ...string) {
	h.t.Helper()
	got := h.pubsubRows()
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		h.t.Fatalf("%s: store holds %q, want %q", what, got, want)
	}
}

// testPubSubRecords checks what the store keeps of sessions and
// subscriptions through subscribe, publish, unsubscribe, source delete
// and session delete: a session delete takes its subscriptions along.
func testPubSubRecords(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{SessionTTL: pubsubTTL})
	exp := h.clock.Now().Add(pubsubTTL).UnixMilli()
	src, src2 := key("src"), key("src2")
	h.create(src, plain("text/plain", "old"))
	h.create(src2, plain("text/plain", ""))
	a := h.subscribe("src", "a")
	if !a.IsNew || a.StreamPath != sessionKey("a") || a.ExpiresAt.UnixMilli() != exp {
		t.Fatalf("subscribe a = %+v", a)
	}
	h.subscribe("src", "b")
	h.wantRows("after subscribing", fmt.Sprintf("proj/a@%d", exp), fmt.Sprintf("proj/b@%d", exp), "proj/a/src@3", "proj/b/src@3")
	if res := h.publish(src, "text/plain", "new"); res.Fanout != 2 || res.NextOffset != 6 {
		t.Fatalf("publish = %+v", res)
	}
	h.wantRows("after a publish", fmt.Sprintf("proj/a@%d", exp), fmt.Sprintf("proj/b@%d", exp), "proj/a/src@6", "proj/b/src@6")
	for _, s := range []string{"a", "b"} {
		if got := h.body(sessionKey(s), 0); got != "new" {
			t.Fatalf("session %s = %q", s, got)
		}
	}
	// A plain append is not fanned out.
	h.appendData(src, "text/plain", "!")
	if removed, err := h.e.Unsubscribe(ctx, "proj", "src", "b"); err != nil || !removed {
		t.Fatalf("unsubscribe = %v, %v", removed, err)
	}
	h.subscribe("src2", "a")
	h.wantRows("after unsubscribing b", fmt.Sprintf("proj/a@%d", exp), fmt.Sprintf("proj/b@%d", exp), "proj/a/src@6", "proj/a/src2@0")
	if res := h.publish(src, "text/plain", "x"); res.Fanout != 1 {
		t.Fatalf("publish after unsubscribe: fan-out %d", res.Fanout)
	}
	if got := h.body(sessionKey("a"), 0); got != "newx" {
		t.Fatalf("session a = %q", got)
	}
	// Deleting a source drops its subscriptions.
	if err := h.e.Delete(ctx, src); err != nil {
		t.Fatal(err)
	}
	h.wantRows("after deleting src", fmt.Sprintf("proj/a@%d", exp), fmt.Sprintf("proj/b@%d", exp), "proj/a/src2@0")
	in, err := h.e.Session(ctx, "proj", "a")
	if err != nil || strings.Join(subsOf(in), ",") != "src2" {
		t.Fatalf("session a = %+v, %v", in, err)
	}
	// Deleting a session drops it, its subscriptions and its stream.
	if existed, err := h.e.DeleteSession(ctx, "proj", "a"); err != nil || !existed {
		t.Fatalf("delete session = %v, %v", existed, err)
	}
	h.wantRows("after deleting session a", fmt.Sprintf("proj/b@%d", exp))
	h.wantMissing(sessionKey("a"), engine.ErrNotFound)
	if _, err := h.e.Session(ctx, "proj", "a"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("session a after delete: %v", err)
	}
	if existed, err := h.e.DeleteSession(ctx, "proj", "a"); err != nil || existed {
		t.Fatalf("second delete session = %v, %v", existed, err)
	}
	// Session streams are reserved to the pub/sub layer.
	_, err = h.e.Append(ctx, sessionKey("b"), engine.AppendRequest{ContentType: "text/plain", Body: []byte("x")})
	wantErr(t, err, engine.ErrReservedStream)
	wantErr(t, h.e.Delete(ctx, sessionKey("b")), engine.ErrReservedStream)
	_, err = h.e.Create(ctx, sessionKey("z"), plain("text/plain", ""))
	wantErr(t, err, engine.ErrReservedStream)
	_, err = h.e.Create(ctx, key("fork"), forkReq(sessionKey("b"), nil, 0))
	wantErr(t, err, engine.ErrReservedStream)
	if st := h.e.PubSubStats(); st.Subscribes != 3 || st.Publishes != 2 || st.FanoutDeliveries != 3 {
		t.Fatalf("stats = %+v", st)
	}
}

// testPubSubExpiry: a session lives SessionTTL past its last subscribe or
// touch; reads of its stream do not extend it; at expiry the session, its
// subscriptions and its stream go, in the store too.
func testPubSubExpiry(t *testing.T, cfg Config) {
	h := newHarness(t, cfg, engine.Options{SessionTTL: pubsubTTL})
	src := key("src")
	h.create(src, plain("text/plain", ""))
	h.subscribe("src", "a")
	h.subscribe("src", "b")
	h.publish(src, "text/plain", "m")
	h.clock.Advance(pubsubTTL - time.Second)
	in, err := h.e.TouchSession(ctx, "proj", "a")
	if err != nil || !in.ExpiresAt.Equal(h.clock.Now().Add(pubsubTTL)) {
		t.Fatalf("touch = %+v, %v", in, err)
	}
	if _, err := h.e.Session(ctx, "proj", "b"); err != nil {
		t.Fatal(err)
	}
	h.body(sessionKey("b"), 0) // a read does not extend
	h.clock.Advance(time.Second)
	if _, err := h.e.Session(ctx, "proj", "b"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("session b after its TTL: %v", err)
	}
	h.wantMissing(sessionKey("b"), engine.ErrNotFound)
	if res := h.publish(src, "text/plain", "n"); res.Fanout != 1 {
		t.Fatalf("fan-out after b expired: %d", res.Fanout)
	}
	if got := h.body(sessionKey("a"), 0); got != "mn" {
		t.Fatalf("session a = %q", got)
	}
	h.wantRows("after b expired", fmt.Sprintf("proj/a@%d", in.ExpiresAt.UnixMilli()), "proj/a/src@2")
	if st := h.e.PubSubStats(); st.SessionsExpired != 1 {
		t.Fatalf("SessionsExpired = %d", st.SessionsExpired)
	}
	// Touch creates an unknown session.
	c, err := h.e.TouchSession(ctx, "proj", "c")
	if err != nil || !c.IsNew || len(c.Subscriptions) != 0 {
		t.Fatalf("touch c = %+v, %v", c, err)
	}
}

// testPubSubCommitFailure: a publish whose commit fails leaves the source
// and every session as they were, and the engine's delivery positions
// roll back with it, so the retried publish is fanned out exactly once.
func testPubSubCommitFailure(t *testing.T, cfg Config) {
	clock := NewClock()
	st := &flakyStore{Store: cfg.Open(t, t.TempDir())}
	e, err := engine.Open(ctx, st, engine.Options{Now: clock.Now, SessionTTL: pubsubTTL})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	h := &harness{t: t, cfg: cfg, clock: clock, store: st, e: e}
	t.Cleanup(h.shutdown)

	src := key("src")
	h.create(src, plain("text/plain", ""))
	h.subscribe("src", "a")
	h.subscribe("src", "b")
	st.fail.Store(true)
	for name, op := range map[string]func() error{
		"publish": func() error {
			_, err := h.e.Publish(ctx, src, engine.AppendRequest{ContentType: "text/plain", Body: []byte("lost"), Producer: prod("p", 0, 0)})
			return err
		},
		"subscribe":      func() error { _, err := h.e.Subscribe(ctx, "proj", "src", "c"); return err },
		"touch":          func() error { _, err := h.e.TouchSession(ctx, "proj", "d"); return err },
		"unsubscribe":    func() error { _, err := h.e.Unsubscribe(ctx, "proj", "src", "a"); return err },
		"delete session": func() error { _, err := h.e.DeleteSession(ctx, "proj", "b"); return err },
	} {
		if err := op(); !errors.Is(err, engine.ErrUnavailable) {
			t.Fatalf("%s during a commit failure: %v, want ErrUnavailable", name, err)
		}
	}
	st.fail.Store(false)
	for _, s := range []string{"a", "b"} {
		in, err := h.e.Session(ctx, "proj", s)
		if err != nil || strings.Join(subsOf(in), ",") != "src" {
			t.Fatalf("session %s after failed commits = %+v, %v", s, in, err)
		}
		if got := h.body(sessionKey(s), 0); got != "" {
			t.Fatalf("session %s after a failed publish = %q", s, got)
		}
	}
	for _, s := range []string{"c", "d"} {
		if _, err := h.e.Session(ctx, "proj", s); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("session %s after a failed commit: %v", s, err)
		}
		h.wantMissing(sessionKey(s), engine.ErrNotFound)
	}
	if got := h.body(src, 0); got != "" {
		t.Fatalf("source after a failed publish = %q", got)
	}
	// The retry is new (not a duplicate) and reaches every session once.
	res, err := h.e.Publish(ctx, src, engine.AppendRequest{ContentType: "text/plain", Body: []byte("lost"), Producer: prod("p", 0, 0)})
	if err != nil || res.Duplicate || res.Fanout != 2 {
		t.Fatalf("retried publish = %+v, %v", res, err)
	}
	h.publish(src, "text/plain", "!")
	for _, k := range []engine.Key{src, sessionKey("a"), sessionKey("b")} {
		if got := h.body(k, 0); got != "lost!" {
			t.Fatalf("%s = %q", k, got)
		}
	}
	h.wantRows("after the retry", fmt.Sprintf("proj/a@%d", clock.Now().Add(pubsubTTL).UnixMilli()),
		fmt.Sprintf("proj/b@%d", clock.Now().Add(pubsubTTL).UnixMilli()), "proj/a/src@5", "proj/b/src@5")
}

// testReopenPubSub: sessions, subscriptions, delivery positions and
// expiries survive a restart; expiry after a restart still happens.
func testReopenPubSub(t *testing.T, cfg Config) {
	requirePersistent(t, cfg)
	h := newHarness(t, cfg, engine.Options{SessionTTL: pubsubTTL})
	src := key("src")
	h.create(src, plain("text/plain", ""))
	h.subscribe("src", "a")
	h.publish(src, "text/plain", "1")
	h.subscribe("src", "b")
	h.publish(src, "text/plain", "2")
	before, err := h.e.Session(ctx, "proj", "a")
	if err != nil {
		t.Fatal(err)
	}
	h.reopen()
	after, err := h.e.Session(ctx, "proj", "a")
	if err != nil || !after.ExpiresAt.Equal(before.ExpiresAt) || !after.CreatedAt.Equal(before.CreatedAt) ||
		fmt.Sprint(after.Subscriptions) != fmt.Sprint(before.Subscriptions) {
		t.Fatalf("session a after reopen = %+v, %v; before %+v", after, err, before)
	}
	if res := h.publish(src, "text/plain", "3"); res.Fanout != 2 {
		t.Fatalf("fan-out after reopen %d", res.Fanout)
	}
	if a, b := h.body(sessionKey("a"), 0), h.body(sessionKey("b"), 0); a != "123" || b != "23" {
		t.Fatalf("sessions after reopen: a %q, b %q", a, b)
	}
	h.clock.Advance(pubsubTTL - time.Second)
	if _, err := h.e.TouchSession(ctx, "proj", "a"); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	h.clock.Advance(time.Second)
	if _, err := h.e.Session(ctx, "proj", "a"); err != nil {
		t.Fatalf("touched session a after reopen: %v", err)
	}
	if _, err := h.e.Session(ctx, "proj", "b"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("session b past its TTL after reopen: %v", err)
	}
	h.reopen()
	h.wantMissing(sessionKey("b"), engine.ErrNotFound)
	h.wantRows("after b expired and a reopen", fmt.Sprintf("proj/a@%d", h.clock.Now().Add(pubsubTTL-time.Second).UnixMilli()), "proj/a/src@3")
}
