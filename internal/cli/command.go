package cli

import (
	"os"

	"github.com/spf13/cobra"
)

// Command returns dsctl's full command tree wired to the process's standard
// streams, for tools that walk it without running it (cmd/dsctl-man writes
// the man pages from it).
func Command() *cobra.Command {
	return newRootCmd(&IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
}
