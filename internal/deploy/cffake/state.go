package cffake

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Namespace is a KV namespace.
type Namespace struct{ ID, Title string }

// Script is a Worker as the fake holds it after its uploads.
type Script struct {
	Name         string
	Metadata     map[string]any    // the decoded "metadata" part of the last upload
	MetadataRaw  []byte            // that part as sent
	Modules      map[string]Module // by filename of each file part
	MigrationTag string            // after applying the last upload's migrations
	Classes      map[string]bool   // Durable Object classes migrations created; true = SQLite-backed
	WorkersDev   bool              // workers.dev route enabled
	Secrets      map[string]string
	Uploads      int
}

// Module is one file part of an upload.
type Module struct {
	ContentType string
	Body        []byte
}

// script is a Script plus what only the answers need.
type script struct {
	Script
	previews         bool
	etag, mainModule string
	created, updated time.Time
}

// clone copies deeply so callers cannot reach the fake's state.
func (sc *script) clone() Script {
	out := sc.Script
	out.MetadataRaw = bytes.Clone(sc.MetadataRaw)
	out.Metadata = nil
	_ = json.Unmarshal(sc.MetadataRaw, &out.Metadata)
	out.Modules = map[string]Module{}
	for k, m := range sc.Modules {
		out.Modules[k] = Module{m.ContentType, bytes.Clone(m.Body)}
	}
	out.Classes = maps.Clone(sc.Classes)
	out.Secrets = maps.Clone(sc.Secrets)
	return out
}

// mustAccount is for the seeding helpers, where an unknown id is a bug in
// the test.
func (s *Server) mustAccount(id string) *account {
	a := s.account(id)
	if a == nil {
		panic("cffake: no account " + id)
	}
	return a
}

// Buckets lists an account's R2 bucket names, sorted.
func (s *Server) Buckets(account string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.account(account); a != nil {
		return a.bucketNames()
	}
	return nil
}

// AddBucket creates an R2 bucket, as if made earlier.
func (s *Server) AddBucket(account, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustAccount(account).addBucket(name)
}

// SetBucketObjects makes a bucket hold n objects; deleting a bucket that
// holds any fails as the real API does.
func (s *Server) SetBucketObjects(account, name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.mustAccount(account)
	if a.buckets[name] == nil {
		a.addBucket(name)
	}
	a.buckets[name].objects = n
}

// Namespaces lists an account's KV namespaces in creation order.
func (s *Server) Namespaces(account string) []Namespace {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.account(account)
	if a == nil {
		return nil
	}
	out := make([]Namespace, 0, len(a.namespaces))
	for _, n := range a.namespaces {
		out = append(out, Namespace{n.id, n.title})
	}
	return out
}

// AddNamespace creates a KV namespace, as if made earlier. It does not check
// for a duplicate title, so tests can build states the API would refuse.
func (s *Server) AddNamespace(account, title string) Namespace {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.addNamespace(s.mustAccount(account), title)
	return Namespace{n.id, n.title}
}

// KV reads a value; false when the namespace or the key does not exist.
func (s *Server) KV(account, nsID, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.account(account)
	if a == nil {
		return nil, false
	}
	n := a.namespace(nsID)
	if n == nil {
		return nil, false
	}
	v, ok := n.values[key]
	return bytes.Clone(v.data), ok
}

// PutKV writes a value into an existing namespace.
func (s *Server) PutKV(account, nsID, key string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.mustAccount(account).namespace(nsID)
	if n == nil {
		panic("cffake: no KV namespace " + nsID)
	}
	n.values[key] = kvValue{data: bytes.Clone(value)}
}

// Script reports a Worker; false when it does not exist.
func (s *Server) Script(account, name string) (Script, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.account(account)
	if a == nil || a.scripts[name] == nil {
		return Script{}, false
	}
	return a.scripts[name].clone(), true
}

// Scripts lists an account's Workers by name.
func (s *Server) Scripts(account string) []Script {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.account(account)
	if a == nil {
		return nil
	}
	var out []Script
	for _, n := range a.scriptNames() {
		out = append(out, a.scripts[n].clone())
	}
	return out
}

func (a *account) scriptNames() []string {
	return slices.Sorted(maps.Keys(a.scripts))
}
