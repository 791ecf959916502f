package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dsctl/dsctl/internal/client"
)

// sessionPrompt is what the sessions view is asking for.
type sessionPrompt int

const (
	promptNone sessionPrompt = iota
	promptOpen
	promptSubscribe
	promptPublish
	promptDelete
)

// subsRows is how many subscriptions are listed at once.
const subsRows = 4

// sessionsModel is the sessions view: a session opened by id, its
// subscriptions (subscribe, unsubscribe), touch and delete, a live tail
// of its session stream, and a publish form for any stream.
type sessionsModel struct {
	env  env
	keys KeyMap

	id      string          // the open session ("" for none)
	sess    *client.Session // nil while it does not exist
	loading bool
	cursor  int // selected subscription
	top     int
	tail    tailModel

	prompt    sessionPrompt
	input     textinput.Model // session id or stream id
	pubStream textinput.Model
	pubBody   textinput.Model
	pubField  int // 0: stream, 1: message

	busy, err, note string
	width, height   int
}

func newSessions(e env, keys KeyMap) sessionsModel {
	in := textinput.New()
	in.CharLimit = 256
	ps := textinput.New()
	ps.Prompt = "stream:  "
	ps.Placeholder = "stream id"
	ps.CharLimit = 256
	pb := textinput.New()
	pb.Prompt = "message: "
	pb.Placeholder = "what to publish"
	pb.CharLimit = 1 << 20
	return sessionsModel{env: e, keys: keys, input: in, pubStream: ps, pubBody: pb, tail: newTail(e, "session tail")}
}

func (m *sessionsModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.input.Width = max(w-20, 10)
	m.pubStream.Width = max(w-12, 10)
	m.pubBody.Width = max(w-12, 10)
	m.tail.setHeight(m.tailHeight())
}

func (m sessionsModel) inputFocused() bool { return m.prompt != promptNone }

// promptLines is the height of the prompt area under the tail.
func (m sessionsModel) promptLines() int {
	switch m.prompt {
	case promptNone:
		return 0
	case promptPublish:
		return 3
	}
	return 2
}

// tailHeight is what is left for the tail under the session header (one
// line), the subscriptions (a title and subsRows) and a blank line.
func (m sessionsModel) tailHeight() int {
	return max(m.height-1-1-subsRows-1-m.promptLines(), 2)
}

func (m *sessionsModel) close() { m.tail.stop() }

// refresh reloads the open session.
func (m *sessionsModel) refresh() tea.Cmd {
	if m.id == "" || m.loading {
		return nil
	}
	m.loading = true
	return m.sessionCall("refresh", "", func(ctx context.Context, src Source, id string) (bool, string, error) {
		return false, "", nil
	})
}

// sessionCall runs op, then reloads the session, answering a sessionMsg.
// op returns whether the session stream is new and a note.
func (m *sessionsModel) sessionCall(op, busy string, fn func(ctx context.Context, src Source, id string) (bool, string, error)) tea.Cmd {
	src, id := m.env.src, m.id
	if busy != "" {
		m.busy = busy
	}
	return m.env.call(func(ctx context.Context) tea.Msg {
		restart, note, err := fn(ctx, src, id)
		if err != nil {
			return sessionMsg{op: op, id: id, err: err}
		}
		s, err := src.GetSession(ctx, id)
		if client.IsStatus(err, 404) {
			s, err = nil, nil
		}
		return sessionMsg{op: op, id: id, sess: s, err: err, restartTail: restart, note: note}
	})
}

