package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/httpapi"
	"github.com/dsctl/dsctl/internal/engine/memstore"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

// hangGuard bounds every wait in these tests. It only keeps a broken
// build from hanging; no test asserts how long anything took.
const hangGuard = 10 * time.Second

// H is a set of request or response headers.
type H map[string]string

func off(pos int64) string { return engine.FormatOffset(pos) }

var digitsRE = regexp.MustCompile(`^[0-9]+$`)

// ---- test server ----

type envConfig struct {
	engine engine.Options
	http   httpapi.Options
	sqlite bool
	// storeRegistry makes the SQLite store the registry (as dsctl serve
	// does); otherwise the env keeps one in-memory registry across restarts.
	storeRegistry bool
}

type option func(*envConfig)

func withLongPoll(d time.Duration) option    { return func(c *envConfig) { c.http.LongPollTimeout = d } }
func withSSELifetime(d time.Duration) option { return func(c *envConfig) { c.http.SSELifetime = d } }
func withMaxBody(n int64) option             { return func(c *envConfig) { c.http.MaxBodyBytes = n } }
func withPageBytes(n int) option             { return func(c *envConfig) { c.engine.ReadPageBytes = n } }
func withNow(now func() time.Time) option    { return func(c *envConfig) { c.http.Now = now } }
func withSQLite() option                     { return func(c *envConfig) { c.sqlite = true } }
func withAuthDefault() option                { return func(c *envConfig) { c.http.AuthDefault = true } }

// withStoreRegistry serves projects from the SQLite store itself.
func withStoreRegistry() option {
	return func(c *envConfig) { c.sqlite, c.storeRegistry = true, true }
}

// fakeClock is a settable clock for token expiry (and cursors).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func withClock(c *fakeClock) option { return withNow(c.Now) }

// env is a real engine behind a real HTTP server on 127.0.0.1.
type env struct {
	t      testing.TB
	cfg    envConfig
	dir    string
	store  engine.Store
	reg    registry.Registry // what the handler checks tokens against
	eng    *engine.Engine
	h      *httpapi.Handler
	srv    *httptest.Server
	client *http.Client

	mu    sync.Mutex
	hooks map[string]chan struct{} // X-Test-Req value → closed when its handler returns
}

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	cfg := envConfig{http: httpapi.Options{LongPollTimeout: 200 * time.Millisecond, SSELifetime: 2 * time.Second}}
	for _, o := range opts {
		o(&cfg)
	}
	e := &env{t: t, cfg: cfg, hooks: map[string]chan struct{}{}}
	if cfg.sqlite {
		e.dir = t.TempDir()
	}
	if !cfg.storeRegistry {
		if e.cfg.http.Registry == nil {
			e.cfg.http.Registry = registry.NewMemory()
		}
		e.reg = e.cfg.http.Registry
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() {
	e.t.Helper()
	ctx := context.Background()
	if e.cfg.sqlite {
		st, err := sqlite.Open(ctx, e.dir, sqlite.Full)
		if err != nil {
			e.t.Fatalf("sqlite.Open: %v", err)
		}
		e.store = st
		if e.cfg.storeRegistry {
			e.reg = st
			e.cfg.http.Registry = st
		}
	} else {
		e.store = memstore.New()
	}
	eng, err := engine.Open(ctx, e.store, e.cfg.engine)
	if err != nil {
		e.t.Fatalf("engine.Open: %v", err)
	}
	e.eng = eng
	e.h = httpapi.New(eng, e.cfg.http)
	h := e.h
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer e.handlerDone(r.Header.Get("X-Test-Req"))
		h.ServeHTTP(w, r)
	}))
	e.client = e.srv.Client()
	e.client.Timeout = hangGuard
}

// stop ends live responses, then the server, the engine and the store.
func (e *env) stop() {
	if e.srv == nil {
		return
	}
	e.h.Stop()
	closed := make(chan struct{})
	go func() {
		e.srv.Close() // waits for every handler
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(hangGuard):
		e.t.Errorf("the server did not shut down: a live response ignored Stop")
		e.srv = nil
		return
	}
	if err := e.eng.Close(); err != nil {
		e.t.Errorf("engine.Close: %v", err)
	}
	if err := e.store.Close(); err != nil {
		e.t.Errorf("store.Close: %v", err)
	}
	e.srv = nil
}

