package tui

import (
	"context"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

type tab int

const (
	tabStreams tab = iota
	tabSessions
)

// Model is the root model of `dsctl ui`: a header with the two tabs
// (streams, sessions), the active view, a status line and the help bar.
type Model struct {
	env    env
	cancel context.CancelFunc
	keys   KeyMap
	help   help.Model

	width, height int
	tab           tab
	streams       streamsModel
	stream        streamModel // the stream view, when streamOpen
	streamOpen    bool
	sessions      sessionsModel
	quitting      bool
}

// New returns the UI's model for src. Call Close when the program ends.
func New(src Source, opts Options) Model {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	e := env{src: src, opts: opts, ctx: ctx}
	keys := DefaultKeyMap()
	h := help.New()
	m := Model{
		env: e, cancel: cancel, keys: keys, help: h,
		width: 80, height: 24,
		streams:  newStreams(e, keys),
		sessions: newSessions(e, keys),
	}
	m.layout()
	return m
}

// Close stops every follow and request of the UI.
func (m Model) Close() {
	m.stream.close()
	m.sessions.close()
	m.cancel()
}

// Quitting reports whether the user asked to quit.
func (m Model) Quitting() bool { return m.quitting }

// Init loads the streams and starts the refresh ticks.
func (m Model) Init() tea.Cmd {
	s := m.streams
	return tea.Batch(s.fetch(), m.tick())
}

func (m Model) tick() tea.Cmd {
	return tea.Tick(m.env.opts.RefreshInterval, func(time.Time) tea.Msg { return tickMsg{} })
}

// Update handles a message, then lays the views out again (a prompt or
// the full help may have changed their heights).
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := m.update(msg)
	m.layout()
	return m, cmd
}

func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tickMsg:
		return m, tea.Batch(m.refresh(), m.tick())
	case openStreamMsg:
		m.stream.close()
		m.stream = newStream(m.env, m.keys, msg.id)
		m.streamOpen = true
		m.layout()
		return m, m.stream.init()
	case backMsg:
		m.stream.close()
		m.streamOpen = false
		m.streams.note = msg.note
		return m, m.streams.fetch()
	case tea.KeyMsg:
		return m.key(msg)
	}
	// Answers and follow messages go to every view; each takes its own
	// (by stream id, session id or follow generation) and drops the rest.
	var c1, c2, c3 tea.Cmd
	m.streams, c1 = m.streams.update(msg)
	if m.streamOpen {
		m.stream, c2 = m.stream.update(msg)
	}
	m.sessions, c3 = m.sessions.update(msg)
	return m, tea.Batch(c1, c2, c3)
}

// refresh reloads what the visible view shows.
func (m *Model) refresh() tea.Cmd {
	switch {
	case m.tab == tabSessions:
		return m.sessions.refresh()
	case m.streamOpen:
		return m.stream.fetch()
	}
	return m.streams.fetch()
}

// inputFocused reports whether the active view takes every key (a text
// input or a y/n question).
func (m Model) inputFocused() bool {
	switch {
	case m.tab == tabSessions:
		return m.sessions.inputFocused()
	case m.streamOpen:
		return m.stream.inputFocused()
	}
	return m.streams.inputFocused()
}

func (m Model) key(msg tea.KeyMsg) (Model, tea.Cmd) {
	if key.Matches(msg, m.keys.ForceQuit) {
		return m.quit()
	}
	if !m.inputFocused() {
		switch {
		case key.Matches(msg, m.keys.Help):
			m.help.ShowAll = !m.help.ShowAll
			return m, nil
		case key.Matches(msg, m.keys.Quit) && (m.tab == tabSessions || !m.streamOpen):
			return m.quit()
		case key.Matches(msg, m.keys.NextTab) && (m.tab == tabSessions || !m.streamOpen):
			if m.tab == tabStreams {
				m.tab = tabSessions
			} else {
				m.tab = tabStreams
			}
			return m, m.refresh()
		}
	}
	var cmd tea.Cmd
	switch {
	case m.tab == tabSessions:
		m.sessions, cmd = m.sessions.update(msg)
	case m.streamOpen:
		m.stream, cmd = m.stream.update(msg)
	default:
		m.streams, cmd = m.streams.update(msg)
	}
	return m, cmd
}

func (m Model) quit() (Model, tea.Cmd) {
	m.quitting = true
	m.Close()
	return m, tea.Quit
}

// activeHelp is the key help of the active view.
func (m Model) activeHelp() helpKeys {
	switch {
	case m.tab == tabSessions:
		return m.sessions.help()
	case m.streamOpen:
		return m.stream.help()
	}
	h := m.streams.help()
	return h
}

// layout gives each view the height left by the header, the status line
// and the help bar.
func (m *Model) layout() {
	m.help.Width = m.width
	helpH := lipgloss.Height(m.help.View(m.activeHelp()))
	bodyH := max(m.height-2-helpH, 1)
	m.streams.setSize(m.width, bodyH)
	m.stream.setSize(m.width, bodyH)
	m.sessions.setSize(m.width, bodyH)
}

// View draws the header, the active view, the status line and the help.
func (m Model) View() string {
	w := m.width
	helpView := m.help.View(m.activeHelp())
	var body string
	var status string
	var isErr bool
	switch {
	case m.tab == tabSessions:
		body = m.sessions.view()
		status, isErr = m.sessions.status()
	case m.streamOpen:
		body = m.stream.view()
		status, isErr = m.stream.status()
	default:
		body = m.streams.view()
		status, isErr = m.streams.status()
	}
	bodyH := max(m.height-2-lipgloss.Height(helpView), 1)
	if isErr {
		status = styles.Error.Render(clip("! "+status, w))
	} else {
		status = styles.Note.Render(clip(status, w))
	}
	return strings.Join([]string{m.headerView(), fit(body, w, bodyH), status, fit(helpView, w, lipgloss.Height(helpView))}, "\n")
}

func (m Model) headerView() string {
	streamsTab, sessionsTab := styles.Tab.Render(" Streams "), styles.Tab.Render(" Sessions ")
	if m.tab == tabStreams {
		label := "Streams"
		if m.streamOpen {
			label += " › " + m.stream.id
		}
		streamsTab = styles.TabActive.Render("[" + label + "]")
	} else {
		sessionsTab = styles.TabActive.Render("[Sessions]")
	}
	left := styles.App.Render("dsctl ui") + "  " + streamsTab + " " + sessionsTab
	right := styles.Target.Render(m.env.opts.Target)
	gap := m.width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 2 {
		return clip(left, m.width)
	}
	return left + strings.Repeat(" ", gap) + right
}
