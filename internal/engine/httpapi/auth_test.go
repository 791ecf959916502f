package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/httpapi"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

// authT0 is where the injected clock starts, on a whole second, so that a
// token minted at authT0 for an hour expires exactly at authT0+1h.
var authT0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const (
	acmeS      = "/v1/acme/stream/s"
	acmeT      = "/v1/acme/stream/t"
	acmePub    = "/v1/acme/stream/pub"  // public through ?public=true
	acmePubH   = "/v1/acme/stream/pubh" // public through X-Stream-Public: true
	acmeList   = "/v1/acme/streams"
	acmeDetail = "/v1/acme/streams/s"
)

// authKit is a server with projects acme and other, acme's streams s and
// t (private) and pub, pubh (public), and an injected clock at authT0.
type authKit struct {
	e           *env
	clock       *fakeClock
	secret      string // acme's first key
	otherSecret string // other's key
	newSecret   string // acme's second key, once a case adds it
}

func newAuthKit(t *testing.T, opts ...option) *authKit {
	t.Helper()
	clock := newClock(authT0)
	e := newEnv(t, append([]option{withClock(clock)}, opts...)...)
	k := &authKit{e: e, clock: clock}
	k.secret = e.project("acme")
	k.otherSecret = e.project("other")
	w := bearer(k.mint(k.secret, "acme", token.ScopeWrite, ""))
	create(acmeS, textCT, "hello", w)(t, e)
	create(acmeT, textCT, "tee", w)(t, e)
	e.must(http.StatusCreated, http.MethodPut, acmePub+"?public=true", merge(H{"Content-Type": textCT}, w), "pub")
	e.must(http.StatusCreated, http.MethodPut, acmePubH, merge(H{"Content-Type": textCT, "X-Stream-Public": "true"}, w), "pubh")
	return k
}

// mint signs a token at authT0, valid for an hour, whatever the clock
// says now.
func (k *authKit) mint(secret, sub string, scope token.Scope, streamID string) string {
	k.e.t.Helper()
	tok, _, err := token.Mint(secret, sub, scope, streamID, time.Hour, authT0)
	if err != nil {
		k.e.t.Fatalf("mint: %v", err)
	}
	return tok
}

// state is every stream the engine holds in the projects the cases
// touch, to show that a refused request changed nothing.
func (k *authKit) state() []string {
	var out []string
	for _, p := range []string{"acme", "other", "nope", httpapi.DefaultProject} {
		for _, s := range k.e.eng.List(p, "", 1000) {
			out = append(out, p+"/"+s.Key.Name+"@"+engine.FormatOffset(s.Tail)+"/"+s.ContentType)
		}
	}
	return out
}

// Authorization header builders.

type authFn func(k *authKit) string

func none(*authKit) string { return "" }

func raw(v string) authFn { return func(*authKit) string { return v } }

// acme is a Bearer token for acme signed with its first key.
func acme(scope token.Scope) authFn {
	return func(k *authKit) string { return "Bearer " + k.mint(k.secret, "acme", scope, "") }
}

// acmeStream is acme's token restricted to one stream.
func acmeStream(scope token.Scope, id string) authFn {
	return func(k *authKit) string { return "Bearer " + k.mint(k.secret, "acme", scope, id) }
}

// acmeNewKey is acme's token signed with the key a case added.
func acmeNewKey(scope token.Scope) authFn {
	return func(k *authKit) string { return "Bearer " + k.mint(k.newSecret, "acme", scope, "") }
}

