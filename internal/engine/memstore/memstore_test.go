package memstore_test

import (
	"context"
	"testing"

	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/enginetest"
	"github.com/dsctl/dsctl/internal/engine/memstore"
)

func TestEngineSuite(t *testing.T) {
	enginetest.Run(t, enginetest.Config{
		Open:       func(t *testing.T, dir string) engine.Store { return memstore.New() },
		Persistent: false,
	})
}

// A fresh store is empty, and Close is harmless.
func TestNewIsEmpty(t *testing.T) {
	s := memstore.New()
	snap, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Streams) != 0 || len(snap.Producers) != 0 {
		t.Fatalf("new store loaded %+v", snap)
	}
	msgs, err := s.ReadRange(context.Background(), 1, 0, 10, 100)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("ReadRange on empty store = %v, %v", msgs, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
