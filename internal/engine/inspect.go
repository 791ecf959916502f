package engine

import (
	"context"
	"sort"
	"time"
)

// Summary describes a stream for listings.
type Summary struct {
	Info
	Counters
	Readers int64 // live readers (long-poll and SSE) connected now
}

// Detail adds what only an inspection needs.
type Detail struct {
	Summary
	Producers  []ProducerRecord
	ForkSource *Key  // nil unless a fork
	ForkOffset int64 // where the fork starts in the source's offsets
	Forks      int64 // live forks that still read this stream's data
}

// Live registers a live reader for inspection; call the returned
// function when the reader leaves.
func (h *Handle) Live() (done func()) {
	h.s.readers.Add(1)
	return func() { h.s.readers.Add(-1) }
}

func (s *stream) summary(v *view) Summary {
	return Summary{Info: s.info(v.tail, v.closed), Counters: v.counters, Readers: s.readers.Load()}
}

// List returns a project's readable streams ordered by name, at most
// limit of them, starting after the name after (for paging).
func (e *Engine) List(project, after string, limit int) []Summary {
	now := e.now()
	e.mu.RLock()
	var found []*stream
	for k, s := range e.streams {
		if k.Project == project && k.Name > after {
			found = append(found, s)
		}
	}
	e.mu.RUnlock()
	sort.Slice(found, func(i, j int) bool { return found[i].key.Name < found[j].key.Name })
	out := make([]Summary, 0, min(limit, len(found)))
	for _, s := range found {
		if len(out) == limit {
			break
		}
		v, _ := s.snapshot()
		if v == nil || v.gone || v.soft || s.expired(now) {
			continue
		}
		out = append(out, s.summary(v))
	}
	return out
}

// Inspect returns a stream's detail, including producer state, which the
// writer owns, so it is copied on the writer goroutine.
func (e *Engine) Inspect(ctx context.Context, key Key) (*Detail, error) {
	h, err := e.Stream(key)
	if err != nil {
		return nil, err
	}
	var d *Detail
	err = e.submit(func(bc *batchCtx) error {
		s := h.s
		if s.w.gone || s.w.soft {
			return notFound(key)
		}
		d = &Detail{Summary: s.summary(s.newView()), Forks: s.w.refcount, ForkOffset: s.forkOffset}
		for _, p := range s.w.producers {
			d.Producers = append(d.Producers, *p)
		}
		if s.forkSource != nil {
			k := s.forkSource.key
			d.ForkSource = &k
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(d.Producers, func(i, j int) bool { return d.Producers[i].ProducerID < d.Producers[j].ProducerID })
	return d, nil
}

// LastWrite is the time of the stream's last append.
func (c Counters) LastWrite() time.Time { return time.UnixMilli(c.LastWriteMS).UTC() }
