package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/deploy"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/registry"
)

// openRegistry opens the project registry in the SQLite database under
// dataDir; it is the same database `dsctl serve` uses, and both may have
// it open at once. Only create-project (create true) may create the
// database: the other commands say that there is none, since a typo in
// --data-dir would otherwise quietly start an empty registry.
func openRegistry(ctx context.Context, dataDir string, create bool) (*sqlite.Store, error) {
	if dataDir == "" {
		return nil, &flagError{errors.New("--data-dir must not be empty")}
	}
	if !create {
		db := filepath.Join(dataDir, sqlite.FileName)
		if _, err := os.Stat(db); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				why := "it has no database " + sqlite.FileName
				if _, derr := os.Stat(dataDir); errors.Is(derr, fs.ErrNotExist) {
					why = "the directory does not exist"
				}
				return nil, withHint(fmt.Errorf("no dsctl data in %s: %s", dataDir, why),
					"pass the --data-dir that dsctl serve uses, or create a project there first: dsctl create-project NAME --data-dir "+dataDir)
			}
			return nil, fmt.Errorf("open data dir %s: %w", dataDir, err)
		}
	}
	st, err := sqlite.Open(ctx, dataDir, sqlite.Full)
	if err != nil {
		return nil, withHint(fmt.Errorf("open data dir %s: %w", dataDir, err), "pass --data-dir with a writable directory")
	}
	if create {
		// The database now holds signing secrets: keep it private even in
		// a data dir that others may list. SQLite gives the -wal and -shm
		// files it creates later the database file's mode.
		for _, f := range []string{st.Path(), st.Path() + "-wal", st.Path() + "-shm"} {
			// Not ours to chmod (ErrPermission): its owner chose the mode.
			if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
				st.Close()
				return nil, fmt.Errorf("protect %s: %w", f, err)
			}
		}
	}
	return st, nil
}

// secretError reports a --secret that CheckSecret rejected.
func secretError(op, secret, hint string, err error) error {
	return withHint(&msgError{fmt.Sprintf("%s: --secret has %d characters; it needs at least %d", op, len(secret), registry.MinSecretLength), err}, hint)
}

const hintGenerateSecret = "leave out --secret and dsctl generates a random one"

// msgError replaces the message of err, which it still wraps for
// errors.Is and exitCodeFor.
type msgError struct {
	msg string
	err error
}

func (e *msgError) Error() string { return e.msg }
func (e *msgError) Unwrap() error { return e.err }

