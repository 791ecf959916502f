package engine

import (
	"context"
	"fmt"
)

// AppendRequest is a POST: data, a close, or both.
type AppendRequest struct {
	ContentType string // "" means absent
	Body        []byte
	Close       bool
	StreamSeq   string // "" means absent
	Producer    *ProducerTuple
}

// AppendResult reports the outcome of an append.
type AppendResult struct {
	NextOffset int64
	Closed     bool
	// Duplicate is set when an idempotent producer retried a write that
	// was already accepted; nothing was appended.
	Duplicate bool
	// Producer echoes the accepted (or, for duplicates, the highest
	// accepted) producer tuple.
	Producer *ProducerTuple
}

// Append appends to a stream and/or closes it, applying the protocol's
// closure, content-type, producer and Stream-Seq rules in that order.
func (e *Engine) Append(ctx context.Context, key Key, req AppendRequest) (*AppendResult, error) {
	if err := reserved(key); err != nil {
		return nil, err
	}
	if req.Producer != nil && !ValidProducerID(req.Producer.ID) {
		return nil, badRequest("invalid Producer-Id: want 1-256 characters from A-Z a-z 0-9 _ - : .")
	}
	// Split JSON off the writer goroutine; a parse error is reported by
	// the writer in protocol order (missing and closed streams first).
	pre := splitJSONEarly(req.ContentType, req.Body)
	var res *AppendResult
	err := e.submit(func(bc *batchCtx) error {
		r, err := bc.append(key, req, pre)
		res = r
		return err
	})
	if err != nil {
		return nil, opError("append "+key.String(), err)
	}
	return res, nil
}

func (bc *batchCtx) append(key Key, req AppendRequest, pre presplit) (*AppendResult, error) {
	s := bc.current(key)
	if s == nil {
		return nil, notFound(key)
	}
	if s.w.soft {
		return nil, gone(key)
	}
	closeOnly := len(req.Body) == 0 && req.Close
	var msgs [][]byte
	if s.w.closed {
		p := req.Producer
		if p != nil && s.w.closedBy != nil && *p == *s.w.closedBy {
			return &AppendResult{NextOffset: s.w.tail, Closed: true, Duplicate: true, Producer: p}, nil
		}
		if closeOnly && p == nil {
			bc.access(s)
			return &AppendResult{NextOffset: s.w.tail, Closed: true}, nil
		}
		return nil, &ClosedError{NextOffset: s.w.tail}
	}
	if !closeOnly {
		if len(req.Body) == 0 {
			return nil, badRequest("empty body: send data, or Stream-Closed: true to close the stream")
		}
		if req.ContentType == "" {
			return nil, badRequest("Content-Type is required when appending data")
		}
		if MediaType(req.ContentType) != MediaType(s.contentType) {
			return nil, fmt.Errorf("%w: stream is %s, request is %s", ErrContentType, MediaType(s.contentType), MediaType(req.ContentType))
		}
		var err error
		if msgs, err = pre.messages(s.json, req.Body); err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			return nil, badRequest("empty JSON array: nothing to append")
		}
	}

	var ps *ProducerRecord
	if p := req.Producer; p != nil {
		ps = s.w.producers[p.ID]
		switch {
		case ps == nil || p.Epoch > ps.Epoch:
			if p.Seq != 0 {
				return nil, badRequest("Producer-Seq must start at 0 for a new producer or epoch (got %d)", p.Seq)
			}
		case p.Epoch < ps.Epoch:
			return nil, &ProducerError{Kind: ErrStaleEpoch, CurrentEpoch: ps.Epoch}
		case p.Seq <= ps.LastSeq:
			return &AppendResult{NextOffset: ps.LastOffset, Duplicate: true,
				Producer: &ProducerTuple{ID: p.ID, Epoch: ps.Epoch, Seq: ps.LastSeq}}, nil
		case p.Seq > ps.LastSeq+1:
			return nil, &ProducerError{Kind: ErrProducerSeqGap, ExpectedSeq: ps.LastSeq + 1, ReceivedSeq: p.Seq}
		}
	}
	if req.StreamSeq != "" && s.w.lastSeq != "" && req.StreamSeq <= s.w.lastSeq {
		return nil, fmt.Errorf("%w: %q is not greater than %q", ErrSeqRegression, clip(req.StreamSeq), clip(s.w.lastSeq))
	}

	if !closeOnly {
		bc.appendMessages(s, msgs)
	}
	if req.StreamSeq != "" {
		s.w.lastSeq = req.StreamSeq
	}
	res := &AppendResult{NextOffset: s.w.tail}
	if p := req.Producer; p != nil {
		rec := &ProducerRecord{StreamID: s.id, ProducerID: p.ID, Epoch: p.Epoch, LastSeq: p.Seq,
			LastOffset: s.w.tail, UpdatedAtMS: bc.now}
		s.w.producers[p.ID] = rec
		bc.batch.Producers = append(bc.batch.Producers, *rec)
		res.Producer = p
	}
	if req.Close {
		s.w.closed = true
		if req.Producer != nil {
			t := *req.Producer
			s.w.closedBy = &t
		}
	}
	res.Closed = s.w.closed
	bc.access(s)
	bc.touch(s)
	return res, nil
}

// Delete deletes a stream. One with live forks is soft-deleted: its path
// answers 410 and cannot be reused until the last fork is gone.
func (e *Engine) Delete(ctx context.Context, key Key) error {
	if err := reserved(key); err != nil {
		return err
	}
	err := e.submit(func(bc *batchCtx) error {
		s := bc.current(key)
		if s == nil {
			return notFound(key)
		}
		if s.w.soft {
			return gone(key)
		}
		if s.w.refcount > 0 {
			s.w.soft = true
			bc.touch(s)
			return nil
		}
		bc.hardDelete(s)
		return nil
	})
	if err != nil {
		return opError("delete "+key.String(), err)
	}
	return nil
}
