// Package registry is the project registry: each project's signing
// secrets (newest first, for rotation) and allowed CORS origins. The
// durable implementation lives in engine/sqlite, next to the streams in
// the same database; Memory serves `dsctl serve --in-memory` and tests.
package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultProject is the project the bare /v1/stream/<id> layout uses.
const DefaultProject = "default"

// Errors. Wrap them with context; the CLI and HTTP layers map them.
var (
	ErrNotFound = errors.New("project not found")
	ErrExists   = errors.New("project already exists")
	ErrLastKey  = errors.New("cannot remove a project's last signing key")
	ErrNoKey    = errors.New("no such signing key")
	ErrInvalid  = errors.New("invalid project settings")
	ErrNotEmpty = errors.New("project still has streams")
)

// Project is one registry entry.
type Project struct {
	Name        string    `json:"name"`
	Secrets     []Secret  `json:"-"`
	CORSOrigins []string  `json:"corsOrigins"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Secret is one signing key.
type Secret struct {
	Value     string    `json:"secret"`
	CreatedAt time.Time `json:"createdAt"`
}

// ID is a short public fingerprint of the secret, safe to print and to
// name the key in `dsctl project keys remove`.
func (s Secret) ID() string {
	sum := sha256.Sum256([]byte(s.Value))
	return hex.EncodeToString(sum[:4])
}

// SecretValues returns the secrets, newest first.
func (p *Project) SecretValues() []string {
	out := make([]string, len(p.Secrets))
	for i, s := range p.Secrets {
		out[i] = s.Value
	}
	return out
}

// AllowsOrigin reports whether origin may read responses in a browser:
// an exact match, or "*" in the list.
func (p *Project) AllowsOrigin(origin string) bool {
	if origin == "" {
		return false
	}
	for _, o := range p.CORSOrigins {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}

// Registry stores projects.
type Registry interface {
	Project(ctx context.Context, name string) (*Project, error)
	Projects(ctx context.Context) ([]Project, error)
	CreateProject(ctx context.Context, name, secret string) (*Project, error)
	DeleteProject(ctx context.Context, name string) error
	// AddSecret puts a new signing key first; RemoveSecret removes the key
	// with that ID and refuses to remove the last one.
	AddSecret(ctx context.Context, name, secret string) (*Project, error)
	RemoveSecret(ctx context.Context, name, id string) (*Project, error)
	AddOrigin(ctx context.Context, name, origin string) (*Project, error)
	RemoveOrigin(ctx context.Context, name, origin string) (*Project, error)
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// MaxNameLength bounds project names.
const MaxNameLength = 64

// CheckName validates a project name.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: project name is empty", ErrInvalid)
	case len(name) > MaxNameLength:
		return fmt.Errorf("%w: project name is longer than %d characters", ErrInvalid, MaxNameLength)
	case !nameRE.MatchString(name):
		return fmt.Errorf("%w: project name %q may only contain letters, digits, '_' and '-'", ErrInvalid, name)
	case name == "stream" || name == "streams":
		return fmt.Errorf("%w: project name %q is reserved", ErrInvalid, name)
	}
	return nil
}

// CheckOrigin validates a normalised CORS origin: "*" or
// scheme://host[:port], with no path (browsers send none).
func CheckOrigin(origin string) error {
	if origin == "*" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%w: origin %q: want scheme://host[:port], e.g. https://app.example.com, or *", ErrInvalid, origin)
	}
	return nil
}

// NormalizeOrigin drops a trailing slash, since browsers send none.
func NormalizeOrigin(origin string) string { return strings.TrimSuffix(origin, "/") }
