package registry_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/registry"
)

const (
	key1 = "first-secret-0123456789"
	key2 = "second-secret-0123456789"
	key3 = "third-secret-0123456789"
)

// implementations runs fn on every Registry: Memory and the SQLite store.
func implementations(t *testing.T, fn func(t *testing.T, reg registry.Registry)) {
	t.Run("memory", func(t *testing.T) { fn(t, registry.NewMemory()) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Full)
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

func TestCreateProject(t *testing.T) {
	implementations(t, func(t *testing.T, reg registry.Registry) {
		ctx := context.Background()
		before := time.Now().Add(-time.Second)
		p, err := reg.CreateProject(ctx, "acme", key1)
		if err != nil {
			t.Fatalf("CreateProject: %v", err)
		}
		if p.Name != "acme" || len(p.Secrets) != 1 || p.Secrets[0].Value != key1 || p.CORSOrigins == nil || len(p.CORSOrigins) != 0 {
			t.Errorf("created %+v", p)
		}
		if p.CreatedAt.Before(before) || p.CreatedAt.After(time.Now().Add(time.Second)) || p.Secrets[0].CreatedAt.IsZero() {
			t.Errorf("created at %v, key created at %v", p.CreatedAt, p.Secrets[0].CreatedAt)
		}
		got, err := reg.Project(ctx, "acme")
		if err != nil {
			t.Fatalf("Project: %v", err)
		}
		if got.Name != "acme" || len(got.Secrets) != 1 || got.Secrets[0].Value != key1 || !got.CreatedAt.Equal(p.CreatedAt) ||
			got.CORSOrigins == nil || len(got.CORSOrigins) != 0 {
			t.Errorf("Project = %+v, created %+v", got, p)
		}

		if _, err := reg.CreateProject(ctx, "acme", key2); !errors.Is(err, registry.ErrExists) {
			t.Errorf("duplicate CreateProject: %v, want ErrExists", err)
		}
		if got, _ := reg.Project(ctx, "acme"); got.Secrets[0].Value != key1 {
			t.Errorf("a refused duplicate changed the key")
		}
		// Names are case-sensitive: Acme is another project.
		if _, err := reg.CreateProject(ctx, "Acme", key2); err != nil {
			t.Errorf("CreateProject(Acme): %v", err)
		}
		for _, n := range []string{"b", "a-b_C9", strings.Repeat("x", 64), "default"} {
			if _, err := reg.CreateProject(ctx, n, key3); err != nil {
				t.Errorf("CreateProject(%q): %v", n, err)
			}
		}
		all, err := reg.Projects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range all {
			names = append(names, p.Name)
		}
		if want := "[Acme a-b_C9 acme b default " + strings.Repeat("x", 64) + "]"; fmt.Sprint(names) != want {
			t.Errorf("Projects = %v, want %s", names, want)
		}
	})
}

func TestCreateProjectInvalid(t *testing.T) {
	implementations(t, func(t *testing.T, reg registry.Registry) {
		ctx := context.Background()
		for _, name := range []string{"", "stream", "streams", strings.Repeat("x", 65), "a.b", "a b", "a/b", "a:b", "ü", "a%20b",
			"../x", "a\x00b", "a\nb", " acme", "acme "} {
			if _, err := reg.CreateProject(ctx, name, key1); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("CreateProject(%q): %v, want ErrInvalid", name, err)
			}
		}
		for _, secret := range []string{"", "short", strings.Repeat("s", registry.MinSecretLength-1)} {
			if _, err := reg.CreateProject(ctx, "acme", secret); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("CreateProject with a %d-character secret: %v, want ErrInvalid", len(secret), err)
			}
		}
		if all, _ := reg.Projects(ctx); len(all) != 0 {
			t.Errorf("refused creates left %+v", all)
		}
		if _, err := reg.CreateProject(ctx, "acme", strings.Repeat("s", registry.MinSecretLength)); err != nil {
			t.Errorf("a %d-character secret: %v", registry.MinSecretLength, err)
		}
	})
}

func TestDeleteProject(t *testing.T) {
	implementations(t, func(t *testing.T, reg registry.Registry) {
		ctx := context.Background()
		mustCreate(t, reg, "acme", key1)
		mustCreate(t, reg, "other", key2)
		if err := reg.DeleteProject(ctx, "acme"); err != nil {
			t.Fatalf("DeleteProject: %v", err)
		}
		if _, err := reg.Project(ctx, "acme"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("Project after delete: %v, want ErrNotFound", err)
		}
		if err := reg.DeleteProject(ctx, "acme"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("second DeleteProject: %v, want ErrNotFound", err)
		}
		if _, err := reg.Project(ctx, "other"); err != nil {
			t.Errorf("the other project went too: %v", err)
		}
		// The name is free again, with a new key.
		if p, err := reg.CreateProject(ctx, "acme", key3); err != nil || p.Secrets[0].Value != key3 || len(p.Secrets) != 1 {
			t.Errorf("re-create: %+v, %v", p, err)
		}
	})
}

