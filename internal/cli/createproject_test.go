package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

func TestNewCreateProjectCmd(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want createProjectOptions
	}{
		{nil, createProjectOptions{dataDir: DefaultDataDir, url: DefaultURL}},
		{[]string{"demo"}, createProjectOptions{name: "demo", dataDir: DefaultDataDir, url: DefaultURL}},
		{
			[]string{"demo", "--secret", "0123456789abcdef", "--json", "--data-dir", "/d", "--url", "http://h:1"},
			createProjectOptions{name: "demo", secret: "0123456789abcdef", asJSON: true, dataDir: "/d", url: "http://h:1"},
		},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var got *createProjectOptions
			ios := &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
			cmd := newCreateProjectCmd(ios, func(_ context.Context, o *createProjectOptions) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if got.now == nil {
				t.Fatal("no clock")
			}
			got.now = nil
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestCreateProjectRun(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new", "state") // created on demand
		r := runCLI(t, false, "", "create-project", "demo", "--json", "--data-dir", dir, "--url", "http://127.0.0.1:9/").must(t)
		res := decodeJSON[createProjectResult](t, r.out)
		if res.Project != "demo" || len(res.Secret) != 64 || res.KeyID != (registry.Secret{Value: res.Secret}).ID() {
			t.Fatalf("got %+v", res)
		}
		c, err := token.Verify(res.Token, []string{res.Secret}, time.Now())
		if err != nil {
			t.Fatalf("printed token does not verify: %v", err)
		}
		if c.Subject != "demo" || c.Scope != token.ScopeWrite || c.StreamID != "" || !c.ExpiresAt.Time.Equal(res.TokenExpiresAt) ||
			c.ExpiresAt.Time.Sub(c.IssuedAt.Time) != time.Hour {
			t.Fatalf("claims %+v, expiry %s", c, res.TokenExpiresAt)
		}
		if len(res.Curl) != 3 {
			t.Fatalf("curl: %q", res.Curl)
		}
		for _, line := range res.Curl {
			if !strings.HasPrefix(line, "curl ") || !strings.Contains(line, `-H "Authorization: Bearer `+res.Token+`"`) ||
				!strings.HasSuffix(line, " http://127.0.0.1:9/v1/demo/stream/hello") {
				t.Fatalf("curl line %q", line)
			}
		}
		if r.err != "" {
			t.Fatalf("stderr %q", r.err)
		}
		st := openStore(t, dir)
		p, err := st.Project(context.Background(), "demo")
		if err != nil || len(p.Secrets) != 1 || p.Secrets[0].Value != res.Secret {
			t.Fatalf("stored %+v, %v", p, err)
		}
		if fi, err := os.Stat(st.Path()); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("database holding secrets: %v, mode %v; want 0600", err, fi.Mode())
		}
	})
	t.Run("human", func(t *testing.T) {
		dir := t.TempDir()
		secret := "0123456789abcdef-given"
		now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		var out, errOut bytes.Buffer
		ios := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
		ios.SetTTY(false, false)
		err := runCreateProject(context.Background(), ios, &createProjectOptions{name: "demo", secret: secret, dataDir: dir, url: DefaultURL, now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, _ := token.Mint(secret, "demo", token.ScopeWrite, "", time.Hour, now)
		for _, want := range []string{
			"Project:  demo",
			"Secret:   " + secret,
			"Key ID:   " + (registry.Secret{Value: secret}).ID(),
			"shown once",
			"valid until 2030-01-02T04:04:05Z:\n  " + tok + "\n",
			`  curl -X PUT -H "Authorization: Bearer ` + tok + `" -H "Content-Type: application/json" http://127.0.0.1:4437/v1/demo/stream/hello` + "\n",
			`  curl -X POST -H "Authorization: Bearer ` + tok + `" -H "Content-Type: application/json" -d '{"hello":"world"}' http://127.0.0.1:4437/v1/demo/stream/hello` + "\n",
			`  curl -H "Authorization: Bearer ` + tok + `" http://127.0.0.1:4437/v1/demo/stream/hello` + "\n",
			"dsctl token --project demo",
		} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("missing %q in:\n%s", want, out.String())
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		dir, _ := newProject(t, "demo")
		for _, tc := range []struct {
			name       string
			args       []string
			want, hint string
		}{
			{"exists", []string{"demo"}, "create-project: project demo already exists", "dsctl token --project demo"},
			{"no name, no terminal", nil, "create-project: missing the project NAME argument", "dsctl create-project NAME"},
			{"short secret", []string{"x", "--secret", "short"}, "create-project: --secret has 5 characters; it needs at least 16", "leave out --secret"},
			{"bad name", []string{"a b"}, `create-project: project name "a b" may only contain letters, digits`, ""},
			{"reserved name", []string{"streams"}, `create-project: project name "streams" is reserved`, ""},
			{"bad url", []string{"x", "--url", "127.0.0.1:4437"}, `invalid --url "127.0.0.1:4437"`, ""},
			{"two names", []string{"a", "b"}, `unexpected argument "b"`, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append(append([]string{"create-project"}, tc.args...), "--data-dir", dir)
				runCLI(t, false, "", args...).wantError(t, ExitError, tc.want, tc.hint)
			})
		}
		// Nothing but demo was created by the failures.
		ps, err := openStore(t, dir).Projects(context.Background())
		if err != nil || len(ps) != 1 {
			t.Fatalf("projects %+v, %v", ps, err)
		}
	})
	t.Run("bad secret creates no data dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "state")
		runCLI(t, false, "", "create-project", "x", "--secret", "short", "--data-dir", dir).wantError(t, ExitError, "--secret", "")
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("data dir created by a failed command: %v", err)
		}
	})
	t.Run("prompts on a terminal", func(t *testing.T) {
		t.Setenv("DSCTL_ACCESSIBLE", "1")
		dir := t.TempDir()
		// The first answer is refused by registry.CheckName and asked again.
		r := runCLI(t, true, "not valid\nprompted\n", "create-project", "--json", "--data-dir", dir).must(t)
		if res := decodeJSON[createProjectResult](t, r.out); res.Project != "prompted" {
			t.Fatalf("created %q", res.Project)
		}
		if !strings.Contains(r.err, "Project name") || !strings.Contains(r.err, "may only contain letters") {
			t.Fatalf("prompt and validation message should be on stderr: %q", r.err)
		}
	})
	t.Run("prompt ended without an answer", func(t *testing.T) {
		t.Setenv("DSCTL_ACCESSIBLE", "")
		t.Setenv("ACCESSIBLE", "1")
		dir := t.TempDir()
		r := runCLI(t, true, "", "create-project", "--data-dir", dir)
		if r.code != ExitCancelled || r.out != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
		}
	})
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4437/v1/demo/stream/hello": "http://127.0.0.1:4437/v1/demo/stream/hello",
		"Authorization: Bearer a.b.c":                `"Authorization: Bearer a.b.c"`,
		`{"hello":"world"}`:                          `'{"hello":"world"}'`,
		`it's $HOME`:                                 `'it'\''s $HOME'`,
		"":                                           `""`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
