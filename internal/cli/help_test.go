package cli

import (
	"github.com/spf13/cobra"

	"bytes"
	"strings"
	"testing"
)

func TestHelpTopics(t *testing.T) {
	for topic, want := range map[string]string{
		"exit-codes":  "4  authentication failed",
		"environment": "DSCTL_ACCESSIBLE",
	} {
		var out, errOut bytes.Buffer
		if code := Run([]string{"help", topic}, &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}); code != ExitOK {
			t.Fatalf("dsctl help %s: exit %d, stderr %q", topic, code, errOut.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("dsctl help %s does not mention %q:\n%s", topic, want, out.String())
		}
	}
}

// TestEveryCommandHasAnExample walks the command tree: each runnable
// command's --help shows at least one example.
func TestEveryCommandHasAnExample(t *testing.T) {
	root := newRootCmd(&IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	root.InitDefaultHelpCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			if c.Name() == "completion" {
				continue // cobra's per-shell commands carry install steps instead
			}
			if sub.Runnable() && sub.Example == "" && len(sub.Commands()) == 0 {
				t.Errorf("%s has no example in its --help", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
}
