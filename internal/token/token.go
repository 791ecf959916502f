// Package token mints and verifies dsctl's project tokens: HS256 JWTs
// whose HMAC key is a project secret's UTF-8 bytes (as the original
// Cloudflare workers do, so tokens interoperate with their tooling).
package token

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Scope is what a token may do.
type Scope string

const (
	ScopeRead   Scope = "read"   // read streams
	ScopeWrite  Scope = "write"  // read, create, append, close, delete
	ScopeManage Scope = "manage" // all of the above plus the inspection API
)

// ParseScope validates a scope name.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeRead, ScopeWrite, ScopeManage:
		return Scope(s), nil
	}
	return "", fmt.Errorf("unknown scope %q: want read, write or manage", s)
}

// Allows reports whether a token of scope s may perform an operation that
// needs scope need.
func (s Scope) Allows(need Scope) bool {
	switch need {
	case ScopeRead:
		return s == ScopeRead || s == ScopeWrite || s == ScopeManage
	case ScopeWrite:
		return s == ScopeWrite || s == ScopeManage
	case ScopeManage:
		return s == ScopeManage
	}
	return false
}

// Claims are a token's claims.
type Claims struct {
	Scope    Scope  `json:"scope"`
	StreamID string `json:"stream_id,omitempty"`
	jwt.RegisteredClaims
}

// Errors from Verify. ErrExpired and ErrInvalid are authentication
// failures (401).
var (
	ErrMissing = errors.New("missing bearer token")
	ErrInvalid = errors.New("invalid token")
	ErrExpired = errors.New("token expired")
)

// NewSecret returns a random secret: 32 bytes from crypto/rand, hex.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// Mint signs a token for project with the given scope, lifetime and
// optional stream restriction.
func Mint(secret, project string, scope Scope, streamID string, ttl time.Duration, now time.Time) (string, *Claims, error) {
	if project == "" {
		return "", nil, errors.New("mint token: empty project")
	}
	if ttl <= 0 {
		return "", nil, fmt.Errorf("mint token: lifetime must be positive, got %s", ttl)
	}
	c := &Claims{
		Scope:    scope,
		StreamID: streamID,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   project,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		return "", nil, fmt.Errorf("mint token: %w", err)
	}
	return s, c, nil
}

// Verify checks raw against each secret in turn (newest first, so keys
// can rotate) and returns its claims. Only HS256 is accepted; exp is
// required and the token is expired once now ≥ exp.
func Verify(raw string, secrets []string, now time.Time) (*Claims, error) {
	if raw == "" {
		return nil, ErrMissing
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	for _, secret := range secrets {
		var c Claims
		_, err := p.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return []byte(secret), nil })
		switch {
		case err == nil:
			if _, serr := ParseScope(string(c.Scope)); serr != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalid, serr)
			}
			if c.Subject == "" {
				return nil, fmt.Errorf("%w: no sub claim", ErrInvalid)
			}
			return &c, nil
		case errors.Is(err, jwt.ErrTokenSignatureInvalid):
			continue // maybe signed with another of the project's keys
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, ErrExpired
		default:
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return nil, fmt.Errorf("%w: signature does not match any of the project's keys", ErrInvalid)
}
