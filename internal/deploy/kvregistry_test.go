package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/option"

	"github.com/dsctl/dsctl/internal/deploy/cffake"
	"github.com/dsctl/dsctl/internal/registry"
)

const (
	acct    = cffake.DefaultAccountID
	secret1 = "0123456789abcdef-one"
	secret2 = "0123456789abcdef-two"
	// valuesPattern is every KV value route, for Fail.
	valuesPattern = "/accounts/*/storage/kv/namespaces/*/values/*"
)

var ctx = context.Background()

// newAPI points an API at the fake; extra options come after NewAPI's own.
func newAPI(fake *cffake.Server, extra ...option.RequestOption) *API {
	return NewAPI(cffake.DefaultToken, fake.URL(), extra...)
}

// kvFixture is a registry over a namespace created through the API.
type kvFixture struct {
	fake *cffake.Server
	reg  *KVRegistry
	ns   string
	now  time.Time
}

func newKVFixture(t *testing.T, extra ...option.RequestOption) *kvFixture {
	t.Helper()
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake, extra...)
	ns, err := api.CreateNamespace(ctx, acct, DefaultKVTitle)
	if err != nil {
		t.Fatal(err)
	}
	f := &kvFixture{fake: fake, ns: ns.ID, now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	f.reg = &KVRegistry{API: api, AccountID: acct, Namespace: ns.ID, Now: func() time.Time { return f.now }}
	return f
}

// raw decodes the stored value the way the workers see it.
func (f *kvFixture) raw(t *testing.T, name string) map[string]json.RawMessage {
	t.Helper()
	b, ok := f.fake.KV(acct, f.ns, name)
	if !ok {
		t.Fatalf("no KV value %s", name)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("KV value %s: %v (%s)", name, err, b)
	}
	return m
}

// wantWorkerView checks the two arrays the workers read.
func (f *kvFixture) wantWorkerView(t *testing.T, name string, secrets, origins []string) {
	t.Helper()
	m := f.raw(t, name)
	for field, want := range map[string][]string{"signingSecrets": secrets, "corsOrigins": origins} {
		// Arrays, never null: the worker ignores anything else.
		var got []string
		if !strings.HasPrefix(string(m[field]), "[") || json.Unmarshal(m[field], &got) != nil || !slices.Equal(got, want) {
			t.Errorf("%s.%s = %s, want %q", name, field, m[field], want)
		}
	}
}

func TestKVRegistryCreateAndRead(t *testing.T) {
	f := newKVFixture(t)
	p, err := f.reg.CreateProject(ctx, "alpha", secret1)
	if err != nil {
		t.Fatal(err)
	}
	if !p.CreatedAt.Equal(f.now) || len(p.Secrets) != 1 || !p.Secrets[0].CreatedAt.Equal(f.now) {
		t.Errorf("created %+v", p)
	}
	f.wantWorkerView(t, "alpha", []string{secret1}, []string{})
	m := f.raw(t, "alpha")
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"corsOrigins", "createdAt", "keysCreatedAt", "signingSecrets"}; !slices.Equal(keys, want) {
		t.Errorf("stored fields %v, want %v", keys, want)
	}

	got, err := f.reg.Project(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "alpha" || !slices.Equal(got.SecretValues(), []string{secret1}) ||
		got.CORSOrigins == nil || len(got.CORSOrigins) != 0 ||
		!got.CreatedAt.Equal(f.now) || !got.Secrets[0].CreatedAt.Equal(f.now) {
		t.Errorf("read back %+v", got)
	}

	if _, err := f.reg.CreateProject(ctx, "alpha", secret2); !errors.Is(err, registry.ErrExists) {
		t.Errorf("second create: err = %v, want ErrExists", err)
	}
	if _, err := f.reg.Project(ctx, "beta"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("missing project: err = %v, want ErrNotFound", err)
	}
}

func TestKVRegistryCreateValidatesFirst(t *testing.T) {
	f := newKVFixture(t)
	f.fake.ResetRequests()
	for _, tc := range []struct{ name, secret string }{
		{"stream", secret1},  // reserved
		{"a/b", secret1},     // would need escaping
		{"ok-name", "short"}, // secret too short
		{"", secret1},        // empty
		{"white space", secret1},
	} {
		if _, err := f.reg.CreateProject(ctx, tc.name, tc.secret); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("CreateProject(%q, %q): err = %v, want ErrInvalid", tc.name, tc.secret, err)
		}
	}
	if r := f.fake.Requests(); len(r) != 0 {
		t.Errorf("invalid input reached the API: %d requests", len(r))
	}
}

