package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkSSEHeaders asserts the response headers of an SSE stream.
func checkSSEHeaders(t *testing.T, resp *http.Response, base64Enc bool) {
	t.Helper()
	checkCommon(t, http.MethodGet, resp, nil)
	if got := resp.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", got)
	}
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "no-cache") {
		t.Errorf("Cache-Control = %q, want no-cache", got)
	}
	if _, ok := resp.Header["Content-Length"]; ok || resp.ContentLength >= 0 {
		t.Errorf("SSE response has a Content-Length (%d)", resp.ContentLength)
	}
	enc, ok := resp.Header["Stream-Sse-Data-Encoding"]
	switch {
	case base64Enc && (!ok || enc[0] != "base64"):
		t.Errorf("Stream-SSE-Data-Encoding = %q, want base64", enc)
	case !base64Enc && ok:
		t.Errorf("Stream-SSE-Data-Encoding = %q on a text stream, want it absent", enc)
	}
}

// wantControl asserts one control event's fields. cursor: the control must
// carry a digits streamCursor (open) or none (closed).
func wantControl(t *testing.T, ev sseEvent, next string, upToDate, closed bool) map[string]any {
	t.Helper()
	c := control(t, ev)
	if c["streamNextOffset"] != next {
		t.Errorf("control streamNextOffset = %v, want %s (%s)", c["streamNextOffset"], next, ev.data())
	}
	if got, _ := c["upToDate"].(bool); got != upToDate && !(closed && !got) {
		t.Errorf("control upToDate = %v, want %v (%s)", c["upToDate"], upToDate, ev.data())
	}
	if got, _ := c["streamClosed"].(bool); got != closed {
		t.Errorf("control streamClosed = %v, want %v (%s)", c["streamClosed"], closed, ev.data())
	}
	cur, has := c["streamCursor"]
	if closed && has {
		t.Errorf("closed control carries streamCursor %v", cur)
	}
	if s, _ := cur.(string); !closed && !digitsRE.MatchString(s) {
		t.Errorf("open control streamCursor = %v, want decimal digits", cur)
	}
	return c
}

func TestSSEErrors(t *testing.T) {
	hello := create(sp, textCT, "hello")
	runScenarios(t, []scenario{
		{
			name: "400 without offset", setup: hello, method: http.MethodGet, path: sp + "?live=sse",
			wantStatus: http.StatusBadRequest, bodyContains: []string{"needs an offset"},
		},
		{
			name: "400 offset beyond the tail", setup: hello, method: http.MethodGet, path: sp + "?live=sse&offset=" + off(6),
			wantStatus: http.StatusBadRequest, bodyContains: wantCode("OFFSET_BEYOND_TAIL"),
		},
		{name: "404 missing stream", method: http.MethodGet, path: sp + "?live=sse&offset=-1", wantStatus: http.StatusNotFound},
		{name: "410 soft-deleted", setup: softDeletedSrc, method: http.MethodGet, path: srcP + "?live=sse&offset=-1", wantStatus: http.StatusGone},
	})
}

func TestSSETextFraming(t *testing.T) {
	e := newEnv(t)
	payload := "line1\nline2\r\nline3\rline4\n\nline6\r\n\r\nevent: control\n"
	create(sp, "text/plain; charset=utf-8", payload)(t, e)
	e.must(http.StatusNoContent, http.MethodPost, sp, H{"Stream-Closed": "true"}, "")
	s := e.openSSE(t, sp+"?offset=-1&live=sse")
	checkSSEHeaders(t, s.resp, false)

	ev := s.mustNext()
	if ev.Type != "data" {
		t.Fatalf("first event %q, want data", ev.Type)
	}
	want := []string{"line1", "line2", "line3", "line4", "", "line6", "", "event: control", ""}
	if strings.Join(ev.Data, "|") != strings.Join(want, "|") {
		t.Errorf("data lines %q, want %q", ev.Data, want)
	}
	wantControl(t, s.mustNext(), off(int64(len(payload))), true, true)
	if evs := s.waitEnd(); len(evs) != 0 {
		t.Errorf("events after the closing control: %+v", evs)
	}
	raw := s.rawText()
	if strings.Contains(raw, "\r") {
		t.Errorf("SSE output contains a CR: %q", raw)
	}
	for _, l := range []string{"event: data\n", "event: control\n", "\ndata:line1\n", "\ndata:line2\n"} {
		if !strings.Contains(raw, l) {
			t.Errorf("raw SSE output lacks %q: %q", l, raw)
		}
	}
	if strings.Contains(raw, "data: ") {
		t.Errorf("a data line has a space after the colon: %q", raw)
	}
}

