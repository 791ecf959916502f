package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dsctl/dsctl/internal/client"
)

// streamInput is what the stream view's text input is for.
type streamInput int

const (
	inputNone streamInput = iota
	inputSend
	inputOffset
)

// streamModel is the stream view: metadata and producers, a live tail
// and a send box; close and delete ask first.
type streamModel struct {
	env  env
	keys KeyMap
	id   string

	detail  *client.StreamDetail
	loading bool
	tail    tailModel

	input   textinput.Model
	mode    streamInput
	confirm string // "close" or "delete" while asking
	busy    string // an operation under way

	err, note     string
	width, height int
}

// metaLines is the height of the metadata block.
const metaLines = 4

func newStream(e env, keys KeyMap, id string) streamModel {
	in := textinput.New()
	in.CharLimit = 1 << 20
	m := streamModel{env: e, keys: keys, id: id, tail: newTail(e, "tail"), input: in}
	m.setMode(inputNone)
	return m
}

// init loads the metadata and starts the tail from now.
func (m *streamModel) init() tea.Cmd {
	return tea.Batch(m.fetch(), m.tail.start(m.id, "now"))
}

func (m *streamModel) fetch() tea.Cmd {
	if m.loading {
		return nil
	}
	m.loading = true
	src, id := m.env.src, m.id
	return m.env.call(func(ctx context.Context) tea.Msg {
		d, err := src.InspectStream(ctx, id)
		return detailMsg{id: id, detail: d, err: err}
	})
}

func (m *streamModel) close() { m.tail.stop() }

func (m *streamModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.input.Width = max(w-4, 10)
	m.tail.setHeight(m.tailHeight())
}

// tailHeight is what is left for the tail after the metadata, a blank
// line and the send box (its rule and its line).
func (m streamModel) tailHeight() int { return max(m.height-metaLines-1-2, 2) }

func (m streamModel) inputFocused() bool { return m.mode != inputNone || m.confirm != "" }

func (m *streamModel) setMode(mode streamInput) tea.Cmd {
	m.mode = mode
	m.input.SetValue("")
	switch mode {
	case inputSend:
		m.input.Prompt = "> "
		m.input.Placeholder = "message to append"
		if m.detail != nil && client.IsJSON(m.detail.ContentType) {
			m.input.Placeholder = `JSON value to append, e.g. {"hello":"world"}`
		}
	case inputOffset:
		m.input.Prompt = "from> "
		m.input.Placeholder = "start, now, or an offset such as 42"
	default:
		m.input.Prompt = "  "
		m.input.Placeholder = "a: append a message"
		m.input.Blur()
		return nil
	}
	return m.input.Focus()
}