// b64 is base64url without padding of v's JSON (or of v itself if it is
// a string).
func b64(v any) string {
	if s, ok := v.(string); ok {
		return base64.RawURLEncoding.EncodeToString([]byte(s))
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// claims are acme's write claims valid for an hour from authT0, with
// edits: a nil value deletes the claim.
func claims(edits map[string]any) map[string]any {
	c := map[string]any{"sub": "acme", "scope": "write", "iat": authT0.Unix(), "exp": authT0.Add(time.Hour).Unix()}
	for k, v := range edits {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// handJWT builds a token by hand: header and claims as given, signed with
// HMAC (hash h) over the secret's UTF-8 bytes, or with sig verbatim when
// h is nil.
func handJWT(header, c map[string]any, h func() hash.Hash, key, sig string) string {
	input := b64(header) + "." + b64(c)
	if h != nil {
		m := hmac.New(h, []byte(key))
		m.Write([]byte(input))
		sig = base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	return input + "." + sig
}

func hs256(c map[string]any) authFn {
	return func(k *authKit) string {
		return "Bearer " + handJWT(map[string]any{"alg": "HS256", "typ": "JWT"}, c, sha256.New, k.secret, "")
	}
}

// tamperPayload swaps a read token's claims for write claims and keeps
// the signature.
func tamperPayload(k *authKit) string {
	parts := strings.Split(k.mint(k.secret, "acme", token.ScopeRead, ""), ".")
	parts[1] = b64(claims(nil))
	return "Bearer " + strings.Join(parts, ".")
}

// tamperSignature changes the first character of a write token's
// signature (the last one may only carry padding bits).
func tamperSignature(k *authKit) string {
	parts := strings.Split(k.mint(k.secret, "acme", token.ScopeWrite, ""), ".")
	c := byte('A')
	if parts[2][0] == 'A' {
		c = 'B'
	}
	parts[2] = string(c) + parts[2][1:]
	return "Bearer " + strings.Join(parts, ".")
}

// Setup steps.

func at(d time.Duration) func(*testing.T, *authKit) {
	return func(_ *testing.T, k *authKit) { k.clock.Set(authT0.Add(d)) }
}

func addKey(t *testing.T, k *authKit) {
	t.Helper()
	k.newSecret = token.NewSecret()
	p, err := k.e.reg.AddSecret(context.Background(), "acme", k.newSecret)
	if err != nil {
		t.Fatalf("AddSecret: %v", err)
	}
	if p.Secrets[0].Value != k.newSecret || len(p.Secrets) != 2 {
		t.Fatalf("after AddSecret the keys are %d, the first is not the new one", len(p.Secrets))
	}
}

func rotateKey(t *testing.T, k *authKit) {
	t.Helper()
	addKey(t, k)
	old := registry.Secret{Value: k.secret}
	if _, err := k.e.reg.RemoveSecret(context.Background(), "acme", old.ID()); err != nil {
		t.Fatalf("RemoveSecret: %v", err)
	}
}

func registerDefault(t *testing.T, k *authKit) {
	t.Helper()
	k.e.project(httpapi.DefaultProject)
}

// defaultTok is a token for the default project with its newest key.
func defaultTok(scope token.Scope) authFn {
	return func(k *authKit) string {
		k.e.t.Helper()
		p, err := k.e.reg.Project(context.Background(), httpapi.DefaultProject)
		if err != nil {
			k.e.t.Fatalf("default project: %v", err)
		}
		return "Bearer " + k.mint(p.Secrets[0].Value, httpapi.DefaultProject, scope, "")
	}
}

type authCase struct {
	name   string
	opts   []option
	setup  func(t *testing.T, k *authKit)
	method string
	path   string
	auth   authFn // the Authorization header; "" sends none
	header H
	body   string
	want   int
	code   string // the error code of a 4xx
	body2  string // when set, the exact response body
}

const (
	codeUnauthorized = "UNAUTHORIZED"
	codeExpired      = "TOKEN_EXPIRED"
	codeForbidden    = "FORBIDDEN"
)

func TestAuthTokens(t *testing.T) {
	ct := H{"Content-Type": textCT}
	const (
		get, head, put, post, del, options = http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions
		ok, created, noContent             = http.StatusOK, http.StatusCreated, http.StatusNoContent
		unauth, forbidden                  = http.StatusUnauthorized, http.StatusForbidden
	)
	read, write, manage := token.ScopeRead, token.ScopeWrite, token.ScopeManage
	cases := []authCase{
		// Valid tokens: reads take any scope, writes write or manage, the
		// inspection API manage.
		{name: "read token reads", method: get, path: acmeS, auth: acme(read), want: ok, body2: "hello"},
		{name: "write token reads", method: get, path: acmeS, auth: acme(write), want: ok, body2: "hello"},
		{name: "manage token reads", method: get, path: acmeS, auth: acme(manage), want: ok, body2: "hello"},
		{name: "read token HEAD", method: head, path: acmeS, auth: acme(read), want: ok},
		{name: "read token long-poll with data", method: get, path: acmeS + "?offset=-1&live=long-poll", auth: acme(read), want: ok, body2: "hello"},
		{name: "write token appends", method: post, path: acmeS, auth: acme(write), header: ct, body: "!", want: noContent},
		{name: "manage token appends", method: post, path: acmeS, auth: acme(manage), header: ct, body: "!", want: noContent},
		{name: "write token creates", method: put, path: "/v1/acme/stream/new", auth: acme(write), header: ct, want: created},
		{name: "write token deletes", method: del, path: acmeT, auth: acme(write), want: noContent},
		{name: "read token cannot append", method: post, path: acmeS, auth: acme(read), header: ct, body: "!", want: forbidden, code: codeForbidden},
		{name: "read token cannot create", method: put, path: "/v1/acme/stream/new", auth: acme(read), header: ct, want: forbidden, code: codeForbidden},
		{name: "read token cannot re-PUT", method: put, path: acmeS, auth: acme(read), header: ct, want: forbidden, code: codeForbidden},
		{name: "read token cannot delete", method: del, path: acmeS, auth: acme(read), want: forbidden, code: codeForbidden},
		{name: "read token cannot close", method: post, path: acmeS, auth: acme(read), header: H{"Stream-Closed": "true"}, want: forbidden, code: codeForbidden},
		{name: "manage token lists", method: get, path: acmeList, auth: acme(manage), want: ok},
		{name: "manage token inspects", method: get, path: acmeDetail, auth: acme(manage), want: ok},
		{name: "read token cannot list", method: get, path: acmeList, auth: acme(read), want: forbidden, code: codeForbidden},
		{name: "write token cannot list", method: get, path: acmeList, auth: acme(write), want: forbidden, code: codeForbidden},
		{name: "write token cannot inspect", method: get, path: acmeDetail, auth: acme(write), want: forbidden, code: codeForbidden},
		{name: "no token cannot list", method: get, path: acmeList, auth: none, want: unauth, code: codeUnauthorized},

		// Expiry: the token is valid while now < exp.
		{name: "one second before exp", setup: at(time.Hour - time.Second), method: get, path: acmeS, auth: acme(read), want: ok},
		{name: "exp equals now", setup: at(time.Hour), method: get, path: acmeS, auth: acme(read), want: unauth, code: codeExpired},
		{name: "exp in the past", setup: at(48 * time.Hour), method: post, path: acmeS, auth: acme(write), header: ct, body: "!", want: unauth, code: codeExpired},
		{name: "expired manage token on the list", setup: at(time.Hour), method: get, path: acmeList, auth: acme(manage), want: unauth, code: codeExpired},
		{
			// Only a verified token can be "expired".
			name: "expired token with a wrong key is just invalid", setup: at(time.Hour), method: get, path: acmeS,
			auth: func(k *authKit) string { return "Bearer " + k.mint(k.otherSecret, "acme", read, "") }, want: unauth, code: codeUnauthorized,
		},

		// Malformed or missing credentials.
		{name: "no Authorization", method: get, path: acmeS, auth: none, want: unauth, code: codeUnauthorized},
		{name: "no Authorization on HEAD", method: head, path: acmeS, auth: none, want: unauth},
		{name: "Basic scheme", method: get, path: acmeS, auth: raw("Basic YWNtZTpzZWNyZXQ="), want: unauth, code: codeUnauthorized},
		{
			name: "token without a scheme", method: get, path: acmeS, want: unauth, code: codeUnauthorized,
			auth: func(k *authKit) string { return k.mint(k.secret, "acme", read, "") },
		},
		{name: "Bearer without a token", method: get, path: acmeS, auth: raw("Bearer "), want: unauth, code: codeUnauthorized},
		{name: "garbage token", method: get, path: acmeS, auth: raw("Bearer not-a-jwt"), want: unauth, code: codeUnauthorized},
		{name: "three garbage segments", method: get, path: acmeS, auth: raw("Bearer a.b.c"), want: unauth, code: codeUnauthorized},
		{
			name: "scheme is case-insensitive", method: get, path: acmeS, want: ok,
			auth: func(k *authKit) string { return "bearer " + k.mint(k.secret, "acme", read, "") },
		},

		// Algorithms: HS256 only.
		{
			name: "hand-built HS256 over the secret's bytes is accepted", method: post, path: acmeS, header: ct, body: "!",
			auth: hs256(claims(nil)), want: noContent,
		},
		{
			name: "alg none", method: post, path: acmeS, header: ct, body: "!", want: unauth, code: codeUnauthorized,
			auth: func(k *authKit) string {
				return "Bearer " + handJWT(map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), nil, "", "")
			},
		},
		{
			name: "alg None with an HS256 signature", method: get, path: acmeS, want: unauth, code: codeUnauthorized,
			auth: func(k *authKit) string {
				return "Bearer " + handJWT(map[string]any{"alg": "None", "typ": "JWT"}, claims(nil), sha256.New, k.secret, "")
			},
		},
		{
			name: "RS256 header with a bogus signature", method: get, path: acmeS, want: unauth, code: codeUnauthorized,
			auth: func(k *authKit) string {
				return "Bearer " + handJWT(map[string]any{"alg": "RS256", "typ": "JWT"}, claims(nil), nil, "", b64("bogus-signature"))
			},
		},
		{
			name: "HS512 with the right secret", method: get, path: acmeS, want: unauth, code: codeUnauthorized,
			auth: func(k *authKit) string {
				return "Bearer " + handJWT(map[string]any{"alg": "HS512", "typ": "JWT"}, claims(nil), sha512.New, k.secret, "")
			},
		},

		// Integrity.
		{name: "tampered payload", method: post, path: acmeS, header: ct, body: "!", auth: tamperPayload, want: unauth, code: codeUnauthorized},
		{name: "tampered signature", method: get, path: acmeS, auth: tamperSignature, want: unauth, code: codeUnauthorized},
		{
			name: "signed with another project's key", method: get, path: acmeS, want: unauth, code: codeUnauthorized,
			auth: func(k *authKit) string { return "Bearer " + k.mint(k.otherSecret, "acme", read, "") },
		},

		// Claims.
		{name: "missing exp", method: get, path: acmeS, auth: hs256(claims(map[string]any{"exp": nil})), want: unauth, code: codeUnauthorized},
		{name: "exp not a number", method: get, path: acmeS, auth: hs256(claims(map[string]any{"exp": "tomorrow"})), want: unauth, code: codeUnauthorized},
		{name: "missing sub", method: get, path: acmeS, auth: hs256(claims(map[string]any{"sub": nil})), want: unauth, code: codeUnauthorized},
		{name: "empty sub", method: get, path: acmeS, auth: hs256(claims(map[string]any{"sub": ""})), want: unauth, code: codeUnauthorized},
		{
			name: "sub of another project", method: get, path: acmeS, want: forbidden, code: codeForbidden,
			auth: func(k *authKit) string { return "Bearer " + k.mint(k.secret, "other", read, "") },
		},
		{
			name: "other project's token on acme", method: get, path: acmeS, want: unauth, code: codeUnauthorized,
			auth: func(k *authKit) string { return "Bearer " + k.mint(k.otherSecret, "other", manage, "") },
		},
		{name: "unknown scope", method: get, path: acmeS, auth: hs256(claims(map[string]any{"scope": "admin"})), want: unauth, code: codeUnauthorized},
		{name: "scope in capitals", method: get, path: acmeS, auth: hs256(claims(map[string]any{"scope": "READ"})), want: unauth, code: codeUnauthorized},
		{name: "missing scope", method: get, path: acmeS, auth: hs256(claims(map[string]any{"scope": nil})), want: unauth, code: codeUnauthorized},

		// stream_id restricts reads and writes to one stream.
		{name: "stream_id matches on read", method: get, path: acmeS, auth: acmeStream(read, "s"), want: ok, body2: "hello"},
		{name: "stream_id matches on write", method: post, path: acmeS, auth: acmeStream(write, "s"), header: ct, body: "!", want: noContent},
		{name: "stream_id mismatch on read", method: get, path: acmeT, auth: acmeStream(read, "s"), want: forbidden, code: codeForbidden},
		{name: "stream_id mismatch on HEAD", method: head, path: acmeT, auth: acmeStream(manage, "s"), want: forbidden},
		{name: "stream_id mismatch on write", method: post, path: acmeT, auth: acmeStream(write, "s"), header: ct, body: "!", want: forbidden, code: codeForbidden},
		{name: "stream_id mismatch on delete", method: del, path: acmeT, auth: acmeStream(write, "s"), want: forbidden, code: codeForbidden},
		{name: "stream_id is not a prefix", method: get, path: "/v1/acme/stream/s/x", auth: acmeStream(read, "s"), want: forbidden, code: codeForbidden},
		{name: "stream_id token on the list", method: get, path: acmeList, auth: acmeStream(manage, "s"), want: forbidden, code: codeForbidden},
		{name: "stream_id token on a detail", method: get, path: acmeDetail, auth: acmeStream(manage, "s"), want: forbidden, code: codeForbidden},

		// Key rotation: every key verifies until it is removed.
		{name: "old key after AddSecret", setup: addKey, method: get, path: acmeS, auth: acme(read), want: ok},
		{name: "new key after AddSecret", setup: addKey, method: post, path: acmeS, auth: acmeNewKey(write), header: ct, body: "!", want: noContent},
		{name: "removed key after RemoveSecret", setup: rotateKey, method: get, path: acmeS, auth: acme(manage), want: unauth, code: codeUnauthorized},
		{name: "new key after RemoveSecret", setup: rotateKey, method: get, path: acmeS, auth: acmeNewKey(read), want: ok},

		// Unknown projects.
		{
			name: "unknown project with a token", method: get, path: "/v1/nope/stream/s", want: unauth, code: codeUnauthorized,
			auth: func(k *authKit) string { return "Bearer " + k.mint(k.secret, "nope", manage, "") },
		},
		{name: "unknown project without a token", method: put, path: "/v1/nope/stream/s", auth: none, header: ct, want: unauth, code: codeUnauthorized},
		{name: "unknown project list", method: get, path: "/v1/nope/streams", auth: none, want: unauth, code: codeUnauthorized},
		{
			name: "deleted project", method: get, path: acmeS, auth: acme(read), want: unauth, code: codeUnauthorized,
			setup: func(t *testing.T, k *authKit) {
				if err := k.e.reg.DeleteProject(context.Background(), "acme"); err != nil {
					t.Fatal(err)
				}
			},
		},

		// Public streams: readable by anyone, writable only with a token.
		{name: "public stream read without a token", method: get, path: acmePub, auth: none, want: ok, body2: "pub"},
		{name: "public stream (header) HEAD without a token", method: head, path: acmePubH, auth: none, want: ok},
		{name: "public stream long-poll without a token", method: get, path: acmePub + "?offset=-1&live=long-poll", auth: none, want: ok, body2: "pub"},
		{name: "public stream read with a garbage token", method: get, path: acmePub, auth: raw("Bearer garbage"), want: ok, body2: "pub"},
		{name: "public stream read with an expired token", setup: at(time.Hour), method: get, path: acmePub, auth: acme(read), want: ok},
		{name: "public stream write without a token", method: post, path: acmePub, auth: none, header: ct, body: "!", want: unauth, code: codeUnauthorized},
		{name: "public stream re-PUT without a token", method: put, path: acmePub + "?public=true", auth: none, header: ct, want: unauth, code: codeUnauthorized},
		{name: "public stream delete with a read token", method: del, path: acmePub, auth: acme(read), want: forbidden, code: codeForbidden},
		{name: "public stream detail without a token", method: get, path: "/v1/acme/streams/pub", auth: none, want: unauth, code: codeUnauthorized},
		{name: "public stream write with a token", method: post, path: acmePub, auth: acme(write), header: ct, body: "!", want: noContent},
		{name: "missing stream without a token is 401, not 404", method: get, path: "/v1/acme/stream/missing", auth: none, want: unauth, code: codeUnauthorized},
		{
			// §7.1 #12: a stale public flag made a private stream re-created
			// under the same name publicly readable.
			name: "re-created without public is private", method: get, path: acmePub, auth: none, want: unauth, code: codeUnauthorized,
			setup: func(t *testing.T, k *authKit) {
				w := bearer(k.mint(k.secret, "acme", token.ScopeWrite, ""))
				k.e.must(http.StatusNoContent, http.MethodDelete, acmePub, w, "")
				k.e.must(http.StatusCreated, http.MethodPut, acmePub, merge(ct, w), "")
			},
		},
		{
			name: "re-created without the header is private", method: head, path: acmePubH, auth: none, want: unauth,
			setup: func(t *testing.T, k *authKit) {
				w := bearer(k.mint(k.secret, "acme", token.ScopeWrite, ""))
				k.e.must(http.StatusNoContent, http.MethodDelete, acmePubH, w, "")
				k.e.must(http.StatusCreated, http.MethodPut, acmePubH, merge(ct, w), "")
			},
		},
		{
			// The flag is fixed at creation: an idempotent re-PUT asking
			// for public does not publish a private stream.
			name: "re-PUT with public=true does not publish", method: get, path: acmeS, auth: none, want: unauth, code: codeUnauthorized,
			setup: func(t *testing.T, k *authKit) {
				w := bearer(k.mint(k.secret, "acme", token.ScopeWrite, ""))
				k.e.must(http.StatusOK, http.MethodPut, acmeS+"?public=true", merge(H{"Content-Type": textCT, "X-Stream-Public": "true"}, w), "")
			},
		},

		// The default project: open unless AuthDefault.
		{name: "default project open: write without a token", method: put, path: "/v1/stream/x", auth: none, header: ct, want: created},
		{name: "default project open: list without a token", method: get, path: "/v1/streams", auth: none, want: ok},
		{name: "default project open: garbage token ignored", method: put, path: "/v1/default/stream/x", auth: raw("Bearer garbage"), header: ct, want: created},
		{
			name: "AuthDefault: write without a token", opts: []option{withAuthDefault()}, setup: registerDefault,
			method: put, path: "/v1/stream/x", auth: none, header: ct, want: unauth, code: codeUnauthorized,
		},
		{
			name: "AuthDefault: read without a token", opts: []option{withAuthDefault()}, setup: registerDefault,
			method: get, path: "/v1/default/stream/x", auth: none, want: unauth, code: codeUnauthorized,
		},
		{
			name: "AuthDefault: list without a token", opts: []option{withAuthDefault()}, setup: registerDefault,
			method: get, path: "/v1/streams", auth: none, want: unauth, code: codeUnauthorized,
		},
		{
			name: "AuthDefault: write with a default token", opts: []option{withAuthDefault()}, setup: registerDefault,
			method: put, path: "/v1/stream/x", auth: defaultTok(write), header: ct, want: created,
		},
		{
			name: "AuthDefault: list with a read token", opts: []option{withAuthDefault()}, setup: registerDefault,
			method: get, path: "/v1/streams", auth: defaultTok(read), want: forbidden, code: codeForbidden,
		},
		{
			name: "AuthDefault: list with a manage token", opts: []option{withAuthDefault()}, setup: registerDefault,
			method: get, path: "/v1/streams", auth: defaultTok(manage), want: ok,
		},
		{
			name: "AuthDefault: acme's token on the default project", opts: []option{withAuthDefault()}, setup: registerDefault,
			method: put, path: "/v1/stream/x", auth: acme(manage), header: ct, want: unauth, code: codeUnauthorized,
		},
		{
			// Fail closed: --auth without a default project in the registry.
			name: "AuthDefault without a registered default project", opts: []option{withAuthDefault()},
			method: get, path: "/v1/streams", auth: none, want: unauth, code: codeUnauthorized,
		},
		{
			name: "AuthDefault: OPTIONS needs no token", opts: []option{withAuthDefault()}, setup: registerDefault,
			method: options, path: "/v1/stream/x", auth: none, want: noContent,
		},
		{name: "AuthDefault: health needs no token", opts: []option{withAuthDefault()}, method: get, path: "/health", auth: none, want: ok},

		// Preflights carry no credentials.
		{name: "OPTIONS on a stream without a token", method: options, path: acmeS, auth: none, want: noContent},
		{name: "OPTIONS on the list without a token", method: options, path: acmeList, auth: none, want: noContent},
		{name: "OPTIONS on a detail without a token", method: options, path: acmeDetail, auth: none, want: noContent},
		{name: "OPTIONS on an unknown project", method: options, path: "/v1/nope/stream/s", auth: none, want: noContent},
		{name: "OPTIONS with a garbage token", method: options, path: acmeS, auth: raw("Bearer garbage"), want: noContent},
	}

	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			k := newAuthKit(t, c.opts...)
			if c.setup != nil {
				c.setup(t, k)
			}
			h := merge(H{}, c.header)
			if a := c.auth(k); a != "" {
				h["Authorization"] = a
			}
			before := k.state()
			resp, body := k.e.do(c.method, c.path, h, c.body)
			if resp.StatusCode != c.want {
				t.Fatalf("%s %s: status %d, want %d; body %q", c.method, c.path, resp.StatusCode, c.want, body)
			}
			checkCommon(t, c.method, resp, body)
			if c.method != http.MethodHead && c.code != "" {
				if got := errorCode(body); got != c.code {
					t.Errorf("error code %q, want %q (body %q)", got, c.code, body)
				}
			}
			if c.code != "" && c.want < 400 {
				t.Fatalf("case %q: a code with a success status", c.name)
			}
			if c.body2 != "" && string(body) != c.body2 {
				t.Errorf("body %q, want %q", body, c.body2)
			}
			www := resp.Header.Get("WWW-Authenticate")
			switch {
			case c.want == http.StatusUnauthorized && !strings.HasPrefix(www, "Bearer"):
				t.Errorf("401 WWW-Authenticate = %q, want a Bearer challenge", www)
			case c.want != http.StatusUnauthorized && www != "":
				t.Errorf("%d has WWW-Authenticate %q", c.want, www)
			}
			if c.want >= 400 {
				if after := k.state(); !slices.Equal(before, after) {
					t.Errorf("a refused request changed the streams:\n before %v\n after  %v", before, after)
				}
			}
		})
	}
	if len(cases) < 30 {
		t.Errorf("only %d token cases", len(cases))
	}
}

// TestAuthStoreRegistryLiveEdits: with the SQLite store as the registry
// (as dsctl serve runs), project edits made through another Store on the
// same data directory (as the dsctl project commands do while the server
// runs) apply to the next request, without a restart.
func TestAuthStoreRegistryLiveEdits(t *testing.T) {
	clock := newClock(authT0)
	e := newEnv(t, withStoreRegistry(), withClock(clock))
	cli, err := sqlite.Open(context.Background(), e.dir, sqlite.Full)
	if err != nil {
		t.Fatalf("open a second store on the data dir: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx := context.Background()
	mint := func(secret string, scope token.Scope) H {
		tok, _, err := token.Mint(secret, "live", scope, "", time.Hour, authT0)
		if err != nil {
			t.Fatal(err)
		}
		return bearer(tok)
	}
	path := "/v1/live/stream/s"
	oldKey, newKey := token.NewSecret(), token.NewSecret()

	e.must(http.StatusUnauthorized, http.MethodPut, path, mint(oldKey, token.ScopeWrite), "")
	if _, err := cli.CreateProject(ctx, "live", oldKey); err != nil {
		t.Fatal(err)
	}
	create(path, textCT, "hi", mint(oldKey, token.ScopeWrite))(t, e)

	if _, err := cli.AddSecret(ctx, "live", newKey); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusOK, http.MethodHead, path, mint(oldKey, token.ScopeRead), "")
	e.must(http.StatusOK, http.MethodHead, path, mint(newKey, token.ScopeRead), "")
	if _, err := cli.RemoveSecret(ctx, "live", registry.Secret{Value: oldKey}.ID()); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusUnauthorized, http.MethodHead, path, mint(oldKey, token.ScopeRead), "")
	e.must(http.StatusOK, http.MethodHead, path, mint(newKey, token.ScopeRead), "")

	origin := H{"Origin": "https://live.example"}
	resp := e.must(http.StatusOK, http.MethodHead, path, merge(origin, mint(newKey, token.ScopeRead)), "")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("ACAO %q before the origin was allowed", got)
	}
	if _, err := cli.AddOrigin(ctx, "live", "https://live.example/"); err != nil {
		t.Fatal(err)
	}
	resp = e.must(http.StatusOK, http.MethodHead, path, merge(origin, mint(newKey, token.ScopeRead)), "")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://live.example" {
		t.Errorf("ACAO %q after AddOrigin, want https://live.example", got)
	}

	// A project with live streams cannot be deleted; once they are gone
	// it can, and its tokens stop working at once.
	if err := cli.DeleteProject(ctx, "live"); !errors.Is(err, registry.ErrNotEmpty) {
		t.Fatalf("DeleteProject with a live stream: %v, want ErrNotEmpty", err)
	}
	e.must(http.StatusOK, http.MethodHead, path, mint(newKey, token.ScopeRead), "")
	e.must(http.StatusNoContent, http.MethodDelete, path, mint(newKey, token.ScopeWrite), "")
	if err := cli.DeleteProject(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusUnauthorized, http.MethodHead, path, mint(newKey, token.ScopeRead), "")
	e.must(http.StatusUnauthorized, http.MethodPut, path, mint(newKey, token.ScopeWrite), "")
}
