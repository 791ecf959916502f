package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dsctl/dsctl/internal/client"
)

func batch(json bool, from int, msgs ...string) *client.Batch {
	b := &client.Batch{UpToDate: true, JSON: json}
	for i, m := range msgs {
		b.Messages = append(b.Messages, client.Message{Offset: offsetOf(from + i), Data: []byte(m)})
	}
	b.NextOffset = offsetOf(from + len(msgs))
	return b
}

// startedTail is a tail pane whose follow was started but not run: the
// test feeds it the follow's messages itself.
func startedTail(t *testing.T, o Options) tailModel {
	t.Helper()
	e := testEnv(t, newFake(clock))
	e.opts = o.withDefaults()
	tl := newTail(e, "tail")
	_ = tl.start("orders", "now") // the command is not run
	tl.setHeight(6)
	return tl
}

func TestTailMessages(t *testing.T) {
	tl := startedTail(t, Options{Now: clock})
	mustContain(t, tl.view(60, 6), "tail · from now · connecting…", "connecting…")
	if _, ok := tl.update(tailBatchMsg{gen: tl.gen + 100, batch: batch(true, 0, "{}")}); ok {
		t.Fatal("a batch of another follow was taken")
	}
	cmd, ok := tl.update(tailBatchMsg{gen: tl.gen, batch: batch(true, 0)})
	if !ok || cmd == nil {
		t.Fatal("the pane waits for the next message")
	}
	mustContain(t, tl.view(60, 6), "· live", "waiting for messages…")
	tl.update(tailBatchMsg{gen: tl.gen, batch: batch(true, 7, `{ "id": 1 }`, `{"id":2}`)})
	v := tl.view(60, 6)
	mustContain(t, v, "tail · from now · live · 2 received", "15:04:05     7  {\"id\":1}", "15:04:05     8  {\"id\":2}")
	if n := len(lines(v)); n != 6 {
		t.Fatalf("%d lines, want 6", n)
	}
}

func TestTailReconnects(t *testing.T) {
	tl := startedTail(t, Options{Now: clock})
	tl.update(tailBatchMsg{gen: tl.gen, batch: batch(false, 0, "a")})
	tl.update(tailRetryMsg{gen: tl.gen, err: errRefused, attempt: 1})
	if tl.status != unreachableStatus {
		t.Fatalf("status %q", tl.status)
	}
	mustContain(t, tl.view(60, 6), "retrying…", "a")
	tl.update(tailRetryMsg{gen: tl.gen, err: &client.APIError{Status: 503, Message: "busy"}, attempt: 2})
	if !strings.Contains(tl.status, "busy (HTTP 503)") {
		t.Fatalf("status %q", tl.status)
	}
	tl.update(tailBatchMsg{gen: tl.gen, batch: batch(false, 1)})
	if tl.status != "" || !tl.live {
		t.Fatalf("a reconnect clears the status: %q", tl.status)
	}
}

func TestTailEnds(t *testing.T) {
	tl := startedTail(t, Options{Now: clock})
	b := batch(false, 0, "last")
	b.Closed = true
	tl.update(tailBatchMsg{gen: tl.gen, batch: b})
	if cmd, ok := tl.update(tailDoneMsg{gen: tl.gen}); !ok || cmd != nil {
		t.Fatal("done stops waiting")
	}
	if tl.running() {
		t.Fatal("still running")
	}
	mustContain(t, tl.view(60, 6), "· ended", "— stream closed —")

	tl = startedTail(t, Options{Now: clock})
	tl.update(tailDoneMsg{gen: tl.gen, err: notFound("stream orders")})
	mustContain(t, tl.view(80, 6), "tail: stream orders not found (HTTP 404)")
}

func TestTailScrollAndLimit(t *testing.T) {
	tl := startedTail(t, Options{Now: clock, TailLines: 10})
	var msgs []string
	for i := range 15 {
		msgs = append(msgs, fmt.Sprintf("m%02d", i))
	}
	tl.update(tailBatchMsg{gen: tl.gen, batch: batch(false, 0, msgs...)})
	if len(tl.lines) != 10 || tl.received != 15 {
		t.Fatalf("kept %d lines of %d, want the last 10", len(tl.lines), tl.received)
	}
	v := tl.view(60, 6) // 5 message lines
	mustContain(t, v, "m10", "m14")
	mustNotContain(t, v, "m09")
	k := DefaultKeyMap()
	tl.scrollKey(k, keys("k")[0])
	tl.scrollKey(k, keys("k")[0])
	v = tl.view(60, 6)
	mustContain(t, v, "m08", "m12", "↑2")
	mustNotContain(t, v, "m13")
	// New messages keep the scrolled-to lines in place.
	tl.update(tailBatchMsg{gen: tl.gen, batch: batch(false, 15, "m15")})
	mustContain(t, tl.view(60, 6), "m08", "m12", "↑3")
	tl.scrollKey(k, keys("g")[0])
	mustContain(t, tl.view(60, 6), "m06")
	tl.scrollKey(k, keys("G")[0])
	mustContain(t, tl.view(60, 6), "m15")
	if tl.scrollKey(k, keys("x")[0]) {
		t.Fatal("x is not a scroll key")
	}
}

func TestTailStop(t *testing.T) {
	tl := startedTail(t, Options{Now: clock})
	gen := tl.gen
	tl.stop()
	if _, ok := tl.update(tailBatchMsg{gen: gen, batch: batch(false, 0, "late")}); ok {
		t.Fatal("a stopped pane took a late batch")
	}
	mustContain(t, tl.view(60, 4), "stopped")
}
