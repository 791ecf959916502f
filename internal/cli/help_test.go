package cli

import (
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
