package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dsctl/dsctl/internal/registry"
)

// Store is also the durable registry.Registry: projects live in the same
// database as their streams. Reads go to the read pool on every call, so
// a running server sees changes that `dsctl project …` makes from another
// process at once.
var _ registry.Registry = (*Store)(nil)

type secretJSON struct {
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"createdAt"`
}

func scanProject(row interface{ Scan(...any) error }) (*registry.Project, error) {
	var p registry.Project
	var secrets, origins string
	var created int64
	if err := row.Scan(&p.Name, &secrets, &origins, &created); err != nil {
		return nil, err
	}
	var ss []secretJSON
	if err := json.Unmarshal([]byte(secrets), &ss); err != nil {
		return nil, fmt.Errorf("project %s: corrupt secrets: %w", p.Name, err)
	}
	for _, s := range ss {
		p.Secrets = append(p.Secrets, registry.Secret{Value: s.Secret, CreatedAt: s.CreatedAt})
	}
	if err := json.Unmarshal([]byte(origins), &p.CORSOrigins); err != nil {
		return nil, fmt.Errorf("project %s: corrupt CORS origins: %w", p.Name, err)
	}
	if p.CORSOrigins == nil {
		p.CORSOrigins = []string{}
	}
	p.CreatedAt = time.UnixMilli(created).UTC()
	return &p, nil
}

const projectColumns = `name, secrets, cors_origins, created_at_ms`

// Project implements registry.Registry.
func (s *Store) Project(ctx context.Context, name string) (*registry.Project, error) {
	p, err := scanProject(s.read.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", registry.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("load project %s: %w", name, err)
	}
	return p, nil
}

// Projects implements registry.Registry.
func (s *Store) Projects(ctx context.Context) ([]registry.Project, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+projectColumns+` FROM projects ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	defer rows.Close()
	out := []registry.Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

func encodeProject(p *registry.Project) (secrets, origins string) {
	ss := make([]secretJSON, len(p.Secrets))
	for i, s := range p.Secrets {
		ss[i] = secretJSON{Secret: s.Value, CreatedAt: s.CreatedAt}
	}
	b, _ := json.Marshal(ss)
	o := p.CORSOrigins
	if o == nil {
		o = []string{}
	}
	ob, _ := json.Marshal(o)
	return string(b), string(ob)
}

// CreateProject implements registry.Registry.
func (s *Store) CreateProject(ctx context.Context, name, secret string) (*registry.Project, error) {
	if err := registry.CheckName(name); err != nil {
		return nil, err
	}
	if err := registry.CheckSecret(secret); err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := &registry.Project{Name: name, Secrets: []registry.Secret{{Value: secret, CreatedAt: now}}, CORSOrigins: []string{}, CreatedAt: now}
	secrets, origins := encodeProject(p)
	res, err := s.write.ExecContext(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO NOTHING`,
		name, secrets, origins, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("create project %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("%w: %s", registry.ErrExists, name)
	}
	return p, nil
}

// DeleteProject implements registry.Registry. It refuses while the
// project has live streams, checked in the same transaction, so a stream
// cannot be orphaned (and later exposed to a re-created project of the
// same name).
func (s *Store) DeleteProject(ctx context.Context, name string) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete project %s: %w", name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM streams WHERE project = ? AND soft_deleted = 0`, name).Scan(&n); err != nil {
		return fmt.Errorf("delete project %s: %w", name, err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %s has %d", registry.ErrNotEmpty, name, n)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete project %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", registry.ErrNotFound, name)
	}
	return tx.Commit()
}

// update applies edit to the project inside one immediate transaction,
// so concurrent edits from several processes do not lose each other.
func (s *Store) update(ctx context.Context, name string, edit func(p *registry.Project) error) (*registry.Project, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("update project %s: %w", name, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	p, err := scanProject(tx.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", registry.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("update project %s: %w", name, err)
	}
	if err := edit(p); err != nil {
		return nil, err
	}
	secrets, origins := encodeProject(p)
	if _, err := tx.ExecContext(ctx, `UPDATE projects SET secrets = ?, cors_origins = ? WHERE name = ?`, secrets, origins, name); err != nil {
		return nil, fmt.Errorf("update project %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("update project %s: %w", name, err)
	}
	return p, nil
}

// AddSecret implements registry.Registry.
func (s *Store) AddSecret(ctx context.Context, name, secret string) (*registry.Project, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return s.update(ctx, name, func(p *registry.Project) error { return registry.AddSecret(p, secret, now) })
}

// RemoveSecret implements registry.Registry.
func (s *Store) RemoveSecret(ctx context.Context, name, id string) (*registry.Project, error) {
	return s.update(ctx, name, func(p *registry.Project) error { return registry.RemoveSecret(p, id) })
}

// AddOrigin implements registry.Registry.
func (s *Store) AddOrigin(ctx context.Context, name, origin string) (*registry.Project, error) {
	return s.update(ctx, name, func(p *registry.Project) error { return registry.AddOrigin(p, origin) })
}

// RemoveOrigin implements registry.Registry.
func (s *Store) RemoveOrigin(ctx context.Context, name, origin string) (*registry.Project, error) {
	return s.update(ctx, name, func(p *registry.Project) error { return registry.RemoveOrigin(p, origin) })
}
