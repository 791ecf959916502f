package engine

import (
	"bytes"
	"encoding/json"
	"mime"
	"strings"
	"unicode/utf8"
)

// MediaType is the lower-cased type/subtype of a Content-Type, without
// parameters. Streams compare content types by it.
func MediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = ct
		if i := strings.IndexByte(mt, ';'); i >= 0 {
			mt = mt[:i]
		}
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

// IsJSON reports whether a content type puts a stream in JSON mode.
func IsJSON(ct string) bool { return MediaType(ct) == "application/json" }

// IsText reports whether SSE may carry the payload as UTF-8 text rather
// than base64.
func IsText(ct string) bool {
	mt := MediaType(ct)
	return strings.HasPrefix(mt, "text/") || mt == "application/json"
}

// SplitJSON validates a JSON body and flattens a top-level array by exactly
// one level: [a,b] is two messages, a non-array value is one. An empty array
// yields no messages; callers decide whether that is allowed.
func SplitJSON(body []byte) ([][]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if !utf8.Valid(trimmed) {
		return nil, badRequest("body is not valid JSON: it is not UTF-8")
	}
	if !json.Valid(trimmed) {
		return nil, badRequest("body is not valid JSON")
	}
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return [][]byte{trimmed}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '['
		return nil, badRequest("body is not valid JSON")
	}
	var msgs [][]byte
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, badRequest("body is not valid JSON")
		}
		msgs = append(msgs, []byte(raw))
	}
	return msgs, nil
}
