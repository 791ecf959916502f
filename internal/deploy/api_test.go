package deploy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6/option"

	"github.com/dsctl/dsctl/internal/deploy/cffake"
)

func TestAPIErrorMessage(t *testing.T) {
	tests := []struct {
		err  *APIError
		want string
	}{
		{&APIError{Status: 400, Code: 10021, Message: "bad metadata"}, "Cloudflare API error 10021: bad metadata (HTTP 400)"},
		{&APIError{Status: 502}, "Cloudflare API: HTTP 502 Bad Gateway"},
		{&APIError{Err: errors.New("dial tcp: refused")}, "dial tcp: refused"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestAPIErrorFromFake(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	fake.Fail("GET", "/accounts/*/r2/buckets/*", 403, 10042, "Please enable R2 through the Cloudflare Dashboard.")
	_, err := newAPI(fake).BucketExists(ctx, acct, "b-1")
	if want := "Cloudflare API error 10042: Please enable R2 through the Cloudflare Dashboard. (HTTP 403)"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Code != 10042 || ae.Err == nil {
		t.Errorf("APIError %+v", ae)
	}
	if !IsStatus(err, 403) || IsStatus(err, 404) || IsUnauthorized(err) {
		t.Errorf("IsStatus(403) %v, IsStatus(404) %v, IsUnauthorized %v", IsStatus(err, 403), IsStatus(err, 404), IsUnauthorized(err))
	}
}

func TestIsUnauthorized(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&APIError{Status: 401, Code: 1000}, true},
		{&APIError{Status: 401}, true},
		{&APIError{Status: 403, Code: 10000}, true},
		{&APIError{Status: 403, Code: 9109}, true},
		{fmt.Errorf("list workers: %w", &APIError{Status: 401}), true},
		// Forbidden for another reason: the token is fine, the feature is not.
		{&APIError{Status: 403, Code: 10042}, false},
		{&APIError{Status: 404, Code: 10000}, false},
		{&APIError{Err: errors.New("refused")}, false},
		{errors.New("401"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsUnauthorized(tt.err); got != tt.want {
			t.Errorf("IsUnauthorized(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestVerifyToken(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	if err := newAPI(fake).VerifyToken(ctx); err != nil {
		t.Fatalf("good token: %v", err)
	}
	bad := NewAPI("wrong-token", fake.URL())
	err := bad.VerifyToken(ctx)
	if !IsUnauthorized(err) || !strings.Contains(err.Error(), "Invalid API Token") {
		t.Errorf("bad token: err = %v, want unauthorized", err)
	}
	// Any other call with the bad token is refused the same way.
	if _, err := bad.Scripts(ctx, acct); !IsUnauthorized(err) {
		t.Errorf("Scripts with a bad token: err = %v", err)
	}
}

func TestAccounts(t *testing.T) {
	// More than one page of the fake's default 20.
	var accts []cffake.Account
	for i := range 25 {
		accts = append(accts, cffake.Account{ID: fmt.Sprintf("%032x", i+1), Name: "Account " + strconv.Itoa(i+1)})
	}
	fake := cffake.New(t, cffake.Options{Accounts: accts})
	got, err := newAPI(fake).Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(accts) {
		t.Fatalf("%d accounts, want %d", len(got), len(accts))
	}
	for i, a := range got {
		if a.ID != accts[i].ID || a.Name != accts[i].Name {
			t.Errorf("account %d = %+v, want %+v", i, a, accts[i])
		}
	}
}

func TestWorkersSubdomain(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	if sub, err := newAPI(fake).WorkersSubdomain(ctx, acct); err != nil || sub != cffake.DefaultSubdomain {
		t.Errorf("subdomain %q, %v", sub, err)
	}

	none := cffake.New(t, cffake.Options{Subdomain: "-"})
	api := newAPI(none)
	if sub, err := api.WorkersSubdomain(ctx, acct); err != nil || sub != "" {
		t.Errorf("no subdomain yet: %q, %v; want \"\", nil", sub, err)
	}
	if err := api.SetWorkersSubdomain(ctx, acct, "mine"); err != nil {
		t.Fatal(err)
	}
	if sub, err := api.WorkersSubdomain(ctx, acct); err != nil || sub != "mine" {
		t.Errorf("after registering: %q, %v", sub, err)
	}
	// An account the token cannot see is an error, not "no subdomain".
	if _, err := api.WorkersSubdomain(ctx, "ffffffffffffffffffffffffffffffff"); err == nil {
		t.Error("unknown account: no error")
	}
}

func TestFindNamespacePaging(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	for i := range 130 {
		fake.AddNamespace(acct, fmt.Sprintf("other-%03d", i))
	}
	api := newAPI(fake)
	created, err := api.CreateNamespace(ctx, acct, "wanted")
	if err != nil {
		t.Fatal(err)
	}
	fake.ResetRequests()
	ns, err := api.FindNamespace(ctx, acct, "wanted")
	if err != nil {
		t.Fatal(err)
	}
	if ns == nil || ns.ID != created.ID || ns.Title != "wanted" {
		t.Fatalf("found %+v, want %+v", ns, created)
	}
	var pages []string
	for _, r := range fake.Requests() {
		pages = append(pages, r.Query.Get("page"))
	}
	if len(pages) < 2 {
		t.Errorf("found on page 2 with %d list requests (pages %v)", len(pages), pages)
	}

	// A title on no page: every page read, then nil without an error.
	ns, err = api.FindNamespace(ctx, acct, "absent")
	if err != nil || ns != nil {
		t.Errorf("absent title: %+v, %v", ns, err)
	}
	if _, err := api.CreateNamespace(ctx, acct, "wanted"); err == nil {
		t.Error("a duplicate title was created")
	}
}

func TestBuckets(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake)
	if ok, err := api.BucketExists(ctx, acct, "segs"); err != nil || ok {
		t.Fatalf("before: %v, %v", ok, err)
	}
	if err := api.CreateBucket(ctx, acct, "segs"); err != nil {
		t.Fatal(err)
	}
	if ok, err := api.BucketExists(ctx, acct, "segs"); err != nil || !ok {
		t.Fatalf("after: %v, %v", ok, err)
	}
	if got := fake.Buckets(acct); !slices.Equal(got, []string{"segs"}) {
		t.Errorf("buckets %v", got)
	}
	if err := api.DeleteBucket(ctx, acct, "segs"); err != nil {
		t.Fatal(err)
	}
	if ok, err := api.BucketExists(ctx, acct, "segs"); err != nil || ok {
		t.Errorf("after delete: %v, %v", ok, err)
	}
}

// closedURL is an http base URL on a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestTransportError(t *testing.T) {
	// No retries: the SDK waits seconds between attempts at a dead host.
	api := NewAPI(cffake.DefaultToken, closedURL(t)+"/client/v4", option.WithMaxRetries(0))
	err := api.VerifyToken(ctx)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 0 {
		t.Fatalf("err = %#v, want an *APIError with Status 0", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("err = %v does not unwrap to a *url.Error", err)
	}
	if err.Error() != ae.Err.Error() || IsUnauthorized(err) {
		t.Errorf("message %q, IsUnauthorized %v", err, IsUnauthorized(err))
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		status, want int
	}{
		{500, 3}, // NewAPI's two retries
		{503, 3},
		{429, 3},
		{409, 3},
		{400, 1},
		{403, 1},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			fake := cffake.New(t, cffake.Options{})
			fake.Fail("GET", "/accounts/*/workers/scripts", tt.status, 10013, "injected")
			_, err := newAPI(fake).Scripts(ctx, acct)
			if !IsStatus(err, tt.status) {
				t.Fatalf("err = %v, want HTTP %d", err, tt.status)
			}
			if n := len(fake.Requests()); n != tt.want {
				t.Errorf("%d requests, want %d", n, tt.want)
			}
		})
	}
}

func TestRetriedUploadResendsBody(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	fake.Fail("PUT", "/accounts/*/workers/scripts/w", 500, 10013, "injected")
	cfg, err := ParseWorkerConfig(WranglerFile, []byte(minimalConfig))
	if err != nil {
		t.Fatal(err)
	}
	mods := []Module{{Name: "worker.js", ContentType: "application/javascript+module", Body: []byte("export default {}")}}
	if _, err := newAPI(fake).UploadScript(ctx, acct, "w", cfg.UploadMetadata(nil), mods); !IsStatus(err, 500) {
		t.Fatalf("err = %v", err)
	}
	reqs := fake.Writes()
	if len(reqs) != 3 {
		t.Fatalf("%d uploads, want 3", len(reqs))
	}
	for i, r := range reqs[1:] {
		if len(r.Body) == 0 || string(r.Body) != string(reqs[0].Body) {
			t.Errorf("retry %d sent a different body (%d bytes, first %d)", i+1, len(r.Body), len(reqs[0].Body))
		}
	}
}

func TestKVValues(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake)
	ns := fake.AddNamespace(acct, "values")
	// The SDK puts the key into the path as it is, so the wrapper escapes
	// it: the value must land under exactly this key, where a worker's
	// env.REGISTRY.get(key) finds it.
	keys := []string{"plain", "a/b:c", "with space", "q?x#y", "100%", "a//b", "ünïcode", "x+y&z=1"}
	for _, k := range keys {
		val := []byte("value of " + k)
		if err := api.PutValue(ctx, acct, ns.ID, k, val); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
		if b, ok := fake.KV(acct, ns.ID, k); !ok || string(b) != string(val) {
			t.Errorf("put %q: stored %q under it (found %v)", k, b, ok)
		}
		b, ok, err := api.GetValue(ctx, acct, ns.ID, k)
		if err != nil || !ok || string(b) != string(val) {
			t.Errorf("get %q: %q, %v, %v", k, b, ok, err)
		}
	}
	got, err := api.Keys(ctx, acct, ns.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Errorf("keys %q, want %q", got, want)
	}
	for _, k := range keys {
		if err := api.DeleteValue(ctx, acct, ns.ID, k); err != nil {
			t.Errorf("delete %q: %v", k, err)
		}
		if _, ok := fake.KV(acct, ns.ID, k); ok {
			t.Errorf("delete %q left the value", k)
		}
	}
}

func TestKVMissing(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake)
	ns := fake.AddNamespace(acct, "values")
	if b, ok, err := api.GetValue(ctx, acct, ns.ID, "nope"); err != nil || ok || b != nil {
		t.Errorf("missing key: %q, %v, %v; want not found", b, ok, err)
	}
	if err := api.DeleteValue(ctx, acct, ns.ID, "nope"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	// A missing namespace is 404 too, but an error: "no such project"
	// would be the wrong answer when the whole registry is gone.
	if err := api.DeleteNamespace(ctx, acct, ns.ID); err != nil {
		t.Fatal(err)
	}
	_, ok, err := api.GetValue(ctx, acct, ns.ID, "nope")
	if err == nil || ok || !IsStatus(err, 404) {
		t.Errorf("missing namespace: %v, %v; want a 404 error", ok, err)
	}
	if _, err := api.Keys(ctx, acct, ns.ID); !IsStatus(err, 404) {
		t.Errorf("keys of a missing namespace: %v", err)
	}
}

func TestScriptLifecycle(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake)
	kv := fake.AddNamespace(acct, "reg")
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		WranglerFile: minimalConfig + `
[vars]
EMPTY = ""
LIMITS = { rows = 10 }

[[durable_objects.bindings]]
name = "STREAMS"
class_name = "StreamDO"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["StreamDO"]

[[kv_namespaces]]
binding = "REGISTRY"
id = "` + kv.ID + `"
`,
		"worker.js":   `import "./lib/util.js"; export default {}`,
		"lib/util.js": "export const u = 1",
		"add.wasm":    "\x00asm",
	})
	cfg, mods, err := LoadWorker(dir)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := cfg.PendingMigrations("")
	if err != nil {
		t.Fatal(err)
	}
	tag, err := api.UploadScript(ctx, acct, "w", cfg.UploadMetadata(mp), mods)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if tag != "v1" {
		t.Errorf("migration tag %q, want v1", tag)
	}
	sc, ok := fake.Script(acct, "w")
	if !ok {
		t.Fatal("not uploaded")
	}
	for name, ct := range map[string]string{"worker.js": "application/javascript+module", "lib/util.js": "application/javascript+module", "add.wasm": "application/wasm"} {
		if m, ok := sc.Modules[name]; !ok || m.ContentType != ct {
			t.Errorf("module %s: %+v (present %v)", name, m, ok)
		}
	}
	if sc.Metadata["main_module"] != "worker.js" {
		t.Errorf("main_module %v", sc.Metadata["main_module"])
	}

	scripts, err := api.Scripts(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if s := scripts["w"]; s.MigrationTag != "v1" || s.ModifiedOn.IsZero() {
		t.Errorf("listed %+v", s)
	}
	if on, err := api.WorkersDevEnabled(ctx, acct, "w"); err != nil || on {
		t.Errorf("workers.dev before enabling: %v, %v", on, err)
	}
	if err := api.EnableWorkersDev(ctx, acct, "w"); err != nil {
		t.Fatal(err)
	}
	if on, err := api.WorkersDevEnabled(ctx, acct, "w"); err != nil || !on {
		t.Errorf("workers.dev after enabling: %v, %v", on, err)
	}

	// Re-uploading with nothing pending keeps the tag.
	if tag, err := api.UploadScript(ctx, acct, "w", cfg.UploadMetadata(nil), mods); err != nil || tag != "v1" {
		t.Errorf("re-upload: %q, %v", tag, err)
	}
	// Sending v1 again is what the migration tag guards against.
	if _, err := api.UploadScript(ctx, acct, "w", cfg.UploadMetadata(mp), mods); !IsStatus(err, 400) {
		t.Errorf("re-applied migration: %v", err)
	}

	if err := api.DeleteScript(ctx, acct, "w"); err != nil {
		t.Fatal(err)
	}
	if scripts, err := api.Scripts(ctx, acct); err != nil || len(scripts) != 0 {
		t.Errorf("after delete: %v, %v", scripts, err)
	}
	if _, err := api.WorkersDevEnabled(ctx, acct, "w"); !IsStatus(err, 404) {
		t.Errorf("workers.dev of a deleted script: %v", err)
	}
}
