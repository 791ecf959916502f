package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/client"
	"github.com/dsctl/dsctl/internal/deploy"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

// ProjectFileName is the per-directory settings file, found by walking
// up from the working directory.
const ProjectFileName = "dsctl.toml"

// targetFlags are the flags of every command that talks to a server.
type targetFlags struct {
	url     string
	project string
	token   string
	dataDir string
	remote  bool
}

// addTargetFlags registers --url, --project, --token and --data-dir.
func addTargetFlags(cmd *cobra.Command, t *targetFlags) {
	f := cmd.Flags()
	f.StringVar(&t.url, "url", "", "server base URL (env DSCTL_URL, dsctl.toml url; default "+DefaultURL+")")
	f.StringVar(&t.project, "project", "", "project (env DSCTL_PROJECT, dsctl.toml project; default: the default project)")
	f.StringVar(&t.token, "token", "", "bearer token (env DSCTL_TOKEN, dsctl.toml token; minted automatically for a local server's projects)")
	f.StringVar(&t.dataDir, "data-dir", DefaultDataDir, "the local server's data dir, whose registry signs automatic tokens")
	f.BoolVar(&t.remote, "remote", false, "target the workers dsctl setup deployed (dsctl.toml), minting the token from their registry with "+envCFToken)
}

// projectFile is dsctl.toml.
type projectFile struct {
	URL     string `toml:"url,omitempty"`
	Project string `toml:"project,omitempty"`
	Token   string `toml:"token,omitempty"`
	DataDir string `toml:"data_dir,omitempty"`
	// Cloudflare is what dsctl setup deployed from this folder.
	Cloudflare *deploy.State `toml:"cloudflare,omitempty"`
}

// findProjectFile looks for dsctl.toml from dir upward.
func findProjectFile(dir string) (string, *projectFile, error) {
	for {
		p := filepath.Join(dir, ProjectFileName)
		if _, err := os.Stat(p); err == nil {
			var pf projectFile
			md, err := toml.DecodeFile(p, &pf)
			if err != nil {
				return p, nil, fmt.Errorf("read %s: %w", p, err)
			}
			if und := md.Undecoded(); len(und) > 0 {
				return p, nil, fmt.Errorf("read %s: unknown key %q (known: url, project, token, data_dir and the [cloudflare] table dsctl setup writes)", p, und[0].String())
			}
			if pf.DataDir != "" && !filepath.IsAbs(pf.DataDir) {
				pf.DataDir = filepath.Join(dir, pf.DataDir)
			}
			return p, &pf, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil, nil
		}
		dir = parent
	}
}

// target is a resolved server, project and token.
type target struct {
	URL, Project, Token string
	// PubSubURL serves pub/sub when it is not URL (a deployment).
	PubSubURL string
	// Minted is set when the token was minted from a registry (the local
	// one, or with Remote the deployed one).
	Minted, Remote bool
}

// resolveTarget applies the precedence flags > DSCTL_* env > dsctl.toml >
// defaults, and mints a short-lived token when the target is a local
// server whose registry (in --data-dir) knows the project.
func resolveTarget(ctx context.Context, cmd *cobra.Command, f *targetFlags, scope token.Scope) (*target, error) {
	var pf projectFile
	if wd, err := os.Getwd(); err == nil {
		if _, found, err := findProjectFile(wd); err != nil {
			return nil, err
		} else if found != nil {
			pf = *found
		}
	}
	pick := func(flag, env, file, def string) string {
		if cmd.Flags().Changed(flag) {
			v, _ := cmd.Flags().GetString(flag)
			return v
		}
		if v := os.Getenv(env); v != "" {
			return v
		}
		if file != "" {
			return file
		}
		return def
	}
	t := &target{
		URL:     pick("url", "DSCTL_URL", pf.URL, DefaultURL),
		Project: pick("project", "DSCTL_PROJECT", pf.Project, registry.DefaultProject),
		Token:   pick("token", "DSCTL_TOKEN", pf.Token, ""),
	}
	dataDir := pick("data-dir", "DSCTL_DATA_DIR", pf.DataDir, DefaultDataDir)
	if f.remote {
		return resolveRemote(ctx, cmd, t, scope)
	}
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &flagError{fmt.Errorf("invalid server URL %q: want http(s)://host[:port], e.g. %s", t.URL, DefaultURL)}
	}
	if t.Project != registry.DefaultProject {
		if err := registry.CheckName(t.Project); err != nil {
			return nil, &flagError{err}
		}
	}
	if t.Token == "" && isLoopback(u.Hostname()) {
		t.Token, t.Minted = mintLocal(ctx, dataDir, t.Project, scope)
	}
	return t, nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// mintLocal signs a 10-minute token with the project's newest key from a
// local data dir; it returns "" when there is no such registry or
// project (the server may be open, or the user passes --token).
func mintLocal(ctx context.Context, dataDir, project string, scope token.Scope) (string, bool) {
	if _, err := os.Stat(filepath.Join(dataDir, sqlite.FileName)); err != nil {
		return "", false
	}
	st, err := sqlite.Open(ctx, dataDir, sqlite.Full)
	if err != nil {
		return "", false
	}
	defer st.Close()
	p, err := st.Project(ctx, project)
	if err != nil || len(p.Secrets) == 0 {
		return "", false
	}
	tok, _, err := token.Mint(p.Secrets[0].Value, project, scope, "", 10*time.Minute, time.Now())
	if err != nil {
		return "", false
	}
	return tok, true
}

