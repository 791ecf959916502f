package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/dsctl/dsctl/internal/deploy"
	"github.com/dsctl/dsctl/internal/deploy/cffake"
	"github.com/dsctl/dsctl/internal/token"
)

// cfEnv starts a fake Cloudflare API, points the CLOUDFLARE_* variables at
// it and moves into a fresh folder (where setup writes dsctl.toml).
func cfEnv(t *testing.T) (*cffake.Server, string) {
	t.Helper()
	fake := cffake.New(t, cffake.Options{})
	t.Setenv(envCFToken, cffake.DefaultToken)
	t.Setenv(envCFBase, fake.URL())
	t.Setenv(envCFAccount, "")
	for _, v := range []string{"DSCTL_URL", "DSCTL_PROJECT", "DSCTL_TOKEN", "DSCTL_DATA_DIR", "NO_COLOR"} {
		t.Setenv(v, "")
	}
	dir := t.TempDir()
	t.Chdir(dir)
	return fake, dir
}

const acct = cffake.DefaultAccountID

// writesTo lists "METHOD path" of the fake's state-changing requests.
func writesTo(fake *cffake.Server) []string {
	var out []string
	for _, r := range fake.Writes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func bindingsByName(t *testing.T, sc cffake.Script) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	bs, _ := sc.Metadata["bindings"].([]any)
	for _, b := range bs {
		m := b.(map[string]any)
		out[m["name"].(string)] = m
	}
	return out
}

