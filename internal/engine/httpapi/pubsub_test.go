package httpapi_test

// Integration tests of the pub/sub layer (issue 4): a real server on
// 127.0.0.1 over memstore and over SQLite (which then also serves the
// project registry, as dsctl serve does). The seed's pub/sub API and its
// bugs are in shared/reference/seed-inventory.md §2, §5.2 #25-30 and §7;
// the TestRegression_PubSub… tests pin the fixes for the §7 ones.
//
// Expiry is driven by an injected clock (engine.Options.Now and the
// handler's clock both); no test asserts how long anything took.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/httpapi"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/token"
)

// psT0 is where the injected clock starts.
var psT0 = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// psTTL is the session TTL of the tests that use the injected clock.
const psTTL = 10 * time.Minute

// withEngineClock drives the engine (session expiry, stream TTLs) and the
// handler (tokens, cursors) from one settable clock.
func withEngineClock(c *fakeClock) option {
	return func(cfg *envConfig) {
		cfg.engine.Now = c.Now
		cfg.http.Now = c.Now
	}
}

// withSessionTTL sets the engine's session TTL.
func withSessionTTL(d time.Duration) option {
	return func(cfg *envConfig) { cfg.engine.SessionTTL = d }
}

// psStores runs fn over memstore and over SQLite serving the registry.
func psStores(t *testing.T, fn func(t *testing.T, opts ...option)) {
	t.Run("memstore", func(t *testing.T) { fn(t) })
	t.Run("sqlite", func(t *testing.T) { fn(t, withStoreRegistry()) })
}

// psKit is a server with a project (named, with tokens, or the open
// default one), an injected clock unless realClock, and helpers for the
// pub/sub routes.
type psKit struct {
	t       *testing.T
	e       *env
	clock   *fakeClock // nil with the real clock
	project string
	base    string // /v1/<project>
	w, r    H      // Authorization of a write and a read token (nil for default)
}

func newPS(t *testing.T, project string, opts ...option) *psKit {
	t.Helper()
	clock := newClock(psT0)
	k := &psKit{t: t, clock: clock, project: project, base: "/v1/" + project}
	k.e = newEnv(t, append([]option{withEngineClock(clock), withSessionTTL(psTTL)}, opts...)...)
	k.setupProject()
	return k
}

// newPSRealClock is newPS with the real clock (for the reaper).
func newPSRealClock(t *testing.T, project string, opts ...option) *psKit {
	t.Helper()
	k := &psKit{t: t, project: project, base: "/v1/" + project}
	k.e = newEnv(t, opts...)
	k.setupProject()
	return k
}

func (k *psKit) setupProject() {
	if k.project != httpapi.DefaultProject {
		k.e.project(k.project)
		k.w = k.e.auth(k.project, token.ScopeWrite)
		k.r = k.e.auth(k.project, token.ScopeRead)
	}
}

func (k *psKit) advance(d time.Duration) { k.clock.Set(k.clock.Now().Add(d)) }

func (k *psKit) stream(id string) string { return k.base + "/stream/" + id }
func (k *psKit) session(id string) string {
	return k.base + "/session/" + id
}
func (k *psKit) publishPath(id string) string { return k.base + "/publish/" + id }

func subBody(streamID, sessionID string) string {
	b, _ := json.Marshal(map[string]string{"streamId": streamID, "sessionId": sessionID})
	return string(b)
}

// call sends a request, checks what every pub/sub response carries and
// that the status is want, and returns the response and its body.
func (k *psKit) call(want int, method, path string, h H, body string) (*http.Response, []byte) {
	k.t.Helper()
	resp, b := k.e.do(method, path, h, body)
	if resp.StatusCode != want {
		k.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, want, b)
	}
	psCheck(k.t, method, path, resp, b)
	return resp, b
}

// callErr expects an error with the given status and code whose message
// contains every string in contains.
func (k *psKit) callErr(want int, code, method, path string, h H, body string, contains ...string) string {
	k.t.Helper()
	_, b := k.call(want, method, path, h, body)
	var eb errorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error == nil {
		k.t.Fatalf("%s %s: error body %s is not {\"error\":{…}}", method, path, b)
	}
	if eb.Error.Code != code {
		k.t.Errorf("%s %s: error code %q, want %q (message %q)", method, path, eb.Error.Code, code, eb.Error.Message)
	}
	for _, s := range contains {
		if !strings.Contains(eb.Error.Message, s) {
			k.t.Errorf("%s %s: error message %q does not mention %q", method, path, eb.Error.Message, s)
		}
	}
	return eb.Error.Message
}

// psCheck asserts the headers every response carries, the JSON error
// format, and CORS: "*" on the open default project, nothing on a named
// project when the request sent no Origin.
func psCheck(t testing.TB, method, path string, resp *http.Response, body []byte) {
	t.Helper()
	checkResponse(t, method, resp, body, false)
	acao := resp.Header.Get("Access-Control-Allow-Origin")
	if !psNamedProject(path) {
		if acao != "*" {
			t.Errorf("%s %s: Access-Control-Allow-Origin %q, want * on the default project and off the route table", method, path, acao)
		}
	} else if acao != "" {
		t.Errorf("%s %s: Access-Control-Allow-Origin %q without an Origin on a named project", method, path, acao)
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") == "application/json" &&
		!strings.Contains(path, "/stream/") && resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s %s: JSON answer with Cache-Control %q, want no-store", method, path, resp.Header.Get("Cache-Control"))
	}
}

// psNamedProject reports whether path addresses a named project's
// stream or pub/sub route (which get that project's CORS policy).
func psNamedProject(path string) bool {
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		return false
	}
	project, after, ok := strings.Cut(rest, "/")
	if !ok || project == httpapi.DefaultProject || project == "stream" || project == "streams" {
		return false
	}
	return after == "subscribe" || after == "unsubscribe" || after == "streams" ||
		strings.HasPrefix(after, "publish/") || strings.HasPrefix(after, "session/") ||
		strings.HasPrefix(after, "stream/") || strings.HasPrefix(after, "streams/")
}

// object decodes a JSON object and checks its keys are exactly keys.
func object(t testing.TB, body []byte, keys ...string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s is not a JSON object: %v", body, err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	want := slices.Clone(keys)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("JSON keys %v, want exactly %v (body %s)", got, want, body)
	}
	return m
}

func str(t testing.TB, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a JSON string", raw)
	}
	return s
}

func jbool(t testing.TB, raw json.RawMessage) bool {
	t.Helper()
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%s is not a JSON boolean", raw)
	}
	return b
}

func jtime(t testing.TB, raw json.RawMessage) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, str(t, raw))
	if err != nil {
		t.Fatalf("%s is not an RFC 3339 time: %v", raw, err)
	}
	return at
}

// subscribed is a decoded subscribe answer.
type subscribed struct {
	SessionID, StreamID, SessionStreamPath string
	ExpiresAt                              time.Time
	IsNew                                  bool
}

// subscribe subscribes session to stream and checks the answer's shape.
func (k *psKit) subscribe(streamID, sessionID string) subscribed {
	k.t.Helper()
	resp, b := k.call(http.StatusOK, http.MethodPost, k.base+"/subscribe", k.r, subBody(streamID, sessionID))
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		k.t.Errorf("subscribe: Content-Type %q", ct)
	}
	m := object(k.t, b, "sessionId", "streamId", "sessionStreamPath", "expiresAt", "isNewSession")
	s := subscribed{
		SessionID: str(k.t, m["sessionId"]), StreamID: str(k.t, m["streamId"]),
		SessionStreamPath: str(k.t, m["sessionStreamPath"]), ExpiresAt: jtime(k.t, m["expiresAt"]),
		IsNew: jbool(k.t, m["isNewSession"]),
	}
	if s.SessionID != sessionID || s.StreamID != streamID {
		k.t.Errorf("subscribe answered %+v for %s/%s", s, streamID, sessionID)
	}
	if want := k.stream("session:" + sessionID); s.SessionStreamPath != want {
		k.t.Errorf("sessionStreamPath %q, want %q", s.SessionStreamPath, want)
	}
	return s
}

func (k *psKit) unsubscribe(streamID, sessionID string) bool {
	k.t.Helper()
	_, b := k.call(http.StatusOK, http.MethodDelete, k.base+"/unsubscribe", k.w, subBody(streamID, sessionID))
	m := object(k.t, b, "sessionId", "streamId", "unsubscribed")
	if str(k.t, m["sessionId"]) != sessionID || str(k.t, m["streamId"]) != streamID {
		k.t.Errorf("unsubscribe answered %s", b)
	}
	return jbool(k.t, m["unsubscribed"])
}

// sessionInfo is a decoded GET /session answer.
type sessionInfo struct {
	SessionID, SessionStreamPath string
	ExpiresAt                    time.Time
	Subs                         []string
	SubscribedAt                 map[string]time.Time
}

