package tui

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/dsctl/dsctl/internal/client"
)

// streamsModel is the streams view: the project's streams from the
// inspection API, refreshed on every tick, filtered with "/".
type streamsModel struct {
	env  env
	keys KeyMap

	all      []client.StreamSummary
	loaded   bool
	loading  bool
	cursor   int // index into visible()
	top      int // first visible row
	filter   textinput.Model
	editing  bool // the filter input has the focus
	err      string
	note     string
	width    int
	height   int
	selected string // id under the cursor, kept across refreshes
}

func newStreams(e env, keys KeyMap) streamsModel {
	f := textinput.New()
	f.Prompt = "/"
	f.Placeholder = "filter streams"
	f.CharLimit = 256
	return streamsModel{env: e, keys: keys, filter: f}
}

// fetch reloads the list (unless a reload is under way).
func (m *streamsModel) fetch() tea.Cmd {
	if m.loading {
		return nil
	}
	m.loading = true
	src := m.env.src
	return m.env.call(func(ctx context.Context) tea.Msg {
		ss, err := src.AllStreams(ctx)
		return streamsMsg{streams: ss, err: err}
	})
}

func (m *streamsModel) setSize(w, h int) {
	m.width, m.height = w, h
	m.filter.Width = max(w-20, 10)
	m.scrollToCursor()
}

// inputFocused reports whether keys go to the filter input.
func (m streamsModel) inputFocused() bool { return m.editing }

// visible is the list after the filter.
func (m streamsModel) visible() []client.StreamSummary {
	q := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	if q == "" {
		return m.all
	}
	var out []client.StreamSummary
	for _, s := range m.all {
		if strings.Contains(strings.ToLower(s.ID), q) {
			out = append(out, s)
		}
	}
	return out
}

// rows is how many stream rows fit under the column header.
func (m streamsModel) rows() int {
	h := m.height - 2 // column header + the line about the filter/count
	return max(h, 1)
}

func (m *streamsModel) scrollToCursor() {
	n := len(m.visible())
	m.cursor = min(max(m.cursor, 0), max(n-1, 0))
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if r := m.rows(); m.cursor >= m.top+r {
		m.top = m.cursor - r + 1
	}
	m.top = min(max(m.top, 0), max(n-m.rows(), 0))
	if n > 0 {
		m.selected = m.visible()[m.cursor].ID
	}
}

// reselect puts the cursor back on the selected id after the list changed.
func (m *streamsModel) reselect() {
	for i, s := range m.visible() {
		if s.ID == m.selected {
			m.cursor = i
			break
		}
	}
	m.scrollToCursor()
}

