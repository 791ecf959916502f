package token_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/token"
)

const secret = "0123456789abcdef0123456789abcdef" // 32 characters, used as UTF-8 bytes

var t0 = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

func mint(t *testing.T, secret, project string, scope token.Scope, streamID string, ttl time.Duration) string {
	t.Helper()
	tok, _, err := token.Mint(secret, project, scope, streamID, ttl, t0)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

func TestMintVerifyRoundTrip(t *testing.T) {
	for _, scope := range []token.Scope{token.ScopeRead, token.ScopeWrite, token.ScopeManage} {
		for _, streamID := range []string{"", "s", "a/b c"} {
			tok, minted, err := token.Mint(secret, "acme", scope, streamID, time.Hour, t0)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			if strings.Count(tok, ".") != 2 {
				t.Fatalf("token %q is not three segments", tok)
			}
			if minted.Subject != "acme" || minted.Scope != scope || minted.StreamID != streamID ||
				!minted.ExpiresAt.Equal(t0.Add(time.Hour)) || !minted.IssuedAt.Equal(t0) {
				t.Errorf("minted claims %+v", minted)
			}
			c, err := token.Verify(tok, []string{secret}, t0)
			if err != nil {
				t.Fatalf("Verify(%s, %q): %v", scope, streamID, err)
			}
			if c.Subject != "acme" || c.Scope != scope || c.StreamID != streamID || !c.ExpiresAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("verified claims %+v", c)
			}
		}
	}
}

