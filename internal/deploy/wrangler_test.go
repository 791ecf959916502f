package deploy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// minimalConfig is the smallest wrangler.toml ParseWorkerConfig accepts.
const minimalConfig = `name = "w"
main = "worker.js"
compatibility_date = "2025-04-01"
`

func TestParseWorkerConfigRenderedTemplates(t *testing.T) {
	l := &Layout{
		Components:         []string{Core, Subscription},
		CoreWorker:         "core-w",
		SubscriptionWorker: "sub-w",
		Bucket:             "segs",
		KVNamespaceID:      "0123456789abcdef0123456789abcdef",
		Metrics:            true,
	}
	files, err := Render(l)
	if err != nil {
		t.Fatal(err)
	}
	for _, comp := range l.Components {
		p := comp + "/" + WranglerFile
		cfg, err := ParseWorkerConfig(p, files[p])
		if err != nil {
			t.Fatalf("%s does not parse: %v", p, err)
		}
		if cfg.Name != l.WorkerName(comp) || cfg.Main != "worker.js" || cfg.CompatibilityDate == "" {
			t.Errorf("%s: name %q main %q date %q", p, cfg.Name, cfg.Main, cfg.CompatibilityDate)
		}
		// Both templates create their Durable Object classes in v1.
		if len(cfg.Migrations) != 1 || cfg.Migrations[0].Tag != "v1" || len(cfg.Migrations[0].NewSqliteClasses) != 2 {
			t.Errorf("%s: migrations %+v", p, cfg.Migrations)
		}
	}
}

