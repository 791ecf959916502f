package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/registry"
)

// cliRun is one in-process run of dsctl.
type cliRun struct {
	code     ExitCode
	out, err string
}

// runCLI runs dsctl with stdin as input; tty forces terminal detection on
// In and Out both ways, so no test depends on how it is run.
func runCLI(t *testing.T, tty bool, stdin string, args ...string) cliRun {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := &IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	ios.SetTTY(tty, tty)
	code := Run(args, ios)
	return cliRun{code: code, out: out.String(), err: errOut.String()}
}

// must fails the test unless the run succeeded.
func (r cliRun) must(t *testing.T) cliRun {
	t.Helper()
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.err)
	}
	return r
}

// wantError checks a failed run: the exit code, a one-line "dsctl: …"
// error containing want, an optional "Try: …" line containing hint, and
// nothing on stdout.
func (r cliRun) wantError(t *testing.T, code ExitCode, want, hint string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, code, r.err)
	}
	if r.out != "" {
		t.Fatalf("stdout should be empty on error, got %q", r.out)
	}
	lines := strings.Split(strings.TrimSuffix(r.err, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "dsctl: ") || !strings.Contains(lines[0], want) {
		t.Fatalf("first line %q, want a dsctl: error containing %q", lines[0], want)
	}
	if hint != "" {
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "Try: ") || !strings.Contains(lines[1], hint) {
			t.Fatalf("stderr %q, want a second line Try: … containing %q", r.err, hint)
		}
	}
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("stdout is not the JSON expected: %v\n%s", err, s)
	}
	return v
}

// newProject creates project name in a fresh data dir and returns the dir
// and the project's secret.
func newProject(t *testing.T, name string) (dir, secret string) {
	t.Helper()
	dir = t.TempDir()
	res := decodeJSON[createProjectResult](t, runCLI(t, false, "", "create-project", name, "--json", "--data-dir", dir).must(t).out)
	return dir, res.Secret
}

// openStore opens the data dir's registry directly, to check what the
// commands stored.
func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dir, sqlite.Full)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// createStream creates a stream in project through the engine, as the
// server would.
func createStream(t *testing.T, dir, project, name string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Full)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := engine.Open(ctx, st, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, err := eng.Create(ctx, engine.Key{Project: project, Name: name}, engine.CreateRequest{ContentType: "text/plain", TTLSeconds: -1}); err != nil {
		t.Fatal(err)
	}
}