// clientFor resolves the target and returns a client for it.
func clientFor(ctx context.Context, cmd *cobra.Command, f *targetFlags, scope token.Scope) (*client.Client, *target, error) {
	t, err := resolveTarget(ctx, cmd, f, scope)
	if err != nil {
		return nil, nil, err
	}
	c := client.New(t.URL, t.Project, t.Token)
	c.PubSubURL = t.PubSubURL
	return c, t, nil
}

// resolveRemote points t at the deployed workers from dsctl.toml and, when
// no token was given, mints a 10-minute one from the deployed registry.
func resolveRemote(ctx context.Context, cmd *cobra.Command, t *target, scope token.Scope) (*target, error) {
	op := commandName(cmd)
	if cmd.Flags().Changed("url") {
		return nil, &flagError{fmt.Errorf("%s: --url and --remote exclude each other (--remote takes the URL from dsctl.toml)", op)}
	}
	ds, err := loadDeployState(op)
	if err != nil {
		return nil, err
	}
	if ds.State.CoreURL == "" {
		return nil, withHint(fmt.Errorf("%s: %s has no core_url: the core worker was never deployed", op, ds.Path), "dsctl setup --yes")
	}
	t.URL, t.PubSubURL = ds.State.CoreURL, ds.State.SubscriptionURL
	if t.PubSubURL == "" {
		// No subscription worker: pub/sub requests get core's 404, not a
		// confusing connection error.
		t.PubSubURL = ds.State.CoreURL
	}
	if t.Project != registry.DefaultProject {
		if err := registry.CheckName(t.Project); err != nil {
			return nil, &flagError{err}
		}
	}
	if t.Token != "" {
		return t, nil
	}
	cf, err := remoteSession(ctx, cmd, op, ds.State.AccountID)
	if err != nil {
		return nil, err
	}
	reg := &projectStore{Registry: &deploy.KVRegistry{API: cf.API, AccountID: cf.AccountID, Namespace: ds.State.KVNamespaceID},
		where: "KV namespace " + ds.State.KVNamespaceID}
	p, err := reg.Project(ctx, t.Project)
	if err != nil {
		return nil, reg.fail(op, t.Project, err)
	}
	if len(p.Secrets) == 0 {
		return nil, withHint(fmt.Errorf("%s: project %s has no signing key in %s", op, t.Project, reg.where), "dsctl project keys add "+t.Project+" --remote")
	}
	tok, _, err := token.Mint(p.Secrets[0].Value, t.Project, scope, "", 10*time.Minute, time.Now())
	if err != nil {
		return nil, err
	}
	t.Token, t.Minted, t.Remote = tok, true, true
	return t, nil
}

// requestError turns a client error into the CLI's error: auth failures
// exit 4 with a hint, an unreachable server gets a hint to start one.
func requestError(op string, t *target, err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) {
		// RESERVED_STREAM and STALE_EPOCH are 403s about the request, not
		// the credentials.
		if client.IsAuth(err) && ae.Code != "RESERVED_STREAM" && ae.Code != "STALE_EPOCH" {
			hint := "dsctl token --project " + t.Project + " --scope write, then --token <jwt> (or DSCTL_TOKEN)"
			if t.Minted && t.Remote {
				hint = "the token minted from the deployed registry was refused: a new or changed project takes up to a minute to reach the workers"
			} else if t.Minted {
				hint = "the token minted from the local registry was refused: check --data-dir matches dsctl serve's"
			}
			return withHint(fmt.Errorf("%s: %w: %s", op, errAuth, ae.Error()), hint)
		}
		return fmt.Errorf("%s: %s", op, ae.Error())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return withHint(fmt.Errorf("%s: cannot reach %s: %v", op, t.URL, ue.Err), "start a server with dsctl serve, or pass --url")
	}
	return fmt.Errorf("%s: %w", op, err)
}

// remoteSessions keeps one verified Cloudflare session per account (and
// API base and token) for the process: tail and ui mint a new token every few minutes, and must
// not ask for the API token again in the middle of a full-screen UI.
var remoteSessions struct {
	sync.Mutex
	byAccount map[string]*cfSession
}

func remoteSession(ctx context.Context, cmd *cobra.Command, op, account string) (*cfSession, error) {
	remoteSessions.Lock()
	defer remoteSessions.Unlock()
	key := account + " " + os.Getenv(envCFBase) + " " + os.Getenv(envCFToken)
	if s := remoteSessions.byAccount[key]; s != nil {
		return s, nil
	}
	ios := &IOStreams{In: cmd.InOrStdin(), Out: cmd.OutOrStdout(), ErrOut: cmd.ErrOrStderr()}
	s, err := connectCloudflare(ctx, ios, op, "", account)
	if err != nil {
		return nil, err
	}
	if remoteSessions.byAccount == nil {
		remoteSessions.byAccount = map[string]*cfSession{}
	}
	remoteSessions.byAccount[key] = s
	return s, nil
}