// TestMintHeaderAndClaims pins the wire form other tools rely on: an
// HS256 JWT over the secret's UTF-8 bytes with sub, scope, exp (seconds)
// and stream_id only when set.
func TestMintHeaderAndClaims(t *testing.T) {
	tok := mint(t, secret, "acme", token.ScopeWrite, "", time.Hour)
	parts := strings.Split(tok, ".")
	var header, claims map[string]any
	decode := func(s string, v any) {
		t.Helper()
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("segment %q: %v", s, err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("segment %s: %v", b, err)
		}
	}
	decode(parts[0], &header)
	decode(parts[1], &claims)
	if header["alg"] != "HS256" {
		t.Errorf("header %v, want alg HS256", header)
	}
	if claims["sub"] != "acme" || claims["scope"] != "write" || claims["exp"] != float64(t0.Add(time.Hour).Unix()) {
		t.Errorf("claims %v", claims)
	}
	if _, ok := claims["stream_id"]; ok {
		t.Errorf("claims %v carry an empty stream_id", claims)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(parts[0] + "." + parts[1]))
	if want := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); parts[2] != want {
		t.Errorf("signature is not HMAC-SHA256 over the secret's bytes")
	}
	if c := claimsOf(t, mint(t, secret, "acme", token.ScopeRead, "s1", time.Hour)); c["stream_id"] != "s1" {
		t.Errorf("stream_id claim = %v", c["stream_id"])
	}
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMintErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		project string
		ttl     time.Duration
	}{
		{"empty project", "", time.Hour},
		{"zero lifetime", "acme", 0},
		{"negative lifetime", "acme", -time.Second},
	} {
		if tok, claims, err := token.Mint(secret, c.project, token.ScopeRead, "", c.ttl, t0); err == nil {
			t.Errorf("%s: Mint = %q, %+v, want an error", c.name, tok, claims)
		}
	}
}

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hand builds a token: header alg, claims, and an HMAC signature with h
// over key (or sig verbatim when h is nil).
func hand(alg string, claims map[string]any, h func() hash.Hash, key, sig string) string {
	input := b64(map[string]any{"alg": alg, "typ": "JWT"}) + "." + b64(claims)
	if h != nil {
		m := hmac.New(h, []byte(key))
		m.Write([]byte(input))
		sig = base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	return input + "." + sig
}

func validClaims(edits map[string]any) map[string]any {
	c := map[string]any{"sub": "acme", "scope": "read", "exp": t0.Add(time.Hour).Unix()}
	for k, v := range edits {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestVerifyErrors(t *testing.T) {
	good := mint(t, secret, "acme", token.ScopeRead, "", time.Hour)
	parts := strings.Split(good, ".")
	other := "fedcba9876543210fedcba9876543210"
	flip := func(s string) string {
		c := byte('A')
		if s[0] == 'A' {
			c = 'B'
		}
		return string(c) + s[1:]
	}
	for _, c := range []struct {
		name    string
		raw     string
		secrets []string
		now     time.Time
		want    error
	}{
		{"empty token", "", []string{secret}, t0, token.ErrMissing},
		{"garbage", "not-a-jwt", []string{secret}, t0, token.ErrInvalid},
		{"two segments", parts[0] + "." + parts[1], []string{secret}, t0, token.ErrInvalid},
		{"garbage segments", "a.b.c", []string{secret}, t0, token.ErrInvalid},
		{"no secrets", good, nil, t0, token.ErrInvalid},
		{"wrong secret", good, []string{other}, t0, token.ErrInvalid},
		{"exp equals now", good, []string{secret}, t0.Add(time.Hour), token.ErrExpired},
		{"exp in the past", good, []string{secret}, t0.Add(30 * 24 * time.Hour), token.ErrExpired},
		{"expired and wrong secret", good, []string{other}, t0.Add(2 * time.Hour), token.ErrInvalid},
		{"tampered payload", parts[0] + "." + b64(validClaims(map[string]any{"scope": "manage"})) + "." + parts[2], []string{secret}, t0, token.ErrInvalid},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), []string{secret}, t0, token.ErrInvalid},
		{"empty signature", parts[0] + "." + parts[1] + ".", []string{secret}, t0, token.ErrInvalid},
		{"alg none", hand("none", validClaims(nil), nil, "", ""), []string{secret}, t0, token.ErrInvalid},
		{"alg none with a signature", hand("none", validClaims(nil), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"RS256", hand("RS256", validClaims(nil), nil, "", b64("bogus")), []string{secret}, t0, token.ErrInvalid},
		{"HS512 with the right secret", hand("HS512", validClaims(nil), sha512.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"HS384 with the right secret", hand("HS384", validClaims(nil), sha512.New384, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"unknown alg", hand("XX999", validClaims(nil), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"missing exp", hand("HS256", validClaims(map[string]any{"exp": nil}), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"exp not a number", hand("HS256", validClaims(map[string]any{"exp": "soon"}), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"missing sub", hand("HS256", validClaims(map[string]any{"sub": nil}), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"empty sub", hand("HS256", validClaims(map[string]any{"sub": ""}), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"missing scope", hand("HS256", validClaims(map[string]any{"scope": nil}), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"unknown scope", hand("HS256", validClaims(map[string]any{"scope": "admin"}), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"scope not a string", hand("HS256", validClaims(map[string]any{"scope": 1}), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
		{"not yet valid (nbf)", hand("HS256", validClaims(map[string]any{"nbf": t0.Add(time.Minute).Unix()}), sha256.New, secret, ""), []string{secret}, t0, token.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			claims, err := token.Verify(c.raw, c.secrets, c.now)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %+v, %v; want %v", claims, err, c.want)
			}
			if claims != nil {
				t.Errorf("claims %+v alongside error %v", claims, err)
			}
			// The three errors are distinct.
			for _, other := range []error{token.ErrMissing, token.ErrInvalid, token.ErrExpired} {
				if other != c.want && errors.Is(err, other) {
					t.Errorf("error %v is also %v", err, other)
				}
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	other := "fedcba9876543210fedcba9876543210"
	for _, c := range []struct {
		name    string
		raw     string
		secrets []string
		now     time.Time
	}{
		{"one second before exp", mint(t, secret, "acme", token.ScopeRead, "", time.Hour), []string{secret}, t0.Add(time.Hour - time.Second)},
		{"second of two keys", mint(t, secret, "acme", token.ScopeRead, "", time.Hour), []string{other, secret}, t0},
		{"first of two keys", mint(t, other, "acme", token.ScopeRead, "", time.Hour), []string{other, secret}, t0},
		{"hand-built HS256 over the secret's bytes", hand("HS256", validClaims(nil), sha256.New, secret, ""), []string{secret}, t0},
		// The secret is used as is, never hex-decoded.
		{"hex-looking secret as text", hand("HS256", validClaims(nil), sha256.New, "00ff00ff00ff00ff", ""), []string{"00ff00ff00ff00ff"}, t0},
		{"unicode secret", mint(t, "sécret-ünïcode-✓-key", "acme", token.ScopeWrite, "", time.Minute), []string{"sécret-ünïcode-✓-key"}, t0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := token.Verify(c.raw, c.secrets, c.now); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
	// A hex secret's decoded bytes are not the key.
	tok := hand("HS256", validClaims(nil), sha256.New, "\x00\xff\x00\xff\x00\xff\x00\xff", "")
	if _, err := token.Verify(tok, []string{"00ff00ff00ff00ff"}, t0); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("a token keyed with the hex-decoded secret verified: %v", err)
	}
}

func TestScopeAllows(t *testing.T) {
	scopes := []token.Scope{token.ScopeRead, token.ScopeWrite, token.ScopeManage, "", "admin", "READ"}
	want := map[token.Scope]map[token.Scope]bool{
		token.ScopeRead:   {token.ScopeRead: true},
		token.ScopeWrite:  {token.ScopeRead: true, token.ScopeWrite: true},
		token.ScopeManage: {token.ScopeRead: true, token.ScopeWrite: true, token.ScopeManage: true},
	}
	for _, have := range scopes {
		for _, need := range scopes {
			if got := have.Allows(need); got != want[have][need] {
				t.Errorf("Scope(%q).Allows(%q) = %v, want %v", have, need, got, want[have][need])
			}
		}
	}
}

func TestParseScope(t *testing.T) {
	for _, s := range []string{"read", "write", "manage"} {
		got, err := token.ParseScope(s)
		if err != nil || string(got) != s {
			t.Errorf("ParseScope(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "READ", "Write", " read", "read ", "admin", "read,write", "all"} {
		got, err := token.ParseScope(s)
		if err == nil || got != "" {
			t.Errorf("ParseScope(%q) = %q, %v; want an error", s, got, err)
			continue
		}
		if !strings.Contains(err.Error(), "read, write or manage") {
			t.Errorf("ParseScope(%q) error %q does not list the scopes", s, err)
		}
	}
}

func TestNewSecret(t *testing.T) {
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	seen := map[string]bool{}
	for range 100 {
		s := token.NewSecret()
		if !hex64.MatchString(s) {
			t.Fatalf("NewSecret() = %q, want 64 lowercase hex characters", s)
		}
		if seen[s] {
			t.Fatalf("NewSecret() repeated %q", s)
		}
		seen[s] = true
	}
}
