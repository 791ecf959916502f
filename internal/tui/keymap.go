package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key binding of the UI; each view shows the ones that
// apply to it in the help bar.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding

	Help, Quit, ForceQuit, NextTab, Back, Refresh key.Binding

	// Streams view.
	Filter, Open key.Binding

	// Stream view.
	Send, FromOffset, CloseStream, DeleteStream key.Binding

	// Sessions view.
	OpenSession, Subscribe, Unsubscribe, Touch, DeleteSession, Publish key.Binding

	// Prompts and confirmations.
	Submit, Cancel, NextField, Yes, No key.Binding
}

// DefaultKeyMap returns the standard bindings.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return KeyMap{
		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down"),
		Top:      b([]string{"home", "g"}, "g", "top"),
		Bottom:   b([]string{"end", "G"}, "G", "bottom"),

		Help:      b([]string{"?"}, "?", "help"),
		Quit:      b([]string{"q"}, "q", "quit"),
		ForceQuit: b([]string{"ctrl+c"}, "ctrl+c", "quit"),
		NextTab:   b([]string{"tab", "shift+tab"}, "tab", "switch view"),
		Back:      b([]string{"esc"}, "esc", "back"),
		Refresh:   b([]string{"r"}, "r", "refresh"),

		Filter: b([]string{"/"}, "/", "filter"),
		Open:   b([]string{"enter"}, "enter", "open"),

		Send:         b([]string{"a", "i"}, "a", "append"),
		FromOffset:   b([]string{"o"}, "o", "from offset"),
		CloseStream:  b([]string{"c"}, "c", "close"),
		DeleteStream: b([]string{"d"}, "d", "delete"),

		OpenSession:   b([]string{"o"}, "o", "open session"),
		Subscribe:     b([]string{"s"}, "s", "subscribe"),
		Unsubscribe:   b([]string{"u"}, "u", "unsubscribe"),
		Touch:         b([]string{"t"}, "t", "touch"),
		DeleteSession: b([]string{"d"}, "d", "delete"),
		Publish:       b([]string{"p"}, "p", "publish"),

		Submit:    b([]string{"enter"}, "enter", "submit"),
		Cancel:    b([]string{"esc"}, "esc", "cancel"),
		NextField: b([]string{"tab", "shift+tab"}, "tab", "next field"),
		Yes:       b([]string{"y", "Y"}, "y", "yes"),
		No:        b([]string{"n", "N", "esc"}, "n", "no"),
	}
}

// helpKeys adapts a list of bindings to help.KeyMap.
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

// promptHelp is the help of a focused text input.
func (k KeyMap) promptHelp(extra ...key.Binding) helpKeys {
	short := append([]key.Binding{k.Submit, k.Cancel}, extra...)
	return helpKeys{short: short, full: [][]key.Binding{short}}
}

// confirmHelp is the help of a y/n question.
func (k KeyMap) confirmHelp() helpKeys {
	short := []key.Binding{k.Yes, k.No}
	return helpKeys{short: short, full: [][]key.Binding{short}}
}

func (k KeyMap) streamsHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.Open, k.Filter, k.Up, k.Down, k.NextTab, k.Help, k.Quit},
		full: [][]key.Binding{
			{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
			{k.Open, k.Filter, k.Back, k.Refresh},
			{k.NextTab, k.Help, k.Quit, k.ForceQuit},
		},
	}
}

func (k KeyMap) streamHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.Send, k.FromOffset, k.CloseStream, k.DeleteStream, k.Back, k.Help},
		full: [][]key.Binding{
			{k.Send, k.FromOffset, k.Refresh},
			{k.CloseStream, k.DeleteStream},
			{k.Up, k.Down, k.PageUp, k.PageDown, k.Bottom},
			{k.Back, k.Help, k.ForceQuit},
		},
	}
}

func (k KeyMap) sessionsHelp(open bool) helpKeys {
	if !open {
		short := []key.Binding{k.OpenSession, k.Publish, k.NextTab, k.Help, k.Quit}
		return helpKeys{short: short, full: [][]key.Binding{
			{k.OpenSession, k.Publish},
			{k.NextTab, k.Help, k.Quit, k.ForceQuit},
		}}
	}
	return helpKeys{
		short: []key.Binding{k.Subscribe, k.Unsubscribe, k.Publish, k.Touch, k.DeleteSession, k.Help, k.Quit},
		full: [][]key.Binding{
			{k.OpenSession, k.Subscribe, k.Unsubscribe, k.Touch, k.DeleteSession},
			{k.Publish, k.Refresh},
			{k.Up, k.Down, k.PageUp, k.PageDown, k.Bottom},
			{k.NextTab, k.Help, k.Quit, k.ForceQuit},
		},
	}
}
