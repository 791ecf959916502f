// Package crossengine is a black-box HTTP test suite run against any
// engine that serves dsctl's HTTP API: `dsctl serve` and the Cloudflare
// core worker under workerd (scripts/crossengine.sh starts either one).
// It uses only net/http against DSCTL_XE_URL and token.Mint for tokens,
// never engine internals, so both engines face the very same requests.
//
// Environment:
//
//	DSCTL_XE_URL      base URL of the engine (the suite skips without it)
//	DSCTL_XE_PROJECT  a seeded project (default acme)
//	DSCTL_XE_SECRET   one of its signing secrets
//	DSCTL_XE_ORIGIN   a CORS origin seeded for the project (optional)
//	DSCTL_XE_PUBSUB   1 to run the pub/sub subtests
//	DSCTL_XE_PUBSUB_URL  base URL serving the pub/sub routes (/v1/<project>/
//	                  subscribe, unsubscribe, publish/…, session/…) when they
//	                  live apart from the stream routes (default DSCTL_XE_URL)
package crossengine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/token"
)

type env struct {
	base, project, secret, origin string
	pubsubBase                    string // base URL of the pub/sub routes
	pubsub                        bool
	run                           string // unique per run, prefixes stream names
	c                             *http.Client
}

type H map[string]string

func setup(t *testing.T) *env {
	t.Helper()
	base := strings.TrimRight(os.Getenv("DSCTL_XE_URL"), "/")
	if base == "" {
		t.Skip("DSCTL_XE_URL is not set (scripts/crossengine.sh runs this suite against an engine)")
	}
	e := &env{
		base:       base,
		pubsubBase: strings.TrimRight(os.Getenv("DSCTL_XE_PUBSUB_URL"), "/"),
		project:    os.Getenv("DSCTL_XE_PROJECT"),
		secret:     os.Getenv("DSCTL_XE_SECRET"),
		origin:     os.Getenv("DSCTL_XE_ORIGIN"),
		pubsub:     os.Getenv("DSCTL_XE_PUBSUB") == "1",
		run:        fmt.Sprintf("xe-%d", time.Now().UnixNano()),
		c:          &http.Client{Timeout: 30 * time.Second},
	}
	if e.project == "" {
		e.project = "acme"
	}
	if e.pubsubBase == "" {
		e.pubsubBase = base
	}
	if e.secret == "" {
		t.Fatal("DSCTL_XE_SECRET is not set")
	}
	return e
}

// mint signs a token with the project's secret.
func (e *env) mint(t *testing.T, sub string, scope token.Scope, streamID string) string {
	t.Helper()
	tok, _, err := token.Mint(e.secret, sub, scope, streamID, 10*time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) tok(t *testing.T, scope token.Scope) string { return e.mint(t, e.project, scope, "") }

func bearer(tok string) H { return H{"Authorization": "Bearer " + tok} }

func merge(hs ...H) H {
	out := H{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}

func (e *env) name(n string) string           { return e.run + "-" + n }
func (e *env) stream(id string) string        { return "/v1/" + e.project + "/stream/" + id }
func (e *env) defaultStream(id string) string { return "/v1/stream/" + id }

// url is the absolute URL of path: the pub/sub routes go to pubsubBase,
// everything else to base.
func (e *env) url(path string) string {
	p := "/v1/" + e.project + "/"
	if rest, ok := strings.CutPrefix(path, p); ok {
		for _, r := range []string{"subscribe", "unsubscribe", "publish/", "session/"} {
			if rest == r || strings.HasPrefix(rest, r) && strings.HasSuffix(r, "/") {
				return e.pubsubBase + path
			}
		}
	}
	return e.base + path
}

func (e *env) do(t *testing.T, method, path string, h H, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url(path), rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := e.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, string(b)
}

// want does a request and checks its status.
func (e *env) want(t *testing.T, status int, method, path string, h H, body string) (*http.Response, string) {
	t.Helper()
	resp, b := e.do(t, method, path, h, body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %q", method, path, resp.StatusCode, status, b)
	}
	return resp, b
}

// wantErr does a request and checks the status, the error code and the
// JSON error shape {"error":{"code","message"}} (HEAD has no body).
func (e *env) wantErr(t *testing.T, status int, code, method, path string, h H, body string) *http.Response {
	t.Helper()
	resp, b := e.want(t, status, method, path, h, body)
	checkErrBody(t, method+" "+path, resp, b, code)
	return resp
}

func checkErrBody(t *testing.T, what string, resp *http.Response, b, code string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: error Content-Type %q, want application/json", what, ct)
	}
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		return
	}
	var eb map[string]json.RawMessage
	if err := json.Unmarshal([]byte(b), &eb); err != nil {
		t.Fatalf("%s: error body %q is not JSON: %v", what, b, err)
	}
	var inner struct {
		Code    *string `json:"code"`
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(eb["error"], &inner); err != nil || inner.Code == nil || inner.Message == nil {
		t.Fatalf("%s: error body %q is not {\"error\":{\"code\",\"message\"}}", what, b)
	}
	if *inner.Code != code {
		t.Errorf("%s: error code %q, want %q (message %q)", what, *inner.Code, code, *inner.Message)
	}
	if *inner.Message == "" {
		t.Errorf("%s: empty error message", what)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("%s: 401 WWW-Authenticate %q, want a Bearer challenge", what, got)
		}
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q on an error, want nosniff", what, got)
	}
}

