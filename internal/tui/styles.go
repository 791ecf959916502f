package tui

import "github.com/charmbracelet/lipgloss"

// Styles are the UI's lipgloss styles. Every distinction they draw is also
// made in plain text (a "> " cursor, [brackets] on the active tab), so the
// UI reads the same without colour (NO_COLOR, the Ascii profile of tests).
type Styles struct {
	App       lipgloss.Style
	TabActive lipgloss.Style
	Tab       lipgloss.Style
	Target    lipgloss.Style
	Title     lipgloss.Style
	Header    lipgloss.Style
	Selected  lipgloss.Style
	Dim       lipgloss.Style
	Rule      lipgloss.Style
	Error     lipgloss.Style
	Note      lipgloss.Style
	Warn      lipgloss.Style
}

// DefaultStyles returns the UI's styles.
func DefaultStyles() Styles {
	subtle := lipgloss.AdaptiveColor{Light: "#8a8a8a", Dark: "#6c6c6c"}
	accent := lipgloss.AdaptiveColor{Light: "#5a3fc0", Dark: "#9d8cff"}
	return Styles{
		App:       lipgloss.NewStyle().Bold(true).Foreground(accent),
		TabActive: lipgloss.NewStyle().Bold(true).Foreground(accent),
		Tab:       lipgloss.NewStyle().Foreground(subtle),
		Target:    lipgloss.NewStyle().Foreground(subtle),
		Title:     lipgloss.NewStyle().Bold(true),
		Header:    lipgloss.NewStyle().Bold(true).Foreground(subtle),
		Selected:  lipgloss.NewStyle().Bold(true).Foreground(accent),
		Dim:       lipgloss.NewStyle().Foreground(subtle),
		Rule:      lipgloss.NewStyle().Foreground(subtle),
		Error:     lipgloss.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "#c0392b", Dark: "#ff6b6b"}),
		Note:      lipgloss.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "#2e7d32", Dark: "#7bd88f"}),
		Warn:      lipgloss.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "#b26a00", Dark: "#ffb86c"}),
	}
}

var styles = DefaultStyles()
