package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// humanBytes renders a size: 0 B, 512 B, 1.2 KiB, 3.4 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ago renders how long before now t was: "4s ago", "3m ago"; "-" for the
// zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	return shortDuration(d) + " ago"
}

// until renders how long after now t is: "in 29m"; "expired" once past.
func until(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(now)
	if d <= 0 {
		return "expired"
	}
	return "in " + shortDuration(d)
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

var wireOffset = regexp.MustCompile(`^([0-9]{16})_([0-9]{16})$`)

// shortOffset renders a "%016d_%016d" offset as its position ("42"), or
// "gen_pos" past generation 0; other (opaque) offsets are kept as they are.
func shortOffset(o string) string {
	m := wireOffset.FindStringSubmatch(o)
	if m == nil {
		return o
	}
	gen, _ := strconv.ParseInt(m[1], 10, 64)
	pos, _ := strconv.ParseInt(m[2], 10, 64)
	if gen == 0 {
		return strconv.FormatInt(pos, 10)
	}
	return fmt.Sprintf("%d_%d", gen, pos)
}

var shortForm = regexp.MustCompile(`^([0-9]{1,16})(?:_([0-9]{1,16}))?$`)

// parseFrom turns what the user typed as a tail start into a Follow
// "from": start (or -1), now, a position as the UI shows them ("42",
// "0_42"), or a full offset.
func parseFrom(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "now":
		return "now", nil
	case "start", "-1", "beginning":
		return "start", nil
	}
	if wireOffset.MatchString(s) {
		return s, nil
	}
	if m := shortForm.FindStringSubmatch(s); m != nil {
		gen, pos := "0", m[1]
		if m[2] != "" {
			gen, pos = m[1], m[2]
		}
		g, _ := strconv.ParseInt(gen, 10, 64)
		p, _ := strconv.ParseInt(pos, 10, 64)
		return fmt.Sprintf("%016d_%016d", g, p), nil
	}
	if strings.ContainsAny(s, " \t&?#") {
		return "", fmt.Errorf("invalid offset %q: want start, now, a position such as 42, or an offset", s)
	}
	return s, nil // an opaque offset of another server
}

// fromLabel describes a Follow "from" for a pane title.
func fromLabel(from string) string {
	switch from {
	case "now", "start":
		return "from " + from
	}
	return "from " + shortOffset(from)
}

// messageText renders a message on one line: JSON compacted, text with
// control characters made visible, binary as a size and hex prefix.
func messageText(data []byte, isJSON bool) string {
	if isJSON {
		var buf bytes.Buffer
		if json.Compact(&buf, data) == nil {
			return buf.String()
		}
	}
	if !utf8.Valid(data) {
		n := min(len(data), 16)
		return fmt.Sprintf("<%d bytes> %x…", len(data), data[:n])
	}
	s := strings.TrimRight(string(data), "\r\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString("↵")
		case r == '\t':
			b.WriteString("  ")
		case unicode.IsControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clip cuts a (possibly styled) line to w cells, ending it with "…".
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// fit cuts or pads text to exactly h lines of at most w cells.
func fit(s string, w, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i := range lines {
		lines[i] = clip(lines[i], w)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// rule is a titled horizontal rule: "── title ─────".
func rule(title string, w int) string {
	head := "── " + title + " "
	n := w - lipgloss.Width(head)
	if n < 0 {
		n = 0
	}
	return styles.Rule.Render(clip(head+strings.Repeat("─", n), w))
}

// padRight pads s with spaces to w cells (cutting it when longer).
func padRight(s string, w int) string {
	s = clip(s, w)
	if n := w - ansi.StringWidth(s); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

// padLeft right-aligns s in w cells.
func padLeft(s string, w int) string {
	s = clip(s, w)
	if n := w - ansi.StringWidth(s); n > 0 {
		s = strings.Repeat(" ", n) + s
	}
	return s
}

// yesNo renders a bool for metadata.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// statusLine picks what a view's status line shows, most urgent first:
// its error, its tail's connection trouble, work in progress, or a note.
// The bool says whether it is an error.
func statusLine(err, tail, busy, note string) (string, bool) {
	switch {
	case err != "":
		return err, true
	case tail != "":
		return tail, true
	case busy != "":
		return busy, false
	}
	return note, false
}
