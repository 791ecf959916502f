package deploy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/option"

	"github.com/dsctl/dsctl/internal/deploy/cffake"
)

// recorder is a Reporter that remembers each step and its outcome.
type recorder struct {
	steps, details []string
	errs           []error
}

func (r *recorder) Step(name string, fn func() (string, error)) error {
	d, err := fn()
	r.steps = append(r.steps, name)
	r.details = append(r.details, d)
	r.errs = append(r.errs, err)
	return err
}

// saver records every state save, as copies.
type saver struct{ saved []State }

func (s *saver) save(st *State) error {
	c := *st
	c.Components = slices.Clone(st.Components)
	s.saved = append(s.saved, c)
	return nil
}

// planned is a fresh fake, a client for it, the default options and
// their plan.
func planned(t *testing.T) (*cffake.Server, *API, *SetupOptions, *Plan) {
	t.Helper()
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake)
	o := setupOptions(t)
	p, err := PlanSetup(ctx, api, o)
	if err != nil {
		t.Fatal(err)
	}
	return fake, api, o, p
}

func setupOptions(t *testing.T) *SetupOptions {
	t.Helper()
	return &SetupOptions{
		AccountID:          acct,
		Components:         []string{Core, Subscription},
		CoreWorker:         DefaultCoreWorker,
		SubscriptionWorker: DefaultSubscriptionWorker,
		Bucket:             DefaultBucket,
		KVTitle:            DefaultKVTitle,
		WorkersDir:         filepath.Join(t.TempDir(), DefaultWorkersDir),
	}
}

func TestPlanSetupEmptyThenApplied(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake)
	o := setupOptions(t)

	p, err := PlanSetup(ctx, api, o)
	if err != nil {
		t.Fatal(err)
	}
	if w := fake.Writes(); len(w) != 0 {
		t.Fatalf("planning wrote: %v", w)
	}
	if _, err := os.Stat(o.WorkersDir); !os.IsNotExist(err) {
		t.Fatalf("planning created the workers folder (%v)", err)
	}
	if p.WorkersSubdomain != cffake.DefaultSubdomain || p.RegisterSubdomain {
		t.Errorf("subdomain %q register %v", p.WorkersSubdomain, p.RegisterSubdomain)
	}
	if p.Bucket == nil || p.Bucket.Action != ActionCreate || p.KV.Action != ActionCreate || p.KV.ID != "" {
		t.Errorf("resources: bucket %+v kv %+v", p.Bucket, p.KV)
	}
	for _, f := range p.Files {
		if f.Action != FileCreate {
			t.Errorf("file %s: %s", f.Path, f.Action)
		}
	}
	if len(p.Workers) != 2 {
		t.Fatalf("workers %+v", p.Workers)
	}
	for _, w := range p.Workers {
		if w.Action != ActionCreate || w.CurrentTag != "" || !slices.Equal(w.Migrations, []string{"v1"}) ||
			w.URL != WorkerURL(w.Name, cffake.DefaultSubdomain) {
			t.Errorf("new worker plan %+v", w)
		}
	}

	st, err := ApplySetup(ctx, api, o, p, &recorder{}, (&saver{}).save)
	if err != nil {
		t.Fatal(err)
	}

	p, err = PlanSetup(ctx, api, o)
	if err != nil {
		t.Fatal(err)
	}
	if p.Bucket == nil || p.Bucket.Action != ActionReuse || p.KV.Action != ActionReuse || p.KV.ID != st.KVNamespaceID {
		t.Errorf("second plan resources: bucket %+v kv %+v (state id %s)", p.Bucket, p.KV, st.KVNamespaceID)
	}
	for _, f := range p.Files {
		if f.Action != FileUnchanged {
			t.Errorf("second plan file %s: %s", f.Path, f.Action)
		}
	}
	for _, w := range p.Workers {
		if w.Action != ActionUpdate || w.CurrentTag != "v1" || w.Migrations != nil {
			t.Errorf("second plan worker %+v", w)
		}
	}
}

