package engine

import (
	"fmt"
	"strconv"
)

// An offset on the wire is "%016d_%016d": a read generation (always 0 here,
// kept for compatibility with the Cloudflare workers' segment numbering)
// and a position. The position counts bytes in byte streams and messages in
// JSON streams. The fixed width keeps offsets lexicographically sortable.
const offsetWidth = 33

// ZeroOffset is the tail of an empty stream.
var ZeroOffset = FormatOffset(0)

// FormatOffset renders a position as a wire offset.
func FormatOffset(pos int64) string {
	return fmt.Sprintf("%016d_%016d", 0, pos)
}

// OffsetKind says what an offset query parameter asked for.
type OffsetKind int

const (
	OffsetStart OffsetKind = iota // "-1" or absent
	OffsetNow                     // "now": the tail
	OffsetAt                      // an explicit position
)

// ReadFrom is a parsed read position.
type ReadFrom struct {
	Kind OffsetKind
	Pos  int64
}

// ParseReadOffset parses the offset query parameter. The empty string is an
// error (the caller maps "absent" to OffsetStart itself).
func ParseReadOffset(s string) (ReadFrom, error) {
	switch s {
	case "-1":
		return ReadFrom{Kind: OffsetStart}, nil
	case "now":
		return ReadFrom{Kind: OffsetNow}, nil
	}
	pos, err := ParseOffset(s)
	if err != nil {
		return ReadFrom{}, err
	}
	return ReadFrom{Kind: OffsetAt, Pos: pos}, nil
}

// ParseOffset parses a concrete wire offset into a position.
func ParseOffset(s string) (int64, error) {
	if len(s) != offsetWidth || s[16] != '_' {
		return 0, badRequest("invalid offset %q: want 16 digits, '_', 16 digits", clip(s))
	}
	for i := 0; i < len(s); i++ {
		if i == 16 {
			continue
		}
		if s[i] < '0' || s[i] > '9' {
			return 0, badRequest("invalid offset %q: want 16 digits, '_', 16 digits", clip(s))
		}
	}
	gen, _ := strconv.ParseInt(s[:16], 10, 64)
	if gen != 0 {
		return 0, badRequest("invalid offset %q: unknown read generation", s)
	}
	pos, err := strconv.ParseInt(s[17:], 10, 64)
	if err != nil {
		return 0, badRequest("invalid offset %q", s)
	}
	return pos, nil
}

// clip keeps hostile input out of error messages at a readable length.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
