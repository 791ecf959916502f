package httpapi_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/token"
)

const (
	sp     = "/v1/stream/s"   // the stream most scenarios use
	srcP   = "/v1/stream/src" // a fork source
	forkP  = "/v1/stream/f"   // a fork
	textCT = "text/plain"
	jsonCT = "application/json"
)

// softDeletedSrc leaves srcP soft-deleted: it has a live fork, forkP.
var softDeletedSrc = steps(
	create(srcP, textCT, "hello"),
	create(forkP, "", "", H{"Stream-Forked-From": srcP}),
	doStep(http.StatusNoContent, http.MethodDelete, srcP, nil, ""),
)

func wantCode(code string) []string { return []string{`"code":"` + code + `"`} }

func TestPut(t *testing.T) {
	hello := create(sp, textCT, "hello")
	withTTL := create(sp, textCT, "", H{"Stream-TTL": "60"})
	src := create(srcP, textCT, "hello")
	scenarios := []scenario{
		{
			name: "201 new stream echoes content type, tail and absolute Location", method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT}, body: "hello", wantStatus: http.StatusCreated,
			wantHeaders:   H{"Content-Type": textCT, "Stream-Next-Offset": off(5), "Location": "{base}" + sp, "Cache-Control": "no-store"},
			absentHeaders: []string{"Stream-Closed", "Stream-TTL", "Stream-Expires-At", "ETag"}, wantBody: ptr(""),
		},
		{
			name: "201 without content type defaults to octet-stream", method: http.MethodPut, path: sp,
			wantStatus: http.StatusCreated, wantHeaders: H{"Content-Type": "application/octet-stream", "Stream-Next-Offset": off(0)},
		},
		{
			name: "201 content type with params is echoed exactly", method: http.MethodPut, path: sp,
			headers: H{"Content-Type": "text/plain; charset=utf-8"}, wantStatus: http.StatusCreated,
			wantHeaders: H{"Content-Type": "text/plain; charset=utf-8"},
		},
		{
			name: "201 JSON empty array creates empty stream", method: http.MethodPut, path: sp,
			headers: H{"Content-Type": jsonCT}, body: "[]", wantStatus: http.StatusCreated,
			wantHeaders: H{"Stream-Next-Offset": off(0)},
		},
		{
			name: "201 JSON array is flattened one level", method: http.MethodPut, path: sp,
			headers: H{"Content-Type": jsonCT}, body: `[1,[2,3],{"a":4}]`, wantStatus: http.StatusCreated,
			wantHeaders: H{"Stream-Next-Offset": off(3)},
		},
		{
			name: "201 closed", method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT, "Stream-Closed": "true"}, body: "all", wantStatus: http.StatusCreated,
			wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(3)},
		},
		{
			name: "201 with TTL echoes it", method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT, "Stream-TTL": "3600"}, wantStatus: http.StatusCreated,
			wantHeaders: H{"Stream-TTL": "3600"}, absentHeaders: []string{"Stream-Expires-At"},
		},
		{
			name: "201 with Expires-At in a zone offset echoes it in UTC", method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT, "Stream-Expires-At": "2099-01-02T15:04:05+02:00"}, wantStatus: http.StatusCreated,
			wantHeaders: H{"Stream-Expires-At": "2099-01-02T13:04:05Z"}, absentHeaders: []string{"Stream-TTL"},
		},
		{
			name: "201 id with slashes and percent-encoded slash", method: http.MethodPut, path: "/v1/stream/a/b%2Fc",
			wantStatus: http.StatusCreated, wantHeaders: H{"Location": "{base}/v1/stream/a/b%2Fc"},
		},
		{
			name: "201 re-create after delete", setup: steps(hello, doStep(http.StatusNoContent, http.MethodDelete, sp, nil, "")),
			method: http.MethodPut, path: sp, headers: H{"Content-Type": jsonCT}, wantStatus: http.StatusCreated,
			wantHeaders: H{"Content-Type": jsonCT, "Stream-Next-Offset": off(0)},
		},
		{
			name: "200 same config", setup: hello, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT}, wantStatus: http.StatusOK,
			wantHeaders:   H{"Content-Type": textCT, "Stream-Next-Offset": off(5), "Cache-Control": "no-store"},
			absentHeaders: []string{"Location", "Stream-Closed"},
		},
		{
			name: "200 media type compared case-insensitively without params", setup: hello, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": "TEXT/Plain; charset=utf-8"}, wantStatus: http.StatusOK,
		},
		{
			name: "200 same TTL", setup: withTTL, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT, "Stream-TTL": "60"}, wantStatus: http.StatusOK, wantHeaders: H{"Stream-TTL": "60"},
		},
		{
			name: "200 closed again", setup: create(sp, textCT, "x", H{"Stream-Closed": "true"}), method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT, "Stream-Closed": "true"}, wantStatus: http.StatusOK, wantHeaders: H{"Stream-Closed": "true"},
		},
		{
			name: "409 different content type", setup: hello, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": jsonCT}, wantStatus: http.StatusConflict, bodyContains: wantCode("CONFLICT"),
		},
		{
			name: "409 different TTL", setup: withTTL, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT, "Stream-TTL": "61"}, wantStatus: http.StatusConflict,
		},
		{
			name: "409 TTL dropped", setup: withTTL, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT}, wantStatus: http.StatusConflict,
		},
		{
			name: "409 Expires-At instead of TTL", setup: withTTL, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT, "Stream-Expires-At": "2099-01-01T00:00:00Z"}, wantStatus: http.StatusConflict,
		},
		{
			name: "409 closing an open stream by PUT", setup: hello, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT, "Stream-Closed": "true"}, wantStatus: http.StatusConflict,
		},
		{
			name: "409 PUT without Stream-Closed on a closed stream", setup: create(sp, textCT, "x", H{"Stream-Closed": "true"}),
			method: http.MethodPut, path: sp, headers: H{"Content-Type": textCT}, wantStatus: http.StatusConflict,
		},
		{
			name: "409 path of a soft-deleted stream", setup: softDeletedSrc, method: http.MethodPut, path: srcP,
			headers: H{"Content-Type": textCT}, wantStatus: http.StatusConflict,
		},
		{
			name: "400 TTL and Expires-At together", method: http.MethodPut, path: sp,
			headers: H{"Stream-TTL": "60", "Stream-Expires-At": "2099-01-01T00:00:00Z"}, wantStatus: http.StatusBadRequest,
			bodyContains: wantCode("BAD_REQUEST"), check: streamAbsent(sp),
		},
	}
	for _, ttl := range []string{"00060", "+60", "60.5", "1e3", "-1", "abc", "", "0x10", "99999999999999999"} {
		scenarios = append(scenarios, scenario{
			name: "400 TTL " + strconv.Quote(ttl), method: http.MethodPut, path: sp,
			headers: H{"Stream-TTL": ttl}, wantStatus: http.StatusBadRequest, bodyContains: []string{"Stream-TTL"},
			check: streamAbsent(sp),
		})
	}
	for _, at := range []string{"tomorrow", "2099-01-02", "2099-01-02 15:04:05Z", "4070908800", ""} {
		scenarios = append(scenarios, scenario{
			name: "400 Expires-At " + strconv.Quote(at), method: http.MethodPut, path: sp,
			headers: H{"Stream-Expires-At": at}, wantStatus: http.StatusBadRequest, bodyContains: []string{"Stream-Expires-At"},
			check: streamAbsent(sp),
		})
	}
	scenarios = append(scenarios, []scenario{
		{
			name: "400 invalid JSON body in JSON mode", method: http.MethodPut, path: sp,
			headers: H{"Content-Type": jsonCT}, body: "{nope", wantStatus: http.StatusBadRequest, check: streamAbsent(sp),
		},
		{
			name: "400 empty stream id", method: http.MethodPut, path: "/v1/stream/", wantStatus: http.StatusBadRequest,
		},
		{
			name: "400 control character in id", method: http.MethodPut, path: "/v1/stream/a%01b", wantStatus: http.StatusBadRequest,
		},
		{
			name: "400 id longer than 1024 bytes", method: http.MethodPut, path: "/v1/stream/" + strings.Repeat("x", 1025),
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "201 id of 1024 bytes", method: http.MethodPut, path: "/v1/stream/" + strings.Repeat("x", 1024),
			wantStatus: http.StatusCreated,
		},
		{
			name: "413 body over MaxBodyBytes", opts: []option{withMaxBody(16)}, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT}, body: strings.Repeat("x", 17), wantStatus: http.StatusRequestEntityTooLarge,
			bodyContains: wantCode("PAYLOAD_TOO_LARGE"), check: streamAbsent(sp),
		},
		{
			name: "201 body of exactly MaxBodyBytes", opts: []option{withMaxBody(16)}, method: http.MethodPut, path: sp,
			headers: H{"Content-Type": textCT}, body: strings.Repeat("x", 16), wantStatus: http.StatusCreated,
			wantHeaders: H{"Stream-Next-Offset": off(16)},
		},

		// Forks.
		{
			name: "201 fork inherits content type and tail, echoes no fork headers", setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": srcP}, wantStatus: http.StatusCreated,
			wantHeaders:   H{"Content-Type": textCT, "Stream-Next-Offset": off(5)},
			absentHeaders: []string{"Stream-Forked-From", "Stream-Fork-Offset", "Stream-Fork-Sub-Offset"},
		},
		{
			name: "201 fork from zero offset", setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(0)}, wantStatus: http.StatusCreated,
			wantHeaders: H{"Stream-Next-Offset": off(0)},
		},
		{
			name: "201 fork sub-offset materializes a partial message", setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(2), "Stream-Fork-Sub-Offset": "1"}, body: "XY",
			wantStatus: http.StatusCreated, wantHeaders: H{"Stream-Next-Offset": off(5)},
			check: func(t *testing.T, e *env, _ *http.Response, _ []byte) {
				if got := e.readAll(forkP); got != "helXY" {
					t.Errorf("fork reads %q, want helXY", got)
				}
			},
		},
		{
			name: "201 fork source given percent-encoded", setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": "/v1/stream/sr%63"}, wantStatus: http.StatusCreated,
		},
		{
			name: "200 fork re-PUT with the same config", setup: steps(src, create(forkP, "", "", H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(2)})),
			method: http.MethodPut, path: forkP, headers: H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(2)},
			wantStatus: http.StatusOK, wantHeaders: H{"Stream-Next-Offset": off(2)},
		},
		{
			name: "409 fork re-PUT with another fork offset", setup: steps(src, create(forkP, "", "", H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(2)})),
			method: http.MethodPut, path: forkP, headers: H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(3)},
			wantStatus: http.StatusConflict,
		},
		{
			name: "409 fork re-PUT with another source", setup: steps(src, create("/v1/stream/src2", textCT, "hello"), create(forkP, "", "", H{"Stream-Forked-From": srcP})),
			method: http.MethodPut, path: forkP, headers: H{"Stream-Forked-From": "/v1/stream/src2"},
			wantStatus: http.StatusConflict,
		},
		{
			name: "409 plain stream re-PUT as a fork", setup: steps(src, create(forkP, textCT, "hello")),
			method: http.MethodPut, path: forkP, headers: H{"Stream-Forked-From": srcP}, wantStatus: http.StatusConflict,
		},
		{
			name: "409 fork content type differs from source", setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": srcP, "Content-Type": jsonCT}, wantStatus: http.StatusConflict,
			bodyContains: wantCode("CONTENT_TYPE_MISMATCH"), check: streamAbsent(forkP),
		},
		{
			name: "409 fork from soft-deleted source", setup: softDeletedSrc, method: http.MethodPut, path: "/v1/stream/f2",
			headers: H{"Stream-Forked-From": srcP}, wantStatus: http.StatusConflict, check: streamAbsent("/v1/stream/f2"),
		},
		{
			name: "404 fork source missing", method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": "/v1/stream/missing"}, wantStatus: http.StatusNotFound,
			bodyContains: wantCode("NOT_FOUND"), check: streamAbsent(forkP),
		},
		{
			name: "403 fork source in another project", setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": "/v1/other/stream/src"}, wantStatus: http.StatusForbidden,
		},
		{
			name: "400 fork source is not a stream path", setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": "/health"}, wantStatus: http.StatusBadRequest,
		},
		{
			name: "400 fork offset beyond source tail", setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(6)}, wantStatus: http.StatusBadRequest,
			check: streamAbsent(forkP),
		},
		{
			name: "400 fork offset without source", method: http.MethodPut, path: forkP,
			headers: H{"Stream-Fork-Offset": off(0)}, wantStatus: http.StatusBadRequest,
		},
		{
			name: "400 sub-offset 0 without fork source", method: http.MethodPut, path: forkP,
			headers: H{"Stream-Fork-Sub-Offset": "0"}, wantStatus: http.StatusBadRequest, check: streamAbsent(forkP),
		},
		{
			name: "400 sub-offset 1 without fork source", method: http.MethodPut, path: forkP,
			headers: H{"Stream-Fork-Sub-Offset": "1", "Stream-Fork-Offset": off(0)}, wantStatus: http.StatusBadRequest,
		},
		{
			name: "400 sub-offset without explicit fork offset", setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": srcP, "Stream-Fork-Sub-Offset": "1"}, wantStatus: http.StatusBadRequest,
		},
		{
			name: "400 sub-offset past the message end", setup: src, method: http.MethodPut, path: forkP,
			headers:    H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(2), "Stream-Fork-Sub-Offset": "4"},
			wantStatus: http.StatusBadRequest, check: streamAbsent(forkP),
		},
		{
			name: "400 sub-offset on an empty source", setup: create(srcP, textCT, ""), method: http.MethodPut, path: forkP,
			headers:    H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(0), "Stream-Fork-Sub-Offset": "1"},
			wantStatus: http.StatusBadRequest,
		},
	}...)
	for _, fo := range []string{"abc", "-1", "now", "0000000000000000-0000000000000001", "0000000000000001_0000000000000000", "000000000000000_00000000000000001", ""} {
		scenarios = append(scenarios, scenario{
			name: "400 malformed fork offset " + strconv.Quote(fo), setup: src, method: http.MethodPut, path: forkP,
			headers: H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": fo}, wantStatus: http.StatusBadRequest,
			check: streamAbsent(forkP),
		})
	}
	for _, so := range []string{"-1", "abc", "1.5", "05", "+1", ""} {
		scenarios = append(scenarios, scenario{
			name: "400 malformed sub-offset " + strconv.Quote(so), setup: src, method: http.MethodPut, path: forkP,
			headers:    H{"Stream-Forked-From": srcP, "Stream-Fork-Offset": off(0), "Stream-Fork-Sub-Offset": so},
			wantStatus: http.StatusBadRequest, check: streamAbsent(forkP),
		})
	}
	forEachStore(t, func(t *testing.T, opts ...option) { runScenarios(t, scenarios, opts...) })
}

