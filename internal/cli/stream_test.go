package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/client"
	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/httpapi"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/token"
)

// syncBuffer is a bytes.Buffer safe for a command writing in one
// goroutine while the test reads in another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testStreams is an in-process server for the client commands: the
// default project is open, and project "demo" (in the registry under dir,
// which the server shares) needs tokens.
type testStreams struct {
	t      *testing.T
	url    string
	dir    string
	secret string
	srv    *httptest.Server
	c      *client.Client
}

func newTestStreams(t *testing.T) *testStreams {
	t.Helper()
	for _, v := range []string{"DSCTL_URL", "DSCTL_PROJECT", "DSCTL_TOKEN", "DSCTL_DATA_DIR", "NO_COLOR"} {
		t.Setenv(v, "")
	}
	dir, secret := newProject(t, "demo")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, sqlite.Relaxed)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(ctx, st, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(eng, httpapi.Options{LongPollTimeout: 200 * time.Millisecond, SSELifetime: time.Second, Registry: st})
	srv := httptest.NewServer(h)
	t.Cleanup(func() { h.Stop(); srv.Close(); eng.Close(); st.Close() })
	c := client.New(srv.URL, "", "")
	// No keep-alive: tests drop the server's connections, and a POST on a
	// dropped idle connection is not retried.
	c.HTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return &testStreams{t: t, url: srv.URL, dir: dir, secret: secret, srv: srv, c: c}
}

// run runs dsctl against the server.
func (s *testStreams) run(tty bool, stdin string, args ...string) cliRun {
	s.t.Helper()
	return runCLI(s.t, tty, stdin, append(args, "--url", s.url, "--data-dir", s.dir)...)
}

