package httpapi_test

// Regression tests for bugs the original system (the seed) shipped or
// pinned down. Each cites its item in
// shared/reference/seed-inventory.md.

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/token"
)

// TestRegression_TailReadsAreNotPubliclyCached: the seed let edges cache
// at-tail reads and long-poll 204s (max-age=2), which broke
// read-after-write and caused tight retry loops (§7.2 "Edge caching of
// at-tail reads and long-poll 204s"; §5.2 #18 offset=now is no-store).
func TestRegression_TailReadsAreNotPubliclyCached(t *testing.T) {
	e := newEnv(t)
	create(sp, textCT, "hello")(t, e)
	notShared := func(what, cc string) {
		t.Helper()
		if strings.Contains(cc, "public") || strings.Contains(cc, "max-age") || strings.Contains(cc, "s-maxage") {
			t.Errorf("%s: Cache-Control %q lets a shared cache store it", what, cc)
		}
		if cc == "" {
			t.Errorf("%s: no Cache-Control", what)
		}
	}
	for _, q := range []string{"", "?offset=-1", "?offset=" + off(2), "?offset=" + off(5)} {
		resp, _ := e.do(http.MethodGet, sp+q, nil, "")
		if resp.Header.Get("Stream-Up-To-Date") != "true" {
			t.Fatalf("GET %s is not at the tail", q)
		}
		notShared("at-tail GET "+q, resp.Header.Get("Cache-Control"))
	}
	for _, q := range []string{"?offset=now", "?offset=now&live=long-poll", "?offset=" + off(5) + "&live=long-poll"} {
		resp, _ := e.do(http.MethodGet, sp+q, nil, "")
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s (%d): Cache-Control %q, want no-store", q, resp.StatusCode, got)
		}
	}
	// Read-after-write: the at-tail read must not be reused after an append.
	appendTo(http.StatusNoContent, sp, textCT, "!")(t, e)
	if got := e.readAll(sp); got != "hello!" {
		t.Errorf("read after write: %q", got)
	}
	e.must(http.StatusNoContent, http.MethodPost, sp, H{"Stream-Closed": "true"}, "")
	resp := e.must(http.StatusNoContent, http.MethodGet, sp+"?offset="+off(6)+"&live=long-poll", nil, "")
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("closed long-poll 204: Cache-Control %q, want no-store", got)
	}
}