func TestSetupYes(t *testing.T) {
	fake, dir := cfEnv(t)
	r := runCLI(t, false, "", "setup", "--yes", "--json").must(t)
	sum := decodeJSON[setupSummary](t, r.out)

	// Acceptance 1: both workers, with DO + R2 + KV bindings, the service
	// binding, and the sqlite-class migration; workers.dev on.
	core, ok := fake.Script(acct, deploy.DefaultCoreWorker)
	if !ok {
		t.Fatalf("core worker not uploaded; requests: %v", writesTo(fake))
	}
	sub, ok := fake.Script(acct, deploy.DefaultSubscriptionWorker)
	if !ok {
		t.Fatal("subscription worker not uploaded")
	}
	ns := fake.Namespaces(acct)
	if len(ns) != 1 || ns[0].Title != deploy.DefaultKVTitle {
		t.Fatalf("namespaces %v", ns)
	}
	if b := fake.Buckets(acct); !slices.Equal(b, []string{deploy.DefaultBucket}) {
		t.Fatalf("buckets %v", b)
	}
	cb := bindingsByName(t, core)
	want := map[string]map[string]any{
		"STREAMS":      {"type": "durable_object_namespace", "class_name": "StreamDO"},
		"CATALOG":      {"type": "durable_object_namespace", "class_name": "CatalogDO"},
		"REGISTRY":     {"type": "kv_namespace", "namespace_id": ns[0].ID},
		"SEGMENTS":     {"type": "r2_bucket", "bucket_name": deploy.DefaultBucket},
		"AUTH_DEFAULT": {"type": "plain_text", "text": "1"},
	}
	for name, fields := range want {
		for k, v := range fields {
			if cb[name][k] != v {
				t.Errorf("core binding %s.%s = %v, want %v (all: %v)", name, k, cb[name][k], v, cb[name])
			}
		}
	}
	sb := bindingsByName(t, sub)
	if s := sb["CORE"]; s["type"] != "service" || s["service"] != deploy.DefaultCoreWorker || s["entrypoint"] != "CoreRPC" {
		t.Errorf("subscription CORE binding %v", s)
	}
	if s := sb["REGISTRY"]; s["namespace_id"] != ns[0].ID {
		t.Errorf("subscription REGISTRY binding %v", s)
	}
	for _, sc := range []cffake.Script{core, sub} {
		mig, _ := sc.Metadata["migrations"].(map[string]any)
		steps, _ := mig["steps"].([]any)
		if mig["new_tag"] != "v1" || len(steps) != 1 || mig["old_tag"] != nil {
			t.Errorf("%s migrations %v", sc.Name, mig)
		} else if cls := steps[0].(map[string]any)["new_sqlite_classes"]; cls == nil {
			t.Errorf("%s migration step without new_sqlite_classes: %v", sc.Name, steps[0])
		}
		if sc.MigrationTag != "v1" || !sc.WorkersDev {
			t.Errorf("%s: tag %q, workers.dev %v", sc.Name, sc.MigrationTag, sc.WorkersDev)
		}
	}
	// The uploaded modules are the files on disk, byte for byte.
	for comp, sc := range map[string]cffake.Script{"core": core, "subscription": sub} {
		entries, _ := os.ReadDir(filepath.Join(dir, "workers", comp))
		var onDisk []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".js") {
				onDisk = append(onDisk, e.Name())
				b, _ := os.ReadFile(filepath.Join(dir, "workers", comp, e.Name()))
				if string(sc.Modules[e.Name()].Body) != string(b) {
					t.Errorf("%s/%s uploaded differs from the file", comp, e.Name())
				}
				if ct := sc.Modules[e.Name()].ContentType; ct != "application/javascript+module" {
					t.Errorf("%s/%s content type %q", comp, e.Name(), ct)
				}
			}
		}
		if len(sc.Modules) != len(onDisk) || sc.Metadata["main_module"] != "worker.js" {
			t.Errorf("%s: modules %d, on disk %v, main %v", comp, len(sc.Modules), onDisk, sc.Metadata["main_module"])
		}
	}
	// The summary and dsctl.toml carry the URLs and ids, no secrets.
	coreURL := "https://durable-streams." + cffake.DefaultSubdomain + ".workers.dev"
	if len(sum.Workers) != 2 || sum.Workers[0].URL != coreURL || sum.KVNamespace.ID != ns[0].ID {
		t.Fatalf("summary %+v", sum)
	}
	var pf projectFile
	if _, err := toml.DecodeFile(filepath.Join(dir, ProjectFileName), &pf); err != nil {
		t.Fatal(err)
	}
	if pf.Cloudflare == nil || pf.Cloudflare.CoreURL != coreURL || pf.Cloudflare.KVNamespaceID != ns[0].ID ||
		pf.Cloudflare.SubscriptionURL != "https://durable-streams-subscriptions."+cffake.DefaultSubdomain+".workers.dev" {
		t.Fatalf("dsctl.toml: %+v", pf.Cloudflare)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ProjectFileName))
	if strings.Contains(string(raw), cffake.DefaultToken) {
		t.Fatal("dsctl.toml holds the API token")
	}
	// Progress went to stderr, one plain line per step.
	for _, step := range []string{"R2 bucket durable-streams: created", "KV namespace durable-streams-projects: created", "upload core worker: durable-streams:", "workers.dev route for durable-streams-subscriptions: https://"} {
		if !strings.Contains(r.err, step) {
			t.Errorf("stderr lacks %q:\n%s", step, r.err)
		}
	}

	t.Logf("first run: %d API requests, writes: %s", len(fake.Requests()), strings.Join(writesTo(fake), ", "))

	// Second run: nothing created again, no migration re-applied; only the
	// code is uploaded again.
	fake.ResetRequests()
	r2 := runCLI(t, false, "", "setup", "--yes").must(t)
	var created []string
	for _, w := range writesTo(fake) {
		if strings.HasPrefix(w, "POST /accounts/"+acct+"/r2/") || strings.HasPrefix(w, "POST /accounts/"+acct+"/storage/kv/namespaces") {
			created = append(created, w)
		}
	}
	if len(created) > 0 {
		t.Fatalf("second run created %v", created)
	}
	// Only the two code uploads change anything.
	if w := writesTo(fake); len(w) != 2 || !strings.HasPrefix(w[0], "PUT ") || !strings.HasPrefix(w[1], "PUT ") {
		t.Fatalf("second run writes: %v", w)
	}
	t.Logf("second run: %d API requests, writes: %s", len(fake.Requests()), strings.Join(writesTo(fake), ", "))
	for _, name := range []string{deploy.DefaultCoreWorker, deploy.DefaultSubscriptionWorker} {
		sc, _ := fake.Script(acct, name)
		if sc.Uploads != 2 || sc.Metadata["migrations"] != nil || sc.MigrationTag != "v1" {
			t.Errorf("%s after the second run: uploads %d, migrations %v, tag %s", name, sc.Uploads, sc.Metadata["migrations"], sc.MigrationTag)
		}
	}
	if !strings.Contains(r2.err, "reuse") || !strings.Contains(r2.out, coreURL) {
		t.Errorf("second run output:\n%s\n%s", r2.err, r2.out)
	}
	if len(fake.Namespaces(acct)) != 1 || len(fake.Buckets(acct)) != 1 {
		t.Fatal("second run duplicated a resource")
	}
}

func TestSetupNeedsTokenWithoutTTY(t *testing.T) {
	fake, dir := cfEnv(t)
	t.Setenv(envCFToken, "")
	runCLI(t, false, "", "setup", "--yes").wantError(t, ExitAuth, "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_TOKEN")
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("%d API requests without a token", n)
	}
	if _, err := os.Stat(filepath.Join(dir, ProjectFileName)); err == nil {
		t.Fatal("dsctl.toml written")
	}
}

