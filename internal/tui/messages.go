package tui

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/dsctl/dsctl/internal/client"
)

// Messages carry the answers of the commands that talk to the Source back
// into Update. Each names what it answers (a stream id, a tail generation)
// so a late answer for a view that was left is dropped.

// tickMsg asks the visible view to reload.
type tickMsg struct{}

// streamsMsg answers AllStreams.
type streamsMsg struct {
	streams []client.StreamSummary
	err     error
}

// detailMsg answers InspectStream.
type detailMsg struct {
	id     string
	detail *client.StreamDetail
	err    error
}

// appendedMsg answers the send box's Append.
type appendedMsg struct {
	id  string
	res *client.AppendResult
	err error
}

// closedMsg answers a close (an Append with Close).
type closedMsg struct {
	id  string
	res *client.AppendResult
	err error
}

// deletedMsg answers Delete.
type deletedMsg struct {
	id  string
	err error
}

// openStreamMsg asks the root to open the stream view.
type openStreamMsg struct{ id string }

// backMsg asks the root to leave the stream view; note, if set, is shown
// in the streams view.
type backMsg struct{ note string }

// tailBatchMsg is a batch of a follow.
type tailBatchMsg struct {
	gen   uint64
	batch *client.Batch
}

// tailRetryMsg reports a lost connection that the follow retries.
type tailRetryMsg struct {
	gen     uint64
	err     error
	attempt int
}

// tailDoneMsg reports the end of a follow: the stream closed (err nil) or
// a failure that is not worth a retry.
type tailDoneMsg struct {
	gen uint64
	err error
}

// sessionMsg answers the session calls. sess is the session as the server
// now has it (nil when it does not exist).
type sessionMsg struct {
	op   string // "open", "refresh", "subscribe", "unsubscribe", "touch", "delete"
	id   string
	sess *client.Session
	err  error
	// restartTail is set when the session stream was (re)created.
	restartTail bool
	note        string
}

// publishedMsg answers a publish.
type publishedMsg struct {
	stream string
	res    *client.AppendResult
	err    error
}

// unreachableStatus is the status line while the server cannot be
// reached; the next successful refresh or reconnect clears it.
const unreachableStatus = "server unreachable, retrying…"

// unreachable reports whether err is a transport failure (the server is
// down or the network dropped) rather than an answer.
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		return false
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "connection reset")
}

// errText is the one-line text of a failed operation.
func errText(op string, err error) string {
	if unreachable(err) {
		return op + ": server unreachable"
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		if client.IsAuth(err) {
			return fmt.Sprintf("%s: refused (HTTP %d): pass a --token with manage scope: %s", op, ae.Status, ae.Message)
		}
		return op + ": " + ae.Error()
	}
	return op + ": " + oneLine(err.Error())
}

// refreshErrText is the status of a failed periodic reload: the reload
// is retried on the next tick.
func refreshErrText(op string, err error) string {
	if unreachable(err) {
		return unreachableStatus
	}
	return errText(op, err)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
