package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

// Auth failures. 401: who you are is unknown or unproven; 403: known, but
// not allowed this.
var (
	errUnknownProject   = &apiError{http.StatusUnauthorized, "UNAUTHORIZED", "unknown project"}
	errNoToken          = &apiError{http.StatusUnauthorized, "UNAUTHORIZED", "missing bearer token: send Authorization: Bearer <token> (dsctl token --project <name>)"}
	errBadToken         = &apiError{http.StatusUnauthorized, "UNAUTHORIZED", "invalid token"}
	errExpiredToken     = &apiError{http.StatusUnauthorized, "TOKEN_EXPIRED", "token expired"}
	errWrongProject     = &apiError{http.StatusForbidden, "FORBIDDEN", "token is for another project"}
	errNeedWrite        = &apiError{http.StatusForbidden, "FORBIDDEN", "token scope does not allow writes: it needs write or manage"}
	errNeedManage       = &apiError{http.StatusForbidden, "FORBIDDEN", "token scope does not allow this: it needs manage"}
	errWrongStream      = &apiError{http.StatusForbidden, "FORBIDDEN", "token is restricted to another stream"}
	errCrossProjectFork = &apiError{http.StatusForbidden, "FORBIDDEN", "Stream-Forked-From must name a stream of the same project"}
)

// needs maps a route's access to the token scope it requires.
func (a access) needs() token.Scope {
	switch a {
	case accessWrite:
		return token.ScopeWrite
	case accessManage:
		return token.ScopeManage
	}
	return token.ScopeRead
}

// open reports whether requests to the project skip authentication: the
// default project does, unless the server runs with --auth.
func (h *Handler) open(project string) bool {
	return project == DefaultProject && !h.opts.AuthDefault
}

// lookupProject loads the project a target addresses; nil when it needs
// no registry entry (an open default project, or /health).
func (h *Handler) lookupProject(r *http.Request, t target) (*registry.Project, error) {
	if t.project == "" || h.open(t.project) {
		return nil, nil
	}
	p, err := h.reg.Project(r.Context(), t.project)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, errUnknownProject
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// authorize decides from the matched route whether the request may go on.
func (h *Handler) authorize(r *http.Request, t target, rt *route, p *registry.Project) error {
	if rt.access == accessPublic || p == nil {
		return nil
	}
	// A public stream is readable by anyone; writes still need a token.
	if rt.access == accessRead && t.kind == targetStream {
		if hdl, err := h.eng.Stream(t.key); err == nil {
			if in, err := hdl.Info(); err == nil && in.Public {
				return nil
			}
		}
	}
	raw, ok := bearer(r)
	if !ok {
		return errNoToken
	}
	c, err := token.Verify(raw, p.SecretValues(), h.opts.Now())
	switch {
	case errors.Is(err, token.ErrExpired):
		return errExpiredToken
	case err != nil:
		return errBadToken
	}
	if c.Subject != t.project {
		return errWrongProject
	}
	if !c.Scope.Allows(rt.access.needs()) {
		if rt.access == accessManage {
			return errNeedManage
		}
		return errNeedWrite
	}
	if c.StreamID != "" {
		// A stream-restricted token works on its stream's routes only
		// (publishing to it included), not on sessions or listings.
		if (t.kind != targetStream && t.kind != targetPublish) || c.StreamID != t.key.Name {
			return errWrongStream
		}
		// A fork reads its source's data: the source must be the token's
		// stream too.
		if from := r.Header.Get("Stream-Forked-From"); from != "" && r.Method == http.MethodPut {
			if src, err := parseStreamPath(from); err != nil || src.Name != c.StreamID {
				return errWrongStream
			}
		}
	}
	return nil
}

// bearer extracts the token from "Authorization: Bearer <token>".
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// setCORS applies the project's CORS policy: permissive for the open
// default project and /health (what the conformance suite expects); for
// named projects only an allowed Origin is echoed, and nothing is sent
// otherwise.
func (h *Handler) setCORS(hd http.Header, r *http.Request, t target, p *registry.Project) {
	if t.project == "" || t.project == DefaultProject {
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		return
	}
	hd.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if p == nil || !p.AllowsOrigin(origin) {
		return
	}
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Expose-Headers", corsExposeHeaders)
}
