package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/cli"
)

// Every command and help topic gets a page, and the pages carry the version
// and the SOURCE_DATE_EPOCH date.
func TestRunWritesAPagePerCommand(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600") // 2026-01-01
	dir := t.TempDir()
	if err := run(dir, "v1.2.3"); err != nil {
		t.Fatal(err)
	}

	want := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		want[strings.ReplaceAll(c.CommandPath(), " ", "-")+".1"] = true
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.Command())

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Name()] = true
	}
	for name := range want {
		if !got[name] {
			t.Errorf("no page %s", name)
		}
	}
	for name := range got {
		if !want[name] {
			t.Errorf("unexpected page %s", name)
		}
	}
	for _, must := range []string{"dsctl.1", "dsctl-serve.1", "dsctl-exit-codes.1", "dsctl-version.1"} {
		if !got[must] {
			t.Errorf("no page %s", must)
		}
	}

	b, err := os.ReadFile(filepath.Join(dir, "dsctl-serve.1"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.Contains(page, `.TH "DSCTL-SERVE" "1" "Jan 2026" "dsctl 1.2.3" "dsctl Manual"`) {
		t.Errorf("dsctl-serve.1 header:\n%s", strings.SplitN(page, "\n", 3)[1])
	}
	if strings.Contains(page, "Auto generated") {
		t.Error("page carries cobra's auto-generated tag (a build date)")
	}
}
