package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// WranglerFile is each worker folder's configuration file; dsctl reads
// the same file `wrangler deploy` would.
const WranglerFile = "wrangler.toml"

// WorkerConfig is the part of wrangler.toml that dsctl uploads. Keys it
// does not know are an error rather than silently not deployed.
type WorkerConfig struct {
	Name               string         `toml:"name"`
	Main               string         `toml:"main"`
	CompatibilityDate  string         `toml:"compatibility_date"`
	CompatibilityFlags []string       `toml:"compatibility_flags"`
	WorkersDev         *bool          `toml:"workers_dev"`
	Vars               map[string]any `toml:"vars"`
	DurableObjects     struct {
		Bindings []DOBinding `toml:"bindings"`
	} `toml:"durable_objects"`
	Migrations   []Migration      `toml:"migrations"`
	KVNamespaces []KVBinding      `toml:"kv_namespaces"`
	R2Buckets    []R2Binding      `toml:"r2_buckets"`
	Services     []ServiceBinding `toml:"services"`
	Analytics    []AEBinding      `toml:"analytics_engine_datasets"`
}

// DOBinding binds a Durable Object class (of this script unless ScriptName).
type DOBinding struct {
	Name       string `toml:"name"`
	ClassName  string `toml:"class_name"`
	ScriptName string `toml:"script_name"`
}

// Migration is one tagged Durable Object migration step.
type Migration struct {
	Tag              string          `toml:"tag" json:"-"`
	NewClasses       []string        `toml:"new_classes" json:"new_classes,omitempty"`
	NewSqliteClasses []string        `toml:"new_sqlite_classes" json:"new_sqlite_classes,omitempty"`
	DeletedClasses   []string        `toml:"deleted_classes" json:"deleted_classes,omitempty"`
	RenamedClasses   []RenamedClass  `toml:"renamed_classes" json:"renamed_classes,omitempty"`
	Transferred      []TransferClass `toml:"transferred_classes" json:"transferred_classes,omitempty"`
}

// RenamedClass is a renamed_classes entry.
type RenamedClass struct {
	From string `toml:"from" json:"from"`
	To   string `toml:"to" json:"to"`
}

// TransferClass is a transferred_classes entry.
type TransferClass struct {
	From       string `toml:"from" json:"from"`
	FromScript string `toml:"from_script" json:"from_script"`
	To         string `toml:"to" json:"to"`
}

// KVBinding binds a KV namespace.
type KVBinding struct {
	Binding string `toml:"binding"`
	ID      string `toml:"id"`
}

// R2Binding binds an R2 bucket.
type R2Binding struct {
	Binding    string `toml:"binding"`
	BucketName string `toml:"bucket_name"`
}

// ServiceBinding binds another worker (an entrypoint of it).
type ServiceBinding struct {
	Binding    string `toml:"binding"`
	Service    string `toml:"service"`
	Entrypoint string `toml:"entrypoint"`
}

// AEBinding binds an Analytics Engine dataset.
type AEBinding struct {
	Binding string `toml:"binding"`
	Dataset string `toml:"dataset"`
}

// ParseWorkerConfig decodes and checks a wrangler.toml.
func ParseWorkerConfig(name string, data []byte) (*WorkerConfig, error) {
	var c WorkerConfig
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, k := range md.Undecoded() {
		// A table-valued var is decoded whole into Vars, yet the decoder
		// still lists its inner keys as undecoded.
		if len(k) > 1 && k[0] == "vars" {
			continue
		}
		return nil, fmt.Errorf("%s: dsctl deploy does not support the key %q (use wrangler deploy for that)", name, k.String())
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

func (c *WorkerConfig) check() error {
	switch {
	case c.Name == "":
		return errors.New("name is missing")
	case c.Main == "":
		return errors.New("main is missing")
	case c.CompatibilityDate == "":
		return errors.New("compatibility_date is missing")
	}
	tags := map[string]bool{}
	for i, m := range c.Migrations {
		if m.Tag == "" {
			return fmt.Errorf("migration %d has no tag", i+1)
		}
		if tags[m.Tag] {
			return fmt.Errorf("migration tag %q is used twice", m.Tag)
		}
		tags[m.Tag] = true
	}
	for _, k := range c.KVNamespaces {
		if k.Binding == "" || k.ID == "" {
			return errors.New("every [[kv_namespaces]] needs binding and id")
		}
		if strings.HasPrefix(k.ID, "REPLACE_") {
			return fmt.Errorf("KV binding %s still has the placeholder id %s", k.Binding, k.ID)
		}
	}
	for _, d := range c.DurableObjects.Bindings {
		if d.Name == "" || d.ClassName == "" {
			return errors.New("every [[durable_objects.bindings]] needs name and class_name")
		}
	}
	for _, r := range c.R2Buckets {
		if r.Binding == "" || r.BucketName == "" {
			return errors.New("every [[r2_buckets]] needs binding and bucket_name")
		}
	}
	for _, s := range c.Services {
		if s.Binding == "" || s.Service == "" {
			return errors.New("every [[services]] needs binding and service")
		}
	}
	return nil
}

// Metadata is the multipart upload's "metadata" part.
type Metadata struct {
	MainModule         string         `json:"main_module"`
	CompatibilityDate  string         `json:"compatibility_date"`
	CompatibilityFlags []string       `json:"compatibility_flags,omitempty"`
	Bindings           []Binding      `json:"bindings"`
	Migrations         *MigrationPlan `json:"migrations,omitempty"`
	// KeepBindings keeps secrets set with `wrangler secret put` (or the
	// dashboard) across uploads, as wrangler does.
	KeepBindings []string `json:"keep_bindings,omitempty"`
}

// Binding is one entry of the upload's bindings (one shape for every
// type; the unused fields are left out).
type Binding struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Text        string `json:"text,omitempty"`
	JSON        any    `json:"json,omitempty"`
	ClassName   string `json:"class_name,omitempty"`
	ScriptName  string `json:"script_name,omitempty"`
	NamespaceID string `json:"namespace_id,omitempty"`
	BucketName  string `json:"bucket_name,omitempty"`
	Service     string `json:"service,omitempty"`
	Entrypoint  string `json:"entrypoint,omitempty"`
	Dataset     string `json:"dataset,omitempty"`
}

// MarshalJSON keeps "text" on a plain_text binding even when it is empty:
// the API requires the field, and omitempty would drop an empty var's.
func (b Binding) MarshalJSON() ([]byte, error) {
	type fields Binding
	if b.Type != "plain_text" {
		return json.Marshal(fields(b))
	}
	return json.Marshal(struct {
		fields
		Text string `json:"text"`
	}{fields(b), b.Text})
}

// MigrationPlan is the upload's migrations: the steps after the script's
// current tag (OldTag), ending at NewTag.
type MigrationPlan struct {
	OldTag string      `json:"old_tag,omitempty"`
	NewTag string      `json:"new_tag"`
	Steps  []Migration `json:"steps"`
}

// Bindings lists the config's bindings in a stable order.
func (c *WorkerConfig) Bindings() []Binding {
	var out []Binding
	keys := make([]string, 0, len(c.Vars))
	for k := range c.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s, ok := c.Vars[k].(string); ok {
			out = append(out, Binding{Type: "plain_text", Name: k, Text: s})
		} else {
			out = append(out, Binding{Type: "json", Name: k, JSON: c.Vars[k]})
		}
	}
	for _, d := range c.DurableObjects.Bindings {
		out = append(out, Binding{Type: "durable_object_namespace", Name: d.Name, ClassName: d.ClassName, ScriptName: d.ScriptName})
	}
	for _, k := range c.KVNamespaces {
		out = append(out, Binding{Type: "kv_namespace", Name: k.Binding, NamespaceID: k.ID})
	}
	for _, r := range c.R2Buckets {
		out = append(out, Binding{Type: "r2_bucket", Name: r.Binding, BucketName: r.BucketName})
	}
	for _, s := range c.Services {
		out = append(out, Binding{Type: "service", Name: s.Binding, Service: s.Service, Entrypoint: s.Entrypoint})
	}
	for _, a := range c.Analytics {
		out = append(out, Binding{Type: "analytics_engine", Name: a.Binding, Dataset: a.Dataset})
	}
	return out
}

