package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/token"
)

// The inspection API's wire format, spelled out here so a renamed field
// fails these tests.

type inspStream struct {
	ID          string     `json:"id"`
	Path        string     `json:"path"`
	ContentType string     `json:"contentType"`
	SizeBytes   int64      `json:"sizeBytes"`
	Messages    int64      `json:"messages"`
	TailOffset  string     `json:"tailOffset"`
	Closed      bool       `json:"closed"`
	Public      bool       `json:"public"`
	TTLSeconds  *int64     `json:"ttlSeconds"`
	ExpiresAt   *time.Time `json:"expiresAt"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastWriteAt time.Time  `json:"lastWriteAt"`
	Readers     int64      `json:"readers"`
}

type inspList struct {
	Streams []inspStream `json:"streams"`
	Next    *string      `json:"next"`
}

type inspProducer struct {
	ID         string    `json:"id"`
	Epoch      int64     `json:"epoch"`
	LastSeq    int64     `json:"lastSeq"`
	LastOffset string    `json:"lastOffset"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

type inspDetail struct {
	inspStream
	Producers  []inspProducer `json:"producers"`
	ForkedFrom *struct {
		Path   string `json:"path"`
		Offset string `json:"offset"`
	} `json:"forkedFrom"`
	Forks int64 `json:"forks"`
}

// getJSON GETs path, wants 200 JSON and decodes it into v.
func (e *env) getJSON(t *testing.T, path string, h H, v any) {
	t.Helper()
	resp, body := e.do(http.MethodGet, path, h, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %q", path, resp.StatusCode, body)
	}
	checkCommon(t, http.MethodGet, resp, body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET %s: Cache-Control %q, want no-store", path, cc)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %q", path, err, body)
	}
}

func ids(ss []inspStream) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

// pageThrough follows next from the first page and returns the pages' ids.
func pageThrough(t *testing.T, e *env, list string, h H, limit int) [][]string {
	t.Helper()
	var pages [][]string
	q := fmt.Sprintf("?limit=%d", limit)
	for range 100 {
		var l inspList
		e.getJSON(t, list+q, h, &l)
		if l.Streams == nil {
			t.Fatalf("GET %s%s: streams is null, want a list", list, q)
		}
		pages = append(pages, ids(l.Streams))
		if l.Next == nil {
			return pages
		}
		if *l.Next == "" {
			t.Fatalf("GET %s%s: next is empty rather than absent", list, q)
		}
		q = fmt.Sprintf("?limit=%d&after=%s", limit, *l.Next)
	}
	t.Fatalf("paging %s never ended", list)
	return nil
}

func TestInspectListPaging(t *testing.T) {
	forEachStore(t, func(t *testing.T, opts ...option) {
		e := newEnv(t, opts...)
		e.project("acme")
		for _, p := range []struct{ list, stream string }{
			{"/v1/streams", "/v1/stream/"},
			{"/v1/acme/streams", "/v1/acme/stream/"},
		} {
			t.Run(p.list, func(t *testing.T) {
				var h H
				if p.list == "/v1/acme/streams" {
					h = e.auth("acme", token.ScopeManage)
				}
				for _, id := range []string{"e", "c", "a", "d", "b"} {
					create(p.stream+id, textCT, id+id, h)(t, e)
				}
				// Not listed: a deleted stream, and streams of other projects.
				create(p.stream+"zz-deleted", textCT, "", h)(t, e)
				e.must(http.StatusNoContent, http.MethodDelete, p.stream+"zz-deleted", h, "")

				got := pageThrough(t, e, p.list, h, 2)
				want := [][]string{{"a", "b"}, {"c", "d"}, {"e"}}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("pages %v, want %v", got, want)
				}
				if got := pageThrough(t, e, p.list, h, 5); fmt.Sprint(got) != "[[a b c d e]]" {
					t.Errorf("limit=5 pages %v, want one page of all five", got)
				}
				var l inspList
				e.getJSON(t, p.list, h, &l)
				if fmt.Sprint(ids(l.Streams)) != "[a b c d e]" || l.Next != nil {
					t.Errorf("default limit: %v next %v", ids(l.Streams), l.Next)
				}
				e.getJSON(t, p.list+"?after=e", h, &l)
				if l.Streams == nil || len(l.Streams) != 0 || l.Next != nil {
					t.Errorf("after the last: %+v, want an empty list and no next", l)
				}
				e.getJSON(t, p.list+"?limit=1000&after=b", h, &l)
				if fmt.Sprint(ids(l.Streams)) != "[c d e]" {
					t.Errorf("after=b: %v", ids(l.Streams))
				}
			})
		}
		// /v1/default/streams is /v1/streams.
		var a, b inspList
		e.getJSON(t, "/v1/streams", nil, &a)
		e.getJSON(t, "/v1/default/streams", nil, &b)
		if fmt.Sprint(ids(a.Streams)) != fmt.Sprint(ids(b.Streams)) {
			t.Errorf("/v1/streams %v, /v1/default/streams %v", ids(a.Streams), ids(b.Streams))
		}
	})
}