func (m streamsModel) update(msg tea.Msg) (streamsModel, tea.Cmd) {
	switch msg := msg.(type) {
	case streamsMsg:
		m.loading = false
		if msg.err != nil {
			m.err = refreshErrText("list streams", msg.err)
			return m, nil
		}
		m.err, m.loaded = "", true
		m.all = msg.streams
		sort.Slice(m.all, func(i, j int) bool { return m.all[i].ID < m.all[j].ID })
		m.reselect()
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	if m.editing {
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m streamsModel) key(msg tea.KeyMsg) (streamsModel, tea.Cmd) {
	k := m.keys
	if m.editing {
		switch {
		case key.Matches(msg, k.Submit):
			m.editing = false
			m.filter.Blur()
			m.reselect()
			return m, nil
		case key.Matches(msg, k.Cancel):
			m.editing = false
			m.filter.Blur()
			m.filter.SetValue("")
			m.reselect()
			return m, nil
		case key.Matches(msg, k.Up), key.Matches(msg, k.Down):
			if msg.Type == tea.KeyUp || msg.Type == tea.KeyDown {
				return m.move(msg)
			}
		}
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		m.cursor, m.top = 0, 0
		m.scrollToCursor()
		return m, cmd
	}
	switch {
	case key.Matches(msg, k.Filter):
		m.editing = true
		m.note = ""
		return m, m.filter.Focus()
	case key.Matches(msg, k.Back):
		if m.filter.Value() != "" {
			m.filter.SetValue("")
			m.reselect()
		}
		return m, nil
	case key.Matches(msg, k.Refresh):
		return m, m.fetch()
	case key.Matches(msg, k.Open):
		vis := m.visible()
		if len(vis) == 0 {
			return m, nil
		}
		id := vis[m.cursor].ID
		m.note = ""
		return m, func() tea.Msg { return openStreamMsg{id: id} }
	}
	return m.move(msg)
}

func (m streamsModel) move(msg tea.KeyMsg) (streamsModel, tea.Cmd) {
	k := m.keys
	switch {
	case key.Matches(msg, k.Up):
		m.cursor--
	case key.Matches(msg, k.Down):
		m.cursor++
	case key.Matches(msg, k.PageUp):
		m.cursor -= m.rows()
	case key.Matches(msg, k.PageDown):
		m.cursor += m.rows()
	case key.Matches(msg, k.Top):
		m.cursor = 0
	case key.Matches(msg, k.Bottom):
		m.cursor = len(m.visible()) - 1
	}
	m.scrollToCursor()
	return m, nil
}

// status is the view's line for the status bar.
func (m streamsModel) status() (string, bool) {
	if m.err != "" {
		return m.err, true
	}
	return m.note, false
}

func (m streamsModel) help() helpKeys {
	if m.editing {
		return m.keys.promptHelp()
	}
	return m.keys.streamsHelp()
}

// Column widths; the id column takes what is left.
const (
	colSize    = 9
	colMsgs    = 8
	colWrite   = 10
	colReaders = 7
)

func (m streamsModel) view() string {
	w := m.width
	var b strings.Builder
	vis := m.visible()
	switch {
	case m.editing:
		b.WriteString(m.filter.View())
	case m.filter.Value() != "":
		b.WriteString(styles.Dim.Render(fmt.Sprintf("filter %q: %d of %d streams · / to change, esc to clear", m.filter.Value(), len(vis), len(m.all))))
	case m.loaded:
		b.WriteString(styles.Dim.Render(plural(len(m.all), "stream")))
	case m.err != "":
		b.WriteString(styles.Dim.Render("waiting for the server…"))
	default:
		b.WriteString(styles.Dim.Render("loading streams…"))
	}
	b.WriteString("\n")
	idw := max(w-2-colSize-colMsgs-colWrite-colReaders-5, 8)
	b.WriteString(styles.Header.Render(fmt.Sprintf("  %s %s %s  %s %s",
		padRight("STREAM", idw), padLeft("SIZE", colSize), padLeft("MESSAGES", colMsgs),
		padRight("LAST WRITE", colWrite), padLeft("READERS", colReaders))))
	now := m.env.opts.Now()
	end := min(m.top+m.rows(), len(vis))
	for i := m.top; i < end; i++ {
		s := vis[i]
		id := s.ID
		if s.Closed {
			id += " (closed)"
		}
		line := fmt.Sprintf("%s %s %s  %s %s",
			padRight(id, idw), padLeft(humanBytes(s.SizeBytes), colSize), padLeft(strconv.FormatInt(s.Messages, 10), colMsgs),
			padRight(ago(now, s.LastWriteAt), colWrite), padLeft(strconv.FormatInt(s.Readers, 10), colReaders))
		b.WriteString("\n")
		if i == m.cursor {
			b.WriteString(styles.Selected.Render("> " + line))
		} else {
			b.WriteString("  " + line)
		}
	}
	if m.loaded && len(vis) == 0 {
		b.WriteString("\n")
		if len(m.all) == 0 {
			b.WriteString(styles.Dim.Render("  no streams yet: create one with dsctl stream create <id>"))
		} else {
			b.WriteString(styles.Dim.Render("  no stream matches the filter"))
		}
	}
	return fit(b.String(), w, m.height)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
