package cli

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/client"
	"github.com/dsctl/dsctl/internal/engine"
)

func TestNewPublishCmds(t *testing.T) {
	o, err := parseCmd(t, newPublishCmd, "room", "-d", `{"a":1}`, "--content-type", "application/json", "--producer-id", "bot", "--epoch", "1", "--seq", "3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if o.stream != "room" || o.data != `{"a":1}` || !o.dataSet || o.contentType != "application/json" || !o.asJSON ||
		!reflect.DeepEqual(o.producer, &client.Producer{ID: "bot", Epoch: 1, Seq: 3}) {
		t.Fatalf("publish: %+v", o)
	}
	if o, err := parseCmd(t, newSubscribeCmd, "room", "alice", "--json"); err != nil || o.stream != "room" || o.session != "alice" || !o.asJSON {
		t.Fatalf("subscribe: %+v %v", o, err)
	}
	if o, err := parseCmd(t, newUnsubscribeCmd, "room", "alice"); err != nil || o.stream != "room" || o.session != "alice" || o.asJSON {
		t.Fatalf("unsubscribe: %+v %v", o, err)
	}
	for _, newCmd := range []func(*IOStreams, func(context.Context, *sessionOptions) error) *cobra.Command{newSessionGetCmd, newSessionTouchCmd, newSessionDeleteCmd} {
		if o, err := parseCmd(t, newCmd, "alice", "--json", "--project", "demo"); err != nil || o.session != "alice" || !o.asJSON || o.target.project != "demo" {
			t.Fatalf("session: %+v %v", o, err)
		}
	}
}

func TestPublishRun(t *testing.T) {
	s := newTestStreams(t)
	s.create("room", "application/json")

	r := s.run(false, "", "subscribe", "room", "alice").must(t)
	for _, want := range []string{"Session:         alice (new)\n", "Subscribed to:   room\n", "Session stream:  session:alice\n", "Expires at:      "} {
		if !strings.Contains(r.out, want) {
			t.Fatalf("subscribe lacks %q:\n%s", want, r.out)
		}
	}
	sess := decodeJSON[sessionJSON](t, s.run(false, "", "subscribe", "room", "bob", "--json").must(t).out)
	if sess.SessionID != "bob" || sess.IsNewSession == nil || !*sess.IsNewSession || sess.StreamID != "room" || sess.SessionStream != "session:bob" || sess.SessionStreamPath != "/v1/default/stream/session:bob" {
		t.Fatalf("subscribe json %+v", sess)
	}
	if r := s.run(true, "", "subscribe", "room", "alice").must(t); strings.Contains(r.out, "(new)") || !strings.Contains(r.err, "Follow it with: dsctl tail session:alice") {
		t.Fatalf("subscribe again: stdout %q stderr %q", r.out, r.err)
	}

	// publish: TSV when piped, lines on a terminal, JSON.
	if r := s.run(false, `{"text":"hi"}`, "publish", "room").must(t); r.out != engine.FormatOffset(1)+"\t2\n" {
		t.Fatalf("publish piped: %q", r.out)
	}
	if r := s.run(true, "", "publish", "room", "--data", `{"text":"again"}`).must(t); r.out != "Next offset:  "+engine.FormatOffset(2)+"\nFan-out:      2 session(s)\n" ||
		!strings.Contains(r.err, "✓ Published to room") {
		t.Fatalf("publish tty: stdout %q stderr %q", r.out, r.err)
	}
	j := decodeJSON[appendJSON](t, s.run(false, "", "publish", "room", "-d", `{"n":3}`, "--producer-id", "bot", "--seq", "0", "--json").must(t).out)
	if j.NextOffset != engine.FormatOffset(3) || j.FanoutCount == nil || *j.FanoutCount != 2 || j.Duplicate {
		t.Fatalf("publish json %+v", j)
	}
	j = decodeJSON[appendJSON](t, s.run(false, "", "publish", "room", "-d", `{"n":3}`, "--producer-id", "bot", "--seq", "0", "--json").must(t).out)
	if !j.Duplicate || j.NextOffset != engine.FormatOffset(3) {
		t.Fatalf("publish retry json %+v", j)
	}
	s.run(false, "", "publish", "room").wantError(t, ExitError, "publish: nothing to publish", "dsctl publish room --data")
	s.run(false, "", "publish", "nope", "-d", "{}").wantError(t, ExitError, "publish: stream nope does not exist", "dsctl stream create nope")

	// The session stream holds what was published, for tail.
	r = s.run(false, "", "tail", "session:alice", "--from", "start", "--no-follow").must(t)
	if r.out != ndjsonLine(0, `{"text":"hi"}`)+ndjsonLine(1, `{"text":"again"}`)+ndjsonLine(2, `{"n":3}`) {
		t.Fatalf("tail session:alice:\n%s", r.out)
	}

	r = s.run(false, "", "session", "get", "alice").must(t)
	if !strings.Contains(r.out, "Subscriptions:   1\n") || !strings.Contains(r.out, "  room  ") {
		t.Fatalf("session get:\n%s", r.out)
	}
	got := decodeJSON[client.Session](t, s.run(false, "", "session", "get", "alice", "--json").must(t).out)
	if got.SessionID != "alice" || len(got.Subscriptions) != 1 || got.Subscriptions[0].StreamID != "room" {
		t.Fatalf("session get json %+v", got)
	}
	touched := decodeJSON[client.Session](t, s.run(false, "", "session", "touch", "alice", "--json").must(t).out)
	if touched.SessionID != "alice" || touched.ExpiresAt.Before(got.ExpiresAt) {
		t.Fatalf("touch %+v after %+v", touched, got)
	}
	if r := s.run(false, "", "session", "touch", "alice").must(t); !strings.Contains(r.out, "Expires at:      ") {
		t.Fatalf("touch: %q", r.out)
	}

	if r := s.run(true, "", "unsubscribe", "room", "alice").must(t); !strings.Contains(r.err, "✓ Unsubscribed session alice from room") {
		t.Fatalf("unsubscribe: %q", r.err)
	}
	if r := s.run(true, "", "unsubscribe", "room", "alice").must(t); !strings.Contains(r.err, "was not subscribed") {
		t.Fatalf("unsubscribe again: %q", r.err)
	}
	if r := s.run(false, "", "unsubscribe", "room", "bob", "--json").must(t); !strings.Contains(r.out, `"unsubscribed": true`) {
		t.Fatalf("unsubscribe json: %q", r.out)
	}
	if r := s.run(false, "", "session", "get", "alice", "--json").must(t); !strings.Contains(r.out, `"subscriptions": []`) {
		t.Fatalf("after unsubscribe: %s (want an empty array)", r.out)
	}

	if r := s.run(true, "", "session", "delete", "alice").must(t); !strings.Contains(r.err, "✓ Deleted session alice") {
		t.Fatalf("delete: %q", r.err)
	}
	if r := s.run(false, "", "session", "delete", "alice", "--json").must(t); !strings.Contains(r.out, `"deleted": false`) {
		t.Fatalf("delete again: %q", r.out)
	}
	s.run(false, "", "session", "get", "alice").wantError(t, ExitError, "session get: session alice does not exist", "dsctl subscribe STREAM alice")
	s.run(false, "", "subscribe", "nope", "carol").wantError(t, ExitError, "subscribe: stream nope does not exist", "dsctl stream create nope")
	s.run(false, "", "subscribe", "room", "bad id").wantError(t, ExitError, `invalid sessionId "bad id"`, "")
}