// TestRegression_DeleteWakesLongPoll: DELETE must wake long-poll waiters,
// which then get 404 (§5.2 #9). The long-poll timeout is a minute, so only
// the wake-up can answer before the hang guard.
func TestRegression_DeleteWakesLongPoll(t *testing.T) {
	e := newEnv(t, withLongPoll(time.Minute))
	create(sp, textCT, "hello")(t, e)
	type result struct {
		status int
		resp   *http.Response
		body   []byte
	}
	ch := make(chan result, 2)
	for _, q := range []string{"?offset=now&live=long-poll", "?offset=" + off(5) + "&live=long-poll"} {
		go func() {
			resp, err := e.client.Do(e.newRequest(t.Context(), http.MethodGet, sp+q, nil, ""))
			if err != nil {
				ch <- result{}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			ch <- result{resp.StatusCode, resp, b}
		}()
	}
	waitForWaiters(t, 2)
	e.must(http.StatusNoContent, http.MethodDelete, sp, nil, "")
	for range 2 {
		select {
		case r := <-ch:
			if r.status != http.StatusNotFound {
				t.Fatalf("woken long-poll: status %d body %q, want 404", r.status, r.body)
			}
			checkCommon(t, http.MethodGet, r.resp, r.body)
		case <-time.After(hangGuard):
			t.Fatal("DELETE did not wake the long-poll")
		}
	}
}

// TestRegression_DeleteClosesSSE: DELETE must end open SSE responses
// (§5.2 #8). The SSE lifetime and idle interval are a minute, so only the
// DELETE can end the response before the hang guard.
func TestRegression_DeleteClosesSSE(t *testing.T) {
	e := newEnv(t, withLongPoll(time.Minute), withSSELifetime(time.Minute))
	create(sp, textCT, "hello")(t, e)
	var streams []*sseStream
	for _, q := range []string{"?offset=-1&live=sse", "?offset=now&live=sse"} {
		s := e.openSSE(t, sp+q)
		for ev := s.mustNext(); ev.Type != "control"; ev = s.mustNext() {
		}
		streams = append(streams, s)
	}
	waitForWaiters(t, 2)
	e.must(http.StatusNoContent, http.MethodDelete, sp, nil, "")
	for i, s := range streams {
		if evs := s.waitEnd(); len(evs) != 0 {
			t.Errorf("stream %d: events after DELETE: %+v", i, evs)
		}
	}
	// A soft delete (the stream has a fork) ends readers too.
	create(srcP, textCT, "x")(t, e)
	create(forkP, "", "", H{"Stream-Forked-From": srcP})(t, e)
	s := e.openSSE(t, srcP+"?offset=now&live=sse")
	s.mustNext()
	waitForWaiters(t, 1)
	e.must(http.StatusNoContent, http.MethodDelete, srcP, nil, "")
	s.waitEnd()
}

// TestRegression_AbortedBodyStoresNothing: a client that aborts mid-body
// must not leave a partial append (§5.2 #14). The request promises 100
// bytes, sends 10 and closes the connection; the test waits for the
// handler to return before looking at the stream.
func TestRegression_AbortedBodyStoresNothing(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, head, body string
	}{
		{"POST content-length", http.MethodPost, sp, "Content-Type: text/plain\r\nContent-Length: 100\r\n", "0123456789"},
		{"POST chunked", http.MethodPost, sp, "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n", "a\r\n0123456789\r\n"},
		{"PUT content-length", http.MethodPut, "/v1/stream/new", "Content-Type: text/plain\r\nContent-Length: 100\r\n", "0123456789"},
		{"POST producer close", http.MethodPost, sp, "Content-Type: text/plain\r\nContent-Length: 100\r\nStream-Closed: true\r\n" +
			"Producer-Id: p\r\nProducer-Epoch: 0\r\nProducer-Seq: 0\r\n", "0123456789"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			create(sp, textCT, "hello")(t, e)
			id := "abort-" + tc.name
			done := e.awaitHandler(id)
			c := e.rawConn()
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: test\r\nX-Test-Req: %s\r\n%s\r\n%s", tc.method, tc.path, id, tc.head, tc.body)
			c.Close()
			waitFor(t, done, "the aborted request's handler")

			if got := e.tail(sp); got != off(5) {
				t.Errorf("tail moved to %s after an aborted append", got)
			}
			if got := e.readAll(sp); got != "hello" {
				t.Errorf("stream reads %q after an aborted append", got)
			}
			if h := e.must(http.StatusOK, http.MethodHead, sp, nil, "").Header; h.Get("Stream-Closed") != "" {
				t.Errorf("an aborted request closed the stream")
			}
			e.must(http.StatusNotFound, http.MethodHead, "/v1/stream/new", nil, "")
			// The producer did not advance either: seq 0 is still new.
			e.must(http.StatusOK, http.MethodPost, sp, merge(H{"Content-Type": textCT}, producer("p", "0", "0")), "x")
		})
	}
}

// TestRegression_ContentLengthMismatch: a body shorter than its
// Content-Length is rejected with 400 and appends nothing (§5.2 #22,
// §5.2 #14). The client half-closes so it can still read the answer.
func TestRegression_ContentLengthMismatch(t *testing.T) {
	e := newEnv(t)
	create(sp, textCT, "hello")(t, e)
	c := e.rawConn()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n0123456789", sp)
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(hangGuard))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d body %q, want 400", resp.StatusCode, body)
	}
	checkCommon(t, http.MethodPost, resp, body)
	if got := e.tail(sp); got != off(5) {
		t.Errorf("tail moved to %s", got)
	}
}