// getSession expects 200 and checks the answer's exact shape.
func (k *psKit) getSession(id string) sessionInfo {
	k.t.Helper()
	_, b := k.call(http.StatusOK, http.MethodGet, k.session(id), k.r, "")
	m := object(k.t, b, "sessionId", "sessionStreamPath", "expiresAt", "subscriptions")
	in := sessionInfo{
		SessionID: str(k.t, m["sessionId"]), SessionStreamPath: str(k.t, m["sessionStreamPath"]),
		ExpiresAt: jtime(k.t, m["expiresAt"]), Subs: []string{}, SubscribedAt: map[string]time.Time{},
	}
	var subs []json.RawMessage
	if err := json.Unmarshal(m["subscriptions"], &subs); err != nil || subs == nil {
		k.t.Fatalf("subscriptions %s is not a JSON array", m["subscriptions"])
	}
	for _, raw := range subs {
		sm := object(k.t, raw, "streamId", "subscribedAt")
		id := str(k.t, sm["streamId"])
		in.Subs = append(in.Subs, id)
		in.SubscribedAt[id] = jtime(k.t, sm["subscribedAt"])
	}
	if in.SessionID != id {
		k.t.Errorf("GET session %s answered sessionId %q", id, in.SessionID)
	}
	if want := k.stream("session:" + id); in.SessionStreamPath != want {
		k.t.Errorf("sessionStreamPath %q, want %q", in.SessionStreamPath, want)
	}
	return in
}

func (k *psKit) sessionMissing(id string) {
	k.t.Helper()
	k.callErr(http.StatusNotFound, "NOT_FOUND", http.MethodGet, k.session(id), k.r, "")
}

// touch expects 200 and returns the new expiry.
func (k *psKit) touch(id string) time.Time {
	k.t.Helper()
	_, b := k.call(http.StatusOK, http.MethodPost, k.session(id)+"/touch", k.r, "")
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		k.t.Fatalf("touch body %s: %v", b, err)
	}
	for key := range m {
		if key != "sessionId" && key != "expiresAt" && key != "sessionStreamPath" {
			k.t.Errorf("touch answered an unexpected field %q: %s", key, b)
		}
	}
	if _, ok := m["expiresAt"]; !ok || str(k.t, m["sessionId"]) != id {
		k.t.Fatalf("touch answered %s, want {sessionId, expiresAt}", b)
	}
	return jtime(k.t, m["expiresAt"])
}

func (k *psKit) deleteSession(id string) bool {
	k.t.Helper()
	_, b := k.call(http.StatusOK, http.MethodDelete, k.session(id), k.w, "")
	m := object(k.t, b, "sessionId", "deleted")
	if str(k.t, m["sessionId"]) != id {
		k.t.Errorf("DELETE session %s answered %s", id, b)
	}
	return jbool(k.t, m["deleted"])
}

// create makes a source stream.
func (k *psKit) create(id, ct, body string) {
	k.t.Helper()
	k.call(http.StatusCreated, http.MethodPut, k.stream(id), merge(H{"Content-Type": ct}, k.w), body)
}

// publish expects 204 and returns the fan-out count and next offset.
func (k *psKit) publish(id, ct, body string) (fanout int, next string) {
	k.t.Helper()
	resp, b := k.call(http.StatusNoContent, http.MethodPost, k.publishPath(id), merge(H{"Content-Type": ct}, k.w), body)
	if len(b) != 0 {
		k.t.Errorf("publish 204 with a body %q", b)
	}
	return fanoutCount(k.t, resp), resp.Header.Get("Stream-Next-Offset")
}

func fanoutCount(t testing.TB, resp *http.Response) int {
	t.Helper()
	v := resp.Header.Get("Stream-Fanout-Count")
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("Stream-Fanout-Count %q is not a number", v)
	}
	return n
}

// read reads a whole stream with the read token.
func (k *psKit) read(id string) string {
	k.t.Helper()
	return k.e.readAllWith(k.stream(id), k.r)
}

func (k *psKit) tail(id string) string {
	k.t.Helper()
	resp, _ := k.call(http.StatusOK, http.MethodHead, k.stream(id), k.r, "")
	return resp.Header.Get("Stream-Next-Offset")
}

func (k *psKit) streamMissing(id string) {
	k.t.Helper()
	resp, b := k.e.do(http.MethodGet, k.stream(id)+"?offset=-1", k.r, "")
	if resp.StatusCode != http.StatusNotFound {
		k.t.Fatalf("GET %s: %d %s, want 404", k.stream(id), resp.StatusCode, b)
	}
}

// ---- the API table, row by row ----

func TestPubSubSubscribe(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", jsonCT, "")
		k.create("lobby", jsonCT, "")

		s := k.subscribe("room", "alice")
		if !s.IsNew {
			t.Errorf("first subscribe: isNewSession false")
		}
		if want := psT0.Add(psTTL); !s.ExpiresAt.Equal(want) {
			t.Errorf("expiresAt %s, want now+TTL %s", s.ExpiresAt, want)
		}
		// The session stream exists, is readable and empty, and has the
		// source's content type.
		resp, _ := k.call(http.StatusOK, http.MethodHead, s.SessionStreamPath, k.r, "")
		if got := resp.Header.Get("Content-Type"); got != jsonCT {
			t.Errorf("session stream Content-Type %q, want %s", got, jsonCT)
		}
		if got := k.read("session:alice"); got != "[]" {
			t.Errorf("new session stream reads %q", got)
		}

		// Idempotent: the same subscription again is not new, and extends.
		k.advance(time.Minute)
		again := k.subscribe("room", "alice")
		if again.IsNew {
			t.Errorf("second subscribe: isNewSession true")
		}
		if want := psT0.Add(time.Minute + psTTL); !again.ExpiresAt.Equal(want) {
			t.Errorf("second subscribe: expiresAt %s, want %s", again.ExpiresAt, want)
		}
		k.subscribe("lobby", "alice")
		in := k.getSession("alice")
		if !reflect.DeepEqual(in.Subs, []string{"lobby", "room"}) {
			t.Errorf("subscriptions %v, want [lobby room]", in.Subs)
		}
		if !in.SubscribedAt["room"].Equal(psT0) || !in.SubscribedAt["lobby"].Equal(psT0.Add(time.Minute)) {
			t.Errorf("subscribedAt %v: resubscribing must keep the first time", in.SubscribedAt)
		}

		// A missing source is 404 and creates no session.
		k.callErr(http.StatusNotFound, "NOT_FOUND", http.MethodPost, k.base+"/subscribe", k.r, subBody("nope", "bob"))
		k.sessionMissing("bob")
		k.streamMissing("session:bob")
		// A session stream cannot be a source.
		k.callErr(http.StatusForbidden, "RESERVED_STREAM", http.MethodPost, k.base+"/subscribe", k.r, subBody("session:alice", "bob"), "reserved")
		k.sessionMissing("bob")

		// Counted.
		if st := k.e.eng.PubSubStats(); st.Subscribes != 3 {
			t.Errorf("PubSubStats.Subscribes = %d, want 3", st.Subscribes)
		}
	})
}

func TestPubSubUnsubscribe(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", textCT, "")
		k.subscribe("room", "alice")
		if n, _ := k.publish("room", textCT, "one"); n != 1 {
			t.Fatalf("fan-out %d, want 1", n)
		}
		if !k.unsubscribe("room", "alice") {
			t.Errorf("unsubscribe of a subscription: unsubscribed false")
		}
		// Idempotent, also for sessions and streams that never existed.
		if k.unsubscribe("room", "alice") {
			t.Errorf("second unsubscribe: unsubscribed true")
		}
		k.unsubscribe("room", "nobody")
		k.unsubscribe("nothing", "alice")
		// Later publishes no longer arrive; the session lives on, empty.
		if n, _ := k.publish("room", textCT, "two"); n != 0 {
			t.Errorf("fan-out after unsubscribe %d, want 0", n)
		}
		if got := k.read("session:alice"); got != "one" {
			t.Errorf("session stream %q, want only what came before the unsubscribe", got)
		}
		if in := k.getSession("alice"); len(in.Subs) != 0 {
			t.Errorf("subscriptions after unsubscribe: %v", in.Subs)
		}
		k.sessionMissing("nobody")
	})
}