// TestNewProjectCmds checks each project subcommand's arguments and flags
// reach its options.
func TestNewProjectCmds(t *testing.T) {
	ios := &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	run := func(t *testing.T, cmd interface {
		SetArgs([]string)
		Execute() error
	}, args ...string) {
		t.Helper()
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("list", func(t *testing.T) {
		var got *projectListOptions
		cmd := newProjectListCmd(ios, func(_ context.Context, o *projectListOptions) error { got = o; return nil })
		run(t, cmd)
		if want := (projectListOptions{dataDir: DefaultDataDir}); *got != want {
			t.Fatalf("defaults %+v, want %+v", *got, want)
		}
		run(t, cmd, "--json", "--data-dir", "/d")
		if want := (projectListOptions{dataDir: "/d", asJSON: true}); *got != want {
			t.Fatalf("got %+v, want %+v", *got, want)
		}
	})
	t.Run("show", func(t *testing.T) {
		var got *projectShowOptions
		cmd := newProjectShowCmd(ios, func(_ context.Context, o *projectShowOptions) error { got = o; return nil })
		run(t, cmd, "demo", "--json", "--show-secrets", "--data-dir", "/d")
		if want := (projectShowOptions{name: "demo", dataDir: "/d", asJSON: true, showSecrets: true}); *got != want {
			t.Fatalf("got %+v, want %+v", *got, want)
		}
	})
	t.Run("delete", func(t *testing.T) {
		var got *projectDeleteOptions
		cmd := newProjectDeleteCmd(ios, func(_ context.Context, o *projectDeleteOptions) error { got = o; return nil })
		run(t, cmd, "demo")
		if want := (projectDeleteOptions{name: "demo", dataDir: DefaultDataDir}); *got != want {
			t.Fatalf("got %+v, want %+v", *got, want)
		}
		run(t, cmd, "demo", "-y")
		if !got.yes {
			t.Fatal("-y did not set yes")
		}
	})
	t.Run("keys add", func(t *testing.T) {
		var got *keysAddOptions
		cmd := newKeysAddCmd(ios, func(_ context.Context, o *keysAddOptions) error { got = o; return nil })
		run(t, cmd, "demo", "--secret", "0123456789abcdef", "--json")
		if want := (keysAddOptions{name: "demo", secret: "0123456789abcdef", dataDir: DefaultDataDir, asJSON: true}); *got != want {
			t.Fatalf("got %+v, want %+v", *got, want)
		}
	})
	t.Run("keys remove", func(t *testing.T) {
		var got *keysRemoveOptions
		cmd := newKeysRemoveCmd(ios, func(_ context.Context, o *keysRemoveOptions) error { got = o; return nil })
		run(t, cmd, "demo", "1a2b3c4d", "--data-dir", "/d")
		if want := (keysRemoveOptions{name: "demo", keyID: "1a2b3c4d", dataDir: "/d"}); *got != want {
			t.Fatalf("got %+v, want %+v", *got, want)
		}
	})
	t.Run("keys list", func(t *testing.T) {
		var got *keysListOptions
		cmd := newKeysListCmd(ios, func(_ context.Context, o *keysListOptions) error { got = o; return nil })
		run(t, cmd, "demo", "--json")
		if want := (keysListOptions{name: "demo", dataDir: DefaultDataDir, asJSON: true}); *got != want {
			t.Fatalf("got %+v, want %+v", *got, want)
		}
	})
	t.Run("cors", func(t *testing.T) {
		var got *corsOptions
		grab := func(_ context.Context, o *corsOptions) error { got = o; return nil }
		run(t, newCORSAddCmd(ios, grab), "demo", "https://a.example")
		if want := (corsOptions{name: "demo", origin: "https://a.example", dataDir: DefaultDataDir}); *got != want {
			t.Fatalf("add: got %+v, want %+v", *got, want)
		}
		run(t, newCORSRemoveCmd(ios, grab), "demo", "https://a.example", "--data-dir", "/d")
		if want := (corsOptions{name: "demo", origin: "https://a.example", dataDir: "/d"}); *got != want {
			t.Fatalf("remove: got %+v, want %+v", *got, want)
		}
		run(t, newCORSListCmd(ios, grab), "demo", "--json")
		if want := (corsOptions{name: "demo", dataDir: DefaultDataDir, asJSON: true}); *got != want {
			t.Fatalf("list: got %+v, want %+v", *got, want)
		}
	})
}

// TestProjectArgErrors checks wrong arguments fail with exit 1, a
// one-line cause and the usage.
func TestProjectArgErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"project", "show"}, "dsctl: project show: missing the NAME argument"},
		{[]string{"project", "show", "a", "b"}, `dsctl: project show: unexpected argument "b"`},
		{[]string{"project", "keys", "remove", "demo"}, "missing the KEY_ID argument"},
		{[]string{"project", "cors", "add"}, "missing the NAME and ORIGIN argument"},
		{[]string{"project", "frobnicate"}, `unknown command "frobnicate" for "dsctl project"`},
		{[]string{"project", "keys", "rotate"}, `unknown command "rotate" for "dsctl project keys"`},
		{[]string{"project", "list", "--bogus"}, "unknown flag: --bogus"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runCLI(t, false, "", tc.args...)
			r.wantError(t, ExitError, tc.want, "")
			if !strings.Contains(r.err, "Usage:") {
				t.Fatalf("no usage after the error:\n%s", r.err)
			}
		})
	}
}

// TestProjectGroupHelp checks the command groups print their help.
func TestProjectGroupHelp(t *testing.T) {
	for _, args := range [][]string{{"project"}, {"project", "keys"}, {"project", "cors"}, {"project", "--help"}} {
		r := runCLI(t, false, "", args...).must(t)
		if !strings.Contains(r.out, "Available Commands:") {
			t.Fatalf("%v: no help on stdout:\n%s", args, r.out)
		}
	}
}

