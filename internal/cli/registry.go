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
	"strings"

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
