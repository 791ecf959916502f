package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/dsctl/dsctl/internal/client"
)

// How tail and stream read print messages.
const (
	formatPretty = "pretty" // offset, time and the message, coloured on a terminal
	formatJSON   = "json"   // NDJSON: {"offset","data"[,"encoding"]}
	formatRaw    = "raw"    // the bytes as they are
)

// dataKind is how a stream's messages are represented.
type dataKind int

const (
	kindJSON   dataKind = iota // application/json: each message a JSON value
	kindText                   // text/* and other textual types: UTF-8 text
	kindBinary                 // anything else: bytes
)

// kindOf classifies a content type.
func kindOf(contentType string) dataKind {
	if client.IsJSON(contentType) {
		return kindJSON
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/x-ndjson", mt == "application/ndjson", mt == "application/jsonl",
		mt == "application/xml", mt == "application/yaml", mt == "application/x-yaml",
		mt == "application/javascript", mt == "application/ecmascript":
		return kindText
	}
	return kindBinary
}

// colorEnabled reports whether output may carry colour: only on a
// terminal, and never with --no-color, NO_COLOR (any non-empty value) or
// TERM=dumb.
func colorEnabled(ios *IOStreams, noColor bool) bool {
	if noColor || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return ios.IsOutTTY()
}

// pickFormat resolves --raw, --json and --format (validated already)
// against the terminal: pretty on a TTY, NDJSON otherwise.
func pickFormat(ios *IOStreams, format string, raw, asJSON bool) string {
	switch {
	case raw:
		return formatRaw
	case asJSON:
		return formatJSON
	case format != "":
		return format
	case ios.IsOutTTY():
		return formatPretty
	}
	return formatJSON
}

// checkFormatFlags validates the output flags shared by tail and read.
func checkFormatFlags(op, format string, raw, asJSON bool) error {
	switch format {
	case "", formatPretty, formatJSON:
	default:
		return &flagError{fmt.Errorf("%s: invalid --format %q: want pretty or json", op, format)}
	}
	n := 0
	for _, set := range []bool{format != "", raw, asJSON} {
		if set {
			n++
		}
	}
	if n > 1 {
		return &flagError{fmt.Errorf("%s: --raw, --json and --format are mutually exclusive", op)}
	}
	return nil
}

// msgStyles colour pretty output; the zero value prints plain text.
type msgStyles struct {
	on                                 bool
	meta, key, str, num, boolean, null lipgloss.Style
}

func newMsgStyles(w io.Writer, on bool) msgStyles {
	if !on {
		return msgStyles{}
	}
	r := lipgloss.NewRenderer(w)
	if r.ColorProfile() == termenv.Ascii {
		// We decided on colour (a terminal without NO_COLOR or TERM=dumb)
		// but termenv saw none, e.g. in tests: the 16 basic colours are
		// safe everywhere.
		r.SetColorProfile(termenv.ANSI)
	}
	return msgStyles{
		on:      true,
		meta:    r.NewStyle().Foreground(lipgloss.Color("8")),
		key:     r.NewStyle().Foreground(lipgloss.Color("4")).Bold(true),
		str:     r.NewStyle().Foreground(lipgloss.Color("2")),
		num:     r.NewStyle().Foreground(lipgloss.Color("6")),
		boolean: r.NewStyle().Foreground(lipgloss.Color("3")),
		null:    r.NewStyle().Foreground(lipgloss.Color("5")),
	}
}

func (s msgStyles) render(st lipgloss.Style, text string) string {
	if !s.on {
		return text
	}
	return st.Render(text)
}

// msgPrinter writes messages in one format, one Write per message so
// that lines are never torn.
type msgPrinter struct {
	w      io.Writer
	format string
	kind   dataKind
	styles msgStyles
	now    func() time.Time
}

func newMsgPrinter(ios *IOStreams, format, contentType string, color bool, now func() time.Time) *msgPrinter {
	if now == nil {
		now = time.Now
	}
	return &msgPrinter{
		w:      ios.Out,
		format: format,
		kind:   kindOf(contentType),
		styles: newMsgStyles(ios.Out, color && format == formatPretty),
		now:    now,
	}
}

