package client

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Message is one message and the offset it starts at. In JSON streams
// each array element is a message; in byte streams each chunk the server
// sent is one.
type Message struct {
	Offset string
	Data   []byte
}

// Batch is one read's worth of messages and where to continue.
type Batch struct {
	Messages   []Message
	NextOffset string
	UpToDate   bool
	Closed     bool
	JSON       bool
}

// IsJSON reports whether a content type is JSON mode.
func IsJSON(contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	return ct == "application/json"
}

// offsetBefore steps a "%016d_%016d" offset back by n positions; it
// returns "" for offsets it does not understand (they are opaque to
// clients of other servers).
func offsetBefore(next string, n int64) string {
	gen, pos, ok := strings.Cut(next, "_")
	if !ok || len(gen) != 16 || len(pos) != 16 {
		return ""
	}
	p, err := strconv.ParseInt(pos, 10, 64)
	if err != nil || p < n {
		return ""
	}
	return fmt.Sprintf("%s_%016d", gen, p-n)
}

// split turns a response body into messages. JSON messages are numbered
// back from next; a byte chunk starts at start when that is a concrete
// offset (SSE text framing may turn CR into LF, so its length is not a
// safe measure), else len(body) before next.
func split(body []byte, isJSON bool, next, start string) ([]Message, error) {
	if len(body) == 0 {
		return nil, nil
	}
	if !isJSON {
		off := start
		if off == "" || off == "-1" || off == "now" {
			off = offsetBefore(next, int64(len(body)))
		}
		return []Message{{Offset: off, Data: body}}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("JSON stream answered with something that is not an array: %w", err)
	}
	out := make([]Message, len(items))
	for i, it := range items {
		out[i] = Message{Offset: offsetBefore(next, int64(len(items)-i)), Data: it}
	}
	return out, nil
}

