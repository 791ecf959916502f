package templates

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// onDisk lists every regular file under the template directories, as
// slash-separated paths relative to this package.
func onDisk(t *testing.T) []string {
	t.Helper()
	var files []string
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		err := filepath.WalkDir(e.Name(), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, filepath.ToSlash(p))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func TestEmbedListsEveryFile(t *testing.T) {
	files := onDisk(t)
	if len(files) == 0 {
		t.Fatal("no template files found on disk")
	}
	for _, p := range files {
		got, err := fs.ReadFile(FS, p)
		if err != nil {
			t.Errorf("%s is on disk but not embedded (add its directory to the go:embed line): %v", p, err)
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: embedded content differs from the file on disk", p)
		}
	}
	// And nothing is embedded that is not on disk.
	seen := map[string]bool{}
	for _, p := range files {
		seen[p] = true
	}
	_ = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !seen[p] {
			t.Errorf("%s is embedded but not on disk", p)
		}
		return err
	})
}

func TestCoreTemplateFiles(t *testing.T) {
	for _, p := range []string{"core/worker.js", "core/stream_do.js", "core/wrangler.toml"} {
		if _, err := fs.Stat(FS, p); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
}

// importRE finds module specifiers: `import … from "x"`, `export … from
// "x"`, bare `import "x"` and dynamic `import("x")`.
var importRE = regexp.MustCompile(`(?m)(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']`)

// allowedImport reports whether a specifier needs no npm package: a
// relative path or a Workers runtime module.
func allowedImport(spec string) bool {
	return strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../") || strings.HasPrefix(spec, "cloudflare:")
}

func TestNoNpmImports(t *testing.T) {
	n := 0
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".mjs")) {
			return err
		}
		n++
		src, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			if !allowedImport(m[1]) {
				t.Errorf("%s imports %q: templates may only import relative modules and cloudflare:*", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no .js templates found")
	}
}

func TestImportRE(t *testing.T) {
	cases := map[string]string{
		`import { x } from "hono";`:                                  "hono",
		`import x from 'jose'`:                                       "jose",
		`export { y } from "./y.js";`:                                "./y.js",
		`import "polyfill";`:                                         "polyfill",
		`const m = await import("@scope/pkg");`:                      "@scope/pkg",
		"import {\n  DurableObject,\n} from \"cloudflare:workers\";": "cloudflare:workers",
	}
	for src, want := range cases {
		m := importRE.FindStringSubmatch(src)
		if m == nil || m[1] != want {
			t.Errorf("%q: got %v, want %q", src, m, want)
		}
	}
	if allowedImport("hono") || !allowedImport("./x.js") || !allowedImport("cloudflare:workers") {
		t.Error("allowedImport is wrong")
	}
}

func TestSubscriptionTemplateFiles(t *testing.T) {
	for _, p := range []string{"subscription/worker.js", "subscription/pubsub_do.js", "subscription/wrangler.toml"} {
		if _, err := fs.Stat(FS, p); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
}

// TestSharedCopiesIdentical: each worker folder must be uploadable on its
// own, so the subscription worker carries copies of core's auth and
// protocol modules; they must not drift (seed lesson 15).
func TestSharedCopiesIdentical(t *testing.T) {
	for _, name := range []string{"auth.js", "protocol.js"} {
		a, err := fs.ReadFile(FS, "core/"+name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fs.ReadFile(FS, "subscription/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("subscription/%s differs from core/%s: copy core's over it (cp templates/core/%s templates/subscription/)", name, name, name)
		}
	}
}
