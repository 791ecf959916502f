package engine

import (
	"context"
	"fmt"
)

// recentFunc picks which buffer of recent messages a read may use: the
// committed view's (readers) or the writer's (which also holds messages
// not yet committed).
type recentFunc func(s *stream) []Message

func writerRecent(s *stream) []Message { return s.w.recent }

func viewRecent(s *stream) []Message {
	v, _ := s.snapshot()
	if v == nil {
		return nil
	}
	return v.recent
}

// readRange collects the messages of s in [from, to), following fork
// ancestry, clipped to the range, stopping after maxBytes of data (but
// always returning at least one message when the range is not empty).
func (e *Engine) readRange(ctx context.Context, s *stream, tail, from, to int64, maxBytes int, recentOf recentFunc) ([]Message, error) {
	if to > tail {
		to = tail
	}
	var out []Message
	used := 0
	pos := from
	for pos < to && (len(out) == 0 || used < maxBytes) {
		var part []Message
		var err error
		if s.forkSource != nil && pos < s.forkOffset {
			part, err = e.readRange(ctx, s.forkSource, s.forkOffset, pos, min(to, s.forkOffset), maxBytes-used, recentOf)
		} else {
			part, err = e.readOwn(ctx, s, recentOf(s), pos, to, maxBytes-used)
		}
		if err != nil {
			return nil, err
		}
		if len(part) == 0 {
			return nil, fmt.Errorf("%w: stream %s has no data at %s below its tail", ErrUnavailable, s.key, FormatOffset(pos))
		}
		for _, m := range part {
			m = clipMessage(m, pos, to)
			if m.End <= pos {
				continue
			}
			out = append(out, m)
			used += len(m.Data)
			pos = m.End
			if pos >= to || used >= maxBytes {
				break
			}
		}
	}
	return out, nil
}

// readOwn reads the stream's own messages from memory when the recent
// buffer covers from, else from the store.
func (e *Engine) readOwn(ctx context.Context, s *stream, recent []Message, from, to int64, maxBytes int) ([]Message, error) {
	if len(recent) > 0 && recent[0].Start <= from {
		var out []Message
		used := 0
		for _, m := range recent {
			if m.End <= from {
				continue
			}
			if m.Start >= to || (len(out) > 0 && used >= maxBytes) {
				break
			}
			out = append(out, m)
			used += len(m.Data)
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return e.store.ReadRange(ctx, s.id, from, to, max(maxBytes, 1))
}

// clipMessage trims a byte-stream message to [from, to). JSON messages
// are one position wide and never need it.
func clipMessage(m Message, from, to int64) Message {
	if m.Start < from {
		m.Data = m.Data[from-m.Start:]
		m.Start = from
	}
	if m.End > to {
		m.Data = m.Data[:len(m.Data)-int(m.End-to)]
		m.End = to
	}
	// An append may continue past to (a fork point); a sub-offset may
	// not reach beyond what is visible here.
	if m.BatchEnd > to {
		m.BatchEnd = to
	}
	return m
}

// BeyondTail is the error for a read position past the tail.
func BeyondTail(pos, tail int64) error {
	return &RequestError{Kind: ErrOffsetNotInTail, Msg: fmt.Sprintf("offset %s is beyond the tail %s", FormatOffset(pos), FormatOffset(tail))}
}

// Handle is a reader's grip on one incarnation of a stream.
type Handle struct {
	e *Engine
	s *stream
}

// Stream opens a stream for reading. It does not refresh the TTL.
func (e *Engine) Stream(key Key) (*Handle, error) {
	s := e.lookup(key)
	if s == nil {
		return nil, notFound(key)
	}
	h := &Handle{e: e, s: s}
	if _, err := h.check(); err != nil {
		return nil, err
	}
	return h, nil
}

// check returns the committed view, or why the stream cannot be read.
func (h *Handle) check() (*view, error) {
	v, _ := h.s.snapshot()
	switch {
	case v == nil || v.gone:
		return nil, notFound(h.s.key)
	case v.soft:
		return nil, gone(h.s.key)
	case h.s.expired(h.e.now()):
		h.e.kickReaper()
		return nil, notFound(h.s.key)
	}
	return v, nil
}

// Info returns the stream's committed metadata.
func (h *Handle) Info() (Info, error) {
	v, err := h.check()
	if err != nil {
		return Info{}, err
	}
	return h.s.info(v.tail, v.closed), nil
}

// Touch refreshes the stream's TTL window (reads do; HEAD does not).
func (h *Handle) Touch() { h.e.touchAccess(h.s) }

// ReadResult is one page of a read.
type ReadResult struct {
	Info     Info
	Messages []Message
	Start    int64
	Next     int64
	UpToDate bool
	// Closed is set only when the stream is closed and this page reaches
	// its final offset.
	Closed bool
}

// Read returns up to one page of messages from pos. A position beyond
// the tail is a bad request.
func (h *Handle) Read(ctx context.Context, pos int64) (*ReadResult, error) {
	v, err := h.check()
	if err != nil {
		return nil, err
	}
	if pos > v.tail {
		return nil, BeyondTail(pos, v.tail)
	}
	msgs, err := h.e.readRange(ctx, h.s, v.tail, pos, v.tail, h.e.opts.ReadPageBytes, viewRecent)
	if err != nil {
		return nil, opError("read "+h.s.key.String(), err)
	}
	next := pos
	if len(msgs) > 0 {
		next = msgs[len(msgs)-1].End
	}
	return &ReadResult{
		Info: h.s.info(v.tail, v.closed), Messages: msgs, Start: pos, Next: next,
		UpToDate: next == v.tail, Closed: v.closed && next == v.tail,
	}, nil
}

// Tail returns the committed tail and closed flag.
func (h *Handle) Tail() (int64, bool, error) {
	v, err := h.check()
	if err != nil {
		return 0, false, err
	}
	return v.tail, v.closed, nil
}

// Wait blocks until the stream has data beyond pos, is closed, or is
// deleted (it then returns nil and the caller reads again), or until ctx
// ends or stop is closed (it returns ctx.Err() or ErrUnavailable). The
// commit that changes the stream wakes it; nothing polls.
func (h *Handle) Wait(ctx context.Context, pos int64, stop <-chan struct{}) error {
	for {
		v, changed := h.s.snapshot()
		if v == nil || v.gone || v.soft || v.closed || v.tail > pos {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return ErrUnavailable
		}
	}
}

// Body renders messages as a response body: the bytes back to back, or
// one JSON array in JSON mode.
func Body(json bool, msgs []Message) []byte {
	if !json {
		n := 0
		for _, m := range msgs {
			n += len(m.Data)
		}
		out := make([]byte, 0, n)
		for _, m := range msgs {
			out = append(out, m.Data...)
		}
		return out
	}
	n := 2
	for _, m := range msgs {
		n += len(m.Data) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, m := range msgs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, m.Data...)
	}
	return append(out, ']')
}
