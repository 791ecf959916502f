package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dsctl/dsctl/internal/client"
)

func newTestSessions(t *testing.T, f *fakeSource) sessionsModel {
	t.Helper()
	m := newSessions(testEnv(t, f), DefaultKeyMap())
	m.setSize(80, 20)
	return m
}

func pressSessions(m sessionsModel, s string) (sessionsModel, tea.Cmd) {
	var cmd tea.Cmd
	for _, k := range keys(s) {
		m, cmd = m.update(k)
	}
	return m, cmd
}

// openSession opens id through the o prompt.
func openSession(t *testing.T, m sessionsModel, id string) sessionsModel {
	t.Helper()
	m, cmd := pressSessions(m, "o"+id+"<enter>")
	m, _ = m.update(find[sessionMsg](t, cmd))
	return m
}

func TestSessionsNoneOpen(t *testing.T) {
	m := newTestSessions(t, demoFake())
	v := m.view()
	if n := len(lines(v)); n != 20 {
		t.Fatalf("%d lines, want 20", n)
	}
	mustContain(t, v, "no session open: o opens one by id", "subscriptions (0)")
	// s, u, t and d need a session.
	for _, k := range []string{"s", "u", "t", "d"} {
		if m2, cmd := pressSessions(m, k); cmd != nil || m2.inputFocused() {
			t.Errorf("%s without a session did something", k)
		}
	}
}

func TestSessionsOpenMissing(t *testing.T) {
	f := demoFake()
	m := newTestSessions(t, f)
	m, _ = pressSessions(m, "o")
	if !m.inputFocused() {
		t.Fatal("o asks for a session id")
	}
	mustContain(t, m.view(), "── open session", "session id: e.g. user-alice")
	m, cmd := pressSessions(m, "<enter>")
	if cmd != nil {
		t.Fatal("an empty id opens nothing")
	}
	m, cmd = pressSessions(m, "alice<enter>")
	m, _ = m.update(find[sessionMsg](t, cmd))
	if s, isErr := m.status(); isErr || !strings.HasPrefix(s, "no session alice yet: s subscribes it") {
		t.Fatalf("status %q", s)
	}
	mustContain(t, m.view(), "session alice · does not exist", "none: s subscribes the session")
	if m.tail.running() {
		t.Fatal("no tail without a session stream")
	}
}

func TestSessionsSubscribePublishFanout(t *testing.T) {
	f := demoFake()
	m := openSession(t, newTestSessions(t, f), "alice")
	m, _ = pressSessions(m, "s")
	mustContain(t, m.view(), "subscribe alice to stream:")
	m, cmd := pressSessions(m, "orders<enter>")
	msg := find[sessionMsg](t, cmd)
	if !msg.restartTail {
		t.Fatal("subscribing created the session stream: the tail (re)starts")
	}
	m, _ = m.update(msg)
	if !m.tail.running() || m.tail.id != "session:alice" || m.tail.from != "start" {
		t.Fatalf("tail on %q from %q", m.tail.id, m.tail.from)
	}
	if s, _ := m.status(); s != "subscribed alice to orders" {
		t.Fatalf("status %q", s)
	}
	v := m.view()
	mustContain(t, v, "session alice · expires in 30m · reads session:alice", "subscriptions (1)", "session tail · from start")
	if l := lineWith(v, "orders"); !strings.HasPrefix(l, "> orders") || !strings.HasSuffix(strings.TrimSpace(l), "subscribed just now") {
		t.Fatalf("subscription row %q", l)
	}

	// The publish form starts on the selected subscription's stream.
	m, _ = pressSessions(m, "p")
	v = m.view()
	mustContain(t, v, "── publish", "stream:  orders", "message: what to publish")
	if m.pubField != 1 {
		t.Fatal("the message field has the focus")
	}
	m, cmd = pressSessions(m, `{"hi":"alice"}<enter>`)
	pub := find[publishedMsg](t, cmd)
	_, pubs := f.recorded()
	if len(pubs) != 1 || pubs[0] != (fakeWrite{id: "orders", ct: "application/json", body: `{"hi":"alice"}`}) {
		t.Fatalf("publishes %+v", pubs)
	}
	m, _ = m.update(pub)
	if s, _ := m.status(); s != "published to orders at 3 · fanned out to 1 session" {
		t.Fatalf("status %q", s)
	}
	// The fan-out reaches the session stream (what the tail will show).
	if got := string(f.streams["session:alice"].msgs[0]); got != `{"hi":"alice"}` {
		t.Fatalf("session stream has %q", got)
	}
	m.tail.update(tailBatchMsg{gen: m.tail.gen, batch: batch(true, 0, `{"hi":"alice"}`)})
	mustContain(t, m.view(), `15:04:05     0  {"hi":"alice"}`)

	// tab moves between the fields; esc closes the form.
	m, _ = pressSessions(m, "<tab>")
	if m.pubField != 0 {
		t.Fatal("tab moves to the stream field")
	}
	m, _ = pressSessions(m, "<esc>")
	if m.inputFocused() {
		t.Fatal("esc closes the form")
	}
}

