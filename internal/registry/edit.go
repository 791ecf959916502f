package registry

import (
	"fmt"
	"slices"
	"time"
)

// The edits below are shared by every Registry implementation: they
// change a Project value in memory and the implementation persists it.

// AddSecret puts secret first, so it is tried first and used for new
// tokens; a secret already present is an error.
func AddSecret(p *Project, secret string, now time.Time) error {
	if err := CheckSecret(secret); err != nil {
		return err
	}
	for _, s := range p.Secrets {
		if s.Value == secret {
			return fmt.Errorf("%w: project %s already has that key (%s)", ErrInvalid, p.Name, s.ID())
		}
	}
	p.Secrets = append([]Secret{{Value: secret, CreatedAt: now}}, p.Secrets...)
	return nil
}

// RemoveSecret removes the key with the given ID, never the last one.
func RemoveSecret(p *Project, id string) error {
	i := slices.IndexFunc(p.Secrets, func(s Secret) bool { return s.ID() == id })
	if i < 0 {
		return fmt.Errorf("%w: project %s has no key %s", ErrNoKey, p.Name, id)
	}
	if len(p.Secrets) == 1 {
		return fmt.Errorf("%w: %s is project %s's only key; add a new one first", ErrLastKey, id, p.Name)
	}
	p.Secrets = slices.Delete(p.Secrets, i, i+1)
	return nil
}

// AddOrigin allows a CORS origin (idempotent).
func AddOrigin(p *Project, origin string) error {
	origin = NormalizeOrigin(origin)
	if err := CheckOrigin(origin); err != nil {
		return err
	}
	if !slices.Contains(p.CORSOrigins, origin) {
		p.CORSOrigins = append(p.CORSOrigins, origin)
	}
	return nil
}

// RemoveOrigin disallows a CORS origin.
func RemoveOrigin(p *Project, origin string) error {
	origin = NormalizeOrigin(origin)
	i := slices.Index(p.CORSOrigins, origin)
	if i < 0 {
		return fmt.Errorf("%w: project %s does not allow origin %s", ErrInvalid, p.Name, origin)
	}
	p.CORSOrigins = slices.Delete(p.CORSOrigins, i, i+1)
	return nil
}

// MinSecretLength is the shortest signing secret accepted.
const MinSecretLength = 16

// CheckSecret validates a signing secret.
func CheckSecret(s string) error {
	if len(s) < MinSecretLength {
		return fmt.Errorf("%w: secret is %d characters; it needs at least %d", ErrInvalid, len(s), MinSecretLength)
	}
	return nil
}