// forEachStore runs fn once on memstore and once on SQLite.
func forEachStore(t *testing.T, fn func(t *testing.T, opts ...option)) {
	t.Run("memstore", func(t *testing.T) { fn(t) })
	t.Run("sqlite", func(t *testing.T) { fn(t, withSQLite()) })
}

// streamAbsent checks that a rejected request left no stream behind.
func streamAbsent(path string) func(t *testing.T, e *env, _ *http.Response, _ []byte) {
	return func(t *testing.T, e *env, _ *http.Response, _ []byte) {
		t.Helper()
		if resp, _ := e.do(http.MethodHead, path, nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("HEAD %s after the rejected request: %d, want 404", path, resp.StatusCode)
		}
	}
}

// tailIs checks the stream's tail and content after the request.
func tailIs(path string, pos int64, content string) func(t *testing.T, e *env, _ *http.Response, _ []byte) {
	return func(t *testing.T, e *env, _ *http.Response, _ []byte) {
		t.Helper()
		if got := e.tail(path); got != off(pos) {
			t.Errorf("tail of %s = %s, want %s", path, got, off(pos))
		}
		if got := e.readAll(path); got != content {
			t.Errorf("%s reads %q, want %q", path, got, content)
		}
	}
}

func TestPost(t *testing.T) {
	hello := create(sp, textCT, "hello")
	closed := create(sp, textCT, "hello", H{"Stream-Closed": "true"})
	jsonS := create(sp, jsonCT, "")
	p0 := appendTo(http.StatusOK, sp, textCT, "a", producer("p", "0", "0"))
	p1 := appendTo(http.StatusOK, sp, textCT, "b", producer("p", "0", "1"))
	scenarios := []scenario{
		{
			name: "204 append", setup: hello, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": textCT}, body: "abc", wantStatus: http.StatusNoContent,
			wantHeaders:   H{"Stream-Next-Offset": off(8), "Cache-Control": "no-store"},
			absentHeaders: []string{"Stream-Closed", "Producer-Epoch", "Producer-Seq", "ETag"},
			check:         tailIs(sp, 8, "helloabc"),
		},
		{
			name: "204 content type compared without case or params", setup: hello, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": "Text/Plain; charset=utf-8"}, body: "abc", wantStatus: http.StatusNoContent,
		},
		{
			name: "204 append and close", setup: hello, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": textCT, "Stream-Closed": "true"}, body: "!", wantStatus: http.StatusNoContent,
			wantHeaders: H{"Stream-Next-Offset": off(6), "Stream-Closed": "true"},
		},
		{
			name: "204 close-only", setup: hello, method: http.MethodPost, path: sp,
			headers: H{"Stream-Closed": "true"}, wantStatus: http.StatusNoContent,
			wantHeaders: H{"Stream-Next-Offset": off(5), "Stream-Closed": "true"},
		},
		{
			name: "204 close-only ignores a mismatched content type", setup: hello, method: http.MethodPost, path: sp,
			headers: H{"Stream-Closed": "TRUE", "Content-Type": jsonCT}, wantStatus: http.StatusNoContent,
			wantHeaders: H{"Stream-Closed": "true"},
		},
		{
			name: "204 close-only again on a closed stream", setup: closed, method: http.MethodPost, path: sp,
			headers: H{"Stream-Closed": "true"}, wantStatus: http.StatusNoContent,
			wantHeaders: H{"Stream-Next-Offset": off(5), "Stream-Closed": "true"},
		},
		{
			name: "204 JSON array appends each element", setup: jsonS, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": jsonCT}, body: `[1,[2],{"a":3}]`, wantStatus: http.StatusNoContent,
			wantHeaders: H{"Stream-Next-Offset": off(3)}, check: tailIs(sp, 3, `[1,[2],{"a":3}]`),
		},
		{
			name: "204 Stream-Seq increasing bytewise", setup: steps(hello, appendTo(http.StatusNoContent, sp, textCT, "a", H{"Stream-Seq": "09"})),
			method: http.MethodPost, path: sp, headers: H{"Content-Type": textCT, "Stream-Seq": "10"}, body: "b", wantStatus: http.StatusNoContent,
		},
		{
			name: "409 Stream-Seq regression 2 then 10", setup: steps(hello, appendTo(http.StatusNoContent, sp, textCT, "a", H{"Stream-Seq": "2"})),
			method: http.MethodPost, path: sp, headers: H{"Content-Type": textCT, "Stream-Seq": "10"}, body: "b",
			wantStatus: http.StatusConflict, bodyContains: wantCode("SEQ_REGRESSION"), check: tailIs(sp, 6, "helloa"),
		},
		{
			name: "409 Stream-Seq repeated", setup: steps(hello, appendTo(http.StatusNoContent, sp, textCT, "a", H{"Stream-Seq": "x"})),
			method: http.MethodPost, path: sp, headers: H{"Content-Type": textCT, "Stream-Seq": "x"}, body: "b",
			wantStatus: http.StatusConflict,
		},
		{
			name: "409 content type mismatch", setup: hello, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": jsonCT}, body: "{}", wantStatus: http.StatusConflict,
			bodyContains: wantCode("CONTENT_TYPE_MISMATCH"), check: tailIs(sp, 5, "hello"),
		},
		{
			name: "409 closed stream gives Stream-Closed and final offset", setup: closed, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": textCT}, body: "more", wantStatus: http.StatusConflict,
			wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(5)}, bodyContains: wantCode("STREAM_CLOSED"),
			check: tailIs(sp, 5, "hello"),
		},
		{
			name: "409 closed stream with body and Stream-Closed", setup: closed, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": textCT, "Stream-Closed": "true"}, body: "more", wantStatus: http.StatusConflict,
			wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(5)},
		},
		{
			name: "409 closed stream wins over content type mismatch", setup: closed, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": "application/octet-stream"}, body: "more", wantStatus: http.StatusConflict,
			wantHeaders: H{"Stream-Closed": "true"},
		},
		{
			name: "400 missing content type", setup: hello, method: http.MethodPost, path: sp,
			body: "abc", wantStatus: http.StatusBadRequest, bodyContains: wantCode("BAD_REQUEST"), check: tailIs(sp, 5, "hello"),
		},
		{
			name: "400 empty body", setup: hello, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": textCT}, wantStatus: http.StatusBadRequest, check: tailIs(sp, 5, "hello"),
		},
		{
			name: "400 empty body with Stream-Closed other than true", setup: hello, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": textCT, "Stream-Closed": "yes"}, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, e *env, _ *http.Response, _ []byte) {
				if h := e.must(http.StatusOK, http.MethodHead, sp, nil, "").Header; h.Get("Stream-Closed") != "" {
					t.Errorf("Stream-Closed: yes closed the stream")
				}
			},
		},
		{
			name: "400 JSON empty array", setup: jsonS, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": jsonCT}, body: "[]", wantStatus: http.StatusBadRequest, check: tailIs(sp, 0, "[]"),
		},
		{
			name: "400 invalid JSON", setup: jsonS, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": jsonCT}, body: `{"a":`, wantStatus: http.StatusBadRequest, check: tailIs(sp, 0, "[]"),
		},
		{
			name: "404 missing stream", method: http.MethodPost, path: sp,
			headers: H{"Content-Type": textCT}, body: "abc", wantStatus: http.StatusNotFound, bodyContains: wantCode("NOT_FOUND"),
		},
		{
			name: "410 soft-deleted stream", setup: softDeletedSrc, method: http.MethodPost, path: srcP,
			headers: H{"Content-Type": textCT}, body: "abc", wantStatus: http.StatusGone, bodyContains: wantCode("GONE"),
		},
		{
			name: "413 body over MaxBodyBytes", opts: []option{withMaxBody(16)}, setup: hello, method: http.MethodPost, path: sp,
			headers: H{"Content-Type": textCT}, body: strings.Repeat("x", 17), wantStatus: http.StatusRequestEntityTooLarge,
			bodyContains: wantCode("PAYLOAD_TOO_LARGE"), check: tailIs(sp, 5, "hello"),
		},

		// Idempotent producers.
		{
			name: "200 first producer append", setup: hello, method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("p", "0", "0")), body: "abc", wantStatus: http.StatusOK,
			wantHeaders:   H{"Producer-Epoch": "0", "Producer-Seq": "0", "Stream-Next-Offset": off(8), "Cache-Control": "no-store"},
			absentHeaders: []string{"Stream-Closed"}, wantBody: ptr(""),
		},
		{
			name: "200 next producer seq", setup: steps(hello, p0), method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("p", "0", "1")), body: "b", wantStatus: http.StatusOK,
			wantHeaders: H{"Producer-Seq": "1", "Stream-Next-Offset": off(7)},
		},
		{
			name: "204 duplicate returns highest accepted seq", setup: steps(hello, p0, p1), method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("p", "0", "0")), body: "a", wantStatus: http.StatusNoContent,
			wantHeaders: H{"Producer-Epoch": "0", "Producer-Seq": "1", "Stream-Next-Offset": off(7)},
			check:       tailIs(sp, 7, "helloab"),
		},
		{
			name: "204 duplicate of the last seq", setup: steps(hello, p0), method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("p", "0", "0")), body: "a", wantStatus: http.StatusNoContent,
			wantHeaders: H{"Producer-Seq": "0", "Stream-Next-Offset": off(6)}, check: tailIs(sp, 6, "helloa"),
		},
		{
			name: "204 duplicate wins over a Stream-Seq regression", setup: steps(hello, appendTo(http.StatusOK, sp, textCT, "a", producer("p", "0", "0"), H{"Stream-Seq": "5"})),
			method: http.MethodPost, path: sp, headers: merge(H{"Content-Type": textCT, "Stream-Seq": "5"}, producer("p", "0", "0")), body: "a",
			wantStatus: http.StatusNoContent,
		},
		{
			name: "200 new epoch at seq 0", setup: steps(hello, p0, p1), method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("p", "1", "0")), body: "c", wantStatus: http.StatusOK,
			wantHeaders: H{"Producer-Epoch": "1", "Producer-Seq": "0"},
		},
		{
			name: "400 new epoch not at seq 0", setup: steps(hello, p0), method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("p", "1", "1")), body: "c", wantStatus: http.StatusBadRequest,
			check: tailIs(sp, 6, "helloa"),
		},
		{
			name: "400 new producer not at seq 0", setup: hello, method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("p", "0", "1")), body: "c", wantStatus: http.StatusBadRequest,
		},
		{
			name: "403 stale epoch gives the current epoch", setup: steps(hello, appendTo(http.StatusOK, sp, textCT, "a", producer("p", "1", "0"))),
			method: http.MethodPost, path: sp, headers: merge(H{"Content-Type": textCT}, producer("p", "0", "0")), body: "z",
			wantStatus: http.StatusForbidden, wantHeaders: H{"Producer-Epoch": "1"}, bodyContains: wantCode("STALE_EPOCH"),
			absentHeaders: []string{"Producer-Expected-Seq"}, check: tailIs(sp, 6, "helloa"),
		},
		{
			name: "409 seq gap gives expected and received", setup: steps(hello, p0), method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("p", "0", "2")), body: "z", wantStatus: http.StatusConflict,
			wantHeaders: H{"Producer-Expected-Seq": "1", "Producer-Received-Seq": "2"}, bodyContains: wantCode("PRODUCER_SEQ_GAP"),
			check: tailIs(sp, 6, "helloa"),
		},
		{
			name: "200 producer append and close", setup: hello, method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT, "Stream-Closed": "true"}, producer("p", "0", "0")), body: "!",
			wantStatus: http.StatusOK, wantHeaders: H{"Stream-Closed": "true", "Producer-Epoch": "0", "Producer-Seq": "0", "Stream-Next-Offset": off(6)},
		},
		{
			name: "204 producer close-only", setup: steps(hello, p0), method: http.MethodPost, path: sp,
			headers: merge(H{"Stream-Closed": "true"}, producer("p", "0", "1")), wantStatus: http.StatusNoContent,
			wantHeaders: H{"Stream-Closed": "true", "Producer-Epoch": "0", "Producer-Seq": "1", "Stream-Next-Offset": off(6)},
		},
		{
			name:   "204 retry of the closing tuple with another body",
			setup:  steps(hello, appendTo(http.StatusOK, sp, textCT, "!", producer("p", "0", "0"), H{"Stream-Closed": "true"})),
			method: http.MethodPost, path: sp, headers: merge(H{"Content-Type": textCT, "Stream-Closed": "true"}, producer("p", "0", "0")),
			body: "different", wantStatus: http.StatusNoContent, wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(6)},
			check: tailIs(sp, 6, "hello!"),
		},
		{
			name: "409 other tuple on a closed stream", setup: steps(hello, p0, doStep(http.StatusNoContent, http.MethodPost, sp, H{"Stream-Closed": "true"}, "")),
			method: http.MethodPost, path: sp, headers: merge(H{"Content-Type": textCT}, producer("p", "0", "1")), body: "b",
			wantStatus: http.StatusConflict, wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(6)},
		},
		{
			name: "404 producer append to missing stream", method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("p", "0", "0")), body: "a", wantStatus: http.StatusNotFound,
		},
		{
			name: "409 producer append with content type mismatch", setup: hello, method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": "application/octet-stream"}, producer("p", "0", "0")), body: "a", wantStatus: http.StatusConflict,
		},
		{
			name: "400 producer JSON empty array", setup: jsonS, method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": jsonCT}, producer("p", "0", "0")), body: "[]", wantStatus: http.StatusBadRequest,
		},
		{
			name: "400 empty Producer-Id", setup: hello, method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer("", "0", "0")), body: "a", wantStatus: http.StatusBadRequest,
			bodyContains: []string{"Producer-Id must not be empty"}, check: tailIs(sp, 5, "hello"),
		},
		{
			name: "200 Producer-Id of 256 allowed characters", setup: hello, method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, producer(strings.Repeat("aZ9_-:.", 37)[:256], "0", "0")), body: "a",
			wantStatus: http.StatusOK,
		},
	}
	partial := []H{
		{"Producer-Id": "p"},
		{"Producer-Id": "p", "Producer-Epoch": "0"},
		{"Producer-Id": "p", "Producer-Seq": "0"},
		{"Producer-Epoch": "0", "Producer-Seq": "0"},
		{"Producer-Seq": "0"},
	}
	for _, ph := range partial {
		keys := make([]string, 0, len(ph))
		for _, k := range []string{"Producer-Id", "Producer-Epoch", "Producer-Seq"} {
			if _, ok := ph[k]; ok {
				keys = append(keys, k)
			}
		}
		scenarios = append(scenarios, scenario{
			name: "400 partial producer headers " + strings.Join(keys, "+"), setup: hello, method: http.MethodPost, path: sp,
			headers: merge(H{"Content-Type": textCT}, ph), body: "a", wantStatus: http.StatusBadRequest,
			bodyContains: []string{"must be sent together"}, check: tailIs(sp, 5, "hello"),
		})
	}
	for _, bad := range []string{"1abc", "0xyz", "1e3", "-1", "01", "+1", "1.0", " ", "9007199254740992"} {
		scenarios = append(scenarios,
			scenario{
				name: "400 Producer-Epoch " + strconv.Quote(bad), setup: hello, method: http.MethodPost, path: sp,
				headers: merge(H{"Content-Type": textCT}, producer("p", bad, "0")), body: "a", wantStatus: http.StatusBadRequest,
				check: tailIs(sp, 5, "hello"),
			},
			scenario{
				name: "400 Producer-Seq " + strconv.Quote(bad), setup: hello, method: http.MethodPost, path: sp,
				headers: merge(H{"Content-Type": textCT}, producer("p", "0", bad)), body: "a", wantStatus: http.StatusBadRequest,
				check: tailIs(sp, 5, "hello"),
			})
	}
	scenarios = append(scenarios, scenario{
		name: "200 Producer-Epoch 2^53-1", setup: hello, method: http.MethodPost, path: sp,
		headers: merge(H{"Content-Type": textCT}, producer("p", "9007199254740991", "0")), body: "a", wantStatus: http.StatusOK,
		wantHeaders: H{"Producer-Epoch": "9007199254740991"},
	})
	forEachStore(t, func(t *testing.T, opts ...option) { runScenarios(t, scenarios, opts...) })
}

