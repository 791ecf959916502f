package tui

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Views are compared as plain text: no colour, whatever the terminal.
func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// t0 is the injected clock's fixed time.
var t0 = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func clock() time.Time { return t0 }

// testEnv is an env on src with the fixed clock; the context ends with
// the test.
func testEnv(t *testing.T, src Source) env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return env{src: src, opts: Options{Now: clock, RefreshInterval: time.Hour}.withDefaults(), ctx: ctx}
}

// demoFake has two streams: orders (JSON, two messages) and events
// (text, empty).
func demoFake() *fakeSource {
	f := newFake(clock)
	f.add("orders", "application/json", 3*time.Second, `{"id":1}`, `{"id":2}`).readers = 1
	f.add("events", "text/plain", 2*time.Minute)
	return f
}

// find runs cmd, and the commands of batches concurrently, and returns
// the first message of type T. Commands that block (follows, ticks,
// cursor blinks) are left running; the test's context ends follows.
func find[T any](t *testing.T, cmd tea.Cmd) T {
	t.Helper()
	var zero T
	if cmd == nil {
		t.Fatalf("no command, want one answering %T", zero)
	}
	out := make(chan tea.Msg, 64)
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		if c == nil {
			return
		}
		go func() {
			msg := c()
			if b, ok := msg.(tea.BatchMsg); ok {
				for _, c := range b {
					run(c)
				}
				return
			}
			if msg != nil {
				select {
				case out <- msg:
				case <-time.After(30 * time.Second):
				}
			}
		}()
	}
	run(cmd)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case msg := <-out:
			if m, ok := msg.(T); ok {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s message from the command", reflect.TypeOf(zero))
			return zero
		}
	}
}

// keys turns a description into key messages: named keys in angle
// brackets ("<enter>", "<esc>", "<tab>", "<down>", "<up>", "<ctrl+c>"),
// anything else typed rune by rune.
func keys(s string) []tea.KeyMsg {
	named := map[string]tea.KeyType{
		"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "down": tea.KeyDown, "up": tea.KeyUp,
		"ctrl+c": tea.KeyCtrlC, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown, "backspace": tea.KeyBackspace,
	}
	var out []tea.KeyMsg
	for s != "" {
		if strings.HasPrefix(s, "<") {
			if end := strings.IndexByte(s, '>'); end > 1 {
				if kt, ok := named[s[1:end]]; ok {
					out = append(out, tea.KeyMsg{Type: kt})
					s = s[end+1:]
					continue
				}
			}
		}
		r := []rune(s)[0]
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		s = s[len(string(r)):]
	}
	return out
}

// lines splits a view into its lines.
func lines(view string) []string { return strings.Split(view, "\n") }

// lineWith returns the first line of view containing s, or "".
func lineWith(view, s string) string {
	for _, l := range lines(view) {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func mustContain(t *testing.T, view string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(view, w) {
			t.Fatalf("view lacks %q:\n%s", w, view)
		}
	}
}

func mustNotContain(t *testing.T, view string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(view, w) {
			t.Fatalf("view has %q:\n%s", w, view)
		}
	}
}