func (p *msgPrinter) print(m client.Message) error {
	var buf bytes.Buffer
	switch p.format {
	case formatRaw:
		buf.Write(m.Data)
		if p.kind == kindJSON {
			buf.WriteByte('\n') // JSON values need a separator
		}
	case formatPretty:
		p.pretty(&buf, m)
	default:
		writeNDJSON(&buf, p.kind, m)
	}
	_, err := p.w.Write(buf.Bytes())
	return err
}

// writeNDJSON writes one line {"offset":"…","data":…}: the JSON value
// itself for JSON streams, a string for UTF-8 text, and base64 with
// "encoding":"base64" for anything else.
func writeNDJSON(buf *bytes.Buffer, kind dataKind, m client.Message) {
	buf.WriteString(`{"offset":`)
	writeJSONString(buf, m.Offset)
	buf.WriteString(`,"data":`)
	switch {
	case kind == kindJSON && json.Valid(m.Data):
		_ = json.Compact(buf, m.Data)
	case kind != kindBinary && utf8.Valid(m.Data):
		writeJSONString(buf, string(m.Data))
	default:
		writeJSONString(buf, base64.StdEncoding.EncodeToString(m.Data))
		buf.WriteString(`,"encoding":"base64"`)
	}
	buf.WriteString("}\n")
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

// pretty writes a header line (offset and local receive time) and the
// message: indented, coloured JSON; text as it is; a hex dump of bytes.
func (p *msgPrinter) pretty(buf *bytes.Buffer, m client.Message) {
	buf.WriteString(p.styles.render(p.styles.meta, m.Offset+"  "+p.now().Format("15:04:05.000")))
	buf.WriteByte('\n')
	switch {
	case p.kind == kindJSON && json.Valid(m.Data):
		var ind bytes.Buffer
		_ = json.Indent(&ind, bytes.TrimSpace(m.Data), "", "  ")
		if p.styles.on {
			colorJSON(buf, ind.Bytes(), p.styles)
		} else {
			buf.Write(ind.Bytes())
		}
		buf.WriteByte('\n')
	case p.kind != kindBinary && utf8.Valid(m.Data):
		buf.Write(m.Data)
		if len(m.Data) == 0 || m.Data[len(m.Data)-1] != '\n' {
			buf.WriteByte('\n')
		}
	default:
		buf.WriteString(hex.Dump(m.Data))
	}
}

// colorJSON copies indented, valid JSON to buf with keys, strings,
// numbers, booleans and null coloured.
func colorJSON(buf *bytes.Buffer, src []byte, s msgStyles) {
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(src))
			k := j
			for k < len(src) && (src[k] == ' ' || src[k] == '\n' || src[k] == '\t' || src[k] == '\r') {
				k++
			}
			st := s.str
			if k < len(src) && src[k] == ':' {
				st = s.key
			}
			buf.WriteString(s.render(st, string(src[i:j])))
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(src) && strings.IndexByte("0123456789+-.eE", src[j]) >= 0 {
				j++
			}
			buf.WriteString(s.render(s.num, string(src[i:j])))
			i = j
		case c == 't' || c == 'f' || c == 'n':
			j := i + 1
			for j < len(src) && src[j] >= 'a' && src[j] <= 'z' {
				j++
			}
			st := s.boolean
			if c == 'n' {
				st = s.null
			}
			buf.WriteString(s.render(st, string(src[i:j])))
			i = j
		default:
			buf.WriteByte(c)
			i++
		}
	}
}

// ring keeps the last n messages.
type ring struct {
	buf  []client.Message
	next int
	full bool
}

func newRing(n int) *ring { return &ring{buf: make([]client.Message, n)} }

func (r *ring) add(m client.Message) {
	if len(r.buf) == 0 {
		return
	}
	r.buf[r.next] = m
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// messages returns the kept messages, oldest first.
func (r *ring) messages() []client.Message {
	if !r.full {
		return r.buf[:r.next]
	}
	return append(append([]client.Message{}, r.buf[r.next:]...), r.buf[:r.next]...)
}