// create makes a stream in the default project with messages.
func (s *testStreams) create(id, contentType string, msgs ...string) {
	s.t.Helper()
	ctx := context.Background()
	if _, _, err := s.c.Create(ctx, id, client.CreateOptions{ContentType: contentType}); err != nil {
		s.t.Fatal(err)
	}
	for _, m := range msgs {
		if _, err := s.c.Append(ctx, id, contentType, []byte(m), client.AppendOptions{}); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *testStreams) token(scope token.Scope) string {
	s.t.Helper()
	tok, _, err := token.Mint(s.secret, "demo", scope, "", time.Hour, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// parseCmd runs a command constructor's flag parsing and validation only
// and returns the options its runF received.
func parseCmd[O any](t *testing.T, newCmd func(*IOStreams, func(context.Context, *O) error) *cobra.Command, args ...string) (*O, error) {
	t.Helper()
	var got *O
	ios := &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	cmd := newCmd(ios, func(_ context.Context, o *O) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
}

func TestNewStreamCmds(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		o, err := parseCmd(t, newStreamCreateCmd, "s", "--ttl", "1h", "--public", "--data", "{}", "--json", "--closed")
		if err != nil {
			t.Fatal(err)
		}
		o.cmd = nil
		want := streamCreateOptions{stream: "s", contentType: DefaultStreamContentType, ttl: time.Hour, public: true, closed: true, data: "{}", dataSet: true, asJSON: true}
		want.target.dataDir = DefaultDataDir
		if !reflect.DeepEqual(*o, want) {
			t.Fatalf("got %+v\nwant %+v", *o, want)
		}
		o, err = parseCmd(t, newStreamCreateCmd, "f", "--fork-from", "s", "--fork-offset", "0000000000000000_0000000000000001", "--expires-at", "2030-01-02T15:04:05Z")
		if err != nil || o.contentType != "" || o.forkFrom != "s" || o.forkOffset == "" || o.expiresAt == "" {
			t.Fatalf("fork: %+v %v (a fork inherits its source's content type)", o, err)
		}
		o, err = parseCmd(t, newStreamCreateCmd, "f", "--fork-from", "s", "--content-type", "text/plain")
		if err != nil || o.contentType != "text/plain" {
			t.Fatalf("fork with a content type: %+v %v", o, err)
		}
	})
	t.Run("append", func(t *testing.T) {
		o, err := parseCmd(t, newStreamAppendCmd, "s", "-d", "x", "--content-type", "text/plain", "--close", "--stream-seq", "007",
			"--producer-id", "p1", "--epoch", "2", "--seq", "0", "--json", "--url", "http://example.com", "--project", "demo", "--token", "tok")
		if err != nil {
			t.Fatal(err)
		}
		if o.stream != "s" || o.data != "x" || !o.dataSet || o.contentType != "text/plain" || !o.close || o.streamSeq != "007" || !o.asJSON ||
			!reflect.DeepEqual(o.producer, &client.Producer{ID: "p1", Epoch: 2, Seq: 0}) ||
			o.target.url != "http://example.com" || o.target.project != "demo" || o.target.token != "tok" {
			t.Fatalf("got %+v", o)
		}
		o, err = parseCmd(t, newStreamAppendCmd, "s")
		if err != nil || o.dataSet || o.producer != nil {
			t.Fatalf("bare: %+v %v", o, err)
		}
	})
	t.Run("read", func(t *testing.T) {
		o, err := parseCmd(t, newStreamReadCmd, "s", "--from", "now", "--page", "--raw", "--no-color")
		if err != nil || o.from != "now" || !o.page || !o.raw || !o.noColor {
			t.Fatalf("got %+v %v", o, err)
		}
		o, err = parseCmd(t, newStreamReadCmd, "s")
		if err != nil || o.from != "start" || o.format != "" {
			t.Fatalf("defaults: %+v %v", o, err)
		}
	})
	t.Run("others", func(t *testing.T) {
		if o, err := parseCmd(t, newStreamHeadCmd, "s", "--json"); err != nil || o.stream != "s" || !o.asJSON {
			t.Fatalf("head: %+v %v", o, err)
		}
		if o, err := parseCmd(t, newStreamCloseCmd, "s", "--json"); err != nil || o.stream != "s" || !o.asJSON {
			t.Fatalf("close: %+v %v", o, err)
		}
		if o, err := parseCmd(t, newStreamDeleteCmd, "s", "-y"); err != nil || o.stream != "s" || !o.yes {
			t.Fatalf("delete: %+v %v", o, err)
		}
		if o, err := parseCmd(t, newStreamListCmd, "--json", "--project", "demo"); err != nil || !o.asJSON || o.target.project != "demo" {
			t.Fatalf("list: %+v %v", o, err)
		}
		if o, err := parseCmd(t, newStreamInspectCmd, "a/b", "--json"); err != nil || o.stream != "a/b" || !o.asJSON {
			t.Fatalf("inspect: %+v %v", o, err)
		}
	})
}

func TestStreamFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stream", "create"}, "stream create: missing the STREAM argument"},
		{[]string{"stream", "create", "a", "b"}, `stream create: unexpected argument "b"`},
		{[]string{"stream", "create", "s", "--ttl", "-1s"}, "--ttl must be positive"},
		{[]string{"stream", "create", "s", "--ttl", "1500ms"}, "--ttl must be whole seconds"},
		{[]string{"stream", "create", "s", "--ttl", "1h", "--expires-at", "2030-01-02T15:04:05Z"}, "--ttl and --expires-at are mutually exclusive"},
		{[]string{"stream", "create", "s", "--expires-at", "tomorrow"}, `invalid --expires-at "tomorrow"`},
		{[]string{"stream", "create", "s", "--fork-offset", "0000000000000000_0000000000000001"}, "--fork-offset needs --fork-from"},
		{[]string{"stream", "append", "s", "--seq", "1"}, "stream append: --epoch and --seq need a non-empty --producer-id"},
		{[]string{"stream", "append", "s", "--producer-id", "p"}, "stream append: --producer-id needs --seq"},
		{[]string{"stream", "append", "s", "--producer-id", "p", "--seq", "-1"}, "must not be negative"},
		{[]string{"stream", "read", "s", "--format", "yaml"}, `stream read: invalid --format "yaml"`},
		{[]string{"stream", "read", "s", "--raw", "--json"}, "--raw, --json and --format are mutually exclusive"},
		{[]string{"stream", "list", "extra"}, `stream list: unexpected argument "extra"`},
		{[]string{"stream", "bogus"}, `unknown command "bogus"`},
		{[]string{"stream", "head", "s", "--url", "ftp://x"}, `invalid server URL "ftp://x"`},
		{[]string{"publish", "s", "--epoch", "1"}, "publish: --epoch and --seq need a non-empty --producer-id"},
		{[]string{"subscribe", "room"}, "subscribe: missing the SESSION argument"},
		{[]string{"session", "get"}, "session get: missing the SESSION argument"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("DSCTL_URL", "")
			r := runCLI(t, false, "", tc.args...)
			r.wantError(t, ExitError, tc.want, "")
			if !strings.Contains(r.err, "Usage:") {
				t.Fatalf("flag errors print usage:\n%s", r.err)
			}
		})
	}
}