func TestGetCatchUp(t *testing.T) {
	hello := create(sp, textCT, "hello")
	jsonS := create(sp, jsonCT, `[1,"two",{"three":3}]`)
	scenarios := []scenario{
		{
			name: "200 from the start", setup: hello, method: http.MethodGet, path: sp, wantStatus: http.StatusOK,
			wantHeaders: H{"Content-Type": textCT, "Stream-Next-Offset": off(5), "Stream-Up-To-Date": "true",
				"Cache-Control": "no-cache", "Content-Length": "5"},
			absentHeaders: []string{"Stream-Closed", "Stream-Cursor"}, wantBody: ptr("hello"), check: hasETag,
		},
		{
			name: "200 offset -1", setup: hello, method: http.MethodGet, path: sp + "?offset=-1", wantStatus: http.StatusOK,
			wantBody: ptr("hello"), wantHeaders: H{"Stream-Next-Offset": off(5)},
		},
		{
			name: "200 from the middle", setup: hello, method: http.MethodGet, path: sp + "?offset=" + off(2), wantStatus: http.StatusOK,
			wantBody: ptr("llo"), wantHeaders: H{"Stream-Next-Offset": off(5), "Stream-Up-To-Date": "true"},
		},
		{
			name: "200 at the tail is empty and up to date", setup: hello, method: http.MethodGet, path: sp + "?offset=" + off(5),
			wantStatus: http.StatusOK, wantBody: ptr(""),
			wantHeaders: H{"Stream-Next-Offset": off(5), "Stream-Up-To-Date": "true", "Cache-Control": "no-cache"}, check: hasETag,
		},
		{
			name: "200 empty stream gives the zero offset", setup: create(sp, "", ""), method: http.MethodGet, path: sp + "?offset=-1",
			wantStatus: http.StatusOK, wantBody: ptr(""),
			wantHeaders: H{"Stream-Next-Offset": off(0), "Stream-Up-To-Date": "true", "Content-Type": "application/octet-stream"},
		},
		{
			name: "200 unknown params are ignored in any order", setup: hello, method: http.MethodGet, path: sp + "?zzz=1&offset=" + off(1) + "&aaa=2",
			wantStatus: http.StatusOK, wantBody: ptr("ello"),
		},
		{
			name: "200 closed stream at the end carries Stream-Closed", setup: create(sp, textCT, "bye", H{"Stream-Closed": "true"}),
			method: http.MethodGet, path: sp, wantStatus: http.StatusOK, wantBody: ptr("bye"),
			wantHeaders: H{"Stream-Closed": "true", "Stream-Up-To-Date": "true", "Cache-Control": "public, max-age=60, stale-while-revalidate=300"},
		},
		{
			name: "200 closed stream EOF read", setup: create(sp, textCT, "bye", H{"Stream-Closed": "true"}),
			method: http.MethodGet, path: sp + "?offset=" + off(3), wantStatus: http.StatusOK, wantBody: ptr(""),
			wantHeaders: H{"Stream-Closed": "true", "Stream-Up-To-Date": "true", "Stream-Next-Offset": off(3)},
		},
		{
			name: "200 JSON is one array", setup: jsonS, method: http.MethodGet, path: sp, wantStatus: http.StatusOK,
			wantBody: ptr(`[1,"two",{"three":3}]`), wantHeaders: H{"Content-Type": jsonCT, "Stream-Next-Offset": off(3)},
		},
		{
			name: "200 JSON from a message offset", setup: jsonS, method: http.MethodGet, path: sp + "?offset=" + off(2),
			wantStatus: http.StatusOK, wantBody: ptr(`[{"three":3}]`),
		},
		{
			name: "200 JSON at the tail is an empty array", setup: jsonS, method: http.MethodGet, path: sp + "?offset=" + off(3),
			wantStatus: http.StatusOK, wantBody: ptr(`[]`),
		},
		{
			name: "200 offset=now is no-store without ETag", setup: hello, method: http.MethodGet, path: sp + "?offset=now",
			wantStatus: http.StatusOK, wantBody: ptr(""),
			wantHeaders:   H{"Stream-Next-Offset": off(5), "Stream-Up-To-Date": "true", "Cache-Control": "no-store", "Content-Type": textCT},
			absentHeaders: []string{"ETag", "Stream-Closed"},
		},
		{
			name: "200 offset=now JSON is an empty array", setup: jsonS, method: http.MethodGet, path: sp + "?offset=now",
			wantStatus: http.StatusOK, wantBody: ptr("[]"), wantHeaders: H{"Stream-Next-Offset": off(3), "Cache-Control": "no-store"},
			absentHeaders: []string{"ETag"},
		},
		{
			name: "200 offset=now on a closed stream", setup: create(sp, textCT, "bye", H{"Stream-Closed": "true"}),
			method: http.MethodGet, path: sp + "?offset=now", wantStatus: http.StatusOK,
			wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(3), "Cache-Control": "no-store"},
		},
		{
			name: "400 offset beyond the tail", setup: hello, method: http.MethodGet, path: sp + "?offset=" + off(6),
			wantStatus: http.StatusBadRequest, bodyContains: wantCode("OFFSET_BEYOND_TAIL"),
		},
		{
			name: "400 offset 9999..._9999...", setup: hello, method: http.MethodGet, path: sp + "?offset=9999999999999999_9999999999999999",
			wantStatus: http.StatusBadRequest,
		},
		{
			name: "404 missing stream", method: http.MethodGet, path: sp, wantStatus: http.StatusNotFound, bodyContains: wantCode("NOT_FOUND"),
		},
		{
			name: "404 offset=now on a missing stream", method: http.MethodGet, path: sp + "?offset=now", wantStatus: http.StatusNotFound,
		},
		{
			name: "404 after delete", setup: steps(hello, doStep(http.StatusNoContent, http.MethodDelete, sp, nil, "")),
			method: http.MethodGet, path: sp, wantStatus: http.StatusNotFound,
		},
		{
			name: "410 soft-deleted stream", setup: softDeletedSrc, method: http.MethodGet, path: srcP,
			wantStatus: http.StatusGone, bodyContains: wantCode("GONE"),
		},
		{
			name: "200 fork still reads its soft-deleted source's data", setup: softDeletedSrc, method: http.MethodGet, path: forkP,
			wantStatus: http.StatusOK, wantBody: ptr("hello"),
		},
	}
	for _, q := range []string{
		"offset=", "offset=-1&offset=-1", "offset=abc", "offset=-2", "offset=NOW", "offset=1",
		"offset=0000000000000000_000000000000000x", "offset=0000000000000000_00000000000000001",
		"offset=0000000000000000%2C0000000000000001", "offset=%00", "offset=a%0Ab", "offset=..%2F..", "offset=%20",
		"live=foo", "offset=-1&live=", "offset=-1&live=LONG-POLL", "offset=-1&live=sse&live=sse", "offset=%zz",
	} {
		scenarios = append(scenarios, scenario{
			name: "400 query " + q, setup: hello, method: http.MethodGet, path: sp + "?" + q,
			wantStatus: http.StatusBadRequest, bodyContains: wantCode("BAD_REQUEST"),
		})
	}
	forEachStore(t, func(t *testing.T, opts ...option) { runScenarios(t, scenarios, opts...) })
}

