package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
)

// Cache-Control values per response kind. Ranges behind the tail never
// change, so CDNs may keep them; at-tail and live answers must not be
// stored, or read-after-write breaks (a bug the original shipped).
const (
	cacheHistorical = "public, max-age=60, stale-while-revalidate=300"
	cacheAtTail     = "no-cache"
	cacheLiveData   = "public, max-age=20"
	cacheNever      = "no-store"
)

// readQuery is the parsed query of a GET.
type readQuery struct {
	from     engine.ReadFrom
	hasFrom  bool
	live     string
	cursor   string
	hasCurse bool
}

func parseReadQuery(raw string) (readQuery, error) {
	var q readQuery
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, badRequest("malformed query string")
	}
	if offs, ok := vals["offset"]; ok {
		if len(offs) != 1 {
			return q, badRequest("offset must be given once")
		}
		if offs[0] == "" {
			return q, badRequest("offset must not be empty: use -1 for the start or now for the tail")
		}
		from, err := engine.ParseReadOffset(offs[0])
		if err != nil {
			return q, err
		}
		q.from, q.hasFrom = from, true
	}
	if lives, ok := vals["live"]; ok {
		if len(lives) != 1 {
			return q, badRequest("live must be given once")
		}
		switch lives[0] {
		case "long-poll", "sse":
			q.live = lives[0]
		default:
			return q, badRequest("unknown live mode %q: want long-poll or sse", lives[0])
		}
	}
	if cs, ok := vals["cursor"]; ok {
		q.cursor, q.hasCurse = cs[0], true
	}
	return q, nil
}

func (h *Handler) read(w http.ResponseWriter, r *http.Request, t target) {
	q, err := parseReadQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if q.live != "" && !q.hasFrom {
		writeError(w, r, badRequest("live=%s needs an offset: -1, now, or an offset from Stream-Next-Offset", q.live))
		return
	}
	hdl, err := h.eng.Stream(t.key)
	if err != nil {
		writeError(w, r, err)
		return
	}
	hdl.Touch()
	tail, _, err := hdl.Tail()
	if err != nil {
		writeError(w, r, err)
		return
	}
	pos := int64(0)
	switch q.from.Kind {
	case engine.OffsetNow:
		pos = tail
	case engine.OffsetAt:
		pos = q.from.Pos
	}
	switch q.live {
	case "long-poll":
		h.longPoll(w, r, hdl, pos, q)
	case "sse":
		h.sse(w, r, hdl, pos, q)
	default:
		h.catchUp(w, r, hdl, pos, q)
	}
}

func (h *Handler) catchUp(w http.ResponseWriter, r *http.Request, hdl *engine.Handle, pos int64, q readQuery) {
	res, err := hdl.Read(r.Context(), pos)
	if err != nil {
		writeError(w, r, err)
		return
	}
	hd := w.Header()
	setReadHeaders(hd, res)
	if q.from.Kind == engine.OffsetNow {
		// A tail probe: nothing to cache or revalidate.
		hd.Set("Cache-Control", cacheNever)
		w.WriteHeader(http.StatusOK)
		if res.Info.JSON {
			_, _ = w.Write([]byte("[]"))
		}
		return
	}
	etag := etagFor(res)
	hd.Set("ETag", etag)
	if res.UpToDate && !res.Closed {
		hd.Set("Cache-Control", cacheAtTail)
	} else {
		hd.Set("Cache-Control", cacheHistorical)
	}
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := engine.Body(res.Info.JSON, res.Messages)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// setReadHeaders sets the headers every data-carrying read response has.
func setReadHeaders(hd http.Header, res *engine.ReadResult) {
	hd.Set("Content-Type", res.Info.ContentType)
	hd.Set("Stream-Next-Offset", engine.FormatOffset(res.Next))
	if res.UpToDate {
		hd.Set("Stream-Up-To-Date", "true")
	}
	if res.Closed {
		hd.Set("Stream-Closed", "true")
	}
}

// etagFor names one response: the stream incarnation, the range, and
// whether the stream was closed at its end (closing changes the ETag).
func etagFor(res *engine.ReadResult) string {
	c := ""
	if res.Closed {
		c = ":c"
	}
	return `"` + strconv.FormatInt(res.Info.ID, 10) + ":" + strconv.FormatInt(res.Start, 10) + ":" +
		strconv.FormatInt(res.Next, 10) + c + `"`
}

func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, cand := range strings.Split(header, ",") {
		cand = strings.TrimSpace(cand)
		cand = strings.TrimPrefix(cand, "W/")
		if cand == "*" || cand == etag {
			return true
		}
	}
	return false
}

func (h *Handler) longPoll(w http.ResponseWriter, r *http.Request, hdl *engine.Handle, pos int64, q readQuery) {
	defer hdl.Live()()
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.LongPollTimeout)
	defer cancel()
	hd := w.Header()
	for {
		tail, closed, err := hdl.Tail()
		if err != nil {
			writeError(w, r, err)
			return
		}
		if pos > tail {
			writeError(w, r, engine.BeyondTail(pos, tail))
			return
		}
		if pos < tail {
			res, err := hdl.Read(r.Context(), pos)
			if err != nil {
				writeError(w, r, err)
				return
			}
			setReadHeaders(hd, res)
			if !res.Closed {
				hd.Set("Stream-Cursor", h.cursor(q))
			}
			hd.Set("ETag", etagFor(res))
			if q.from.Kind == engine.OffsetNow {
				hd.Set("Cache-Control", cacheNever)
			} else {
				hd.Set("Cache-Control", cacheLiveData)
			}
			body := engine.Body(res.Info.JSON, res.Messages)
			hd.Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
			return
		}
		if closed {
			hd.Set("Stream-Next-Offset", engine.FormatOffset(tail))
			hd.Set("Stream-Up-To-Date", "true")
			hd.Set("Stream-Closed", "true")
			hd.Set("Cache-Control", cacheNever)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := hdl.Wait(ctx, pos, h.stop); err != nil {
			if r.Context().Err() != nil {
				return // the client went away
			}
			// Timeout or shutdown: tell the client to come back.
			hd.Set("Stream-Next-Offset", engine.FormatOffset(pos))
			hd.Set("Stream-Up-To-Date", "true")
			hd.Set("Stream-Cursor", h.cursor(q))
			hd.Set("Cache-Control", cacheNever)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
}

// cursorEpoch and cursorInterval define the protocol's cursor clock.
var cursorEpoch = time.Date(2024, 10, 9, 0, 0, 0, 0, time.UTC)

const cursorInterval = 20 * time.Second

// cursor returns the Stream-Cursor for a live response: the current
// 20-second interval, or one past the client's cursor when the client is
// not behind (so the echoed cursor always grows). A deterministic step
// (rather than random jitter) lets CDNs collapse identical requests.
func (h *Handler) cursor(q readQuery) string {
	now := int64(h.opts.Now().Sub(cursorEpoch) / cursorInterval)
	if q.hasCurse {
		if c, err := strconv.ParseInt(q.cursor, 10, 64); err == nil && c >= now {
			return strconv.FormatInt(c+1, 10)
		}
	}
	return strconv.FormatInt(now, 10)
}