func TestKVRegistryProjects(t *testing.T) {
	f := newKVFixture(t)
	for _, name := range []string{"zeta", "alpha", "mid_1"} {
		if _, err := f.reg.CreateProject(ctx, name, secret1); err != nil {
			t.Fatal(err)
		}
	}
	// Keys that are no project's (other tools, or reserved names) are skipped,
	// even when their value is not a registry entry.
	for _, k := range []string{"stream", "config:x", "a/b", "has space"} {
		f.fake.PutKV(acct, f.ns, k, []byte("not json"))
	}
	ps, err := f.reg.Projects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
		if !slices.Equal(p.SecretValues(), []string{secret1}) {
			t.Errorf("%s secrets %v", p.Name, p.SecretValues())
		}
	}
	if want := []string{"alpha", "mid_1", "zeta"}; !slices.Equal(names, want) {
		t.Errorf("projects %v, want %v", names, want)
	}

	empty := newKVFixture(t)
	if ps, err := empty.reg.Projects(ctx); err != nil || len(ps) != 0 {
		t.Errorf("empty registry: %v, %v", ps, err)
	}
}

func TestKVRegistryEdits(t *testing.T) {
	f := newKVFixture(t)
	if _, err := f.reg.CreateProject(ctx, "alpha", secret1); err != nil {
		t.Fatal(err)
	}
	created := f.now
	f.now = f.now.Add(time.Hour)

	p, err := f.reg.AddSecret(ctx, "alpha", secret2)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: the workers try it first and sign with it.
	f.wantWorkerView(t, "alpha", []string{secret2, secret1}, []string{})
	got, err := f.reg.Project(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Secrets[0].CreatedAt.Equal(f.now) || !got.Secrets[1].CreatedAt.Equal(created) || !got.CreatedAt.Equal(created) {
		t.Errorf("key times %v / %v, project %v", got.Secrets[0].CreatedAt, got.Secrets[1].CreatedAt, got.CreatedAt)
	}

	if _, err := f.reg.AddOrigin(ctx, "alpha", "https://app.example/"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.AddOrigin(ctx, "alpha", "*"); err != nil {
		t.Fatal(err)
	}
	f.wantWorkerView(t, "alpha", []string{secret2, secret1}, []string{"https://app.example", "*"})

	if _, err := f.reg.RemoveSecret(ctx, "alpha", p.Secrets[1].ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.RemoveOrigin(ctx, "alpha", "https://app.example"); err != nil {
		t.Fatal(err)
	}
	f.wantWorkerView(t, "alpha", []string{secret2}, []string{"*"})
	got, err = f.reg.Project(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	// keysCreatedAt stays parallel to signingSecrets after a removal.
	if len(got.Secrets) != 1 || !got.Secrets[0].CreatedAt.Equal(f.now) {
		t.Errorf("after removal %+v", got.Secrets)
	}

	// Refused edits change nothing.
	writes := len(f.fake.Writes())
	for name, err := range map[string]error{
		"last key":        second(f.reg.RemoveSecret(ctx, "alpha", got.Secrets[0].ID())),
		"unknown key":     second(f.reg.RemoveSecret(ctx, "alpha", "deadbeef")),
		"bad origin":      second(f.reg.AddOrigin(ctx, "alpha", "ftp://x")),
		"absent origin":   second(f.reg.RemoveOrigin(ctx, "alpha", "https://nope.example")),
		"missing project": second(f.reg.AddOrigin(ctx, "beta", "https://app.example")),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := len(f.fake.Writes()); n != writes {
		t.Errorf("refused edits wrote %d times", n-writes)
	}
	f.wantWorkerView(t, "alpha", []string{secret2}, []string{"*"})
}

func second[T any](_ T, err error) error { return err }

func TestKVRegistryDelete(t *testing.T) {
	f := newKVFixture(t)
	if _, err := f.reg.CreateProject(ctx, "alpha", secret1); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.DeleteProject(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.fake.KV(acct, f.ns, "alpha"); ok {
		t.Error("value still in KV")
	}
	if _, err := f.reg.Project(ctx, "alpha"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("Project after delete: %v", err)
	}
	if err := f.reg.DeleteProject(ctx, "alpha"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestKVRegistryNotJSON(t *testing.T) {
	f := newKVFixture(t)
	f.fake.PutKV(acct, f.ns, "alpha", []byte("{signingSecrets"))
	_, err := f.reg.Project(ctx, "alpha")
	if err == nil || !strings.Contains(err.Error(), "registry entry alpha is not valid JSON") {
		t.Fatalf("err = %v", err)
	}
	// Listing does not paper over it either.
	if _, err := f.reg.Projects(ctx); err == nil {
		t.Error("Projects hid a broken entry")
	}
}

// afterWrite runs hook once, right after the first successful KV write or
// delete: what a concurrent writer or an API fault would do between the
// write and its read-back.
func afterWrite(hook func()) option.RequestOption {
	var once sync.Once
	return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		res, err := next(req)
		if err == nil && res.StatusCode == http.StatusOK && req.Method != http.MethodGet &&
			strings.Contains(req.URL.Path, "/storage/kv/namespaces/") && strings.Contains(req.URL.Path, "/values/") {
			once.Do(hook)
		}
		return res, err
	})
}

func TestKVRegistryReadBack(t *testing.T) {
	tests := []struct {
		name       string
		hook       func(f *kvFixture)
		wantReadBk bool // ErrReadBack, else the API's error
		wantStatus int
	}{
		{"read-back fails", func(f *kvFixture) { f.fake.Fail("GET", valuesPattern, 500, 10001, "storage unavailable") }, false, 500},
		{"missing after write", func(f *kvFixture) { f.fake.Fail("GET", valuesPattern, 404, 10009, "get: 'key not found'") }, true, 0},
		{"overwritten meanwhile", func(f *kvFixture) {
			f.fake.PutKV(acct, f.ns, "alpha", []byte(`{"signingSecrets":["someone-elses-secret"],"corsOrigins":[]}`))
		}, true, 0},
		{"other origins", func(f *kvFixture) {
			f.fake.PutKV(acct, f.ns, "alpha", []byte(`{"signingSecrets":["`+secret1+`"],"corsOrigins":["*"]}`))
		}, true, 0},
		{"garbled", func(f *kvFixture) { f.fake.PutKV(acct, f.ns, "alpha", []byte("<html>")) }, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *kvFixture
			f = newKVFixture(t, afterWrite(func() { tt.hook(f) }))
			_, err := f.reg.CreateProject(ctx, "alpha", secret1)
			if err == nil {
				t.Fatal("a write that did not read back succeeded")
			}
			if errors.Is(err, ErrReadBack) != tt.wantReadBk {
				t.Errorf("err = %v, ErrReadBack want %v", err, tt.wantReadBk)
			}
			if tt.wantStatus != 0 {
				if !IsStatus(err, tt.wantStatus) || !strings.HasPrefix(err.Error(), "read back alpha: ") {
					t.Errorf("err = %v, want the read-back's HTTP %d", err, tt.wantStatus)
				}
			}
		})
	}
}

func TestKVRegistryEditReadBack(t *testing.T) {
	f := newKVFixture(t)
	if _, err := f.reg.CreateProject(ctx, "alpha", secret1); err != nil {
		t.Fatal(err)
	}
	// From here on the edit's write is undone before its read-back.
	f.reg.API = newAPI(f.fake, afterWrite(func() {
		f.fake.PutKV(acct, f.ns, "alpha", []byte(`{"signingSecrets":["`+secret1+`"],"corsOrigins":[]}`))
	}))
	if _, err := f.reg.AddOrigin(ctx, "alpha", "https://app.example"); !errors.Is(err, ErrReadBack) {
		t.Fatalf("err = %v, want ErrReadBack", err)
	}
}

func TestKVRegistryDeleteReadBack(t *testing.T) {
	var f *kvFixture
	stored := []byte(`{"signingSecrets":["` + secret1 + `"],"corsOrigins":[]}`)
	f = newKVFixture(t, afterWrite(func() { f.fake.PutKV(acct, f.ns, "alpha", stored) }))
	// Planted directly, so the hook's one shot is the delete.
	f.fake.PutKV(acct, f.ns, "alpha", stored)
	err := f.reg.DeleteProject(ctx, "alpha")
	if !errors.Is(err, ErrReadBack) || !strings.Contains(err.Error(), "still there") {
		t.Fatalf("err = %v, want ErrReadBack", err)
	}
}