// restart reopens the same data directory behind a new server.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// awaitHandler returns a channel closed when the handler of the request
// sent with header X-Test-Req: id has returned.
func (e *env) awaitHandler(id string) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, ok := e.hooks[id]
	if !ok {
		ch = make(chan struct{})
		e.hooks[id] = ch
	}
	return ch
}

func (e *env) handlerDone(id string) {
	if id == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, ok := e.hooks[id]
	if !ok {
		ch = make(chan struct{})
		e.hooks[id] = ch
	}
	close(ch)
}

func (e *env) url(path string) string { return e.srv.URL + path }

func (e *env) newRequest(ctx context.Context, method, path string, h H, body string) *http.Request {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.url(path), rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return req
}

// do sends one request and returns the response with its body read.
func (e *env) do(method, path string, h H, body string) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := e.client.Do(e.newRequest(context.Background(), method, path, h, body))
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// must sends a request and fails the test unless it gets want.
func (e *env) must(want int, method, path string, h H, body string) *http.Response {
	e.t.Helper()
	resp, b := e.do(method, path, h, body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %q", method, path, resp.StatusCode, want, b)
	}
	return resp
}

// readAll reads a stream from the start with catch-up GETs.
func (e *env) readAll(path string) string {
	e.t.Helper()
	return e.readAllWith(path, nil)
}

// readAllWith is readAll sending extra headers (a token) on every GET.
func (e *env) readAllWith(path string, h H) string {
	e.t.Helper()
	var out strings.Builder
	next := "-1"
	for i := 0; i < 1000; i++ {
		resp, b := e.do(http.MethodGet, path+"?offset="+next, h, "")
		if resp.StatusCode != http.StatusOK {
			e.t.Fatalf("GET %s?offset=%s: status %d, body %q", path, next, resp.StatusCode, b)
		}
		out.Write(b)
		next = resp.Header.Get("Stream-Next-Offset")
		if resp.Header.Get("Stream-Up-To-Date") == "true" {
			return out.String()
		}
	}
	e.t.Fatalf("GET %s: never up to date", path)
	return ""
}

// tail returns the stream's Stream-Next-Offset from HEAD.
func (e *env) tail(path string) string {
	e.t.Helper()
	return e.must(http.StatusOK, http.MethodHead, path, nil, "").Header.Get("Stream-Next-Offset")
}

// ---- projects and tokens ----

// now is the handler's clock.
func (e *env) now() time.Time {
	if e.cfg.http.Now != nil {
		return e.cfg.http.Now()
	}
	return time.Now()
}

// project registers a project in the handler's registry with a fresh
// secret and the given CORS origins, and returns the secret.
func (e *env) project(name string, origins ...string) string {
	e.t.Helper()
	ctx := context.Background()
	secret := token.NewSecret()
	if _, err := e.reg.CreateProject(ctx, name, secret); err != nil {
		e.t.Fatalf("create project %s: %v", name, err)
	}
	for _, o := range origins {
		if _, err := e.reg.AddOrigin(ctx, name, o); err != nil {
			e.t.Fatalf("project %s: add origin %s: %v", name, o, err)
		}
	}
	return secret
}

// projectStep is project as a scenario setup step.
func projectStep(name string, origins ...string) step {
	return func(t *testing.T, e *env) {
		t.Helper()
		e.project(name, origins...)
	}
}

// mint signs a token with secret, valid for an hour from the handler's
// clock.
func (e *env) mint(secret, project string, scope token.Scope, streamID string) string {
	e.t.Helper()
	tok, _, err := token.Mint(secret, project, scope, streamID, time.Hour, e.now())
	if err != nil {
		e.t.Fatalf("mint: %v", err)
	}
	return tok
}

