package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/client"
	"github.com/dsctl/dsctl/internal/token"
	"github.com/dsctl/dsctl/internal/tui"
)

type uiOptions struct {
	target  targetFlags
	refresh time.Duration
}

func newUICmd(ios *IOStreams, runF func(context.Context, *cobra.Command, *uiOptions) error) *cobra.Command {
	o := &uiOptions{}
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Browse streams and pub/sub sessions in a terminal UI",
		Long: `Open a full-screen terminal UI on the target server (see --url, --project and
--token; a local server's projects need no token).

Streams: the project's streams with size, messages, last write and live
readers, refreshed every --refresh; / filters, enter opens one.
A stream: its metadata and producers, a live tail (from now, or o for an
offset), a send box (a) to append, c to close and d to delete it.
Sessions (tab): open a session by id (o), subscribe it to streams (s),
unsubscribe (u), touch (t), delete (d), watch its session stream, and
publish to any stream (p).

? shows every key. q quits, esc goes back. The UI needs a terminal; in
scripts use dsctl stream, dsctl tail and dsctl publish. The inspection API
it reads needs a token with manage scope.`,
		Example: `  # the local server (dsctl serve), default project
  dsctl ui

  # a project of the local server: a token is minted from its registry
  dsctl ui --project demo

  # a deployed server, with a manage-scope token
  DSCTL_TOKEN=$(dsctl token --project demo --scope manage --secret "$SECRET") \
    dsctl ui --url https://streams.example.com --project demo`,
		Args: maxNamedArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.refresh <= 0 {
				return &flagError{fmt.Errorf("ui: --refresh must be positive, got %s", o.refresh)}
			}
			if runF != nil {
				return runF(cmd.Context(), cmd, o)
			}
			return runUI(cmd.Context(), ios, cmd, o)
		},
	}
	addTargetFlags(cmd, &o.target)
	cmd.Flags().DurationVar(&o.refresh, "refresh", tui.DefaultRefreshInterval, "how often the visible view reloads")
	return cmd
}

// errNoTTY is the answer of dsctl ui in a pipe or script.
func errNoTTY() error {
	return withHint(errors.New("ui: needs an interactive terminal (stdin and stdout must be a TTY)"),
		"dsctl stream list, dsctl tail <stream> or dsctl publish <stream> in scripts and pipes")
}

func runUI(ctx context.Context, ios *IOStreams, cmd *cobra.Command, o *uiOptions) error {
	if !ios.CanPrompt() {
		return errNoTTY()
	}
	c, t, err := clientFor(ctx, cmd, &o.target, token.ScopeManage)
	if err != nil {
		return err
	}
	if t.Minted {
		// A minted token lives 10 minutes; a UI stays open longer.
		c.HTTP = &http.Client{Transport: newRenewingAuth(t.Token, renewEvery, time.Now, func() (string, error) {
			nt, err := resolveTarget(ctx, cmd, &o.target, token.ScopeManage)
			if err != nil {
				return "", err
			}
			if !nt.Minted {
				return "", errors.New("the local registry no longer signs for " + nt.Project)
			}
			return nt.Token, nil
		})}
		c.Token = ""
	}
	// Refused credentials end here, with exit code 4 and a hint; a server
	// that is down is not an error: the UI says so and keeps retrying.
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = c.ListStreams(pctx, "", 1)
	cancel()
	var ae *client.APIError
	if errors.As(err, &ae) && client.IsAuth(err) {
		hint := "dsctl token --project " + t.Project + " --scope manage, then --token <jwt> (or DSCTL_TOKEN)"
		if t.Minted {
			hint = "the token minted from the local registry was refused: check --data-dir matches dsctl serve's"
		}
		return withHint(fmt.Errorf("ui: list streams: %w: %s", errAuth, ae.Error()), hint)
	}
	if os.Getenv("NO_COLOR") != "" {
		lipgloss.SetColorProfile(termenv.Ascii)
	}
	project := t.Project
	if project == "" {
		project = client.DefaultProject
	}
	model := tui.New(c, tui.Options{Target: t.URL + " · " + project, RefreshInterval: o.refresh})
	p := tea.NewProgram(model, tea.WithAltScreen(), tea.WithInput(ios.In), tea.WithOutput(ios.Out), tea.WithContext(ctx))
	final, err := p.Run()
	if fm, ok := final.(tui.Model); ok {
		fm.Close()
	}
	model.Close()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrInterrupted), ctx.Err() != nil:
		return errCancelled
	}
	return fmt.Errorf("ui: %w", err)
}

// renewEvery is how often a minted token is replaced (it lives 10 minutes).
const renewEvery = 5 * time.Minute

// renewingAuth is an http.RoundTripper that sends a token minted from the
// local registry and mints a new one every `every`; a failed renewal keeps
// the old token (the server then says why it refuses it).
type renewingAuth struct {
	base  http.RoundTripper
	renew func() (string, error)
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	token string
	at    time.Time
}

func newRenewingAuth(tok string, every time.Duration, now func() time.Time, renew func() (string, error)) *renewingAuth {
	return &renewingAuth{base: http.DefaultTransport, renew: renew, every: every, now: now, token: tok, at: now()}
}

func (a *renewingAuth) current() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.now().Sub(a.at) >= a.every {
		a.at = a.now() // one attempt per period, even when it fails
		if tok, err := a.renew(); err == nil && tok != "" {
			a.token = tok
		}
	}
	return a.token
}

func (a *renewingAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	if tok := a.current(); tok != "" && req.Header.Get("Authorization") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return a.base.RoundTrip(req)
}
