package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/client"
	"github.com/dsctl/dsctl/internal/engine"
)

func TestNewTailCmd(t *testing.T) {
	o, err := parseCmd(t, newTailCmd, "s")
	if err != nil {
		t.Fatal(err)
	}
	if o.stream != "s" || o.from != "now" || o.noFollow || o.last != 0 || o.longPoll || o.raw || o.format != "" || o.asJSON || o.noColor {
		t.Fatalf("defaults: %+v", o)
	}
	o, err = parseCmd(t, newTailCmd, "session:alice", "--from", "start", "--no-follow", "--long-poll", "--format", "pretty", "--no-color",
		"--url", "http://h:1", "--project", "p", "--token", "tk")
	if err != nil {
		t.Fatal(err)
	}
	if o.stream != "session:alice" || o.from != "start" || !o.noFollow || !o.longPoll || o.format != "pretty" || !o.noColor ||
		o.target.url != "http://h:1" || o.target.project != "p" || o.target.token != "tk" {
		t.Fatalf("flags: %+v", o)
	}
	if o, err = parseCmd(t, newTailCmd, "s", "-n", "5", "--raw"); err != nil || o.last != 5 || !o.raw {
		t.Fatalf("-n: %+v %v", o, err)
	}
	if o, err = parseCmd(t, newTailCmd, "s", "--last", "2", "--json"); err != nil || o.last != 2 || !o.asJSON {
		t.Fatalf("--last: %+v %v", o, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tail"}, "tail: missing the STREAM argument"},
		{[]string{"tail", "a", "b"}, `tail: unexpected argument "b"`},
		{[]string{"tail", "s", "--format", "xml"}, `tail: invalid --format "xml": want pretty or json`},
		{[]string{"tail", "s", "--raw", "--format", "json"}, "tail: --raw, --json and --format are mutually exclusive"},
		{[]string{"tail", "s", "--raw", "--json"}, "tail: --raw, --json and --format are mutually exclusive"},
		{[]string{"tail", "s", "-n", "-1"}, "tail: -n must not be negative"},
		{[]string{"tail", "s", "-n", "3", "--from", "start"}, "tail: -n and --from cannot be combined"},
		{[]string{"tail", "s", "--from", ""}, "tail: --from must not be empty"},
		{[]string{"tail", "s", "-n", "x"}, `invalid argument "x"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("DSCTL_URL", "")
			r := runCLI(t, false, "", tc.args...)
			r.wantError(t, ExitError, tc.want, "")
			if !strings.Contains(r.err, "Usage:") {
				t.Fatalf("no usage:\n%s", r.err)
			}
		})
	}
}

func TestWriteNDJSON(t *testing.T) {
	off := engine.FormatOffset(7)
	for _, tc := range []struct {
		name string
		kind dataKind
		data string
		want string
	}{
		{"json object", kindJSON, `{"a":1}`, `{"offset":"` + off + `","data":{"a":1}}`},
		{"json compacted", kindJSON, "{\n  \"a\": [1, 2],\n  \"b\": \"<&>\"\n}", `{"offset":"` + off + `","data":{"a":[1,2],"b":"<&>"}}`},
		{"json scalar", kindJSON, `42`, `{"offset":"` + off + `","data":42}`},
		{"text", kindText, "hello <world>\n\ttab \"q\"", `{"offset":"` + off + `","data":"hello <world>\n\ttab \"q\""}`},
		{"text not utf-8", kindText, "\xff\xfe", `{"offset":"` + off + `","data":"//4=","encoding":"base64"}`},
		{"binary", kindBinary, "\x00\x01hi", `{"offset":"` + off + `","data":"AAFoaQ==","encoding":"base64"}`},
		{"binary that is text", kindBinary, "plain", `{"offset":"` + off + `","data":"cGxhaW4=","encoding":"base64"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			writeNDJSON(&buf, tc.kind, client.Message{Offset: off, Data: []byte(tc.data)})
			if got := buf.String(); got != tc.want+"\n" {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			var line struct {
				Offset   string          `json:"offset"`
				Data     json.RawMessage `json:"data"`
				Encoding string          `json:"encoding"`
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line.Offset != off {
				t.Fatalf("not one JSON object per line: %v", err)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for ct, want := range map[string]dataKind{
		"application/json":                kindJSON,
		"application/json; charset=utf-8": kindJSON,
		"text/plain":                      kindText,
		"text/csv; charset=utf-8":         kindText,
		"application/x-ndjson":            kindText,
		"application/vnd.api+json":        kindText,
		"application/octet-stream":        kindBinary,
		"image/png":                       kindBinary,
		"":                                kindBinary,
	} {
		if got := kindOf(ct); got != want {
			t.Errorf("kindOf(%q) = %d, want %d", ct, got, want)
		}
	}
}

func TestRing(t *testing.T) {
	for _, tc := range []struct {
		n, add int
		want   string
	}{
		{3, 0, ""}, {3, 2, "01"}, {3, 3, "012"}, {3, 4, "123"}, {3, 7, "456"}, {1, 5, "4"},
	} {
		r := newRing(tc.n)
		for i := 0; i < tc.add; i++ {
			r.add(client.Message{Data: []byte{byte('0' + i)}})
		}
		var got string
		for _, m := range r.messages() {
			got += string(m.Data)
		}
		if got != tc.want {
			t.Errorf("ring(%d) after %d: %q, want %q", tc.n, tc.add, got, tc.want)
		}
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestPrettyPrint(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 123e6, time.Local)
	now := func() time.Time { return at }
	msg := client.Message{Offset: engine.FormatOffset(3), Data: []byte(`{"user":"alice","n":-1.5e3,"ok":true,"off":false,"none":null,"tags":["a"]}`)}
	wantPlain := engine.FormatOffset(3) + `  15:04:05.123
{
  "user": "alice",
  "n": -1.5e3,
  "ok": true,
  "off": false,
  "none": null,
  "tags": [
    "a"
  ]
}
`
	print := func(color bool, ct string, m client.Message) string {
		var out bytes.Buffer
		ios := &IOStreams{Out: &out}
		p := newMsgPrinter(ios, formatPretty, ct, color, now)
		if err := p.print(m); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if got := print(false, "application/json", msg); got != wantPlain {
		t.Fatalf("plain:\n%s\nwant:\n%s", got, wantPlain)
	}
	colored := print(true, "application/json", msg)
	if ansi.ReplaceAllString(colored, "") != wantPlain {
		t.Fatalf("coloured output differs from plain once the colours are removed:\n%q", colored)
	}
	for _, want := range []string{"\x1b[1;34m\"user\"\x1b[0m", "\x1b[32m\"alice\"\x1b[0m", "\x1b[36m-1.5e3\x1b[0m", "\x1b[33mtrue\x1b[0m", "\x1b[35mnull\x1b[0m", "\x1b[90m" + engine.FormatOffset(3)} {
		if !strings.Contains(colored, want) {
			t.Fatalf("coloured output lacks %q:\n%q", want, colored)
		}
	}
	if got := print(true, "text/plain", client.Message{Offset: "o", Data: []byte("line")}); ansi.ReplaceAllString(got, "") != "o  15:04:05.123\nline\n" {
		t.Fatalf("text: %q", got)
	}
	if got := print(false, "application/octet-stream", client.Message{Offset: "o", Data: []byte{0, 1, 'h', 'i'}}); !strings.HasPrefix(got, "o  15:04:05.123\n00000000  00 01 68 69") {
		t.Fatalf("binary: %q", got)
	}
}

func TestColorEnabled(t *testing.T) {
	for _, tc := range []struct {
		tty           bool
		noColor, term string
		flag          bool
		want          bool
	}{
		{true, "", "xterm", false, true},
		{false, "", "xterm", false, false},
		{true, "1", "xterm", false, false},
		{true, "false", "xterm", false, false}, // any non-empty value
		{true, "", "dumb", false, false},
		{true, "", "xterm", true, false},
	} {
		t.Setenv("NO_COLOR", tc.noColor)
		t.Setenv("TERM", tc.term)
		ios := &IOStreams{Out: &bytes.Buffer{}}
		ios.SetTTY(tc.tty, tc.tty)
		if got := colorEnabled(ios, tc.flag); got != tc.want {
			t.Errorf("tty %v NO_COLOR %q TERM %q --no-color %v: %v, want %v", tc.tty, tc.noColor, tc.term, tc.flag, got, tc.want)
		}
	}
}

func ndjsonLine(off int64, data string) string {
	return `{"offset":"` + engine.FormatOffset(off) + `","data":` + data + "}\n"
}

// TestTailNoFollowClosed is the in-process acceptance check: tail
// --no-follow on a closed stream prints every message and exits 0, and
// so does a plain tail, which ends with the stream.
func TestTailNoFollowClosed(t *testing.T) {
	s := newTestStreams(t)
	s.create("done", "application/json", `{"n":1}`, `{"n":2}`, `[{"n":3},{"n":4}]`)
	if _, err := s.c.Append(context.Background(), "done", "", nil, client.AppendOptions{Close: true}); err != nil {
		t.Fatal(err)
	}
	want := ndjsonLine(0, `{"n":1}`) + ndjsonLine(1, `{"n":2}`) + ndjsonLine(2, `{"n":3}`) + ndjsonLine(3, `{"n":4}`)
	for _, args := range [][]string{
		{"tail", "done", "--from", "start", "--no-follow"},
		{"tail", "done", "--from", "start"},
		{"tail", "done", "--from", "start", "--long-poll"},
		{"stream", "read", "done"},
	} {
		r := s.run(false, "", args...)
		if r.code != ExitOK || r.out != want {
			t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.out, r.err)
		}
	}
	r := s.run(true, "", "tail", "done", "--from", "start", "--no-color").must(t)
	if !regexp.MustCompile(`^`+engine.FormatOffset(0)+`  \d\d:\d\d:\d\d\.\d\d\d\n\{\n  "n": 1\n\}\n`).MatchString(r.out) ||
		strings.Count(r.out, "\n") != 4*4 || !strings.Contains(r.err, "Stream done is closed.") {
		t.Fatalf("pretty on a terminal:\n%s\nstderr: %q", r.out, r.err)
	}
}

func TestTailRun(t *testing.T) {
	s := newTestStreams(t)
	s.create("j", "application/json", `{"n":0}`, `{"n":1}`, `{"n":2}`)
	s.create("txt", "text/plain", "one\n", "two\n")
	s.create("bin", "application/octet-stream", "\x00\x01")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tail", "j", "--no-follow"}, ""},
		{[]string{"tail", "j", "--no-follow", "--from", "now"}, ""},
		{[]string{"tail", "j", "--no-follow", "--from", engine.FormatOffset(1)}, ndjsonLine(1, `{"n":1}`) + ndjsonLine(2, `{"n":2}`)},
		{[]string{"tail", "j", "--no-follow", "-n", "2"}, ndjsonLine(1, `{"n":1}`) + ndjsonLine(2, `{"n":2}`)},
		{[]string{"tail", "j", "--no-follow", "-n", "10"}, ndjsonLine(0, `{"n":0}`) + ndjsonLine(1, `{"n":1}`) + ndjsonLine(2, `{"n":2}`)},
		{[]string{"tail", "j", "--no-follow", "--from", "start", "--raw"}, "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n"},
		{[]string{"tail", "txt", "--no-follow", "--from", "start"}, `{"offset":"` + engine.FormatOffset(0) + `","data":"one\ntwo\n"}` + "\n"},
		{[]string{"tail", "txt", "--no-follow", "--from", "start", "--raw"}, "one\ntwo\n"},
		{[]string{"tail", "bin", "--no-follow", "--from", "-1"}, `{"offset":"` + engine.FormatOffset(0) + `","data":"AAE=","encoding":"base64"}` + "\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := s.run(false, "", tc.args...).must(t)
			if r.out != tc.want {
				t.Fatalf("stdout:\n%s\nwant:\n%s", r.out, tc.want)
			}
		})
	}
	t.Run("json on a terminal", func(t *testing.T) {
		r := s.run(true, "", "tail", "j", "--no-follow", "-n", "1", "--json").must(t)
		if r.out != ndjsonLine(2, `{"n":2}`) {
			t.Fatalf("stdout %q", r.out)
		}
	})
	t.Run("pretty when piped", func(t *testing.T) {
		r := s.run(false, "", "tail", "j", "--no-follow", "-n", "1", "--format", "pretty").must(t)
		if !strings.HasPrefix(r.out, engine.FormatOffset(2)+"  ") || !strings.HasSuffix(r.out, "\n{\n  \"n\": 2\n}\n") || ansi.MatchString(r.out) {
			t.Fatalf("stdout %q", r.out)
		}
	})
	t.Run("colour on a terminal unless NO_COLOR", func(t *testing.T) {
		if r := s.run(true, "", "tail", "j", "--no-follow", "-n", "1").must(t); !ansi.MatchString(r.out) {
			t.Fatalf("no colour on a terminal: %q", r.out)
		}
		t.Setenv("NO_COLOR", "1")
		if r := s.run(true, "", "tail", "j", "--no-follow", "-n", "1").must(t); ansi.MatchString(r.out) {
			t.Fatalf("colour despite NO_COLOR: %q", r.out)
		}
	})
	t.Run("missing stream", func(t *testing.T) {
		s.run(false, "", "tail", "nope").wantError(t, ExitError, "tail: stream nope does not exist", "dsctl stream create nope")
		s.run(false, "", "tail", "session:bob").wantError(t, ExitError, "tail: session stream session:bob does not exist", "dsctl subscribe STREAM bob")
	})
	t.Run("bad offset", func(t *testing.T) {
		s.run(false, "", "tail", "j", "--from", "123").wantError(t, ExitError, `tail: invalid offset "123"`, "")
	})
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startTail runs tail in process until ctx ends; its result arrives on
// the returned channel.
func startTail(t *testing.T, ctx context.Context, s *testStreams, args ...string) (*syncBuffer, *syncBuffer, <-chan error) {
	t.Helper()
	o, err := parseCmd(t, newTailCmd, append(args, "--url", s.url, "--data-dir", s.dir)...)
	if err != nil {
		t.Fatal(err)
	}
	o.maxBackoff = 50 * time.Millisecond
	out, errOut := &syncBuffer{}, &syncBuffer{}
	ios := &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}
	ios.SetTTY(false, false)
	done := make(chan error, 1)
	go func() { done <- runTail(ctx, ios, o) }()
	return out, errOut, done
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("tail did not end")
	}
	return nil
}

func TestTailFollow(t *testing.T) {
	for _, mode := range []string{"sse", "long-poll"} {
		t.Run(mode, func(t *testing.T) {
			s := newTestStreams(t)
			s.create("live", "application/json", `{"n":0}`, `{"n":1}`)
			args := []string{"live", "-n", "1"}
			if mode == "long-poll" {
				args = append(args, "--long-poll")
			}
			out, _, done := startTail(t, context.Background(), s, args...)
			want := ndjsonLine(1, `{"n":1}`)
			waitFor(t, "the last message", func() bool { return out.String() == want })
			ctx := context.Background()
			for i := 2; i < 5; i++ {
				if _, err := s.c.Append(ctx, "live", "application/json", []byte(`{"n":`+string(rune('0'+i))+`}`), client.AppendOptions{}); err != nil {
					t.Fatal(err)
				}
				want += ndjsonLine(int64(i), `{"n":`+string(rune('0'+i))+`}`)
				waitFor(t, "an appended message", func() bool { return out.String() == want })
			}
			if _, err := s.c.Append(ctx, "live", "", nil, client.AppendOptions{Close: true}); err != nil {
				t.Fatal(err)
			}
			if err := wait(t, done); err != nil {
				t.Fatalf("tail of a stream that was closed: %v", err)
			}
			if out.String() != want {
				t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
			}
		})
	}
}

// TestTailCtrlC: cancelling (what SIGINT does) ends a tail without error.
func TestTailCtrlC(t *testing.T) {
	s := newTestStreams(t)
	s.create("quiet", "application/json")
	ctx, cancel := context.WithCancel(context.Background())
	_, errOut, done := startTail(t, ctx, s, "quiet")
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := wait(t, done); err != nil {
		t.Fatalf("Ctrl-C: %v", err)
	}
	if errOut.String() != "" {
		t.Fatalf("stderr %q", errOut.String())
	}
}

// TestTailReconnects drops every connection of the server while a tail
// follows: it reconnects from its last offset, saying so on stderr, and
// prints every message once.
func TestTailReconnects(t *testing.T) {
	for _, mode := range []string{"sse", "long-poll"} {
		t.Run(mode, func(t *testing.T) {
			s := newTestStreams(t)
			s.create("r", "application/json")
			args := []string{"r", "--from", "start"}
			if mode == "long-poll" {
				args = append(args, "--long-poll")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out, errOut, done := startTail(t, ctx, s, args...)
			want := ""
			for i := 0; i < 6; i++ {
				if _, err := s.c.Append(context.Background(), "r", "application/json", []byte(`{"i":`+string(rune('0'+i))+`}`), client.AppendOptions{}); err != nil {
					t.Fatal(err)
				}
				want += ndjsonLine(int64(i), `{"i":`+string(rune('0'+i))+`}`)
				waitFor(t, "message "+string(rune('0'+i)), func() bool { return out.String() == want })
				s.srv.CloseClientConnections()
			}
			if mode == "sse" {
				// A long-poll that loses its idle keep-alive connection is
				// retried by net/http itself, unseen.
				waitFor(t, "a reconnect note", func() bool { return strings.Contains(errOut.String(), "reconnecting…") })
				waitFor(t, "the reconnection", func() bool { return strings.Contains(errOut.String(), "tail: reconnected to "+s.url) })
			}
			if _, err := s.c.Append(context.Background(), "r", "", nil, client.AppendOptions{Close: true}); err != nil {
				t.Fatal(err)
			}
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
			}
		})
	}
}