// token mints a token for project with its newest secret.
func (e *env) token(project string, scope token.Scope, streamID string) string {
	e.t.Helper()
	p, err := e.reg.Project(context.Background(), project)
	if err != nil {
		e.t.Fatalf("project %s: %v", project, err)
	}
	return e.mint(p.Secrets[0].Value, project, scope, streamID)
}

// auth is the Authorization header of a token for the whole project.
func (e *env) auth(project string, scope token.Scope) H {
	e.t.Helper()
	return bearer(e.token(project, scope, ""))
}

func bearer(tok string) H { return H{"Authorization": "Bearer " + tok} }

// rawRequest writes raw bytes on a new TCP connection to the server.
func (e *env) rawConn() *net.TCPConn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// waitFor waits for a handler (see awaitHandler) without timing it.
func waitFor(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(hangGuard):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitForWaiters blocks until at least n goroutines are parked in
// engine.(*Handle).Wait, i.e. n long-polls or SSE streams are waiting for
// data. Tests are not parallel and every env stops its waiters on cleanup,
// so the count belongs to the running test.
func waitForWaiters(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	buf := make([]byte, 1<<20)
	for {
		k := runtime.Stack(buf, true)
		if k == len(buf) {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if strings.Count(string(buf[:k]), "engine.(*Handle).Wait(") >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d reader(s) to wait for data", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- shared assertions ----

type errorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// checkCommon asserts what every response must carry, and for errors the
// JSON body, no-store, and no ETag.
func checkCommon(t testing.TB, method string, resp *http.Response, body []byte) {
	t.Helper()
	checkResponse(t, method, resp, body, true)
}

// checkResponse is checkCommon, optionally without the CORS check.
func checkResponse(t testing.TB, method string, resp *http.Response, body []byte, checkCORS bool) {
	t.Helper()
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	switch got := resp.Header.Get("Cross-Origin-Resource-Policy"); got {
	case "cross-origin", "same-origin", "same-site":
	default:
		t.Errorf("Cross-Origin-Resource-Policy = %q, want cross-origin, same-origin or same-site", got)
	}
	if checkCORS {
		checkProjectCORS(t, resp)
	}
	if resp.StatusCode < 400 {
		return
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("error Cache-Control = %q, want no-store", got)
	}
	if got := resp.Header.Get("ETag"); got != "" {
		t.Errorf("error has ETag %q", got)
	}
	if method == http.MethodHead {
		return
	}
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error == nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Errorf("error body %q is not {\"error\":{\"code\",\"message\"}} (err %v)", body, err)
	}
}

// namedProject returns the named project a request path addresses, or
// "" for the default project, /health and paths off the route table,
// which all keep the permissive CORS the conformance suite expects.
func namedProject(path string) string {
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok || addressesProject(rest) {
		return ""
	}
	project, after, ok := strings.Cut(rest, "/")
	if !ok || !addressesProject(after) || project == httpapi.DefaultProject {
		return ""
	}
	if project == "" {
		return "/" // invalid, but not the default project either
	}
	return project
}

func addressesProject(rest string) bool {
	return strings.HasPrefix(rest, "stream/") || rest == "streams" || strings.HasPrefix(rest, "streams/")
}

// checkProjectCORS asserts the CORS headers every response must have:
// "*" for the default project; for a named project never "*", and at
// most an exact echo of the request's Origin, with Vary: Origin. The CORS
// tests pin which origins named projects echo.
func checkProjectCORS(t testing.TB, resp *http.Response) {
	t.Helper()
	acao := resp.Header.Get("Access-Control-Allow-Origin")
	expose := resp.Header.Get("Access-Control-Expose-Headers")
	path, origin := "", ""
	if resp.Request != nil {
		path, origin = resp.Request.URL.Path, resp.Request.Header.Get("Origin")
	}
	if namedProject(path) == "" {
		if acao != "*" {
			t.Errorf("Access-Control-Allow-Origin = %q, want *", acao)
		}
		if !strings.Contains(expose, "Stream-Next-Offset") {
			t.Errorf("Access-Control-Expose-Headers = %q, want it to list Stream-Next-Offset", expose)
		}
		return
	}
	if acao == "" {
		return
	}
	if acao != origin {
		t.Errorf("named project %s: Access-Control-Allow-Origin = %q, want absent or the request's Origin %q", namedProject(path), acao, origin)
	}
	if !varyHas(resp.Header, "Origin") {
		t.Errorf("named project %s echoes an origin without Vary: Origin (Vary %q)", namedProject(path), resp.Header.Values("Vary"))
	}
	if !strings.Contains(expose, "Stream-Next-Offset") {
		t.Errorf("Access-Control-Expose-Headers = %q, want it to list Stream-Next-Offset", expose)
	}
}

// varyHas reports whether the Vary header lists name.
func varyHas(h http.Header, name string) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return true
			}
		}
	}
	return false
}