func TestPlanSetupWithoutR2(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	o := setupOptions(t)
	o.Bucket = ""
	p, err := PlanSetup(ctx, newAPI(fake), o)
	if err != nil {
		t.Fatal(err)
	}
	if p.Bucket != nil {
		t.Errorf("bucket planned: %+v", p.Bucket)
	}
	for _, r := range fake.Requests() {
		if strings.Contains(r.Path, "/r2/") {
			t.Errorf("R2 asked without a bucket: %s %s", r.Method, r.Path)
		}
	}
}

func TestPlanSetupSubdomain(t *testing.T) {
	fake := cffake.New(t, cffake.Options{Subdomain: "-"})
	api := newAPI(fake)
	o := setupOptions(t)
	if _, err := PlanSetup(ctx, api, o); !errors.Is(err, ErrNoSubdomain) {
		t.Fatalf("err = %v, want ErrNoSubdomain", err)
	}

	o.WorkersSubdomain = "mine"
	p, err := PlanSetup(ctx, api, o)
	if err != nil {
		t.Fatal(err)
	}
	if !p.RegisterSubdomain || p.WorkersSubdomain != "mine" || p.Workers[0].URL != WorkerURL(DefaultCoreWorker, "mine") {
		t.Errorf("plan %+v", p)
	}
	rec := &recorder{}
	st, err := ApplySetup(ctx, api, o, p, rec, (&saver{}).save)
	if err != nil {
		t.Fatal(err)
	}
	if rec.steps[0] != "register workers.dev subdomain mine" {
		t.Errorf("first step %q", rec.steps[0])
	}
	if sub, _ := api.WorkersSubdomain(ctx, acct); sub != "mine" || st.WorkersSubdomain != "mine" {
		t.Errorf("subdomain %q, state %q", sub, st.WorkersSubdomain)
	}

	// An account that has one keeps it: the option only fills a gap.
	other := cffake.New(t, cffake.Options{})
	p, err = PlanSetup(ctx, newAPI(other), o)
	if err != nil || p.RegisterSubdomain || p.WorkersSubdomain != cffake.DefaultSubdomain {
		t.Errorf("existing subdomain: %+v, %v", p, err)
	}
}