// TestReadCommandsNeedData checks commands that read the registry do not
// create one where there is none, and say so.
func TestReadCommandsNeedData(t *testing.T) {
	for _, args := range [][]string{
		{"project", "list"},
		{"project", "show", "demo"},
		{"project", "delete", "demo", "--yes"},
		{"project", "keys", "add", "demo"},
		{"project", "keys", "remove", "demo", "1a2b3c4d"},
		{"project", "keys", "list", "demo"},
		{"project", "cors", "add", "demo", "https://a.example"},
		{"project", "cors", "remove", "demo", "https://a.example"},
		{"project", "cors", "list", "demo"},
		{"token", "--project", "demo"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			missing := t.TempDir() + "/nothing"
			r := runCLI(t, false, "", append(args, "--data-dir", missing)...)
			r.wantError(t, ExitError, "no dsctl data in "+missing+": the directory does not exist", "--data-dir")

			empty := t.TempDir()
			r = runCLI(t, false, "", append(args, "--data-dir", empty)...)
			r.wantError(t, ExitError, "no dsctl data in "+empty+": it has no database dsctl.db", "dsctl create-project")
		})
	}
}

// TestUnknownProject checks every command that names a project reports an
// unknown one with a hint to create it.
func TestUnknownProject(t *testing.T) {
	dir, _ := newProject(t, "demo")
	for _, args := range [][]string{
		{"project", "show", "nope"},
		{"project", "delete", "nope", "--yes"},
		{"project", "keys", "add", "nope"},
		{"project", "keys", "remove", "nope", "1a2b3c4d"},
		{"project", "keys", "list", "nope"},
		{"project", "cors", "add", "nope", "https://a.example"},
		{"project", "cors", "remove", "nope", "https://a.example"},
		{"project", "cors", "list", "nope"},
		{"token", "--project", "nope"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, false, "", append(args, "--data-dir", dir)...)
			r.wantError(t, ExitError, "project nope does not exist in "+dir, "dsctl create-project nope")
		})
	}
}

// TestDefaultProjectNotFound checks the default project, open until
// dsctl serve --auth gives it a key, gets its own explanation.
func TestDefaultProjectNotFound(t *testing.T) {
	dir, _ := newProject(t, "demo")
	runCLI(t, false, "", "token", "--project", "default", "--data-dir", dir).
		wantError(t, ExitError, "token: the default project has no keys in "+dir+": it is open unless dsctl serve runs with --auth", "dsctl serve --auth")
}