func TestPubSubPublish(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", jsonCT, "")
		for _, s := range []string{"alice", "bob", "carol"} {
			k.subscribe("room", s)
		}

		// 204 without producer headers, the source's new tail, the fan-out count.
		n, next := k.publish("room", jsonCT, `{"text":"hello"}`)
		if n != 3 || next != off(1) || k.tail("room") != off(1) {
			t.Errorf("publish: fan-out %d, next %s (tail %s); want 3, %s", n, next, k.tail("room"), off(1))
		}
		for _, s := range []string{"alice", "bob", "carol"} {
			if got := k.read("session:" + s); got != `[{"text":"hello"}]` {
				t.Errorf("session %s reads %s", s, got)
			}
		}

		// 200 with producer headers, echoing them.
		resp, b := k.call(http.StatusOK, http.MethodPost, k.publishPath("room"),
			merge(H{"Content-Type": jsonCT}, producer("pub-1", "0", "0"), k.w), `{"text":"p0"}`)
		if resp.Header.Get("Producer-Epoch") != "0" || resp.Header.Get("Producer-Seq") != "0" ||
			resp.Header.Get("Stream-Next-Offset") != off(2) || fanoutCount(t, resp) != 3 {
			t.Errorf("producer publish: headers %v body %q", resp.Header, b)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("publish Cache-Control %q, want no-store", got)
		}

		// Accept: application/json gets a JSON answer with the count.
		resp, b = k.call(http.StatusOK, http.MethodPost, k.publishPath("room"),
			merge(H{"Content-Type": jsonCT, "Accept": "application/json"}, k.w), `{"text":"j"}`)
		m := object(t, b, "nextOffset", "fanoutCount", "duplicate")
		if str(t, m["nextOffset"]) != off(3) || string(m["fanoutCount"]) != "3" || jbool(t, m["duplicate"]) {
			t.Errorf("JSON publish answer %s", b)
		}
		if resp.Header.Get("Content-Type") != "application/json" || fanoutCount(t, resp) != 3 ||
			resp.Header.Get("Stream-Next-Offset") != off(3) {
			t.Errorf("JSON publish headers %v", resp.Header)
		}

		// 404 for a missing source; nothing is created.
		k.callErr(http.StatusNotFound, "NOT_FOUND", http.MethodPost, k.publishPath("nope"), merge(H{"Content-Type": jsonCT}, k.w), `{}`)
		k.streamMissing("nope")
		// 409 for another content type; nothing is appended or fanned out.
		k.callErr(http.StatusConflict, "CONTENT_TYPE_MISMATCH", http.MethodPost, k.publishPath("room"), merge(H{"Content-Type": textCT}, k.w), "plain")
		// 400 for a JSON body that does not parse; nothing is fanned out.
		k.callErr(http.StatusBadRequest, "BAD_REQUEST", http.MethodPost, k.publishPath("room"), merge(H{"Content-Type": jsonCT}, k.w), `{"text":`)
		// Publish never closes the source.
		k.call(http.StatusBadRequest, http.MethodPost, k.publishPath("room"), merge(H{"Content-Type": jsonCT, "Stream-Closed": "true"}, k.w), `{"x":1}`)
		// A session stream is not a source.
		k.callErr(http.StatusForbidden, "RESERVED_STREAM", http.MethodPost, k.publishPath("session:alice"), merge(H{"Content-Type": jsonCT}, k.w), `{}`)

		want := `[{"text":"hello"},{"text":"p0"},{"text":"j"}]`
		if got := k.read("room"); got != want {
			t.Errorf("source reads %s, want %s", got, want)
		}
		for _, s := range []string{"alice", "bob", "carol"} {
			if got := k.read("session:" + s); got != want {
				t.Errorf("session %s reads %s, want %s", s, got, want)
			}
		}

		// A closed source refuses publishes with 409 STREAM_CLOSED.
		k.call(http.StatusNoContent, http.MethodPost, k.stream("room"), merge(H{"Stream-Closed": "true"}, k.w), "")
		k.callErr(http.StatusConflict, "STREAM_CLOSED", http.MethodPost, k.publishPath("room"), merge(H{"Content-Type": jsonCT}, k.w), `{"late":1}`)
		for _, s := range []string{"alice", "bob", "carol"} {
			if got := k.read("session:" + s); got != want {
				t.Errorf("after the refused publishes, session %s reads %s", s, got)
			}
		}

		st := k.e.eng.PubSubStats()
		if st.Publishes != 3 || st.FanoutDeliveries != 9 {
			t.Errorf("PubSubStats %+v, want 3 publishes and 9 deliveries", st)
		}
	})
}

func TestPubSubGetSession(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("b-room", textCT, "")
		k.create("a-room", textCT, "")
		k.subscribe("b-room", "alice")
		k.advance(time.Second)
		k.subscribe("a-room", "alice")
		in := k.getSession("alice")
		if !reflect.DeepEqual(in.Subs, []string{"a-room", "b-room"}) {
			t.Errorf("subscriptions %v, want [a-room b-room]", in.Subs)
		}
		if !in.SubscribedAt["b-room"].Equal(psT0) || !in.SubscribedAt["a-room"].Equal(psT0.Add(time.Second)) {
			t.Errorf("subscribedAt %v", in.SubscribedAt)
		}
		if want := psT0.Add(time.Second + psTTL); !in.ExpiresAt.Equal(want) {
			t.Errorf("expiresAt %s, want %s", in.ExpiresAt, want)
		}
		// Reading it does not extend it.
		k.advance(time.Minute)
		if again := k.getSession("alice"); !again.ExpiresAt.Equal(in.ExpiresAt) {
			t.Errorf("GET session moved expiresAt from %s to %s", in.ExpiresAt, again.ExpiresAt)
		}
		k.sessionMissing("bob")
		k.streamMissing("session:bob") // GET does not create
	})
}

func TestPubSubTouch(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", textCT, "")
		s := k.subscribe("room", "alice")

		k.advance(3 * time.Minute)
		exp := k.touch("alice")
		if !exp.After(s.ExpiresAt) || !exp.Equal(psT0.Add(3*time.Minute+psTTL)) {
			t.Errorf("touch: expiresAt %s, want later than %s (now+TTL %s)", exp, s.ExpiresAt, psT0.Add(3*time.Minute+psTTL))
		}
		if in := k.getSession("alice"); !in.ExpiresAt.Equal(exp) || !reflect.DeepEqual(in.Subs, []string{"room"}) {
			t.Errorf("after touch GET session: %+v", in)
		}

		// Touch of an unknown session creates it, with an empty stream.
		k.touch("bob")
		in := k.getSession("bob")
		if len(in.Subs) != 0 || !in.ExpiresAt.Equal(psT0.Add(3*time.Minute+psTTL)) {
			t.Errorf("touch-created session: %+v", in)
		}
		k.call(http.StatusOK, http.MethodHead, k.stream("session:bob"), k.r, "")
		// Its first subscription gives its stream the source's type.
		s = k.subscribe("room", "bob")
		resp, _ := k.call(http.StatusOK, http.MethodHead, k.stream("session:bob"), k.r, "")
		if ct := resp.Header.Get("Content-Type"); ct != textCT {
			t.Errorf("touch-created session subscribed to a text stream: Content-Type %q", ct)
		}
		if n, _ := k.publish("room", textCT, "hi"); n != 2 {
			t.Errorf("fan-out %d, want 2", n)
		}
		if got := k.read("session:bob"); got != "hi" {
			t.Errorf("session bob reads %q", got)
		}
	})
}

func TestPubSubDeleteSession(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", textCT, "")
		k.create("lobby", textCT, "")
		k.subscribe("room", "alice")
		k.subscribe("lobby", "alice")
		k.subscribe("room", "bob")
		k.publish("room", textCT, "x")

		if !k.deleteSession("alice") {
			t.Errorf("DELETE of a live session: deleted false")
		}
		k.sessionMissing("alice")
		k.streamMissing("session:alice")
		// Idempotent.
		if k.deleteSession("alice") {
			t.Errorf("second DELETE: deleted true")
		}
		k.deleteSession("never")
		// Its subscriptions went with it; bob's stayed.
		if n, _ := k.publish("room", textCT, "y"); n != 1 {
			t.Errorf("fan-out after deleting alice %d, want 1 (bob)", n)
		}
		if n, _ := k.publish("lobby", textCT, "z"); n != 0 {
			t.Errorf("fan-out to lobby after deleting alice %d, want 0", n)
		}
		// A new session under the same id starts afresh.
		s := k.subscribe("room", "alice")
		if !s.IsNew {
			t.Errorf("resubscribe after delete: isNewSession false")
		}
		if got := k.read("session:alice"); got != "" {
			t.Errorf("re-created session stream reads %q, want empty", got)
		}
		if in := k.getSession("alice"); !reflect.DeepEqual(in.Subs, []string{"room"}) {
			t.Errorf("re-created session subscriptions %v", in.Subs)
		}
		// The sources are untouched.
		if k.read("room") != "xy" || k.read("lobby") != "z" {
			t.Errorf("sources read %q %q", k.read("room"), k.read("lobby"))
		}
	})
}

// ---- ids ----