func TestSetupBadTokenWritesNothing(t *testing.T) {
	fake, dir := cfEnv(t)
	t.Setenv(envCFToken, "not-the-token")
	runCLI(t, false, "", "setup", "--yes").wantError(t, ExitAuth, "rejected the API token", "Workers Scripts")
	if w := fake.Writes(); len(w) != 0 {
		t.Fatalf("writes with a bad token: %v", writesTo(fake))
	}
	if reqs := fake.Requests(); len(reqs) != 1 || reqs[0].Path != "/user/tokens/verify" {
		t.Fatalf("requests %v", reqs)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("files written: %v", entries)
	}
}

func TestSetupNeedsYesWithoutTTY(t *testing.T) {
	fake, _ := cfEnv(t)
	runCLI(t, false, "", "setup").wantError(t, ExitError, "--yes is required", "dsctl setup --yes")
	if len(fake.Requests()) != 0 {
		t.Fatal("requests before the flag check")
	}
}

func TestSetupFlagErrors(t *testing.T) {
	cfEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--components", "core,admin"}, `unknown component "admin"`},
		{[]string{"--core-name", "Bad_Name"}, "--core-name: invalid worker name"},
		{[]string{"--subscription-name", "durable-streams"}, "must differ"},
		{[]string{"--bucket", "a"}, "--bucket: invalid R2 bucket name"},
		{[]string{"--project", "no/slash"}, "--project:"},
		{[]string{"--account-id", "xyz"}, "invalid account id"},
	} {
		r := runCLI(t, false, "", append([]string{"setup", "--yes"}, tc.args...)...)
		if r.code != ExitError || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, r.code, r.err, tc.want)
		}
	}
}

func TestSetupDryRunChangesNothing(t *testing.T) {
	fake, dir := cfEnv(t)
	r := runCLI(t, false, "", "setup", "--dry-run").must(t)
	for _, s := range []string{"create     R2 bucket durable-streams", "create     KV namespace durable-streams-projects", "worker durable-streams (core): migrations v1", "./workers: 10 new"} {
		if !strings.Contains(r.out, s) {
			t.Errorf("plan lacks %q:\n%s", s, r.out)
		}
	}
	if len(fake.Writes()) != 0 {
		t.Fatalf("dry run wrote %v", writesTo(fake))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("dry run wrote files: %v", entries)
	}
	plan := decodeJSON[deploy.Plan](t, runCLI(t, false, "", "setup", "--dry-run", "--json").must(t).out)
	if plan.KV.Action != deploy.ActionCreate || len(plan.Workers) != 2 || plan.Workers[1].Migrations[0] != "v1" {
		t.Fatalf("plan %+v", plan)
	}
}

func TestSetupResumesAfterServerError(t *testing.T) {
	fake, _ := cfEnv(t)
	fake.Fail(http.MethodPut, "/accounts/*/workers/scripts/"+deploy.DefaultSubscriptionWorker, http.StatusInternalServerError, 10013, "an internal error occurred")
	r := runCLI(t, false, "", "setup", "--yes")
	// Progress lines come first on stderr; the error is the last two lines.
	lines := strings.Split(strings.TrimSpace(r.err), "\n")
	r.err = strings.Join(lines[len(lines)-2:], "\n")
	r.wantError(t, ExitError, `step "upload subscription worker" failed: Cloudflare API error 10013: an internal error occurred (HTTP 500)`, "run dsctl setup again")
	if !strings.Contains(lines[0], "read account") || !strings.Contains(strings.Join(lines, "\n"), "upload core worker: durable-streams:") {
		t.Fatalf("progress before the failure:\n%s", strings.Join(lines, "\n"))
	}
	if _, ok := fake.Script(acct, deploy.DefaultCoreWorker); !ok {
		t.Fatal("core was not deployed before the failure")
	}
	fake.ClearFailures()
	fake.ResetRequests()
	runCLI(t, false, "", "setup", "--yes").must(t)
	sub, ok := fake.Script(acct, deploy.DefaultSubscriptionWorker)
	if !ok || sub.MigrationTag != "v1" || !sub.WorkersDev {
		t.Fatalf("subscription after the re-run: %+v", sub)
	}
	core, _ := fake.Script(acct, deploy.DefaultCoreWorker)
	if core.Metadata["migrations"] != nil {
		t.Fatal("the re-run applied core's migration again")
	}
	if len(fake.Namespaces(acct)) != 1 || len(fake.Buckets(acct)) != 1 {
		t.Fatal("re-run duplicated a resource")
	}
}

