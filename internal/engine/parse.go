package engine

import (
	"strconv"
	"time"
)

// MaxSafeInteger is the largest integer a JavaScript client can represent
// exactly; producer epochs and sequence numbers must not exceed it.
const MaxSafeInteger = 1<<53 - 1

// ParseDecimal parses a strict non-negative decimal: digits only, no sign,
// no leading zeros (except "0" itself), no exponent, at most 2^53-1.
func ParseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > MaxSafeInteger {
		return 0, false
	}
	return n, true
}

// ParseTTL parses a Stream-TTL header value in seconds.
func ParseTTL(s string) (int64, error) {
	n, ok := ParseDecimal(s)
	if !ok {
		return 0, badRequest("invalid Stream-TTL %q: want a non-negative whole number of seconds without leading zeros", clip(s))
	}
	return n, nil
}

// ParseExpiresAt parses a Stream-Expires-At header (RFC 3339).
func ParseExpiresAt(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest("invalid Stream-Expires-At %q: want an RFC 3339 timestamp such as 2030-01-02T15:04:05Z", clip(s))
	}
	return t, nil
}

// ValidProducerID reports whether a Producer-Id is acceptable: 1-256
// characters from [A-Za-z0-9_-:.]. Unchecked ids were a storage-abuse
// vector in the original system.
func ValidProducerID(s string) bool {
	if len(s) == 0 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_' || c == '-' || c == ':' || c == '.':
		default:
			return false
		}
	}
	return true
}