func TestPubSubIDValidation(t *testing.T) {
	long := strings.Repeat("a", 300)
	longest := strings.Repeat("a", 256)
	k := newPS(t, "p", withStoreRegistry())
	k.create("room", textCT, "")
	k.create(longest, textCT, "")

	for _, tc := range []struct {
		name, body, field string
	}{
		{"missing streamId", `{"sessionId":"alice"}`, "streamId"},
		{"missing sessionId", `{"streamId":"room"}`, "sessionId"},
		{"empty streamId", `{"streamId":"","sessionId":"alice"}`, "streamId"},
		{"empty sessionId", `{"streamId":"room","sessionId":""}`, "sessionId"},
		{"null sessionId", `{"streamId":"room","sessionId":null}`, "sessionId"},
		{"spaces in streamId", `{"streamId":"my room","sessionId":"alice"}`, "streamId"},
		{"spaces in sessionId", `{"streamId":"room","sessionId":"al ice"}`, "sessionId"},
		{"slash in sessionId", `{"streamId":"room","sessionId":"a/b"}`, "sessionId"},
		{"300-char streamId", subBody(long, "alice"), "streamId"},
		{"300-char sessionId", subBody("room", long), "sessionId"},
		{"number sessionId", `{"streamId":"room","sessionId":5}`, "sessionId"},
		{"malformed JSON", `{"streamId":"room",`, "JSON"},
		{"not an object", `["room","alice"]`, "JSON"},
		{"empty body", ``, "JSON"},
	} {
		outer := t
		t.Run(tc.name, func(t *testing.T) {
			k.t = t
			defer func() { k.t = outer }()
			k.callErr(http.StatusBadRequest, "BAD_REQUEST", http.MethodPost, k.base+"/subscribe", k.r, tc.body, tc.field)
			k.callErr(http.StatusBadRequest, "BAD_REQUEST", http.MethodDelete, k.base+"/unsubscribe", k.w, tc.body, tc.field)
		})
	}
	k.t = t
	// Nothing was created by the refused requests.
	for _, id := range []string{"alice", "al ice", long} {
		if resp, _ := k.e.do(http.MethodGet, k.session(url.PathEscape(id)), k.r, ""); resp.StatusCode == http.StatusOK {
			t.Errorf("a refused subscribe created session %.20q", id)
		}
	}

	// Path ids: session routes name sessionId, publish names streamId.
	for _, id := range []string{"al%20ice", long, "a%2Fb", "%C3%A9t%C3%A9"} {
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, k.session(id)},
			{http.MethodPost, k.session(id) + "/touch"},
			{http.MethodDelete, k.session(id)},
		} {
			h := k.w
			k.callErr(http.StatusBadRequest, "BAD_REQUEST", r.method, r.path, h, "", "sessionId")
		}
		k.callErr(http.StatusBadRequest, "BAD_REQUEST", http.MethodPost, k.publishPath(id), merge(H{"Content-Type": textCT}, k.w), "x", "streamId")
	}
	// The longest valid ids work.
	k.subscribe(longest, longest)
	if n, _ := k.publish(longest, textCT, "x"); n != 1 {
		t.Errorf("fan-out to a 256-char session %d", n)
	}
	k.getSession(longest)
	k.touch(longest)
	if !k.deleteSession(longest) {
		t.Errorf("DELETE of the 256-char session: deleted false")
	}
	// Every character of the documented set works.
	odd := "Az09_-:.x"
	k.subscribe("room", odd)
	k.getSession(odd)
}

// ---- scopes ----

func TestPubSubScopes(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", textCT, "")
		k.subscribe("room", "alice")
		k.e.project("q")
		read, write, manage := k.r, k.w, k.e.auth("p", token.ScopeManage)
		other := k.e.auth("q", token.ScopeWrite)
		pp, err := k.e.reg.Project(context.Background(), "p")
		if err != nil {
			t.Fatal(err)
		}
		wrongSub := bearer(k.e.mint(pp.Secrets[0].Value, "q", token.ScopeWrite, ""))
		restricted := bearer(k.e.token("p", token.ScopeWrite, "room"))

		type req struct {
			name, method, path, ct, body string
			write                        bool // needs write scope
		}
		reqs := []req{
			{"subscribe", http.MethodPost, k.base + "/subscribe", jsonCT, subBody("room", "bob"), false},
			{"get session", http.MethodGet, k.session("alice"), "", "", false},
			{"touch", http.MethodPost, k.session("alice") + "/touch", "", "", false},
			{"publish", http.MethodPost, k.publishPath("room"), textCT, "m", true},
			{"unsubscribe", http.MethodDelete, k.base + "/unsubscribe", jsonCT, subBody("room", "bob"), true},
			{"delete session", http.MethodDelete, k.session("bob"), "", "", true},
		}
		hdr := func(r req, auth H) H { return merge(H{"Content-Type": r.ct}, auth) }
		for _, r := range reqs {
			// No token: 401 on a named project, for every route.
			k.callErr(http.StatusUnauthorized, "UNAUTHORIZED", r.method, r.path, hdr(r, nil), r.body)
			// Another project's token does not verify: 401. One signed
			// with this project's key for another subject: 403.
			k.callErr(http.StatusUnauthorized, "UNAUTHORIZED", r.method, r.path, hdr(r, other), r.body)
			k.callErr(http.StatusForbidden, "FORBIDDEN", r.method, r.path, hdr(r, wrongSub), r.body)
			// A garbage token: 401.
			k.callErr(http.StatusUnauthorized, "UNAUTHORIZED", r.method, r.path, hdr(r, bearer("not.a.jwt")), r.body)
		}
		// A stream-restricted token does not reach sessions.
		for _, r := range reqs {
			if r.name == "publish" {
				continue
			}
			k.callErr(http.StatusForbidden, "FORBIDDEN", r.method, r.path, hdr(r, restricted), r.body)
		}
		k.sessionMissing("bob")
		if got := k.read("room"); got != "" {
			t.Fatalf("refused requests wrote %q", got)
		}

		// Read scope: subscribe, get and touch yes; publish, unsubscribe
		// and delete no (403, nothing changes).
		for _, r := range reqs {
			if r.write {
				k.callErr(http.StatusForbidden, "FORBIDDEN", r.method, r.path, hdr(r, read), r.body, "write")
			} else {
				k.call(http.StatusOK, r.method, r.path, hdr(r, read), r.body)
			}
		}
		if got := k.getSession("bob"); !reflect.DeepEqual(got.Subs, []string{"room"}) {
			t.Errorf("bob after read-scope requests: %v", got.Subs)
		}
		if got := k.read("room"); got != "" {
			t.Errorf("read-scope publish wrote %q", got)
		}
		// Write and manage scopes may do everything.
		for _, auth := range []H{write, manage} {
			for _, r := range reqs {
				want := http.StatusOK
				if r.name == "publish" {
					want = http.StatusNoContent
				}
				k.call(want, r.method, r.path, hdr(r, auth), r.body)
			}
		}
		// A token restricted to the source stream may publish to it.
		if resp, _ := k.call(http.StatusNoContent, http.MethodPost, k.publishPath("room"), merge(H{"Content-Type": textCT}, restricted), "r"); fanoutCount(t, resp) != 1 {
			t.Errorf("restricted publish fan-out %s", resp.Header.Get("Stream-Fanout-Count"))
		}
		k.create("hall", textCT, "")
		k.callErr(http.StatusForbidden, "FORBIDDEN", http.MethodPost, k.publishPath("hall"), merge(H{"Content-Type": textCT}, restricted), "r")
	})
}

// TestPubSubDefaultProject: the default project's pub/sub routes are
// /v1/default/…, open without --auth, and its session streams are read
// at /v1/default/stream/session:<id> and at the bare /v1/stream/session:<id>.
func TestPubSubDefaultProject(t *testing.T) {
	k := newPS(t, httpapi.DefaultProject, withStoreRegistry())
	k.create("room", jsonCT, "")
	s := k.subscribe("room", "alice")
	if s.SessionStreamPath != "/v1/default/stream/session:alice" {
		t.Errorf("sessionStreamPath %q", s.SessionStreamPath)
	}
	// An Authorization header is ignored on the open default project.
	k.call(http.StatusNoContent, http.MethodPost, k.publishPath("room"), H{"Content-Type": jsonCT, "Authorization": "Bearer whatever"}, `{"n":1}`)
	for _, p := range []string{"/v1/default/stream/session:alice", "/v1/stream/session:alice"} {
		if got := k.e.readAll(p); got != `[{"n":1}]` {
			t.Errorf("%s reads %s", p, got)
		}
	}
	// The bare layout has no pub/sub routes: /v1/subscribe is not /v1/default/subscribe.
	k.callErr(http.StatusNotFound, "NOT_FOUND", http.MethodPost, "/v1/subscribe", H{"Content-Type": jsonCT}, subBody("room", "bob"))
	k.callErr(http.StatusNotFound, "NOT_FOUND", http.MethodPost, "/v1/publish/room", H{"Content-Type": jsonCT}, `{}`)
	k.sessionMissing("bob")

	// With --auth the default project needs tokens on pub/sub routes too.
	ka := newPS(t, httpapi.DefaultProject, withStoreRegistry(), withAuthDefault())
	ka.e.project(httpapi.DefaultProject)
	ka.callErr(http.StatusUnauthorized, "UNAUTHORIZED", http.MethodPost, ka.base+"/subscribe", H{"Content-Type": jsonCT}, subBody("room", "bob"))
	ka.w = ka.e.auth(httpapi.DefaultProject, token.ScopeWrite)
	ka.r = ka.e.auth(httpapi.DefaultProject, token.ScopeRead)
	ka.create("room", jsonCT, "")
	ka.subscribe("room", "bob")
	ka.callErr(http.StatusForbidden, "FORBIDDEN", http.MethodPost, ka.publishPath("room"), merge(H{"Content-Type": jsonCT}, ka.r), `{}`)
}

// ---- session streams are reserved ----