func TestSSEJSON(t *testing.T) {
	e := newEnv(t)
	create(sp, jsonCT, `[1,{"a":"x\ny"}]`)(t, e)
	appendTo(http.StatusNoContent, sp, jsonCT, `["two"]`)(t, e)
	s := e.openSSE(t, sp+"?offset=-1&live=sse")
	checkSSEHeaders(t, s.resp, false)

	ev := s.mustNext()
	if ev.Type != "data" || len(ev.Data) != 1 {
		t.Fatalf("first event %q with %d data lines, want one data line", ev.Type, len(ev.Data))
	}
	var arr []any
	if err := json.Unmarshal([]byte(ev.data()), &arr); err != nil || len(arr) != 3 {
		t.Fatalf("data %q is not one JSON array of 3 messages: %v", ev.data(), err)
	}
	wantControl(t, s.mustNext(), off(3), true, false)

	// A live append is its own array.
	appendTo(http.StatusNoContent, sp, jsonCT, `[4,5]`)(t, e)
	ev = s.nextData()
	if ev.data() != "[4,5]" {
		t.Errorf("live data %q, want [4,5]", ev.data())
	}
	wantControl(t, s.mustNext(), off(5), true, false)
}

func TestSSEBinaryIsBase64(t *testing.T) {
	for _, ct := range []string{"application/octet-stream", "application/x-protobuf", "image/png", "application/ndjson"} {
		t.Run(ct, func(t *testing.T) {
			e := newEnv(t)
			payload := "\x00\x01\xff\r\n\n binary"
			create(sp, ct, payload)(t, e)
			s := e.openSSE(t, sp+"?offset=-1&live=sse")
			checkSSEHeaders(t, s.resp, true)
			ev := s.mustNext()
			if ev.Type != "data" || len(ev.Data) != 1 {
				t.Fatalf("event %q with %d data lines, want one data line", ev.Type, len(ev.Data))
			}
			if len(ev.data())%4 != 0 {
				t.Errorf("base64 %q is not padded", ev.data())
			}
			got, err := base64.StdEncoding.DecodeString(ev.data())
			if err != nil || string(got) != payload {
				t.Errorf("data %q decodes to %q (%v), want %q", ev.data(), got, err, payload)
			}
			wantControl(t, s.mustNext(), off(int64(len(payload))), true, false)

			appendTo(http.StatusNoContent, sp, ct, "x")(t, e)
			ev = s.nextData()
			if ev.data() != base64.StdEncoding.EncodeToString([]byte("x")) {
				t.Errorf("live data %q, want base64 of x", ev.data())
			}
		})
	}
}

