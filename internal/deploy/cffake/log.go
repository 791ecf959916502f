package cffake

import (
	"net/http"
	"net/url"
	"path"
	"slices"
)

// Request is one request as the fake received it, rejected ones included.
type Request struct {
	Method, Path string // Path is decoded and without /client/v4, e.g. "/accounts/ID/workers/scripts/foo"
	RawPath      string // Path as sent, still escaped (KV key names keep their %2F here)
	Query        url.Values
	Header       http.Header
	Body         []byte
}

type failure struct {
	method, pattern string
	status, code    int
	message         string
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r)
}

// Requests reports every request so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetRequests forgets the requests so far, e.g. between two runs of a command.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Writes reports the requests that could change state (any method but GET,
// HEAD and OPTIONS, whatever the answer was), handy for "a second run
// creates nothing".
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Requests() {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			out = append(out, r)
		}
	}
	return out
}

// Fail makes every authenticated request whose method matches ("" or "*"
// match any) and whose path matches pattern (path.Match syntax over Path,
// e.g. "/accounts/*/workers/scripts/durable-streams-subscriptions") answer
// status with errors [{code, message}] until ClearFailures. Sticky on purpose:
// the SDK retries 5xx, 409 and 429. Injected answers carry Retry-After-Ms: 0 so
// those retries do not sleep; the real API sends no such header.
func (s *Server) Fail(method, pattern string, status, code int, message string) {
	if _, err := path.Match(pattern, ""); err != nil {
		panic("cffake: bad Fail pattern " + pattern + ": " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{method, pattern, status, code, message})
}

// ClearFailures removes every failure Fail added.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = nil
}

func (s *Server) failureFor(method, p string) (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.failures {
		if f.method != "" && f.method != "*" && f.method != method {
			continue
		}
		if ok, _ := path.Match(f.pattern, p); ok {
			return f, true
		}
	}
	return failure{}, false
}
