package tui

import (
	"encoding/json"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dsctl/dsctl/internal/client"
)

// openStream is the stream view of id at 80×20 with its metadata loaded.
// Its follow is started but not run.
func openStream(t *testing.T, f *fakeSource, id string) streamModel {
	t.Helper()
	m := newStream(testEnv(t, f), DefaultKeyMap(), id)
	_ = m.tail.start(id, "now")
	m.setSize(80, 20)
	m, _ = m.update(find[detailMsg](t, m.fetch()))
	return m
}

func pressStream(m streamModel, s string) (streamModel, tea.Cmd) {
	var cmd tea.Cmd
	for _, k := range keys(s) {
		m, cmd = m.update(k)
	}
	return m, cmd
}

func TestStreamViewMetadata(t *testing.T) {
	f := demoFake()
	m := newStream(testEnv(t, f), DefaultKeyMap(), "orders")
	_ = m.tail.start("orders", "now") // the command is not run
	m.setSize(80, 20)
	mustContain(t, m.view(), "orders", "loading…")
	m, _ = m.update(find[detailMsg](t, m.fetch()))
	v := m.view()
	if n := len(lines(v)); n != 20 {
		t.Fatalf("%d lines, want 20", n)
	}
	mustContain(t, v, "orders  application/json · open · public no",
		"size 16 B · 2 messages · tail 2 · 1 reader · last write 3s ago",
		"created 1h ago · ttl - · expires - · forks 0", "producers: none",
		"── tail · from now", "── send", "a: append a message")

	d := &client.StreamDetail{StreamSummary: f.summary(f.streams["orders"])}
	if err := json.Unmarshal([]byte(`{"producers":[{"id":"writer-1","epoch":2,"lastSeq":41,
		"lastOffset":"0000000000000000_0000000000000001","updatedAt":"2026-01-02T15:04:00Z"}]}`), d); err != nil {
		t.Fatal(err)
	}
	m, _ = m.update(detailMsg{id: "orders", detail: d})
	mustContain(t, m.view(), "producers: writer-1 (epoch 2, seq 41, at 1, 5s ago)")
	// An answer about another stream is not this view's.
	m, _ = m.update(detailMsg{id: "events", err: errRefused})
	if s, _ := m.status(); s != "" {
		t.Fatalf("status %q", s)
	}
}

func TestStreamViewGoneAndDown(t *testing.T) {
	f := demoFake()
	m := openStream(t, f, "orders")
	f.setDown(true)
	m, _ = m.update(find[detailMsg](t, m.fetch()))
	if s, isErr := m.status(); s != unreachableStatus || !isErr {
		t.Fatalf("status %q", s)
	}
	f.setDown(false)
	m, _ = m.update(find[detailMsg](t, m.fetch()))
	if s, _ := m.status(); s != "" {
		t.Fatalf("status %q after the server came back", s)
	}
	delete(f.streams, "orders")
	m, _ = m.update(find[detailMsg](t, m.fetch()))
	if s, _ := m.status(); s != "stream orders no longer exists" {
		t.Fatalf("status %q", s)
	}
}

func TestStreamSendBox(t *testing.T) {
	f := demoFake()
	m := openStream(t, f, "orders")
	m, _ = pressStream(m, "a")
	if !m.inputFocused() {
		t.Fatal("a focuses the send box")
	}
	mustContain(t, m.view(), `> JSON value to append`)
	m, _ = pressStream(m, `{"n":42}`)
	mustContain(t, m.view(), `> {"n":42}`)
	m, cmd := pressStream(m, "<enter>")
	if s, _ := m.status(); s != "appending…" {
		t.Fatalf("status %q while appending", s)
	}
	got := find[appendedMsg](t, cmd)
	appends, _ := f.recorded()
	if len(appends) != 1 || appends[0] != (fakeWrite{id: "orders", ct: "application/json", body: `{"n":42}`}) {
		t.Fatalf("appends %+v", appends)
	}
	m, cmd = m.update(got)
	if s, _ := m.status(); s != "appended; next offset 3" {
		t.Fatalf("status %q", s)
	}
	m, _ = m.update(find[detailMsg](t, cmd)) // the metadata reloads
	mustContain(t, m.view(), "3 messages")
	if !m.inputFocused() || m.input.Value() != "" {
		t.Fatal("the send box stays open, emptied, for the next message")
	}
	m, _ = pressStream(m, "<esc>")
	if m.inputFocused() {
		t.Fatal("esc leaves the send box")
	}
}

