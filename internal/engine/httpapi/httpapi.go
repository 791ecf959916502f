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
	"github.com/dsctl/dsctl/internal/registry"
)

// DefaultProject is the project that the bare /v1/stream/<id> layout
// addresses (the layout the official conformance suite uses).
const DefaultProject = registry.DefaultProject

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
	// Now is the clock for cursors and token expiry (tests inject one).
	Now func() time.Time
	// Registry holds the projects whose tokens are checked. Nil means an
	// empty in-memory registry.
	Registry registry.Registry
	// AuthDefault makes the default project require tokens too.
	AuthDefault bool
}

// Handler is the protocol's http.Handler.
type Handler struct {
	eng  *engine.Engine
	reg  registry.Registry
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
	if opts.Registry == nil {
		opts.Registry = registry.NewMemory()
	}
	return &Handler{eng: eng, reg: opts.Registry, opts: opts, log: opts.Logger.With("sys", "httpapi"), stop: make(chan struct{})}
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
	targetStreamList   // /v1/<project>/streams
	targetStreamDetail // /v1/<project>/streams/<id>
	targetSubscribe    // /v1/<project>/subscribe
	targetUnsubscribe  // /v1/<project>/unsubscribe
	targetPublish      // /v1/<project>/publish/<streamId>
	targetSession      // /v1/<project>/session/<sessionId>
	targetSessionTouch // /v1/<project>/session/<sessionId>/touch
)

// access is what a route needs from the caller. Auth (a later layer)
// decides from the matched route, never from the raw path.
type access int

const (
	accessPublic access = iota
	accessRead
	accessWrite
	accessManage
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
	{http.MethodOptions, targetStreamList, accessPublic, (*Handler).preflight},
	{http.MethodGet, targetStreamList, accessManage, (*Handler).listStreams},
	{http.MethodOptions, targetStreamDetail, accessPublic, (*Handler).preflight},
	{http.MethodGet, targetStreamDetail, accessManage, (*Handler).inspectStream},
	{http.MethodOptions, targetSubscribe, accessPublic, (*Handler).preflight},
	{http.MethodPost, targetSubscribe, accessRead, (*Handler).subscribe},
	{http.MethodOptions, targetUnsubscribe, accessPublic, (*Handler).preflight},
	{http.MethodDelete, targetUnsubscribe, accessWrite, (*Handler).unsubscribe},
	{http.MethodOptions, targetPublish, accessPublic, (*Handler).preflight},
	{http.MethodPost, targetPublish, accessWrite, (*Handler).publish},
	{http.MethodOptions, targetSession, accessPublic, (*Handler).preflight},
	{http.MethodGet, targetSession, accessRead, (*Handler).getSession},
	{http.MethodDelete, targetSession, accessWrite, (*Handler).deleteSession},
	{http.MethodOptions, targetSessionTouch, accessPublic, (*Handler).preflight},
	{http.MethodPost, targetSessionTouch, accessRead, (*Handler).touchSession},
}

var projectRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// parseTarget maps a decoded URL path to what it addresses:
// /health, /v1/stream/<id> (the default project),
// /v1/<project>/stream/<id> (where <id> may contain '/'), and the
// inspection API /v1/<project>/streams[/<id>] (bare /v1/streams[/<id>]
// for the default project).
func parseTarget(path string) (target, error) {
	if path == "/health" {
		return target{kind: targetHealth}, nil
	}
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		return target{}, nil
	}
	if t, ok, err := projectTarget(DefaultProject, rest, true); ok {
		return t, err
	}
	project, after, ok := strings.Cut(rest, "/")
	if !ok {
		return target{}, nil
	}
	t, ok, err := projectTarget(project, after, false)
	if !ok {
		return target{}, nil
	}
	if !projectRE.MatchString(project) || project == "stream" || project == "streams" {
		return target{project: project}, badRequest("invalid project %q: want letters, digits, '_' or '-' (and not \"stream\" or \"streams\")", project)
	}
	return t, err
}

// projectTarget parses what follows the project part of a path. The bare
// layout (no project segment) has only the stream and inspection routes;
// pub/sub routes always name their project (the default one as
// /v1/default/...), so that no project name is ambiguous.
func projectTarget(project, rest string, bare bool) (target, bool, error) {
	if id, ok := strings.CutPrefix(rest, "stream/"); ok {
		t, err := streamTarget(project, id)
		return t, true, err
	}
	if rest == "streams" {
		return target{kind: targetStreamList, project: project}, true, nil
	}
	if id, ok := strings.CutPrefix(rest, "streams/"); ok {
		t, err := streamTarget(project, id)
		t.kind = targetStreamDetail
		return t, true, err
	}
	if bare {
		return target{}, false, nil
	}
	switch rest {
	case "subscribe":
		return target{kind: targetSubscribe, project: project}, true, nil
	case "unsubscribe":
		return target{kind: targetUnsubscribe, project: project}, true, nil
	}
	if id, ok := strings.CutPrefix(rest, "publish/"); ok {
		t, err := streamTarget(project, id)
		t.kind = targetPublish
		return t, true, err
	}
	if id, ok := strings.CutPrefix(rest, "session/"); ok {
		kind := targetSession
		if sid, ok := strings.CutSuffix(id, "/touch"); ok {
			id, kind = sid, targetSessionTouch
		}
		t := target{kind: kind, project: project, key: engine.Key{Project: project, Name: id}}
		if id == "" {
			return t, true, badRequest("missing session id")
		}
		return t, true, nil
	}
	return target{}, false, nil
}

// streamTarget builds a stream target. On error the target still names
// the project, so the error response gets that project's CORS headers.
func streamTarget(project, id string) (target, error) {
	if id == "" {
		return target{project: project}, badRequest("missing stream id")
	}
	if len(id) > 1024 {
		return target{project: project}, badRequest("stream id is longer than 1024 bytes")
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] == 0x7f {
			return target{project: project}, badRequest("stream id contains a control character")
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
	hd := w.Header()
	setSecurityHeaders(hd)
	t, err := parseTarget(r.URL.Path)
	if err != nil {
		if t.project != "" && projectRE.MatchString(t.project) {
			p, _ := h.lookupProject(r, t)
			h.setCORS(hd, r, t, p)
		}
		writeError(w, r, err)
		return
	}
	if t.kind == targetNone {
		h.setCORS(hd, r, t, nil)
		writeError(w, r, errRouteNotFound)
		return
	}
	var rt *route
	var allowed []string
	for i := range routes {
		if routes[i].kind != t.kind {
			continue
		}
		if routes[i].method == r.Method {
			rt = &routes[i]
			break
		}
		allowed = append(allowed, routes[i].method)
	}
	p, perr := h.lookupProject(r, t)
	h.setCORS(hd, r, t, p)
	if rt == nil {
		hd.Set("Allow", strings.Join(allowed, ", "))
		writeError(w, r, errMethodNotAllowed)
		return
	}
	if rt.access != accessPublic {
		if perr != nil {
			writeError(w, r, perr)
			return
		}
		if err := h.authorize(r, t, rt, p); err != nil {
			writeError(w, r, err)
			return
		}
	}
	rt.serve(h, w, r, t)
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
	"Content-Type, Content-Encoding, Vary, Location, Stream-SSE-Data-Encoding, Stream-Fanout-Count"

// setSecurityHeaders puts the security headers on every response,
// errors included.
func setSecurityHeaders(hd http.Header) {
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
}