// TestRegression_InvalidProducerID: unchecked producer ids were a
// storage-abuse vector (§7.1 #4): ^[A-Za-z0-9_\-:.]{1,256}$ only.
func TestRegression_InvalidProducerID(t *testing.T) {
	e := newEnv(t)
	create(sp, textCT, "hello")(t, e)
	for _, id := range []string{"bad id", "a b c", strings.Repeat("p", 300), strings.Repeat("p", 257), "a/b", "a\tb",
		"ünï", "a;b", "a,b", "<script>", "a\"b"} {
		resp, body := e.do(http.MethodPost, sp, merge(H{"Content-Type": textCT}, producer(id, "0", "0")), "x")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Producer-Id %q: status %d, want 400", id, resp.StatusCode)
			continue
		}
		checkCommon(t, http.MethodPost, resp, body)
		if strings.Contains(string(body), strings.Repeat("p", 257)) {
			t.Errorf("error body echoes the whole oversized id")
		}
	}
	if got := e.tail(sp); got != off(5) {
		t.Errorf("tail moved to %s", got)
	}
	for _, id := range []string{"p", strings.Repeat("p", 256), "A-z_0:9.x"} {
		e.must(http.StatusOK, http.MethodPost, sp, merge(H{"Content-Type": textCT}, producer(id, "0", "0")), "x")
	}
}

// TestRegression_InvalidProducerRequestsKeepState: rejected producer
// requests must not change the producer's state (§5.2 #2, checklist 3.5).
func TestRegression_InvalidProducerRequestsKeepState(t *testing.T) {
	e := newEnv(t)
	create(sp, textCT, "")(t, e)
	post := func(want int, epoch, seq, body string) {
		t.Helper()
		e.must(want, http.MethodPost, sp, merge(H{"Content-Type": textCT}, producer("p", epoch, seq)), body)
	}
	post(http.StatusOK, "1", "0", "a")
	post(http.StatusBadRequest, "2", "1", "x") // new epoch must start at 0
	post(http.StatusForbidden, "0", "0", "x")  // stale epoch
	post(http.StatusConflict, "1", "5", "x")   // gap
	post(http.StatusBadRequest, "1", "1e0", "x")
	resp := e.must(http.StatusConflict, http.MethodPost, sp, merge(H{"Content-Type": textCT}, producer("p", "1", "3")), "x")
	if got := resp.Header.Get("Producer-Expected-Seq"); got != "1" {
		t.Errorf("Producer-Expected-Seq %q after rejected requests, want 1", got)
	}
	post(http.StatusOK, "1", "1", "b")
	post(http.StatusNoContent, "1", "1", "b")
	if got := e.readAll(sp); got != "ab" {
		t.Errorf("stream reads %q, want ab", got)
	}
}

// TestRegression_ErrorsCarryCORSAndNoStore: 404 and 409 errors must carry
// the CORS headers and Cache-Control: no-store (§5.2 #17).
func TestRegression_ErrorsCarryCORSAndNoStore(t *testing.T) {
	e := newEnv(t)
	create(sp, textCT, "hello", H{"Stream-Closed": "true"})(t, e)
	for _, r := range []struct {
		method, path string
		h            H
		body         string
		want         int
	}{
		{http.MethodGet, "/v1/stream/missing", nil, "", http.StatusNotFound},
		{http.MethodHead, "/v1/stream/missing", nil, "", http.StatusNotFound},
		{http.MethodPost, "/v1/stream/missing", H{"Content-Type": textCT}, "x", http.StatusNotFound},
		{http.MethodDelete, "/v1/stream/missing", nil, "", http.StatusNotFound},
		{http.MethodGet, "/v1/stream/missing?offset=-1&live=long-poll", nil, "", http.StatusNotFound},
		{http.MethodGet, "/v1/stream/missing?offset=-1&live=sse", nil, "", http.StatusNotFound},
		{http.MethodGet, "/nope", nil, "", http.StatusNotFound},
		{http.MethodPost, sp, H{"Content-Type": textCT}, "x", http.StatusConflict},
		{http.MethodPut, sp, H{"Content-Type": jsonCT}, "", http.StatusConflict},
	} {
		resp, body := e.do(r.method, r.path, r.h, r.body)
		if resp.StatusCode != r.want {
			t.Errorf("%s %s: status %d, want %d", r.method, r.path, resp.StatusCode, r.want)
			continue
		}
		checkCommon(t, r.method, resp, body)
		expose := resp.Header.Get("Access-Control-Expose-Headers")
		for _, h := range []string{"Stream-Closed", "Stream-Next-Offset", "Producer-Expected-Seq"} {
			if !strings.Contains(expose, h) {
				t.Errorf("%s %s: Access-Control-Expose-Headers %q lacks %s", r.method, r.path, expose, h)
			}
		}
	}
}