func TestPubSubReservedSessionStreams(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", textCT, "")
		k.subscribe("room", "alice")
		k.publish("room", textCT, "hello")
		alice := k.stream("session:alice")
		ct := H{"Content-Type": textCT}

		for _, r := range []struct {
			name, method, path string
			h                  H
			body               string
		}{
			{"PUT existing", http.MethodPut, alice, ct, ""},
			{"PUT new", http.MethodPut, k.stream("session:mallory"), ct, "x"},
			{"PUT new, default project", http.MethodPut, "/v1/stream/session:mallory", ct, ""},
			{"POST", http.MethodPost, alice, ct, "injected"},
			{"POST producer", http.MethodPost, alice, merge(ct, producer("x", "0", "0")), "injected"},
			{"POST close", http.MethodPost, alice, H{"Stream-Closed": "true"}, ""},
			{"DELETE", http.MethodDelete, alice, nil, ""},
			{"fork", http.MethodPut, k.stream("copy"), merge(ct, H{"Stream-Forked-From": alice}), ""},
			{"fork, encoded", http.MethodPut, k.stream("copy"), merge(ct, H{"Stream-Forked-From": k.stream("session%3Aalice")}), ""},
		} {
			outer := k.t
			t.Run(r.name, func(t *testing.T) {
				k.t = t
				defer func() { k.t = outer }()
				auth := k.w
				if strings.HasPrefix(r.path, "/v1/stream/") {
					auth = nil
				}
				k.callErr(http.StatusForbidden, "RESERVED_STREAM", r.method, r.path, merge(r.h, auth), r.body, "session:", "reserved")
			})
		}
		k.t = t
		// Nothing changed.
		if got := k.read("session:alice"); got != "hello" {
			t.Errorf("session stream reads %q after refused writes", got)
		}
		k.streamMissing("session:mallory")
		k.e.must(http.StatusNotFound, http.MethodHead, "/v1/stream/session:mallory", nil, "")
		k.streamMissing("copy")
		k.getSession("alice")

		// Reads: HEAD, catch-up GET, long-poll and SSE.
		resp, _ := k.call(http.StatusOK, http.MethodHead, alice, k.r, "")
		if resp.Header.Get("Stream-Next-Offset") != off(5) {
			t.Errorf("HEAD session stream: next %s", resp.Header.Get("Stream-Next-Offset"))
		}
		type result struct {
			status int
			body   string
			err    error
		}
		done := make(chan result, 1)
		go func() {
			req := k.e.newRequest(context.Background(), http.MethodGet, alice+"?offset="+off(5)+"&live=long-poll", k.r, "")
			resp, err := k.e.client.Do(req)
			if err != nil {
				done <- result{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- result{status: resp.StatusCode, body: string(b)}
		}()
		waitForWaiters(t, 1)
		k.publish("room", textCT, " world")
		select {
		case r := <-done:
			if r.err != nil || r.status != http.StatusOK || r.body != " world" {
				t.Errorf("long-poll on the session stream: %d %q %v", r.status, r.body, r.err)
			}
		case <-time.After(hangGuard):
			t.Fatal("long-poll on the session stream was not woken by a publish")
		}
	})
}

// TestPubSubSessionStreamSSE: the seed README's way of reading a session,
// SSE on the session stream, sees each publish as a data event.
func TestPubSubSessionStreamSSE(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, httpapi.DefaultProject, opts...)
		k.create("chat-room-1", jsonCT, "")
		k.subscribe("chat-room-1", "user-alice")
		k.publish("chat-room-1", jsonCT, `{"text":"hello world"}`)
		sse := k.e.openSSE(t, "/v1/default/stream/session:user-alice?offset="+off(0)+"&live=sse")
		if ev := sse.nextData(); ev.data() != `[{"text":"hello world"}]` {
			t.Errorf("first data event %q", ev.data())
		}
		k.publish("chat-room-1", jsonCT, `[{"text":"a"},{"text":"b"}]`)
		if ev := sse.nextData(); ev.data() != `[{"text":"a"},{"text":"b"}]` {
			t.Errorf("live data event %q", ev.data())
		}
	})
}

// ---- content types ----

func TestPubSubContentTypes(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("json", jsonCT, "")
		k.create("json2", "application/json; charset=utf-8", "")
		k.create("text", textCT, "")

		// A JSON source fans out JSON messages, one per array element.
		k.subscribe("json", "j")
		k.subscribe("json2", "j")
		k.publish("json", jsonCT, `[{"a":1},{"a":2},{"a":3}]`)
		k.publish("json", jsonCT, `{"a":4}`)
		if got := k.read("session:j"); got != `[{"a":1},{"a":2},{"a":3},{"a":4}]` {
			t.Errorf("JSON session stream reads %s", got)
		}
		if got := k.tail("session:j"); got != off(4) {
			t.Errorf("JSON session stream tail %s, want four messages (%s)", got, off(4))
		}
		// Its messages are separate: reading from the second one works.
		resp, b := k.call(http.StatusOK, http.MethodGet, k.stream("session:j")+"?offset="+off(2), k.r, "")
		if string(b) != `[{"a":3},{"a":4}]` || resp.Header.Get("Content-Type") != jsonCT {
			t.Errorf("JSON session stream from message 2: %s (%s)", b, resp.Header.Get("Content-Type"))
		}

		// A text source fans out bytes into a text session stream.
		k.subscribe("text", "t")
		k.publish("text", textCT, "ab")
		k.publish("text", textCT, "cd")
		resp, _ = k.call(http.StatusOK, http.MethodHead, k.stream("session:t"), k.r, "")
		if resp.Header.Get("Content-Type") != textCT || resp.Header.Get("Stream-Next-Offset") != off(4) {
			t.Errorf("text session stream: %s at %s", resp.Header.Get("Content-Type"), resp.Header.Get("Stream-Next-Offset"))
		}
		if got := k.read("session:t"); got != "abcd" {
			t.Errorf("text session stream reads %q", got)
		}

		// Publishes larger than the engine's recent-message buffer (64
		// messages, 64 KiB) are fanned out whole.
		var arr []string
		for i := 0; i < 200; i++ {
			arr = append(arr, fmt.Sprintf(`{"a":%d}`, 100+i))
		}
		k.publish("json", jsonCT, "["+strings.Join(arr, ",")+"]")
		if got := k.tail("session:j"); got != off(204) {
			t.Errorf("after a 200-message publish the JSON session stream tail is %s, want %s", got, off(204))
		}
		if got, want := k.read("session:j"), k.read("json"); got != want {
			t.Errorf("JSON session stream differs from its source after a 200-message publish")
		}
		big := strings.Repeat("0123456789", 10_000)
		k.publish("text", textCT, big)
		if got := k.read("session:t"); got != "abcd"+big {
			t.Errorf("text session stream after a 100 KB publish: %d bytes, want %d", len(got), 4+len(big))
		}
		k.publish("text", textCT, "ef")
		big = "abcd" + big + "ef"
		if got := k.read("session:t"); got != big {
			t.Errorf("text session stream: %d bytes, want %d", len(got), len(big))
		}

		// A session of one type cannot subscribe to a stream of another: 409.
		k.callErr(http.StatusConflict, "CONTENT_TYPE_MISMATCH", http.MethodPost, k.base+"/subscribe", k.r, subBody("json", "t"), "text/plain", "application/json")
		k.callErr(http.StatusConflict, "CONTENT_TYPE_MISMATCH", http.MethodPost, k.base+"/subscribe", k.r, subBody("text", "j"))
		if in := k.getSession("t"); !reflect.DeepEqual(in.Subs, []string{"text"}) {
			t.Errorf("after the refused subscribe, t is subscribed to %v", in.Subs)
		}
		if n, _ := k.publish("json", jsonCT, `{"a":5}`); n != 1 {
			t.Errorf("fan-out %d: the refused subscription must not receive", n)
		}
		if got := k.read("session:t"); got != big {
			t.Errorf("text session stream changed (%d bytes) after a JSON publish", len(got))
		}
		// Even with no subscription left, a session with data keeps its type.
		k.unsubscribe("text", "t")
		k.call(http.StatusConflict, http.MethodPost, k.base+"/subscribe", k.r, subBody("json", "t"))
	})
}

// ---- source deletion ----

func TestPubSubSourceDeleteDropsSubscriptions(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("s1", textCT, "")
		k.create("s2", textCT, "")
		k.subscribe("s1", "alice")
		k.subscribe("s2", "alice")
		k.publish("s1", textCT, "a")

		k.call(http.StatusNoContent, http.MethodDelete, k.stream("s1"), k.w, "")
		if in := k.getSession("alice"); !reflect.DeepEqual(in.Subs, []string{"s2"}) {
			t.Errorf("after deleting s1, subscriptions %v, want [s2]", in.Subs)
		}
		// A stream re-created under that name has no subscribers.
		k.create("s1", textCT, "")
		if n, _ := k.publish("s1", textCT, "b"); n != 0 {
			t.Errorf("fan-out from the re-created s1: %d, want 0", n)
		}
		// What was delivered stays in the session.
		if got := k.read("session:alice"); got != "a" {
			t.Errorf("session reads %q", got)
		}
		if k.e.cfg.sqlite {
			k.e.restart()
			if in := k.getSession("alice"); !reflect.DeepEqual(in.Subs, []string{"s2"}) {
				t.Errorf("after restart, subscriptions %v, want [s2]", in.Subs)
			}
		}

		// A source kept (soft-deleted) for a fork keeps its subscription
		// until the fork goes too; then it is dropped.
		k.create("s3", textCT, "")
		k.subscribe("s3", "alice")
		k.call(http.StatusCreated, http.MethodPut, k.stream("f3"), merge(H{"Content-Type": textCT, "Stream-Forked-From": k.stream("s3")}, k.w), "")
		k.call(http.StatusNoContent, http.MethodDelete, k.stream("s3"), k.w, "")
		k.call(http.StatusGone, http.MethodPost, k.publishPath("s3"), merge(H{"Content-Type": textCT}, k.w), "x")
		k.call(http.StatusNoContent, http.MethodDelete, k.stream("f3"), k.w, "")
		if in := k.getSession("alice"); !reflect.DeepEqual(in.Subs, []string{"s2"}) {
			t.Errorf("after the soft-deleted s3 went, subscriptions %v, want [s2]", in.Subs)
		}
	})
}

