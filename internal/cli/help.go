package cli

import "github.com/spf13/cobra"

// Help topics: commands without Run that `dsctl help <topic>` prints.

func newHelpTopics() []*cobra.Command {
	return []*cobra.Command{
		{
			Use:   "exit-codes",
			Short: "What dsctl's exit codes mean",
			Long: `dsctl exits with:

  0  success (also when a listing has no results)
  1  an error: bad flags or arguments, a failed request, an unusable data dir
  2  cancelled: a prompt was answered with Ctrl-C or end of input
  4  authentication failed: credentials missing or rejected

Errors are printed on stderr as one line, "dsctl: what failed: why", often
followed by a "Try: …" line with a command that helps.`,
		},
		{
			Use:   "environment",
			Short: "Environment variables dsctl reads",
			Long: `DSCTL_ACCESSIBLE, ACCESSIBLE
    Any non-empty value makes prompts plain text, one question per line,
    for screen readers and scripted input.

DSCTL_URL, DSCTL_PROJECT, DSCTL_TOKEN, DSCTL_DATA_DIR
    The server, project, bearer token and local data dir of the commands
    that talk to a server (tail, stream, publish, subscribe, session), in
    place of --url, --project, --token and --data-dir. Below them comes a
    dsctl.toml found upward from the working directory.

NO_COLOR
    Any non-empty value turns colour off (as --no-color does).

TERM
    TERM=dumb turns colour off too.

Flags always win over the environment.`,
		},
	}
}
