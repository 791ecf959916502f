package registry

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Memory is an in-memory Registry.
type Memory struct {
	mu       sync.Mutex
	projects map[string]*Project
	now      func() time.Time
}

// NewMemory returns an empty in-memory registry.
func NewMemory() *Memory {
	return &Memory{projects: map[string]*Project{}, now: time.Now}
}

func clone(p *Project) *Project {
	c := *p
	c.Secrets = slices.Clone(p.Secrets)
	c.CORSOrigins = slices.Clone(p.CORSOrigins)
	return &c
}

// Project implements Registry.
func (m *Memory) Project(ctx context.Context, name string) (*Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.projects[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return clone(p), nil
}

// Projects implements Registry.
func (m *Memory) Projects(ctx context.Context) ([]Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Project, 0, len(m.projects))
	for _, p := range m.projects {
		out = append(out, *clone(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateProject implements Registry.
func (m *Memory) CreateProject(ctx context.Context, name, secret string) (*Project, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if err := CheckSecret(secret); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.projects[name]; ok {
		return nil, fmt.Errorf("%w: %s", ErrExists, name)
	}
	now := m.now().UTC()
	p := &Project{Name: name, Secrets: []Secret{{Value: secret, CreatedAt: now}}, CORSOrigins: []string{}, CreatedAt: now}
	m.projects[name] = p
	return clone(p), nil
}

// DeleteProject implements Registry.
func (m *Memory) DeleteProject(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.projects[name]; !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	delete(m.projects, name)
	return nil
}

func (m *Memory) update(name string, fn func(p *Project) error) (*Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.projects[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	c := clone(p)
	if err := fn(c); err != nil {
		return nil, err
	}
	m.projects[name] = c
	return clone(c), nil
}

// AddSecret implements Registry.
func (m *Memory) AddSecret(ctx context.Context, name, secret string) (*Project, error) {
	now := m.now().UTC()
	return m.update(name, func(p *Project) error { return AddSecret(p, secret, now) })
}

// RemoveSecret implements Registry.
func (m *Memory) RemoveSecret(ctx context.Context, name, id string) (*Project, error) {
	return m.update(name, func(p *Project) error { return RemoveSecret(p, id) })
}

// AddOrigin implements Registry.
func (m *Memory) AddOrigin(ctx context.Context, name, origin string) (*Project, error) {
	return m.update(name, func(p *Project) error { return AddOrigin(p, origin) })
}

// RemoveOrigin implements Registry.
func (m *Memory) RemoveOrigin(ctx context.Context, name, origin string) (*Project, error) {
	return m.update(name, func(p *Project) error { return RemoveOrigin(p, origin) })
}