func hasETag(t *testing.T, _ *env, resp *http.Response, _ []byte) {
	t.Helper()
	if et := resp.Header.Get("ETag"); !strings.HasPrefix(et, `"`) || !strings.HasSuffix(et, `"`) || len(et) < 3 {
		t.Errorf("ETag = %q, want a quoted entity tag", et)
	}
}

func cursorDigits(t *testing.T, _ *env, resp *http.Response, _ []byte) {
	t.Helper()
	if c := resp.Header.Get("Stream-Cursor"); !digitsRE.MatchString(c) {
		t.Errorf("Stream-Cursor = %q, want decimal digits", c)
	}
}

func TestGetLongPoll(t *testing.T) {
	hello := create(sp, textCT, "hello")
	closedHello := create(sp, textCT, "hello", H{"Stream-Closed": "true"})
	scenarios := []scenario{
		{
			name: "400 without offset", setup: hello, method: http.MethodGet, path: sp + "?live=long-poll",
			wantStatus: http.StatusBadRequest, bodyContains: []string{"needs an offset"},
		},
		{
			name: "400 offset beyond the tail", setup: hello, method: http.MethodGet, path: sp + "?live=long-poll&offset=" + off(9),
			wantStatus: http.StatusBadRequest, bodyContains: wantCode("OFFSET_BEYOND_TAIL"),
		},
		{
			name: "404 missing stream", method: http.MethodGet, path: sp + "?live=long-poll&offset=-1", wantStatus: http.StatusNotFound,
		},
		{
			name: "404 missing stream with offset=now", method: http.MethodGet, path: sp + "?live=long-poll&offset=now", wantStatus: http.StatusNotFound,
		},
		{
			name: "410 soft-deleted stream", setup: softDeletedSrc, method: http.MethodGet, path: srcP + "?live=long-poll&offset=-1",
			wantStatus: http.StatusGone,
		},
		{
			name: "200 immediately when data is past the offset", setup: hello, method: http.MethodGet, path: sp + "?offset=-1&live=long-poll",
			opts: []option{withLongPoll(time.Minute)}, wantStatus: http.StatusOK, wantBody: ptr("hello"),
			wantHeaders: H{"Stream-Next-Offset": off(5), "Stream-Up-To-Date": "true", "Content-Type": textCT},
			check: func(t *testing.T, e *env, resp *http.Response, body []byte) {
				cursorDigits(t, e, resp, body)
				hasETag(t, e, resp, body)
			},
		},
		{
			name: "200 partial page has no Up-To-Date", setup: steps(hello, appendTo(http.StatusNoContent, sp, textCT, "world")),
			opts: []option{withPageBytes(4)}, method: http.MethodGet, path: sp + "?offset=-1&live=long-poll", wantStatus: http.StatusOK,
			wantBody: ptr("hello"), wantHeaders: H{"Stream-Next-Offset": off(5)}, absentHeaders: []string{"Stream-Up-To-Date"}, check: cursorDigits,
		},
		{
			name: "200 JSON is one array", setup: create(sp, jsonCT, `[1,2]`), method: http.MethodGet, path: sp + "?offset=-1&live=long-poll",
			wantStatus: http.StatusOK, wantBody: ptr("[1,2]"),
		},
		{
			name: "200 closed stream with data left gives Stream-Closed without cursor", setup: closedHello,
			method: http.MethodGet, path: sp + "?offset=" + off(1) + "&live=long-poll", wantStatus: http.StatusOK, wantBody: ptr("ello"),
			wantHeaders: H{"Stream-Closed": "true", "Stream-Up-To-Date": "true"}, absentHeaders: []string{"Stream-Cursor"},
		},
		{
			name: "204 timeout at the tail", setup: hello, method: http.MethodGet, path: sp + "?offset=" + off(5) + "&live=long-poll",
			wantStatus: http.StatusNoContent, wantBody: ptr(""),
			wantHeaders:   H{"Stream-Next-Offset": off(5), "Stream-Up-To-Date": "true", "Cache-Control": "no-store"},
			absentHeaders: []string{"Stream-Closed", "ETag"}, check: cursorDigits,
		},
		{
			name: "204 timeout with offset=now gives the tail", setup: hello, method: http.MethodGet, path: sp + "?offset=now&live=long-poll",
			wantStatus: http.StatusNoContent, wantHeaders: H{"Stream-Next-Offset": off(5), "Stream-Up-To-Date": "true", "Cache-Control": "no-store"},
			check: cursorDigits,
		},
		{
			name: "204 timeout on an empty stream from -1", setup: create(sp, textCT, ""), method: http.MethodGet, path: sp + "?offset=-1&live=long-poll",
			wantStatus: http.StatusNoContent, wantHeaders: H{"Stream-Next-Offset": off(0)}, check: cursorDigits,
		},
		{
			// The long-poll timeout is a minute: only an immediate answer
			// gets back before the client's hang guard.
			name: "204 immediately when closed at the tail", setup: closedHello, opts: []option{withLongPoll(time.Minute)},
			method: http.MethodGet, path: sp + "?offset=" + off(5) + "&live=long-poll", wantStatus: http.StatusNoContent,
			wantHeaders: H{"Stream-Closed": "true", "Stream-Up-To-Date": "true", "Stream-Next-Offset": off(5), "Cache-Control": "no-store"},
		},
		{
			name: "204 immediately when closed with offset=now", setup: closedHello, opts: []option{withLongPoll(time.Minute)},
			method: http.MethodGet, path: sp + "?offset=now&live=long-poll", wantStatus: http.StatusNoContent,
			wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(5)},
		},
		{
			name: "cursor is strictly greater than an echoed future cursor", setup: hello,
			method: http.MethodGet, path: sp + "?offset=-1&live=long-poll&cursor=999999999", wantStatus: http.StatusOK,
			check: func(t *testing.T, _ *env, resp *http.Response, _ []byte) {
				if c, err := strconv.ParseInt(resp.Header.Get("Stream-Cursor"), 10, 64); err != nil || c <= 999999999 {
					t.Errorf("Stream-Cursor = %q, want > 999999999", resp.Header.Get("Stream-Cursor"))
				}
			},
		},
		{
			name: "cursor on a timeout is strictly greater than an echoed future cursor", setup: hello,
			method: http.MethodGet, path: sp + "?offset=now&live=long-poll&cursor=999999999", wantStatus: http.StatusNoContent,
			check: func(t *testing.T, _ *env, resp *http.Response, _ []byte) {
				if c, err := strconv.ParseInt(resp.Header.Get("Stream-Cursor"), 10, 64); err != nil || c <= 999999999 {
					t.Errorf("Stream-Cursor = %q, want > 999999999", resp.Header.Get("Stream-Cursor"))
				}
			},
		},
	}
	runScenarios(t, scenarios)
}

