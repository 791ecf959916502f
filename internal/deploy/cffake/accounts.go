package cffake

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// hexID derives a stable 32-hex-digit id, the shape of Cloudflare ids, so
// runs are reproducible.
func hexID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// paginate bounds page and per_page the way the real API does (per_page
// clamped to [5, maxPer]) and returns the slice bounds of an n-item list.
func (c *call) paginate(n, defPer, maxPer int) (lo, hi int, info pageInfo) {
	q := c.r.URL.Query()
	pg, err := strconv.Atoi(q.Get("page"))
	if err != nil || pg < 1 {
		pg = 1
	}
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil {
		per = defPer
	}
	per = min(max(per, 5), maxPer)
	lo = min((pg-1)*per, n)
	hi = min(lo+per, n)
	return lo, hi, pageInfo{Page: pg, PerPage: per, Count: hi - lo, TotalCount: n, TotalPages: (n + per - 1) / per}
}

func (s *Server) verifyToken(c *call) {
	c.ok(map[string]any{"id": hexID("token", s.token), "status": "active"})
}

// verifyAccountToken answers for account-owned tokens only, as the real
// endpoint does for its own account's tokens.
func (s *Server) verifyAccountToken(c *call) {
	if !s.accountToken {
		c.fail(http.StatusUnauthorized, 1000, "Invalid API Token")
		return
	}
	c.ok(map[string]any{"id": hexID("token", s.token), "status": "active"})
}

func accountJSON(a *account) map[string]any {
	return map[string]any{
		"id":         a.ID,
		"name":       a.Name,
		"type":       "standard",
		"settings":   map[string]any{"enforce_twofactor": false},
		"created_on": stamp(a.created),
	}
}

func (s *Server) listAccounts(c *call) {
	lo, hi, info := c.paginate(len(s.accounts), 20, 50)
	out := []map[string]any{}
	for _, a := range s.accounts[lo:hi] {
		out = append(out, accountJSON(a))
	}
	c.list(out, info)
}

func (s *Server) getAccount(c *call) { c.ok(accountJSON(c.acct)) }

func (s *Server) getSubdomain(c *call) {
	if c.acct.subdomain == "" {
		c.fail(http.StatusNotFound, 10007, "This account does not have a workers.dev subdomain. Please register one.")
		return
	}
	c.ok(map[string]string{"subdomain": c.acct.subdomain})
}

func (s *Server) putSubdomain(c *call) {
	var in struct {
		Subdomain string `json:"subdomain"`
	}
	if !c.decode(&in) {
		return
	}
	if !validSubdomain(in.Subdomain) {
		c.fail(http.StatusBadRequest, 10033, "The subdomain %q is not valid.", in.Subdomain)
		return
	}
	c.acct.subdomain = in.Subdomain
	c.ok(map[string]string{"subdomain": in.Subdomain})
}

// validSubdomain is a DNS label: lowercase letters, digits and inner hyphens.
func validSubdomain(name string) bool {
	if name == "" || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}
