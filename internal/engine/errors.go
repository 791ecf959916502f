package engine

import (
	"errors"
	"fmt"
)

// Sentinel errors. The HTTP layer maps them to statuses in one place
// (httpapi.writeError); wrap them with %w to add context.
var (
	ErrNotFound        = errors.New("stream not found")
	ErrGone            = errors.New("stream was deleted and is kept only for its forks")
	ErrConflict        = errors.New("stream already exists with a different configuration")
	ErrContentType     = errors.New("content type does not match the stream")
	ErrClosed          = errors.New("stream is closed")
	ErrSeqRegression   = errors.New("Stream-Seq must increase")
	ErrStaleEpoch      = errors.New("producer epoch is stale")
	ErrProducerSeqGap  = errors.New("producer sequence gap")
	ErrBadRequest      = errors.New("bad request")
	ErrTooLarge        = errors.New("payload too large")
	ErrUnavailable     = errors.New("engine unavailable")
	ErrReservedStream  = errors.New("stream id is reserved")
	ErrOffsetNotInTail = errors.New("offset is beyond the tail")
)

// RequestError carries a client-facing message for ErrBadRequest and friends.
type RequestError struct {
	Kind error
	Msg  string
}

func (e *RequestError) Error() string { return e.Msg }
func (e *RequestError) Unwrap() error { return e.Kind }

func badRequest(format string, args ...any) error {
	return &RequestError{Kind: ErrBadRequest, Msg: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &RequestError{Kind: ErrConflict, Msg: fmt.Sprintf(format, args...)}
}

// ClosedError is returned when appending to a closed stream; the client
// needs the final offset.
type ClosedError struct{ NextOffset int64 }

func (e *ClosedError) Error() string { return "stream is closed" }
func (e *ClosedError) Unwrap() error { return ErrClosed }

// ProducerError carries the producer headers the protocol requires on
// 403 (stale epoch) and 409 (sequence gap) answers.
type ProducerError struct {
	Kind         error
	CurrentEpoch int64
	ExpectedSeq  int64
	ReceivedSeq  int64
}

func (e *ProducerError) Error() string {
	if e.Kind == ErrStaleEpoch {
		return fmt.Sprintf("producer epoch is stale: current epoch is %d", e.CurrentEpoch)
	}
	return fmt.Sprintf("producer sequence gap: expected %d, received %d", e.ExpectedSeq, e.ReceivedSeq)
}
func (e *ProducerError) Unwrap() error { return e.Kind }

// OpError names the engine operation that failed, for logs and CLI
// messages; the HTTP layer shows clients only the error inside it.
type OpError struct {
	Op  string
	Err error
}

func (e *OpError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *OpError) Unwrap() error { return e.Err }

func opError(op string, err error) error { return &OpError{Op: op, Err: err} }
