package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dsctl/dsctl/internal/token"
)

// TestCORSNamedProjects: a named project echoes exactly an Origin on its
// list (or any Origin when the list holds "*"), always with Vary: Origin,
// and sends no ACAO otherwise: never "*", and never a configured origin
// the request did not send (§7.1 #2; 167cfbe fixed the seed echoing the
// first configured origin on a mismatch). The default project keeps "*".
func TestCORSNamedProjects(t *testing.T) {
	const (
		app   = "https://app.example.com"
		local = "http://localhost:5173"
		path  = "/v1/web/stream/s"
	)
	e := newEnv(t)
	e.project("web", app, local)
	e.project("star", "*")
	e.project("closed")
	for _, p := range []string{"web", "star", "closed"} {
		create("/v1/"+p+"/stream/s", textCT, "hi", e.auth(p, token.ScopeWrite))(t, e)
	}

	type want struct {
		acao string // "" = absent
	}
	for _, c := range []struct {
		name, method, path, origin string
		h                          H
		status                     int
		want                       want
	}{
		{"listed origin", http.MethodGet, path, app, e.auth("web", token.ScopeRead), http.StatusOK, want{app}},
		{"second listed origin, not the first", http.MethodGet, path, local, e.auth("web", token.ScopeRead), http.StatusOK, want{local}},
		{"unlisted origin", http.MethodGet, path, "https://evil.example", e.auth("web", token.ScopeRead), http.StatusOK, want{""}},
		{"listed origin as a prefix", http.MethodGet, path, app + ".evil.example", e.auth("web", token.ScopeRead), http.StatusOK, want{""}},
		{"listed origin with a path", http.MethodGet, path, app + "/", e.auth("web", token.ScopeRead), http.StatusOK, want{""}},
		{"listed origin on another scheme", http.MethodGet, path, "http://app.example.com", e.auth("web", token.ScopeRead), http.StatusOK, want{""}},
		{"listed origin on another port", http.MethodGet, path, app + ":8443", e.auth("web", token.ScopeRead), http.StatusOK, want{""}},
		{"null origin", http.MethodGet, path, "null", e.auth("web", token.ScopeRead), http.StatusOK, want{""}},
		{"no Origin", http.MethodGet, path, "", e.auth("web", token.ScopeRead), http.StatusOK, want{""}},
		{"listed origin on a write", http.MethodPost, path, app, merge(H{"Content-Type": textCT}, e.auth("web", token.ScopeWrite)), http.StatusNoContent, want{app}},
		{"listed origin on the list endpoint", http.MethodGet, "/v1/web/streams", app, e.auth("web", token.ScopeManage), http.StatusOK, want{app}},
		{"listed origin on a 404", http.MethodGet, "/v1/web/stream/missing", app, e.auth("web", token.ScopeRead), http.StatusNotFound, want{app}},
		{"listed origin on a 405", http.MethodPatch, path, app, e.auth("web", token.ScopeWrite), http.StatusMethodNotAllowed, want{app}},
		// Browsers can only read an auth failure the response lets them.
		{"listed origin on a 401 without a token", http.MethodGet, path, app, nil, http.StatusUnauthorized, want{app}},
		{"listed origin on a 401 with a bad token", http.MethodGet, path, app, H{"Authorization": "Bearer garbage"}, http.StatusUnauthorized, want{app}},
		{"listed origin on a 403", http.MethodPost, path, app, merge(H{"Content-Type": textCT}, e.auth("web", token.ScopeRead)), http.StatusForbidden, want{app}},
		{"unlisted origin on a 401", http.MethodGet, path, "https://evil.example", nil, http.StatusUnauthorized, want{""}},
		{"preflight from a listed origin", http.MethodOptions, path, app, H{"Access-Control-Request-Method": "POST"}, http.StatusNoContent, want{app}},
		{"preflight from an unlisted origin", http.MethodOptions, path, "https://evil.example", H{"Access-Control-Request-Method": "POST"}, http.StatusNoContent, want{""}},
		{"star echoes the request origin", http.MethodGet, "/v1/star/stream/s", "https://any.example", e.auth("star", token.ScopeRead), http.StatusOK, want{"https://any.example"}},
		{"star on a 401", http.MethodGet, "/v1/star/stream/s", "https://any.example", nil, http.StatusUnauthorized, want{"https://any.example"}},
		{"star without Origin", http.MethodGet, "/v1/star/stream/s", "", e.auth("star", token.ScopeRead), http.StatusOK, want{""}},
		{"no origins configured", http.MethodGet, "/v1/closed/stream/s", app, e.auth("closed", token.ScopeRead), http.StatusOK, want{""}},
		{"preflight with no origins configured", http.MethodOptions, "/v1/closed/stream/s", app, nil, http.StatusNoContent, want{""}},
		{"unknown project", http.MethodGet, "/v1/nope/stream/s", app, nil, http.StatusUnauthorized, want{""}},
		{"preflight on an unknown project", http.MethodOptions, "/v1/nope/stream/s", app, nil, http.StatusNoContent, want{""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := merge(H{}, c.h)
			if c.origin != "" {
				h["Origin"] = c.origin
			}
			resp, body := e.do(c.method, c.path, h, "x")
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s: status %d, want %d; body %q", c.method, c.path, resp.StatusCode, c.status, body)
			}
			checkCommon(t, c.method, resp, body)
			got, present := resp.Header["Access-Control-Allow-Origin"]
			switch {
			case c.want.acao == "" && present:
				t.Errorf("Access-Control-Allow-Origin = %q, want none", got)
			case c.want.acao != "" && (len(got) != 1 || got[0] != c.want.acao):
				t.Errorf("Access-Control-Allow-Origin = %q, want exactly %q", got, c.want.acao)
			}
			if c.want.acao == "" {
				for _, k := range []string{"Access-Control-Expose-Headers", "Access-Control-Allow-Credentials"} {
					if v := resp.Header.Get(k); v != "" {
						t.Errorf("%s = %q without an allowed origin", k, v)
					}
				}
				if v := resp.Header.Get("Access-Control-Allow-Origin"); v == app || v == local {
					t.Errorf("echoed a configured origin %q the request did not send", v)
				}
			}
			// The answer depends on Origin, so caches must key on it.
			if !varyHas(resp.Header, "Origin") {
				t.Errorf("Vary = %q, want it to list Origin", resp.Header.Values("Vary"))
			}
			if c.want.acao != "" && c.method == http.MethodOptions {
				if ah := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(ah, "authorization") {
					t.Errorf("preflight Access-Control-Allow-Headers = %q, want Authorization", ah)
				}
				if am := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(am, "POST") {
					t.Errorf("preflight Access-Control-Allow-Methods = %q", am)
				}
			}
			if c.want.acao != "" && c.method != http.MethodOptions {
				if ex := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(ex, "Stream-Next-Offset") {
					t.Errorf("Access-Control-Expose-Headers = %q", ex)
				}
			}
		})
	}
}

