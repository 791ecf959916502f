package engine

import (
	"context"
	"fmt"
	"time"
)

// DefaultContentType is what a stream created without Content-Type gets.
const DefaultContentType = "application/octet-stream"

// CreateRequest is a PUT.
type CreateRequest struct {
	ContentType string // "" means absent: default, or the fork source's
	TTLSeconds  int64  // -1: none
	ExpiresAt   time.Time
	Closed      bool
	Body        []byte
	Public      bool

	ForkFrom   *Key
	ForkOffset *int64 // nil: the source's tail
	ForkSub    int64
}

// CreateResult says whether the stream was created (201) or already
// existed with the same configuration (200).
type CreateResult struct {
	Created bool
	Info    Info
}

// Info describes a stream.
type Info struct {
	ID          int64
	Key         Key
	ContentType string
	Tail        int64
	Closed      bool
	TTLSeconds  int64 // -1: none
	ExpiresAt   time.Time
	CreatedAt   time.Time
	Public      bool
	JSON        bool
}

func (s *stream) info(tail int64, closed bool) Info {
	in := Info{
		ID: s.id, Key: s.key, ContentType: s.contentType, Tail: tail, Closed: closed,
		TTLSeconds: s.ttl, CreatedAt: time.UnixMilli(s.createdAt), Public: s.public, JSON: s.json,
	}
	if at := s.expiresAt.Load(); at > 0 {
		in.ExpiresAt = time.UnixMilli(at)
	}
	return in
}

// Create creates a stream, or confirms an existing one with the same
// configuration.
func (e *Engine) Create(ctx context.Context, key Key, req CreateRequest) (*CreateResult, error) {
	if err := reserved(key); err != nil {
		return nil, err
	}
	if req.ForkFrom != nil {
		if err := reserved(*req.ForkFrom); err != nil {
			return nil, err
		}
	}
	if req.ForkFrom == nil && req.ForkSub != 0 {
		return nil, badRequest("Stream-Fork-Sub-Offset needs Stream-Forked-From")
	}
	if req.ForkFrom == nil && req.ForkOffset != nil {
		return nil, badRequest("Stream-Fork-Offset needs Stream-Forked-From")
	}
	if req.ForkSub > 0 && req.ForkOffset == nil {
		return nil, badRequest("Stream-Fork-Sub-Offset needs an explicit Stream-Fork-Offset")
	}
	if req.TTLSeconds >= 0 && !req.ExpiresAt.IsZero() {
		return nil, badRequest("Stream-TTL and Stream-Expires-At are mutually exclusive")
	}
	pre := splitJSONEarly(req.ContentType, req.Body)
	var res *CreateResult
	err := e.submit(func(bc *batchCtx) error {
		r, err := bc.create(ctx, key, req, pre)
		res = r
		return err
	})
	if err != nil {
		return nil, opError("create "+key.String(), err)
	}
	return res, nil
}

func splitBody(json bool, body []byte) ([][]byte, error) {
	if !json {
		return [][]byte{body}, nil
	}
	return SplitJSON(body)
}

// presplit is a JSON body parsed before the writer sees the request, so
// the writer goroutine does not spend its time parsing.
type presplit struct {
	done bool
	msgs [][]byte
	err  error
}

// splitJSONEarly parses body when its declared type is JSON.
func splitJSONEarly(contentType string, body []byte) presplit {
	if len(body) == 0 || contentType == "" || !IsJSON(contentType) {
		return presplit{}
	}
	msgs, err := SplitJSON(body)
	return presplit{done: true, msgs: msgs, err: err}
}

// messages returns the body split for a stream in (or not in) JSON mode.
func (p presplit) messages(json bool, body []byte) ([][]byte, error) {
	if p.done && json {
		return p.msgs, p.err
	}
	return splitBody(json, body)
}

func (bc *batchCtx) create(ctx context.Context, key Key, req CreateRequest, pre presplit) (*CreateResult, error) {
	var src *stream
	ct := req.ContentType
	ttl := req.TTLSeconds
	expiresAt := int64(0)
	if !req.ExpiresAt.IsZero() {
		expiresAt = req.ExpiresAt.UnixMilli()
	}
	var forkOffset int64
	if req.ForkFrom != nil {
		src = bc.current(*req.ForkFrom)
		if src == nil {
			return nil, fmt.Errorf("%w: fork source %s", ErrNotFound, req.ForkFrom.Name)
		}
		if src.w.soft {
			return nil, conflict("fork source %s was deleted", req.ForkFrom.Name)
		}
		if ct == "" {
			ct = src.contentType
		} else if MediaType(ct) != MediaType(src.contentType) {
			return nil, fmt.Errorf("%w: fork content type %s differs from the source's %s", ErrContentType, MediaType(ct), MediaType(src.contentType))
		}
		forkOffset = src.w.tail
		if req.ForkOffset != nil {
			forkOffset = *req.ForkOffset
			if forkOffset > src.w.tail {
				return nil, badRequest("Stream-Fork-Offset %s is beyond the source's tail %s", FormatOffset(forkOffset), FormatOffset(src.w.tail))
			}
		}
		// A fork with no expiry of its own inherits the source's.
		if ttl < 0 && expiresAt == 0 {
			ttl = src.ttl
			expiresAt = src.expiresAt.Load()
		}
	}
	if ct == "" {
		ct = DefaultContentType
	}

	if s := bc.current(key); s != nil {
		if s.w.soft {
			return nil, conflict("stream %s was deleted but is kept for its forks; its path cannot be reused yet", key.Name)
		}
		if err := sameConfig(s, ct, ttl, expiresAt, req.Closed, src, forkOffset, req.ForkSub); err != nil {
			return nil, err
		}
		bc.access(s)
		return &CreateResult{Info: s.info(s.w.tail, s.w.closed)}, nil
	}

	json := IsJSON(ct)
	var msgs [][]byte
	if len(req.Body) > 0 {
		var err error
		if msgs, err = pre.messages(json, req.Body); err != nil {
			return nil, err
		}
	}
	s := bc.newStream(key, ct, ttl, expiresAt)
	s.forkSource, s.forkOffset, s.forkSub, s.public = src, forkOffset, req.ForkSub, req.Public
	s.w.tail = forkOffset

	if req.ForkSub > 0 {
		prefix, err := bc.materialize(ctx, src, forkOffset, req.ForkSub)
		if err != nil {
			return nil, err
		}
		bc.appendMessages(s, prefix)
	}
	if len(msgs) > 0 {
		bc.appendMessages(s, msgs)
	}
	s.w.closed = req.Closed
	bc.register(s)
	return &CreateResult{Created: true, Info: s.info(s.w.tail, s.w.closed)}, nil
}