func TestStreamRun(t *testing.T) {
	s := newTestStreams(t)

	t.Run("create", func(t *testing.T) {
		r := s.run(true, "", "stream", "create", "orders").must(t)
		if r.out != "" || !strings.Contains(r.err, "✓ Created stream orders (application/json)") {
			t.Fatalf("stdout %q stderr %q", r.out, r.err)
		}
		r = s.run(true, "", "stream", "create", "orders").must(t)
		if !strings.Contains(r.err, "already exists with these settings") {
			t.Fatalf("again: %q", r.err)
		}
		j := decodeJSON[streamInfoJSON](t, s.run(false, "", "stream", "create", "logs/web", "--content-type", "text/plain", "--ttl", "1h", "--json").must(t).out)
		if j.ID != "logs/web" || j.Created == nil || !*j.Created || j.ContentType != "text/plain" || j.TTLSeconds == nil || *j.TTLSeconds != 3600 || j.NextOffset != engine.FormatOffset(0) {
			t.Fatalf("json %+v", j)
		}
		s.run(false, "", "stream", "create", "orders", "--content-type", "text/plain").
			wantError(t, ExitError, "stream create: stream orders already exists with other settings", "dsctl stream head orders")
		s.run(false, "", "stream", "create", "copy", "--fork-from", "nope").
			wantError(t, ExitError, "stream create: fork source nope does not exist", "dsctl stream list")
		s.run(false, "", "stream", "create", "bad", "--data", "{").
			wantError(t, ExitError, "stream create: body is not valid JSON", "")
		s.run(false, "", "stream", "create", "session:x").
			wantError(t, ExitError, `stream "session:x" is reserved`, "")
	})

	t.Run("append", func(t *testing.T) {
		r := s.run(false, `{"id":1}`+"\n", "stream", "append", "orders").must(t)
		if r.out != engine.FormatOffset(1)+"\n" || r.err != "" {
			t.Fatalf("stdin append: stdout %q stderr %q", r.out, r.err)
		}
		j := decodeJSON[appendJSON](t, s.run(false, "", "stream", "append", "orders", "--data", `[{"id":2},{"id":3}]`, "--json").must(t).out)
		if j.NextOffset != engine.FormatOffset(3) || j.Closed || j.Duplicate || j.Stream != "orders" || j.FanoutCount != nil {
			t.Fatalf("json %+v", j)
		}
		// The content type comes from a HEAD: a text stream takes text.
		s.run(false, "", "stream", "append", "logs/web", "--data", "GET / 200\n").must(t)
		r = s.run(true, "", "stream", "append", "orders", "-d", `{"id":4}`, "--producer-id", "p", "--seq", "0").must(t)
		if !strings.Contains(r.err, "✓ Appended to orders") {
			t.Fatalf("tty note: %q", r.err)
		}
		r = s.run(true, "", "stream", "append", "orders", "-d", `{"id":4}`, "--producer-id", "p", "--seq", "0").must(t)
		if r.out != engine.FormatOffset(4)+"\n" || !strings.Contains(r.err, "nothing new was appended") {
			t.Fatalf("duplicate: stdout %q stderr %q", r.out, r.err)
		}
		s.run(false, "", "stream", "append", "orders").
			wantError(t, ExitError, "stream append: nothing to append", "dsctl stream append orders --data")
		s.run(false, "", "stream", "append", "orders", "--data", "not json").
			wantError(t, ExitError, "stream append: body is not valid JSON", "")
		s.run(false, "", "stream", "append", "orders", "--data", "x", "--content-type", "text/plain").
			wantError(t, ExitError, "stream append: ", "dsctl stream head orders shows its content type")
		s.run(false, "", "stream", "append", "missing", "--data", "{}").
			wantError(t, ExitError, "stream append: stream missing does not exist", "dsctl stream create missing")
		s.run(false, "", "stream", "append", "orders", "-d", `{"id":5}`, "--producer-id", "p", "--epoch", "1", "--seq", "0").must(t)
		s.run(false, "", "stream", "append", "orders", "-d", `{"id":6}`, "--producer-id", "p", "--epoch", "0", "--seq", "1").
			wantError(t, ExitError, "stream append: ", "") // a stale epoch is a 403, but not an auth failure
		s.run(false, "", "stream", "append", "orders", "--data", "{}", "--stream-seq", "b").must(t)
		s.run(false, "", "stream", "append", "orders", "--data", "{}", "--stream-seq", "a").
			wantError(t, ExitError, "Stream-Seq must increase", "")
	})

	t.Run("read", func(t *testing.T) {
		r := s.run(false, "", "stream", "read", "orders").must(t)
		lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
		if len(lines) != 6 || lines[0] != `{"offset":"0000000000000000_0000000000000000","data":{"id":1}}` ||
			lines[2] != `{"offset":"0000000000000000_0000000000000002","data":{"id":3}}` {
			t.Fatalf("read:\n%s", r.out)
		}
		r = s.run(false, "", "stream", "read", "logs/web").must(t)
		if r.out != `{"offset":"0000000000000000_0000000000000000","data":"GET / 200\n"}`+"\n" {
			t.Fatalf("text read: %q", r.out)
		}
		r = s.run(false, "", "stream", "read", "logs/web", "--raw").must(t)
		if r.out != "GET / 200\n" {
			t.Fatalf("raw read: %q", r.out)
		}
		r = s.run(false, "", "stream", "read", "orders", "--from", engine.FormatOffset(5), "--page").must(t)
		if strings.Count(r.out, "\n") != 1 || !strings.Contains(r.err, "Up to date at "+engine.FormatOffset(6)) {
			t.Fatalf("page: stdout %q stderr %q", r.out, r.err)
		}
		r = s.run(false, "", "stream", "read", "orders", "--from", "now").must(t)
		if r.out != "" {
			t.Fatalf("read from now: %q", r.out)
		}
		s.run(false, "", "stream", "read", "nope").wantError(t, ExitError, "stream read: stream nope does not exist", "dsctl stream create nope")
		s.run(false, "", "stream", "read", "orders", "--from", "garbage").wantError(t, ExitError, `invalid offset "garbage"`, "")
	})

	t.Run("head", func(t *testing.T) {
		r := s.run(false, "", "stream", "head", "logs/web").must(t)
		for _, want := range []string{"Stream:        logs/web", "Content type:  text/plain", "Next offset:   " + engine.FormatOffset(10), "Closed:        no", "Expires:       1h0m0s after the last write (TTL 3600s)"} {
			if !strings.Contains(r.out, want) {
				t.Fatalf("head lacks %q:\n%s", want, r.out)
			}
		}
		j := decodeJSON[streamInfoJSON](t, s.run(false, "", "stream", "head", "orders", "--json").must(t).out)
		if j.ContentType != "application/json" || j.NextOffset != engine.FormatOffset(6) || j.Created != nil {
			t.Fatalf("head json %+v", j)
		}
	})

	t.Run("list and inspect", func(t *testing.T) {
		r := s.run(false, "", "stream", "list").must(t)
		var rows [][]string
		for _, l := range strings.Split(strings.TrimSuffix(r.out, "\n"), "\n") {
			rows = append(rows, strings.Split(l, "\t"))
		}
		if len(rows) != 2 || !reflect.DeepEqual(rows[0][:4], []string{"logs/web", "text/plain", "10", "1"}) || rows[0][5] != "0" ||
			!reflect.DeepEqual(rows[1][:2], []string{"orders", "application/json"}) || rows[1][3] != "6" {
			t.Fatalf("list TSV:\n%q", r.out)
		}
		if _, err := time.Parse(time.RFC3339, rows[0][4]); err != nil {
			t.Fatalf("LAST WRITE in TSV is RFC 3339: %v", err)
		}
		r = s.run(true, "", "stream", "list").must(t)
		if !strings.HasPrefix(r.out, "ID        TYPE              SIZE  MESSAGES  LAST WRITE  READERS\n") || !strings.Contains(r.out, "10 B") || !strings.Contains(r.out, "s ago") {
			t.Fatalf("list table:\n%s", r.out)
		}
		all := decodeJSON[[]client.StreamSummary](t, s.run(false, "", "stream", "list", "--json").must(t).out)
		if len(all) != 2 || all[1].ID != "orders" || all[1].Messages != 6 {
			t.Fatalf("list json %+v", all)
		}
		r = s.run(false, "", "stream", "inspect", "orders").must(t)
		for _, want := range []string{"Stream:        orders  (/v1/stream/orders)", "6 messages", "Producers:     1", "  p   1      0"} {
			if !strings.Contains(r.out, want) {
				t.Fatalf("inspect lacks %q:\n%s", want, r.out)
			}
		}
		d := decodeJSON[client.StreamDetail](t, s.run(false, "", "stream", "inspect", "orders", "--json").must(t).out)
		if d.ID != "orders" || len(d.Producers) != 1 || d.Producers[0].ID != "p" {
			t.Fatalf("inspect json %+v", d)
		}
		s.run(false, "", "stream", "inspect", "nope").wantError(t, ExitError, "stream inspect: stream nope does not exist", "dsctl stream create nope")
		// A project without streams: nothing on stdout, exit 0.
		if r := s.run(false, "", "stream", "list", "--project", "demo").must(t); r.out != "" {
			t.Fatalf("empty list: %q", r.out)
		}
		if r := s.run(false, "", "stream", "list", "--project", "demo", "--json").must(t); r.out != "[]\n" {
			t.Fatalf("empty list json: %q", r.out)
		}
	})

	t.Run("close and delete", func(t *testing.T) {
		r := s.run(true, "", "stream", "append", "logs/web", "--data", "bye\n", "--close").must(t)
		if !strings.Contains(r.err, "which is now closed") {
			t.Fatalf("append --close: %q", r.err)
		}
		s.run(false, "", "stream", "append", "logs/web", "--data", "more").
			wantError(t, ExitError, "stream append: stream logs/web is closed: it takes no more appends", "dsctl stream read logs/web")
		s.create("tmp", "application/json", `{"a":1}`)
		j := decodeJSON[appendJSON](t, s.run(false, "", "stream", "close", "tmp", "--json").must(t).out)
		if !j.Closed || j.NextOffset != engine.FormatOffset(1) {
			t.Fatalf("close json %+v", j)
		}
		if r := s.run(false, "", "stream", "close", "tmp").must(t); r.out != engine.FormatOffset(1)+"\n" {
			t.Fatalf("closing again: %q", r.out)
		}
		s.run(false, "", "stream", "delete", "tmp").wantError(t, ExitError, "stream delete: --yes is required when not on a terminal", "dsctl stream delete tmp --yes")
		r = s.run(true, "", "stream", "delete", "tmp", "--yes").must(t)
		if !strings.Contains(r.err, "✓ Deleted stream tmp") {
			t.Fatalf("delete: %q", r.err)
		}
		s.run(false, "", "stream", "delete", "tmp", "--yes").wantError(t, ExitError, "stream delete: stream tmp does not exist", "dsctl stream create tmp")
	})
}