// TestRegression_UnmatchedRoutesNeverSucceed: the seed classified routes
// with regexes and substring checks and let unclassified ones through
// (§7.1 #1). Here anything off the route table is 404 and changes nothing.
func TestRegression_UnmatchedRoutesNeverSucceed(t *testing.T) {
	e := newEnv(t)
	create(sp, textCT, "hello")(t, e)
	paths := []string{"/v1/stream", "/v1/x/streamx/y", "/v2/stream/a", "/v1/streamsx/s", "/v1/x/y/stream/s",
		"/v1/stream-s", "/api/v1/stream/s", "/v1/default/streamz/s", "/v1/x/subscribe/stream", "/__ds/subscriptions/x", "/v1/__ds/x",
		"/v1/x/streamsy", "/v1/x/stream", "/v1/default/stream", "/v1/x/y/streams", "/v1/streams-s"}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions, http.MethodPatch}
	for _, p := range paths {
		for _, m := range methods {
			h := H{"Content-Type": textCT}
			resp, body := e.do(m, p, h, "x")
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404", m, p, resp.StatusCode)
			}
			checkCommon(t, m, resp, body)
		}
	}
	if got := e.readAll(sp); got != "hello" {
		t.Errorf("stream changed to %q", got)
	}

	// A valid manage token for a registered project opens none of them.
	e.project("x")
	xs := "/v1/x/stream/s"
	create(xs, textCT, "hello", e.auth("x", token.ScopeManage))(t, e)
	for _, p := range []string{"/v1/x/streamx/s", "/v1/x/y/stream/s", "/v1/x/subscribe/stream", "/v1/x/streamsy", "/v1/x/stream",
		"/v1/x/y/streams", "/v1/x/__ds/s", "/v1/x"} {
		for _, m := range methods {
			resp, body := e.do(m, p, merge(H{"Content-Type": textCT}, e.auth("x", token.ScopeManage)), "x")
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s with a manage token: status %d, want 404", m, p, resp.StatusCode)
			}
			checkCommon(t, m, resp, body)
		}
	}
	if got := e.readAllWith(xs, e.auth("x", token.ScopeRead)); got != "hello" {
		t.Errorf("%s changed to %q", xs, got)
	}
}

