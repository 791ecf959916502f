package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
)

// Golden flows: the whole UI in a Bubble Tea program at 80×24 (Ascii
// profile, fixed clock, no refresh ticks), driven by keys, with WaitFor
// on the rendered output for every asynchronous step. The final screen is
// compared with testdata/<test>.golden (go test -run Flow -update
// rewrites them).

func startFlow(t *testing.T, f *fakeSource) *teatest.TestModel {
	t.Helper()
	m := New(f, Options{Target: "http://127.0.0.1:4437 · default", Now: clock, RefreshInterval: time.Hour})
	t.Cleanup(m.Close)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	t.Cleanup(func() { _ = tm.Quit() })
	return tm
}

// waitFor waits until the output since the last wait shows every want.
func waitFor(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(out []byte) bool {
		for _, w := range want {
			if !bytes.Contains(out, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

func send(tm *teatest.TestModel, s string) {
	for _, k := range keys(s) {
		tm.Send(k)
	}
}

// finish quits with ctrl+c and compares the final screen with the golden
// file.
func finish(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	send(tm, "<ctrl+c>")
	final := tm.FinalModel(t, teatest.WithFinalTimeout(20*time.Second)).(Model)
	if !final.Quitting() {
		t.Fatal("the program ended without quitting")
	}
	view := final.View()
	if n := len(lines(view)); n != 24 {
		t.Fatalf("final screen has %d lines, want 24", n)
	}
	teatest.RequireEqualOutput(t, []byte(view+"\n"))
	return view
}

// Flow 1: the streams list, open a stream, and its tail shows a message
// another client appends meanwhile.
func TestFlowStreamsOpenTail(t *testing.T) {
	f := demoFake()
	tm := startFlow(t, f)
	waitFor(t, tm, "events", "orders", "2 streams")
	send(tm, "j<enter>")
	waitFor(t, tm, "2 messages", "tail · from now · live")
	f.write("orders", `{"id":3,"note":"appended meanwhile"}`)
	waitFor(t, tm, `{"id":3,"note":"appended meanwhile"}`)
	view := finish(t, tm)
	mustContain(t, view, "1 received")
}

// Flow 2: the send box appends, the fake records it, and the tail shows
// it.
func TestFlowSendBoxAppends(t *testing.T) {
	f := demoFake()
	tm := startFlow(t, f)
	waitFor(t, tm, "orders")
	send(tm, "j<enter>")
	waitFor(t, tm, "2 messages", "tail · from now · live")
	send(tm, "a")
	waitFor(t, tm, "JSON value to append")
	send(tm, `{"n":42}<enter>`)
	waitFor(t, tm, "appended; next offset 3", "3 messages", `2  {"n":42}`)
	appends, _ := f.recorded()
	if len(appends) != 1 || appends[0] != (fakeWrite{id: "orders", ct: "application/json", body: `{"n":42}`}) {
		t.Fatalf("appends %+v", appends)
	}
	finish(t, tm)
}

// Flow 3: the sessions view opens a session, subscribes it to a stream,
// publishes to that stream, and the session's tail shows the fan-out.
func TestFlowSessionsSubscribePublish(t *testing.T) {
	f := demoFake()
	tm := startFlow(t, f)
	waitFor(t, tm, "orders")
	send(tm, "<tab>")
	waitFor(t, tm, "[Sessions]", "no session open")
	send(tm, "o")
	waitFor(t, tm, "open session")
	send(tm, "alice<enter>")
	waitFor(t, tm, "no session alice yet")
	send(tm, "s")
	waitFor(t, tm, "subscribe alice to stream:")
	send(tm, "orders<enter>")
	waitFor(t, tm, "subscribed alice to orders", "session tail · from start · live")
	send(tm, "p")
	waitFor(t, tm, "stream:  orders")
	send(tm, `{"hello":"alice"}<enter>`)
	waitFor(t, tm, "fanned out to 1 session", `0  {"hello":"alice"}`)
	_, pubs := f.recorded()
	if len(pubs) != 1 || pubs[0].id != "orders" || pubs[0].body != `{"hello":"alice"}` {
		t.Fatalf("publishes %+v", pubs)
	}
	send(tm, "<esc>")
	waitFor(t, tm, "s subscribe")
	view := finish(t, tm)
	mustContain(t, view, "> orders", "1 received")
}

// Flow 4: the server drops: the status line says so, and the next
// refresh (and the tail's reconnect) clears it; nothing crashes.
func TestFlowServerDrops(t *testing.T) {
	f := demoFake()
	tm := startFlow(t, f)
	waitFor(t, tm, "orders")
	send(tm, "j<enter>")
	waitFor(t, tm, "2 messages", "tail · from now · live")
	f.setDown(true)
	waitFor(t, tm, unreachableStatus, "retrying…")
	tm.Send(tickMsg{}) // a refresh while down
	f.setDown(false)
	waitFor(t, tm, "tail · from now · live")
	f.write("orders", `{"id":3}`)
	waitFor(t, tm, `2  {"id":3}`)
	tm.Send(tickMsg{})
	waitFor(t, tm, "3 messages")
	view := finish(t, tm)
	if strings.Contains(view, "unreachable") {
		t.Fatalf("the status was not cleared:\n%s", view)
	}
}

var _ tea.Model = Model{}