// ---- expiry ----

// TestPubSubSessionExpiry: a session 404s once its TTL has passed without a
// subscribe or touch, its stream goes with it, and reading the session
// stream (catch-up, HEAD, long-poll, GET /session) does not extend it.
func TestPubSubSessionExpiry(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", textCT, "")
		k.subscribe("room", "alice")
		k.publish("room", textCT, "m1")

		k.advance(psTTL - time.Second)
		k.read("session:alice")
		k.tail("session:alice")
		k.call(http.StatusNoContent, http.MethodGet, k.stream("session:alice")+"?offset="+off(2)+"&live=long-poll", k.r, "")
		k.getSession("alice")
		if k.e.cfg.sqlite {
			k.e.restart() // the expiry is on disk, not reset by a restart
		}
		k.advance(time.Second)
		k.sessionMissing("alice")
		k.streamMissing("session:alice")
		if n, _ := k.publish("room", textCT, "m2"); n != 0 {
			t.Errorf("fan-out to an expired session %d", n)
		}
		if st := k.e.eng.PubSubStats(); st.SessionsExpired != 1 {
			t.Errorf("PubSubStats.SessionsExpired = %d, want 1", st.SessionsExpired)
		}
		// The id can be used again: a new session, with only new messages.
		if s := k.subscribe("room", "alice"); !s.IsNew {
			t.Errorf("subscribe after expiry: isNewSession false")
		}
		k.publish("room", textCT, "m3")
		if got := k.read("session:alice"); got != "m3" {
			t.Errorf("new session reads %q, want m3", got)
		}
		if k.read("room") != "m1m2m3" {
			t.Errorf("source reads %q", k.read("room"))
		}
	})
}

// TestPubSubReaperExpiresSessions: with the real clock and a short TTL,
// the background reaper removes an expired session without any request
// touching it.
func TestPubSubReaperExpiresSessions(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPSRealClock(t, "p", append(opts, withSessionTTL(300*time.Millisecond))...)
		k.create("room", textCT, "")
		k.subscribe("room", "alice")
		deadline := time.Now().Add(hangGuard)
		for k.e.eng.PubSubStats().SessionsExpired == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the reaper never expired the session")
			}
			time.Sleep(20 * time.Millisecond)
		}
		k.sessionMissing("alice")
		k.streamMissing("session:alice")
		if n, _ := k.publish("room", textCT, "x"); n != 0 {
			t.Errorf("fan-out after reaping %d", n)
		}
	})
}

// ---- persistence ----

// TestPubSubRestart: sessions, subscriptions and each subscription's
// delivered position survive a restart.
func TestPubSubRestart(t *testing.T) {
	k := newPS(t, "p", withStoreRegistry())
	k.create("room", jsonCT, "")
	k.subscribe("room", "alice")
	k.publish("room", jsonCT, `{"n":0}`)
	k.subscribe("room", "bob")
	before := k.getSession("alice")
	k.e.restart()
	after := k.getSession("alice")
	if !reflect.DeepEqual(before, after) {
		t.Errorf("session after restart %+v, want %+v", after, before)
	}
	if n, _ := k.publish("room", jsonCT, `{"n":1}`); n != 2 {
		t.Errorf("fan-out after restart %d, want 2", n)
	}
	if got := k.read("session:alice"); got != `[{"n":0},{"n":1}]` {
		t.Errorf("alice reads %s", got)
	}
	if got := k.read("session:bob"); got != `[{"n":1}]` {
		t.Errorf("bob reads %s", got)
	}
}

// ---- regressions: the seed's pub/sub bugs (§7) ----

// TestRegression_PubSubTouchExtendsExpiry: the seed's touch re-PUT the
// session stream with a new expiry, got 409, counted it as success, and
// never extended anything (§7.2 "Touch does not extend the expiry"; §2.3).
func TestRegression_PubSubTouchExtendsExpiry(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", textCT, "")
		s := k.subscribe("room", "alice")

		k.advance(psTTL - time.Minute)
		exp := k.touch("alice")
		if !exp.After(s.ExpiresAt) {
			t.Fatalf("touch answered expiresAt %s, not later than %s", exp, s.ExpiresAt)
		}
		if k.e.cfg.sqlite {
			k.e.restart() // the extension is on disk
		}
		// Past the original expiry: still alive, readable and receiving.
		k.advance(2 * time.Minute)
		if in := k.getSession("alice"); !in.ExpiresAt.Equal(exp) {
			t.Errorf("GET session expiresAt %s, want the touched %s", in.ExpiresAt, exp)
		}
		if n, _ := k.publish("room", textCT, "still here"); n != 1 {
			t.Errorf("fan-out past the original expiry %d, want 1", n)
		}
		if got := k.read("session:alice"); got != "still here" {
			t.Errorf("session reads %q", got)
		}
		// And it does end at the touched expiry.
		k.clock.Set(exp)
		k.sessionMissing("alice")
		k.streamMissing("session:alice")
	})
}

// TestRegression_PubSubLateSubscriberGetsOnlyLaterMessages: the seed's
// shared fan-out producer sequence made every fan-out to a session that
// subscribed after the first publish fail with 400 (§7.2 "A fan-out
// sequence shared by all subscribers…").
func TestRegression_PubSubLateSubscriberGetsOnlyLaterMessages(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", jsonCT, "")
		k.subscribe("room", "alice")
		k.publish("room", jsonCT, `{"m":1}`)
		k.publish("room", jsonCT, `{"m":2}`)
		k.subscribe("room", "bob")
		if n, _ := k.publish("room", jsonCT, `{"m":3}`); n != 2 {
			t.Errorf("fan-out %d, want 2", n)
		}
		// A plain POST to the source is not fanned out, and a session
		// that joins after it does not get it either.
		k.call(http.StatusNoContent, http.MethodPost, k.stream("room"), merge(H{"Content-Type": jsonCT}, k.w), `{"m":"direct"}`)
		k.subscribe("room", "carol")
		if n, _ := k.publish("room", jsonCT, `{"m":4}`); n != 3 {
			t.Errorf("fan-out %d, want 3", n)
		}
		for who, want := range map[string]string{
			"alice": `[{"m":1},{"m":2},{"m":3},{"m":4}]`,
			"bob":   `[{"m":3},{"m":4}]`,
			"carol": `[{"m":4}]`,
		} {
			if got := k.read("session:" + who); got != want {
				t.Errorf("%s reads %s, want %s", who, got, want)
			}
		}
	})
}

// TestRegression_PubSubResubscribeHasNoGap: in the seed, a session that
// unsubscribed and came back got 409 (producer seq gap) on every later
// fan-out (§7.2). Here it simply receives what is published after it
// resubscribes, and nothing from while it was away.
func TestRegression_PubSubResubscribeHasNoGap(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", textCT, "")
		k.subscribe("room", "alice")
		k.subscribe("room", "bob")
		k.publish("room", textCT, "1")
		k.unsubscribe("room", "alice")
		if n, _ := k.publish("room", textCT, "2"); n != 1 {
			t.Errorf("fan-out while alice is away %d, want 1", n)
		}
		k.subscribe("room", "alice")
		if n, _ := k.publish("room", textCT, "3"); n != 2 {
			t.Errorf("fan-out after resubscribe %d, want 2", n)
		}
		// Twice more round, with a restart in between on SQLite.
		k.unsubscribe("room", "alice")
		k.publish("room", textCT, "4")
		if k.e.cfg.sqlite {
			k.e.restart()
		}
		k.subscribe("room", "alice")
		k.publish("room", textCT, "5")
		if got := k.read("session:alice"); got != "135" {
			t.Errorf("alice reads %q, want 135", got)
		}
		if got := k.read("session:bob"); got != "12345" {
			t.Errorf("bob reads %q, want 12345", got)
		}
	})
}