func header(t *testing.T, what string, resp *http.Response, name, want string) {
	t.Helper()
	if got := resp.Header.Get(name); got != want {
		t.Errorf("%s: %s %q, want %q", what, name, got, want)
	}
}

const textCT = "text/plain"

var ct = H{"Content-Type": textCT}

// compact re-encodes a JSON body without whitespace (engines may indent).
func compact(s string) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return s
	}
	return buf.String()
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestCrossEngine(t *testing.T) {
	e := setup(t)
	w := bearer(e.tok(t, token.ScopeWrite))
	r := bearer(e.tok(t, token.ScopeRead))
	m := bearer(e.tok(t, token.ScopeManage))

	// --- streams on the named project with a write token ---
	main := e.name("main")
	t.Run("stream/create", func(t *testing.T) {
		resp, _ := e.want(t, http.StatusCreated, http.MethodPut, e.stream(main), merge(ct, w), "hello")
		if resp.Header.Get("Stream-Next-Offset") == "" {
			t.Errorf("create: no Stream-Next-Offset")
		}
		header(t, "create", resp, "X-Content-Type-Options", "nosniff")
		// Same config again: idempotent 200.
		e.want(t, http.StatusOK, http.MethodPut, e.stream(main), merge(ct, w), "")
		// Other content type: 409 CONFLICT.
		e.wantErr(t, http.StatusConflict, "CONFLICT", http.MethodPut, e.stream(main), merge(H{"Content-Type": "application/json"}, w), "")
	})
	var tail string
	t.Run("stream/append", func(t *testing.T) {
		resp, b := e.want(t, http.StatusNoContent, http.MethodPost, e.stream(main), merge(ct, w), " world")
		tail = resp.Header.Get("Stream-Next-Offset")
		if tail == "" || b != "" {
			t.Errorf("append: Stream-Next-Offset %q body %q", tail, b)
		}
		e.wantErr(t, http.StatusConflict, "CONTENT_TYPE_MISMATCH", http.MethodPost, e.stream(main), merge(H{"Content-Type": "application/json"}, w), "{}")
		e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodPost, e.stream(e.name("missing")), merge(ct, w), "x")
	})
	t.Run("stream/read", func(t *testing.T) {
		resp, b := e.want(t, http.StatusOK, http.MethodGet, e.stream(main)+"?offset=-1", r, "")
		if b != "hello world" {
			t.Errorf("read %q, want %q", b, "hello world")
		}
		header(t, "read", resp, "Stream-Next-Offset", tail)
		header(t, "read", resp, "Stream-Up-To-Date", "true")
		header(t, "read", resp, "Content-Type", textCT)
		resp, _ = e.want(t, http.StatusOK, http.MethodHead, e.stream(main), r, "")
		header(t, "HEAD", resp, "Stream-Next-Offset", tail)
		e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodGet, e.stream(e.name("missing")), r, "")
		e.wantErr(t, http.StatusBadRequest, "BAD_REQUEST", http.MethodGet, e.stream(main)+"?offset=not-an-offset", r, "")
	})
	t.Run("stream/long-poll", func(t *testing.T) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(150 * time.Millisecond)
			req, _ := http.NewRequest(http.MethodPost, e.base+e.stream(main), strings.NewReader("!"))
			req.Header.Set("Content-Type", textCT)
			req.Header.Set("Authorization", w["Authorization"])
			if resp, err := e.c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		resp, b := e.want(t, http.StatusOK, http.MethodGet, e.stream(main)+"?offset="+tail+"&live=long-poll", r, "")
		<-done
		if b != "!" {
			t.Errorf("long-poll read %q, want %q", b, "!")
		}
		next := resp.Header.Get("Stream-Next-Offset")
		if next == "" || next == tail {
			t.Errorf("long-poll Stream-Next-Offset %q (was %q)", next, tail)
		}
		if resp.Header.Get("Stream-Cursor") == "" {
			t.Errorf("long-poll: no Stream-Cursor")
		}
		tail = next
		// Nothing arrives: 204 at the tail once the engine's timeout passes.
		resp, _ = e.want(t, http.StatusNoContent, http.MethodGet, e.stream(main)+"?offset="+tail+"&live=long-poll", r, "")
		header(t, "long-poll timeout", resp, "Stream-Up-To-Date", "true")
		header(t, "long-poll timeout", resp, "Stream-Next-Offset", tail)
	})
	t.Run("stream/sse", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+e.stream(main)+"?offset=-1&live=sse", nil)
		req.Header.Set("Authorization", r["Authorization"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("SSE status %d", resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/event-stream") {
			t.Errorf("SSE Content-Type %q", got)
		}
		sc := bufio.NewScanner(resp.Body)
		var data strings.Builder
		var event string
		sawControl := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:") && event == "data":
				if data.Len() > 0 {
					data.WriteString("\n")
				}
				data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			case strings.HasPrefix(line, "data:") && event == "control":
				sawControl = true
			}
			if sawControl && data.Len() > 0 {
				break
			}
		}
		if got := data.String(); got != "hello world!" {
			t.Errorf("SSE data %q, want %q", got, "hello world!")
		}
		if !sawControl {
			t.Errorf("SSE: no control event")
		}
	})

	// --- 401 ---
	t.Run("auth/401", func(t *testing.T) {
		p := e.stream(main)
		noneTok := b64(`{"alg":"none","typ":"JWT"}`) + "." +
			b64(fmt.Sprintf(`{"sub":%q,"scope":"write","exp":%d}`, e.project, time.Now().Add(time.Hour).Unix())) + "."
		expired, _, err := token.Mint(e.secret, e.project, token.ScopeWrite, "", time.Hour, time.Now().Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		otherKey, _, _ := token.Mint(e.secret+"-not", e.project, token.ScopeWrite, "", time.Hour, time.Now())
		for _, c := range []struct {
			name string
			h    H
			code string
		}{
			{"no token", nil, "UNAUTHORIZED"},
			{"garbage", bearer("garbage.token.here"), "UNAUTHORIZED"},
			{"not bearer", H{"Authorization": "Basic dXNlcjpwYXNz"}, "UNAUTHORIZED"},
			{"alg none", bearer(noneTok), "UNAUTHORIZED"},
			{"wrong key", bearer(otherKey), "UNAUTHORIZED"},
			{"expired", bearer(expired), "TOKEN_EXPIRED"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.wantErr(t, http.StatusUnauthorized, c.code, http.MethodGet, p, c.h, "")
				e.wantErr(t, http.StatusUnauthorized, c.code, http.MethodPost, p, merge(ct, c.h), "x")
				e.wantErr(t, http.StatusUnauthorized, c.code, http.MethodHead, p, c.h, "")
			})
		}
		t.Run("unknown project", func(t *testing.T) {
			e.wantErr(t, http.StatusUnauthorized, "UNAUTHORIZED", http.MethodPut, "/v1/"+e.run+"-nosuchproject/stream/x", merge(ct, bearer(e.mint(t, e.run+"-nosuchproject", token.ScopeWrite, ""))), "")
		})
	})

	// --- 403 ---
	t.Run("auth/403", func(t *testing.T) {
		p := e.stream(main)
		t.Run("read scope on write", func(t *testing.T) {
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodPost, p, merge(ct, r), "x")
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodPut, e.stream(e.name("ro")), merge(ct, r), "")
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodDelete, p, r, "")
		})
		t.Run("wrong sub", func(t *testing.T) {
			other := bearer(e.mint(t, e.project+"-other", token.ScopeWrite, ""))
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodGet, p, other, "")
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodPost, p, merge(ct, other), "x")
		})
		t.Run("stream_id mismatch", func(t *testing.T) {
			elsewhere := bearer(e.mint(t, e.project, token.ScopeWrite, e.name("elsewhere")))
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodGet, p, elsewhere, "")
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodPost, p, merge(ct, elsewhere), "x")
			// The token's own stream works.
			own := bearer(e.mint(t, e.project, token.ScopeWrite, main))
			e.want(t, http.StatusOK, http.MethodGet, p+"?offset=-1", own, "")
			// Not the inspection API.
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodGet, "/v1/"+e.project+"/streams", bearer(e.mint(t, e.project, token.ScopeManage, main)), "")
		})
		t.Run("stream_id fork of another stream", func(t *testing.T) {
			fork := e.name("fork")
			tok := bearer(e.mint(t, e.project, token.ScopeWrite, fork))
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodPut, e.stream(fork),
				merge(ct, tok, H{"Stream-Forked-From": e.stream(main)}), "")
			// Nothing was created.
			e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodGet, e.stream(fork), w, "")
			// An unrestricted write token may fork.
			e.want(t, http.StatusCreated, http.MethodPut, e.stream(fork), merge(ct, w, H{"Stream-Forked-From": e.stream(main)}), "")
			_, b := e.want(t, http.StatusOK, http.MethodGet, e.stream(fork)+"?offset=-1", r, "")
			if b != "hello world!" {
				t.Errorf("fork reads %q", b)
			}
		})
	})

	// --- public streams ---
	t.Run("public", func(t *testing.T) {
		p := e.stream(e.name("pub"))
		e.want(t, http.StatusCreated, http.MethodPut, p+"?public=true", merge(ct, w), "hi")
		t.Run("readable without a token", func(t *testing.T) {
			_, b := e.want(t, http.StatusOK, http.MethodGet, p+"?offset=-1", nil, "")
			if b != "hi" {
				t.Errorf("public read %q", b)
			}
			e.want(t, http.StatusOK, http.MethodHead, p, nil, "")
		})
		t.Run("writes still 401", func(t *testing.T) {
			e.wantErr(t, http.StatusUnauthorized, "UNAUTHORIZED", http.MethodPost, p, ct, "x")
			e.wantErr(t, http.StatusUnauthorized, "UNAUTHORIZED", http.MethodDelete, p, nil, "")
			e.wantErr(t, http.StatusUnauthorized, "UNAUTHORIZED", http.MethodPut, p+"?public=true", ct, "")
		})
		t.Run("re-created without public is private", func(t *testing.T) {
			e.want(t, http.StatusNoContent, http.MethodDelete, p, w, "")
			e.want(t, http.StatusCreated, http.MethodPut, p, merge(ct, w), "private")
			e.wantErr(t, http.StatusUnauthorized, "UNAUTHORIZED", http.MethodGet, p+"?offset=-1", nil, "")
			_, b := e.want(t, http.StatusOK, http.MethodGet, p+"?offset=-1", r, "")
			if b != "private" {
				t.Errorf("re-created stream reads %q", b)
			}
		})
	})

	// --- CORS ---
	t.Run("cors", func(t *testing.T) {
		p := e.stream(main)
		t.Run("unknown origin gets nothing on the named project", func(t *testing.T) {
			o := H{"Origin": "https://unknown.invalid"}
			resp, _ := e.want(t, http.StatusOK, http.MethodGet, p+"?offset=-1", merge(o, r), "")
			header(t, "GET", resp, "Access-Control-Allow-Origin", "")
			header(t, "GET", resp, "X-Content-Type-Options", "nosniff")
			resp = e.wantErr(t, http.StatusUnauthorized, "UNAUTHORIZED", http.MethodGet, p, o, "")
			header(t, "401", resp, "Access-Control-Allow-Origin", "")
			resp, _ = e.do(t, http.MethodOptions, p, merge(o, H{"Access-Control-Request-Method": "POST"}), "")
			header(t, "OPTIONS", resp, "Access-Control-Allow-Origin", "")
		})
		t.Run("default project answers *", func(t *testing.T) {
			o := H{"Origin": "https://unknown.invalid"}
			d := e.defaultStream(e.name("default"))
			resp, _ := e.want(t, http.StatusCreated, http.MethodPut, d, merge(ct, o), "open")
			header(t, "PUT", resp, "Access-Control-Allow-Origin", "*")
			resp, b := e.want(t, http.StatusOK, http.MethodGet, d+"?offset=-1", o, "")
			header(t, "GET", resp, "Access-Control-Allow-Origin", "*")
			if b != "open" {
				t.Errorf("default read %q", b)
			}
			if !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Stream-Next-Offset") {
				t.Errorf("default GET Access-Control-Expose-Headers %q lacks Stream-Next-Offset", resp.Header.Get("Access-Control-Expose-Headers"))
			}
			resp = e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodGet, e.defaultStream(e.name("nothing")), o, "")
			header(t, "404", resp, "Access-Control-Allow-Origin", "*")
			resp, _ = e.want(t, http.StatusNoContent, http.MethodOptions, d, merge(o, H{"Access-Control-Request-Method": "POST"}), "")
			header(t, "OPTIONS", resp, "Access-Control-Allow-Origin", "*")
		})
		t.Run("project origin", func(t *testing.T) {
			if e.origin == "" {
				t.Skip("DSCTL_XE_ORIGIN is not set")
			}
			o := H{"Origin": e.origin}
			resp, _ := e.want(t, http.StatusOK, http.MethodGet, p+"?offset=-1", merge(o, r), "")
			header(t, "GET", resp, "Access-Control-Allow-Origin", e.origin)
			if !strings.Contains(resp.Header.Get("Vary"), "Origin") {
				t.Errorf("GET Vary %q lacks Origin", resp.Header.Get("Vary"))
			}
			if !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Stream-Next-Offset") {
				t.Errorf("GET Access-Control-Expose-Headers %q lacks Stream-Next-Offset", resp.Header.Get("Access-Control-Expose-Headers"))
			}
			resp = e.wantErr(t, http.StatusUnauthorized, "UNAUTHORIZED", http.MethodGet, p, o, "")
			header(t, "401", resp, "Access-Control-Allow-Origin", e.origin)
			resp, _ = e.want(t, http.StatusNoContent, http.MethodOptions, p, merge(o, H{"Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "authorization, content-type"}), "")
			header(t, "OPTIONS", resp, "Access-Control-Allow-Origin", e.origin)
			if ah := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(ah, "authorization") {
				t.Errorf("OPTIONS Access-Control-Allow-Headers %q lacks Authorization", ah)
			}
		})
	})

	// --- inspection API ---
	t.Run("inspect", func(t *testing.T) {
		list := "/v1/" + e.project + "/streams"
		t.Run("list", func(t *testing.T) {
			found := false
			after := ""
			for page := 0; page < 100 && !found; page++ {
				q := "?limit=1000"
				if after != "" {
					q += "&after=" + after
				}
				resp, b := e.want(t, http.StatusOK, http.MethodGet, list+q, m, "")
				header(t, "list", resp, "Content-Type", "application/json")
				var out struct {
					Streams []struct {
						ID, Path, ContentType, TailOffset string
					} `json:"streams"`
					Next string `json:"next"`
				}
				if err := json.Unmarshal([]byte(b), &out); err != nil {
					t.Fatalf("list body %q: %v", b, err)
				}
				for _, s := range out.Streams {
					if s.ID == main {
						found = true
						if s.Path != e.stream(main) || s.ContentType != textCT || s.TailOffset != tail {
							t.Errorf("list entry %+v, want path %s, %s, tail %s", s, e.stream(main), textCT, tail)
						}
					}
				}
				if out.Next == "" {
					break
				}
				after = out.Next
			}
			if !found {
				t.Errorf("stream %s not in the list", main)
			}
		})
		t.Run("detail", func(t *testing.T) {
			_, b := e.want(t, http.StatusOK, http.MethodGet, list+"/"+main, m, "")
			var d map[string]any
			if err := json.Unmarshal([]byte(b), &d); err != nil {
				t.Fatalf("detail %q: %v", b, err)
			}
			if d["id"] != main || d["contentType"] != textCT || d["tailOffset"] != tail || d["closed"] != false || d["public"] != false {
				t.Errorf("detail %s", b)
			}
			for _, k := range []string{"path", "sizeBytes", "messages", "createdAt", "lastWriteAt", "producers", "forks"} {
				if _, ok := d[k]; !ok {
					t.Errorf("detail lacks %q: %s", k, b)
				}
			}
			e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodGet, list+"/"+e.name("missing"), m, "")
		})
		t.Run("needs manage", func(t *testing.T) {
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodGet, list, w, "")
			e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodGet, list+"/"+main, r, "")
			e.wantErr(t, http.StatusUnauthorized, "UNAUTHORIZED", http.MethodGet, list, nil, "")
		})
	})

	// --- session:* streams are reserved ---
	t.Run("session-reserved", func(t *testing.T) {
		s := e.stream("session:" + e.name("s"))
		e.wantErr(t, http.StatusForbidden, "RESERVED_STREAM", http.MethodPut, s, merge(ct, w), "")
		e.wantErr(t, http.StatusForbidden, "RESERVED_STREAM", http.MethodPut, s, merge(ct, m), "x")
		e.wantErr(t, http.StatusForbidden, "RESERVED_STREAM", http.MethodPut, e.stream(e.name("copy")), merge(ct, w, H{"Stream-Forked-From": s}), "")
		e.wantErr(t, http.StatusForbidden, "RESERVED_STREAM", http.MethodPut, e.defaultStream("session:"+e.name("d")), ct, "")
	})

	// --- routing errors ---
	t.Run("errors", func(t *testing.T) {
		e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodGet, "/v2/nothing", nil, "")
		resp := e.wantErr(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", http.MethodPatch, e.stream(main), w, "")
		if resp.Header.Get("Allow") == "" {
			t.Errorf("405 without Allow")
		}
		resp, b := e.want(t, http.StatusOK, http.MethodGet, "/health", nil, "")
		if b != "ok" {
			t.Errorf("/health %q", b)
		}
		header(t, "health", resp, "X-Content-Type-Options", "nosniff")
	})

	if e.pubsub {
		pubsub(t, e, r, w)
	}
}

