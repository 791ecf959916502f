package cffake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"slices"
	"strings"
	"time"
)

// upload is a decoded script upload.
type upload struct {
	raw     []byte         // the metadata part
	decoded map[string]any // the same, decoded
	meta    struct {
		MainModule   string           `json:"main_module"`
		BodyPart     string           `json:"body_part"`
		Bindings     []map[string]any `json:"bindings"`
		KeepBindings []string         `json:"keep_bindings"`
		Migrations   json.RawMessage  `json:"migrations"`
	}
	modules map[string]Module
}

var (
	jsModuleTypes = []string{"application/javascript+module", "text/javascript+module"}
	// partTypes are the part types the API documents for an upload.
	partTypes = append([]string{"application/javascript", "text/javascript", "text/x-python",
		"text/x-python-requirement", "application/wasm", "text/plain", "application/octet-stream",
		"application/source-map"}, jsModuleTypes...)
)

// parseUpload reads the multipart form: a "metadata" part (with or without a
// filename) and module parts indexed by filename, or by part name when a
// part has none. Filenames are taken whole: mime/multipart's FileName would
// cut "lib/util.js" to "util.js".
func parseUpload(contentType string, body []byte) (*upload, *refusal) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" {
		return nil, refuse(10021, "a script upload must be multipart/form-data, not %q", contentType)
	}
	up := &upload{modules: map[string]Module{}}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, refuse(10021, "malformed multipart body: %v", err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, refuse(10021, "malformed multipart body: %v", err)
		}
		_, disp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		name, file := disp["name"], disp["filename"]
		if name == "metadata" && up.raw == nil {
			up.raw = data
			continue
		}
		if file == "" {
			file = name
		}
		if _, dup := up.modules[file]; dup {
			return nil, refuse(10021, "more than one module is named %q", file)
		}
		up.modules[file] = Module{ContentType: p.Header.Get("Content-Type"), Body: data}
	}
	if up.raw == nil {
		return nil, refuse(10021, "could not read content for part metadata")
	}
	if err := json.Unmarshal(up.raw, &up.meta); err != nil {
		return nil, refuse(10021, "could not parse the metadata part: %v", err)
	}
	_ = json.Unmarshal(up.raw, &up.decoded)
	return up, up.checkModules()
}

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

// checkModules wants an ES module as main_module (or a script as body_part),
// a documented type on every part, and .js/.mjs files sent as JS modules: a
// JS file sent as text or bytes imports as a string, which the real API's
// startup check then rejects.
func (up *upload) checkModules() *refusal {
	main := up.meta.MainModule
	if main == "" {
		main = up.meta.BodyPart
	}
	if main == "" {
		return refuse(10021, "metadata names no main_module")
	}
	if _, ok := up.modules[main]; !ok {
		return refuse(10021, "No such module %q: main_module must name an uploaded file", main)
	}
	for _, name := range slices.Sorted(maps.Keys(up.modules)) {
		ct := mediaType(up.modules[name].ContentType)
		isModule := slices.Contains(jsModuleTypes, ct)
		switch {
		case !slices.Contains(partTypes, ct):
			return refuse(10021, "module %q has content type %q, which is not a module type", name, ct)
		case up.meta.BodyPart == "" && !isModule && (name == main || isJSName(name)):
			return refuse(10021, "module %q has content type %q; a JavaScript module needs application/javascript+module", name, ct)
		}
	}
	return nil
}

func isJSName(name string) bool {
	return strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".mjs")
}

// checkBindings applies the real API's upload-time checks: every binding has
// a type and a unique name, and what it points at exists.
func (a *account) checkBindings(self string, bindings []map[string]any, classes map[string]bool) *refusal {
	seen := map[string]bool{}
	for i, b := range bindings {
		typ, name := str(b, "type"), str(b, "name")
		if typ == "" || name == "" {
			return refuse(10021, "binding %d needs both a type and a name", i)
		}
		if seen[name] {
			return refuse(10021, "Binding name '%s' already in use", name)
		}
		seen[name] = true
		if r := a.checkBinding(self, typ, name, b, classes); r != nil {
			return r
		}
	}
	return nil
}