// TestRegression_PubSubRetriedPublishIsOneCopy: a publish retried with the
// same Producer-* headers writes one copy to the source (§5.2 #27) and,
// unlike the seed, one to each session (§7.2: the fan-out had its own,
// broken, deduplication). The retry answers 204 with Stream-Fanout-Count 0
// and the original offset, also after a restart, and also to a session
// that subscribed between the two.
func TestRegression_PubSubRetriedPublishIsOneCopy(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", jsonCT, "")
		k.subscribe("room", "alice")
		k.subscribe("room", "bob")
		h := merge(H{"Content-Type": jsonCT}, producer("pub", "0", "0"), k.w)
		resp, _ := k.call(http.StatusOK, http.MethodPost, k.publishPath("room"), h, `{"once":true}`)
		first := resp.Header.Get("Stream-Next-Offset")
		if fanoutCount(t, resp) != 2 {
			t.Errorf("first publish fan-out %d", fanoutCount(t, resp))
		}
		k.subscribe("room", "carol")
		retry := func(what string) {
			t.Helper()
			resp, b := k.call(http.StatusNoContent, http.MethodPost, k.publishPath("room"), h, `{"once":true}`)
			if len(b) != 0 || fanoutCount(t, resp) != 0 || resp.Header.Get("Stream-Next-Offset") != first ||
				resp.Header.Get("Producer-Seq") != "0" {
				t.Errorf("%s: fan-out %s, next %s (want %s), Producer-Seq %q, body %q", what,
					resp.Header.Get("Stream-Fanout-Count"), resp.Header.Get("Stream-Next-Offset"), first, resp.Header.Get("Producer-Seq"), b)
			}
			// JSON answer of a duplicate.
			resp, b = k.call(http.StatusOK, http.MethodPost, k.publishPath("room"), merge(h, H{"Accept": "application/json"}), `{"once":true}`)
			m := object(t, b, "nextOffset", "fanoutCount", "duplicate")
			if !jbool(t, m["duplicate"]) || string(m["fanoutCount"]) != "0" || str(t, m["nextOffset"]) != first {
				t.Errorf("%s: JSON answer %s", what, b)
			}
		}
		retry("retry")
		if k.e.cfg.sqlite {
			k.e.restart()
			retry("retry after restart")
		}
		if got := k.read("room"); got != `[{"once":true}]` {
			t.Errorf("source reads %s", got)
		}
		for _, s := range []string{"alice", "bob"} {
			if got := k.read("session:" + s); got != `[{"once":true}]` {
				t.Errorf("%s reads %s", s, got)
			}
		}
		if got := k.read("session:carol"); got != `[]` {
			t.Errorf("carol (joined between the two) reads %s", got)
		}
		// The next seq goes on normally.
		h["Producer-Seq"] = "1"
		resp, _ = k.call(http.StatusOK, http.MethodPost, k.publishPath("room"), h, `{"next":1}`)
		if fanoutCount(t, resp) != 3 {
			t.Errorf("next producer publish fan-out %d, want 3", fanoutCount(t, resp))
		}
		// A gap is refused and fans out nothing.
		h["Producer-Seq"] = "5"
		k.callErr(http.StatusConflict, "PRODUCER_SEQ_GAP", http.MethodPost, k.publishPath("room"), h, `{"gap":1}`)
		if got := k.read("session:carol"); got != `[{"next":1}]` {
			t.Errorf("carol reads %s", got)
		}
	})
}

// TestRegression_PubSubSessionIDNeverTouchesOrdinaryStream: at f8687e4 the
// session routes took any id and a session was the stream <project>/<id>,
// so /session/<name-of-a-stream> read or deleted ordinary streams (§7.1
// lesson 13; §7.2 "Sessions and streams share a namespace"). Lesson 1: a
// session id containing "subscribe" skipped auth.
func TestRegression_PubSubSessionIDNeverTouchesOrdinaryStream(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("victim", textCT, "precious")
		k.create("subscribe", textCT, "also precious")
		for _, id := range []string{"victim", "subscribe"} {
			k.sessionMissing(id)
			if k.deleteSession(id) {
				t.Errorf("DELETE /session/%s: deleted true", id)
			}
			// Unauthenticated attempts are refused, whatever the id says.
			k.callErr(http.StatusUnauthorized, "UNAUTHORIZED", http.MethodDelete, k.session(id), nil, "")
			k.callErr(http.StatusUnauthorized, "UNAUTHORIZED", http.MethodPost, k.session(id)+"/touch", nil, "")
		}
		// Ids that try to climb out of the session namespace.
		for _, id := range []string{"..%2Fstream%2Fvictim", "%2E%2E%2Fstream%2Fvictim", "x%2F..%2F..%2Fstream%2Fvictim", "victim%2Fsubscribe"} {
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				resp, b := k.e.do(m, k.session(id), k.w, "")
				if resp.StatusCode == http.StatusOK {
					t.Errorf("%s %s: 200 %s", m, k.session(id), b)
				}
			}
		}
		// Touch creates a session of that name, in its own namespace.
		k.touch("victim")
		k.getSession("victim")
		if !k.deleteSession("victim") {
			t.Errorf("DELETE of the touched session: deleted false")
		}
		if got := k.read("victim"); got != "precious" {
			t.Fatalf("the ordinary stream reads %q", got)
		}
		if got := k.read("subscribe"); got != "also precious" {
			t.Fatalf("the ordinary stream 'subscribe' reads %q", got)
		}
		resp, _ := k.call(http.StatusOK, http.MethodHead, k.stream("victim"), k.r, "")
		if resp.Header.Get("Content-Type") != textCT {
			t.Errorf("the ordinary stream changed type: %s", resp.Header.Get("Content-Type"))
		}
	})
}

// TestRegression_PubSubTouchNeverDeletesALegacySessionNamedStream: a data
// directory from before pub/sub may hold an ordinary stream whose id
// starts with "session:" (the prefix was not reserved then). No session
// route may delete it.
func TestRegression_PubSubTouchNeverDeletesALegacySessionNamedStream(t *testing.T) {
	k := newPS(t, "p", withStoreRegistry())
	k.e.stop()
	st, err := sqlite.Open(context.Background(), k.e.dir, sqlite.Full)
	if err != nil {
		t.Fatal(err)
	}
	b := &engine.Batch{
		Streams: map[int64]*engine.StreamRecord{1000: {
			ID: 1000, Project: "p", Name: "session:legacy", ContentType: textCT, TTLSeconds: -1,
			CreatedAtMS: psT0.UnixMilli(), LastAccessMS: psT0.UnixMilli(), Tail: 6, MessageCount: 1, ByteSize: 6,
		}},
		Messages: []engine.MessageRecord{{StreamID: 1000, Message: engine.Message{Start: 0, End: 6, BatchEnd: 6, Data: []byte("legacy")}}},
		Sessions: map[engine.SessionKey]*engine.SessionRecord{}, Subscriptions: map[engine.SubscriptionKey]*engine.SubscriptionRecord{},
	}
	if err := st.Commit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	st.Close()
	k.e.start()
	if got := k.read("session:legacy"); got != "legacy" {
		t.Fatalf("legacy stream reads %q", got)
	}
	k.sessionMissing("legacy")
	k.deleteSession("legacy")
	resp, _ := k.e.do(http.MethodPost, k.session("legacy")+"/touch", k.r, "")
	if got := k.read("session:legacy"); got != "legacy" {
		t.Fatalf("after touch (%d) the legacy stream reads %q", resp.StatusCode, got)
	}
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("touch of a session whose stream id is taken: %d, want 409", resp.StatusCode)
	}
}

// TestRegression_PubSubFanoutOrderFollowsSourceOrder: in the seed,
// concurrent publishes interleaved at awaits and each session could see
// another order than the source (§7.2 "Fan-out order can differ from
// source order"). Here every session stream equals the source stream.
func TestRegression_PubSubFanoutOrderFollowsSourceOrder(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		const (
			publishers = 8
			each       = 25
			sessions   = 5
		)
		k := newPS(t, "p", opts...)
		k.create("room", jsonCT, "")
		for i := 0; i < sessions; i++ {
			k.subscribe("room", fmt.Sprintf("s%d", i))
		}
		var wg sync.WaitGroup
		errs := make(chan error, publishers)
		for g := 0; g < publishers; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					body := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
					req := k.e.newRequest(context.Background(), http.MethodPost, k.publishPath("room"), merge(H{"Content-Type": jsonCT}, k.w), body)
					resp, err := k.e.client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Stream-Fanout-Count") != strconv.Itoa(sessions) {
						errs <- fmt.Errorf("publish %s: %d, fan-out %s", body, resp.StatusCode, resp.Header.Get("Stream-Fanout-Count"))
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		src := k.read("room")
		var msgs []struct{ G, I int }
		if err := json.Unmarshal([]byte(src), &msgs); err != nil || len(msgs) != publishers*each {
			t.Fatalf("source has %d messages (%v), want %d", len(msgs), err, publishers*each)
		}
		next := make([]int, publishers)
		for _, m := range msgs {
			if m.I != next[m.G] {
				t.Fatalf("publisher %d's messages out of order in the source", m.G)
			}
			next[m.G]++
		}
		for i := 0; i < sessions; i++ {
			if got := k.read(fmt.Sprintf("session:s%d", i)); got != src {
				t.Errorf("session s%d differs from the source:\n%s\nsource:\n%s", i, got, src)
			}
		}
	})
}