// detail is err's message without the sentinel's own text in front, for
// errors made as fmt.Errorf("%w: detail", sentinel).
func detail(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

// registryError turns a registry error about project into a one-line
// message and, where there is an obvious next step, a hint. op says what
// failed ("add key to demo"); dataDir is named when the project is not
// found, since a wrong --data-dir is the usual cause.
func registryError(op, project, dataDir string, err error) error {
	switch {
	case errors.Is(err, registry.ErrNotFound) && project == registry.DefaultProject:
		return withHint(&msgError{fmt.Sprintf("%s: the default project has no keys in %s: it is open unless dsctl serve runs with --auth", op, dataDir), err},
			"dsctl serve --auth (creates the default project's key and prints it once)")
	case errors.Is(err, registry.ErrNotFound):
		return withHint(&msgError{fmt.Sprintf("%s: project %s does not exist in %s", op, project, dataDir), err},
			"dsctl create-project "+project+" (or pass the --data-dir that dsctl serve uses)")
	case errors.Is(err, registry.ErrExists):
		return withHint(&msgError{fmt.Sprintf("%s: project %s already exists", op, project), err},
			"dsctl token --project "+project)
	case errors.Is(err, registry.ErrLastKey):
		return withHint(&msgError{fmt.Sprintf("%s: %s", op, detail(err, registry.ErrLastKey)), err},
			"dsctl project keys add "+project+", then remove the old key")
	case errors.Is(err, registry.ErrNoKey):
		return withHint(&msgError{fmt.Sprintf("%s: %s", op, detail(err, registry.ErrNoKey)), err},
			"dsctl project keys list "+project)
	case errors.Is(err, registry.ErrInvalid):
		return &msgError{fmt.Sprintf("%s: %s", op, detail(err, registry.ErrInvalid)), err}
	case errors.Is(err, registry.ErrNotEmpty):
		return withHint(&msgError{fmt.Sprintf("%s: project %s still has streams; delete them first", op, project), err},
			"list them with GET /v1/"+project+"/streams (manage token), then DELETE each /v1/"+project+"/stream/<id>")
	}
	return fmt.Errorf("%s: %w", op, err)
}

// loadProject opens the existing registry and loads one project; op says
// what the caller is doing, for the error message.
func loadProject(ctx context.Context, dataDir, name, op string) (*sqlite.Store, *registry.Project, error) {
	st, err := openRegistry(ctx, dataDir, false)
	if err != nil {
		return nil, nil, err
	}
	p, err := st.Project(ctx, name)
	if err != nil {
		st.Close()
		return nil, nil, registryError(op, name, dataDir, err)
	}
	return st, p, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// remoteFlags choose the deployed system's registry (--remote: the KV
// namespace the workers read) over the local SQLite one.
type remoteFlags struct {
	on          bool
	namespaceID string
	accountID   string
}

func addRemoteFlags(cmd *cobra.Command, r *remoteFlags) {
	f := cmd.Flags()
	f.BoolVar(&r.on, "remote", false, "use the deployed registry (the KV namespace in dsctl.toml) through the Cloudflare API; needs "+envCFToken)
	f.StringVar(&r.namespaceID, "namespace-id", "", "with --remote: the registry's KV namespace id (default: dsctl.toml's kv_namespace_id)")
	f.StringVar(&r.accountID, "account-id", "", "with --remote: the Cloudflare account id (default: "+envCFAccount+", dsctl.toml)")
}

// projectStore is the registry a project command works on.
type projectStore struct {
	registry.Registry
	local  *sqlite.Store // nil with --remote
	where  string        // named in messages: the data dir, or the KV namespace
	deploy *deployState  // with --remote, when dsctl.toml was found
}

func (s *projectStore) Close() {
	if s.local != nil {
		s.local.Close()
	}
}

func (s *projectStore) remote() bool { return s.local == nil }

// fail is registryError for this store.
func (s *projectStore) fail(op, project string, err error) error {
	if !s.remote() {
		return registryError(op, project, s.where, err)
	}
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return withHint(&msgError{fmt.Sprintf("%s: project %s does not exist in %s", op, project, s.where), err},
			"dsctl create-project "+project+" --remote")
	case errors.Is(err, registry.ErrExists):
		return withHint(&msgError{fmt.Sprintf("%s: project %s already exists in %s", op, project, s.where), err},
			"dsctl token --remote --project "+project)
	case errors.Is(err, deploy.ErrReadBack):
		return withHint(fmt.Errorf("%s: %w", op, err), "run the command again; if it persists, check the namespace in the Cloudflare dashboard")
	}
	var ae *deploy.APIError
	if errors.As(err, &ae) {
		return cloudflareError(op, envOr(envCFBase, deploy.DefaultAPIBase), err)
	}
	return registryError(op, project, s.where, err)
}

// openProjects opens the local registry under dataDir, or with --remote
// the deployed one (verifying the API token first).
func openProjects(ctx context.Context, ios *IOStreams, op, dataDir string, r remoteFlags, create bool) (*projectStore, error) {
	if !r.on {
		if r.namespaceID != "" || r.accountID != "" {
			return nil, &flagError{fmt.Errorf("%s: --namespace-id and --account-id go with --remote", op)}
		}
		st, err := openRegistry(ctx, dataDir, create)
		if err != nil {
			return nil, err
		}
		return &projectStore{Registry: st, local: st, where: dataDir}, nil
	}
	ds, derr := loadDeployState(op)
	known, ns := "", r.namespaceID
	if derr == nil {
		known = ds.State.AccountID
		if ns == "" {
			ns = ds.State.KVNamespaceID
		}
	} else {
		ds = nil
	}
	if ns == "" {
		if derr != nil {
			return nil, withHint(fmt.Errorf("%s: --remote needs the registry's KV namespace: %v", op, derr),
				"run dsctl setup here first, or pass --namespace-id ID")
		}
		return nil, withHint(fmt.Errorf("%s: %s has no kv_namespace_id", op, ds.Path), "run dsctl setup again, or pass --namespace-id ID")
	}
	if !kvIDRE.MatchString(ns) {
		return nil, &flagError{fmt.Errorf("%s: invalid KV namespace id %q: want 32 hex digits", op, ns)}
	}
	cf, err := connectCloudflare(ctx, ios, op, r.accountID, known)
	if err != nil {
		return nil, err
	}
	kvr := &deploy.KVRegistry{API: cf.API, AccountID: cf.AccountID, Namespace: ns}
	return &projectStore{Registry: kvr, where: "KV namespace " + ns, deploy: ds}, nil
}

var kvIDRE = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// loadFrom opens the registry and loads one project.
func loadFrom(ctx context.Context, ios *IOStreams, op, dataDir string, r remoteFlags, name string) (*projectStore, *registry.Project, error) {
	st, err := openProjects(ctx, ios, op, dataDir, r, false)
	if err != nil {
		return nil, nil, err
	}
	p, err := st.Project(ctx, name)
	if err != nil {
		st.Close()
		return nil, nil, st.fail(op, name, err)
	}
	return st, p, nil
}
