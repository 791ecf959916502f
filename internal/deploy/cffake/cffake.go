// Package cffake is an in-process fake of the part of the Cloudflare v4 REST
// API that dsctl's deploy code reaches through cloudflare-go, so deploy tests
// run against real SDK calls without an account or a network.
//
// It answers like the real API where dsctl can tell the difference: the same
// envelope, status codes, error codes and pagination, and the upload rules
// (modules, bindings, Durable Object migration tags) that make real deploys
// fail.
package cffake

import (
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Defaults used when Options leaves a field empty.
const (
	DefaultToken     = "test-token"
	DefaultAccountID = "0123456789abcdef0123456789abcdef"
	DefaultSubdomain = "dsctl-test"
)

// apiPrefix is where the v4 API lives on the real host too, so clients keep
// their path layout.
const apiPrefix = "/client/v4"

// Options configures a Server.
type Options struct {
	Token     string    // the only accepted API token (Authorization: Bearer <Token>); default DefaultToken
	Accounts  []Account // default: one account {DefaultAccountID, "Test Account"}
	Subdomain string    // every account's workers.dev subdomain; default DefaultSubdomain; "-" = none yet
	// AccountOwnedToken makes the token an account API token: it verifies
	// only at /accounts/{id}/tokens/verify, and /user/tokens/verify calls
	// it invalid, as the real API does.
	AccountOwnedToken bool
}

// Account is an account the token can see.
type Account struct{ ID, Name string }

// Server is a running fake. All methods are safe for concurrent use.
type Server struct {
	srv          *httptest.Server
	token        string
	accountToken bool

	mu       sync.Mutex
	accounts []*account // in Options order, which is the list order
	byID     map[string]*account
	log      []Request
	failures []failure
	seq      int // makes ids unique when a name is reused
}

type account struct {
	Account
	created    time.Time
	subdomain  string
	buckets    map[string]*bucket
	namespaces []*namespace // in creation order
	scripts    map[string]*script
}

// New starts a fake on a loopback port; it is closed when the test ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.Accounts == nil {
		o.Accounts = []Account{{ID: DefaultAccountID, Name: "Test Account"}}
	}
	switch o.Subdomain {
	case "":
		o.Subdomain = DefaultSubdomain
	case "-":
		o.Subdomain = ""
	}
	s := &Server{token: o.Token, accountToken: o.AccountOwnedToken, byID: map[string]*account{}}
	now := time.Now().UTC()
	for _, a := range o.Accounts {
		acct := &account{
			Account:   a,
			created:   now,
			subdomain: o.Subdomain,
			buckets:   map[string]*bucket{},
			scripts:   map[string]*script{},
		}
		s.accounts = append(s.accounts, acct)
		s.byID[a.ID] = acct
	}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the API base, what CLOUDFLARE_API_BASE_URL is set to.
func (s *Server) URL() string { return s.srv.URL + apiPrefix }

// account looks an id up; the caller holds s.mu.
func (s *Server) account(id string) *account {
	return s.byID[id]
}
