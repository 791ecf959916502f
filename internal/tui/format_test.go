package tui

import (
	"strings"
	"testing"
	"time"
)

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {512, "512 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"},
	} {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestAgoAndUntil(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		ago  string
		till string
	}{
		{time.Time{}, "-", "-"},
		{t0, "just now", "expired"},
		{t0.Add(-3 * time.Second), "3s ago", "expired"},
		{t0.Add(-90 * time.Second), "1m ago", "expired"},
		{t0.Add(-5 * time.Hour), "5h ago", "expired"},
		{t0.Add(-72 * time.Hour), "3d ago", "expired"},
		{t0.Add(30 * time.Minute), "just now", "in 30m"},
	} {
		if got := ago(t0, tc.t); got != tc.ago {
			t.Errorf("ago(%v) = %q, want %q", tc.t, got, tc.ago)
		}
		if got := until(t0, tc.t); got != tc.till {
			t.Errorf("until(%v) = %q, want %q", tc.t, got, tc.till)
		}
	}
}

func TestShortOffset(t *testing.T) {
	for in, want := range map[string]string{
		"0000000000000000_0000000000000042": "42",
		"0000000000000000_0000000000000000": "0",
		"0000000000000002_0000000000000007": "2_7",
		"opaque-cursor":                     "opaque-cursor",
		"":                                  "",
	} {
		if got := shortOffset(in); got != want {
			t.Errorf("shortOffset(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseFrom(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{"", "now", false},
		{"now", "now", false},
		{"START", "start", false},
		{"-1", "start", false},
		{"42", "0000000000000000_0000000000000042", false},
		{"1_5", "0000000000000001_0000000000000005", false},
		{"0000000000000000_0000000000000009", "0000000000000000_0000000000000009", false},
		{"abc-opaque", "abc-opaque", false},
		{"4 2", "", true},
		{"x&y", "", true},
	} {
		got, err := parseFrom(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseFrom(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestMessageText(t *testing.T) {
	for _, tc := range []struct {
		data   string
		isJSON bool
		want   string
	}{
		{"{ \"a\" : [1, 2] }", true, `{"a":[1,2]}`},
		{"not json", true, "not json"},
		{"hello\n", false, "hello"},
		{"two\nlines", false, "two↵lines"},
		{"tab\there", false, "tab  here"},
		{"bell\a", false, `bell\x07`},
		{"\xff\xfe\x00", false, "<3 bytes> fffe00…"},
	} {
		if got := messageText([]byte(tc.data), tc.isJSON); got != tc.want {
			t.Errorf("messageText(%q, %v) = %q, want %q", tc.data, tc.isJSON, got, tc.want)
		}
	}
}

func TestFitAndClip(t *testing.T) {
	if got := clip("hello world", 8); got != "hello w…" {
		t.Errorf("clip = %q", got)
	}
	if got := clip("short", 8); got != "short" {
		t.Errorf("clip = %q", got)
	}
	got := fit("a\nbbbbbbbbbb\nc\nd", 4, 3)
	if want := "a\nbbb…\nc"; got != want {
		t.Errorf("fit = %q, want %q", got, want)
	}
	if got := fit("a", 4, 3); strings.Count(got, "\n") != 2 {
		t.Errorf("fit pads to 3 lines, got %q", got)
	}
	if got := rule("tail", 12); got != "── tail ────" {
		t.Errorf("rule = %q", got)
	}
	if padLeft("7", 3) != "  7" || padRight("7", 3) != "7  " {
		t.Error("padding")
	}
}