func pubsub(t *testing.T, e *env, r, w H) {
	base := "/v1/" + e.project
	jsonCT := H{"Content-Type": "application/json"}
	room := e.name("room")
	alice, bob := e.name("alice"), e.name("bob")
	sub := func(t *testing.T, stream, session string) map[string]any {
		t.Helper()
		_, b := e.want(t, http.StatusOK, http.MethodPost, base+"/subscribe", merge(jsonCT, r),
			fmt.Sprintf(`{"streamId":%q,"sessionId":%q}`, stream, session))
		var out map[string]any
		if err := json.Unmarshal([]byte(b), &out); err != nil {
			t.Fatalf("subscribe answer %q: %v", b, err)
		}
		return out
	}
	read := func(t *testing.T, path string) string {
		t.Helper()
		_, b := e.want(t, http.StatusOK, http.MethodGet, path+"?offset=-1", r, "")
		return b
	}
	fanout := func(resp *http.Response) string { return resp.Header.Get("Stream-Fanout-Count") }

	t.Run("pubsub/subscribe", func(t *testing.T) {
		e.want(t, http.StatusCreated, http.MethodPut, e.stream(room), merge(jsonCT, w), "")
		s := sub(t, room, alice)
		if s["isNewSession"] != true || s["sessionId"] != alice || s["streamId"] != room ||
			s["sessionStreamPath"] != e.stream("session:"+alice) || s["expiresAt"] == nil {
			t.Errorf("first subscribe %v", s)
		}
		if s := sub(t, room, alice); s["isNewSession"] != false {
			t.Errorf("second subscribe %v", s)
		}
		sub(t, room, bob)
		if got := read(t, e.stream("session:"+alice)); got != "[]" {
			t.Errorf("new session stream reads %q", got)
		}
		e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodPost, base+"/subscribe", merge(jsonCT, r),
			fmt.Sprintf(`{"streamId":%q,"sessionId":%q}`, e.name("nope"), bob))
		e.wantErr(t, http.StatusBadRequest, "BAD_REQUEST", http.MethodPost, base+"/subscribe", merge(jsonCT, r), `{"streamId":"x"}`)
		e.wantErr(t, http.StatusUnauthorized, "UNAUTHORIZED", http.MethodPost, base+"/subscribe", jsonCT,
			fmt.Sprintf(`{"streamId":%q,"sessionId":%q}`, room, bob))
	})
	t.Run("pubsub/publish", func(t *testing.T) {
		resp, _ := e.want(t, http.StatusNoContent, http.MethodPost, base+"/publish/"+room, merge(jsonCT, w), `{"n":1}`)
		if fanout(resp) != "2" || resp.Header.Get("Stream-Next-Offset") == "" {
			t.Errorf("publish: fan-out %q, next %q", fanout(resp), resp.Header.Get("Stream-Next-Offset"))
		}
		resp, b := e.want(t, http.StatusOK, http.MethodPost, base+"/publish/"+room, merge(jsonCT, w, H{"Accept": "application/json"}), `{"n":2}`)
		var out map[string]any
		if err := json.Unmarshal([]byte(b), &out); err != nil || out["fanoutCount"] != float64(2) || out["duplicate"] != false ||
			out["nextOffset"] != resp.Header.Get("Stream-Next-Offset") {
			t.Errorf("JSON publish answer %q", b)
		}
		want := `[{"n":1},{"n":2}]`
		for _, s := range []string{alice, bob} {
			if got := read(t, e.stream("session:"+s)); got != want {
				t.Errorf("session %s reads %s, want %s", s, got, want)
			}
		}
		if got := read(t, e.stream(room)); got != want {
			t.Errorf("source reads %s", got)
		}
		e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodPost, base+"/publish/"+room, merge(jsonCT, r), `{}`)
		e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodPost, base+"/publish/"+e.name("nope"), merge(jsonCT, w), `{}`)
		e.wantErr(t, http.StatusForbidden, "RESERVED_STREAM", http.MethodPost, base+"/publish/session:"+alice, merge(jsonCT, w), `{}`)
		e.wantErr(t, http.StatusForbidden, "RESERVED_STREAM", http.MethodPost, e.stream("session:"+alice), merge(jsonCT, w), `{}`)
	})
	t.Run("pubsub/retried-publish-once", func(t *testing.T) {
		h := merge(jsonCT, w, H{"Producer-Id": e.name("pub"), "Producer-Epoch": "0", "Producer-Seq": "0"})
		resp, _ := e.want(t, http.StatusOK, http.MethodPost, base+"/publish/"+room, h, `{"once":true}`)
		first := resp.Header.Get("Stream-Next-Offset")
		if fanout(resp) != "2" {
			t.Errorf("first producer publish fan-out %q", fanout(resp))
		}
		resp, b := e.want(t, http.StatusNoContent, http.MethodPost, base+"/publish/"+room, h, `{"once":true}`)
		if fanout(resp) != "0" || resp.Header.Get("Stream-Next-Offset") != first || b != "" {
			t.Errorf("retry: fan-out %q, next %q (want %s), body %q", fanout(resp), resp.Header.Get("Stream-Next-Offset"), first, b)
		}
		_, b = e.want(t, http.StatusOK, http.MethodPost, base+"/publish/"+room, merge(h, H{"Accept": "application/json"}), `{"once":true}`)
		var out map[string]any
		if err := json.Unmarshal([]byte(b), &out); err != nil || out["duplicate"] != true || out["fanoutCount"] != float64(0) {
			t.Errorf("retry JSON answer %q", b)
		}
		want := `[{"n":1},{"n":2},{"once":true}]`
		for _, s := range []string{alice, bob} {
			if got := read(t, e.stream("session:"+s)); got != want {
				t.Errorf("session %s reads %s, want %s", s, got, want)
			}
		}
		h["Producer-Seq"] = "5"
		e.wantErr(t, http.StatusConflict, "PRODUCER_SEQ_GAP", http.MethodPost, base+"/publish/"+room, h, `{"gap":1}`)
	})
	t.Run("pubsub/session", func(t *testing.T) {
		_, b := e.want(t, http.StatusOK, http.MethodGet, base+"/session/"+alice, r, "")
		var s struct {
			SessionID         string `json:"sessionId"`
			SessionStreamPath string `json:"sessionStreamPath"`
			ExpiresAt         string `json:"expiresAt"`
			Subscriptions     []struct {
				StreamID     string `json:"streamId"`
				SubscribedAt string `json:"subscribedAt"`
			} `json:"subscriptions"`
		}
		if err := json.Unmarshal([]byte(b), &s); err != nil {
			t.Fatalf("session %q: %v", b, err)
		}
		if s.SessionID != alice || s.SessionStreamPath != e.stream("session:"+alice) || len(s.Subscriptions) != 1 ||
			s.Subscriptions[0].StreamID != room || s.ExpiresAt == "" {
			t.Errorf("session %s", b)
		}
		e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodGet, base+"/session/"+e.name("nobody"), r, "")
	})
	t.Run("pubsub/touch", func(t *testing.T) {
		_, b := e.want(t, http.StatusOK, http.MethodPost, base+"/session/"+alice+"/touch", r, "")
		var out map[string]any
		if err := json.Unmarshal([]byte(b), &out); err != nil || out["sessionId"] != alice || out["expiresAt"] == nil ||
			out["sessionStreamPath"] != e.stream("session:"+alice) {
			t.Errorf("touch %q", b)
		}
		// Touch of an unknown session creates it, with an empty session stream.
		carol := e.name("carol")
		e.want(t, http.StatusOK, http.MethodPost, base+"/session/"+carol+"/touch", r, "")
		_, b = e.want(t, http.StatusOK, http.MethodGet, base+"/session/"+carol, r, "")
		if !strings.Contains(b, `"subscriptions":[]`) && !strings.Contains(compact(b), `"subscriptions":[]`) {
			t.Errorf("touch-created session %q", b)
		}
		e.want(t, http.StatusOK, http.MethodHead, e.stream("session:"+carol), r, "")
	})
	t.Run("pubsub/unsubscribe", func(t *testing.T) {
		_, b := e.want(t, http.StatusOK, http.MethodDelete, base+"/unsubscribe", merge(jsonCT, w),
			fmt.Sprintf(`{"streamId":%q,"sessionId":%q}`, room, bob))
		if !strings.Contains(compact(b), `"unsubscribed":true`) {
			t.Errorf("unsubscribe %q", b)
		}
		resp, _ := e.want(t, http.StatusNoContent, http.MethodPost, base+"/publish/"+room, merge(jsonCT, w), `{"n":3}`)
		if fanout(resp) != "1" {
			t.Errorf("publish after unsubscribe: fan-out %q, want 1", fanout(resp))
		}
	})
	t.Run("pubsub/delete", func(t *testing.T) {
		e.wantErr(t, http.StatusForbidden, "FORBIDDEN", http.MethodDelete, base+"/session/"+alice, r, "")
		_, b := e.want(t, http.StatusOK, http.MethodDelete, base+"/session/"+alice, w, "")
		if !strings.Contains(compact(b), `"deleted":true`) {
			t.Errorf("delete %q", b)
		}
		e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodGet, base+"/session/"+alice, r, "")
		e.wantErr(t, http.StatusNotFound, "NOT_FOUND", http.MethodGet, e.stream("session:"+alice), r, "")
		_, b = e.want(t, http.StatusOK, http.MethodDelete, base+"/session/"+alice, w, "")
		if !strings.Contains(compact(b), `"deleted":false`) {
			t.Errorf("second delete %q", b)
		}
	})
}