func TestProjectListRun(t *testing.T) {
	dir, _ := newProject(t, "demo")
	runCLI(t, false, "", "create-project", "alpha", "--data-dir", dir).must(t)
	runCLI(t, false, "", "project", "cors", "add", "alpha", "https://a.example", "--data-dir", dir).must(t)
	runCLI(t, false, "", "project", "cors", "add", "alpha", "http://localhost:5173", "--data-dir", dir).must(t)

	t.Run("tsv when piped", func(t *testing.T) {
		r := runCLI(t, false, "", "project", "list", "--data-dir", dir).must(t)
		rows := regexp.MustCompile(`(?m)^(\S+)\t(\d+)\t(.*)\t(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$`).FindAllStringSubmatch(r.out, -1)
		if len(rows) != 2 || strings.Count(r.out, "\n") != 2 {
			t.Fatalf("want 2 TSV rows and no header, got:\n%s", r.out)
		}
		if rows[0][1] != "alpha" || rows[0][2] != "1" || rows[0][3] != "https://a.example,http://localhost:5173" {
			t.Fatalf("alpha row %q", rows[0][0])
		}
		if rows[1][1] != "demo" || rows[1][3] != "" {
			t.Fatalf("demo row %q", rows[1][0])
		}
		if r.err != "" {
			t.Fatalf("stderr %q", r.err)
		}
	})
	t.Run("aligned on a terminal", func(t *testing.T) {
		r := runCLI(t, true, "", "project", "list", "--data-dir", dir).must(t)
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		if len(lines) != 3 || !regexp.MustCompile(`^NAME\s+KEYS\s+CORS ORIGINS\s+CREATED$`).MatchString(lines[0]) {
			t.Fatalf("want a header and 2 rows:\n%s", r.out)
		}
		if strings.Contains(r.out, "\t") {
			t.Fatal("tabs in the aligned table")
		}
		col := strings.Index(lines[0], "CREATED")
		for _, l := range lines[1:] {
			if !regexp.MustCompile(`^\d{4}-`).MatchString(l[col:]) {
				t.Fatalf("CREATED column not aligned:\n%s", r.out)
			}
		}
		if !strings.Contains(lines[2], "demo ") || !strings.Contains(lines[2], " - ") {
			t.Fatalf("an empty cell should show as -: %q", lines[2])
		}
	})
	t.Run("json", func(t *testing.T) {
		r := runCLI(t, false, "", "project", "list", "--json", "--data-dir", dir).must(t)
		ps := decodeJSON[[]projectJSON](t, r.out)
		if len(ps) != 2 || ps[0].Name != "alpha" || len(ps[0].Keys) != 1 || len(ps[0].CORSOrigins) != 2 || ps[1].Name != "demo" {
			t.Fatalf("got %+v", ps)
		}
		if ps[0].Keys[0].Secret != "" || strings.Contains(r.out, `"secret"`) {
			t.Fatal("list --json must not print secrets")
		}
	})
	t.Run("none", func(t *testing.T) {
		empty, _ := newProject(t, "gone")
		runCLI(t, false, "", "project", "delete", "gone", "--yes", "--data-dir", empty).must(t)
		r := runCLI(t, false, "", "project", "list", "--data-dir", empty).must(t)
		if r.out != "" || r.err != "" {
			t.Fatalf("piped: want no output, got %q %q", r.out, r.err)
		}
		r = runCLI(t, true, "", "project", "list", "--data-dir", empty).must(t)
		if r.out != "" || !strings.Contains(r.err, "No projects") {
			t.Fatalf("terminal: want a note on stderr, got %q %q", r.out, r.err)
		}
		r = runCLI(t, false, "", "project", "list", "--json", "--data-dir", empty).must(t)
		if strings.TrimSpace(r.out) != "[]" {
			t.Fatalf("json: %q", r.out)
		}
	})
}