// ErrUnknownMigrationTag means the deployed script's migration tag is not
// one of the config's: it was deployed from other sources.
var ErrUnknownMigrationTag = errors.New("deployed migration tag not found in wrangler.toml")

// PendingMigrations returns the migrations to send for a script whose
// current tag is current ("" for a new script): the steps after it, or
// nil when it is up to date. Tags are never re-applied.
func (c *WorkerConfig) PendingMigrations(current string) (*MigrationPlan, error) {
	start := 0
	if current != "" {
		i := slices.IndexFunc(c.Migrations, func(m Migration) bool { return m.Tag == current })
		if i < 0 {
			return nil, fmt.Errorf("%w: %s is at %q; wrangler.toml has %s", ErrUnknownMigrationTag, c.Name, current, c.migrationTags())
		}
		start = i + 1
	}
	if start >= len(c.Migrations) {
		return nil, nil
	}
	return &MigrationPlan{OldTag: current, NewTag: c.Migrations[len(c.Migrations)-1].Tag, Steps: c.Migrations[start:]}, nil
}

func (c *WorkerConfig) migrationTags() string {
	if len(c.Migrations) == 0 {
		return "no migrations"
	}
	tags := make([]string, len(c.Migrations))
	for i, m := range c.Migrations {
		tags[i] = m.Tag
	}
	return "tags " + strings.Join(tags, ", ")
}

// moduleTypes are the file types uploaded as modules, by extension.
var moduleTypes = map[string]string{
	".js":   "application/javascript+module",
	".mjs":  "application/javascript+module",
	".wasm": "application/wasm",
}

// LoadWorker reads a worker folder: its wrangler.toml and every module
// under it (dot folders and node_modules skipped), exactly as on disk.
func LoadWorker(dir string) (*WorkerConfig, []Module, error) {
	cfgPath := filepath.Join(dir, WranglerFile)
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := ParseWorkerConfig(cfgPath, data)
	if err != nil {
		return nil, nil, err
	}
	var mods []Module
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		ct, ok := moduleTypes[filepath.Ext(p)]
		if !ok {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mods = append(mods, Module{Name: filepath.ToSlash(rel), ContentType: ct, Body: body})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	main := path.Clean(strings.TrimPrefix(filepath.ToSlash(cfg.Main), "./"))
	i := slices.IndexFunc(mods, func(m Module) bool { return m.Name == main })
	if i < 0 {
		return nil, nil, fmt.Errorf("%s: main %q is not a module file in %s", cfgPath, cfg.Main, dir)
	}
	// The main module first, as wrangler sends it.
	mods[0], mods[i] = mods[i], mods[0]
	cfg.Main = main
	return cfg, mods, nil
}

// UploadMetadata is the metadata for uploading cfg with the given
// pending migrations.
func (c *WorkerConfig) UploadMetadata(m *MigrationPlan) *Metadata {
	return &Metadata{
		MainModule:         c.Main,
		CompatibilityDate:  c.CompatibilityDate,
		CompatibilityFlags: c.CompatibilityFlags,
		Bindings:           c.Bindings(),
		Migrations:         m,
		KeepBindings:       []string{"secret_text", "secret_key"},
	}
}
