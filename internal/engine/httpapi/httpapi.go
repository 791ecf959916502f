// Package httpapi serves the Durable Streams HTTP protocol for an
// engine.Engine: one route table, common security and CORS headers, and
// the one place where engine errors become HTTP statuses.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
)

// DefaultProject is the project that the bare /v1/stream/<id> layout
// addresses (the layout the official conformance suite uses).
const DefaultProject = "default"

// Options tune a Handler.
type Options struct {
	// LongPollTimeout is how long a long-poll waits for data (default 20 s).
	LongPollTimeout time.Duration
	// SSELifetime caps one SSE connection; clients reconnect with their
	// last offset (default 60 s).
	SSELifetime time.Duration
	// MaxBodyBytes caps a PUT or POST body (default 64 MiB; larger → 413).
	MaxBodyBytes int64
	Logger       *slog.Logger
	// Now is the clock for cursors (tests inject one).
	Now func() time.Time
}

// Handler is the protocol's http.Handler.
type Handler struct {
	eng  *engine.Engine
	opts Options
	log  *slog.Logger
	stop chan struct{}
}

// New returns a Handler for eng.
func New(eng *engine.Engine, opts Options) *Handler {
	if opts.LongPollTimeout <= 0 {
		opts.LongPollTimeout = 20 * time.Second
	}
	if opts.SSELifetime <= 0 {
		opts.SSELifetime = 60 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{eng: eng, opts: opts, log: opts.Logger.With("sys", "httpapi"), stop: make(chan struct{})}
}

// Stop ends open long-polls (they answer 204) and SSE streams, so that a
// graceful http.Server.Shutdown does not wait for them.
func (h *Handler) Stop() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
}

// target is what a request path addresses.
type target struct {
	kind    targetKind
	project string
	key     engine.Key
}

type targetKind int

const (
	targetNone targetKind = iota
	targetHealth
	targetStream
)

// access is what a route needs from the caller. Auth (a later layer)
// decides from the matched route, never from the raw path.
type access int

const (
	accessPublic access = iota
	accessRead
	accessWrite
)

type route struct {
	method string
	kind   targetKind
	access access
	serve  func(h *Handler, w http.ResponseWriter, r *http.Request, t target)
}

// routes is the whole API. A path that parses but has no route for the
// method gets 405; a path that does not parse gets 404.
var routes = []route{
	{http.MethodGet, targetHealth, accessPublic, (*Handler).health},
	{http.MethodHead, targetHealth, accessPublic, (*Handler).health},
	{http.MethodOptions, targetHealth, accessPublic, (*Handler).preflight},
	{http.MethodOptions, targetStream, accessPublic, (*Handler).preflight},
	{http.MethodPut, targetStream, accessWrite, (*Handler).create},
	{http.MethodPost, targetStream, accessWrite, (*Handler).append},
	{http.MethodGet, targetStream, accessRead, (*Handler).read},
	{http.MethodHead, targetStream, accessRead, (*Handler).head},
	{http.MethodDelete, targetStream, accessWrite, (*Handler).delete},
}

var projectRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// parseTarget maps a decoded URL path to what it addresses:
// /health, /v1/stream/<id> (the default project) or
// /v1/<project>/stream/<id>, where <id> may contain '/'.
func parseTarget(path string) (target, error) {
	if path == "/health" {
		return target{kind: targetHealth}, nil
	}
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		return target{}, nil
	}
	if id, ok := strings.CutPrefix(rest, "stream/"); ok {
		return streamTarget(DefaultProject, id)
	}
	project, after, ok := strings.Cut(rest, "/")
	if !ok {
		return target{}, nil
	}
	id, ok := strings.CutPrefix(after, "stream/")
	if !ok {
		return target{}, nil
	}
	if !projectRE.MatchString(project) || project == "stream" {
		return target{}, badRequest("invalid project %q: want letters, digits, '_' or '-' (and not \"stream\")", project)
	}
	return streamTarget(project, id)
}

func streamTarget(project, id string) (target, error) {
	if id == "" {
		return target{}, badRequest("missing stream id")
	}
	if len(id) > 1024 {
		return target{}, badRequest("stream id is longer than 1024 bytes")
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] == 0x7f {
			return target{}, badRequest("stream id contains a control character")
		}
	}
	return target{kind: targetStream, project: project, key: engine.Key{Project: project, Name: id}}, nil
}

// parseStreamPath parses a stream path given in a header
// (Stream-Forked-From), which may be percent-encoded.
func parseStreamPath(p string) (engine.Key, error) {
	if u, err := url.Parse(p); err == nil && u.Path != "" {
		p = u.Path
	}
	t, err := parseTarget(p)
	if err != nil {
		return engine.Key{}, err
	}
	if t.kind != targetStream {
		return engine.Key{}, badRequest("Stream-Forked-From %q is not a stream path such as /v1/stream/<id>", p)
	}
	return t.key, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCommonHeaders(w.Header())
	t, err := parseTarget(r.URL.Path)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if t.kind == targetNone {
		writeError(w, r, errRouteNotFound)
		return
	}
	var allowed []string
	for i := range routes {
		rt := &routes[i]
		if rt.kind != t.kind {
			continue
		}
		if rt.method == r.Method {
			rt.serve(h, w, r, t)
			return
		}
		allowed = append(allowed, rt.method)
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeError(w, r, errMethodNotAllowed)
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request, _ target) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte("ok"))
	}
}

func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, _ target) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, HEAD, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	hd.Set("Access-Control-Max-Age", "86400")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

const corsAllowHeaders = "Content-Type, Authorization, If-None-Match, Stream-Seq, Stream-TTL, Stream-Expires-At, " +
	"Stream-Closed, Producer-Id, Producer-Epoch, Producer-Seq, Stream-Forked-From, Stream-Fork-Offset, " +
	"Stream-Fork-Sub-Offset, X-Stream-Public"

const corsExposeHeaders = "Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, Stream-Closed, Stream-TTL, " +
	"Stream-Expires-At, Producer-Epoch, Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq, ETag, " +
	"Content-Type, Content-Encoding, Vary, Location, Stream-SSE-Data-Encoding"

// setCommonHeaders puts the security and CORS headers on every response,
// errors included.
func setCommonHeaders(hd http.Header) {
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Expose-Headers", corsExposeHeaders)
}