func TestSSEEmptyAndNow(t *testing.T) {
	t.Run("empty stream", func(t *testing.T) {
		e := newEnv(t)
		create(sp, textCT, "")(t, e)
		s := e.openSSE(t, sp+"?offset=-1&live=sse")
		wantControl(t, s.mustNext(), off(0), true, false)
	})
	t.Run("offset=now skips existing data", func(t *testing.T) {
		e := newEnv(t)
		create(sp, textCT, "old")(t, e)
		s := e.openSSE(t, sp+"?offset=now&live=sse")
		wantControl(t, s.mustNext(), off(3), true, false)
		appendTo(http.StatusNoContent, sp, textCT, "new")(t, e)
		if ev := s.nextData(); ev.data() != "new" {
			t.Errorf("data %q, want new", ev.data())
		}
		wantControl(t, s.mustNext(), off(6), true, false)
	})
	t.Run("resume from an offset", func(t *testing.T) {
		e := newEnv(t)
		create(sp, textCT, "hello")(t, e)
		s := e.openSSE(t, sp+"?offset="+off(3)+"&live=sse")
		if ev := s.mustNext(); ev.Type != "data" || ev.data() != "lo" {
			t.Errorf("event %q %q, want data lo", ev.Type, ev.data())
		}
		wantControl(t, s.mustNext(), off(5), true, false)
	})
	t.Run("cursor grows past an echoed future cursor", func(t *testing.T) {
		e := newEnv(t)
		create(sp, textCT, "hello")(t, e)
		s := e.openSSE(t, sp+"?offset=-1&live=sse&cursor=999999999")
		s.nextData()
		c := wantControl(t, s.mustNext(), off(5), true, false)
		if cur, _ := c["streamCursor"].(string); parseInt(cur) <= 999999999 {
			t.Errorf("streamCursor = %q, want > 999999999", cur)
		}
	})
}

// TestSSEControlAfterEveryData pages a catch-up (small page size): every
// data event is followed at once by its control event, and only the last
// control is up to date.
func TestSSEControlAfterEveryData(t *testing.T) {
	e := newEnv(t, withPageBytes(4))
	create(sp, textCT, "aaaa")(t, e)
	appendTo(http.StatusNoContent, sp, textCT, "bbbb")(t, e)
	appendTo(http.StatusNoContent, sp, textCT, "cc")(t, e)
	s := e.openSSE(t, sp+"?offset=-1&live=sse")
	for i, want := range []struct {
		data string
		next int64
	}{{"aaaa", 4}, {"bbbb", 8}, {"cc", 10}} {
		ev := s.mustNext()
		if ev.Type != "data" || ev.data() != want.data {
			t.Fatalf("event %d: %q %q, want data %q", i, ev.Type, ev.data(), want.data)
		}
		wantControl(t, s.mustNext(), off(want.next), want.next == 10, false)
	}
	// Two appends while the reader waits still each get a control.
	appendTo(http.StatusNoContent, sp, textCT, "dd")(t, e)
	appendTo(http.StatusNoContent, sp, textCT, "ee")(t, e)
	var got string
	for got != "ddee" {
		ev := s.mustNext()
		if ev.Type == "control" {
			continue
		}
		got += ev.data()
		if c := control(t, s.mustNext()); c["streamNextOffset"] != off(int64(10+len(got))) {
			t.Errorf("control after %q: %v", got, c)
		}
	}
}

func TestSSEClose(t *testing.T) {
	t.Run("closed stream ends after the closing control", func(t *testing.T) {
		e := newEnv(t, withSSELifetime(time.Minute))
		create(sp, textCT, "bye", H{"Stream-Closed": "true"})(t, e)
		s := e.openSSE(t, sp+"?offset=-1&live=sse")
		if ev := s.mustNext(); ev.Type != "data" || ev.data() != "bye" {
			t.Fatalf("event %q %q, want data bye", ev.Type, ev.data())
		}
		wantControl(t, s.mustNext(), off(3), true, true)
		if evs := s.waitEnd(); len(evs) != 0 {
			t.Errorf("events after the closing control: %+v", evs)
		}
	})
	t.Run("closed at the tail sends only the closing control", func(t *testing.T) {
		e := newEnv(t, withSSELifetime(time.Minute))
		create(sp, textCT, "bye", H{"Stream-Closed": "true"})(t, e)
		s := e.openSSE(t, sp+"?offset=now&live=sse")
		wantControl(t, s.mustNext(), off(3), true, true)
		if evs := s.waitEnd(); len(evs) != 0 {
			t.Errorf("events after the closing control: %+v", evs)
		}
	})
	t.Run("live close", func(t *testing.T) {
		e := newEnv(t, withSSELifetime(time.Minute))
		create(sp, textCT, "hi")(t, e)
		s := e.openSSE(t, sp+"?offset=-1&live=sse")
		s.nextData()
		wantControl(t, s.mustNext(), off(2), true, false)
		waitForWaiters(t, 1)
		e.must(http.StatusNoContent, http.MethodPost, sp, H{"Stream-Closed": "true"}, "")
		wantControl(t, s.mustNext(), off(2), true, true)
		if evs := s.waitEnd(); len(evs) != 0 {
			t.Errorf("events after the closing control: %+v", evs)
		}
	})
	t.Run("data appended with the close comes before the closing control", func(t *testing.T) {
		e := newEnv(t, withSSELifetime(time.Minute))
		create(sp, textCT, "hi")(t, e)
		s := e.openSSE(t, sp+"?offset=-1&live=sse")
		s.nextData()
		s.mustNext()
		waitForWaiters(t, 1)
		appendTo(http.StatusNoContent, sp, textCT, "last", H{"Stream-Closed": "true"})(t, e)
		if ev := s.nextData(); ev.data() != "last" {
			t.Errorf("data %q, want last", ev.data())
		}
		wantControl(t, s.mustNext(), off(6), true, true)
		if evs := s.waitEnd(); len(evs) != 0 {
			t.Errorf("events after the closing control: %+v", evs)
		}
	})
}