func (m streamModel) update(msg tea.Msg) (streamModel, tea.Cmd) {
	if cmd, ok := m.tail.update(msg); ok {
		return m, cmd
	}
	switch msg := msg.(type) {
	case detailMsg:
		if msg.id != m.id {
			return m, nil
		}
		m.loading = false
		if msg.err != nil {
			if client.IsStatus(msg.err, 404) {
				m.err = "stream " + m.id + " no longer exists"
			} else {
				m.err = refreshErrText("inspect "+m.id, msg.err)
			}
			return m, nil
		}
		m.err, m.detail = "", msg.detail
		return m, nil
	case appendedMsg:
		if msg.id != m.id {
			return m, nil
		}
		m.busy = ""
		if msg.err != nil {
			m.err = errText("append", msg.err)
			return m, nil
		}
		m.err, m.note = "", "appended; next offset "+shortOffset(msg.res.NextOffset)
		return m, m.fetch()
	case closedMsg:
		if msg.id != m.id {
			return m, nil
		}
		m.busy = ""
		if msg.err != nil {
			m.err = errText("close "+m.id, msg.err)
			return m, nil
		}
		m.err, m.note = "", "closed "+m.id+" at offset "+shortOffset(msg.res.NextOffset)
		return m, m.fetch()
	case deletedMsg:
		if msg.id != m.id {
			return m, nil
		}
		m.busy = ""
		if msg.err != nil {
			m.err = errText("delete "+m.id, msg.err)
			return m, nil
		}
		m.tail.stop()
		note := "deleted " + m.id
		return m, func() tea.Msg { return backMsg{note: note} }
	case tea.KeyMsg:
		return m.key(msg)
	}
	if m.mode != inputNone {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m streamModel) key(msg tea.KeyMsg) (streamModel, tea.Cmd) {
	k := m.keys
	if m.confirm != "" {
		switch {
		case key.Matches(msg, k.Yes):
			op := m.confirm
			m.confirm = ""
			return m, m.run(op)
		case key.Matches(msg, k.No):
			m.confirm, m.note = "", "cancelled"
		}
		return m, nil
	}
	if m.mode != inputNone {
		switch {
		case key.Matches(msg, k.Cancel):
			return m, m.setMode(inputNone)
		case key.Matches(msg, k.Submit):
			return m.submit()
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	switch {
	case key.Matches(msg, k.Back):
		m.tail.stop()
		return m, func() tea.Msg { return backMsg{} }
	case key.Matches(msg, k.Send):
		m.note, m.err = "", ""
		if m.detail != nil && m.detail.Closed {
			m.note = "the stream is closed: nothing more can be appended"
			return m, nil
		}
		return m, m.setMode(inputSend)
	case key.Matches(msg, k.FromOffset):
		m.note, m.err = "", ""
		return m, m.setMode(inputOffset)
	case key.Matches(msg, k.CloseStream):
		m.note = ""
		m.confirm = "close"
		return m, nil
	case key.Matches(msg, k.DeleteStream):
		m.note = ""
		m.confirm = "delete"
		return m, nil
	case key.Matches(msg, k.Refresh):
		if !m.tail.running() {
			return m, tea.Batch(m.fetch(), m.tail.start(m.id, m.tail.from))
		}
		return m, m.fetch()
	}
	m.tail.scrollKey(k, msg)
	return m, nil
}

// submit acts on the text input.
func (m streamModel) submit() (streamModel, tea.Cmd) {
	text := m.input.Value()
	switch m.mode {
	case inputOffset:
		from, err := parseFrom(text)
		if err != nil {
			m.err = err.Error()
			return m, nil
		}
		m.err = ""
		cmd := m.setMode(inputNone)
		return m, tea.Batch(cmd, m.tail.start(m.id, from))
	case inputSend:
		if text == "" {
			return m, nil
		}
		ct := ""
		if m.detail != nil {
			ct = m.detail.ContentType
		}
		if client.IsJSON(ct) && !json.Valid([]byte(text)) {
			m.err = "append: this is a JSON stream and the message is not valid JSON"
			return m, nil
		}
		m.err = ""
		m.input.SetValue("")
		m.busy = "appending…"
		src, id, body := m.env.src, m.id, []byte(text)
		return m, m.env.call(func(ctx context.Context) tea.Msg {
			res, err := src.Append(ctx, id, ct, body, client.AppendOptions{})
			return appendedMsg{id: id, res: res, err: err}
		})
	}
	return m, nil
}

// run performs a confirmed close or delete.
func (m *streamModel) run(op string) tea.Cmd {
	src, id := m.env.src, m.id
	switch op {
	case "close":
		m.busy = "closing…"
		return m.env.call(func(ctx context.Context) tea.Msg {
			res, err := src.Append(ctx, id, "", nil, client.AppendOptions{Close: true})
			return closedMsg{id: id, res: res, err: err}
		})
	case "delete":
		m.busy = "deleting…"
		return m.env.call(func(ctx context.Context) tea.Msg {
			return deletedMsg{id: id, err: src.Delete(ctx, id)}
		})
	}
	return nil
}

func (m streamModel) status() (string, bool) {
	return statusLine(m.err, m.tail.status, m.busy, m.note)
}

func (m streamModel) help() helpKeys {
	switch {
	case m.confirm != "":
		return m.keys.confirmHelp()
	case m.mode != inputNone:
		return m.keys.promptHelp()
	}
	return m.keys.streamHelp()
}

func (m streamModel) view() string {
	w := m.width
	var b strings.Builder
	b.WriteString(m.metaView(w))
	b.WriteString("\n\n")
	b.WriteString(m.tail.view(w, m.tailHeight()))
	b.WriteString("\n")
	switch {
	case m.confirm != "":
		b.WriteString(rule(m.confirm, w) + "\n")
		q := "close " + m.id + "? Nothing can be appended after that. (y/n)"
		if m.confirm == "delete" {
			q = "delete " + m.id + " and all its messages? (y/n)"
		}
		b.WriteString(styles.Warn.Render(q))
	case m.mode == inputOffset:
		b.WriteString(rule("tail from", w) + "\n")
		b.WriteString(m.input.View())
	default:
		b.WriteString(rule("send", w) + "\n")
		if m.detail != nil && m.detail.Closed {
			b.WriteString(styles.Dim.Render("  the stream is closed: nothing more can be appended"))
		} else {
			b.WriteString(m.input.View())
		}
	}
	return fit(b.String(), w, m.height)
}

// metaView is the metadata block, metaLines lines.
func (m streamModel) metaView(w int) string {
	d := m.detail
	if d == nil {
		return fit(styles.Title.Render(m.id)+"\n"+styles.Dim.Render("loading…"), w, metaLines)
	}
	now := m.env.opts.Now()
	state := "open"
	if d.Closed {
		state = "closed"
	}
	lines := []string{
		styles.Title.Render(d.ID) + styles.Dim.Render(fmt.Sprintf("  %s · %s · public %s", d.ContentType, state, yesNo(d.Public))),
		fmt.Sprintf("size %s · %s · tail %s · %s · last write %s",
			humanBytes(d.SizeBytes), plural(int(d.Messages), "message"), shortOffset(d.TailOffset),
			plural(int(d.Readers), "reader"), ago(now, d.LastWriteAt)),
		styles.Dim.Render(fmt.Sprintf("created %s · ttl %s · expires %s · forks %d%s",
			ago(now, d.CreatedAt), ttlText(d.TTLSeconds), expiresText(d), d.Forks, forkText(d))),
		producersText(now, d),
	}
	return fit(strings.Join(lines, "\n"), w, metaLines)
}

func ttlText(s *int64) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%ds", *s)
}

func expiresText(d *client.StreamDetail) string {
	if d.ExpiresAt == nil {
		return "-"
	}
	return d.ExpiresAt.UTC().Format("2006-01-02 15:04:05Z")
}

func forkText(d *client.StreamDetail) string {
	if d.ForkedFrom == nil {
		return ""
	}
	return fmt.Sprintf(" · forked from %s at %s", d.ForkedFrom.Path, shortOffset(d.ForkedFrom.Offset))
}

func producersText(now time.Time, d *client.StreamDetail) string {
	if len(d.Producers) == 0 {
		return styles.Dim.Render("producers: none")
	}
	parts := make([]string, 0, len(d.Producers))
	for _, p := range d.Producers {
		parts = append(parts, fmt.Sprintf("%s (epoch %d, seq %d, at %s, %s)", p.ID, p.Epoch, p.LastSeq, shortOffset(p.LastOffset), ago(now, p.UpdatedAt)))
	}
	return "producers: " + strings.Join(parts, " · ")
}