func readPath(path, offset string, extra url.Values) string {
	q := url.Values{}
	if offset != "" {
		q.Set("offset", offset)
	}
	for k, v := range extra {
		q[k] = v
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func batchFrom(resp *http.Response, start string) (*Batch, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	b := &Batch{
		NextOffset: resp.Header.Get("Stream-Next-Offset"),
		UpToDate:   resp.Header.Get("Stream-Up-To-Date") == "true",
		Closed:     resp.Header.Get("Stream-Closed") == "true",
		JSON:       IsJSON(resp.Header.Get("Content-Type")),
	}
	b.Messages, err = split(body, b.JSON, b.NextOffset, start)
	return b, err
}

// Read returns one page of a catch-up read from offset ("-1" for the
// start, "now" for the tail, or an offset from an earlier batch).
func (c *Client) Read(ctx context.Context, id, offset string) (*Batch, error) {
	req, err := c.newRequest(ctx, http.MethodGet, readPath(c.StreamPath(id), offset, nil), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	return batchFrom(resp, offset)
}

// LongPoll waits for data after offset. A timeout is an empty batch at
// the same offset.
func (c *Client) LongPoll(ctx context.Context, id, offset, cursor string) (*Batch, string, error) {
	extra := url.Values{"live": {"long-poll"}}
	if cursor != "" {
		extra.Set("cursor", cursor)
	}
	req, err := c.newRequest(ctx, http.MethodGet, readPath(c.StreamPath(id), offset, extra), nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, "", err
	}
	b, err := batchFrom(resp, offset)
	if err != nil {
		return nil, "", err
	}
	if b.NextOffset == "" {
		b.NextOffset = offset
	}
	return b, resp.Header.Get("Stream-Cursor"), nil
}

// sseControl is the JSON of a control event.
type sseControl struct {
	StreamNextOffset string `json:"streamNextOffset"`
	StreamCursor     string `json:"streamCursor"`
	UpToDate         bool   `json:"upToDate"`
	StreamClosed     bool   `json:"streamClosed"`
}

// SSE follows a stream with Server-Sent Events from offset, calling fn
// for each data event (with the control event that follows it) and for
// each bare control event (an empty batch). It returns when the server
// ends the response (nil), fn fails, or ctx ends.
func (c *Client) SSE(ctx context.Context, id, offset string, fn func(*Batch) error) error {
	req, err := c.newRequest(ctx, http.MethodGet, readPath(c.StreamPath(id), offset, url.Values{"live": {"sse"}}), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("server answered SSE with %q, not text/event-stream", ct)
	}
	b64 := strings.EqualFold(resp.Header.Get("Stream-SSE-Data-Encoding"), "base64")
	isJSON := false
	if info, err := c.Head(ctx, id); err == nil {
		isJSON = IsJSON(info.ContentType)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var event string
	var data []string
	var pending []byte
	havePending := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			payload := strings.Join(data, "\n")
			switch event {
			case "data":
				pending, havePending = []byte(payload), true
				if b64 {
					dec, err := base64.StdEncoding.DecodeString(payload)
					if err != nil {
						return fmt.Errorf("bad base64 in SSE data event: %w", err)
					}
					pending = dec
				}
			case "control":
				var ctl sseControl
				if err := json.Unmarshal([]byte(payload), &ctl); err != nil {
					return fmt.Errorf("bad SSE control event: %w", err)
				}
				b := &Batch{NextOffset: ctl.StreamNextOffset, UpToDate: ctl.UpToDate, Closed: ctl.StreamClosed, JSON: isJSON}
				if havePending {
					msgs, err := split(pending, isJSON, ctl.StreamNextOffset, offset)
					if err != nil {
						return err
					}
					b.Messages = msgs
					pending, havePending = nil, false
				}
				if ctl.StreamNextOffset != "" {
					offset = ctl.StreamNextOffset
				}
				if err := fn(b); err != nil {
					return err
				}
			}
			event, data = "", nil
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(line, "data:"))
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return err
	}
	return ctx.Err()
}

// FollowOptions tune Follow.
type FollowOptions struct {
	// NoFollow stops once caught up instead of waiting for more.
	NoFollow bool
	// LongPoll uses long-poll instead of SSE.
	LongPoll bool
	// OnReconnect is told about each lost connection before the retry.
	OnReconnect func(err error, attempt int)
	// MaxBackoff caps the wait between reconnects (default 5 s).
	MaxBackoff time.Duration
}

// fatal reports whether an error ends a follow rather than a connection.
func fatal(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status < 500
}

// Follow reads a stream from `from` ("start", "now" or an offset) and
// calls fn with every batch, reconnecting from the last offset after a
// dropped connection, so no message is lost or repeated. It returns nil
// when the stream is closed (or, with NoFollow, when caught up), or the
// error that ended it.
func (c *Client) Follow(ctx context.Context, id, from string, o FollowOptions, fn func(*Batch) error) error {
	offset := from
	switch from {
	case "", "start":
		offset = "-1"
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	done := errors.New("done")
	attempt := 0
	deliver := func(b *Batch) error {
		attempt = 0
		if b.NextOffset != "" {
			offset = b.NextOffset
		}
		if err := fn(b); err != nil {
			return err
		}
		if b.Closed || (o.NoFollow && b.UpToDate) {
			return done
		}
		return nil
	}
	for {
		var err error
		switch {
		case o.NoFollow:
			var b *Batch
			if b, err = c.Read(ctx, id, offset); err == nil {
				err = deliver(b)
			}
		case o.LongPoll:
			err = c.longPollLoop(ctx, id, &offset, deliver)
		default:
			err = c.SSE(ctx, id, offset, deliver)
		}
		switch {
		case errors.Is(err, done):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			continue // the server ended a live response: resume
		case fatal(err):
			return err
		}
		var ae *APIError
		if !errors.As(err, &ae) && !isNetErr(err) {
			return err // fn's own error
		}
		attempt++
		if o.OnReconnect != nil {
			o.OnReconnect(err, attempt)
		}
		wait := min(time.Duration(100<<min(attempt, 10))*time.Millisecond, o.MaxBackoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (c *Client) longPollLoop(ctx context.Context, id string, offset *string, deliver func(*Batch) error) error {
	// Catch up first: long-poll waits only at the tail.
	cursor := ""
	for {
		b, cur, err := c.LongPoll(ctx, id, *offset, cursor)
		if err != nil {
			return err
		}
		cursor = cur
		if len(b.Messages) == 0 && !b.Closed && !b.UpToDate {
			continue
		}
		if err := deliver(b); err != nil {
			return err
		}
	}
}

// isNetErr reports whether err is a transport failure worth a retry.
func isNetErr(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset")
}