func TestSSELive(t *testing.T) {
	e := newEnv(t, withSSELifetime(time.Minute))
	create(sp, textCT, "a")(t, e)
	s := e.openSSE(t, sp+"?offset=-1&live=sse")
	if ev := s.nextData(); ev.data() != "a" {
		t.Fatalf("data %q, want a", ev.data())
	}
	wantControl(t, s.mustNext(), off(1), true, false)
	for i, msg := range []string{"b", "c\r\nd", "e"} {
		waitForWaiters(t, 1)
		appendTo(http.StatusNoContent, sp, textCT, msg)(t, e)
		ev := s.nextData()
		if want := strings.ReplaceAll(msg, "\r\n", "\n"); ev.data() != want {
			t.Errorf("append %d: data %q, want %q", i, ev.data(), want)
		}
		ctl := s.mustNext()
		if ctl.Type != "control" {
			t.Fatalf("append %d: %q event after data, want control", i, ctl.Type)
		}
	}
	// Idle periods send control events (the long-poll timeout is 200 ms).
	ev := s.mustNext()
	wantControl(t, ev, off(7), true, false)
	if strings.Contains(s.rawText(), "\r") {
		t.Errorf("SSE output contains a CR")
	}
}

func TestSSEEnds(t *testing.T) {
	t.Run("Stop", func(t *testing.T) {
		e := newEnv(t, withSSELifetime(time.Minute), withLongPoll(time.Minute))
		create(sp, textCT, "a")(t, e)
		s := e.openSSE(t, sp+"?offset=-1&live=sse")
		s.nextData()
		s.mustNext()
		waitForWaiters(t, 1)
		e.h.Stop()
		s.waitEnd()
		// The server is still serving ordinary requests.
		e.must(http.StatusOK, http.MethodHead, sp, nil, "")
	})
	t.Run("lifetime", func(t *testing.T) {
		e := newEnv(t, withSSELifetime(100*time.Millisecond), withLongPoll(time.Minute))
		create(sp, textCT, "a")(t, e)
		s := e.openSSE(t, sp+"?offset=-1&live=sse")
		s.nextData()
		wantControl(t, s.mustNext(), off(1), true, false)
		s.waitEnd()
	})
	t.Run("client disconnect releases the waiter", func(t *testing.T) {
		e := newEnv(t, withSSELifetime(time.Minute), withLongPoll(time.Minute))
		create(sp, textCT, "a")(t, e)
		done := e.awaitHandler("sse-1")
		req := e.newRequest(t.Context(), http.MethodGet, sp+"?offset=-1&live=sse", H{"X-Test-Req": "sse-1"}, "")
		client := &http.Client{Transport: e.client.Transport}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		if _, err := resp.Body.Read(buf); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		waitFor(t, done, "the SSE handler to return after the client left")
	})
}

func parseInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}