func TestPlanSetupUnknownMigrationTag(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake)
	// A core worker deployed from other sources, at a tag setup's
	// templates do not have.
	cfg, err := ParseWorkerConfig(WranglerFile, []byte(minimalConfig+"[[migrations]]\ntag = \"theirs-1\"\nnew_classes = [\"X\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	mp, _ := cfg.PendingMigrations("")
	mods := []Module{{Name: "worker.js", ContentType: "application/javascript+module", Body: []byte("export default {}")}}
	if _, err := api.UploadScript(ctx, acct, DefaultCoreWorker, cfg.UploadMetadata(mp), mods); err != nil {
		t.Fatal(err)
	}
	_, err = PlanSetup(ctx, api, setupOptions(t))
	if !errors.Is(err, ErrUnknownMigrationTag) || !strings.Contains(err.Error(), "theirs-1") {
		t.Fatalf("err = %v, want ErrUnknownMigrationTag naming theirs-1", err)
	}
}

func TestApplySetupStepsAndSaves(t *testing.T) {
	fake, api, o, p := planned(t)
	rec, sv := &recorder{}, &saver{}
	st, err := ApplySetup(ctx, api, o, p, rec, sv.save)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"R2 bucket " + DefaultBucket,
		"KV namespace " + DefaultKVTitle,
		"scaffold ./" + filepath.ToSlash(o.WorkersDir),
		"upload core worker",
		"workers.dev route for " + DefaultCoreWorker,
		"upload subscription worker",
		"workers.dev route for " + DefaultSubscriptionWorker,
	}
	if !slices.Equal(rec.steps, want) {
		t.Errorf("steps\n got %q\nwant %q", rec.steps, want)
	}
	if !strings.HasPrefix(rec.details[1], "created (id ") || !strings.Contains(rec.details[3], "migration v1 applied") {
		t.Errorf("details %q", rec.details)
	}

	// Saved once the namespace exists (its id is what dsctl.toml must not
	// lose), then after each worker.
	if len(sv.saved) != 3 {
		t.Fatalf("saved %d times, want 3", len(sv.saved))
	}
	ns := fake.Namespaces(acct)
	if len(ns) != 1 || sv.saved[0].KVNamespaceID != ns[0].ID || sv.saved[0].CoreURL != "" {
		t.Errorf("first save %+v (namespaces %v)", sv.saved[0], ns)
	}
	if sv.saved[1].CoreURL != WorkerURL(DefaultCoreWorker, cffake.DefaultSubdomain) || sv.saved[1].SubscriptionURL != "" {
		t.Errorf("second save %+v", sv.saved[1])
	}
	if !reflect.DeepEqual(sv.saved[2], *st) {
		t.Errorf("last save %+v, returned %+v", sv.saved[2], *st)
	}
	if st.SubscriptionURL != WorkerURL(DefaultSubscriptionWorker, cffake.DefaultSubdomain) || st.Bucket != DefaultBucket {
		t.Errorf("state %+v", st)
	}
	for _, name := range []string{DefaultCoreWorker, DefaultSubscriptionWorker} {
		if sc, ok := fake.Script(acct, name); !ok || !sc.WorkersDev || sc.MigrationTag != "v1" {
			t.Errorf("%s: %+v (exists %v)", name, sc.MigrationTag, ok)
		}
	}

	// A second run reuses everything and uploads again without migrations.
	rec = &recorder{}
	if _, err := ApplySetup(ctx, api, o, p, rec, (&saver{}).save); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rec.details[0], "exists") || !strings.HasPrefix(rec.details[1], "exists") ||
		rec.details[2] != fmt.Sprintf("%d unchanged", len(p.Files)) || !strings.Contains(rec.details[3], "migration tag v1 (nothing to apply)") {
		t.Errorf("second run details %q", rec.details)
	}
}

func TestApplySetupCoreOnly(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake)
	o := setupOptions(t)
	o.Components = []string{Core}
	p, err := PlanSetup(ctx, api, o)
	if err != nil {
		t.Fatal(err)
	}
	sv := &saver{}
	st, err := ApplySetup(ctx, api, o, p, &recorder{}, sv.save)
	if err != nil {
		t.Fatal(err)
	}
	// The unused name is not recorded as if deployed.
	if st.SubscriptionWorker != "" || st.SubscriptionURL != "" || len(sv.saved) != 2 {
		t.Errorf("state %+v, %d saves", st, len(sv.saved))
	}
	if _, err := os.Stat(filepath.Join(o.WorkersDir, Subscription)); !os.IsNotExist(err) {
		t.Errorf("subscription folder scaffolded (%v)", err)
	}
	if _, ok := fake.Script(acct, DefaultSubscriptionWorker); ok {
		t.Error("subscription worker uploaded")
	}
}

