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
  4  authentication failed: credentials missing or rejected (a token for
     a server, or the Cloudflare API token)

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

CLOUDFLARE_API_TOKEN
    The Cloudflare API token of setup, deploy, status and every --remote
    command (asked for on a terminal when unset; never stored). See
    dsctl setup --help for the permissions it needs.

CLOUDFLARE_ACCOUNT_ID
    The Cloudflare account, in place of --account-id (default: the one in
    dsctl.toml, else the token's only account).

CLOUDFLARE_API_BASE_URL
    Another Cloudflare API base (default https://api.cloudflare.com/client/v4).

NO_COLOR
    Any non-empty value turns colour off (as --no-color does).

TERM
    TERM=dumb turns colour off too.

Flags always win over the environment.`,
		},
	}
}