func TestInspectListFields(t *testing.T) {
	e := newEnv(t)
	create("/v1/stream/plain", textCT, "hello")(t, e)
	appendTo(http.StatusNoContent, "/v1/stream/plain", textCT, "abc")(t, e)
	create("/v1/stream/ttl", textCT, "", H{"Stream-TTL": "3600"})(t, e)
	create("/v1/stream/exp", textCT, "", H{"Stream-Expires-At": "2099-01-02T03:04:05Z"})(t, e)
	create("/v1/stream/closed", textCT, "bye", H{"Stream-Closed": "true"})(t, e)
	create("/v1/stream/json", jsonCT, `[1,2,3]`)(t, e)
	create("/v1/stream/pub?public=true", textCT, "")(t, e)
	create("/v1/stream/a/b", textCT, "")(t, e)

	var l inspList
	e.getJSON(t, "/v1/streams", nil, &l)
	by := map[string]inspStream{}
	for _, s := range l.Streams {
		by[s.ID] = s
	}
	if len(by) != 7 {
		t.Fatalf("listed %v, want 7 streams", ids(l.Streams))
	}
	p := by["plain"]
	if p.Path != "/v1/stream/plain" || p.ContentType != textCT || p.SizeBytes != 8 || p.Messages != 2 ||
		p.TailOffset != off(8) || p.Closed || p.Public || p.TTLSeconds != nil || p.ExpiresAt != nil || p.Readers != 0 {
		t.Errorf("plain = %+v", p)
	}
	if p.CreatedAt.IsZero() || p.LastWriteAt.Before(p.CreatedAt) {
		t.Errorf("plain createdAt %v lastWriteAt %v", p.CreatedAt, p.LastWriteAt)
	}
	if s := by["ttl"]; s.TTLSeconds == nil || *s.TTLSeconds != 3600 || s.ExpiresAt != nil {
		t.Errorf("ttl = %+v", s)
	}
	if s := by["exp"]; s.ExpiresAt == nil || !s.ExpiresAt.Equal(time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)) || s.TTLSeconds != nil {
		t.Errorf("exp = %+v", s)
	}
	if s := by["closed"]; !s.Closed || s.TailOffset != off(3) {
		t.Errorf("closed = %+v", s)
	}
	if s := by["json"]; s.Messages != 3 || s.TailOffset != off(3) || s.ContentType != jsonCT {
		t.Errorf("json = %+v", s)
	}
	if s := by["pub"]; !s.Public {
		t.Errorf("pub = %+v", s)
	}
	if s := by["a/b"]; s.Path != "/v1/stream/a/b" || s.Messages != 0 || s.SizeBytes != 0 {
		t.Errorf("a/b = %+v", s)
	}
}

func TestInspectInvalidLimit(t *testing.T) {
	e := newEnv(t)
	e.project("acme")
	for _, list := range []string{"/v1/streams", "/v1/acme/streams"} {
		h := H{}
		if list == "/v1/acme/streams" {
			h = e.auth("acme", token.ScopeManage)
		}
		for _, lim := range []string{"0", "-1", "abc", "1001", "1.5", "2x", "%20", "99999999999999999999"} {
			resp, body := e.do(http.MethodGet, list+"?limit="+lim, h, "")
			if resp.StatusCode != http.StatusBadRequest || errorCode(body) != "BAD_REQUEST" {
				t.Errorf("%s?limit=%s: %d %q, want 400 BAD_REQUEST", list, lim, resp.StatusCode, body)
			}
			checkCommon(t, http.MethodGet, resp, body)
		}
		for _, lim := range []string{"1", "1000"} {
			e.must(http.StatusOK, http.MethodGet, list+"?limit="+lim, h, "")
		}
	}
}

