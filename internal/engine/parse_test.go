package engine

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"60", 60, true},
		{"3600", 3600, true},
		{"9007199254740991", MaxSafeInteger, true}, // 2^53-1
		{"9007199254740992", 0, false},             // 2^53
		{"9999999999999999", 0, false},
		{"10000000000000000", 0, false}, // 17 digits
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"00", 0, false},
		{"00060", 0, false},
		{"01", 0, false},
		{"+60", 0, false},
		{"-1", 0, false},
		{"-0", 0, false},
		{"60.5", 0, false},
		{"60.", 0, false},
		{"1e3", 0, false},
		{"1E3", 0, false},
		{"0x10", 0, false},
		{"abc", 0, false},
		{"1abc", 0, false},
		{"0xyz", 0, false},
		{" 60", 0, false},
		{"60 ", 0, false},
		{"6 0", 0, false},
		{"60\n", 0, false},
		{"6_0", 0, false},
		{"\u0661", 0, false}, // ARABIC-INDIC DIGIT ONE
	}
	for _, tt := range tests {
		got, ok := ParseDecimal(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if MaxSafeInteger != 1<<53-1 {
		t.Errorf("MaxSafeInteger = %d", MaxSafeInteger)
	}
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"60", 60, true},
		{"3600", 3600, true},
		{"9007199254740991", 1<<53 - 1, true},
		{"9007199254740992", 0, false},
		{"00060", 0, false},
		{"+60", 0, false},
		{"60.5", 0, false},
		{"1e3", 0, false},
		{"-1", 0, false},
		{"abc", 0, false},
		{"", 0, false},
		{" 60", 0, false},
		{strings.Repeat("1", 1000), 0, false},
	}
	for _, tt := range tests {
		got, err := ParseTTL(tt.in)
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("ParseTTL(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseTTL(%q) = %d, want an error", tt.in, got)
			continue
		}
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("ParseTTL(%q) error %v is not ErrBadRequest", tt.in, err)
		}
		var re *RequestError
		if !errors.As(err, &re) || !strings.Contains(re.Msg, "Stream-TTL") {
			t.Errorf("ParseTTL(%q) error %v should be a RequestError naming Stream-TTL", tt.in, err)
		}
		if len(err.Error()) > 300 {
			t.Errorf("ParseTTL error message is not clipped: %d bytes", len(err.Error()))
		}
	}
}

func TestParseExpiresAt(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Time
		ok   bool
	}{
		{"utc Z", "2030-01-02T15:04:05Z", time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC), true},
		{"plus offset", "2030-01-02T15:04:05+02:00", time.Date(2030, 1, 2, 13, 4, 5, 0, time.UTC), true},
		{"minus offset", "2030-01-02T15:04:05-05:30", time.Date(2030, 1, 2, 20, 34, 5, 0, time.UTC), true},
		{"fraction", "2030-01-02T15:04:05.250Z", time.Date(2030, 1, 2, 15, 4, 5, 250e6, time.UTC), true},
		{"past", "2000-01-01T00:00:00Z", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"empty", "", time.Time{}, false},
		{"garbage", "garbage", time.Time{}, false},
		{"date only", "2030-01-02", time.Time{}, false},
		{"no zone", "2030-01-02T15:04:05", time.Time{}, false},
		{"space separator", "2030-01-02 15:04:05Z", time.Time{}, false},
		{"unix seconds", "1893456000", time.Time{}, false},
		{"http date", "Wed, 02 Jan 2030 15:04:05 GMT", time.Time{}, false},
		{"bad month", "2030-13-02T15:04:05Z", time.Time{}, false},
		{"bad zone", "2030-01-02T15:04:05+0200", time.Time{}, false},
		{"trailing", "2030-01-02T15:04:05Zjunk", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExpiresAt(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseExpiresAt(%q) error: %v", tt.in, err)
				}
				if !got.Equal(tt.want) {
					t.Fatalf("ParseExpiresAt(%q) = %v, want %v", tt.in, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseExpiresAt(%q) = %v, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("ParseExpiresAt(%q) error %v is not ErrBadRequest", tt.in, err)
			}
			if !got.IsZero() {
				t.Fatalf("ParseExpiresAt(%q) returned %v with an error", tt.in, got)
			}
		})
	}
}

func TestValidProducerID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"a", true},
		{"producer-1", true},
		{"Producer_1", true},
		{"svc:worker.7", true},
		{"0", true},
		{"A-Z_a-z.0-9:", true},
		{strings.Repeat("x", 256), true},
		{strings.Repeat("x", 257), false},
		{"", false},
		{" ", false},
		{"a b", false},
		{"a/b", false},
		{"a,b", false},
		{"a\x00", false},
		{"a\n", false},
		{"ünïcode", false},
		{"a=b", false},
		{"a?b", false},
		{"a&b", false},
		{"a@b", false},
		{"a+b", false},
	}
	for _, tt := range tests {
		if got := ValidProducerID(tt.in); got != tt.ok {
			t.Errorf("ValidProducerID(%q) = %v, want %v", clip(tt.in), got, tt.ok)
		}
	}
}

func TestErrorTypes(t *testing.T) {
	ce := &ClosedError{NextOffset: 7}
	if !errors.Is(ce, ErrClosed) {
		t.Error("ClosedError does not unwrap to ErrClosed")
	}
	stale := &ProducerError{Kind: ErrStaleEpoch, CurrentEpoch: 3}
	if !errors.Is(stale, ErrStaleEpoch) || errors.Is(stale, ErrProducerSeqGap) {
		t.Error("stale-epoch ProducerError unwraps wrongly")
	}
	if !strings.Contains(stale.Error(), "3") {
		t.Errorf("stale-epoch message %q does not name the current epoch", stale.Error())
	}
	gap := &ProducerError{Kind: ErrProducerSeqGap, ExpectedSeq: 2, ReceivedSeq: 5}
	if !errors.Is(gap, ErrProducerSeqGap) || errors.Is(gap, ErrStaleEpoch) {
		t.Error("gap ProducerError unwraps wrongly")
	}
	if msg := gap.Error(); !strings.Contains(msg, "2") || !strings.Contains(msg, "5") {
		t.Errorf("gap message %q does not name expected and received", msg)
	}
	re := badRequest("bad %d", 1)
	if !errors.Is(re, ErrBadRequest) || re.Error() != "bad 1" {
		t.Errorf("badRequest = %v", re)
	}
	if c := conflict("x"); !errors.Is(c, ErrConflict) {
		t.Errorf("conflict = %v", c)
	}
	if !IsNotFound(notFound(Key{"p", "s"})) || IsNotFound(gone(Key{"p", "s"})) {
		t.Error("IsNotFound is wrong")
	}
	if !errors.Is(gone(Key{"p", "s"}), ErrGone) {
		t.Error("gone does not wrap ErrGone")
	}
}

func TestClip(t *testing.T) {
	if got := clip("short"); got != "short" {
		t.Errorf("clip(short) = %q", got)
	}
	long := strings.Repeat("a", 100)
	got := clip(long)
	if !strings.HasPrefix(got, strings.Repeat("a", 64)) || len(got) >= len(long) {
		t.Errorf("clip(long) = %q", got)
	}
}