func TestSessionsPublishErrors(t *testing.T) {
	f := demoFake()
	m := newTestSessions(t, f)
	m, _ = pressSessions(m, "p")
	if m.pubField != 0 {
		t.Fatal("with no subscription the stream field has the focus")
	}
	m, _ = pressSessions(m, "orders<enter>")
	if m.pubField != 1 {
		t.Fatal("enter on the stream field moves to the message")
	}
	m, cmd := pressSessions(m, "not json<enter>")
	m, _ = m.update(find[publishedMsg](t, cmd))
	if s, isErr := m.status(); !isErr || !strings.Contains(s, "orders is a JSON stream and the message is not valid JSON") {
		t.Fatalf("status %q", s)
	}
	m, _ = pressSessions(m, "<tab>")
	m.pubStream.SetValue("nope")
	m, cmd = pressSessions(m, "<tab>x<enter>")
	m, _ = m.update(find[publishedMsg](t, cmd))
	if s, _ := m.status(); s != "publish to nope: stream nope not found (HTTP 404)" {
		t.Fatalf("status %q", s)
	}
	if _, pubs := f.recorded(); len(pubs) != 0 {
		t.Fatalf("published %+v", pubs)
	}
}

func TestSessionsUnsubscribeTouchDelete(t *testing.T) {
	f := demoFake()
	f.add("chat", "application/json", 0)
	if _, err := f.Subscribe(t.Context(), "orders", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Subscribe(t.Context(), "chat", "bob"); err != nil {
		t.Fatal(err)
	}
	m := openSession(t, newTestSessions(t, f), "bob")
	if !m.tail.running() {
		t.Fatal("opening an existing session tails its stream")
	}
	mustContain(t, m.view(), "subscriptions (2)", "> chat", "  orders")
	m, _ = pressSessions(m, "j")
	mustContain(t, m.view(), "  chat", "> orders")
	m, cmd := pressSessions(m, "u")
	m, _ = m.update(find[sessionMsg](t, cmd))
	if s, _ := m.status(); s != "unsubscribed bob from orders" {
		t.Fatalf("status %q", s)
	}
	mustContain(t, m.view(), "subscriptions (1)", "> chat")
	mustNotContain(t, m.view(), "orders")

	m, cmd = pressSessions(m, "t")
	m, _ = m.update(find[sessionMsg](t, cmd))
	if s, _ := m.status(); s != "touched bob; it expires in 30m" {
		t.Fatalf("status %q", s)
	}

	m, _ = pressSessions(m, "d")
	mustContain(t, m.view(), "delete session bob, its subscriptions and its stream? (y/n)")
	m, _ = pressSessions(m, "n")
	if f.sessions["bob"] == nil || m.inputFocused() {
		t.Fatal("n keeps the session")
	}
	m, _ = pressSessions(m, "d")
	m, cmd = pressSessions(m, "y")
	m, _ = m.update(find[sessionMsg](t, cmd))
	if f.sessions["bob"] != nil {
		t.Fatal("not deleted")
	}
	if s, _ := m.status(); s != "deleted session bob" {
		t.Fatalf("status %q", s)
	}
	if m.tail.running() {
		t.Fatal("the tail of a deleted session stops")
	}
	mustContain(t, m.view(), "session bob · does not exist")
}

func TestSessionsRefresh(t *testing.T) {
	f := demoFake()
	if _, err := f.Subscribe(t.Context(), "orders", "carol"); err != nil {
		t.Fatal(err)
	}
	m := openSession(t, newTestSessions(t, f), "carol")
	f.setDown(true)
	m, _ = m.update(find[sessionMsg](t, m.refresh()))
	if s, isErr := m.status(); s != unreachableStatus || !isErr {
		t.Fatalf("status %q", s)
	}
	mustContain(t, m.view(), "subscriptions (1)") // what was known stays
	f.setDown(false)
	m, _ = m.update(find[sessionMsg](t, m.refresh()))
	if s, _ := m.status(); s != "" {
		t.Fatalf("status %q after the server came back", s)
	}
	// The session expires: the next refresh says so.
	if _, err := f.DeleteSession(t.Context(), "carol"); err != nil {
		t.Fatal(err)
	}
	m, _ = m.update(find[sessionMsg](t, m.refresh()))
	if s, _ := m.status(); s != "session carol expired or was deleted" {
		t.Fatalf("status %q", s)
	}
	// A late answer about another session is dropped.
	m, _ = m.update(sessionMsg{op: "refresh", id: "other", sess: &client.Session{SessionID: "other"}})
	if m.sess != nil {
		t.Fatal("took another session's answer")
	}
}