func TestInspectDetail(t *testing.T) {
	forEachStore(t, func(t *testing.T, opts ...option) {
		e := newEnv(t, opts...)
		create(srcP, textCT, "hello")(t, e)
		appendTo(http.StatusOK, srcP, textCT, "a", producer("p1", "0", "0"))(t, e)
		appendTo(http.StatusOK, srcP, textCT, "b", producer("p1", "0", "1"))(t, e)
		appendTo(http.StatusOK, srcP, textCT, "c", producer("p0", "3", "0"))(t, e)
		create(forkP, "", "", H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(2)})(t, e)

		var d inspDetail
		e.getJSON(t, "/v1/streams/src", nil, &d)
		if d.ID != "src" || d.Path != srcP || d.TailOffset != off(8) || d.Messages != 4 || d.SizeBytes != 8 {
			t.Errorf("src = %+v", d.inspStream)
		}
		if d.ForkedFrom != nil {
			t.Errorf("src forkedFrom = %+v, want absent", d.ForkedFrom)
		}
		if d.Forks != 1 {
			t.Errorf("src forks = %d, want 1", d.Forks)
		}
		if len(d.Producers) != 2 {
			t.Fatalf("src producers = %+v, want p0 and p1", d.Producers)
		}
		p0, p1 := d.Producers[0], d.Producers[1]
		if p0.ID != "p0" || p0.Epoch != 3 || p0.LastSeq != 0 || p0.LastOffset != off(8) {
			t.Errorf("producer p0 = %+v", p0)
		}
		if p1.ID != "p1" || p1.Epoch != 0 || p1.LastSeq != 1 || p1.LastOffset != off(7) || p1.UpdatedAt.IsZero() {
			t.Errorf("producer p1 = %+v", p1)
		}

		var f inspDetail
		e.getJSON(t, "/v1/default/streams/f", nil, &f)
		if f.ForkedFrom == nil || f.ForkedFrom.Path != srcP || f.ForkedFrom.Offset != off(2) {
			t.Errorf("fork forkedFrom = %+v, want %s at %s", f.ForkedFrom, srcP, off(2))
		}
		if f.Forks != 0 || f.Producers == nil || len(f.Producers) != 0 || f.TailOffset != off(2) || f.ContentType != textCT {
			t.Errorf("fork = %+v", f)
		}

		// Counters survive a restart on the durable store.
		if e.cfg.sqlite {
			e.restart()
			var again inspDetail
			e.getJSON(t, "/v1/streams/src", nil, &again)
			if again.Messages != d.Messages || again.SizeBytes != d.SizeBytes || !again.LastWriteAt.Equal(d.LastWriteAt) ||
				again.Forks != 1 || len(again.Producers) != 2 {
				t.Errorf("after restart src = %+v, was %+v", again, d)
			}
		}

		// Deleting the fork releases the source.
		e.must(http.StatusNoContent, http.MethodDelete, forkP, nil, "")
		e.getJSON(t, "/v1/streams/src", nil, &d)
		if d.Forks != 0 {
			t.Errorf("src forks after the fork's delete = %d, want 0", d.Forks)
		}
	})
}

func TestInspectNotFound(t *testing.T) {
	e := newEnv(t)
	create(sp, textCT, "x")(t, e)
	e.must(http.StatusNoContent, http.MethodDelete, sp, nil, "")
	for _, p := range []string{"/v1/streams/missing", "/v1/streams/s", "/v1/default/streams/missing"} {
		resp, body := e.do(http.MethodGet, p, nil, "")
		if resp.StatusCode != http.StatusNotFound || errorCode(body) != "NOT_FOUND" {
			t.Errorf("GET %s: %d %q, want 404 NOT_FOUND", p, resp.StatusCode, body)
		}
		checkCommon(t, http.MethodGet, resp, body)
	}
}

