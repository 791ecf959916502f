package cffake

import (
	"maps"
	"net/http"
	"slices"
)

// sc finds the Worker the path names, answering 404 itself when missing.
func (c *call) sc() *script {
	sc := c.acct.scripts[c.p["script"]]
	if sc == nil {
		c.fail(http.StatusNotFound, 10007, "workers.api.error.script_not_found")
	}
	return sc
}

// json is the script object the list and the upload answer share.
func (sc *script) json() map[string]any {
	m := map[string]any{
		"id":                  sc.Name,
		"tag":                 hexID("script", sc.Name, stamp(sc.created)),
		"etag":                sc.etag,
		"handlers":            []string{"fetch"},
		"compatibility_date":  str(sc.Metadata, "compatibility_date"),
		"compatibility_flags": []string{},
		"created_on":          stamp(sc.created),
		"modified_on":         stamp(sc.updated),
		"has_modules":         true,
		"has_assets":          false,
		"logpush":             false,
		"usage_model":         "standard",
	}
	if flags, ok := sc.Metadata["compatibility_flags"].([]any); ok {
		m["compatibility_flags"] = flags
	}
	if sc.MigrationTag != "" {
		m["migration_tag"] = sc.MigrationTag
	}
	return m
}

func (s *Server) listScripts(c *call) {
	out := []map[string]any{}
	for _, n := range c.acct.scriptNames() {
		out = append(out, c.acct.scripts[n].json())
	}
	c.ok(out)
}

// getScript answers the main module's source, as the real API does for a
// single-module Worker.
func (s *Server) getScript(c *call) {
	if sc := c.sc(); sc != nil {
		c.raw("application/javascript", sc.Modules[sc.mainModule].Body)
	}
}

func (s *Server) deleteScript(c *call) {
	if sc := c.sc(); sc != nil {
		delete(c.acct.scripts, sc.Name)
		c.ok(nil)
	}
}

func (sc *script) subdomainJSON() map[string]bool {
	return map[string]bool{"enabled": sc.WorkersDev, "previews_enabled": sc.previews}
}

func (s *Server) getScriptSubdomain(c *call) {
	if sc := c.sc(); sc != nil {
		c.ok(sc.subdomainJSON())
	}
}

// postScriptSubdomain sets the workers.dev flags; previews follow enabled
// when the body leaves them out.
func (s *Server) postScriptSubdomain(c *call) {
	sc := c.sc()
	if sc == nil {
		return
	}
	var in struct {
		Enabled         bool  `json:"enabled"`
		PreviewsEnabled *bool `json:"previews_enabled"`
	}
	if !c.decode(&in) {
		return
	}
	sc.WorkersDev = in.Enabled
	sc.previews = in.Enabled
	if in.PreviewsEnabled != nil {
		sc.previews = *in.PreviewsEnabled
	}
	c.ok(sc.subdomainJSON())
}

func (s *Server) deleteScriptSubdomain(c *call) {
	if sc := c.sc(); sc != nil {
		sc.WorkersDev, sc.previews = false, false
		c.ok(sc.subdomainJSON())
	}
}

func (s *Server) putSecret(c *call) {
	sc := c.sc()
	if sc == nil {
		return
	}
	var in struct {
		Name string  `json:"name"`
		Text *string `json:"text"`
		Type string  `json:"type"`
	}
	if !c.decode(&in) {
		return
	}
	switch {
	case in.Type != "secret_text":
		c.fail(http.StatusBadRequest, 10021, "unsupported secret type %q; this fake knows secret_text", in.Type)
	case in.Name == "":
		c.fail(http.StatusBadRequest, 10021, "a secret needs a name")
	case in.Text == nil:
		c.fail(http.StatusBadRequest, 10021, "invalid or missing text property for binding %s", in.Name)
	default:
		sc.Secrets[in.Name] = *in.Text
		c.ok(map[string]string{"name": in.Name, "type": "secret_text"})
	}
}

// listSecrets never answers the text, like the real API.
func (s *Server) listSecrets(c *call) {
	sc := c.sc()
	if sc == nil {
		return
	}
	out := []map[string]string{}
	for _, n := range slices.Sorted(maps.Keys(sc.Secrets)) {
		out = append(out, map[string]string{"name": n, "type": "secret_text"})
	}
	c.ok(out)
}

// listDONamespaces reports one namespace per class a migration created.
func (s *Server) listDONamespaces(c *call) {
	var all []map[string]any
	for _, n := range c.acct.scriptNames() {
		sc := c.acct.scripts[n]
		for _, class := range slices.Sorted(maps.Keys(sc.Classes)) {
			all = append(all, map[string]any{
				"id":         hexID("do", c.acct.ID, n, class),
				"name":       n + "_" + class,
				"script":     n,
				"class":      class,
				"use_sqlite": sc.Classes[class],
			})
		}
	}
	lo, hi, info := c.paginate(len(all), 20, 1000)
	out := []map[string]any{}
	if all != nil {
		out = append(out, all[lo:hi]...)
	}
	c.list(out, info)
}

// str reads a string field of decoded JSON, "" when absent or not a string.
func str(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
}
