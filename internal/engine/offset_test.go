package engine

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

func TestFormatOffset(t *testing.T) {
	tests := []struct {
		pos  int64
		want string
	}{
		{0, "0000000000000000_0000000000000000"},
		{1, "0000000000000000_0000000000000001"},
		{10, "0000000000000000_0000000000000010"},
		{1234567890, "0000000000000000_0000001234567890"},
		{9999999999999999, "0000000000000000_9999999999999999"},
	}
	for _, tt := range tests {
		got := FormatOffset(tt.pos)
		if got != tt.want {
			t.Errorf("FormatOffset(%d) = %q, want %q", tt.pos, got, tt.want)
		}
		if len(got) != offsetWidth {
			t.Errorf("FormatOffset(%d) has length %d, want %d", tt.pos, len(got), offsetWidth)
		}
		if strings.ContainsAny(got, ",&=?/") {
			t.Errorf("FormatOffset(%d) = %q contains a reserved character", tt.pos, got)
		}
		back, err := ParseOffset(got)
		if err != nil || back != tt.pos {
			t.Errorf("ParseOffset(FormatOffset(%d)) = %d, %v", tt.pos, back, err)
		}
	}
	if ZeroOffset != "0000000000000000_0000000000000000" {
		t.Errorf("ZeroOffset = %q", ZeroOffset)
	}
}

// Offsets must sort lexicographically in position order.
func TestFormatOffsetSortsLikePositions(t *testing.T) {
	positions := []int64{0, 1, 2, 9, 10, 11, 99, 100, 1 << 20, 1 << 40, 9999999999999999}
	strs := make([]string, len(positions))
	for i, p := range positions {
		strs[i] = FormatOffset(p)
	}
	if !sort.StringsAreSorted(strs) {
		t.Fatalf("offsets are not lexicographically sorted: %q", strs)
	}
	for i := 1; i < len(strs); i++ {
		if !(strs[i] > strs[i-1]) {
			t.Errorf("%q is not > %q", strs[i], strs[i-1])
		}
	}
}

func TestParseOffset(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"zero", "0000000000000000_0000000000000000", 0, true},
		{"ten", "0000000000000000_0000000000000010", 10, true},
		{"max width", "0000000000000000_9999999999999999", 9999999999999999, true},
		{"empty", "", 0, false},
		{"minus one", "-1", 0, false},
		{"now", "now", 0, false},
		{"plain number", "10", 0, false},
		{"non-zero generation", "0000000000000001_0000000000000000", 0, false},
		{"beyond-tail sentinel generation", "9999999999999999_9999999999999999", 0, false},
		{"short position", "0000000000000000_000000000000001", 0, false},
		{"long position", "0000000000000000_00000000000000001", 0, false},
		{"short generation", "000000000000000_00000000000000001", 0, false},
		{"no separator", "000000000000000000000000000000000", 0, false},
		{"dash separator", "0000000000000000-0000000000000000", 0, false},
		{"two separators", "0000000000000000_000000000000000_", 0, false},
		{"leading space", " 000000000000000_0000000000000000", 0, false},
		{"trailing space", "0000000000000000_000000000000000 ", 0, false},
		{"inner space", "0000000000000000_0000000 00000000", 0, false},
		{"padded", " 0000000000000000_0000000000000000 ", 0, false},
		{"comma", "0000000000000000_000000000000000,", 0, false},
		{"slash", "0000000000000000_00000000000000/1", 0, false},
		{"dot dot", "0000000000000000_00000000000000..", 0, false},
		{"path traversal", "../../../../../../../../../../etc", 0, false},
		{"NUL", "0000000000000000_000000000000000\x00", 0, false},
		{"NUL prefix", "\x000000000000000_0000000000000000", 0, false},
		{"newline", "0000000000000000_000000000000000\n", 0, false},
		{"CRLF", "0000000000000000_00000000000000\r\n", 0, false},
		{"sign in position", "0000000000000000_-000000000000001", 0, false},
		{"plus in position", "0000000000000000_+000000000000001", 0, false},
		{"hex", "0000000000000000_000000000000000a", 0, false},
		{"upper hex", "0000000000000000_000000000000000F", 0, false},
		{"unicode digit", "0000000000000000_00000000000000\u0661", 0, false},
		{"huge", strings.Repeat("9", 10000), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOffset(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseOffset(%q) error: %v", tt.in, err)
				}
				if got != tt.want {
					t.Fatalf("ParseOffset(%q) = %d, want %d", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseOffset(%q) = %d, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("ParseOffset(%q) error %v is not ErrBadRequest", tt.in, err)
			}
			if len(err.Error()) > 200 {
				t.Fatalf("ParseOffset error message is not clipped: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestParseReadOffset(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ReadFrom
		ok   bool
	}{
		{"minus one", "-1", ReadFrom{Kind: OffsetStart}, true},
		{"now", "now", ReadFrom{Kind: OffsetNow}, true},
		{"zero", "0000000000000000_0000000000000000", ReadFrom{Kind: OffsetAt, Pos: 0}, true},
		{"position", "0000000000000000_0000000000000042", ReadFrom{Kind: OffsetAt, Pos: 42}, true},
		{"beyond any tail", "0000000000000000_9999999999999999", ReadFrom{Kind: OffsetAt, Pos: 9999999999999999}, true},
		{"empty", "", ReadFrom{}, false},
		{"NOW", "NOW", ReadFrom{}, false},
		{"Now", "Now", ReadFrom{}, false},
		{"minus two", "-2", ReadFrom{}, false},
		{"minus one padded", " -1", ReadFrom{}, false},
		{"now padded", "now ", ReadFrom{}, false},
		{"now newline", "now\n", ReadFrom{}, false},
		{"minus one NUL", "-1\x00", ReadFrom{}, false},
		{"space", " ", ReadFrom{}, false},
		{"comma list", "-1,now", ReadFrom{}, false},
		{"slash", "/", ReadFrom{}, false},
		{"dot dot", "..", ReadFrom{}, false},
		{"zero", "0", ReadFrom{}, false},
		{"non-zero generation", "0000000000000002_0000000000000000", ReadFrom{}, false},
		{"sentinel beyond tail with generation", "9999999999999999_9999999999999999", ReadFrom{}, false},
		{"wrong width", "000000000000000_0000000000000000", ReadFrom{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReadOffset(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseReadOffset(%q) error: %v", tt.in, err)
				}
				if got != tt.want {
					t.Fatalf("ParseReadOffset(%q) = %+v, want %+v", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseReadOffset(%q) = %+v, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("ParseReadOffset(%q) error %v is not ErrBadRequest", tt.in, err)
			}
		})
	}
}
