package cffake_test

import (
	"bytes"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6/workers"

	"github.com/dsctl/dsctl/internal/deploy/cffake"
)

// file is what the SDK's form encoder asks of an upload part; the root
// package's FileParam would do, at the cost of compiling every service.
type file struct {
	io.Reader
	name, contentType string
}

func (f file) Filename() string    { return f.name }
func (f file) ContentType() string { return f.contentType }

func module(name, src string) io.Reader {
	return file{strings.NewReader(src), name, "application/javascript+module"}
}

// binding builds a metadata binding from Go field names of
// workers.ScriptUpdateParamsMetadataBinding and their values.
func binding(typ, name string, fields ...string) workers.ScriptUpdateParamsMetadataBindingUnion {
	var b workers.ScriptUpdateParamsMetadataBinding
	set(&b.Type, typ)
	set(&b.Name, name)
	v := reflect.ValueOf(&b).Elem()
	for i := 0; i+1 < len(fields); i += 2 {
		set(v.FieldByName(fields[i]).Addr().Interface(), fields[i+1])
	}
	return b
}

// migration is one inline migration step.
func migration(oldTag, newTag string, newSqlite ...string) workers.ScriptUpdateParamsMetadataMigrationsUnion {
	var m workers.SingleStepMigrationParam
	if oldTag != "" {
		set(&m.OldTag, oldTag)
	}
	set(&m.NewTag, newTag)
	if len(newSqlite) > 0 {
		set(&m.NewSqliteClasses, newSqlite)
	}
	return m
}

type uploader struct {
	t   *testing.T
	svc *workers.ScriptService
}

func (u uploader) put(name string, bindings []workers.ScriptUpdateParamsMetadataBindingUnion,
	mig workers.ScriptUpdateParamsMetadataMigrationsUnion, keepSecrets bool, files ...io.Reader,
) (*workers.ScriptUpdateResponse, error) {
	var meta workers.ScriptUpdateParamsMetadata
	set(&meta.MainModule, "index.js")
	set(&meta.CompatibilityDate, "2025-06-01")
	if bindings != nil {
		set(&meta.Bindings, bindings)
	}
	if mig != nil {
		set(&meta.Migrations, mig)
	}
	if keepSecrets {
		set(&meta.KeepBindings, []string{"secret_text"})
	}
	if files == nil {
		files = []io.Reader{module("index.js", "export default {}")}
	}
	var p workers.ScriptUpdateParams
	set(&p.AccountID, acct)
	set(&p.Metadata, meta)
	set(&p.Files, files)
	return u.svc.Update(ctx, name, p)
}

// parts lists a recorded multipart body as "name|filename|content type".
func parts(t *testing.T, r cffake.Request) []string {
	t.Helper()
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		_, disp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		out = append(out, disp["name"]+"|"+disp["filename"]+"|"+p.Header.Get("Content-Type"))
	}
}

