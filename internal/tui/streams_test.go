package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// loadedStreams is a streams view of f at 80×20 with its list loaded.
func loadedStreams(t *testing.T, f *fakeSource) streamsModel {
	t.Helper()
	m := newStreams(testEnv(t, f), DefaultKeyMap())
	m.setSize(80, 20)
	m, _ = m.update(find[streamsMsg](t, m.fetch()))
	return m
}

func typeInto(m streamsModel, s string) (streamsModel, tea.Cmd) {
	var cmd tea.Cmd
	for _, k := range keys(s) {
		m, cmd = m.update(k)
	}
	return m, cmd
}

func TestStreamsView(t *testing.T) {
	m := newStreams(testEnv(t, demoFake()), DefaultKeyMap())
	m.setSize(80, 20)
	mustContain(t, m.view(), "loading streams…")
	m, _ = m.update(find[streamsMsg](t, m.fetch()))
	v := m.view()
	if n := len(lines(v)); n != 20 {
		t.Fatalf("view has %d lines, want 20", n)
	}
	mustContain(t, v, "2 streams", "STREAM", "SIZE", "MESSAGES", "LAST WRITE", "READERS")
	// Sorted by id, the cursor on the first.
	ev, ord := lineWith(v, "events"), lineWith(v, "orders")
	if !strings.HasPrefix(ev, "> events") || !strings.HasPrefix(ord, "  orders") {
		t.Fatalf("rows:\n%s", v)
	}
	for _, want := range []string{"16 B", " 2 ", "3s ago", " 1"} {
		if !strings.Contains(ord, want) {
			t.Errorf("orders row %q lacks %q", ord, want)
		}
	}
	if !strings.Contains(ev, "0 B") || !strings.Contains(ev, "2m ago") {
		t.Errorf("events row %q", ev)
	}
	for _, l := range lines(v) {
		if w := len([]rune(l)); w > 80 {
			t.Errorf("line wider than 80 (%d): %q", w, l)
		}
	}
}

func TestStreamsEmpty(t *testing.T) {
	m := loadedStreams(t, newFake(clock))
	mustContain(t, m.view(), "0 streams", "no streams yet")
	if _, cmd := m.update(keys("<enter>")[0]); cmd != nil {
		t.Fatal("enter on an empty list opens nothing")
	}
}

func TestStreamsFilter(t *testing.T) {
	f := demoFake()
	f.add("order-archive", "text/plain", time.Hour)
	m := loadedStreams(t, f)
	m, _ = typeInto(m, "/")
	if !m.inputFocused() {
		t.Fatal("/ focuses the filter")
	}
	m, _ = typeInto(m, "ORD")
	v := m.view()
	mustContain(t, v, "/ORD", "order-archive", "orders")
	mustNotContain(t, v, "events")
	m, _ = typeInto(m, "<enter>")
	if m.inputFocused() {
		t.Fatal("enter leaves the filter input")
	}
	mustContain(t, m.view(), `filter "ORD": 2 of 3 streams`)
	// j moves (the filter no longer takes keys), enter opens the second.
	m, _ = typeInto(m, "j")
	_, cmd := m.update(keys("<enter>")[0])
	if got := find[openStreamMsg](t, cmd); got.id != "orders" {
		t.Fatalf("opened %q, want orders", got.id)
	}
	// esc clears the filter.
	m, _ = typeInto(m, "<esc>")
	mustContain(t, m.view(), "3 streams", "events")
	// esc while typing cancels the filter too.
	m, _ = typeInto(m, "/zzz")
	mustContain(t, m.view(), "no stream matches the filter")
	m, _ = typeInto(m, "<esc>")
	mustContain(t, m.view(), "events", "orders")
}

func TestStreamsNavigateAndOpen(t *testing.T) {
	m := loadedStreams(t, demoFake())
	m, _ = typeInto(m, "j")
	if !strings.HasPrefix(lineWith(m.view(), "orders"), "> orders") {
		t.Fatalf("j moves the cursor down:\n%s", m.view())
	}
	m, _ = typeInto(m, "jjj") // stays on the last row
	m, _ = typeInto(m, "k")
	if !strings.HasPrefix(lineWith(m.view(), "events"), "> events") {
		t.Fatalf("k moves the cursor up:\n%s", m.view())
	}
	m, _ = typeInto(m, "G")
	_, cmd := m.update(keys("<enter>")[0])
	if got := find[openStreamMsg](t, cmd); got.id != "orders" {
		t.Fatalf("opened %q", got.id)
	}
}

func TestStreamsScrolls(t *testing.T) {
	f := newFake(clock)
	for i := range 30 {
		f.add(fmt.Sprintf("s%02d", i), "text/plain", time.Minute)
	}
	m := loadedStreams(t, f)
	m.setSize(80, 7) // 5 rows
	m, _ = typeInto(m, "jjjjjjj")
	v := m.view()
	if !strings.HasPrefix(lineWith(v, "s07"), "> s07") || strings.Contains(v, "s02") {
		t.Fatalf("the list follows the cursor:\n%s", v)
	}
	m, _ = m.update(tea.KeyMsg{Type: tea.KeyPgDown})
	mustContain(t, m.view(), "> s12")
	m, _ = typeInto(m, "G")
	mustContain(t, m.view(), "> s29")
	m, _ = typeInto(m, "g")
	mustContain(t, m.view(), "> s00")
}

func TestStreamsKeepSelectionAcrossRefresh(t *testing.T) {
	f := demoFake()
	m := loadedStreams(t, f)
	m, _ = typeInto(m, "j") // orders
	f.add("aaa", "text/plain", time.Second)
	m, _ = m.update(find[streamsMsg](t, m.fetch()))
	if !strings.HasPrefix(lineWith(m.view(), "orders"), "> orders") {
		t.Fatalf("the cursor stays on orders:\n%s", m.view())
	}
}

func TestStreamsServerDown(t *testing.T) {
	f := demoFake()
	m := loadedStreams(t, f)
	f.setDown(true)
	m, _ = m.update(find[streamsMsg](t, m.fetch()))
	if s, isErr := m.status(); s != unreachableStatus || !isErr {
		t.Fatalf("status %q (error %v), want %q", s, isErr, unreachableStatus)
	}
	mustContain(t, m.view(), "orders") // the last list stays
	f.setDown(false)
	m, _ = m.update(find[streamsMsg](t, m.fetch()))
	if s, _ := m.status(); s != "" {
		t.Fatalf("status %q after the server came back", s)
	}
}

func TestStreamsClosedMarker(t *testing.T) {
	f := demoFake()
	f.streams["orders"].closed = true
	m := loadedStreams(t, f)
	mustContain(t, m.view(), "orders (closed)")
}
