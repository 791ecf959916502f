// Package cli holds dsctl's cobra commands.
package cli

import (
	"errors"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// IOStreams are the command's standard streams; tests substitute buffers.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// inTTY and outTTY override terminal detection when set (SetTTY).
	inTTY, outTTY *bool
}

// Main runs dsctl with the process's arguments and streams.
func Main() ExitCode {
	return Run(os.Args[1:], &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
}

// Run executes dsctl with args, printing errors to ios.ErrOut.
func Run(args []string, ios *IOStreams) ExitCode {
	root := newRootCmd(ios)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err != nil {
		printError(ios.ErrOut, err)
		var fe *flagError
		if errors.As(err, &fe) {
			ios.ErrOut.Write([]byte("\n" + cmd.UsageString()))
		}
	}
	return exitCodeFor(err)
}

func newRootCmd(ios *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "dsctl",
		Short: "Run, deploy and tail Durable Streams",
		Long: `dsctl runs a Durable Streams server on your machine (dsctl serve): append-only,
offset-addressed byte and JSON streams over plain HTTP, with catch-up reads,
long-poll and Server-Sent Events.

Streams of named projects need a token: create a project with
dsctl create-project, mint tokens with dsctl token, and manage keys and
CORS origins with dsctl project.

dsctl setup deploys the same API to your Cloudflare account (dsctl deploy,
dsctl status and dsctl teardown afterwards); --remote points the project
and client commands at that deployment.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
	}
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &flagError{err: err} })
	root.AddCommand(
		newServeCmd(ios, nil),
		newCreateProjectCmd(ios, nil),
		newTokenCmd(ios, nil),
		newProjectCmd(ios),
		newVersionCmd(ios),
		newUICmd(ios, nil),
		newTailCmd(ios, nil),
		newStreamCmd(ios),
		newPublishCmd(ios, nil),
		newSubscribeCmd(ios, nil),
		newUnsubscribeCmd(ios, nil),
		newSessionCmd(ios),
		newSetupCmd(ios, nil),
		newDeployCmd(ios, nil),
		newStatusCmd(ios, nil),
		newTeardownCmd(ios, nil),
	)
	root.AddCommand(newHelpTopics()...)
	// Cobra's default completion command: give it an example like the rest.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Long = `Generate the shell completion script for dsctl (bash, zsh, fish or
powershell) on stdout. Homebrew installs and release archives ship the bash,
zsh and fish scripts already (completions/ in the archive).

To load completions in the current shell:

  bash        source <(dsctl completion bash)
  zsh         source <(dsctl completion zsh)
  fish        dsctl completion fish | source
  powershell  dsctl completion powershell | Out-String | Invoke-Expression

To load them in every new shell, install the script once:

  bash        dsctl completion bash > ~/.local/share/bash-completion/completions/dsctl
              (needs the bash-completion package)
  zsh         dsctl completion zsh > "${fpath[1]}/_dsctl"
              (with "autoload -U compinit; compinit" in ~/.zshrc)
  fish        dsctl completion fish > ~/.config/fish/completions/dsctl.fish
  powershell  add "dsctl completion powershell | Out-String | Invoke-Expression"
              to your $PROFILE

See "dsctl completion <shell> --help" for more on each shell.`
			c.Example = `  # bash, for this shell
  source <(dsctl completion bash)

  # zsh, for every new shell
  dsctl completion zsh > "${fpath[1]}/_dsctl"`
		}
	}
	return root
}