func TestSetupKeepsEditedFiles(t *testing.T) {
	fake, dir := cfEnv(t)
	runCLI(t, false, "", "setup", "--yes").must(t)
	edited := filepath.Join(dir, "workers", "core", "worker.js")
	b, _ := os.ReadFile(edited)
	mine := append([]byte("// my change\n"), b...)
	if err := os.WriteFile(edited, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, false, "", "setup", "--yes").must(t)
	if !strings.Contains(r.err, "1 kept as you edited them (core/worker.js") {
		t.Fatalf("stderr does not say the edited file was kept:\n%s", r.err)
	}
	if got, _ := os.ReadFile(edited); string(got) != string(mine) {
		t.Fatal("edited file overwritten without --force")
	}
	core, _ := fake.Script(acct, deploy.DefaultCoreWorker)
	if string(core.Modules["worker.js"].Body) != string(mine) {
		t.Fatal("the upload is not the edited file")
	}
	runCLI(t, false, "", "setup", "--yes", "--force").must(t)
	if got, _ := os.ReadFile(edited); string(got) != string(b) {
		t.Fatal("--force did not restore the template")
	}
}

func TestSetupFirstProjectAndRemoteProjects(t *testing.T) {
	fake, _ := cfEnv(t)
	now := time.Now()
	sum := decodeJSON[setupSummary](t, runCLI(t, false, "", "setup", "--yes", "--project", "first", "--json").must(t).out)
	if sum.Project == nil || sum.Project.Secret == "" || !strings.Contains(sum.Curl[0], sum.Workers[0].URL+"/v1/first/stream/hello") {
		t.Fatalf("summary %+v", sum)
	}
	nsID := sum.KVNamespace.ID
	// One secret generator for every command (the original had three).
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)

	// Acceptance 2: create-project --remote writes, reads back, prints.
	fake.ResetRequests()
	res := decodeJSON[createProjectResult](t, runCLI(t, false, "", "create-project", "demo", "--remote", "--json").must(t).out)
	raw, ok := fake.KV(acct, nsID, "demo")
	if !ok {
		t.Fatal("demo not in KV")
	}
	var entry struct {
		SigningSecrets []string `json:"signingSecrets"`
		CORSOrigins    []string `json:"corsOrigins"`
	}
	if err := json.Unmarshal(raw, &entry); err != nil || !slices.Equal(entry.SigningSecrets, []string{res.Secret}) || entry.CORSOrigins == nil {
		t.Fatalf("KV value %s (%v)", raw, err)
	}
	var methods []string
	for _, r := range fake.Requests() {
		if strings.Contains(r.Path, "/values/demo") {
			methods = append(methods, r.Method)
		}
	}
	if !slices.Equal(methods, []string{"GET", "PUT", "GET"}) {
		t.Fatalf("KV calls for demo: %v (want a check, the write and the read-back)", methods)
	}
	if _, err := token.Verify(res.Token, []string{res.Secret}, now); err != nil {
		t.Fatalf("printed token: %v", err)
	}
	if !strings.HasPrefix(res.Curl[0], "curl -X PUT") || !strings.Contains(res.Curl[0], "https://durable-streams.") {
		t.Fatalf("curl %v", res.Curl)
	}
	runCLI(t, false, "", "create-project", "demo", "--remote").wantError(t, ExitError, "already exists in KV namespace "+nsID, "dsctl token --remote")

	// The other registry commands accept --remote.
	list := runCLI(t, false, "", "project", "list", "--remote").must(t).out
	if lines := strings.Split(strings.TrimSpace(list), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "demo\t1\t") || !strings.HasPrefix(lines[1], "first\t1\t") {
		t.Fatalf("project list --remote:\n%s", list)
	}
	tok := strings.TrimSpace(runCLI(t, false, "", "token", "--remote", "--project", "demo", "--scope", "read").must(t).out)
	if c, err := token.Verify(tok, []string{res.Secret}, time.Now()); err != nil || c.Scope != token.ScopeRead || c.Subject != "demo" {
		t.Fatalf("token --remote: %v %+v", err, c)
	}
	add := decodeJSON[keyAddResult](t, runCLI(t, false, "", "project", "keys", "add", "demo", "--remote", "--json").must(t).out)
	for _, secret := range []string{sum.Project.Secret, res.Secret, add.Secret} {
		if !hex64.MatchString(secret) {
			t.Fatalf("secret %q is not 32 random bytes in hex", secret)
		}
	}
	raw, _ = fake.KV(acct, nsID, "demo")
	json.Unmarshal(raw, &entry)
	if !slices.Equal(entry.SigningSecrets, []string{add.Secret, res.Secret}) {
		t.Fatalf("after keys add: %s", raw)
	}
	runCLI(t, false, "", "project", "keys", "remove", "demo", res.KeyID, "--remote").must(t)
	runCLI(t, false, "", "project", "cors", "add", "demo", "https://app.example", "--remote").must(t)
	raw, _ = fake.KV(acct, nsID, "demo")
	json.Unmarshal(raw, &entry)
	if !slices.Equal(entry.SigningSecrets, []string{add.Secret}) || !slices.Equal(entry.CORSOrigins, []string{"https://app.example"}) {
		t.Fatalf("after keys remove and cors add: %s", raw)
	}
	show := runCLI(t, false, "", "project", "show", "demo", "--remote").must(t).out
	if !strings.Contains(show, "https://app.example") || !strings.Contains(show, add.KeyID) {
		t.Fatalf("show:\n%s", show)
	}
	runCLI(t, false, "", "project", "delete", "demo", "--remote", "--yes").must(t)
	if _, ok := fake.KV(acct, nsID, "demo"); ok {
		t.Fatal("demo still in KV")
	}
	runCLI(t, false, "", "project", "show", "demo", "--remote").wantError(t, ExitError, "project demo does not exist in KV namespace", "dsctl create-project demo --remote")

	// --namespace-id without dsctl.toml, and --remote flags without --remote.
	other := t.TempDir()
	t.Chdir(other)
	runCLI(t, false, "", "project", "list", "--remote").wantError(t, ExitError, "--remote needs the registry's KV namespace", "--namespace-id")
	out := runCLI(t, false, "", "project", "list", "--remote", "--namespace-id", nsID, "--account-id", acct).must(t).out
	if !strings.HasPrefix(out, "first\t") {
		t.Fatalf("list with --namespace-id: %q", out)
	}
	runCLI(t, false, "", "project", "list", "--namespace-id", nsID).wantError(t, ExitError, "go with --remote", "")
	r := runCLI(t, false, "", "token", "--remote", "--project", "demo", "--secret", strings.Repeat("s", 16))
	if r.code != ExitError || !strings.Contains(r.err, "--secret and --remote exclude each other") {
		t.Fatalf("token --remote --secret: exit %d %s", r.code, r.err)
	}
}