func (m *sessionsModel) setPrompt(p sessionPrompt) tea.Cmd {
	m.prompt = p
	m.input.Blur()
	m.pubStream.Blur()
	m.pubBody.Blur()
	switch p {
	case promptOpen:
		m.input.Prompt = "session id: "
		m.input.Placeholder = "e.g. user-alice"
		m.input.SetValue("")
		return m.input.Focus()
	case promptSubscribe:
		m.input.Prompt = "subscribe " + m.id + " to stream: "
		m.input.Placeholder = "stream id"
		m.input.SetValue("")
		return m.input.Focus()
	case promptPublish:
		if m.pubStream.Value() == "" {
			if subs := m.subs(); len(subs) > 0 {
				m.pubStream.SetValue(subs[m.cursor].StreamID)
			}
		}
		m.pubBody.SetValue("")
		if m.pubStream.Value() == "" {
			m.pubField = 0
			return m.pubStream.Focus()
		}
		m.pubField = 1
		return m.pubBody.Focus()
	}
	return nil
}

func (m sessionsModel) subs() []client.Subscription {
	if m.sess == nil {
		return nil
	}
	return m.sess.Subscriptions
}

func (m sessionsModel) update(msg tea.Msg) (sessionsModel, tea.Cmd) {
	if cmd, ok := m.tail.update(msg); ok {
		return m, cmd
	}
	switch msg := msg.(type) {
	case sessionMsg:
		return m.answer(msg)
	case publishedMsg:
		m.busy = ""
		if msg.err != nil {
			m.err = errText("publish to "+msg.stream, msg.err)
			return m, nil
		}
		m.err = ""
		m.note = fmt.Sprintf("published to %s at %s · fanned out to %s", msg.stream, shortOffset(msg.res.NextOffset), plural(msg.res.FanoutCount, "session"))
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	var cmds []tea.Cmd
	for _, in := range []*textinput.Model{&m.input, &m.pubStream, &m.pubBody} {
		if in.Focused() {
			var cmd tea.Cmd
			*in, cmd = in.Update(msg)
			cmds = append(cmds, cmd)
		}
	}
	return m, tea.Batch(cmds...)
}

// answer takes in a session call's result.
func (m sessionsModel) answer(msg sessionMsg) (sessionsModel, tea.Cmd) {
	if msg.op == "refresh" || msg.op == "open" {
		m.loading = false
	}
	if msg.id != m.id {
		return m, nil
	}
	m.busy = ""
	if msg.err != nil {
		switch {
		case msg.op == "open" && client.IsStatus(msg.err, 404):
			m.err = ""
		case msg.op == "refresh":
			m.err = refreshErrText("session "+m.id, msg.err)
			return m, nil
		default:
			m.err = errText(msg.op+" "+m.id, msg.err)
			return m, nil
		}
	} else {
		m.err = ""
	}
	had := m.sess != nil
	m.sess = msg.sess
	m.note = msg.note
	m.cursor = min(m.cursor, max(len(m.subs())-1, 0))
	m.scrollSubs()
	if m.sess == nil {
		m.tail.stop()
		switch {
		case msg.op == "delete":
		case had:
			m.note = "session " + m.id + " expired or was deleted"
		default:
			m.note = "no session " + m.id + " yet: s subscribes it to a stream, t creates it empty"
		}
		return m, nil
	}
	if msg.restartTail || !m.tail.running() {
		return m, m.tail.start(client.SessionStreamID(m.id), "start")
	}
	return m, nil
}

func (m *sessionsModel) scrollSubs() {
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+subsRows {
		m.top = m.cursor - subsRows + 1
	}
	m.top = min(max(m.top, 0), max(len(m.subs())-subsRows, 0))
}

func (m sessionsModel) key(msg tea.KeyMsg) (sessionsModel, tea.Cmd) {
	k := m.keys
	switch m.prompt {
	case promptDelete:
		switch {
		case key.Matches(msg, k.Yes):
			cmd := m.setPrompt(promptNone)
			return m, tea.Batch(cmd, m.sessionCall("delete", "deleting…", func(ctx context.Context, src Source, id string) (bool, string, error) {
				_, err := src.DeleteSession(ctx, id)
				return false, "deleted session " + id, err
			}))
		case key.Matches(msg, k.No):
			m.note = "cancelled"
			return m, m.setPrompt(promptNone)
		}
		return m, nil
	case promptOpen, promptSubscribe:
		switch {
		case key.Matches(msg, k.Cancel):
			return m, m.setPrompt(promptNone)
		case key.Matches(msg, k.Submit):
			return m.submit()
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	case promptPublish:
		switch {
		case key.Matches(msg, k.Cancel):
			return m, m.setPrompt(promptNone)
		case key.Matches(msg, k.NextField):
			return m, m.focusField(1 - m.pubField)
		case key.Matches(msg, k.Submit):
			if m.pubField == 0 && m.pubBody.Value() == "" {
				return m, m.focusField(1)
			}
			return m.publish()
		}
		var cmd tea.Cmd
		if m.pubField == 0 {
			m.pubStream, cmd = m.pubStream.Update(msg)
		} else {
			m.pubBody, cmd = m.pubBody.Update(msg)
		}
		return m, cmd
	}

	switch {
	case key.Matches(msg, k.OpenSession):
		m.note, m.err = "", ""
		return m, m.setPrompt(promptOpen)
	case key.Matches(msg, k.Publish):
		m.note, m.err = "", ""
		return m, m.setPrompt(promptPublish)
	}
	if m.id == "" {
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Subscribe):
		m.note, m.err = "", ""
		return m, m.setPrompt(promptSubscribe)
	case key.Matches(msg, k.Unsubscribe):
		subs := m.subs()
		if len(subs) == 0 {
			return m, nil
		}
		stream := subs[m.cursor].StreamID
		return m, m.sessionCall("unsubscribe", "unsubscribing…", func(ctx context.Context, src Source, id string) (bool, string, error) {
			_, err := src.Unsubscribe(ctx, stream, id)
			return false, "unsubscribed " + id + " from " + stream, err
		})
	case key.Matches(msg, k.Touch):
		return m, m.sessionCall("touch", "touching…", func(ctx context.Context, src Source, id string) (bool, string, error) {
			s, err := src.TouchSession(ctx, id)
			if err != nil {
				return false, "", err
			}
			return s.IsNewSession, "touched " + id + "; it expires " + until(m.env.opts.Now(), s.ExpiresAt), nil
		})
	case key.Matches(msg, k.DeleteSession):
		m.note = ""
		return m, m.setPrompt(promptDelete)
	case key.Matches(msg, k.Refresh):
		m.loading = false
		return m, m.refresh()
	case key.Matches(msg, k.Up):
		m.cursor = max(m.cursor-1, 0)
		m.scrollSubs()
		return m, nil
	case key.Matches(msg, k.Down):
		m.cursor = min(m.cursor+1, max(len(m.subs())-1, 0))
		m.scrollSubs()
		return m, nil
	}
	m.tail.scrollKey(k, msg)
	return m, nil
}

func (m *sessionsModel) focusField(i int) tea.Cmd {
	m.pubField = i
	if i == 0 {
		m.pubBody.Blur()
		return m.pubStream.Focus()
	}
	m.pubStream.Blur()
	return m.pubBody.Focus()
}

// submit acts on the open and subscribe prompts.
func (m sessionsModel) submit() (sessionsModel, tea.Cmd) {
	v := strings.TrimSpace(m.input.Value())
	if v == "" {
		return m, nil
	}
	switch m.prompt {
	case promptOpen:
		cmd := m.setPrompt(promptNone)
		m.tail.stop()
		m.id, m.sess, m.cursor, m.top, m.err, m.note = v, nil, 0, 0, "", ""
		m.tail = newTail(m.env, "session tail")
		m.tail.setHeight(m.tailHeight())
		m.loading = true
		return m, tea.Batch(cmd, m.sessionCall("open", "opening…", func(context.Context, Source, string) (bool, string, error) {
			return false, "", nil
		}))
	case promptSubscribe:
		cmd := m.setPrompt(promptNone)
		return m, tea.Batch(cmd, m.sessionCall("subscribe", "subscribing…", func(ctx context.Context, src Source, id string) (bool, string, error) {
			s, err := src.Subscribe(ctx, v, id)
			if err != nil {
				return false, "", err
			}
			return s.IsNewSession, "subscribed " + id + " to " + v, nil
		}))
	}
	return m, nil
}

// publish sends the publish form: the stream's content type comes from
// the inspection API, so the message is published as the stream expects.
func (m sessionsModel) publish() (sessionsModel, tea.Cmd) {
	stream := strings.TrimSpace(m.pubStream.Value())
	body := m.pubBody.Value()
	if stream == "" {
		return m, m.focusField(0)
	}
	if body == "" {
		return m, nil
	}
	m.err, m.note, m.busy = "", "", "publishing…"
	m.pubBody.SetValue("")
	src := m.env.src
	return m, m.env.call(func(ctx context.Context) tea.Msg {
		d, err := src.InspectStream(ctx, stream)
		if err != nil {
			return publishedMsg{stream: stream, err: err}
		}
		if client.IsJSON(d.ContentType) && !json.Valid([]byte(body)) {
			return publishedMsg{stream: stream, err: fmt.Errorf("%s is a JSON stream and the message is not valid JSON", stream)}
		}
		res, err := src.Publish(ctx, stream, d.ContentType, []byte(body), client.AppendOptions{})
		return publishedMsg{stream: stream, res: res, err: err}
	})
}

func (m sessionsModel) status() (string, bool) {
	return statusLine(m.err, m.tail.status, m.busy, m.note)
}

func (m sessionsModel) help() helpKeys {
	switch m.prompt {
	case promptDelete:
		return m.keys.confirmHelp()
	case promptPublish:
		return m.keys.promptHelp(m.keys.NextField)
	case promptOpen, promptSubscribe:
		return m.keys.promptHelp()
	}
	return m.keys.sessionsHelp(m.id != "")
}

func (m sessionsModel) view() string {
	w := m.width
	var b strings.Builder
	now := m.env.opts.Now()
	switch {
	case m.id == "":
		b.WriteString(styles.Dim.Render("no session open: o opens one by id, p publishes to any stream"))
	case m.sess == nil:
		b.WriteString(styles.Title.Render("session "+m.id) + styles.Dim.Render(" · does not exist"))
	default:
		b.WriteString(styles.Title.Render("session "+m.id) + styles.Dim.Render(fmt.Sprintf(" · expires %s · reads %s",
			until(now, m.sess.ExpiresAt), client.SessionStreamID(m.id))))
	}
	b.WriteString("\n")
	subs := m.subs()
	b.WriteString(styles.Header.Render(fmt.Sprintf("subscriptions (%d)", len(subs))))
	for i := 0; i < subsRows; i++ {
		b.WriteString("\n")
		j := m.top + i
		if j >= len(subs) {
			if i == 0 && m.id != "" && len(subs) == 0 {
				b.WriteString(styles.Dim.Render("  none: s subscribes the session to a stream"))
			}
			continue
		}
		line := fmt.Sprintf("%s subscribed %s", padRight(subs[j].StreamID, max(w/2, 12)), ago(now, subs[j].SubscribedAt))
		if j == m.cursor {
			b.WriteString(styles.Selected.Render("> " + line))
		} else {
			b.WriteString("  " + line)
		}
	}
	b.WriteString("\n\n")
	if m.id != "" && m.sess != nil {
		b.WriteString(m.tail.view(w, m.tailHeight()))
	} else {
		b.WriteString(rule("session tail", w))
		b.WriteString(strings.Repeat("\n", m.tailHeight()-1))
	}
	switch m.prompt {
	case promptOpen:
		b.WriteString("\n" + rule("open session", w) + "\n" + m.input.View())
	case promptSubscribe:
		b.WriteString("\n" + rule("subscribe", w) + "\n" + m.input.View())
	case promptPublish:
		b.WriteString("\n" + rule("publish", w) + "\n" + m.pubStream.View() + "\n" + m.pubBody.View())
	case promptDelete:
		b.WriteString("\n" + rule("delete", w) + "\n" +
			styles.Warn.Render("delete session "+m.id+", its subscriptions and its stream? (y/n)"))
	}
	return fit(b.String(), w, m.height)
}
