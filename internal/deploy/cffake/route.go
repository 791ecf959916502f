package cffake

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// call is one request being answered.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	body []byte
	p    map[string]string // path parameters, decoded
	acct *account          // set when the route names an account
}

type handler func(s *Server, c *call)

// route is a path pattern: literal segments, ":name" for one segment, and a
// final "*name" for the rest of the path (KV key names may contain '/').
type route struct {
	pattern []string
	methods map[string]handler
}

func newRoute(pattern string, methods map[string]handler) route {
	return route{strings.Split(strings.TrimPrefix(pattern, "/"), "/"), methods}
}

var routes = []route{
	newRoute("/user/tokens/verify", map[string]handler{"GET": (*Server).verifyToken}),
	newRoute("/accounts/:account/tokens/verify", map[string]handler{"GET": (*Server).verifyAccountToken}),
	newRoute("/accounts", map[string]handler{"GET": (*Server).listAccounts}),
	newRoute("/accounts/:account", map[string]handler{"GET": (*Server).getAccount}),
	newRoute("/accounts/:account/workers/subdomain", map[string]handler{
		"GET": (*Server).getSubdomain, "PUT": (*Server).putSubdomain}),
	newRoute("/accounts/:account/r2/buckets", map[string]handler{
		"GET": (*Server).listBuckets, "POST": (*Server).createBucket}),
	newRoute("/accounts/:account/r2/buckets/:bucket", map[string]handler{
		"GET": (*Server).getBucket, "DELETE": (*Server).deleteBucket}),
	newRoute("/accounts/:account/storage/kv/namespaces", map[string]handler{
		"GET": (*Server).listNamespaces, "POST": (*Server).createNamespace}),
	newRoute("/accounts/:account/storage/kv/namespaces/:ns", map[string]handler{
		"GET": (*Server).getNamespace, "DELETE": (*Server).deleteNamespace}),
	newRoute("/accounts/:account/storage/kv/namespaces/:ns/keys", map[string]handler{
		"GET": (*Server).listKeys}),
	newRoute("/accounts/:account/storage/kv/namespaces/:ns/values/*key", map[string]handler{
		"GET": (*Server).getValue, "PUT": (*Server).putValue, "DELETE": (*Server).deleteValue}),
	newRoute("/accounts/:account/workers/scripts", map[string]handler{"GET": (*Server).listScripts}),
	newRoute("/accounts/:account/workers/scripts/:script", map[string]handler{
		"GET": (*Server).getScript, "PUT": (*Server).putScript, "DELETE": (*Server).deleteScript}),
	newRoute("/accounts/:account/workers/scripts/:script/subdomain", map[string]handler{
		"GET": (*Server).getScriptSubdomain, "POST": (*Server).postScriptSubdomain,
		"DELETE": (*Server).deleteScriptSubdomain}),
	newRoute("/accounts/:account/workers/scripts/:script/secrets", map[string]handler{
		"GET": (*Server).listSecrets, "PUT": (*Server).putSecret}),
	newRoute("/accounts/:account/workers/durable_objects/namespaces", map[string]handler{
		"GET": (*Server).listDONamespaces}),
}

// match finds the route for an escaped path (without the API prefix).
func match(escaped string) (route, map[string]string, bool) {
	segs := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for _, rt := range routes {
		if p, ok := rt.match(segs); ok {
			return rt, p, true
		}
	}
	return route{}, nil, false
}

func (rt route) match(segs []string) (map[string]string, bool) {
	p := map[string]string{}
	for i, pat := range rt.pattern {
		if rest, ok := strings.CutPrefix(pat, "*"); ok {
			tail := strings.Join(segs[min(i, len(segs)):], "/")
			if tail == "" {
				return nil, false
			}
			p[rest] = unescape(tail)
			return p, true
		}
		if i >= len(segs) || segs[i] == "" {
			return nil, false
		}
		if name, ok := strings.CutPrefix(pat, ":"); ok {
			p[name] = unescape(segs[i])
		} else if pat != segs[i] {
			return nil, false
		}
	}
	return p, len(segs) == len(rt.pattern)
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// ServeHTTP records the request, then checks the token, injected failures,
// the route, the method and the account, in that order.
func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	escaped, hasPrefix := strings.CutPrefix(req.URL.EscapedPath(), apiPrefix)
	decoded := strings.TrimPrefix(req.URL.Path, apiPrefix)
	s.record(Request{
		Method:  req.Method,
		Path:    decoded,
		RawPath: escaped,
		Query:   req.URL.Query(),
		Header:  req.Header.Clone(),
		Body:    bytes.Clone(body),
	})
	c := &call{w: w, r: req, body: body}
	if !hasPrefix {
		c.fail(http.StatusNotFound, 7003, "Could not route to %s, perhaps your object identifier is invalid?", req.URL.Path)
		return
	}
	userVerify := decoded == "/user/tokens/verify"
	if !s.authorized(req) || (userVerify && s.accountToken) {
		if userVerify {
			c.fail(http.StatusUnauthorized, 1000, "Invalid API Token")
		} else {
			c.fail(http.StatusUnauthorized, 10000, "Authentication error")
		}
		return
	}
	if f, ok := s.failureFor(req.Method, decoded); ok {
		w.Header().Set("Retry-After-Ms", "0")
		c.fail(f.status, f.code, "%s", f.message)
		return
	}
	rt, params, ok := match(escaped)
	if !ok {
		c.fail(http.StatusNotFound, 7003, "Could not route to %s, perhaps your object identifier is invalid?", req.URL.Path)
		return
	}
	h, ok := rt.methods[req.Method]
	if !ok {
		c.fail(http.StatusMethodNotAllowed, 10405, "Method %s not allowed for this route", req.Method)
		return
	}
	c.p = params
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, named := params["account"]; named {
		if c.acct = s.account(id); c.acct == nil {
			c.fail(http.StatusForbidden, 9109, "Unauthorized to access requested resource")
			return
		}
	}
	h(s, c)
}

func (s *Server) authorized(req *http.Request) bool {
	scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && tok == s.token
}
