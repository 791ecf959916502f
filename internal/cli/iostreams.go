package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/charmbracelet/huh"
	"github.com/mattn/go-isatty"
)

// SetTTY overrides terminal detection for In and Out, so tests can run a
// command as if on a terminal (prompts, aligned tables) or as if piped.
func (s *IOStreams) SetTTY(in, out bool) {
	s.inTTY, s.outTTY = &in, &out
}

// IsInTTY reports whether In is a terminal.
func (s *IOStreams) IsInTTY() bool {
	if s.inTTY != nil {
		return *s.inTTY
	}
	return isTerminal(s.In)
}

// IsOutTTY reports whether Out is a terminal: tables are aligned, success
// ticks shown and notes added only then.
func (s *IOStreams) IsOutTTY() bool {
	if s.outTTY != nil {
		return *s.outTTY
	}
	return isTerminal(s.Out)
}

// CanPrompt reports whether dsctl may ask questions: only when both In and
// Out are terminals, never in pipes, scripts or CI.
func (s *IOStreams) CanPrompt() bool { return s.IsInTTY() && s.IsOutTTY() }

func isTerminal(v any) bool {
	f, ok := v.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// accessible reports whether prompts should use huh's accessible mode
// (plain line-by-line questions for screen readers), as DSCTL_ACCESSIBLE
// or ACCESSIBLE ask.
func accessible() bool {
	return os.Getenv("DSCTL_ACCESSIBLE") != "" || os.Getenv("ACCESSIBLE") != ""
}

// runForm runs a prompt on the streams: questions go to ErrOut, so stdout
// keeps only the command's data. Ctrl-C becomes errCancelled (exit 2).
func runForm(ios *IOStreams, fields ...huh.Field) error {
	form := huh.NewForm(huh.NewGroup(fields...)).
		WithAccessible(accessible()).
		WithInput(ios.In).
		WithOutput(ios.ErrOut).
		WithShowHelp(false)
	if err := form.Run(); err != nil {
		if errors.Is(err, huh.ErrUserAborted) {
			return errCancelled
		}
		return fmt.Errorf("prompt: %w", err)
	}
	return nil
}

// confirm asks a yes/no question, defaulting to no.
func confirm(ios *IOStreams, question string) (bool, error) {
	var yes bool
	err := runForm(ios, huh.NewConfirm().Title(question).Affirmative("Yes").Negative("No").Value(&yes))
	return yes, err
}

// successf prints a success line to ErrOut, on a terminal only.
func successf(ios *IOStreams, format string, args ...any) {
	if ios.IsOutTTY() {
		fmt.Fprintf(ios.ErrOut, "✓ "+format+"\n", args...)
	}
}

// notef prints a note for people to ErrOut, on a terminal only.
func notef(ios *IOStreams, format string, args ...any) {
	if ios.IsOutTTY() {
		fmt.Fprintf(ios.ErrOut, format+"\n", args...)
	}
}
