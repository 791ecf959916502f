package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/enginetest"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
)

func openStore(t *testing.T, dir string) engine.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), dir, sqlite.Full)
	if err != nil {
		t.Fatalf("sqlite.Open(%s): %v", dir, err)
	}
	return s
}

func TestEngineSuite(t *testing.T) {
	enginetest.Run(t, enginetest.Config{Open: openStore, Persistent: true})
}

// The relaxed durability mode is the same store with another sync
// setting; run the persistence-sensitive parts of the suite on it too.
func TestEngineSuiteRelaxed(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	enginetest.Run(t, enginetest.Config{
		Open: func(t *testing.T, dir string) engine.Store {
			s, err := sqlite.Open(context.Background(), dir, sqlite.Relaxed)
			if err != nil {
				t.Fatalf("sqlite.Open(%s, relaxed): %v", dir, err)
			}
			return s
		},
		Persistent: true,
	})
}

func TestParseDurability(t *testing.T) {
	tests := []struct {
		in   string
		want sqlite.Durability
		ok   bool
	}{
		{"full", sqlite.Full, true},
		{"relaxed", sqlite.Relaxed, true},
		{"", "", false},
		{"FULL", "", false},
		{"Relaxed", "", false},
		{" full", "", false},
		{"normal", "", false},
		{"off", "", false},
	}
	for _, tt := range tests {
		got, err := sqlite.ParseDurability(tt.in)
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("ParseDurability(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseDurability(%q) = %q, want an error", tt.in, got)
			continue
		}
		if !strings.Contains(err.Error(), "full or relaxed") {
			t.Errorf("ParseDurability(%q) error %q does not list the valid values", tt.in, err)
		}
	}
}

// migrationVersions lists the applied migrations, read with a separate
// connection while no Store is open.
func migrationVersions(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenCreatesFileAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "nested", "data") // Open creates it
	s, err := sqlite.Open(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, sqlite.FileName)
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("database file %s: %v", path, err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Errorf("data dir mode = %v, %v; want no group/other access", st.Mode(), err)
	}

	// Write something through an engine so reopening must keep it.
	e, err := engine.Open(ctx, s, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := engine.Key{Project: "p", Name: "s"}
	if _, err := e.Create(ctx, k, engine.CreateRequest{ContentType: "text/plain", TTLSeconds: -1, Body: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	first := migrationVersions(t, path)
	if len(first) == 0 {
		t.Fatal("no migrations recorded")
	}
	seen := map[string]bool{}
	for _, v := range first {
		if seen[v] {
			t.Fatalf("migration %s recorded twice: %v", v, first)
		}
		seen[v] = true
	}
	if !seen["0001_streams"] {
		t.Fatalf("migrations = %v, want 0001_streams among them", first)
	}

	// Reopening does not re-run the migrations (their CREATE TABLEs would
	// fail) nor record them again, and keeps the data.
	for range 2 {
		s, err = sqlite.Open(ctx, dir, sqlite.Relaxed)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		snap, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Streams) != 1 || snap.Streams[0].Name != "s" || snap.Streams[0].Tail != 4 {
			t.Fatalf("streams after reopen = %+v", snap.Streams)
		}
		msgs, err := s.ReadRange(ctx, snap.Streams[0].ID, 0, 4, 1<<20)
		if err != nil || len(msgs) != 1 || string(msgs[0].Data) != "kept" {
			t.Fatalf("ReadRange after reopen = %+v, %v", msgs, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := migrationVersions(t, path); strings.Join(got, ",") != strings.Join(first, ",") {
			t.Fatalf("migrations after reopen = %v, want %v", got, first)
		}
	}
}

func TestOpenFailsOnUnusableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(context.Background(), file, sqlite.Full); err == nil {
		s.Close()
		t.Fatal("Open on a regular file as the data dir succeeded")
	}
}

// A batch that fails part-way applies nothing (the suite's
// StoreContract covers the rest of the Store contract).
func TestCommitIsAtomic(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir(), sqlite.Full)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := func(id int64, name string, tail int64) *engine.StreamRecord {
		return &engine.StreamRecord{ID: id, Project: "p", Name: name, ContentType: "text/plain", TTLSeconds: -1, Tail: tail}
	}
	msg := func(id, start int64, data string) engine.MessageRecord {
		end := start + int64(len(data))
		return engine.MessageRecord{StreamID: id, Message: engine.Message{Start: start, End: end, BatchEnd: end, Data: []byte(data)}}
	}
	ok := &engine.Batch{
		Streams:   map[int64]*engine.StreamRecord{1: rec(1, "a", 3)},
		Messages:  []engine.MessageRecord{msg(1, 0, "abc")},
		Producers: []engine.ProducerRecord{{StreamID: 1, ProducerID: "w", Epoch: 1, LastSeq: 2, LastOffset: 3}},
	}
	if err := s.Commit(ctx, ok); err != nil {
		t.Fatal(err)
	}
	bad := &engine.Batch{
		Deletes:   []int64{1},
		Streams:   map[int64]*engine.StreamRecord{2: rec(2, "b", 3), 3: rec(3, "b", 0)}, // duplicate name
		Messages:  []engine.MessageRecord{msg(2, 0, "xyz")},
		Producers: []engine.ProducerRecord{{StreamID: 2, ProducerID: "v"}},
	}
	if err := s.Commit(ctx, bad); err == nil {
		t.Fatal("commit violating UNIQUE(project, name) succeeded")
	}
	snap, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Streams) != 1 || snap.Streams[0].ID != 1 || len(snap.Producers) != 1 || snap.Producers[0].LastSeq != 2 {
		t.Fatalf("after a failed batch: %+v", snap)
	}
	msgs, err := s.ReadRange(ctx, 1, 0, 3, 100)
	if err != nil || len(msgs) != 1 || string(msgs[0].Data) != "abc" {
		t.Fatalf("messages after a failed batch = %+v, %v", msgs, err)
	}
	if msgs, _ := s.ReadRange(ctx, 2, 0, 3, 100); len(msgs) != 0 {
		t.Fatalf("failed batch left messages: %+v", msgs)
	}
}
