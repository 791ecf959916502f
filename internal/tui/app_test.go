package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

func newApp(t *testing.T, f *fakeSource) Model {
	t.Helper()
	m := New(f, Options{Target: "http://127.0.0.1:4437 · default", Now: clock, RefreshInterval: time.Hour})
	t.Cleanup(m.Close)
	return m
}

func step(m Model, msg tea.Msg) (Model, tea.Cmd) {
	next, cmd := m.Update(msg)
	return next.(Model), cmd
}

func press(m Model, s string) (Model, tea.Cmd) {
	var cmd tea.Cmd
	for _, k := range keys(s) {
		m, cmd = step(m, k)
	}
	return m, cmd
}

// loadedApp is the UI at 80×24 with the streams list loaded.
func loadedApp(t *testing.T, f *fakeSource) Model {
	t.Helper()
	m := newApp(t, f)
	m, _ = step(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m, _ = step(m, find[streamsMsg](t, m.Init()))
	return m
}

// checkFits asserts the view fills the terminal exactly.
func checkFits(t *testing.T, m Model, w, h int) {
	t.Helper()
	ls := lines(m.View())
	if len(ls) != h {
		t.Fatalf("view has %d lines, want %d:\n%s", len(ls), h, m.View())
	}
	for _, l := range ls {
		if ansi.StringWidth(l) > w {
			t.Fatalf("line wider than %d: %q", w, l)
		}
	}
}

func TestAppLayout(t *testing.T) {
	m := loadedApp(t, demoFake())
	v := m.View()
	first := lines(v)[0]
	if !strings.HasPrefix(first, "dsctl ui  [Streams]  Sessions") || !strings.HasSuffix(first, "http://127.0.0.1:4437 · default") {
		t.Fatalf("header %q", first)
	}
	last := lines(v)[23]
	for _, want := range []string{"enter open", "/ filter", "? help", "q quit"} {
		if !strings.Contains(last, want) {
			t.Errorf("help bar %q lacks %q", last, want)
		}
	}
	checkFits(t, m, 80, 24)
	for _, size := range [][2]int{{100, 30}, {60, 15}, {40, 10}} {
		m, _ = step(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		checkFits(t, m, size[0], size[1])
	}
	// Tiny terminals do not crash.
	for _, size := range [][2]int{{0, 0}, {5, 2}, {1, 1}} {
		m, _ = step(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		_ = m.View()
	}
}

func TestAppHelpToggle(t *testing.T) {
	m := loadedApp(t, demoFake())
	short := m.View()
	m, _ = press(m, "?")
	full := m.View()
	mustContain(t, full, "page up", "ctrl+c", "refresh")
	mustNotContain(t, short, "page up")
	checkFits(t, m, 80, 24)
	if m.streams.height >= loadedApp(t, demoFake()).streams.height {
		t.Fatal("the full help takes room from the view")
	}
	m, _ = press(m, "?")
	if m.View() != short {
		t.Fatal("? again shows the short help")
	}
}

func TestAppQuit(t *testing.T) {
	m := loadedApp(t, demoFake())
	m, cmd := press(m, "q")
	if !m.Quitting() || cmd == nil {
		t.Fatal("q quits from the streams list")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q returns tea.Quit")
	}
	if m.env.ctx.Err() == nil {
		t.Fatal("quitting stops follows and requests")
	}
}

func TestAppQIsTextInInputs(t *testing.T) {
	m := loadedApp(t, demoFake())
	m, _ = press(m, "/q")
	if m.Quitting() || m.streams.filter.Value() != "q" {
		t.Fatal("q in the filter is a letter")
	}
	m, _ = press(m, "?")
	if m.help.ShowAll {
		t.Fatal("? in the filter is a letter")
	}
	m, cmd := press(m, "<ctrl+c>")
	if !m.Quitting() || cmd == nil {
		t.Fatal("ctrl+c quits from anywhere")
	}
}

func TestAppOpenStreamAndBack(t *testing.T) {
	f := demoFake()
	m := loadedApp(t, f)
	m, cmd := press(m, "j<enter>")
	m, cmd = step(m, find[openStreamMsg](t, cmd))
	if !m.streamOpen || m.stream.id != "orders" {
		t.Fatal("enter opens the stream view")
	}
	m, _ = step(m, find[detailMsg](t, cmd))
	v := m.View()
	if !strings.HasPrefix(lines(v)[0], "dsctl ui  [Streams › orders]") {
		t.Fatalf("header %q", lines(v)[0])
	}
	mustContain(t, v, "2 messages", "a append", "esc back")
	checkFits(t, m, 80, 24)
	// q and tab do nothing in the stream view; esc goes back.
	m, _ = press(m, "q")
	if m.Quitting() || !m.streamOpen {
		t.Fatal("q in the stream view")
	}
	m, _ = press(m, "<tab>")
	if m.tab != tabStreams {
		t.Fatal("tab in the stream view")
	}
	m, cmd = press(m, "<esc>")
	m, cmd = step(m, find[backMsg](t, cmd))
	if m.streamOpen {
		t.Fatal("esc goes back to the list")
	}
	m, _ = step(m, find[streamsMsg](t, cmd))
	mustContain(t, m.View(), "> orders")
}

func TestAppTabs(t *testing.T) {
	m := loadedApp(t, demoFake())
	m, _ = press(m, "<tab>")
	v := m.View()
	if !strings.HasPrefix(lines(v)[0], "dsctl ui   Streams  [Sessions]") {
		t.Fatalf("header %q", lines(v)[0])
	}
	mustContain(t, v, "no session open", "o open session", "p publish")
	checkFits(t, m, 80, 24)
	m, _ = press(m, "oalice<enter>")
	if m.tab != tabSessions || m.Quitting() {
		t.Fatal("keys went to the session prompt")
	}
	m, _ = press(m, "<tab>")
	if m.tab != tabStreams {
		t.Fatal("tab goes back to the streams")
	}
}

func TestAppTickRefreshesTheVisibleView(t *testing.T) {
	f := demoFake()
	m := loadedApp(t, f)
	f.add("new-stream", "text/plain", 0)
	m, cmd := step(m, tickMsg{})
	m, _ = step(m, find[streamsMsg](t, cmd))
	mustContain(t, m.View(), "new-stream", "3 streams")

	m, cmd = press(m, "<enter>")
	m, cmd = step(m, find[openStreamMsg](t, cmd))
	m, _ = step(m, find[detailMsg](t, cmd))
	f.write("events", "x")
	_, cmd = step(m, tickMsg{})
	if d := find[detailMsg](t, cmd); d.id != "events" || d.detail.Messages != 1 {
		t.Fatalf("the tick reloads the open stream: %+v", d)
	}
}

func TestAppServerDown(t *testing.T) {
	f := demoFake()
	m := loadedApp(t, f)
	f.setDown(true)
	m, cmd := step(m, tickMsg{})
	m, _ = step(m, find[streamsMsg](t, cmd))
	if l := lines(m.View())[22]; l != "! "+unreachableStatus {
		t.Fatalf("status line %q", l)
	}
	mustContain(t, m.View(), "orders")
	f.setDown(false)
	m, cmd = step(m, tickMsg{})
	m, _ = step(m, find[streamsMsg](t, cmd))
	mustNotContain(t, m.View(), unreachableStatus)
}