func (a *account) checkBinding(self, typ, name string, b map[string]any, classes map[string]bool) *refusal {
	switch typ {
	case "durable_object_namespace":
		class, other := str(b, "class_name"), str(b, "script_name")
		if class == "" {
			return refuse(10021, "durable_object_namespace binding %s needs a class_name", name)
		}
		if other == "" || other == self {
			if _, ok := classes[class]; !ok {
				return refuse(10061, "Cannot create binding for class '%s' because it is not currently configured "+
					"to implement Durable Objects. Did you forget to apply a Durable Object migration?", class)
			}
			return nil
		}
		if t := a.scripts[other]; t == nil || !hasClass(t, class) {
			return refuse(10061, "Cannot create binding for class '%s' in script '%s': the script does not "+
				"exist or has no such Durable Object class", class, other)
		}
	case "service":
		if svc := str(b, "service"); svc != self && a.scripts[svc] == nil {
			return refuse(10143, "Could not resolve service binding '%s'. Target script '%s' not found.", name, svc)
		}
	case "kv_namespace":
		if id := str(b, "namespace_id"); a.namespace(id) == nil {
			return refuse(10041, "KV namespace '%s' is not valid for binding %s.", id, name)
		}
	case "r2_bucket":
		if bucket := str(b, "bucket_name"); a.buckets[bucket] == nil {
			return refuse(10085, "R2 bucket '%s' for binding %s does not exist.", bucket, name)
		}
	case "secret_text", "plain_text":
		if _, ok := b["text"].(string); !ok {
			return refuse(10021, "invalid or missing text property for binding %s", name)
		}
	}
	return nil
}

func hasClass(sc *script, class string) bool {
	_, ok := sc.Classes[class]
	return ok
}

// putScript is the Worker upload. Nothing changes unless every check passes.
func (s *Server) putScript(c *call) {
	name := c.p["script"]
	up, r := parseUpload(c.r.Header.Get("Content-Type"), c.body)
	old := c.acct.scripts[name]
	st := &migrated{classes: map[string]bool{}}
	if old != nil {
		st.tag = old.MigrationTag
		maps.Copy(st.classes, old.Classes)
	}
	if r == nil {
		r = c.acct.migrate(up.meta.Migrations, st)
	}
	if r == nil {
		r = c.acct.checkBindings(name, up.meta.Bindings, st.classes)
	}
	if r != nil {
		c.fail(r.status, r.code, "%s", r.msg)
		return
	}
	sc := c.acct.commit(name, up, st, c.body)
	out := sc.json()
	out["startup_time_ms"] = 5
	out["entry_point"] = sc.mainModule
	c.ok(out)
}

// commit stores an accepted upload. Secrets survive only when keep_bindings
// lists secret_text: an upload replaces the whole binding set.
func (a *account) commit(name string, up *upload, st *migrated, body []byte) *script {
	now := time.Now()
	sc := a.scripts[name]
	if sc == nil {
		sc = &script{created: now}
		sc.Name = name
		a.scripts[name] = sc
	}
	secrets := map[string]string{}
	if slices.Contains(up.meta.KeepBindings, "secret_text") {
		maps.Copy(secrets, sc.Secrets)
	}
	for _, b := range up.meta.Bindings {
		if str(b, "type") == "secret_text" {
			secrets[str(b, "name")] = str(b, "text")
		}
	}
	for _, mv := range st.transfers {
		if src := a.scripts[mv.FromScript]; src != nil {
			delete(src.Classes, mv.From)
		}
	}
	sum := sha256.Sum256(body)
	sc.Metadata, sc.MetadataRaw, sc.Modules = up.decoded, up.raw, up.modules
	sc.MigrationTag, sc.Classes, sc.Secrets = st.tag, st.classes, secrets
	sc.mainModule = up.meta.MainModule
	if sc.mainModule == "" {
		sc.mainModule = up.meta.BodyPart
	}
	sc.Uploads++
	sc.etag = hex.EncodeToString(sum[:])
	sc.updated = now
	return sc
}