func errorCode(body []byte) string {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil || eb.Error == nil {
		return ""
	}
	return eb.Error.Code
}

// ---- scenario tables ----

// step is a setup action.
type step func(t *testing.T, e *env)

func steps(ss ...step) step {
	return func(t *testing.T, e *env) {
		t.Helper()
		for _, s := range ss {
			s(t, e)
		}
	}
}

func doStep(want int, method, path string, h H, body string) step {
	return func(t *testing.T, e *env) {
		t.Helper()
		e.must(want, method, path, h, body)
	}
}

// create PUTs a new stream; ct "" sends no Content-Type.
func create(path, ct, body string, extra ...H) step {
	return doStep(http.StatusCreated, http.MethodPut, path, merge(H{"Content-Type": ct}, extra...), body)
}

// appendTo POSTs data and expects want.
func appendTo(want int, path, ct, body string, extra ...H) step {
	return doStep(want, http.MethodPost, path, merge(H{"Content-Type": ct}, extra...), body)
}

func merge(base H, extra ...H) H {
	out := H{}
	for k, v := range base {
		if v != "" || k != "Content-Type" {
			out[k] = v
		}
	}
	for _, x := range extra {
		for k, v := range x {
			out[k] = v
		}
	}
	return out
}

func producer(id, epoch, seq string) H {
	return H{"Producer-Id": id, "Producer-Epoch": epoch, "Producer-Seq": seq}
}

// scenario is one request and what its response must look like
// (pocketbase's ApiScenario, trimmed).
type scenario struct {
	name    string
	opts    []option
	setup   step
	method  string
	path    string
	headers H
	body    string

	wantStatus      int
	wantHeaders     H // exact; "{base}" is replaced by the server URL
	absentHeaders   []string
	wantBody        *string
	bodyContains    []string
	bodyNotContains []string
	check           func(t *testing.T, e *env, resp *http.Response, body []byte)
}

func ptr[T any](v T) *T { return &v }

// run runs each scenario against a fresh server; store selects sqlite
// when true.
func runScenarios(t *testing.T, scenarios []scenario, extra ...option) {
	t.Helper()
	seen := map[string]bool{}
	for _, sc := range scenarios {
		if seen[sc.name] {
			t.Fatalf("duplicate scenario name %q", sc.name)
		}
		seen[sc.name] = true
		t.Run(sc.name, func(t *testing.T) {
			e := newEnv(t, append(append([]option{}, extra...), sc.opts...)...)
			if sc.setup != nil {
				sc.setup(t, e)
			}
			resp, body := e.do(sc.method, sc.path, sc.headers, sc.body)
			if resp.StatusCode != sc.wantStatus {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, sc.wantStatus, body)
			}
			checkResponse(t, sc.method, resp, body, true)
			for k, want := range sc.wantHeaders {
				want = strings.ReplaceAll(want, "{base}", e.srv.URL)
				if got, ok := resp.Header[http.CanonicalHeaderKey(k)]; !ok || len(got) != 1 || got[0] != want {
					t.Errorf("header %s = %q, want exactly %q", k, got, want)
				}
			}
			for _, k := range sc.absentHeaders {
				if got, ok := resp.Header[http.CanonicalHeaderKey(k)]; ok {
					t.Errorf("header %s = %q, want it absent", k, got)
				}
			}
			if sc.wantBody != nil && string(body) != *sc.wantBody {
				t.Errorf("body %q, want %q", body, *sc.wantBody)
			}
			for _, s := range sc.bodyContains {
				if !bytes.Contains(body, []byte(s)) {
					t.Errorf("body %q does not contain %q", body, s)
				}
			}
			for _, s := range sc.bodyNotContains {
				if bytes.Contains(body, []byte(s)) {
					t.Errorf("body %q contains %q", body, s)
				}
			}
			if sc.check != nil {
				sc.check(t, e, resp, body)
			}
		})
	}
}