func TestScriptUploadAndMigrations(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	ns := s.AddNamespace(acct, "meta")
	s.AddBucket(acct, "media")
	u := uploader{t, workers.NewScriptService(opts(s)...)}
	bindings := []workers.ScriptUpdateParamsMetadataBindingUnion{
		binding("durable_object_namespace", "HUB", "ClassName", "Hub"),
		binding("kv_namespace", "META", "NamespaceID", ns.ID),
		binding("r2_bucket", "MEDIA", "BucketName", "media"),
		binding("secret_text", "TOKEN", "Text", "s3cret"),
	}
	res, err := u.put("core", bindings, migration("", "v1", "Hub"), false,
		module("index.js", `import "./lib/util.js"; export class Hub {}; export default {}`),
		module("lib/util.js", "export const x = 1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "core" || res.MigrationTag != "v1" || res.StartupTimeMs != 5 || res.Etag == "" || res.CompatibilityDate != "2025-06-01" {
		t.Fatalf("upload answer = %s", res.JSON.RawJSON())
	}

	wire := parts(t, s.Requests()[0])
	t.Logf("script upload parts (name|filename|content type): %q", wire)
	want := []string{"files|index.js|application/javascript+module", "files|lib/util.js|application/javascript+module", "metadata||application/json"}
	if !slices.Equal(wire, want) {
		t.Fatalf("wire parts = %q, want %q", wire, want)
	}

	sc, ok := s.Script(acct, "core")
	if !ok {
		t.Fatal("script not stored")
	}
	if got := slices.Sorted(maps.Keys(sc.Modules)); !slices.Equal(got, []string{"index.js", "lib/util.js"}) {
		t.Fatalf("modules = %v", got)
	}
	if sc.Modules["lib/util.js"].ContentType != "application/javascript+module" || string(sc.Modules["lib/util.js"].Body) != "export const x = 1" {
		t.Fatalf("lib/util.js = %+v", sc.Modules["lib/util.js"])
	}
	if sc.MigrationTag != "v1" || !sc.Classes["Hub"] || sc.Secrets["TOKEN"] != "s3cret" || sc.Uploads != 1 || sc.Metadata["main_module"] != "index.js" {
		t.Fatalf("stored = %+v", sc)
	}

	// A redeploy names the current tag; with keep_bindings the secret stays.
	res, err = u.put("core", bindings[:1], migration("v1", "v2"), true)
	if err != nil || res.MigrationTag != "v2" {
		t.Fatalf("second upload = %v, %v", res, err)
	}
	// No migrations: the tag stays; without keep_bindings secrets go.
	if _, err := u.put("core", bindings[:1], nil, false); err != nil {
		t.Fatal(err)
	}
	if sc, _ := s.Script(acct, "core"); sc.MigrationTag != "v2" || sc.Uploads != 3 || len(sc.Secrets) != 0 {
		t.Fatalf("after plain redeploy: tag %q, %d uploads, secrets %v", sc.MigrationTag, sc.Uploads, sc.Secrets)
	}

	_, err = u.put("core", bindings[:1], migration("v1", "v3"), false)
	wantAPIError(t, err, http.StatusBadRequest, 10079)
	_, err = u.put("core", bindings[:1], migration("", "v1", "Hub"), false)
	wantAPIError(t, err, http.StatusBadRequest, 10079)
	_, err = u.put("core", bindings[:1], migration("v2", "v3", "Hub"), false)
	wantAPIError(t, err, http.StatusBadRequest, 10074)
	if sc, _ := s.Script(acct, "core"); sc.MigrationTag != "v2" || sc.Uploads != 3 {
		t.Fatalf("a refused upload changed the script: tag %q, %d uploads", sc.MigrationTag, sc.Uploads)
	}

	var steps workers.ScriptUpdateParamsMetadataMigrationsWorkersMultipleStepMigrations
	var step workers.MigrationStepParam
	set(&step.NewClasses, []string{"Legacy"})
	set(&steps.OldTag, "v2")
	set(&steps.NewTag, "v3")
	set(&steps.Steps, []workers.MigrationStepParam{step})
	if _, err := u.put("core", nil, steps, false); err != nil {
		t.Fatalf("steps migration: %v", err)
	}
	if sc, _ := s.Script(acct, "core"); sc.MigrationTag != "v3" || sc.Classes["Legacy"] || !sc.Classes["Hub"] {
		t.Fatalf("after steps: %q %v", sc.MigrationTag, sc.Classes)
	}
}

func TestScriptUploadRefusals(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	u := uploader{t, workers.NewScriptService(opts(s)...)}
	if _, err := u.put("api", nil, nil, false); err != nil {
		t.Fatal(err)
	}
	one := func(b workers.ScriptUpdateParamsMetadataBindingUnion) []workers.ScriptUpdateParamsMetadataBindingUnion {
		return []workers.ScriptUpdateParamsMetadataBindingUnion{b}
	}
	for _, c := range []struct {
		name     string
		bindings []workers.ScriptUpdateParamsMetadataBindingUnion
		mig      workers.ScriptUpdateParamsMetadataMigrationsUnion
		files    []io.Reader
		code     int
	}{
		{"DO class never migrated", one(binding("durable_object_namespace", "HUB", "ClassName", "Hub")), nil, nil, 10061},
		{"DO class of a missing script", one(binding("durable_object_namespace", "HUB", "ClassName", "Hub", "ScriptName", "ghost")), nil, nil, 10061},
		{"old_tag on a new script", nil, migration("v1", "v2", "Hub"), nil, 10079},
		{"main module not uploaded", nil, nil, []io.Reader{module("main.js", "")}, 10021},
		{"JS sent as bytes", nil, nil, []io.Reader{file{strings.NewReader(""), "index.js", "application/octet-stream"}}, 10021},
		{"unknown KV namespace", one(binding("kv_namespace", "META", "NamespaceID", strings.Repeat("a", 32))), nil, nil, 10041},
		{"unknown R2 bucket", one(binding("r2_bucket", "MEDIA", "BucketName", "nope")), nil, nil, 10085},
		{"unknown service", one(binding("service", "API", "Service", "ghost")), nil, nil, 10143},
		{"secret without text", one(binding("secret_text", "TOKEN")), nil, nil, 10021},
	} {
		_, err := u.put("new", c.bindings, c.mig, false, c.files...)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		wantAPIError(t, err, http.StatusBadRequest, c.code)
	}
	if _, ok := s.Script(acct, "new"); ok {
		t.Fatal("a refused upload created the script")
	}
	if _, err := u.put("new", one(binding("service", "API", "Service", "api")), nil, false); err != nil {
		t.Fatalf("service binding to an existing script: %v", err)
	}
}

func TestScriptRoutes(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	svc := workers.NewScriptService(opts(s)...)
	u := uploader{t, svc}
	if _, err := u.put("core", []workers.ScriptUpdateParamsMetadataBindingUnion{
		binding("durable_object_namespace", "HUB", "ClassName", "Hub"),
	}, migration("", "v1", "Hub"), false); err != nil {
		t.Fatal(err)
	}

	var list workers.ScriptListParams
	set(&list.AccountID, acct)
	page, err := svc.List(ctx, list)
	if err != nil || len(page.Result) != 1 || page.Result[0].ID != "core" || page.Result[0].MigrationTag != "v1" || !page.Result[0].HasModules {
		t.Fatalf("list = %+v, %v", page, err)
	}

	var on workers.ScriptSubdomainNewParams
	set(&on.AccountID, acct)
	set(&on.Enabled, true)
	flags, err := svc.Subdomain.New(ctx, "core", on)
	if err != nil || !flags.Enabled || !flags.PreviewsEnabled {
		t.Fatalf("enable = %+v, %v", flags, err)
	}
	var get workers.ScriptSubdomainGetParams
	set(&get.AccountID, acct)
	if got, err := svc.Subdomain.Get(ctx, "core", get); err != nil || !got.Enabled {
		t.Fatalf("subdomain = %+v, %v", got, err)
	}
	if sc, _ := s.Script(acct, "core"); !sc.WorkersDev {
		t.Fatal("WorkersDev not set")
	}
	_, err = svc.Subdomain.Get(ctx, "ghost", get)
	wantAPIError(t, err, http.StatusNotFound, 10007)

	var secret workers.ScriptSecretUpdateParams
	var body workers.ScriptSecretUpdateParamsBodyWorkersBindingKindSecretText
	set(&secret.AccountID, acct)
	set(&body.Name, "TOKEN")
	set(&body.Text, "s3cret")
	set(&body.Type, "secret_text")
	secret.Body = body
	if got, err := svc.Secrets.Update(ctx, "core", secret); err != nil || got.Name != "TOKEN" {
		t.Fatalf("secret put = %+v, %v", got, err)
	}
	_, err = svc.Secrets.Update(ctx, "ghost", secret)
	wantAPIError(t, err, http.StatusNotFound, 10007)
	var secrets workers.ScriptSecretListParams
	set(&secrets.AccountID, acct)
	names, err := svc.Secrets.List(ctx, "core", secrets)
	if err != nil || len(names.Result) != 1 || names.Result[0].Name != "TOKEN" || strings.Contains(names.JSON.RawJSON(), "s3cret") {
		t.Fatalf("secret list = %+v, %v", names, err)
	}
	if sc, _ := s.Script(acct, "core"); sc.Secrets["TOKEN"] != "s3cret" {
		t.Fatalf("secrets = %v", sc.Secrets)
	}

	code, env := do(t, s, "GET", "/accounts/"+acct+"/workers/durable_objects/namespaces", "", nil)
	items, _ := env["result"].([]any)
	if code != 200 || len(items) != 1 || items[0].(map[string]any)["class"] != "Hub" {
		t.Fatalf("DO namespaces = %d %v", code, env)
	}

	var del workers.ScriptDeleteParams
	set(&del.AccountID, acct)
	if _, err := svc.Delete(ctx, "core", del); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Script(acct, "core"); ok {
		t.Fatal("script still there after DELETE")
	}
	_, err = svc.Delete(ctx, "core", del)
	wantAPIError(t, err, http.StatusNotFound, 10007)
}
