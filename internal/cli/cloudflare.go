package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/charmbracelet/huh"

	"github.com/dsctl/dsctl/internal/deploy"
)

// Cloudflare credentials come from the environment wrangler users already
// set; the token is never a flag (it would land in shell history).
const (
	envCFToken   = "CLOUDFLARE_API_TOKEN"
	envCFAccount = "CLOUDFLARE_ACCOUNT_ID"
	envCFBase    = "CLOUDFLARE_API_BASE_URL"
)

// tokenPermissions is what a dsctl API token needs, for hints.
const tokenPermissions = "an API token with Account permissions Workers Scripts: Edit, Workers KV Storage: Edit, " +
	"Workers R2 Storage: Edit and Account Analytics: Read (My Profile → API Tokens → Create Token)"

// cfSession is a verified API client and the account it works on.
type cfSession struct {
	API       *deploy.API
	AccountID string
	Accounts  []deploy.Account // when listed to choose one
}

// connectCloudflare reads the API token (CLOUDFLARE_API_TOKEN, else a
// hidden prompt on a terminal), verifies it before anything else, and
// picks the account: accountFlag, CLOUDFLARE_ACCOUNT_ID, known (from
// dsctl.toml), the token's only account, or a choice on a terminal.
func connectCloudflare(ctx context.Context, ios *IOStreams, op, accountFlag, known string) (*cfSession, error) {
	base, err := deploy.CheckAPIBase(envOr(envCFBase, deploy.DefaultAPIBase))
	if err != nil {
		return nil, &flagError{fmt.Errorf("%s: %w", op, err)}
	}
	s := &cfSession{}
	switch {
	case accountFlag != "":
		s.AccountID = accountFlag
	case os.Getenv(envCFAccount) != "":
		s.AccountID = os.Getenv(envCFAccount)
	case known != "":
		s.AccountID = known
	}
	if s.AccountID != "" {
		if err := deploy.CheckAccountID(s.AccountID); err != nil {
			return nil, &flagError{fmt.Errorf("%s: %w", op, err)}
		}
	}
	tok := strings.TrimSpace(os.Getenv(envCFToken))
	if tok == "" {
		if !ios.CanPrompt() {
			return nil, withHint(fmt.Errorf("%s: %w: no Cloudflare API token: set %s (no terminal to ask on)", op, errAuth, envCFToken),
				"export "+envCFToken+"=… with "+tokenPermissions)
		}
		if err := runForm(ios, huh.NewInput().
			Title("Cloudflare API token:").
			Description("Needs "+tokenPermissions+". It is not stored.").
			EchoMode(huh.EchoModePassword).
			Value(&tok)); err != nil {
			return nil, err
		}
		if tok = strings.TrimSpace(tok); tok == "" {
			return nil, errCancelled
		}
	}
	api := deploy.NewAPI(tok, base)
	s.API = api
	if err := api.VerifyToken(ctx); err != nil {
		// An account-owned token verifies only under its account.
		if deploy.IsUnauthorized(err) && s.AccountID != "" && api.VerifyAccountToken(ctx, s.AccountID) == nil {
			err = nil
		}
		switch {
		case err == nil:
		case deploy.IsUnauthorized(err) && s.AccountID == "":
			return nil, withHint(fmt.Errorf("%s: %w: Cloudflare rejected the API token: %v", op, errAuth, err),
				"use "+tokenPermissions+", in "+envCFToken+" (an account-owned token also needs --account-id or "+envCFAccount+")")
		case deploy.IsUnauthorized(err):
			return nil, withHint(fmt.Errorf("%s: %w: Cloudflare rejected the API token: %v", op, errAuth, err),
				"use "+tokenPermissions+", in "+envCFToken)
		default:
			return nil, cloudflareError(op+": verify the API token", base, err)
		}
	}
	if s.AccountID != "" {
		return s, nil
	}
	accs, err := api.Accounts(ctx)
	if err != nil {
		return nil, cloudflareError(op+": list accounts", base, err)
	}
	s.Accounts = accs
	switch {
	case len(accs) == 1:
		s.AccountID = accs[0].ID
		return s, nil
	case len(accs) == 0:
		return nil, withHint(fmt.Errorf("%s: the API token can see no account", op),
			"pass --account-id or set "+envCFAccount+" (an account-owned token may not list accounts)")
	case !ios.CanPrompt():
		ids := make([]string, len(accs))
		for i, a := range accs {
			ids[i] = a.ID + " (" + a.Name + ")"
		}
		return nil, withHint(fmt.Errorf("%s: the API token can use %d accounts: %s", op, len(accs), strings.Join(ids, ", ")),
			"pass --account-id ID or set "+envCFAccount)
	}
	opts := make([]huh.Option[string], len(accs))
	for i, a := range accs {
		opts[i] = huh.NewOption(a.Name+"  "+a.ID, a.ID)
	}
	if err := runForm(ios, huh.NewSelect[string]().Title("Cloudflare account:").Options(opts...).Value(&s.AccountID)); err != nil {
		return nil, err
	}
	if s.AccountID == "" {
		return nil, errCancelled
	}
	return s, nil
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// cloudflareError words a failed API call: the API's own code and
// message, or that the API could not be reached.
func cloudflareError(op, base string, err error) error {
	var ae *deploy.APIError
	if errors.As(err, &ae) && ae.Status == 0 {
		var ue *url.Error
		if errors.As(err, &ue) {
			return withHint(fmt.Errorf("%s: cannot reach the Cloudflare API at %s: %v", op, base, ue.Err),
				"check the network (and "+envCFBase+" if set), then run the command again")
		}
	}
	if deploy.IsUnauthorized(err) {
		return withHint(fmt.Errorf("%s: %w: %v", op, errAuth, err), "the API token needs "+tokenPermissions)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// deployState is dsctl.toml's [cloudflare] table and where it was found.
type deployState struct {
	Path  string // the dsctl.toml
	Dir   string // its folder: workers_dir is relative to it
	State *deploy.State
}

// WorkersDir is the state's workers folder as a path from here.
func (d *deployState) WorkersDir() string {
	if filepath.IsAbs(d.State.WorkersDir) {
		return d.State.WorkersDir
	}
	return filepath.Join(d.Dir, d.State.WorkersDir)
}

// loadDeployState finds dsctl.toml (here or above) with a [cloudflare]
// table, as dsctl setup writes it.
func loadDeployState(op string) (*deployState, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	path, pf, err := findProjectFile(wd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if pf == nil || pf.Cloudflare == nil {
		where := "no " + ProjectFileName + " in this folder or above"
		if pf != nil {
			where = path + " has no [cloudflare] table"
		}
		return nil, withHint(fmt.Errorf("%s: nothing deployed from here: %s", op, where),
			"run dsctl setup first, or cd to the folder where you ran it")
	}
	return &deployState{Path: path, Dir: filepath.Dir(path), State: pf.Cloudflare}, nil
}

// saveDeployState writes st into the dsctl.toml at path as its
// [cloudflare] table, keeping the file's other settings.
func saveDeployState(path string, st *deploy.State) error {
	var pf projectFile
	if _, err := os.Stat(path); err == nil {
		if _, err := toml.DecodeFile(path, &pf); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	}
	pf.Cloudflare = st
	var b strings.Builder
	b.WriteString("# dsctl settings for this folder. [cloudflare] is what `dsctl setup` deployed;\n")
	b.WriteString("# `dsctl deploy`, `dsctl status` and --remote read it. No secrets are kept here.\n")
	if err := toml.NewEncoder(&b).Encode(pf); err != nil {
		return err
	}
	return deploy.WriteFileAtomic(path, []byte(b.String()), 0o644)
}