func TestApplySetupUploadFails(t *testing.T) {
	tests := []struct {
		comp, worker string
		wantSaves    int
	}{
		{Core, DefaultCoreWorker, 1},
		{Subscription, DefaultSubscriptionWorker, 2},
	}
	for _, tt := range tests {
		t.Run(tt.comp, func(t *testing.T) {
			fake, api, o, p := planned(t)
			fake.Fail("PUT", "/accounts/*/workers/scripts/"+tt.worker, 400, 10021, "Uncaught SyntaxError")
			sv := &saver{}
			st, err := ApplySetup(ctx, api, o, p, &recorder{}, sv.save)
			if err == nil || st != nil {
				t.Fatalf("state %+v, err %v", st, err)
			}
			var se *StepError
			if !errors.As(err, &se) || se.Step != "upload "+tt.comp+" worker" {
				t.Fatalf("err = %#v, want a StepError for upload %s worker", err, tt.comp)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != 10021 {
				t.Errorf("err = %v does not unwrap to the API error", err)
			}
			if want := "upload " + tt.comp + " worker: Cloudflare API error 10021: Uncaught SyntaxError (HTTP 400)"; err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
			// What was done stays saved for the re-run.
			if len(sv.saved) != tt.wantSaves || sv.saved[0].KVNamespaceID == "" {
				t.Errorf("%d saves, want %d", len(sv.saved), tt.wantSaves)
			}

			fake.ClearFailures()
			if _, err := ApplySetup(ctx, api, o, p, &recorder{}, (&saver{}).save); err != nil {
				t.Fatalf("re-run: %v", err)
			}
		})
	}
}

func TestApplySetupReporterAndSaveErrors(t *testing.T) {
	fake, api, o, p := planned(t)
	// A save failure stops setup before anything is uploaded.
	boom := errors.New("disk full")
	_, err := ApplySetup(ctx, api, o, p, &recorder{}, func(*State) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if len(fake.Scripts(acct)) != 0 {
		t.Error("uploaded although the state could not be saved")
	}

	// A reporter's own StepError is passed on, not wrapped again.
	inner := &StepError{Step: "inner", Err: boom}
	_, err = ApplySetup(ctx, api, o, p, failingReporter{inner}, (&saver{}).save)
	if err != inner {
		t.Errorf("err = %#v, want the reporter's StepError", err)
	}
}

type failingReporter struct{ err error }

func (f failingReporter) Step(string, func() (string, error)) error { return f.err }

func TestDeployWorkersOrder(t *testing.T) {
	fake := cffake.New(t, cffake.Options{})
	api := newAPI(fake)
	ns := fake.AddNamespace(acct, DefaultKVTitle)
	dir := t.TempDir()
	st := &State{
		AccountID:          acct,
		WorkersSubdomain:   cffake.DefaultSubdomain,
		WorkersDir:         dir,
		Components:         []string{Subscription, Core}, // core must still go first
		CoreWorker:         "c-w",
		SubscriptionWorker: "s-w",
		KVNamespaceID:      ns.ID,
	}
	if _, err := Scaffold(dir, st.Layout(), false, false); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	if err := DeployWorkers(ctx, api, st, rec, (&saver{}).save); err != nil {
		t.Fatal(err)
	}
	if want := []string{"upload core worker", "workers.dev route for c-w", "upload subscription worker", "workers.dev route for s-w"}; !slices.Equal(rec.steps, want) {
		t.Errorf("steps %q, want %q", rec.steps, want)
	}

	// A migration the user adds is applied on the next deploy, once.
	toml := filepath.Join(dir, Core, WranglerFile)
	b, _ := os.ReadFile(toml)
	b = append(b, "\n[[migrations]]\ntag = \"v2\"\nnew_sqlite_classes = [\"Extra\"]\n"...)
	if err := os.WriteFile(toml, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"migration v2 applied", "migration tag v2 (nothing to apply)"} {
		rec = &recorder{}
		if err := DeployWorkers(ctx, api, st, rec, (&saver{}).save); err != nil {
			t.Fatalf("deploy %d: %v", i+2, err)
		}
		if !strings.Contains(rec.details[0], want) {
			t.Errorf("deploy %d: core detail %q, want %q", i+2, rec.details[0], want)
		}
	}
	if sc, _ := fake.Script(acct, "c-w"); sc.MigrationTag != "v2" || !sc.Classes["Extra"] {
		t.Errorf("core tag %q classes %v", sc.MigrationTag, sc.Classes)
	}
}

func TestStatus(t *testing.T) {
	fake, api, o, p := planned(t)
	st, err := ApplySetup(ctx, api, o, p, &recorder{}, (&saver{}).save)
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu    sync.Mutex
		paths []string
	)
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
		}
	}))
	defer health.Close()
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	client := &http.Client{Timeout: 5 * time.Second}

	st.CoreURL = health.URL + "/" // a trailing slash does not double up
	st.SubscriptionURL = closedURL(t)
	ws, err := Status(ctx, api, st, client)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].Component != Core || ws[1].Component != Subscription {
		t.Fatalf("status %+v", ws)
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	for _, w := range ws {
		if !w.Deployed || w.MigrationTag != "v1" || !w.WorkersDev || !stamp.MatchString(w.ModifiedOn) {
			t.Errorf("%s: %+v", w.Component, w)
		}
	}
	mu.Lock()
	if ws[0].Health != "ok" || !slices.Equal(paths, []string{"/health"}) {
		t.Errorf("core health %q, paths %v", ws[0].Health, paths)
	}
	mu.Unlock()
	// The connection error itself, without the client's "Get <url>:" prefix.
	if !strings.HasPrefix(ws[1].Health, "unreachable: ") || strings.Contains(ws[1].Health, "Get ") {
		t.Errorf("subscription health %q", ws[1].Health)
	}

	st.CoreURL = sick.URL
	st.SubscriptionURL = ""
	ws, err = Status(ctx, api, st, client)
	if err != nil {
		t.Fatal(err)
	}
	if ws[0].Health != "HTTP 503 Service Unavailable" || ws[1].Health != "no URL" {
		t.Errorf("health %q / %q", ws[0].Health, ws[1].Health)
	}

	// A worker that is gone shows as not deployed, without a workers.dev lookup.
	if err := api.DeleteScript(ctx, acct, DefaultSubscriptionWorker); err != nil {
		t.Fatal(err)
	}
	fake.ResetRequests()
	ws, err = Status(ctx, api, st, client)
	if err != nil {
		t.Fatal(err)
	}
	if w := ws[1]; w.Deployed || w.WorkersDev || w.MigrationTag != "" || w.ModifiedOn != "" {
		t.Errorf("deleted worker %+v", w)
	}
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, DefaultSubscriptionWorker+"/subdomain") {
			t.Errorf("looked up workers.dev of a missing worker: %s", r.Path)
		}
	}

	fake.Fail("GET", "/accounts/*/workers/scripts", 403, 10000, "Authentication error")
	if _, err := Status(ctx, api, st, client); !IsUnauthorized(err) {
		t.Errorf("listing refused: err = %v", err)
	}
}

