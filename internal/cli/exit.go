package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ExitCode is the process exit status. The values follow gh:
// 0 ok, 1 error, 2 cancelled, 4 authentication.
type ExitCode int

const (
	ExitOK        ExitCode = 0
	ExitError     ExitCode = 1
	ExitCancelled ExitCode = 2
	ExitAuth      ExitCode = 4
)

// errCancelled marks a run the user stopped.
var errCancelled = errors.New("cancelled")

// errAuth marks missing or rejected credentials.
var errAuth = errors.New("authentication failed")

// hintError is an error with a follow-up suggestion printed on its own
// line as "Try: …".
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error { return &hintError{err: err, hint: hint} }

// flagError is a usage mistake; the command's usage is printed with it.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

// exitCodeFor is the one place errors become exit codes.
func exitCodeFor(err error) ExitCode {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errCancelled), errors.Is(err, context.Canceled):
		return ExitCancelled
	case errors.Is(err, errAuth):
		return ExitAuth
	}
	return ExitError
}

// printError writes "dsctl: what failed: why" and any hint to w.
func printError(w io.Writer, err error) {
	msg := err.Error()
	fmt.Fprintf(w, "dsctl: %s\n", strings.TrimPrefix(msg, "dsctl: "))
	var he *hintError
	if errors.As(err, &he) && he.hint != "" {
		fmt.Fprintf(w, "Try: %s\n", he.hint)
	}
}
