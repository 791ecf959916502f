package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
)

// control is the JSON of an SSE control event.
type control struct {
	StreamNextOffset string `json:"streamNextOffset"`
	StreamCursor     string `json:"streamCursor,omitempty"`
	UpToDate         bool   `json:"upToDate,omitempty"`
	StreamClosed     bool   `json:"streamClosed,omitempty"`
}

// sse streams a stream as Server-Sent Events: each page of data is one
// `data` event followed, in the same write, by a `control` event; idle
// periods send a control event every long-poll interval; the connection
// ends after the closing control event, on delete, on shutdown, or after
// SSELifetime (the client reconnects from its last offset).
func (h *Handler) sse(w http.ResponseWriter, r *http.Request, hdl *engine.Handle, pos int64, q readQuery) {
	info, err := hdl.Info()
	if err != nil {
		writeError(w, r, err)
		return
	}
	if tail, _, err := hdl.Tail(); err != nil || pos > tail {
		if err == nil {
			err = engine.BeyondTail(pos, tail)
		}
		writeError(w, r, err)
		return
	}
	defer hdl.Live()()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // live responses outlast the server's write timeout
	text := engine.IsText(info.ContentType)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	if !text {
		hd.Set("Stream-SSE-Data-Encoding", "base64")
	}
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()

	lifetime, cancel := context.WithTimeout(r.Context(), h.opts.SSELifetime)
	defer cancel()
	var buf bytes.Buffer
	first := true
	for {
		res, err := hdl.Read(r.Context(), pos)
		if err != nil {
			return // deleted or expired: end the stream
		}
		buf.Reset()
		if len(res.Messages) > 0 {
			writeDataEvent(&buf, info.JSON, text, res.Messages)
		}
		if len(res.Messages) > 0 || first || res.Closed {
			writeControl(&buf, h.controlFor(res, q))
		}
		first = false
		if buf.Len() > 0 {
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
		pos = res.Next
		if res.Closed {
			return
		}
		if !res.UpToDate {
			continue
		}
		hdl.Touch()
		wait, cancelWait := context.WithTimeout(lifetime, h.opts.LongPollTimeout)
		err = hdl.Wait(wait, pos, h.stop)
		cancelWait()
		if err == nil {
			continue
		}
		if lifetime.Err() != nil || errors.Is(err, engine.ErrUnavailable) {
			return // client gone, lifetime over, or shutting down
		}
		// Idle: a control event keeps proxies and the client alive.
		buf.Reset()
		writeControl(&buf, control{StreamNextOffset: engine.FormatOffset(pos), StreamCursor: h.cursor(q), UpToDate: true})
		if _, err := w.Write(buf.Bytes()); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func (h *Handler) controlFor(res *engine.ReadResult, q readQuery) control {
	c := control{StreamNextOffset: engine.FormatOffset(res.Next), UpToDate: res.UpToDate}
	if res.Closed {
		c.StreamClosed = true
	} else {
		c.StreamCursor = h.cursor(q)
	}
	return c
}

// writeDataEvent frames one page as a single `data` event: a JSON array in
// JSON mode, UTF-8 text for text types, base64 otherwise. Text is split on
// CR, LF and CRLF so that payload line breaks can never end the event.
func writeDataEvent(buf *bytes.Buffer, isJSON, text bool, msgs []engine.Message) {
	buf.WriteString("event: data\n")
	payload := engine.Body(isJSON, msgs)
	if !text {
		buf.WriteString("data:")
		buf.WriteString(base64.StdEncoding.EncodeToString(payload))
		buf.WriteString("\n\n")
		return
	}
	start := 0
	for i := 0; i < len(payload); i++ {
		if c := payload[i]; c == '\n' || c == '\r' {
			buf.WriteString("data:")
			buf.Write(payload[start:i])
			buf.WriteByte('\n')
			if c == '\r' && i+1 < len(payload) && payload[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	buf.WriteString("data:")
	buf.Write(payload[start:])
	buf.WriteString("\n\n")
}

func writeControl(buf *bytes.Buffer, c control) {
	b, _ := json.Marshal(c)
	buf.WriteString("event: control\ndata:")
	buf.Write(b)
	buf.WriteString("\n\n")
}
