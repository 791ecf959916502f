package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/dsctl/dsctl/internal/registry"
)

// KVRegistry is the project registry of a deployed system: the KV
// namespace the workers bind as REGISTRY, one key per project holding
// {"signingSecrets":[…],"corsOrigins":[…]} (the workers read only those
// two; the creation times ride along for `dsctl project`).
//
// Every write is read back and compared, so a write that did not land
// where the workers read is an error, not a silent success.
type KVRegistry struct {
	API       *API
	AccountID string
	Namespace string
	Now       func() time.Time
}

var _ registry.Registry = (*KVRegistry)(nil)

// ErrReadBack means a registry entry read back differs from what was written.
var ErrReadBack = errors.New("the registry entry read back differs from what was written")

// kvEntry is the stored value.
type kvEntry struct {
	SigningSecrets []string    `json:"signingSecrets"`
	CORSOrigins    []string    `json:"corsOrigins"`
	CreatedAt      *time.Time  `json:"createdAt,omitempty"`
	KeysCreatedAt  []time.Time `json:"keysCreatedAt,omitempty"` // parallel to SigningSecrets
}

func (r *KVRegistry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func toEntry(p *registry.Project) kvEntry {
	e := kvEntry{SigningSecrets: p.SecretValues(), CORSOrigins: slices.Clone(p.CORSOrigins)}
	if e.CORSOrigins == nil {
		e.CORSOrigins = []string{}
	}
	if !p.CreatedAt.IsZero() {
		t := p.CreatedAt.UTC()
		e.CreatedAt = &t
	}
	for _, s := range p.Secrets {
		e.KeysCreatedAt = append(e.KeysCreatedAt, s.CreatedAt.UTC())
	}
	return e
}

func fromEntry(name string, b []byte) (*registry.Project, error) {
	var e kvEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("registry entry %s is not valid JSON: %v", name, err)
	}
	p := &registry.Project{Name: name, CORSOrigins: e.CORSOrigins}
	if p.CORSOrigins == nil {
		p.CORSOrigins = []string{}
	}
	if e.CreatedAt != nil {
		p.CreatedAt = e.CreatedAt.UTC()
	}
	for i, s := range e.SigningSecrets {
		sec := registry.Secret{Value: s}
		if len(e.KeysCreatedAt) == len(e.SigningSecrets) {
			sec.CreatedAt = e.KeysCreatedAt[i]
		}
		p.Secrets = append(p.Secrets, sec)
	}
	return p, nil
}

// Project implements registry.Registry.
func (r *KVRegistry) Project(ctx context.Context, name string) (*registry.Project, error) {
	b, ok, err := r.API.GetValue(ctx, r.AccountID, r.Namespace, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", registry.ErrNotFound, name)
	}
	return fromEntry(name, b)
}

// Projects implements registry.Registry (by name; keys that are not
// project names are skipped).
func (r *KVRegistry) Projects(ctx context.Context) ([]registry.Project, error) {
	keys, err := r.API.Keys(ctx, r.AccountID, r.Namespace)
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	var out []registry.Project
	for _, k := range keys {
		if registry.CheckName(k) != nil {
			continue
		}
		p, err := r.Project(ctx, k)
		if errors.Is(err, registry.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, nil
}

// put writes p and reads it back.
func (r *KVRegistry) put(ctx context.Context, p *registry.Project) error {
	want := toEntry(p)
	b, err := json.Marshal(want)
	if err != nil {
		return err
	}
	if err := r.API.PutValue(ctx, r.AccountID, r.Namespace, p.Name, b); err != nil {
		return err
	}
	got, ok, err := r.API.GetValue(ctx, r.AccountID, r.Namespace, p.Name)
	if err != nil {
		return fmt.Errorf("read back %s: %w", p.Name, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s is missing after the write", ErrReadBack, p.Name)
	}
	back, err := fromEntry(p.Name, got)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrReadBack, err)
	}
	if !slices.Equal(back.SecretValues(), p.SecretValues()) || !slices.Equal(back.CORSOrigins, want.CORSOrigins) {
		return fmt.Errorf("%w: %s", ErrReadBack, p.Name)
	}
	return nil
}

// CreateProject implements registry.Registry.
func (r *KVRegistry) CreateProject(ctx context.Context, name, secret string) (*registry.Project, error) {
	if err := registry.CheckName(name); err != nil {
		return nil, err
	}
	if err := registry.CheckSecret(secret); err != nil {
		return nil, err
	}
	if _, ok, err := r.API.GetValue(ctx, r.AccountID, r.Namespace, name); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("%w: %s", registry.ErrExists, name)
	}
	now := r.now()
	p := &registry.Project{Name: name, Secrets: []registry.Secret{{Value: secret, CreatedAt: now}}, CORSOrigins: []string{}, CreatedAt: now}
	if err := r.put(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteProject implements registry.Registry. The project's streams stay
// in their Durable Objects, unreachable without a registry entry.
func (r *KVRegistry) DeleteProject(ctx context.Context, name string) error {
	if _, err := r.Project(ctx, name); err != nil {
		return err
	}
	if err := r.API.DeleteValue(ctx, r.AccountID, r.Namespace, name); err != nil {
		return err
	}
	if _, ok, err := r.API.GetValue(ctx, r.AccountID, r.Namespace, name); err != nil {
		return fmt.Errorf("read back %s: %w", name, err)
	} else if ok {
		return fmt.Errorf("%w: %s is still there after the delete", ErrReadBack, name)
	}
	return nil
}

func (r *KVRegistry) update(ctx context.Context, name string, fn func(*registry.Project) error) (*registry.Project, error) {
	p, err := r.Project(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := fn(p); err != nil {
		return nil, err
	}
	if err := r.put(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// AddSecret implements registry.Registry.
func (r *KVRegistry) AddSecret(ctx context.Context, name, secret string) (*registry.Project, error) {
	now := r.now()
	return r.update(ctx, name, func(p *registry.Project) error { return registry.AddSecret(p, secret, now) })
}

// RemoveSecret implements registry.Registry.
func (r *KVRegistry) RemoveSecret(ctx context.Context, name, id string) (*registry.Project, error) {
	return r.update(ctx, name, func(p *registry.Project) error { return registry.RemoveSecret(p, id) })
}

// AddOrigin implements registry.Registry.
func (r *KVRegistry) AddOrigin(ctx context.Context, name, origin string) (*registry.Project, error) {
	return r.update(ctx, name, func(p *registry.Project) error { return registry.AddOrigin(p, origin) })
}

// RemoveOrigin implements registry.Registry.
func (r *KVRegistry) RemoveOrigin(ctx context.Context, name, origin string) (*registry.Project, error) {
	return r.update(ctx, name, func(p *registry.Project) error { return registry.RemoveOrigin(p, origin) })
}
