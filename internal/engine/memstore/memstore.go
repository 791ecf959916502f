// Package memstore is an in-memory engine.Store for tests and
// `dsctl serve --in-memory`. Nothing survives the process.
package memstore

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/dsctl/dsctl/internal/engine"
)

// Store keeps everything in maps guarded by one lock.
type Store struct {
	mu        sync.RWMutex
	streams   map[int64]engine.StreamRecord
	producers map[int64]map[string]engine.ProducerRecord
	messages  map[int64][]engine.Message // sorted by Start
	sessions  map[engine.SessionKey]engine.SessionRecord
	subs      map[engine.SubscriptionKey]engine.SubscriptionRecord
}

// New returns an empty store.
func New() *Store {
	return &Store{
		streams:   map[int64]engine.StreamRecord{},
		producers: map[int64]map[string]engine.ProducerRecord{},
		messages:  map[int64][]engine.Message{},
		sessions:  map[engine.SessionKey]engine.SessionRecord{},
		subs:      map[engine.SubscriptionKey]engine.SubscriptionRecord{},
	}
}

// Load implements engine.Store.
func (s *Store) Load(ctx context.Context) (*engine.Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	snap := &engine.Snapshot{}
	for _, r := range s.streams {
		snap.Streams = append(snap.Streams, r)
	}
	sort.Slice(snap.Streams, func(i, j int) bool { return snap.Streams[i].ID < snap.Streams[j].ID })
	for _, m := range s.producers {
		for _, p := range m {
			snap.Producers = append(snap.Producers, p)
		}
	}
	for _, r := range s.sessions {
		snap.Sessions = append(snap.Sessions, r)
	}
	for _, r := range s.subs {
		snap.Subscriptions = append(snap.Subscriptions, r)
	}
	return snap, nil
}

// Commit implements engine.Store.
func (s *Store) Commit(ctx context.Context, b *engine.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	deleted := map[int64]bool{}
	for _, id := range b.Deletes {
		deleted[id] = true
		delete(s.streams, id)
		delete(s.producers, id)
		delete(s.messages, id)
	}
	for id, r := range b.Streams {
		if !deleted[id] {
			s.streams[id] = *r
		}
	}
	for _, m := range b.Messages {
		if !deleted[m.StreamID] {
			s.messages[m.StreamID] = append(s.messages[m.StreamID], m.Message)
		}
	}
	for _, p := range b.Producers {
		if deleted[p.StreamID] {
			continue
		}
		if s.producers[p.StreamID] == nil {
			s.producers[p.StreamID] = map[string]engine.ProducerRecord{}
		}
		s.producers[p.StreamID][p.ProducerID] = p
	}
	for k, r := range b.Sessions {
		if r == nil {
			delete(s.sessions, k)
			for sk := range s.subs {
				if sk.SessionKey == k {
					delete(s.subs, sk)
				}
			}
		}
	}
	for k, r := range b.Subscriptions {
		if r == nil {
			delete(s.subs, k)
		}
	}
	for k, r := range b.Sessions {
		if r != nil {
			s.sessions[k] = *r
		}
	}
	for k, r := range b.Subscriptions {
		if r != nil {
			s.subs[k] = *r
		}
	}
	return nil
}

// ReadRange implements engine.Store.
func (s *Store) ReadRange(ctx context.Context, id, from, to int64, maxBytes int) ([]engine.Message, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	msgs := s.messages[id]
	i, _ := slices.BinarySearchFunc(msgs, from, func(m engine.Message, pos int64) int {
		switch {
		case m.End <= pos:
			return -1
		case m.Start > pos:
			return 1
		}
		return 0
	})
	var out []engine.Message
	used := 0
	for ; i < len(msgs); i++ {
		m := msgs[i]
		if m.Start >= to || (len(out) > 0 && used >= maxBytes) {
			break
		}
		out = append(out, m)
		used += len(m.Data)
	}
	return out, nil
}

// Close implements engine.Store.
func (s *Store) Close() error { return nil }