func TestUnknownProject(t *testing.T) {
	implementations(t, func(t *testing.T, reg registry.Registry) {
		ctx := context.Background()
		if _, err := reg.Project(ctx, "nope"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("Project: %v", err)
		}
		for name, f := range map[string]func() (*registry.Project, error){
			"AddSecret":    func() (*registry.Project, error) { return reg.AddSecret(ctx, "nope", key2) },
			"RemoveSecret": func() (*registry.Project, error) { return reg.RemoveSecret(ctx, "nope", "00000000") },
			"AddOrigin":    func() (*registry.Project, error) { return reg.AddOrigin(ctx, "nope", "https://a.example") },
			"RemoveOrigin": func() (*registry.Project, error) { return reg.RemoveOrigin(ctx, "nope", "https://a.example") },
		} {
			if _, err := f(); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("%s on an unknown project: %v, want ErrNotFound", name, err)
			}
		}
		if all, _ := reg.Projects(ctx); len(all) != 0 {
			t.Errorf("edits of an unknown project created %+v", all)
		}
	})
}

func mustCreate(t *testing.T, reg registry.Registry, name, secret string) {
	t.Helper()
	if _, err := reg.CreateProject(context.Background(), name, secret); err != nil {
		t.Fatalf("CreateProject(%s): %v", name, err)
	}
}

func values(p *registry.Project) string { return fmt.Sprint(p.SecretValues()) }

func TestSecrets(t *testing.T) {
	implementations(t, func(t *testing.T, reg registry.Registry) {
		ctx := context.Background()
		mustCreate(t, reg, "acme", key1)
		id1 := registry.Secret{Value: key1}.ID()

		p, err := reg.AddSecret(ctx, "acme", key2)
		if err != nil {
			t.Fatalf("AddSecret: %v", err)
		}
		if values(p) != fmt.Sprint([]string{key2, key1}) {
			t.Errorf("after AddSecret keys are %s, want the new one first", values(p))
		}
		if p.Secrets[0].CreatedAt.IsZero() {
			t.Errorf("new key has no creation time")
		}
		if got, _ := reg.Project(ctx, "acme"); values(got) != values(p) {
			t.Errorf("stored keys %s, returned %s", values(got), values(p))
		}
		if _, err := reg.AddSecret(ctx, "acme", key3); err != nil {
			t.Fatal(err)
		}

		// Refused additions change nothing.
		for _, s := range []string{key1, key3, "short", strings.Repeat("s", registry.MinSecretLength-1)} {
			if _, err := reg.AddSecret(ctx, "acme", s); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("AddSecret(%q): %v, want ErrInvalid", s, err)
			}
		}
		if got, _ := reg.Project(ctx, "acme"); values(got) != fmt.Sprint([]string{key3, key2, key1}) {
			t.Errorf("keys %s after refused additions", values(got))
		}

		// Remove by ID, from the middle and the end.
		p, err = reg.RemoveSecret(ctx, "acme", registry.Secret{Value: key2}.ID())
		if err != nil || values(p) != fmt.Sprint([]string{key3, key1}) {
			t.Fatalf("RemoveSecret(key2) = %v, %v", p, err)
		}
		p, err = reg.RemoveSecret(ctx, "acme", id1)
		if err != nil || values(p) != fmt.Sprint([]string{key3}) {
			t.Fatalf("RemoveSecret(key1) = %v, %v", p, err)
		}
		if _, err := reg.RemoveSecret(ctx, "acme", id1); !errors.Is(err, registry.ErrNoKey) {
			t.Errorf("removing a removed key: %v, want ErrNoKey", err)
		}
		for _, id := range []string{"", "nope", "0000000", strings.ToUpper(registry.Secret{Value: key3}.ID()), key3} {
			if _, err := reg.RemoveSecret(ctx, "acme", id); !errors.Is(err, registry.ErrNoKey) {
				t.Errorf("RemoveSecret(%q): %v, want ErrNoKey", id, err)
			}
		}
		// Never the last key.
		if _, err := reg.RemoveSecret(ctx, "acme", registry.Secret{Value: key3}.ID()); !errors.Is(err, registry.ErrLastKey) {
			t.Errorf("removing the last key: %v, want ErrLastKey", err)
		}
		if got, _ := reg.Project(ctx, "acme"); values(got) != fmt.Sprint([]string{key3}) {
			t.Errorf("keys %s, want the last key kept", values(got))
		}
		// Rotation can go on from there.
		if p, err := reg.AddSecret(ctx, "acme", key1); err != nil || values(p) != fmt.Sprint([]string{key1, key3}) {
			t.Errorf("re-adding a removed key: %v, %v", p, err)
		}
	})
}

