package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/registry"
)

const (
	keyA = "key-a-0123456789abcdef"
	keyB = "key-b-0123456789abcdef"
)

func openRegistry(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir, sqlite.Full)
	if err != nil {
		t.Fatalf("sqlite.Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestProjectsSharedBetweenStores: two Stores on one data directory (a
// running dsctl serve and a dsctl project command) see each other's
// project edits at once, with no reopen.
func TestProjectsSharedBetweenStores(t *testing.T) {
	dir := t.TempDir()
	server, cli := openRegistry(t, dir), openRegistry(t, dir)
	ctx := context.Background()

	if _, err := cli.CreateProject(ctx, "acme", keyA); err != nil {
		t.Fatal(err)
	}
	p, err := server.Project(ctx, "acme")
	if err != nil || fmt.Sprint(p.SecretValues()) != fmt.Sprint([]string{keyA}) {
		t.Fatalf("server sees %+v, %v after the CLI created acme", p, err)
	}
	if _, err := server.CreateProject(ctx, "acme", keyB); !errors.Is(err, registry.ErrExists) {
		t.Errorf("creating acme on the other store: %v, want ErrExists", err)
	}

	if _, err := cli.AddSecret(ctx, "acme", keyB); err != nil {
		t.Fatal(err)
	}
	if p, _ := server.Project(ctx, "acme"); fmt.Sprint(p.SecretValues()) != fmt.Sprint([]string{keyB, keyA}) {
		t.Errorf("server sees keys %v after AddSecret, want the new key first", p.SecretValues())
	}
	if _, err := server.RemoveSecret(ctx, "acme", registry.Secret{Value: keyA}.ID()); err != nil {
		t.Fatal(err)
	}
	if p, _ := cli.Project(ctx, "acme"); fmt.Sprint(p.SecretValues()) != fmt.Sprint([]string{keyB}) {
		t.Errorf("CLI sees keys %v after the server's RemoveSecret", p.SecretValues())
	}
	if _, err := cli.RemoveSecret(ctx, "acme", registry.Secret{Value: keyB}.ID()); !errors.Is(err, registry.ErrLastKey) {
		t.Errorf("removing the last key from the other store: %v, want ErrLastKey", err)
	}

	if _, err := cli.AddOrigin(ctx, "acme", "https://app.example.com/"); err != nil {
		t.Fatal(err)
	}
	if p, _ := server.Project(ctx, "acme"); !p.AllowsOrigin("https://app.example.com") {
		t.Errorf("server sees origins %v after the CLI added one", p.CORSOrigins)
	}
	if _, err := server.RemoveOrigin(ctx, "acme", "https://app.example.com"); err != nil {
		t.Fatal(err)
	}
	if p, _ := cli.Project(ctx, "acme"); len(p.CORSOrigins) != 0 {
		t.Errorf("CLI sees origins %v after the server removed it", p.CORSOrigins)
	}

	if all, _ := server.Projects(ctx); len(all) != 1 || all[0].Name != "acme" {
		t.Errorf("server lists %+v", all)
	}
	if err := cli.DeleteProject(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Project(ctx, "acme"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("server still finds acme after the CLI deleted it: %v", err)
	}
}

// TestProjectsConcurrentEditsFromTwoStores: edits racing from two
// processes' stores are serialised, and none is lost.
func TestProjectsConcurrentEditsFromTwoStores(t *testing.T) {
	dir := t.TempDir()
	stores := []*sqlite.Store{openRegistry(t, dir), openRegistry(t, dir)}
	ctx := context.Background()
	if _, err := stores[0].CreateProject(ctx, "acme", keyA); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st := stores[i%2]
			if _, err := st.AddOrigin(ctx, "acme", fmt.Sprintf("https://o%02d.example", i)); err != nil {
				t.Errorf("AddOrigin %d: %v", i, err)
			}
			if _, err := st.AddSecret(ctx, "acme", fmt.Sprintf("concurrent-key-%02d-xxxxx", i)); err != nil {
				t.Errorf("AddSecret %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, st := range stores {
		p, err := st.Project(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.CORSOrigins) != n || len(p.Secrets) != n+1 || p.Secrets[n].Value != keyA {
			t.Errorf("store %d: %d origins, %d keys (last %q) after %d concurrent edits", i, len(p.CORSOrigins), len(p.Secrets), p.Secrets[len(p.Secrets)-1].Value, n)
		}
	}
}

// TestProjectsSurviveReopen: everything a project holds is read back
// after the store is closed and reopened.
func TestProjectsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Full)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateProject(ctx, "acme", keyA); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddSecret(ctx, "acme", keyB); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"https://b.example", "*", "http://localhost:5173"} {
		if _, err := st.AddOrigin(ctx, "acme", o); err != nil {
			t.Fatal(err)
		}
	}
	before, err := st.Project(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	again := openRegistry(t, dir)
	after, err := again.Project(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after.SecretValues()) != fmt.Sprint([]string{keyB, keyA}) ||
		fmt.Sprint(after.CORSOrigins) != "[https://b.example * http://localhost:5173]" || !after.CreatedAt.Equal(before.CreatedAt) {
		t.Errorf("after reopen %+v, before %+v", after, before)
	}
	for i := range after.Secrets {
		if !after.Secrets[i].CreatedAt.Equal(before.Secrets[i].CreatedAt) {
			t.Errorf("key %d created %v, was %v", i, after.Secrets[i].CreatedAt, before.Secrets[i].CreatedAt)
		}
	}
}