func TestProjectShowRun(t *testing.T) {
	dir, secret := newProject(t, "demo")
	runCLI(t, false, "", "project", "cors", "add", "demo", "https://a.example/", "--data-dir", dir).must(t)
	createStream(t, dir, "demo", "one")
	createStream(t, dir, "demo", "two")
	createStream(t, dir, "other", "three")
	p, err := openStore(t, dir).Project(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	id := p.Secrets[0].ID()

	r := runCLI(t, false, "", "project", "show", "demo", "--data-dir", dir).must(t)
	for _, want := range []string{"Project:  demo", "Streams:  2", "CORS:     https://a.example\n", "Keys:     1", id} {
		if !strings.Contains(r.out, want) {
			t.Fatalf("missing %q in:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, secret) {
		t.Fatal("show printed the secret without --show-secrets")
	}
	r = runCLI(t, false, "", "project", "show", "demo", "--show-secrets", "--data-dir", dir).must(t)
	if !strings.Contains(r.out, secret) {
		t.Fatalf("--show-secrets did not print the secret:\n%s", r.out)
	}

	r = runCLI(t, false, "", "project", "show", "demo", "--json", "--data-dir", dir).must(t)
	got := decodeJSON[projectJSON](t, r.out)
	if got.Name != "demo" || got.Streams == nil || *got.Streams != 2 || !reflect.DeepEqual(got.CORSOrigins, []string{"https://a.example"}) ||
		len(got.Keys) != 1 || got.Keys[0].ID != id || got.Keys[0].CreatedAt.IsZero() || got.CreatedAt.IsZero() {
		t.Fatalf("got %+v", got)
	}
	if strings.Contains(r.out, secret) {
		t.Fatal("show --json printed the secret without --show-secrets")
	}
	r = runCLI(t, false, "", "project", "show", "demo", "--json", "--show-secrets", "--data-dir", dir).must(t)
	if got := decodeJSON[projectJSON](t, r.out); got.Keys[0].Secret != secret {
		t.Fatalf("--json --show-secrets: %+v", got.Keys)
	}
}

func TestProjectDeleteRun(t *testing.T) {
	t.Run("needs --yes when piped", func(t *testing.T) {
		dir, _ := newProject(t, "demo")
		runCLI(t, false, "", "project", "delete", "demo", "--data-dir", dir).
			wantError(t, ExitError, "--yes is required when not on a terminal", "dsctl project delete demo --yes")
		r := runCLI(t, false, "", "project", "delete", "demo", "--yes", "--data-dir", dir).must(t)
		if r.out != "" || r.err != "" {
			t.Fatalf("piped delete should be silent, got %q %q", r.out, r.err)
		}
		if _, err := openStore(t, dir).Project(context.Background(), "demo"); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("project still there: %v", err)
		}
	})
	t.Run("refuses while streams remain", func(t *testing.T) {
		dir, _ := newProject(t, "demo")
		createStream(t, dir, "demo", "left")
		runCLI(t, false, "", "project", "delete", "demo", "--yes", "--data-dir", dir).
			wantError(t, ExitError, "project demo still has 1 stream(s); delete them first", "/v1/demo/streams")
		if _, err := openStore(t, dir).Project(context.Background(), "demo"); err != nil {
			t.Fatalf("project was deleted: %v", err)
		}
	})
	t.Run("asks on a terminal", func(t *testing.T) {
		t.Setenv("DSCTL_ACCESSIBLE", "1")
		dir, _ := newProject(t, "demo")
		r := runCLI(t, true, "n\n", "project", "delete", "demo", "--data-dir", dir)
		if r.code != ExitCancelled || !strings.Contains(r.err, "Delete project demo") || r.out != "" {
			t.Fatalf("answer n: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
		}
		if _, err := openStore(t, dir).Project(context.Background(), "demo"); err != nil {
			t.Fatalf("deleted after answering no: %v", err)
		}
		r = runCLI(t, true, "y\n", "project", "delete", "demo", "--data-dir", dir).must(t)
		if !strings.Contains(r.err, "✓ Deleted project demo") {
			t.Fatalf("no success line on a terminal: %q", r.err)
		}
		runCLI(t, true, "", "project", "show", "demo", "--data-dir", dir).wantError(t, ExitError, "does not exist", "")
	})
}

func TestProjectKeysRun(t *testing.T) {
	dir, first := newProject(t, "demo")
	firstID := registry.Secret{Value: first}.ID()

	r := runCLI(t, false, "", "project", "keys", "add", "demo", "--json", "--data-dir", dir).must(t)
	added := decodeJSON[keyAddResult](t, r.out)
	if added.Project != "demo" || len(added.Secret) != 64 || added.KeyID != (registry.Secret{Value: added.Secret}).ID() || added.CreatedAt.IsZero() {
		t.Fatalf("keys add --json: %+v", added)
	}

	mine := "my-own-secret-of-some-length"
	r = runCLI(t, false, "", "project", "keys", "add", "demo", "--secret", mine, "--data-dir", dir).must(t)
	mineID := registry.Secret{Value: mine}.ID()
	for _, want := range []string{"Key ID:  " + mineID, "Secret:  " + mine, "shown once", "dsctl project keys remove demo " + firstID} {
		if !strings.Contains(r.out, want) {
			t.Fatalf("missing %q in:\n%s", want, r.out)
		}
	}
	runCLI(t, false, "", "project", "keys", "add", "demo", "--secret", mine, "--data-dir", dir).
		wantError(t, ExitError, "project keys add: project demo already has that key ("+mineID+")", "")
	runCLI(t, false, "", "project", "keys", "add", "demo", "--secret", "short", "--data-dir", dir).
		wantError(t, ExitError, "project keys add: --secret has 5 characters; it needs at least 16", "leave out --secret")

	r = runCLI(t, false, "", "project", "keys", "list", "demo", "--data-dir", dir).must(t)
	want := regexp.MustCompile(`^` + mineID + `\t\S+\tsigning\n` + added.KeyID + `\t\S+\tverify-only\n` + firstID + `\t\S+\tverify-only\n$`)
	if !want.MatchString(r.out) {
		t.Fatalf("keys list, newest first:\n%s", r.out)
	}
	if strings.Contains(r.out, first) || strings.Contains(r.out, mine) {
		t.Fatal("keys list printed a secret")
	}
	r = runCLI(t, true, "", "project", "keys", "list", "demo", "--data-dir", dir).must(t)
	if !regexp.MustCompile(`^ID\s+CREATED\s+ROLE\n`).MatchString(r.out) {
		t.Fatalf("keys list on a terminal: no header:\n%s", r.out)
	}
	r = runCLI(t, false, "", "project", "keys", "list", "demo", "--json", "--data-dir", dir).must(t)
	if ks := decodeJSON[[]keyJSON](t, r.out); len(ks) != 3 || ks[0].ID != mineID || ks[2].ID != firstID || strings.Contains(r.out, "secret") {
		t.Fatalf("keys list --json: %s", r.out)
	}

	runCLI(t, false, "", "project", "keys", "remove", "demo", "ffffffff", "--data-dir", dir).
		wantError(t, ExitError, "project keys remove: project demo has no key ffffffff", "dsctl project keys list demo")
	r = runCLI(t, false, "", "project", "keys", "remove", "demo", firstID, "--data-dir", dir).must(t)
	if r.out != "" || r.err != "" {
		t.Fatalf("piped remove should be silent: %q %q", r.out, r.err)
	}
	r = runCLI(t, true, "", "project", "keys", "rm", "demo", added.KeyID, "--data-dir", dir).must(t)
	if !strings.Contains(r.err, "✓ Removed key "+added.KeyID) {
		t.Fatalf("no success line on a terminal: %q", r.err)
	}
	runCLI(t, false, "", "project", "keys", "remove", "demo", mineID, "--data-dir", dir).
		wantError(t, ExitError, "project keys remove: "+mineID+" is project demo's only key", "dsctl project keys add demo")
	p, err := openStore(t, dir).Project(context.Background(), "demo")
	if err != nil || len(p.Secrets) != 1 || p.Secrets[0].Value != mine {
		t.Fatalf("left with %+v, %v; want only the key %s", p, err, mineID)
	}
}

func TestProjectCORSRun(t *testing.T) {
	dir, _ := newProject(t, "demo")
	r := runCLI(t, false, "", "project", "cors", "list", "demo", "--data-dir", dir).must(t)
	if r.out != "" {
		t.Fatalf("no origins yet, got %q", r.out)
	}
	if r := runCLI(t, true, "", "project", "cors", "list", "demo", "--data-dir", dir).must(t); !strings.Contains(r.err, "allows no origins") {
		t.Fatalf("terminal: want a note, got %q", r.err)
	}
	runCLI(t, false, "", "project", "cors", "add", "demo", "https://a.example/", "--data-dir", dir).must(t)
	runCLI(t, false, "", "project", "cors", "add", "demo", "https://a.example", "--data-dir", dir).must(t) // idempotent
	r = runCLI(t, true, "", "project", "cors", "add", "demo", "http://localhost:5173", "--data-dir", dir).must(t)
	if !strings.Contains(r.err, "✓ Project demo allows origin http://localhost:5173") {
		t.Fatalf("no success line on a terminal: %q", r.err)
	}
	r = runCLI(t, false, "", "project", "cors", "list", "demo", "--data-dir", dir).must(t)
	if r.out != "https://a.example\nhttp://localhost:5173\n" {
		t.Fatalf("cors list: %q", r.out)
	}
	for _, bad := range []string{"a.example", "ftp://a.example", "https://a.example/path", "https://a.example?q=1"} {
		runCLI(t, false, "", "project", "cors", "add", "demo", bad, "--data-dir", dir).
			wantError(t, ExitError, "project cors add: origin", "")
	}
	runCLI(t, false, "", "project", "cors", "remove", "demo", "https://b.example", "--data-dir", dir).
		wantError(t, ExitError, "project cors remove: project demo does not allow origin https://b.example", "dsctl project cors list demo")
	runCLI(t, false, "", "project", "cors", "remove", "demo", "https://a.example", "--data-dir", dir).must(t)
	r = runCLI(t, false, "", "project", "cors", "list", "demo", "--json", "--data-dir", dir).must(t)
	if got := decodeJSON[[]string](t, r.out); !reflect.DeepEqual(got, []string{"http://localhost:5173"}) {
		t.Fatalf("cors list --json: %v", got)
	}
}