// TestRegression_PubSubUnknownRoutes: routes are matched exactly; anything
// off the table is 404 (or 405 for a known path) and never reaches a
// handler or skips auth (§7.1 lesson 1).
func TestRegression_PubSubUnknownRoutes(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, "p", opts...)
		k.create("room", textCT, "")
		k.subscribe("room", "alice")
		for _, r := range []struct{ method, path string }{
			{http.MethodPost, "/v1/p/subscribe/x"},
			{http.MethodPost, "/v1/p/subscribe/"},
			{http.MethodDelete, "/v1/p/unsubscribe/x"},
			{http.MethodPost, "/v1/p/publish"},
			{http.MethodPost, "/v1/subscribe"},
			{http.MethodDelete, "/v1/unsubscribe"},
			{http.MethodPost, "/v1/publish/room"},
			{http.MethodGet, "/v1/session/alice"},
			{http.MethodDelete, "/v1/session/alice"},
			{http.MethodGet, "/v1/p/session"},
			{http.MethodGet, "/v1/p/sessions/alice"},
			{http.MethodPost, "/v1/p/touch"},
			{http.MethodPost, "/v1/p/subscribex"},
			{http.MethodPost, "/v1/p/x/subscribe"},
			{http.MethodPost, "/v1/p/Subscribe"},
			{http.MethodPost, "/v1/default/subscribe/x"},
			{http.MethodPost, "/subscribe"},
		} {
			for _, auth := range []H{nil, k.w} {
				_, b := k.call(http.StatusNotFound, r.method, r.path, merge(H{"Content-Type": jsonCT}, auth), subBody("room", "bob"))
				if errorCode(b) != "NOT_FOUND" {
					t.Errorf("%s %s: %s", r.method, r.path, b)
				}
			}
		}
		// Known paths with the wrong method: 405 with Allow.
		for _, r := range []struct{ method, path, allow string }{
			{http.MethodGet, "/v1/p/subscribe", "POST"},
			{http.MethodPut, "/v1/p/subscribe", "POST"},
			{http.MethodPost, "/v1/p/unsubscribe", "DELETE"},
			{http.MethodGet, "/v1/p/publish/room", "POST"},
			{http.MethodPut, "/v1/p/session/alice", "GET"},
			{http.MethodPost, "/v1/p/session/alice", "GET"},
			{http.MethodGet, "/v1/p/session/alice/touch", "POST"},
		} {
			resp, _ := k.call(http.StatusMethodNotAllowed, r.method, r.path, k.w, subBody("room", "bob"))
			if !strings.Contains(resp.Header.Get("Allow"), r.allow) {
				t.Errorf("%s %s: Allow %q, want it to list %s", r.method, r.path, resp.Header.Get("Allow"), r.allow)
			}
		}
		k.sessionMissing("bob")
		if in := k.getSession("alice"); !reflect.DeepEqual(in.Subs, []string{"room"}) {
			t.Errorf("alice %v", in.Subs)
		}
		if k.read("room") != "" {
			t.Errorf("an unmatched route wrote to the source")
		}
	})
}

// TestRegression_PubSubConcurrentJoinsNeitherDuplicateNorSkip: sessions
// join, and one leaves and rejoins over and over, while publishers run
// (§7.2: the seed's fan-out broke whenever the subscriber set changed).
// A session that joined once holds exactly a suffix of the source; the
// churning one holds a subsequence of it in source order, without
// duplicates.
func TestRegression_PubSubConcurrentJoinsNeitherDuplicateNorSkip(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		const (
			publishers = 4
			each       = 40
			joiners    = 10
			churns     = 15
		)
		k := newPS(t, "p", opts...)
		k.create("room", jsonCT, "")
		k.subscribe("room", "churn")
		send := func(method, path string, h H, body string, want int) error {
			req := k.e.newRequest(context.Background(), method, path, merge(h, k.w), body)
			resp, err := k.e.client.Do(req)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
			}
			return nil
		}
		var wg sync.WaitGroup
		errs := make(chan error, publishers+2)
		for g := 0; g < publishers; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if err := send(http.MethodPost, k.publishPath("room"), H{"Content-Type": jsonCT}, fmt.Sprintf(`{"g":%d,"i":%d}`, g, i), http.StatusNoContent); err != nil {
						errs <- err
						return
					}
				}
			}(g)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < joiners; j++ {
				if err := send(http.MethodPost, k.base+"/subscribe", nil, subBody("room", fmt.Sprintf("j%d", j)), http.StatusOK); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for c := 0; c < churns; c++ {
				if err := send(http.MethodDelete, k.base+"/unsubscribe", nil, subBody("room", "churn"), http.StatusOK); err != nil {
					errs <- err
					return
				}
				if err := send(http.MethodPost, k.base+"/subscribe", nil, subBody("room", "churn"), http.StatusOK); err != nil {
					errs <- err
					return
				}
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// One more publish that every session must receive.
		if n, _ := k.publish("room", jsonCT, `{"g":-1,"i":0}`); n != joiners+1 {
			t.Errorf("final fan-out %d, want %d", n, joiners+1)
		}
		type msg struct{ G, I int }
		decode := func(id string) []msg {
			t.Helper()
			var ms []msg
			if err := json.Unmarshal([]byte(k.read(id)), &ms); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			return ms
		}
		src := decode("room")
		if len(src) != publishers*each+1 {
			t.Fatalf("source has %d messages, want %d", len(src), publishers*each+1)
		}
		pos := map[msg]int{}
		for i, m := range src {
			pos[m] = i
		}
		for j := 0; j < joiners; j++ {
			got := decode(fmt.Sprintf("session:j%d", j))
			if len(got) == 0 || !slices.Equal(got, src[len(src)-len(got):]) {
				t.Errorf("session j%d (%d messages) is not a suffix of the source", j, len(got))
			}
		}
		got := decode("session:churn")
		last := -1
		for _, m := range got {
			p, ok := pos[m]
			if !ok || p <= last {
				t.Fatalf("session churn: %v is unknown, repeated or out of source order", m)
			}
			last = p
		}
		if last != len(src)-1 {
			t.Errorf("session churn missed the final publish")
		}
	})
}

// TestRegression_PubSubSessionEndEndsLiveReaders: in the seed, expiry was
// lazy and disconnected no live readers (§7.2 "Expiry is lazy and
// incomplete"). Here a deleted or expired session ends the SSE streams
// and long-polls on its stream, like a DELETE of a stream does (§5.2 #8-9).
func TestRegression_PubSubSessionEndEndsLiveReaders(t *testing.T) {
	psStores(t, func(t *testing.T, opts ...option) {
		k := newPS(t, httpapi.DefaultProject, append(opts, withLongPoll(time.Minute), withSSELifetime(time.Minute))...)
		k.create("room", textCT, "")
		for _, end := range []string{"delete", "expiry"} {
			k.subscribe("room", end)
			k.publish("room", textCT, "m")
			path := "/v1/default/stream/session:" + end
			sse := k.e.openSSE(t, path+"?offset=now&live=sse")
			sse.mustNext()
			lp := make(chan int, 1)
			go func() {
				req := k.e.newRequest(context.Background(), http.MethodGet, path+"?offset=now&live=long-poll", nil, "")
				resp, err := k.e.client.Do(req)
				if err != nil {
					lp <- 0
					return
				}
				resp.Body.Close()
				lp <- resp.StatusCode
			}()
			waitForWaiters(t, 2)
			if end == "delete" {
				k.deleteSession(end)
			} else {
				k.advance(psTTL)
				k.sessionMissing(end) // expires it now, or the reaper has
			}
			if evs := sse.waitEnd(); len(evs) != 0 {
				t.Errorf("%s: events after the session ended: %+v", end, evs)
			}
			select {
			case status := <-lp:
				if status != http.StatusNotFound {
					t.Errorf("%s: long-poll answered %d, want 404", end, status)
				}
			case <-time.After(hangGuard):
				t.Fatalf("%s: the long-poll was not ended with the session", end)
			}
		}
	})
}

// TestPubSubCORS: pub/sub routes follow the project's CORS policy like its
// stream routes, and preflights need no token (§5.2 #30).
func TestPubSubCORS(t *testing.T) {
	k := newPS(t, "p", withStoreRegistry())
	if _, err := k.e.reg.AddOrigin(context.Background(), "p", "https://app.example"); err != nil {
		t.Fatal(err)
	}
	k.create("room", textCT, "")
	paths := []struct{ method, path, body string }{
		{http.MethodPost, k.base + "/subscribe", subBody("room", "alice")},
		{http.MethodGet, k.session("alice"), ""},
		{http.MethodPost, k.session("alice") + "/touch", ""},
		{http.MethodPost, k.publishPath("room"), "m"},
		{http.MethodDelete, k.base + "/unsubscribe", subBody("room", "alice")},
		{http.MethodDelete, k.session("alice"), ""},
	}
	for _, p := range paths {
		resp, _ := k.e.do(http.MethodOptions, p.path, H{"Origin": "https://app.example", "Access-Control-Request-Method": p.method}, "")
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Errorf("preflight %s: %d, ACAO %q", p.path, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		for origin, want := range map[string]string{"https://app.example": "https://app.example", "https://evil.example": ""} {
			resp, b := k.e.do(p.method, p.path, merge(H{"Origin": origin, "Content-Type": textCT}, k.w), p.body)
			if resp.StatusCode >= 300 {
				t.Fatalf("%s %s: %d %s", p.method, p.path, resp.StatusCode, b)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
				t.Errorf("%s %s from %s: ACAO %q, want %q", p.method, p.path, origin, got, want)
			}
			if !varyHas(resp.Header, "Origin") {
				t.Errorf("%s %s: no Vary: Origin", p.method, p.path)
			}
		}
	}
	// Errors carry the policy too.
	resp, _ := k.e.do(http.MethodGet, k.session("nobody"), merge(H{"Origin": "https://app.example"}, k.r), "")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("404 session: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, _ = k.e.do(http.MethodPost, k.publishPath("room"), H{"Origin": "https://app.example", "Content-Type": textCT}, "m")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("401 publish: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