func TestStreamSendBoxChecksJSON(t *testing.T) {
	f := demoFake()
	m := openStream(t, f, "orders")
	m, cmd := pressStream(m, "ahello<enter>")
	if cmd != nil {
		t.Fatal("invalid JSON is not sent")
	}
	if s, isErr := m.status(); !isErr || !strings.Contains(s, "not valid JSON") {
		t.Fatalf("status %q", s)
	}
	// Text streams take anything.
	m = openStream(t, f, "events")
	m, cmd = pressStream(m, "ahello<enter>")
	find[appendedMsg](t, cmd)
	if appends, _ := f.recorded(); len(appends) != 1 || appends[0].body != "hello" || appends[0].ct != "text/plain" {
		t.Fatalf("appends %+v", appends)
	}
	// An error answer is shown inline.
	m, _ = m.update(appendedMsg{id: "events", err: &client.APIError{Status: 409, Message: "stream is closed"}})
	if s, isErr := m.status(); !isErr || s != "append: stream is closed (HTTP 409)" {
		t.Fatalf("status %q", s)
	}
}

func TestStreamClose(t *testing.T) {
	f := demoFake()
	m := openStream(t, f, "orders")
	m, cmd := pressStream(m, "c")
	if cmd != nil || !m.inputFocused() {
		t.Fatal("c asks first")
	}
	mustContain(t, m.view(), "close orders? Nothing can be appended after that. (y/n)")
	if h := m.help().ShortHelp(); len(h) != 2 {
		t.Fatalf("the help shows y/n, got %d bindings", len(h))
	}
	m, cmd = pressStream(m, "n")
	if cmd != nil || m.inputFocused() {
		t.Fatal("n cancels")
	}
	if appends, _ := f.recorded(); len(appends) != 0 {
		t.Fatal("nothing was sent")
	}
	m, _ = pressStream(m, "c")
	m, cmd = pressStream(m, "y")
	m, cmd = m.update(find[closedMsg](t, cmd))
	if !f.streams["orders"].closed {
		t.Fatal("the stream was not closed")
	}
	if s, _ := m.status(); s != "closed orders at offset 2" {
		t.Fatalf("status %q", s)
	}
	m, _ = m.update(find[detailMsg](t, cmd))
	mustContain(t, m.view(), "application/json · closed", "the stream is closed: nothing more can be appended")
	if m, _ = pressStream(m, "a"); m.inputFocused() {
		t.Fatal("a closed stream has no send box")
	}
}

func TestStreamDelete(t *testing.T) {
	f := demoFake()
	m := openStream(t, f, "orders")
	m, _ = pressStream(m, "d")
	mustContain(t, m.view(), "delete orders and all its messages? (y/n)")
	m, _ = pressStream(m, "<esc>")
	if m.inputFocused() || f.streams["orders"] == nil {
		t.Fatal("esc cancels")
	}
	m, _ = pressStream(m, "d")
	m, cmd := pressStream(m, "y")
	m, cmd = m.update(find[deletedMsg](t, cmd))
	if f.streams["orders"] != nil {
		t.Fatal("not deleted")
	}
	if back := find[backMsg](t, cmd); back.note != "deleted orders" {
		t.Fatalf("back with note %q", back.note)
	}
	if m.tail.running() {
		t.Fatal("the tail still runs")
	}
}

func TestStreamFromOffset(t *testing.T) {
	f := demoFake()
	m := openStream(t, f, "orders")
	m, _ = pressStream(m, "o")
	mustContain(t, m.view(), "── tail from", "from> start, now, or an offset")
	m, _ = pressStream(m, "4 2<enter>")
	if s, isErr := m.status(); !isErr || !strings.Contains(s, "invalid offset") {
		t.Fatalf("status %q", s)
	}
	m.input.SetValue("")
	old := m.tail.gen
	m, cmd := pressStream(m, "1<enter>")
	if cmd == nil || m.inputFocused() || m.tail.gen == old || m.tail.from != offsetOf(1) {
		t.Fatalf("the tail restarts from offset 1: from %q", m.tail.from)
	}
	m, _ = pressStream(m, "o")
	m, _ = pressStream(m, "start<enter>")
	mustContain(t, m.view(), "tail · from start · connecting…")
}

func TestStreamBack(t *testing.T) {
	m := openStream(t, demoFake(), "orders")
	m, cmd := pressStream(m, "<esc>")
	find[backMsg](t, cmd)
	if m.tail.running() {
		t.Fatal("esc stops the tail")
	}
}