// TestCursorClock pins the cursor arithmetic with an injected clock: the
// 20-second interval since 2024-10-09, or one past a client cursor that is
// not behind.
func TestCursorClock(t *testing.T) {
	epoch := time.Date(2024, 10, 9, 0, 0, 0, 0, time.UTC)
	now := epoch.Add(1000*20*time.Second + 7*time.Second)
	for _, tc := range []struct{ cursor, want string }{
		{"", "1000"},
		{"999", "1000"},
		{"1000", "1001"},
		{"5000", "5001"},
		{"abc", "1000"},
		{"-5", "1000"},
	} {
		t.Run("cursor="+tc.cursor, func(t *testing.T) {
			e := newEnv(t, withNow(func() time.Time { return now }))
			create(sp, textCT, "hello")(t, e)
			q := "?offset=-1&live=long-poll"
			if tc.cursor != "" {
				q += "&cursor=" + tc.cursor
			}
			resp := e.must(http.StatusOK, http.MethodGet, sp+q, nil, "")
			if got := resp.Header.Get("Stream-Cursor"); got != tc.want {
				t.Errorf("200 Stream-Cursor = %q, want %q", got, tc.want)
			}
			q = strings.Replace(q, "offset=-1", "offset=now", 1)
			resp = e.must(http.StatusNoContent, http.MethodGet, sp+q, nil, "")
			if got := resp.Header.Get("Stream-Cursor"); got != tc.want {
				t.Errorf("204 Stream-Cursor = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLongPollWakes covers waiters woken by an append, by a close, and by
// Stop. The long-poll timeout is long, so a 204 timeout cannot stand in for
// the wake-up.
func TestLongPollWakes(t *testing.T) {
	type result struct {
		resp *http.Response
		body []byte
	}
	start := func(e *env, q string) <-chan result {
		ch := make(chan result, 1)
		go func() {
			resp, err := e.client.Do(e.newRequest(t.Context(), http.MethodGet, sp+q, nil, ""))
			if err != nil {
				ch <- result{}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			ch <- result{resp, b}
		}()
		return ch
	}
	get := func(t *testing.T, ch <-chan result) result {
		t.Helper()
		select {
		case r := <-ch:
			if r.resp == nil {
				t.Fatal("long-poll request failed")
			}
			checkCommon(t, http.MethodGet, r.resp, r.body)
			return r
		case <-time.After(hangGuard):
			t.Fatal("long-poll never answered")
			return result{}
		}
	}

	t.Run("append", func(t *testing.T) {
		e := newEnv(t, withLongPoll(time.Minute))
		create(sp, textCT, "hello")(t, e)
		ch := start(e, "?offset=now&live=long-poll")
		waitForWaiters(t, 1)
		appendTo(http.StatusNoContent, sp, textCT, "abc")(t, e)
		r := get(t, ch)
		if r.resp.StatusCode != http.StatusOK || string(r.body) != "abc" {
			t.Fatalf("got %d %q, want 200 abc", r.resp.StatusCode, r.body)
		}
		if got := r.resp.Header.Get("Stream-Next-Offset"); got != off(8) {
			t.Errorf("Stream-Next-Offset = %s, want %s", got, off(8))
		}
		if got := r.resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("offset=now long-poll 200 Cache-Control = %q, want no-store", got)
		}
		cursorDigits(t, e, r.resp, r.body)
	})
	t.Run("append JSON", func(t *testing.T) {
		e := newEnv(t, withLongPoll(time.Minute))
		create(sp, jsonCT, "[1]")(t, e)
		ch := start(e, "?offset="+off(1)+"&live=long-poll")
		waitForWaiters(t, 1)
		appendTo(http.StatusNoContent, sp, jsonCT, `[2,3]`)(t, e)
		r := get(t, ch)
		if r.resp.StatusCode != http.StatusOK || string(r.body) != "[2,3]" {
			t.Fatalf("got %d %q, want 200 [2,3]", r.resp.StatusCode, r.body)
		}
		if got := r.resp.Header.Get("Cache-Control"); got != "public, max-age=20" {
			t.Errorf("long-poll 200 Cache-Control = %q", got)
		}
	})
	t.Run("close", func(t *testing.T) {
		e := newEnv(t, withLongPoll(time.Minute))
		create(sp, textCT, "hello")(t, e)
		ch := start(e, "?offset="+off(5)+"&live=long-poll")
		waitForWaiters(t, 1)
		e.must(http.StatusNoContent, http.MethodPost, sp, H{"Stream-Closed": "true"}, "")
		r := get(t, ch)
		if r.resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d, want 204", r.resp.StatusCode)
		}
		for k, want := range map[string]string{"Stream-Closed": "true", "Stream-Up-To-Date": "true", "Stream-Next-Offset": off(5), "Cache-Control": "no-store"} {
			if got := r.resp.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	})
	t.Run("append and close", func(t *testing.T) {
		e := newEnv(t, withLongPoll(time.Minute))
		create(sp, textCT, "hello")(t, e)
		ch := start(e, "?offset="+off(5)+"&live=long-poll")
		waitForWaiters(t, 1)
		appendTo(http.StatusNoContent, sp, textCT, "end", H{"Stream-Closed": "true"})(t, e)
		r := get(t, ch)
		if r.resp.StatusCode != http.StatusOK || string(r.body) != "end" || r.resp.Header.Get("Stream-Closed") != "true" {
			t.Fatalf("got %d %q Stream-Closed=%q, want 200 end true", r.resp.StatusCode, r.body, r.resp.Header.Get("Stream-Closed"))
		}
		if c := r.resp.Header.Get("Stream-Cursor"); c != "" {
			t.Errorf("closed long-poll has Stream-Cursor %q", c)
		}
	})
	t.Run("stop", func(t *testing.T) {
		e := newEnv(t, withLongPoll(time.Minute))
		create(sp, textCT, "hello")(t, e)
		ch := start(e, "?offset="+off(5)+"&live=long-poll")
		waitForWaiters(t, 1)
		e.h.Stop()
		r := get(t, ch)
		if r.resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d, want 204", r.resp.StatusCode)
		}
		if got := r.resp.Header.Get("Stream-Next-Offset"); got != off(5) {
			t.Errorf("Stream-Next-Offset = %q", got)
		}
		cursorDigits(t, e, r.resp, r.body)
	})
}

func TestETag(t *testing.T) {
	e := newEnv(t)
	create(sp, textCT, "hello")(t, e)
	get := func(inm string) (*http.Response, []byte) {
		t.Helper()
		h := H{}
		if inm != "" {
			h["If-None-Match"] = inm
		}
		resp, body := e.do(http.MethodGet, sp+"?offset=-1", h, "")
		checkCommon(t, http.MethodGet, resp, body)
		return resp, body
	}

	resp, _ := get("")
	e1 := resp.Header.Get("ETag")
	if e1 == "" {
		t.Fatal("no ETag on a catch-up 200")
	}
	if resp, _ := get(""); resp.Header.Get("ETag") != e1 {
		t.Errorf("ETag not stable: %q then %q", e1, resp.Header.Get("ETag"))
	}
	for _, inm := range []string{e1, "W/" + e1, `"nope", ` + e1, "*"} {
		resp, body := get(inm)
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("If-None-Match %s: %d %q, want 304 and no body", inm, resp.StatusCode, body)
		}
		if resp.Header.Get("ETag") != e1 {
			t.Errorf("304 ETag = %q, want %q", resp.Header.Get("ETag"), e1)
		}
	}
	if resp, body := get(`"nope"`); resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Errorf("non-matching If-None-Match: %d %q, want 200 hello", resp.StatusCode, body)
	}

	appendTo(http.StatusNoContent, sp, textCT, "!")(t, e)
	resp, body := get(e1)
	e2 := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || string(body) != "hello!" || e2 == "" || e2 == e1 {
		t.Fatalf("after append: %d %q ETag %q (was %q), want 200 hello! and a new ETag", resp.StatusCode, body, e2, e1)
	}

	e.must(http.StatusNoContent, http.MethodPost, sp, H{"Stream-Closed": "true"}, "")
	resp, body = get(e2)
	e3 := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || string(body) != "hello!" || e3 == "" || e3 == e2 {
		t.Fatalf("after close: %d %q ETag %q (was %q), want 200 and a new ETag", resp.StatusCode, body, e3, e2)
	}
	if resp, _ := get(e3); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match of the closed ETag: %d, want 304", resp.StatusCode)
	}

	// A re-created stream never matches the old incarnation's ETag.
	e.must(http.StatusNoContent, http.MethodDelete, sp, nil, "")
	create(sp, textCT, "hello!", H{"Stream-Closed": "true"})(t, e)
	if resp, _ := get(e3); resp.StatusCode != http.StatusOK {
		t.Errorf("re-created stream matched the old ETag: %d", resp.StatusCode)
	}
}

// TestCatchUpPages reads with a small page size: pages behind the tail are
// publicly cacheable and never carry Up-To-Date or Stream-Closed; the last
// page does.
func TestCatchUpPages(t *testing.T) {
	for _, closed := range []bool{false, true} {
		t.Run("closed="+strconv.FormatBool(closed), func(t *testing.T) {
			e := newEnv(t, withPageBytes(4))
			create(sp, textCT, "aaaa")(t, e)
			appendTo(http.StatusNoContent, sp, textCT, "bbbb")(t, e)
			h := H{}
			if closed {
				h["Stream-Closed"] = "true"
			}
			appendTo(http.StatusNoContent, sp, textCT, "cc", h)(t, e)
			type page struct {
				body, next, upToDate, closed, cache string
			}
			want := []page{
				{"aaaa", off(4), "", "", "public, max-age=60, stale-while-revalidate=300"},
				{"bbbb", off(8), "", "", "public, max-age=60, stale-while-revalidate=300"},
				{"cc", off(10), "true", "", "no-cache"},
			}
			if closed {
				want[2].closed = "true"
				want[2].cache = "public, max-age=60, stale-while-revalidate=300"
			}
			next := "-1"
			etags := map[string]bool{}
			for i, w := range want {
				resp, body := e.do(http.MethodGet, sp+"?offset="+next, nil, "")
				checkCommon(t, http.MethodGet, resp, body)
				got := page{string(body), resp.Header.Get("Stream-Next-Offset"), resp.Header.Get("Stream-Up-To-Date"),
					resp.Header.Get("Stream-Closed"), resp.Header.Get("Cache-Control")}
				if resp.StatusCode != http.StatusOK || got != w {
					t.Errorf("page %d: %d %+v, want 200 %+v", i, resp.StatusCode, got, w)
				}
				if et := resp.Header.Get("ETag"); et == "" || etags[et] {
					t.Errorf("page %d: ETag %q missing or repeated", i, et)
				} else {
					etags[et] = true
				}
				next = got.next
			}
		})
	}
}

func TestHead(t *testing.T) {
	scenarios := []scenario{
		{
			name: "200 open stream", setup: create(sp, textCT, "hello"), method: http.MethodHead, path: sp, wantStatus: http.StatusOK,
			wantHeaders:   H{"Content-Type": textCT, "Stream-Next-Offset": off(5), "Cache-Control": "no-store"},
			absentHeaders: []string{"Stream-Closed", "Stream-TTL", "Stream-Expires-At", "ETag"}, wantBody: ptr(""),
		},
		{
			name: "200 closed stream", setup: create(sp, textCT, "hello", H{"Stream-Closed": "true"}), method: http.MethodHead, path: sp,
			wantStatus: http.StatusOK, wantHeaders: H{"Stream-Closed": "true", "Stream-Next-Offset": off(5), "Cache-Control": "no-store"},
		},
		{
			name: "200 TTL echoed", setup: create(sp, textCT, "", H{"Stream-TTL": "3600"}), method: http.MethodHead, path: sp,
			wantStatus: http.StatusOK, wantHeaders: H{"Stream-TTL": "3600"},
		},
		{
			name: "200 Expires-At echoed", setup: create(sp, textCT, "", H{"Stream-Expires-At": "2099-01-02T03:04:05Z"}), method: http.MethodHead, path: sp,
			wantStatus: http.StatusOK, wantHeaders: H{"Stream-Expires-At": "2099-01-02T03:04:05Z"},
		},
		{
			name: "200 fork shows no fork headers", setup: steps(create(srcP, textCT, "hi"), create(forkP, "", "", H{"Stream-Forked-From": srcP})),
			method: http.MethodHead, path: forkP, wantStatus: http.StatusOK, wantHeaders: H{"Content-Type": textCT, "Stream-Next-Offset": off(2)},
			absentHeaders: []string{"Stream-Forked-From", "Stream-Fork-Offset"},
		},
		{name: "404 missing", method: http.MethodHead, path: sp, wantStatus: http.StatusNotFound},
		{name: "410 soft-deleted", setup: softDeletedSrc, method: http.MethodHead, path: srcP, wantStatus: http.StatusGone},
	}
	forEachStore(t, func(t *testing.T, opts ...option) { runScenarios(t, scenarios, opts...) })
}

func TestDelete(t *testing.T) {
	scenarios := []scenario{
		{
			name: "204 existing", setup: create(sp, textCT, "hello"), method: http.MethodDelete, path: sp,
			wantStatus: http.StatusNoContent, wantHeaders: H{"Cache-Control": "no-store"}, check: streamAbsent(sp),
		},
		{
			name: "204 closed stream", setup: create(sp, textCT, "hello", H{"Stream-Closed": "true"}), method: http.MethodDelete, path: sp,
			wantStatus: http.StatusNoContent, check: streamAbsent(sp),
		},
		{
			name: "204 soft delete keeps the fork readable", setup: steps(create(srcP, textCT, "hello"), create(forkP, "", "", H{"Stream-Forked-From": srcP})),
			method: http.MethodDelete, path: srcP, wantStatus: http.StatusNoContent,
			check: func(t *testing.T, e *env, _ *http.Response, _ []byte) {
				e.must(http.StatusGone, http.MethodHead, srcP, nil, "")
				if got := e.readAll(forkP); got != "hello" {
					t.Errorf("fork reads %q", got)
				}
				// Deleting the last fork releases the source.
				e.must(http.StatusNoContent, http.MethodDelete, forkP, nil, "")
				e.must(http.StatusNotFound, http.MethodHead, srcP, nil, "")
				create(srcP, textCT, "")(t, e)
			},
		},
		{name: "404 missing", method: http.MethodDelete, path: sp, wantStatus: http.StatusNotFound, bodyContains: wantCode("NOT_FOUND")},
		{
			name: "404 twice", setup: steps(create(sp, textCT, ""), doStep(http.StatusNoContent, http.MethodDelete, sp, nil, "")),
			method: http.MethodDelete, path: sp, wantStatus: http.StatusNotFound,
		},
		{name: "410 soft-deleted", setup: softDeletedSrc, method: http.MethodDelete, path: srcP, wantStatus: http.StatusGone},
	}
	forEachStore(t, func(t *testing.T, opts ...option) { runScenarios(t, scenarios, opts...) })
}

func TestRoutes(t *testing.T) {
	allowHas := func(methods ...string) func(t *testing.T, _ *env, resp *http.Response, _ []byte) {
		return func(t *testing.T, _ *env, resp *http.Response, _ []byte) {
			t.Helper()
			got := map[string]bool{}
			for _, m := range strings.Split(resp.Header.Get("Allow"), ",") {
				got[strings.TrimSpace(m)] = true
			}
			for _, m := range methods {
				if !got[m] {
					t.Errorf("Allow = %q, missing %s", resp.Header.Get("Allow"), m)
				}
			}
			if len(got) != len(methods) {
				t.Errorf("Allow = %q, want exactly %v", resp.Header.Get("Allow"), methods)
			}
		}
	}
	scenarios := []scenario{
		{
			name: "health GET", method: http.MethodGet, path: "/health", wantStatus: http.StatusOK, wantBody: ptr("ok"),
			wantHeaders: H{"Cache-Control": "no-store", "Content-Type": "text/plain"},
		},
		{name: "health HEAD", method: http.MethodHead, path: "/health", wantStatus: http.StatusOK, wantBody: ptr("")},
		{
			name: "health POST is 405", method: http.MethodPost, path: "/health", wantStatus: http.StatusMethodNotAllowed,
			bodyContains: wantCode("METHOD_NOT_ALLOWED"), check: allowHas("GET", "HEAD", "OPTIONS"),
		},
		{
			name: "OPTIONS preflight on a stream path", method: http.MethodOptions, path: sp,
			headers:    H{"Origin": "https://example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "if-none-match, stream-ttl"},
			wantStatus: http.StatusNoContent, wantHeaders: H{"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"},
			check: func(t *testing.T, _ *env, resp *http.Response, _ []byte) {
				allow := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
				for _, h := range []string{"if-none-match", "content-type", "stream-ttl", "stream-expires-at", "stream-seq", "stream-closed",
					"producer-id", "producer-epoch", "producer-seq", "stream-forked-from", "stream-fork-offset", "stream-fork-sub-offset"} {
					if !strings.Contains(allow, h) {
						t.Errorf("Access-Control-Allow-Headers = %q, missing %s", allow, h)
					}
				}
				methods := resp.Header.Get("Access-Control-Allow-Methods")
				for _, m := range []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"} {
					if !strings.Contains(methods, m) {
						t.Errorf("Access-Control-Allow-Methods = %q, missing %s", methods, m)
					}
				}
				expose := strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers"))
				for _, h := range []string{"stream-next-offset", "stream-cursor", "stream-up-to-date", "stream-closed", "producer-epoch",
					"producer-seq", "producer-expected-seq", "producer-received-seq", "etag", "stream-sse-data-encoding"} {
					if !strings.Contains(expose, h) {
						t.Errorf("Access-Control-Expose-Headers = %q, missing %s", expose, h)
					}
				}
			},
		},
		{
			// Preflights carry no credentials, so they need no token; a
			// project without configured origins sends no CORS headers.
			name: "OPTIONS on a project stream path needs no token", setup: projectStep("p1"), method: http.MethodOptions,
			path: "/v1/p1/stream/x/y", headers: H{"Origin": "https://example.com", "Access-Control-Request-Method": "PUT"},
			wantStatus: http.StatusNoContent, absentHeaders: []string{"Access-Control-Allow-Origin", "Access-Control-Expose-Headers"},
		},
		{
			name: "OPTIONS on an unknown project's stream path", method: http.MethodOptions, path: "/v1/p1/stream/x/y",
			headers: H{"Origin": "https://example.com"}, wantStatus: http.StatusNoContent,
			absentHeaders: []string{"Access-Control-Allow-Origin"},
		},
		{
			name: "PATCH on a stream path is 405 with Allow", method: http.MethodPatch, path: sp, wantStatus: http.StatusMethodNotAllowed,
			bodyContains: wantCode("METHOD_NOT_ALLOWED"), check: allowHas("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"),
		},
		{
			name: "TRACE on a stream path is 405", setup: projectStep("p1"), method: http.MethodTrace, path: "/v1/p1/stream/x",
			wantStatus: http.StatusMethodNotAllowed, check: allowHas("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"),
			absentHeaders: []string{"Access-Control-Allow-Origin"},
		},

		// The inspection API's routes.
		{
			name: "GET /v1/streams is the default project's stream list", setup: create(sp, textCT, "hello"), method: http.MethodGet,
			path: "/v1/streams", wantStatus: http.StatusOK, wantHeaders: H{"Content-Type": "application/json", "Cache-Control": "no-store"},
			bodyContains: []string{`"id": "s"`},
		},
		{
			name: "PUT /v1/streams is 405 with Allow", method: http.MethodPut, path: "/v1/streams", wantStatus: http.StatusMethodNotAllowed,
			bodyContains: wantCode("METHOD_NOT_ALLOWED"), check: allowHas("GET", "OPTIONS"),
		},
		{
			name: "DELETE on a stream detail is 405 and deletes nothing", setup: create(sp, textCT, "hello"), method: http.MethodDelete,
			path: "/v1/streams/s", wantStatus: http.StatusMethodNotAllowed, check: func(t *testing.T, e *env, resp *http.Response, body []byte) {
				allowHas("GET", "OPTIONS")(t, e, resp, body)
				e.must(http.StatusOK, http.MethodHead, sp, nil, "")
			},
		},
		{
			name: "OPTIONS on a project's stream list needs no token", setup: projectStep("p1"), method: http.MethodOptions,
			path: "/v1/p1/streams", wantStatus: http.StatusNoContent,
		},
		{
			name: "/v1/stream/streams is a stream called streams, not the list", method: http.MethodGet, path: "/v1/stream/streams",
			wantStatus: http.StatusNotFound, bodyContains: wantCode("NOT_FOUND"),
		},
		{
			name: "empty id on a stream detail", method: http.MethodGet, path: "/v1/streams/", wantStatus: http.StatusBadRequest,
		},
		{
			name: "invalid project name", method: http.MethodPut, path: "/v1/bad.name/stream/x", wantStatus: http.StatusBadRequest,
			bodyContains: []string{"invalid project"},
		},
		{name: "empty project", method: http.MethodPut, path: "/v1//stream/a", wantStatus: http.StatusBadRequest},
		{name: "project with a space", method: http.MethodGet, path: "/v1/a%20b/stream/x", wantStatus: http.StatusBadRequest},
		{name: "project with a percent-encoded slash", method: http.MethodPut, path: "/v1/a%2Fb/stream/x", wantStatus: http.StatusNotFound},
	}
	for _, p := range []string{"/", "/v1", "/v1/", "/v1/stream", "/v1/x/streamx/y", "/v2/stream/a", "/healthz", "/health/",
		"/v1/x/y/z", "/V1/stream/a", "/v1/x", "/v1/x/stream", "/stream/a", "/v1/streamsx", "/v1/x/streamsx", "/V1/streams"} {
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead, http.MethodOptions} {
			sc := scenario{
				name: "404 " + m + " " + p, method: m, path: p, wantStatus: http.StatusNotFound,
				check: func(t *testing.T, e *env, resp *http.Response, body []byte) {
					if resp.Header.Get("Allow") != "" {
						t.Errorf("unknown route has Allow %q", resp.Header.Get("Allow"))
					}
				},
			}
			if m != http.MethodHead {
				sc.bodyContains = wantCode("NOT_FOUND")
			}
			scenarios = append(scenarios, sc)
		}
	}
	runScenarios(t, scenarios)
}

// TestProjects checks the two URL layouts: /v1/stream/<id> is the default
// project, projects are isolated, and ids may contain '/'. Named projects
// are registered and addressed with their tokens.
func TestProjects(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"p1", "p-2_X", "foo"} {
		e.project(p)
	}
	p1, p2 := e.auth("p1", token.ScopeWrite), e.auth("p-2_X", token.ScopeWrite)
	create("/v1/stream/a/b", textCT, "default")(t, e)
	if got := e.readAll("/v1/default/stream/a/b"); got != "default" {
		t.Errorf("/v1/default/stream/a/b reads %q, want the /v1/stream/a/b data", got)
	}
	// PUT through the other layout confirms the same stream.
	e.must(http.StatusOK, http.MethodPut, "/v1/default/stream/a/b", H{"Content-Type": textCT}, "")
	appendTo(http.StatusNoContent, "/v1/default/stream/a/b", textCT, "+")(t, e)
	if got := e.readAll("/v1/stream/a/b"); got != "default+" {
		t.Errorf("/v1/stream/a/b reads %q", got)
	}

	// Another project with the same id is a different stream.
	e.must(http.StatusNotFound, http.MethodHead, "/v1/p1/stream/a/b", p1, "")
	create("/v1/p1/stream/a/b", jsonCT, `"p1"`, p1)(t, e)
	create("/v1/p-2_X/stream/a/b", textCT, "p2", p2)(t, e)
	if got := e.readAllWith("/v1/p1/stream/a/b", p1); got != `["p1"]` {
		t.Errorf("p1 reads %q", got)
	}
	if got := e.readAllWith("/v1/p-2_X/stream/a/b", p2); got != "p2" {
		t.Errorf("p-2_X reads %q", got)
	}
	if got := e.readAll("/v1/stream/a/b"); got != "default+" {
		t.Errorf("default changed to %q", got)
	}
	// One project's token opens nothing in another.
	e.must(http.StatusUnauthorized, http.MethodHead, "/v1/p-2_X/stream/a/b", p1, "")
	e.must(http.StatusNoContent, http.MethodDelete, "/v1/p1/stream/a/b", p1, "")
	e.must(http.StatusOK, http.MethodHead, "/v1/stream/a/b", nil, "")
	e.must(http.StatusOK, http.MethodHead, "/v1/p-2_X/stream/a/b", p2, "")

	// Prefixes of an id are other streams.
	e.must(http.StatusNotFound, http.MethodHead, "/v1/stream/a", nil, "")
	e.must(http.StatusNotFound, http.MethodHead, "/v1/stream/a/b/", nil, "")

	// "stream" can never be a project: /v1/stream/stream/x is the default
	// project's stream "stream/x".
	create("/v1/stream/stream/x", textCT, "reserved")(t, e)
	if got := e.readAll("/v1/default/stream/stream/x"); got != "reserved" {
		t.Errorf("/v1/default/stream/stream/x reads %q", got)
	}
	// And /v1/foo/stream/bar is project foo, not default's "foo/stream/bar":
	// foo's token finds no such stream, and without one it is foo's 401.
	create("/v1/stream/foo/stream/bar", textCT, "d")(t, e)
	e.must(http.StatusNotFound, http.MethodHead, "/v1/foo/stream/bar", e.auth("foo", token.ScopeRead), "")
	e.must(http.StatusUnauthorized, http.MethodHead, "/v1/foo/stream/bar", nil, "")
	// Likewise /v1/streams/... is the default project's inspection API,
	// never a project called "streams".
	e.must(http.StatusOK, http.MethodGet, "/v1/streams/foo/stream/bar", nil, "")
}