func TestRemoteClientCommands(t *testing.T) {
	fake, dir := cfEnv(t)
	sum := decodeJSON[setupSummary](t, runCLI(t, false, "", "setup", "--yes", "--json").must(t).out)
	// A local server stands in for the deployed workers: the same
	// project and secret in its registry as in the fake KV.
	srv := newTestStreams(t)
	t.Chdir(dir)
	raw, _ := json.Marshal(map[string]any{"signingSecrets": []string{srv.secret}, "corsOrigins": []string{}})
	fake.PutKV(acct, sum.KVNamespace.ID, "demo", raw)
	var pf projectFile
	toml.DecodeFile(ProjectFileName, &pf)
	pf.Cloudflare.CoreURL, pf.Cloudflare.SubscriptionURL = srv.url, srv.url
	if err := saveDeployState(ProjectFileName, pf.Cloudflare); err != nil {
		t.Fatal(err)
	}
	runCLI(t, false, "", "stream", "create", "s", "--remote", "--project", "demo", "--content-type", "application/json").must(t)
	runCLI(t, false, "", "stream", "append", "s", "--remote", "--project", "demo", "--data", `{"a":1}`).must(t)
	out := runCLI(t, false, "", "stream", "read", "s", "--remote", "--project", "demo").must(t).out
	if !strings.Contains(out, `{"a":1}`) {
		t.Fatalf("read --remote: %q", out)
	}
	runCLI(t, false, "", "subscribe", "s", "alice", "--remote", "--project", "demo").must(t)
	runCLI(t, false, "", "publish", "s", "--remote", "--project", "demo", "--data", `{"b":2}`).must(t)
	out = runCLI(t, false, "", "stream", "read", "session:alice", "--remote", "--project", "demo").must(t).out
	if !strings.Contains(out, `{"b":2}`) {
		t.Fatalf("session stream: %q", out)
	}
	runCLI(t, false, "", "stream", "read", "s", "--remote", "--url", srv.url).wantError(t, ExitError, "--url and --remote exclude each other", "")
	runCLI(t, false, "", "stream", "read", "s", "--remote", "--project", "nobody").wantError(t, ExitError, "project nobody does not exist in KV namespace", "create-project nobody --remote")
}