// TestRegression_ConcurrentAppends: 12 concurrent appends must all land
// (§5.2 #15), at distinct offsets, on both stores.
func TestRegression_ConcurrentAppends(t *testing.T) {
	for _, store := range []struct {
		name string
		opts []option
	}{{"memstore", nil}, {"sqlite", []option{withSQLite()}}} {
		t.Run(store.name, func(t *testing.T) {
			e := newEnv(t, store.opts...)
			create(sp, textCT, "")(t, e)
			const n = 12
			var wg sync.WaitGroup
			offsets := make([]string, n)
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					req := e.newRequest(t.Context(), http.MethodPost, sp, H{"Content-Type": textCT}, fmt.Sprintf("<%02d>", i))
					resp, err := e.client.Do(req)
					if err != nil {
						errs <- err
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusNoContent {
						errs <- fmt.Errorf("append %d: status %d", i, resp.StatusCode)
						return
					}
					offsets[i] = resp.Header.Get("Stream-Next-Offset")
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			got := e.readAll(sp)
			if len(got) != 4*n {
				t.Fatalf("stream has %d bytes, want %d: %q", len(got), 4*n, got)
			}
			for i := range n {
				if c := strings.Count(got, fmt.Sprintf("<%02d>", i)); c != 1 {
					t.Errorf("append %d appears %d times in %q", i, c, got)
				}
			}
			slices.Sort(offsets)
			for i := range n {
				if want := off(int64(4 * (i + 1))); offsets[i] != want {
					t.Errorf("sorted offsets[%d] = %s, want %s (all %v)", i, offsets[i], want, offsets)
				}
			}
		})
	}
}

// TestRegression_DuplicateProducerAfterRestart: after a restart the data
// is still there and a retried producer append is a 204 duplicate with
// the original Stream-Next-Offset and no second copy (§5.2 #7).
func TestRegression_DuplicateProducerAfterRestart(t *testing.T) {
	e := newEnv(t, withSQLite())
	create(sp, textCT, "")(t, e)
	appendTo(http.StatusNoContent, sp, textCT, "plain", H{"Stream-Seq": "a"})(t, e)
	post := func(want int, seq, body string, extra ...H) *http.Response {
		t.Helper()
		return e.must(want, http.MethodPost, sp, merge(H{"Content-Type": textCT}, append([]H{producer("p", "0", seq)}, extra...)...), body)
	}
	first := post(http.StatusOK, "0", "one").Header.Get("Stream-Next-Offset")
	second := post(http.StatusOK, "1", "two").Header.Get("Stream-Next-Offset")
	if first != off(8) || second != off(11) {
		t.Fatalf("offsets %s %s", first, second)
	}

	e.restart()

	resp := post(http.StatusNoContent, "1", "two")
	if got := resp.Header.Get("Stream-Next-Offset"); got != second {
		t.Errorf("duplicate after restart: Stream-Next-Offset %s, want the original %s", got, second)
	}
	if got := resp.Header.Get("Producer-Seq"); got != "1" {
		t.Errorf("duplicate after restart: Producer-Seq %q, want 1", got)
	}
	if got := e.readAll(sp); got != "plainonetwo" {
		t.Errorf("stream reads %q after restart, want plainonetwo", got)
	}
	// The producer continues, and the gap check survived the restart too.
	post(http.StatusConflict, "3", "x")
	post(http.StatusOK, "2", "three")
	// Stream-Seq state survived as well.
	appendTo(http.StatusConflict, sp, textCT, "old", H{"Stream-Seq": "a"})(t, e)

	// A stream closed by a producer keeps its closing tuple across a restart.
	post(http.StatusNoContent, "3", "", H{"Stream-Closed": "true"})
	e.restart()
	resp = post(http.StatusNoContent, "3", "", H{"Stream-Closed": "true"})
	if resp.Header.Get("Stream-Closed") != "true" {
		t.Errorf("closing-tuple retry after restart lacks Stream-Closed")
	}
	resp = post(http.StatusConflict, "4", "late")
	if resp.Header.Get("Stream-Closed") != "true" || resp.Header.Get("Stream-Next-Offset") != off(16) {
		t.Errorf("append to closed stream after restart: Stream-Closed %q Stream-Next-Offset %q",
			resp.Header.Get("Stream-Closed"), resp.Header.Get("Stream-Next-Offset"))
	}
	if got := e.readAll(sp); got != "plainonetwothree" {
		t.Errorf("stream reads %q", got)
	}
}

// TestRegression_ChunkedBodies: chunked request bodies are accepted
// (checklist 3.4), and bodies over the cap are 413 (§5.2 #22) whether or
// not they announce a length.
func TestRegression_ChunkedBodies(t *testing.T) {
	e := newEnv(t, withMaxBody(64))
	create(sp, textCT, "")(t, e)
	send := func(body string) *http.Response {
		t.Helper()
		req := e.newRequest(t.Context(), http.MethodPost, sp, H{"Content-Type": textCT}, "")
		req.Body = io.NopCloser(strings.NewReader(body)) // unknown length: chunked
		req.ContentLength = -1
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkCommon(t, http.MethodPost, resp, b)
		return resp
	}
	if resp := send("chunked"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("chunked append: %d", resp.StatusCode)
	}
	if resp := send(strings.Repeat("x", 65)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized chunked append: %d, want 413", resp.StatusCode)
	}
	if got := e.readAll(sp); got != "chunked" {
		t.Errorf("stream reads %q", got)
	}
}

// Regression: engine.Append once validated a body as JSON whenever the
// *request's* Content-Type was application/json, before the writer checked
// that the stream exists, is open, and has that content type, so the JSON
// check won over 404, over 409 Stream-Closed (and over the 204 for a
// retried closing producer tuple), and over 409 content-type mismatch.
// Checklist 3.4: closed → content-type mismatch → ... ; 3.5: a retried
// closing tuple is 204 even with a different body.
func TestRegression_ErrorPrecedenceForJSONBodies(t *testing.T) {
	setup := steps(
		create(sp, textCT, "hello"),
		create("/v1/stream/c", jsonCT, "[1]", H{"Stream-Closed": "true"}),
		create("/v1/stream/pc", jsonCT, "[1]"),
		appendTo(http.StatusOK, "/v1/stream/pc", jsonCT, "[2]", producer("p", "0", "0"), H{"Stream-Closed": "true"}),
	)
	runScenarios(t, []scenario{
		{
			name: "text stream, JSON request, non-JSON body is a mismatch", setup: setup, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": jsonCT}, body: "hello", wantStatus: http.StatusConflict, bodyContains: wantCode("CONTENT_TYPE_MISMATCH"),
		},
		{
			name: "missing stream is 404", setup: setup, method: http.MethodPost, path: "/v1/stream/missing",
			headers: H{"Content-Type": jsonCT}, body: "nope", wantStatus: http.StatusNotFound,
		},
		{
			name: "closed stream is 409 with Stream-Closed", setup: setup, method: http.MethodPost, path: "/v1/stream/c",
			headers: H{"Content-Type": jsonCT}, body: "nope", wantStatus: http.StatusConflict,
			wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(1)},
		},
		{
			name: "retried closing tuple with another body is 204", setup: setup, method: http.MethodPost, path: "/v1/stream/pc",
			headers: merge(H{"Content-Type": jsonCT, "Stream-Closed": "true"}, producer("p", "0", "0")), body: "nope",
			wantStatus: http.StatusNoContent, wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(2)},
		},
	})
}