// rewrite is a middleware that edits one JSON answer of the API, to play
// a Cloudflare that accepts a change but reports another result.
func rewrite(method, pathPart, from, to string) option.RequestOption {
	return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		res, err := next(req)
		if err != nil || req.Method != method || !strings.Contains(req.URL.Path, pathPart) {
			return res, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		b = []byte(strings.Replace(string(b), from, to, 1))
		res.Body, res.ContentLength = io.NopCloser(strings.NewReader(string(b))), int64(len(b))
		return res, nil
	})
}

func TestDeployChecksWhatCloudflareReports(t *testing.T) {
	for _, tt := range []struct {
		name, method, path, from, to, want string
	}{
		{"migration tag", http.MethodPut, "/workers/scripts/" + DefaultCoreWorker, `"migration_tag":"v1"`, `"migration_tag":"v0"`,
			`upload core worker: unexpected answer: Cloudflare reports migration tag "v0" after the upload, want "v1"`},
		{"workers.dev route", http.MethodPost, "/subdomain", `"enabled":true`, `"enabled":false`,
			"workers.dev route for " + DefaultCoreWorker + ": unexpected answer: the workers.dev route of " + DefaultCoreWorker + " is still off"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := cffake.New(t, cffake.Options{})
			api := newAPI(fake, rewrite(tt.method, tt.path, tt.from, tt.to))
			o := setupOptions(t)
			p, err := PlanSetup(ctx, api, o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ApplySetup(ctx, api, o, p, &recorder{}, (&saver{}).save)
			if !errors.Is(err, ErrUnexpected) || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