// newStream returns a fresh incarnation, not yet registered.
func (bc *batchCtx) newStream(key Key, ct string, ttl, expiresAt int64) *stream {
	s := &stream{id: bc.e.nextID, key: key, contentType: ct, json: IsJSON(ct), createdAt: bc.now, ttl: ttl}
	bc.e.nextID++
	s.expiresAt.Store(expiresAt)
	s.lastAccess.Store(bc.now)
	s.w = wstate{producers: map[string]*ProducerRecord{}, counters: Counters{LastWriteMS: bc.now}}
	return s
}

// register makes a new stream the current incarnation at its path.
func (bc *batchCtx) register(s *stream) {
	e := bc.e
	e.byID[s.id] = s
	e.mu.Lock()
	e.streams[s.key] = s
	e.mu.Unlock()
	if src := s.forkSource; src != nil {
		src.w.refcount++
		bc.touch(src)
	}
	bc.touch(s)
	if s.deadline() > 0 {
		bc.kick = true
	}
}

// sameConfig decides between 200 (idempotent re-create) and 409.
func sameConfig(s *stream, ct string, ttl, expiresAt int64, closed bool, src *stream, forkOffset, forkSub int64) error {
	switch {
	case MediaType(s.contentType) != MediaType(ct):
		return conflict("stream exists with content type %s", MediaType(s.contentType))
	case s.ttl != ttl:
		return conflict("stream exists with a different Stream-TTL")
	case s.expiresAt.Load() != expiresAt:
		return conflict("stream exists with a different Stream-Expires-At")
	case s.w.closed != closed:
		if s.w.closed {
			return conflict("stream exists and is closed")
		}
		return conflict("stream exists and is open")
	case s.forkSource != src:
		return conflict("stream exists with a different fork source")
	case src != nil && (s.forkOffset != forkOffset || s.forkSub != forkSub):
		return conflict("stream exists with a different fork offset")
	}
	return nil
}

// materialize copies the part of the source message at offset that a
// fork sub-offset selects: sub bytes of a byte stream, or sub messages of
// the same append in a JSON stream. It may not cross the append's end.
func (bc *batchCtx) materialize(ctx context.Context, src *stream, offset, sub int64) ([][]byte, error) {
	e := bc.e
	if offset >= src.w.tail {
		return nil, badRequest("Stream-Fork-Sub-Offset %d: the source has no message at the fork offset", sub)
	}
	first, err := e.readRange(ctx, src, src.w.tail, offset, src.w.tail, 1, writerRecent)
	if err != nil {
		return nil, err
	}
	if len(first) == 0 {
		return nil, badRequest("Stream-Fork-Sub-Offset %d: the source has no message at the fork offset", sub)
	}
	limit := first[0].End
	if src.json {
		limit = first[0].BatchEnd
	}
	if offset+sub > limit {
		return nil, badRequest("Stream-Fork-Sub-Offset %d runs past the end of the message at the fork offset", sub)
	}
	msgs, err := e.readRange(ctx, src, src.w.tail, offset, offset+sub, int(^uint(0)>>1), writerRecent)
	if err != nil {
		return nil, err
	}
	if src.json {
		out := make([][]byte, len(msgs))
		for i, m := range msgs {
			out[i] = m.Data
		}
		return out, nil
	}
	var buf []byte
	for _, m := range msgs {
		buf = append(buf, m.Data...)
	}
	return [][]byte{buf}, nil
}

// appendMessages adds one append's messages at the tail of s.
func (bc *batchCtx) appendMessages(s *stream, msgs [][]byte) {
	start := s.w.tail
	end := start
	for _, m := range msgs {
		if s.json {
			end++
		} else {
			end += int64(len(m))
		}
	}
	pos := start
	for _, data := range msgs {
		m := Message{Start: pos, BatchEnd: end, Data: data}
		if s.json {
			m.End = pos + 1
		} else {
			m.End = pos + int64(len(data))
		}
		pos = m.End
		s.w.counters.Messages++
		s.w.counters.Bytes += int64(len(data))
		s.w.recent = append(s.w.recent, m)
		bc.batch.Messages = append(bc.batch.Messages, MessageRecord{StreamID: s.id, Message: m})
	}
	s.w.tail = end
	s.w.counters.LastWriteMS = bc.now
}