// TestRegression_ParseErrorsCarryProjectCORS: a request whose path names
// a project but whose stream id is invalid gets 400 without any CORS
// header, because ServeHTTP returns on the parseTarget error before it
// calls setCORS. The default project is meant to keep ACAO: * on every
// response (it did before projects and auth: TestPut checked it on these
// very 400s), and a browser cannot read an error without it (§1.4 "errors
// also carry CORS headers"; §5.2 #17).
func TestRegression_ParseErrorsCarryProjectCORS(t *testing.T) {
	e := newEnv(t)
	e.project("web", "https://app.example.com")
	for _, r := range []struct{ path, origin, want string }{
		{"/v1/stream/", "https://x.example", "*"},
		{"/v1/stream/a%01b", "https://x.example", "*"},
		{"/v1/stream/" + strings.Repeat("x", 1025), "https://x.example", "*"},
		{"/v1/default/stream/", "https://x.example", "*"},
		{"/v1/streams/", "https://x.example", "*"},
		{"/v1/web/stream/", "https://app.example.com", "https://app.example.com"},
		{"/v1/web/stream/a%01b", "https://app.example.com", "https://app.example.com"},
	} {
		resp, body := e.do(http.MethodPut, r.path, H{"Origin": r.origin}, "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %.40s: status %d, want 400", r.path, resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != r.want {
			t.Errorf("PUT %.40s from %s: Access-Control-Allow-Origin %q, want %q", r.path, r.origin, got, r.want)
		}
		checkCommon(t, http.MethodPut, resp, body)
	}
}

// TestRegression_ForkSourceStaysInItsProject: Stream-Forked-From may
// name a stream of any project, and the token is checked against the
// fork's project only, so a fork could copy data its creator may not read
// (from the open default project, anyone could fork a named project's
// stream and read it without a token). This is §7.1 #13's lesson (every
// path parameter must be authorised) in a header. A fork source in
// another project is refused with 403 and creates nothing.
func TestRegression_ForkSourceStaysInItsProject(t *testing.T) {
	e := newEnv(t)
	e.project("acme")
	e.project("other")
	acmeW := e.auth("acme", token.ScopeWrite)
	create("/v1/acme/stream/secret", textCT, "acme-private", acmeW)(t, e)
	create("/v1/other/stream/secret", textCT, "other-private", e.auth("other", token.ScopeWrite))(t, e)
	create("/v1/stream/open", textCT, "default-data")(t, e)

	for _, r := range []struct {
		name, path, from string
		h                H
	}{
		{"default project forks a named project's stream", "/v1/stream/leak", "/v1/acme/stream/secret", nil},
		{"default project forks a named project's stream, percent-encoded", "/v1/stream/leak", "/v1/acme/stream/secr%65t", nil},
		{"acme forks other's stream", "/v1/acme/stream/leak", "/v1/other/stream/secret", acmeW},
		{"public fork of other's stream", "/v1/acme/stream/leak?public=true", "/v1/other/stream/secret", acmeW},
		{"acme forks a default stream", "/v1/acme/stream/leak", "/v1/stream/open", acmeW},
	} {
		resp, body := e.do(http.MethodPut, r.path, merge(H{"Stream-Forked-From": r.from}, r.h), "")
		if resp.StatusCode != http.StatusForbidden || errorCode(body) != "FORBIDDEN" {
			t.Errorf("%s: PUT %s forked from %s: status %d body %q, want 403 FORBIDDEN", r.name, r.path, r.from, resp.StatusCode, body)
		}
		checkCommon(t, http.MethodPut, resp, body)
		path, _, _ := strings.Cut(r.path, "?")
		if resp, body := e.do(http.MethodGet, path+"?offset=-1", r.h, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: GET %s after the refused fork: status %d body %q, want 404", r.name, path, resp.StatusCode, body)
		}
	}
	// Forks inside a project still work, in both layouts.
	create("/v1/acme/stream/copy", "", "", acmeW, H{"Stream-Forked-From": "/v1/acme/stream/secret"})(t, e)
	create("/v1/stream/copy", "", "", H{"Stream-Forked-From": "/v1/default/stream/open"})(t, e)
	if got := e.readAllWith("/v1/acme/stream/copy", acmeW); got != "acme-private" {
		t.Errorf("same-project fork reads %q", got)
	}
}

// TestRegression_ForkSourceStaysInsideTheTokensStream: a token whose
// stream_id restricts it to one stream can still name any stream of its
// project in Stream-Forked-From, so it copies data it may not read into
// the stream it may read: PUT /v1/acme/stream/mine forked from
// /v1/acme/stream/secret with a write token restricted to "mine" answers
// 201, and that token then reads secret's data through mine. (Add
// ?public=true and anyone reads it.) The stream_id check must cover the
// fork source too.
func TestRegression_ForkSourceStaysInsideTheTokensStream(t *testing.T) {
	e := newEnv(t)
	e.project("acme")
	acmeW := e.auth("acme", token.ScopeWrite)
	create("/v1/acme/stream/secret", textCT, "acme-private", acmeW)(t, e)
	mine := bearer(e.token("acme", token.ScopeWrite, "mine"))
	for _, q := range []string{"", "?public=true"} {
		resp, body := e.do(http.MethodPut, "/v1/acme/stream/mine"+q, merge(H{"Stream-Forked-From": "/v1/acme/stream/secret"}, mine), "")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("PUT /v1/acme/stream/mine%s forked from secret with a token for mine: status %d body %q, want 403", q, resp.StatusCode, body)
		}
		if resp, body := e.do(http.MethodGet, "/v1/acme/stream/mine?offset=-1", mine, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /v1/acme/stream/mine after the refused fork: status %d body %q, want 404", resp.StatusCode, body)
		}
	}
	// The same token may still create "mine" from nothing.
	create("/v1/acme/stream/mine", textCT, "ok", mine)(t, e)
}
