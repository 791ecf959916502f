package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
)

// The inspection API (manage scope): what tools such as `dsctl ui` show
// about a project's streams.

const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// StreamJSON is one stream in the inspection API.
type StreamJSON struct {
	ID          string     `json:"id"`
	Path        string     `json:"path"`
	ContentType string     `json:"contentType"`
	SizeBytes   int64      `json:"sizeBytes"`
	Messages    int64      `json:"messages"`
	TailOffset  string     `json:"tailOffset"`
	Closed      bool       `json:"closed"`
	Public      bool       `json:"public"`
	TTLSeconds  *int64     `json:"ttlSeconds,omitempty"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastWriteAt time.Time  `json:"lastWriteAt"`
	Readers     int64      `json:"readers"`
}

// StreamDetailJSON adds producers and fork relations.
type StreamDetailJSON struct {
	StreamJSON
	Producers  []ProducerJSON `json:"producers"`
	ForkedFrom *ForkJSON      `json:"forkedFrom,omitempty"`
	Forks      int64          `json:"forks"`
}

// ProducerJSON is an idempotent producer's state.
type ProducerJSON struct {
	ID         string    `json:"id"`
	Epoch      int64     `json:"epoch"`
	LastSeq    int64     `json:"lastSeq"`
	LastOffset string    `json:"lastOffset"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ForkJSON names a fork's source.
type ForkJSON struct {
	Path   string `json:"path"`
	Offset string `json:"offset"`
}

// StreamListJSON is a page of streams; Next is the `after` value for the
// following page, absent on the last one.
type StreamListJSON struct {
	Streams []StreamJSON `json:"streams"`
	Next    string       `json:"next,omitempty"`
}

func streamPath(k engine.Key) string {
	if k.Project == DefaultProject {
		return "/v1/stream/" + k.Name
	}
	return "/v1/" + k.Project + "/stream/" + k.Name
}

func streamJSON(s engine.Summary) StreamJSON {
	j := StreamJSON{
		ID: s.Key.Name, Path: streamPath(s.Key), ContentType: s.ContentType,
		SizeBytes: s.Bytes, Messages: s.Messages, TailOffset: engine.FormatOffset(s.Tail),
		Closed: s.Closed, Public: s.Public, CreatedAt: s.CreatedAt.UTC(), LastWriteAt: s.LastWrite(),
		Readers: s.Readers,
	}
	if s.TTLSeconds >= 0 {
		ttl := s.TTLSeconds
		j.TTLSeconds = &ttl
	}
	if !s.ExpiresAt.IsZero() {
		at := s.ExpiresAt.UTC()
		j.ExpiresAt = &at
	}
	return j
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (h *Handler) listStreams(w http.ResponseWriter, r *http.Request, t target) {
	q := r.URL.Query()
	limit := defaultListLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			writeError(w, r, badRequest("invalid limit %q: want 1 to %d", s, maxListLimit))
			return
		}
		limit = n
	}
	// One extra tells whether another page follows.
	found := h.eng.List(t.project, q.Get("after"), limit+1)
	out := StreamListJSON{Streams: []StreamJSON{}}
	for i, s := range found {
		if i == limit {
			out.Next = found[limit-1].Key.Name
			break
		}
		out.Streams = append(out.Streams, streamJSON(s))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) inspectStream(w http.ResponseWriter, r *http.Request, t target) {
	d, err := h.eng.Inspect(r.Context(), t.key)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := StreamDetailJSON{StreamJSON: streamJSON(d.Summary), Producers: []ProducerJSON{}, Forks: d.Forks}
	for _, p := range d.Producers {
		out.Producers = append(out.Producers, ProducerJSON{
			ID: p.ProducerID, Epoch: p.Epoch, LastSeq: p.LastSeq,
			LastOffset: engine.FormatOffset(p.LastOffset), UpdatedAt: time.UnixMilli(p.UpdatedAtMS).UTC(),
		})
	}
	if d.ForkSource != nil {
		out.ForkedFrom = &ForkJSON{Path: streamPath(*d.ForkSource), Offset: engine.FormatOffset(d.ForkOffset)}
	}
	writeJSON(w, http.StatusOK, out)
}