func TestDeployAndStatus(t *testing.T) {
	fake, dir := cfEnv(t)
	runCLI(t, false, "", "setup", "--yes", "--components", "core").must(t)
	if _, ok := fake.Script(acct, deploy.DefaultSubscriptionWorker); ok {
		t.Fatal("subscription deployed without being asked for")
	}
	// deploy uploads the folder as edited.
	edited := filepath.Join(dir, "workers", "core", "protocol.js")
	b, _ := os.ReadFile(edited)
	os.WriteFile(edited, append(b, []byte("\n// edited\n")...), 0o644)
	fake.ResetRequests()
	out := runCLI(t, false, "", "deploy").must(t).out
	core, _ := fake.Script(acct, deploy.DefaultCoreWorker)
	if !strings.HasSuffix(string(core.Modules["protocol.js"].Body), "// edited\n") || core.Uploads != 2 || core.Metadata["migrations"] != nil {
		t.Fatalf("deploy did not upload the edit (uploads %d, migrations %v)", core.Uploads, core.Metadata["migrations"])
	}
	if !strings.Contains(out, "core          https://durable-streams.") {
		t.Fatalf("deploy output %q", out)
	}
	for _, w := range writesTo(fake) {
		if strings.Contains(w, "/r2/") || strings.Contains(w, "/storage/") {
			t.Fatalf("deploy touched resources: %v", writesTo(fake))
		}
	}
	// --update-templates keeps the edit; --force restores it.
	r := runCLI(t, false, "", "deploy", "--update-templates").must(t)
	if !strings.Contains(r.err, "kept as you edited them (core/protocol.js") {
		t.Fatalf("stderr %s", r.err)
	}
	runCLI(t, false, "", "deploy", "--update-templates", "--force").must(t)
	if got, _ := os.ReadFile(edited); string(got) != string(b) {
		t.Fatal("--force kept the edit")
	}
	runCLI(t, false, "", "deploy", "--force").wantError(t, ExitError, "--force goes with --update-templates", "")

	// status: the script, its tag, the route and /health (a local server
	// stands in for workers.dev).
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.Write([]byte("ok"))
			return
		}
		http.NotFound(w, r)
	}))
	defer health.Close()
	var pf projectFile
	toml.DecodeFile(ProjectFileName, &pf)
	pf.Cloudflare.CoreURL = health.URL
	saveDeployState(ProjectFileName, pf.Cloudflare)
	st := decodeJSON[statusResult](t, runCLI(t, false, "", "status", "--json").must(t).out)
	if len(st.Workers) != 1 || !st.Workers[0].Deployed || st.Workers[0].MigrationTag != "v1" || !st.Workers[0].WorkersDev || st.Workers[0].Health != "ok" {
		t.Fatalf("status %+v", st)
	}
	// An unhealthy worker makes status fail (a closed loopback port stands
	// in for a worker that does not answer).
	runCLI(t, false, "", "setup", "--yes", "--components", "core,subscription").must(t)
	toml.DecodeFile(ProjectFileName, &pf)
	pf.Cloudflare.CoreURL, pf.Cloudflare.SubscriptionURL = health.URL, "http://127.0.0.1:1"
	saveDeployState(ProjectFileName, pf.Cloudflare)
	r = runCLI(t, false, "", "status")
	if r.code != ExitError || !strings.Contains(r.out, "durable-streams-subscriptions") || !strings.Contains(r.out, "unreachable") ||
		!strings.Contains(r.err, "durable-streams-subscriptions not deployed or not healthy") {
		t.Fatalf("status with an unreachable worker: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	// Without dsctl.toml: a clear error.
	t.Chdir(t.TempDir())
	runCLI(t, false, "", "deploy").wantError(t, ExitError, "nothing deployed from here", "dsctl setup")
	runCLI(t, false, "", "status").wantError(t, ExitError, "nothing deployed from here", "dsctl setup")
}

func TestSetupAccountChoice(t *testing.T) {
	fake := cffake.New(t, cffake.Options{Accounts: []cffake.Account{{ID: acct, Name: "One"}, {ID: strings.Repeat("b", 32), Name: "Two"}}})
	t.Setenv(envCFToken, cffake.DefaultToken)
	t.Setenv(envCFBase, fake.URL())
	t.Setenv(envCFAccount, "")
	t.Chdir(t.TempDir())
	runCLI(t, false, "", "setup", "--yes").wantError(t, ExitError, "the API token can use 2 accounts", "--account-id")
	t.Setenv(envCFAccount, strings.Repeat("b", 32))
	runCLI(t, false, "", "setup", "--yes", "--dry-run").must(t)
	var accts []string
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/accounts/") {
			accts = append(accts, strings.Split(r.Path, "/")[2])
		}
	}
	sort.Strings(accts)
	if len(accts) == 0 || accts[0] != strings.Repeat("b", 32) {
		t.Fatalf("requests went to %v", accts)
	}
}