// ---- SSE ----

type sseEvent struct {
	Type string
	Data []string // the data lines, "data:" removed
}

func (ev sseEvent) data() string { return strings.Join(ev.Data, "\n") }

// sseStream reads a text/event-stream body line by line.
type sseStream struct {
	t      testing.TB
	resp   *http.Response
	events chan sseEvent

	mu  sync.Mutex
	raw bytes.Buffer
}

// openSSE starts a GET and returns its response and event reader. The
// request lives until the server ends it or the test ends.
func (e *env) openSSE(t testing.TB, pathAndQuery string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req := e.newRequest(ctx, http.MethodGet, pathAndQuery, nil, "")
	client := &http.Client{Transport: e.client.Transport} // no Timeout: it would cut the body
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", pathAndQuery, err)
	}
	s := &sseStream{t: t, resp: resp, events: make(chan sseEvent, 64)}
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: status %d, body %q", pathAndQuery, resp.StatusCode, b)
	}
	go s.readLoop()
	return s
}

func (s *sseStream) readLoop() {
	defer close(s.events)
	br := bufio.NewReader(s.resp.Body)
	var ev sseEvent
	var have bool
	for {
		line, err := br.ReadString('\n')
		s.mu.Lock()
		s.raw.WriteString(line)
		s.mu.Unlock()
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if have {
				s.events <- ev
			}
			ev, have = sseEvent{}, false
		case strings.HasPrefix(line, "event:"):
			ev.Type = strings.TrimPrefix(strings.TrimPrefix(line, "event:"), " ")
			have = true
		case strings.HasPrefix(line, "data:"):
			ev.Data = append(ev.Data, strings.TrimPrefix(line, "data:"))
			have = true
		}
	}
}

// next returns the next event, or ok=false once the server has ended the
// response.
func (s *sseStream) next() (ev sseEvent, ok bool) {
	s.t.Helper()
	select {
	case ev, ok = <-s.events:
		return ev, ok
	case <-time.After(hangGuard):
		s.t.Fatalf("timed out waiting for an SSE event")
		return sseEvent{}, false
	}
}

// mustNext returns the next event and fails when the stream ended.
func (s *sseStream) mustNext() sseEvent {
	s.t.Helper()
	ev, ok := s.next()
	if !ok {
		s.t.Fatalf("SSE response ended; raw so far %q", s.rawText())
	}
	return ev
}

// nextData skips idle control events and returns the next data event.
func (s *sseStream) nextData() sseEvent {
	s.t.Helper()
	for {
		ev := s.mustNext()
		if ev.Type == "data" {
			return ev
		}
	}
}

// waitEnd collects events until the server ends the response. The hang
// guard bounds the whole wait, so a server that keeps sending (idle
// control events, say) but never ends the response fails the test.
func (s *sseStream) waitEnd() []sseEvent {
	s.t.Helper()
	var evs []sseEvent
	deadline := time.After(hangGuard)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-deadline:
			s.t.Fatalf("the SSE response did not end (%d events meanwhile)", len(evs))
			return evs
		}
	}
}

func (s *sseStream) rawText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// control decodes a control event's JSON.
func control(t testing.TB, ev sseEvent) map[string]any {
	t.Helper()
	if ev.Type != "control" {
		t.Fatalf("event type %q, want control (data %q)", ev.Type, ev.Data)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(ev.data()), &m); err != nil {
		t.Fatalf("control data %q is not JSON: %v", ev.data(), err)
	}
	return m
}