// TestInspectReaders: a parked long-poll or SSE reader shows in readers
// while it waits, and leaves when it is answered. The test polls for the
// count; it asserts no timing.
func TestInspectReaders(t *testing.T) {
	e := newEnv(t, withLongPoll(time.Minute), withSSELifetime(time.Minute))
	create(sp, textCT, "hello")(t, e)
	create("/v1/stream/other", textCT, "")(t, e)

	readers := func(path string) int64 {
		var d inspDetail
		e.getJSON(t, path, nil, &d)
		return d.Readers
	}
	waitReaders := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(hangGuard)
		for readers("/v1/streams/s") != want {
			if time.Now().After(deadline) {
				t.Fatalf("readers never became %d (now %d)", want, readers("/v1/streams/s"))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if n := readers("/v1/streams/s"); n != 0 {
		t.Fatalf("readers = %d before any reader", n)
	}

	done := make(chan int, 1)
	go func() {
		resp, err := e.client.Do(e.newRequest(t.Context(), http.MethodGet, sp+"?offset=now&live=long-poll", nil, ""))
		if err != nil {
			done <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	waitReaders(1)
	var l inspList
	e.getJSON(t, "/v1/streams", nil, &l)
	for _, s := range l.Streams {
		want := int64(0)
		if s.ID == "s" {
			want = 1
		}
		if s.Readers != want {
			t.Errorf("list: %s readers = %d, want %d", s.ID, s.Readers, want)
		}
	}

	s := e.openSSE(t, sp+"?offset=now&live=sse")
	s.mustNext()
	waitReaders(2)

	appendTo(http.StatusNoContent, sp, textCT, "!")(t, e)
	select {
	case code := <-done:
		if code != http.StatusOK {
			t.Fatalf("long-poll answered %d, want 200", code)
		}
	case <-time.After(hangGuard):
		t.Fatal("the append did not wake the long-poll")
	}
	waitReaders(1) // the SSE reader stays
	e.must(http.StatusNoContent, http.MethodDelete, "/v1/stream/other", nil, "")
	e.must(http.StatusNoContent, http.MethodDelete, sp, nil, "") // ends the SSE response
	s.waitEnd()
	create(sp, textCT, "")(t, e)
	if n := readers("/v1/streams/s"); n != 0 {
		t.Errorf("re-created stream has %d readers", n)
	}
}

// TestInspectNamedProjectNeedsManage: the inspection API of a named
// project needs a manage token; ids may contain '/'.
func TestInspectNamedProjectNeedsManage(t *testing.T) {
	e := newEnv(t)
	e.project("acme")
	create("/v1/acme/stream/a/b", textCT, "hi", e.auth("acme", token.ScopeWrite))(t, e)
	for _, p := range []string{"/v1/acme/streams", "/v1/acme/streams/a/b"} {
		for _, c := range []struct {
			h    H
			want int
		}{
			{nil, http.StatusUnauthorized},
			{e.auth("acme", token.ScopeRead), http.StatusForbidden},
			{e.auth("acme", token.ScopeWrite), http.StatusForbidden},
			{e.auth("acme", token.ScopeManage), http.StatusOK},
		} {
			resp, body := e.do(http.MethodGet, p, c.h, "")
			if resp.StatusCode != c.want {
				t.Errorf("GET %s with %v: %d %q, want %d", p, c.h, resp.StatusCode, body, c.want)
			}
			checkCommon(t, http.MethodGet, resp, body)
		}
	}
	var d inspDetail
	e.getJSON(t, "/v1/acme/streams/a/b", e.auth("acme", token.ScopeManage), &d)
	if d.ID != "a/b" || d.Path != "/v1/acme/stream/a/b" || d.SizeBytes != 2 {
		t.Errorf("detail = %+v", d.inspStream)
	}
	// The default project's list does not show acme's streams.
	var l inspList
	e.getJSON(t, "/v1/streams", nil, &l)
	if len(l.Streams) != 0 {
		t.Errorf("default list shows %v", ids(l.Streams))
	}
}