func TestSetupRegistersSubdomain(t *testing.T) {
	fake := cffake.New(t, cffake.Options{Subdomain: "-"})
	t.Setenv(envCFToken, cffake.DefaultToken)
	t.Setenv(envCFBase, fake.URL())
	t.Chdir(t.TempDir())
	runCLI(t, false, "", "setup", "--yes").wantError(t, ExitError, "no workers.dev subdomain", "--workers-subdomain")
	sum := decodeJSON[setupSummary](t, runCLI(t, false, "", "setup", "--yes", "--workers-subdomain", "mine", "--json").must(t).out)
	if sum.Workers[0].URL != "https://durable-streams.mine.workers.dev" {
		t.Fatalf("URL %s", sum.Workers[0].URL)
	}
}

// runWizard runs dsctl on a (simulated) terminal in huh's accessible
// mode, which reads one answer per line: the same form, fields and
// validation as the full-screen one. One byte per read, so each question
// consumes only its own line.
func runWizard(t *testing.T, answers string, args ...string) cliRun {
	t.Helper()
	t.Setenv("DSCTL_ACCESSIBLE", "1")
	var out, errOut bytes.Buffer
	ios := &IOStreams{In: iotest.OneByteReader(strings.NewReader(answers)), Out: &out, ErrOut: &errOut}
	ios.SetTTY(true, true)
	code := Run(args, ios)
	return cliRun{code: code, out: out.String(), err: errOut.String()}
}

func TestSetupWizard(t *testing.T) {
	fake, dir := cfEnv(t)
	// Subscription: no; core name: typed; R2: yes; bucket: a bad name
	// first (asked again), then empty = the default; KV title: default;
	// project: demo; apply: no.
	r := runWizard(t, "n\nmy-core\ny\nBad_Bucket\n\n\ndemo\nn\n", "setup")
	if r.code != ExitCancelled || !strings.Contains(r.err, `invalid R2 bucket name "Bad_Bucket"`) ||
		!strings.Contains(r.err, "create     worker my-core (core)") || strings.Contains(r.err, "subscription)") {
		t.Fatalf("declined wizard: exit %d\n%s", r.code, r.err)
	}
	if len(fake.Writes()) != 0 {
		t.Fatalf("a declined plan wrote %v", writesTo(fake))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a declined plan wrote files: %v", entries)
	}
	// The same answers, confirmed.
	r = runWizard(t, "n\nmy-core\ny\n\n\ndemo\ny\n", "setup")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	if _, ok := fake.Script(acct, "my-core"); !ok {
		t.Fatal("my-core not deployed")
	}
	if _, ok := fake.Script(acct, deploy.DefaultSubscriptionWorker); ok {
		t.Fatal("subscription deployed though declined")
	}
	if _, ok := fake.KV(acct, fake.Namespaces(acct)[0].ID, "demo"); !ok || !strings.Contains(r.out, "Project demo: secret (shown once)") {
		t.Fatalf("first project missing:\n%s", r.out)
	}
	// Re-running offers the answers dsctl.toml recorded.
	r = runWizard(t, "n\n\ny\n\n\n\ny\n", "setup")
	if r.code != ExitOK || !strings.Contains(r.err, "update     worker my-core (core): no migration to apply (deployed at v1)") {
		t.Fatalf("re-run: exit %d\n%s", r.code, r.err)
	}
}