func TestOrigins(t *testing.T) {
	implementations(t, func(t *testing.T, reg registry.Registry) {
		ctx := context.Background()
		mustCreate(t, reg, "acme", key1)
		origins := func() string {
			t.Helper()
			p, err := reg.Project(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(p.CORSOrigins)
		}
		for _, o := range []string{"https://app.example.com", "https://app.example.com", "https://app.example.com/",
			"http://localhost:5173/", "*", "*"} {
			if _, err := reg.AddOrigin(ctx, "acme", o); err != nil {
				t.Errorf("AddOrigin(%q): %v", o, err)
			}
		}
		if got := origins(); got != "[https://app.example.com http://localhost:5173 *]" {
			t.Errorf("origins %s", got)
		}
		for _, o := range []string{"", "app.example.com", "ftp://app.example.com", "https://", "https:///x", "https://a.example/path",
			"https://a.example?x=1", "https://a.example#f", "https://user@a.example", "javascript:alert(1)", "**", "null"} {
			if _, err := reg.AddOrigin(ctx, "acme", o); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("AddOrigin(%q): %v, want ErrInvalid", o, err)
			}
		}
		if got := origins(); got != "[https://app.example.com http://localhost:5173 *]" {
			t.Errorf("origins %s after refused additions", got)
		}
		if _, err := reg.RemoveOrigin(ctx, "acme", "https://app.example.com/"); err != nil {
			t.Errorf("RemoveOrigin with a trailing slash: %v", err)
		}
		if _, err := reg.RemoveOrigin(ctx, "acme", "*"); err != nil {
			t.Errorf("RemoveOrigin(*): %v", err)
		}
		if got := origins(); got != "[http://localhost:5173]" {
			t.Errorf("origins %s after removals", got)
		}
		if _, err := reg.RemoveOrigin(ctx, "acme", "https://app.example.com"); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("removing an origin not on the list: %v, want ErrInvalid", err)
		}
		if p, err := reg.RemoveOrigin(ctx, "acme", "http://localhost:5173"); err != nil || p.CORSOrigins == nil || len(p.CORSOrigins) != 0 {
			t.Errorf("removing the last origin: %+v, %v", p, err)
		}
		if got := origins(); got != "[]" {
			t.Errorf("origins %s, want none", got)
		}
	})
}

// TestOriginWithTwoTrailingSlashes: NormalizeOrigin drops one trailing
// slash and CheckOrigin then accepts the remaining path "/", so
// "https://a.example//" is stored as "https://a.example/", an origin no
// browser ever sends (Origin has no path): the entry is accepted, listed,
// and silently never matches.
func TestOriginWithTwoTrailingSlashes(t *testing.T) {
	implementations(t, func(t *testing.T, reg registry.Registry) {
		ctx := context.Background()
		mustCreate(t, reg, "acme", key1)
		p, err := reg.AddOrigin(ctx, "acme", "https://a.example//")
		if err == nil && !p.AllowsOrigin("https://a.example") {
			t.Errorf("AddOrigin(https://a.example//) stored %q, which no browser Origin matches", p.CORSOrigins)
		}
	})
}

// TestReturnedProjectsAreCopies: editing a returned Project does not edit
// the registry.
func TestReturnedProjectsAreCopies(t *testing.T) {
	implementations(t, func(t *testing.T, reg registry.Registry) {
		ctx := context.Background()
		p, err := reg.CreateProject(ctx, "acme", key1)
		if err != nil {
			t.Fatal(err)
		}
		p.Secrets[0].Value = "changed-outside-00"
		p.CORSOrigins = append(p.CORSOrigins, "https://evil.example")
		got, _ := reg.Project(ctx, "acme")
		got.Secrets = append(got.Secrets, registry.Secret{Value: "appended-outside-0"})
		got.CORSOrigins = append(got.CORSOrigins, "https://evil.example")
		all, _ := reg.Projects(ctx)
		all[0].Secrets[0].Value = "changed-in-list-00"
		again, _ := reg.Project(ctx, "acme")
		if values(again) != fmt.Sprint([]string{key1}) || len(again.CORSOrigins) != 0 {
			t.Errorf("stored project changed through a returned value: %+v", again)
		}
	})
}