// TestCORSDefaultProject: the default project keeps ACAO * for any
// Origin, on successes, errors and preflights.
func TestCORSDefaultProject(t *testing.T) {
	e := newEnv(t)
	e.project("web", "https://app.example.com")
	create(sp, textCT, "hi")(t, e)
	for _, r := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, sp, http.StatusOK},
		{http.MethodGet, "/v1/default/stream/s", http.StatusOK},
		{http.MethodGet, "/v1/stream/missing", http.StatusNotFound},
		{http.MethodOptions, sp, http.StatusNoContent},
		{http.MethodGet, "/v1/streams", http.StatusOK},
		{http.MethodGet, "/health", http.StatusOK},
	} {
		for _, origin := range []string{"https://app.example.com", "https://evil.example", ""} {
			h := H{}
			if origin != "" {
				h["Origin"] = origin
			}
			resp, body := e.do(r.method, r.path, h, "")
			if resp.StatusCode != r.status {
				t.Errorf("%s %s: status %d, want %d", r.method, r.path, resp.StatusCode, r.status)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("%s %s from %q: ACAO %q, want *", r.method, r.path, origin, got)
			}
			checkCommon(t, r.method, resp, body)
		}
	}
}

// TestCORSOriginEditsApplyAtOnce: the registry is read on every request,
// so adding or removing an origin changes the next response.
func TestCORSOriginEditsApplyAtOnce(t *testing.T) {
	e := newEnv(t)
	e.project("web")
	path := "/v1/web/stream/s"
	create(path, textCT, "hi", e.auth("web", token.ScopeWrite))(t, e)
	acao := func() string {
		t.Helper()
		resp := e.must(http.StatusOK, http.MethodHead, path, merge(H{"Origin": "https://app.example.com"}, e.auth("web", token.ScopeRead)), "")
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	ctx := context.Background()
	if got := acao(); got != "" {
		t.Fatalf("ACAO %q with no origins", got)
	}
	if _, err := e.reg.AddOrigin(ctx, "web", "https://app.example.com/"); err != nil {
		t.Fatal(err)
	}
	if got := acao(); got != "https://app.example.com" {
		t.Fatalf("ACAO %q after AddOrigin, want https://app.example.com", got)
	}
	if _, err := e.reg.RemoveOrigin(ctx, "web", "https://app.example.com"); err != nil {
		t.Fatal(err)
	}
	if got := acao(); got != "" {
		t.Fatalf("ACAO %q after RemoveOrigin", got)
	}
}