func TestTeardown(t *testing.T) {
	fake, dir := cfEnv(t)
	runCLI(t, false, "", "setup", "--yes").must(t)
	runCLI(t, false, "", "teardown").wantError(t, ExitError, "--yes is required", "dsctl teardown --yes")

	// A bucket holding cold segments is kept; the rest goes; a re-run
	// after emptying it finishes.
	fake.SetBucketObjects(acct, deploy.DefaultBucket, 3)
	r := runCLI(t, false, "", "teardown", "--yes")
	lines := strings.Split(strings.TrimSpace(r.err), "\n")
	r.err = strings.Join(lines[len(lines)-2:], "\n")
	r.wantError(t, ExitError, "R2 bucket durable-streams still holds objects, so it was kept", "empty it in the Cloudflare dashboard")
	if len(fake.Scripts(acct)) != 0 || len(fake.Namespaces(acct)) != 0 || len(fake.Buckets(acct)) != 1 {
		t.Fatalf("after a blocked teardown: scripts %d, namespaces %d, buckets %v", len(fake.Scripts(acct)), len(fake.Namespaces(acct)), fake.Buckets(acct))
	}
	if _, err := os.Stat(filepath.Join(dir, ProjectFileName)); err != nil {
		t.Fatal("dsctl.toml dropped while the bucket remains")
	}
	fake.SetBucketObjects(acct, deploy.DefaultBucket, 0)
	r = runCLI(t, false, "", "teardown", "--yes").must(t)
	if !strings.Contains(r.err, "delete worker durable-streams: already gone") || !strings.Contains(r.err, "delete R2 bucket durable-streams: deleted") {
		t.Fatalf("re-run:\n%s", r.err)
	}
	if len(fake.Buckets(acct)) != 0 {
		t.Fatal("bucket left")
	}
	if _, err := os.Stat(filepath.Join(dir, ProjectFileName)); !os.IsNotExist(err) {
		t.Fatalf("dsctl.toml still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "workers", "core", "worker.js")); err != nil {
		t.Fatal("teardown removed ./workers")
	}

	// Other settings in dsctl.toml stay; on a terminal the core worker's
	// name must be typed.
	os.WriteFile(ProjectFileName, []byte("url = \"http://127.0.0.1:9999\"\n"), 0o644)
	runCLI(t, false, "", "setup", "--yes").must(t)
	r = runWizard(t, "nope\n", "teardown")
	if r.code != ExitCancelled || len(fake.Scripts(acct)) != 2 {
		t.Fatalf("wrong name: exit %d, scripts %d\n%s", r.code, len(fake.Scripts(acct)), r.err)
	}
	r = runWizard(t, "durable-streams\n", "teardown")
	if r.code != ExitOK || len(fake.Scripts(acct)) != 0 {
		t.Fatalf("typed name: exit %d\n%s", r.code, r.err)
	}
	var pf projectFile
	if _, err := toml.DecodeFile(ProjectFileName, &pf); err != nil || pf.URL != "http://127.0.0.1:9999" || pf.Cloudflare != nil {
		t.Fatalf("dsctl.toml after teardown: %+v (%v)", pf, err)
	}
}

func TestDeployFromSubfolder(t *testing.T) {
	fake, dir := cfEnv(t)
	runCLI(t, false, "", "setup", "--yes", "--components", "core").must(t)
	sub := filepath.Join(dir, "src", "deep")
	os.MkdirAll(sub, 0o755)
	t.Chdir(sub)
	// dsctl.toml is found upward and ./workers is taken relative to it.
	runCLI(t, false, "", "deploy").must(t)
	if core, _ := fake.Script(acct, deploy.DefaultCoreWorker); core.Uploads != 2 {
		t.Fatalf("uploads %d", core.Uploads)
	}
	res := decodeJSON[createProjectResult](t, runCLI(t, false, "", "create-project", "demo", "--remote", "--json").must(t).out)
	if res.Project != "demo" {
		t.Fatal(res)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ProjectFileName))
	if !strings.Contains(string(raw), `workers_dir = "workers"`) {
		t.Fatalf("deploy rewrote workers_dir:\n%s", raw)
	}
	if _, err := os.Stat(filepath.Join(sub, ProjectFileName)); err == nil {
		t.Fatal("a second dsctl.toml appeared in the subfolder")
	}
}

func TestAccountOwnedToken(t *testing.T) {
	fake := cffake.New(t, cffake.Options{AccountOwnedToken: true})
	t.Setenv(envCFToken, cffake.DefaultToken)
	t.Setenv(envCFBase, fake.URL())
	t.Setenv(envCFAccount, "")
	t.Chdir(t.TempDir())
	// /user/tokens/verify does not know account-owned tokens: without an
	// account to verify it under, the hint says what to add.
	runCLI(t, false, "", "setup", "--yes").wantError(t, ExitAuth, "rejected the API token", "--account-id")
	runCLI(t, false, "", "setup", "--yes", "--account-id", acct).must(t)
	if _, ok := fake.Script(acct, deploy.DefaultCoreWorker); !ok {
		t.Fatal("not deployed with an account-owned token")
	}
	// Later commands take the account from dsctl.toml.
	runCLI(t, false, "", "project", "list", "--remote").must(t)
}

func TestSetupAccountChoiceOnTerminal(t *testing.T) {
	two := strings.Repeat("b", 32)
	fake := cffake.New(t, cffake.Options{Accounts: []cffake.Account{{ID: acct, Name: "One"}, {ID: two, Name: "Two"}}})
	t.Setenv(envCFToken, cffake.DefaultToken)
	t.Setenv(envCFBase, fake.URL())
	t.Setenv(envCFAccount, "")
	t.Chdir(t.TempDir())
	// The second account, then the wizard's defaults, then apply.
	r := runWizard(t, "2\ny\n\ny\n\n\n\n\ny\n", "setup")
	if r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.err)
	}
	if _, ok := fake.Script(two, deploy.DefaultCoreWorker); !ok {
		t.Fatalf("not deployed to the chosen account:\n%s", r.err)
	}
	var pf projectFile
	toml.DecodeFile(ProjectFileName, &pf)
	if pf.Cloudflare.AccountID != two {
		t.Fatalf("dsctl.toml account %q", pf.Cloudflare.AccountID)
	}
}