// TestStreamAuth: every command exits 4 with a hint when the server
// refuses the credentials, and a local project's token is minted from
// the registry without any flag.
func TestStreamAuth(t *testing.T) {
	s := newTestStreams(t)
	none := t.TempDir() // a data dir without a registry: nothing to mint from
	cmds := [][]string{
		{"tail", "s", "--no-follow"},
		{"stream", "create", "s"},
		{"stream", "append", "s", "--data", "{}"},
		{"stream", "read", "s"},
		{"stream", "head", "s"},
		{"stream", "close", "s"},
		{"stream", "delete", "s", "--yes"},
		{"stream", "list"},
		{"stream", "inspect", "s"},
		{"publish", "s", "--data", "{}"},
		{"subscribe", "s", "alice"},
		{"unsubscribe", "s", "alice"},
		{"session", "get", "alice"},
		{"session", "touch", "alice"},
		{"session", "delete", "alice"},
	}
	for _, args := range cmds {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, false, "", append(args, "--url", s.url, "--project", "demo", "--data-dir", none)...)
			r.wantError(t, ExitAuth, "authentication failed", "dsctl token --project demo")
			r = runCLI(t, false, "", append(args, "--url", s.url, "--project", "demo", "--data-dir", none, "--token", "bogus")...)
			r.wantError(t, ExitAuth, "authentication failed", "dsctl token --project demo")
		})
	}
	t.Run("read-only token", func(t *testing.T) {
		r := runCLI(t, false, "", "stream", "create", "s", "--url", s.url, "--project", "demo", "--token", s.token(token.ScopeRead), "--data-dir", none)
		r.wantError(t, ExitAuth, "token scope does not allow writes", "")
	})
	t.Run("env token", func(t *testing.T) {
		t.Setenv("DSCTL_TOKEN", s.token(token.ScopeManage))
		runCLI(t, false, "", "stream", "create", "env", "--url", s.url, "--project", "demo", "--data-dir", none).must(t)
	})
	t.Run("minted from the local registry", func(t *testing.T) {
		s.run(false, "", "stream", "create", "minted", "--project", "demo").must(t)
		s.run(false, "", "stream", "append", "minted", "--project", "demo", "--data", `{"ok":true}`).must(t)
		r := s.run(false, "", "stream", "list", "--project", "demo").must(t)
		if !strings.Contains(r.out, "minted\tapplication/json") {
			t.Fatalf("list: %q", r.out)
		}
		r = s.run(false, "", "tail", "minted", "--project", "demo", "--from", "start", "--no-follow").must(t)
		if r.out != `{"offset":"0000000000000000_0000000000000000","data":{"ok":true}}`+"\n" {
			t.Fatalf("tail: %q", r.out)
		}
	})
	t.Run("a reserved stream is not an auth failure", func(t *testing.T) {
		s.run(false, "", "stream", "append", "session:x", "--data", "{}", "--content-type", "application/json").
			wantError(t, ExitError, `stream "session:x" is reserved`, "")
	})
	t.Run("unreachable server", func(t *testing.T) {
		srv := httptest.NewServer(nil)
		url := srv.URL
		srv.Close()
		r := runCLI(t, false, "", "stream", "head", "s", "--url", url, "--data-dir", none)
		r.wantError(t, ExitError, "stream head: cannot reach "+url, "start a server with dsctl serve, or pass --url")
	})
}

// TestClientCommandsHelp: every client command has a short and a long
// description and at least one example in its --help.
func TestClientCommandsHelp(t *testing.T) {
	root := newRootCmd(&IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	var check func(c *cobra.Command)
	n := 0
	check = func(c *cobra.Command) {
		n++
		if c.Short == "" || c.Long == "" || strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s: Short, Long and Example are required", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			check(sub)
		}
	}
	for _, name := range []string{"tail", "stream", "publish", "subscribe", "unsubscribe", "session"} {
		c, _, err := root.Find([]string{name})
		if err != nil || c.Name() != name {
			t.Fatalf("dsctl %s is not registered: %v", name, err)
		}
		check(c)
	}
	if n != 17 {
		t.Fatalf("checked %d commands, want 17", n)
	}
	r := runCLI(t, false, "", "stream", "append", "--help").must(t)
	if !strings.Contains(r.out, "Examples:\n  dsctl stream append orders --data") {
		t.Fatalf("help:\n%s", r.out)
	}
}