// TestConcurrentEdits: concurrent edits of one project lose nothing.
func TestConcurrentEdits(t *testing.T) {
	implementations(t, func(t *testing.T, reg registry.Registry) {
		ctx := context.Background()
		mustCreate(t, reg, "acme", key1)
		const n = 16
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if _, err := reg.AddOrigin(ctx, "acme", fmt.Sprintf("https://o%02d.example", i)); err != nil {
					t.Errorf("AddOrigin %d: %v", i, err)
				}
				if _, err := reg.AddSecret(ctx, "acme", fmt.Sprintf("concurrent-key-%02d-xxxx", i)); err != nil {
					t.Errorf("AddSecret %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		p, err := reg.Project(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.CORSOrigins) != n || len(p.Secrets) != n+1 {
			t.Errorf("%d origins and %d keys after %d concurrent edits, want %d and %d", len(p.CORSOrigins), len(p.Secrets), n, n, n+1)
		}
		if p.Secrets[n].Value != key1 {
			t.Errorf("the first key is no longer last: %s", values(p))
		}
	})
}

func TestSecretID(t *testing.T) {
	id := registry.Secret{Value: key1}.ID()
	if !regexp.MustCompile(`^[0-9a-f]{8}$`).MatchString(id) {
		t.Errorf("ID = %q, want 8 hex characters", id)
	}
	if id != (registry.Secret{Value: key1, CreatedAt: time.Now()}).ID() {
		t.Errorf("ID depends on more than the secret")
	}
	if id == (registry.Secret{Value: key2}).ID() {
		t.Errorf("two keys share an ID")
	}
	if strings.Contains(key1, id) {
		t.Errorf("ID %q is part of the secret", id)
	}
}

func TestAllowsOrigin(t *testing.T) {
	p := &registry.Project{CORSOrigins: []string{"https://app.example.com", "http://localhost:5173"}}
	for origin, want := range map[string]bool{
		"https://app.example.com":             true,
		"http://localhost:5173":               true,
		"":                                    false,
		"https://app.example.com/":            false,
		"https://app.example.com.evil.com":    false,
		"http://app.example.com":              false,
		"https://evil.example":                false,
		"null":                                false,
		"*":                                   false,
		"https://app.example.com:443":         false,
		"https://APP.example.com":             false,
		"https://app.example.com\nX-Evil: 1":  false,
		"https://app.example.comhttps://evil": false,
	} {
		if got := p.AllowsOrigin(origin); got != want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
	star := &registry.Project{CORSOrigins: []string{"*"}}
	if !star.AllowsOrigin("https://any.example") || star.AllowsOrigin("") {
		t.Errorf("* must allow any non-empty origin")
	}
	if (&registry.Project{}).AllowsOrigin("https://app.example.com") {
		t.Errorf("no origins allowed one")
	}
}

func TestSecretValuesOrder(t *testing.T) {
	p := &registry.Project{Secrets: []registry.Secret{{Value: key3}, {Value: key2}, {Value: key1}}}
	if values(p) != fmt.Sprint([]string{key3, key2, key1}) {
		t.Errorf("SecretValues = %s", values(p))
	}
	if got := (&registry.Project{}).SecretValues(); got == nil || len(got) != 0 {
		t.Errorf("SecretValues of no keys = %#v", got)
	}
}

func TestCheckOriginAndNormalize(t *testing.T) {
	for _, o := range []string{"*", "https://a.example", "http://localhost:5173", "http://127.0.0.1:4437", "https://[::1]:8080"} {
		if err := registry.CheckOrigin(o); err != nil {
			t.Errorf("CheckOrigin(%q): %v", o, err)
		}
	}
	// CheckOrigin takes normalised origins: a path, even "/", is refused
	// (AddOrigin normalises first, so "https://a.example/" is accepted there).
	if err := registry.CheckOrigin("https://a.example/"); err == nil {
		t.Errorf(`CheckOrigin("https://a.example/") accepted a path`)
	}
	for in, want := range map[string]string{"https://a.example/": "https://a.example", "https://a.example": "https://a.example", "*": "*"} {
		if got := registry.NormalizeOrigin(in); got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"a", "A", "0", "a-b", "a_b", "default", strings.Repeat("z", registry.MaxNameLength)} {
		if err := registry.CheckName(n); err != nil {
			t.Errorf("CheckName(%q): %v", n, err)
		}
	}
	for _, n := range []string{"", "stream", "streams", strings.Repeat("z", registry.MaxNameLength+1), "a.b", "a b", "a/b", "é"} {
		if err := registry.CheckName(n); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("CheckName(%q): %v, want ErrInvalid", n, err)
		}
	}
}