func TestParseWorkerConfigErrors(t *testing.T) {
	tests := []struct {
		name, toml, want string
	}{
		{"syntax", "name = ", "wrangler.toml:"},
		{"unknown top-level key", minimalConfig + "routes = [\"example.com/*\"]\n", `"routes"`},
		{"unknown table", minimalConfig + "[triggers]\ncrons = [\"* * * * *\"]\n", `"triggers`},
		{"unknown key in known table", minimalConfig + "[[kv_namespaces]]\nbinding = \"R\"\nid = \"x\"\npreview_id = \"y\"\n", `"kv_namespaces.preview_id"`},
		{"no name", "main = \"worker.js\"\ncompatibility_date = \"2025-04-01\"\n", "name is missing"},
		{"no main", "name = \"w\"\ncompatibility_date = \"2025-04-01\"\n", "main is missing"},
		{"no compatibility_date", "name = \"w\"\nmain = \"worker.js\"\n", "compatibility_date is missing"},
		{"migration without tag", minimalConfig + "[[migrations]]\nnew_classes = [\"A\"]\n", "migration 1 has no tag"},
		{"duplicate migration tag", minimalConfig + "[[migrations]]\ntag = \"v1\"\n[[migrations]]\ntag = \"v1\"\n", `migration tag "v1" is used twice`},
		{"placeholder KV id", minimalConfig + "[[kv_namespaces]]\nbinding = \"REGISTRY\"\nid = \"REPLACE_WITH_KV_NAMESPACE_ID\"\n", "placeholder id REPLACE_WITH_KV_NAMESPACE_ID"},
		{"KV without id", minimalConfig + "[[kv_namespaces]]\nbinding = \"REGISTRY\"\n", "needs binding and id"},
		{"DO without class", minimalConfig + "[[durable_objects.bindings]]\nname = \"S\"\n", "needs name and class_name"},
		{"R2 without bucket", minimalConfig + "[[r2_buckets]]\nbinding = \"B\"\n", "needs binding and bucket_name"},
		{"service without service", minimalConfig + "[[services]]\nbinding = \"CORE\"\n", "needs binding and service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseWorkerConfig(WranglerFile, []byte(tt.toml))
			if err == nil {
				t.Fatalf("parsed as %+v, want an error", cfg)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			// The file name leads, so the user knows which folder is wrong.
			if !strings.HasPrefix(err.Error(), WranglerFile+": ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestBindings(t *testing.T) {
	cfg, err := ParseWorkerConfig(WranglerFile, []byte(minimalConfig+`
[vars]
B_TEXT = "x"
A_NUM = 3
C_BOOL = true
D_LIST = [1, 2]
E_TABLE = { k = "v" }
F_FALSE = false
G_ZERO = 0

[vars.H_SECTION]
nested = ["a"]

[[durable_objects.bindings]]
name = "STREAMS"
class_name = "StreamDO"

[[durable_objects.bindings]]
name = "OTHER"
class_name = "OtherDO"
script_name = "elsewhere"

[[kv_namespaces]]
binding = "REGISTRY"
id = "ns1"

[[r2_buckets]]
binding = "SEGMENTS"
bucket_name = "segs"

[[services]]
binding = "CORE"
service = "core-w"
entrypoint = "CoreRPC"

[[services]]
binding = "PLAIN"
service = "other-w"

[[analytics_engine_datasets]]
binding = "METRICS"
dataset = "ds"
`))
	if err != nil {
		t.Fatal(err)
	}
	// Compared as JSON: the wire shape (which fields are left out) is what
	// the API checks.
	got, err := json.Marshal(cfg.Bindings())
	if err != nil {
		t.Fatal(err)
	}
	want := `[` +
		`{"type":"json","name":"A_NUM","json":3},` +
		`{"type":"plain_text","name":"B_TEXT","text":"x"},` +
		`{"type":"json","name":"C_BOOL","json":true},` +
		`{"type":"json","name":"D_LIST","json":[1,2]},` +
		`{"type":"json","name":"E_TABLE","json":{"k":"v"}},` +
		`{"type":"json","name":"F_FALSE","json":false},` +
		`{"type":"json","name":"G_ZERO","json":0},` +
		`{"type":"json","name":"H_SECTION","json":{"nested":["a"]}},` +
		`{"type":"durable_object_namespace","name":"STREAMS","class_name":"StreamDO"},` +
		`{"type":"durable_object_namespace","name":"OTHER","class_name":"OtherDO","script_name":"elsewhere"},` +
		`{"type":"kv_namespace","name":"REGISTRY","namespace_id":"ns1"},` +
		`{"type":"r2_bucket","name":"SEGMENTS","bucket_name":"segs"},` +
		`{"type":"service","name":"CORE","service":"core-w","entrypoint":"CoreRPC"},` +
		`{"type":"service","name":"PLAIN","service":"other-w"},` +
		`{"type":"analytics_engine","name":"METRICS","dataset":"ds"}` +
		`]`
	if string(got) != want {
		t.Errorf("bindings\n got %s\nwant %s", got, want)
	}
}

func TestBindingsEmptyString(t *testing.T) {
	// The API requires "text" on plain_text, so an empty var must still
	// send it rather than lose it to omitempty.
	cfg, err := ParseWorkerConfig(WranglerFile, []byte(minimalConfig+"[vars]\nEMPTY = \"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(cfg.Bindings())
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"type":"plain_text","name":"EMPTY","text":""}]`; string(got) != want {
		t.Errorf("bindings %s, want %s", got, want)
	}
}

func migrationConfig(t *testing.T, tags ...string) *WorkerConfig {
	t.Helper()
	var sb strings.Builder
	sb.WriteString(minimalConfig)
	for _, tag := range tags {
		sb.WriteString("[[migrations]]\ntag = \"" + tag + "\"\nnew_sqlite_classes = [\"C" + tag + "\"]\n")
	}
	cfg, err := ParseWorkerConfig(WranglerFile, []byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPendingMigrations(t *testing.T) {
	tests := []struct {
		name      string
		tags      []string
		current   string
		wantSteps []string // nil: nothing to send
		wantOld   string
		wantNew   string
		wantErr   error
	}{
		{name: "new script", tags: []string{"v1", "v2"}, current: "", wantSteps: []string{"v1", "v2"}, wantNew: "v2"},
		{name: "new script without migrations", tags: nil, current: ""},
		{name: "up to date", tags: []string{"v1"}, current: "v1"},
		{name: "one behind", tags: []string{"v1", "v2"}, current: "v1", wantSteps: []string{"v2"}, wantOld: "v1", wantNew: "v2"},
		{name: "two behind", tags: []string{"v1", "v2", "v3"}, current: "v1", wantSteps: []string{"v2", "v3"}, wantOld: "v1", wantNew: "v3"},
		{name: "unknown tag", tags: []string{"v1", "v2"}, current: "other", wantErr: ErrUnknownMigrationTag},
		{name: "tag but no migrations", tags: nil, current: "v1", wantErr: ErrUnknownMigrationTag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, err := migrationConfig(t, tt.tags...).PendingMigrations(tt.current)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				// The message says where the script is and what the file has.
				if !strings.Contains(err.Error(), `"`+tt.current+`"`) {
					t.Errorf("error %q does not name the current tag", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSteps == nil {
				if mp != nil {
					t.Fatalf("plan %+v, want nil", mp)
				}
				return
			}
			if mp == nil {
				t.Fatal("plan is nil")
			}
			if got := migrationTags(mp); !slices.Equal(got, tt.wantSteps) {
				t.Errorf("steps %v, want %v", got, tt.wantSteps)
			}
			if mp.OldTag != tt.wantOld || mp.NewTag != tt.wantNew {
				t.Errorf("old %q new %q, want %q %q", mp.OldTag, mp.NewTag, tt.wantOld, tt.wantNew)
			}
		})
	}
}

func TestUploadMetadataJSON(t *testing.T) {
	cfg := migrationConfig(t, "v1", "v2")
	mp, err := cfg.PendingMigrations("v1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cfg.UploadMetadata(mp))
	if err != nil {
		t.Fatal(err)
	}
	// Tags travel as old_tag/new_tag only; a step carrying "tag" would be
	// an unknown field to the API.
	want := `{"main_module":"worker.js","compatibility_date":"2025-04-01","bindings":null,` +
		`"migrations":{"old_tag":"v1","new_tag":"v2","steps":[{"new_sqlite_classes":["Cv2"]}]},` +
		`"keep_bindings":["secret_text","secret_key"]}`
	if string(b) != want {
		t.Errorf("metadata\n got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(cfg.UploadMetadata(nil))
	if strings.Contains(string(b), "migrations") {
		t.Errorf("no pending migrations still sends them: %s", b)
	}
}

// writeTree creates files (slash paths) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadWorker(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		WranglerFile:                  strings.Replace(minimalConfig, `"worker.js"`, `"./worker.js"`, 1),
		"worker.js":                   "export default {}",
		"lib.mjs":                     "export const x = 1",
		"sub/dir.js":                  "export const y = 2",
		"sub/deeper/more.js":          "export const z = 3",
		"add.wasm":                    "\x00asm",
		"README.md":                   "not a module",
		"data.json":                   "{}",
		".git/hook.js":                "skipped",
		".wrangler/tmp/bundle.js":     "skipped",
		"sub/.cache/c.js":             "skipped",
		"node_modules/pkg/index.js":   "skipped",
		"sub/node_modules/p/i.js":     "skipped",
		"sub/.hidden.js.not-a-module": "",
	})
	cfg, mods, err := LoadWorker(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Main != "worker.js" {
		t.Errorf("Main = %q, want it cleaned to worker.js", cfg.Main)
	}
	if len(mods) == 0 || mods[0].Name != "worker.js" {
		t.Fatalf("the main module is not first: %+v", mods)
	}
	got := map[string]string{}
	for _, m := range mods {
		got[m.Name] = m.ContentType
	}
	want := map[string]string{
		"worker.js":          "application/javascript+module",
		"lib.mjs":            "application/javascript+module",
		"sub/dir.js":         "application/javascript+module",
		"sub/deeper/more.js": "application/javascript+module",
		"add.wasm":           "application/wasm",
	}
	if len(got) != len(want) || len(mods) != len(want) {
		t.Errorf("modules %v, want %v", got, want)
	}
	for name, ct := range want {
		if got[name] != ct {
			t.Errorf("module %s: type %q, want %q", name, got[name], ct)
		}
	}
	for _, m := range mods {
		if m.Name == "sub/dir.js" && string(m.Body) != "export const y = 2" {
			t.Errorf("sub/dir.js body %q", m.Body)
		}
	}
}

func TestLoadWorkerMain(t *testing.T) {
	tests := []struct {
		main    string
		want    string // "" = an error
		wantErr string
	}{
		{main: "worker.js", want: "worker.js"},
		{main: "./worker.js", want: "worker.js"},
		{main: "src/index.js", want: "src/index.js"},
		{main: "./src/../worker.js", want: "worker.js"},
		{main: "missing.js", wantErr: `main "missing.js" is not a module file`},
		{main: "README.md", wantErr: `main "README.md" is not a module file`},
		// A skipped folder's files are not uploaded, so they cannot be main.
		{main: "node_modules/pkg/index.js", wantErr: "is not a module file"},
	}
	for _, tt := range tests {
		t.Run(tt.main, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{
				WranglerFile:                strings.Replace(minimalConfig, `"worker.js"`, `"`+tt.main+`"`, 1),
				"worker.js":                 "export default {}",
				"src/index.js":              "export default {}",
				"README.md":                 "",
				"node_modules/pkg/index.js": "",
			})
			cfg, mods, err := LoadWorker(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Main != tt.want || mods[0].Name != tt.want {
				t.Errorf("Main %q, first module %q, want %q", cfg.Main, mods[0].Name, tt.want)
			}
		})
	}
}

func TestLoadWorkerErrors(t *testing.T) {
	t.Run("no wrangler.toml", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"worker.js": ""})
		if _, _, err := LoadWorker(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want not-exist", err)
		}
	})
	t.Run("invalid wrangler.toml", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{WranglerFile: minimalConfig + "routes = []\n", "worker.js": ""})
		_, _, err := LoadWorker(dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, WranglerFile)) {
			t.Fatalf("err = %v, want one naming the file's path", err)
		}
	})
}
