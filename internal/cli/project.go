package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

func newProjectCmd(ios *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "project",
		Short: "List, inspect and delete projects; rotate their keys; set their CORS origins",
		Long: `Manage the projects in the local registry (the SQLite database under
--data-dir, the one dsctl serve uses). Every command works while dsctl serve
runs on the same data dir, and the server applies the change from its next
request on: no restart is needed.

With --remote every command works on the deployed registry instead: the KV
namespace dsctl setup created (dsctl.toml, or --namespace-id), through the
Cloudflare API with CLOUDFLARE_API_TOKEN; each write is read back. The
workers see a change within about a minute (KV caches at the edge).

Create projects with dsctl create-project and mint their tokens with
dsctl token.`,
		Example: `  dsctl project list
  dsctl project show demo
  dsctl project keys add demo
  dsctl project cors add demo https://app.example.com
  dsctl project list --remote`,
		Args: groupArgs,
		RunE: groupRunE,
	}
	keys := &cobra.Command{
		Use:   "keys",
		Short: "Add, remove and list a project's signing keys (rotation)",
		Long: `A project has one or more signing keys (secrets), newest first. dsctl token
signs with the newest; the server accepts a token signed with any of them.

To rotate: add a new key (new tokens use it at once, old tokens keep
working), wait until tokens signed with the old key have expired or been
replaced, then remove the old key by its ID. The last key cannot be removed.`,
		Example: `  dsctl project keys add demo
  dsctl project keys list demo
  dsctl project keys remove demo 1a2b3c4d`,
		Args: groupArgs,
		RunE: groupRunE,
	}
	keys.AddCommand(newKeysAddCmd(ios, nil), newKeysRemoveCmd(ios, nil), newKeysListCmd(ios, nil))
	cors := &cobra.Command{
		Use:   "cors",
		Short: "Allow browsers on other origins to read a project's streams",
		Long: `A named project sends no CORS headers unless the request's Origin is in its
list, which starts empty. Origins are scheme://host[:port] and match
exactly; "*" allows every origin. Tokens are still required.`,
		Example: `  dsctl project cors add demo https://app.example.com
  dsctl project cors list demo
  dsctl project cors remove demo https://app.example.com`,
		Args: groupArgs,
		RunE: groupRunE,
	}
	cors.AddCommand(newCORSAddCmd(ios, nil), newCORSRemoveCmd(ios, nil), newCORSListCmd(ios, nil))
	cmd.AddCommand(newProjectListCmd(ios, nil), newProjectShowCmd(ios, nil), newProjectDeleteCmd(ios, nil), keys, cors)
	return cmd
}

// groupArgs and groupRunE make a command group print its help when run
// bare and reject unknown subcommands (cobra would print help for them).
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &flagError{fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())}
	}
	return nil
}

func groupRunE(cmd *cobra.Command, args []string) error { return cmd.Help() }

// namedArgs requires exactly the named positional arguments.
func namedArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return &flagError{fmt.Errorf("%s: missing the %s argument", commandName(cmd), strings.Join(names[len(args):], " and "))}
		}
		return maxNamedArgs(names...)(cmd, args)
	}
}

// maxNamedArgs allows the named positional arguments to be left out.
func maxNamedArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > len(names) {
			return &flagError{fmt.Errorf("%s: unexpected argument %q", commandName(cmd), args[len(names)])}
		}
		return nil
	}
}

// commandName is the command's path without the root, as error messages
// start with it after "dsctl: ".
func commandName(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

func addDataDirFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "data-dir", DefaultDataDir, "data directory of dsctl serve, where the registry is")
}

// formatTime prints t in RFC 3339, UTC; "-" when unknown (a registry
// entry written by other tools carries no times).
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// keyJSON describes a signing key; the secret only with --show-secrets.
type keyJSON struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	Secret    string    `json:"secret,omitempty"`
}

func keysJSON(p *registry.Project, withSecrets bool) []keyJSON {
	out := make([]keyJSON, len(p.Secrets))
	for i, s := range p.Secrets {
		out[i] = keyJSON{ID: s.ID(), CreatedAt: s.CreatedAt.UTC()}
		if withSecrets {
			out[i].Secret = s.Value
		}
	}
	return out
}

// ---- project list ----

type projectListOptions struct {
	remote  remoteFlags
	dataDir string
	asJSON  bool
}

type projectJSON struct {
	Name        string    `json:"name"`
	Keys        []keyJSON `json:"keys"`
	CORSOrigins []string  `json:"corsOrigins"`
	CreatedAt   time.Time `json:"createdAt"`
	Streams     *int      `json:"streams,omitempty"`
}

func newProjectListCmd(ios *IOStreams, runF func(context.Context, *projectListOptions) error) *cobra.Command {
	o := &projectListOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the projects",
		Long: `List the projects in the registry under --data-dir, by name.

On a terminal the columns are aligned under a header; otherwise each project
is one tab-separated line without a header: NAME, KEYS (how many signing
keys), CORS ORIGINS (comma-separated) and CREATED (RFC 3339, UTC).`,
		Example: `  dsctl project list
  dsctl project list --json | jq -r '.[].name'`,
		Args: namedArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runProjectList(cmd.Context(), ios, o)
		},
	}
	addDataDirFlag(cmd, &o.dataDir)
	addRemoteFlags(cmd, &o.remote)
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print as a JSON array of {name, keys, corsOrigins, createdAt}")
	return cmd
}

func runProjectList(ctx context.Context, ios *IOStreams, o *projectListOptions) error {
	st, err := openProjects(ctx, ios, "project list", o.dataDir, o.remote, false)
	if err != nil {
		return err
	}
	defer st.Close()
	ps, err := st.Projects(ctx)
	if err != nil {
		return st.fail("project list", "", err)
	}
	if o.asJSON {
		out := make([]projectJSON, len(ps))
		for i := range ps {
			out[i] = projectJSON{Name: ps[i].Name, Keys: keysJSON(&ps[i], false), CORSOrigins: ps[i].CORSOrigins, CreatedAt: ps[i].CreatedAt.UTC()}
		}
		return printJSON(ios.Out, out)
	}
	if len(ps) == 0 {
		create := "dsctl create-project NAME"
		if st.remote() {
			create += " --remote"
		}
		notef(ios, "No projects in %s. Create one with: %s", st.where, create)
		return nil
	}
	t := newTable(ios.Out, ios.IsOutTTY(), "NAME", "KEYS", "CORS ORIGINS", "CREATED")
	for _, p := range ps {
		t.row(p.Name, strconv.Itoa(len(p.Secrets)), strings.Join(p.CORSOrigins, ","), formatTime(p.CreatedAt))
	}
	return t.print()
}

// ---- project show ----

type projectShowOptions struct {
	remote      remoteFlags
	name        string
	dataDir     string
	asJSON      bool
	showSecrets bool
}

func newProjectShowCmd(ios *IOStreams, runF func(context.Context, *projectShowOptions) error) *cobra.Command {
	o := &projectShowOptions{}
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a project's keys, CORS origins and stream count",
		Long: `Show one project: when it was created, how many streams it has, its
signing keys (by ID and creation time, newest first: dsctl token signs with
the first) and its allowed CORS origins.

Secrets are not printed unless --show-secrets is given.`,
		Example: `  dsctl project show demo
  dsctl project show demo --json
  dsctl project show demo --show-secrets --json | jq -r '.keys[0].secret'`,
		Args: namedArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runProjectShow(cmd.Context(), ios, o)
		},
	}
	addDataDirFlag(cmd, &o.dataDir)
	addRemoteFlags(cmd, &o.remote)
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print as JSON {name, keys, corsOrigins, createdAt, streams}")
	cmd.Flags().BoolVar(&o.showSecrets, "show-secrets", false, "include the signing secrets")
	return cmd
}

func runProjectShow(ctx context.Context, ios *IOStreams, o *projectShowOptions) error {
	st, p, err := loadFrom(ctx, ios, "project show", o.dataDir, o.remote, o.name)
	if err != nil {
		return err
	}
	defer st.Close()
	// A deployed registry does not know the streams: they live in
	// Durable Objects (the inspection API lists them).
	var streams *int
	if !st.remote() {
		n, err := st.local.StreamCount(ctx, p.Name)
		if err != nil {
			return fmt.Errorf("project show: %w", err)
		}
		streams = &n
	}
	if o.asJSON {
		return printJSON(ios.Out, projectJSON{Name: p.Name, Keys: keysJSON(p, o.showSecrets), CORSOrigins: p.CORSOrigins, CreatedAt: p.CreatedAt.UTC(), Streams: streams})
	}
	w := ios.Out
	fmt.Fprintf(w, "Project:  %s\n", p.Name)
	fmt.Fprintf(w, "Created:  %s\n", formatTime(p.CreatedAt))
	if streams != nil {
		fmt.Fprintf(w, "Streams:  %d\n", *streams)
	} else {
		fmt.Fprintf(w, "Streams:  not counted here (GET /v1/%s/streams with a manage token lists them)\n", p.Name)
	}
	origins := "none (browsers on other origins cannot read responses)"
	if len(p.CORSOrigins) > 0 {
		origins = strings.Join(p.CORSOrigins, ", ")
	}
	fmt.Fprintf(w, "CORS:     %s\n", origins)
	fmt.Fprintf(w, "Keys:     %d, newest first (dsctl token signs with the first)\n", len(p.Secrets))
	header := []string{"  ID", "CREATED"}
	if o.showSecrets {
		header = append(header, "SECRET")
	}
	t := newTable(w, true, header...)
	for _, s := range p.Secrets {
		row := []string{"  " + s.ID(), formatTime(s.CreatedAt)}
		if o.showSecrets {
			row = append(row, s.Value)
		}
		t.row(row...)
	}
	return t.print()
}

// ---- project delete ----

type projectDeleteOptions struct {
	remote  remoteFlags
	name    string
	dataDir string
	yes     bool
}

func newProjectDeleteCmd(ios *IOStreams, runF func(context.Context, *projectDeleteOptions) error) *cobra.Command {
	o := &projectDeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a project that has no streams left",
		Long: `Delete a project and its signing keys from the registry. Tokens signed with
its keys stop working at once (401 unknown project).

A project that still has streams is not deleted: delete its streams first.
On a terminal dsctl asks for confirmation unless --yes is given; elsewhere
--yes is required.`,
		Example: `  dsctl project delete demo
  dsctl project delete demo --yes`,
		Args: namedArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runProjectDelete(cmd.Context(), ios, o)
		},
	}
	addDataDirFlag(cmd, &o.dataDir)
	addRemoteFlags(cmd, &o.remote)
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runProjectDelete(ctx context.Context, ios *IOStreams, o *projectDeleteOptions) error {
	st, p, err := loadFrom(ctx, ios, "project delete", o.dataDir, o.remote, o.name)
	if err != nil {
		return err
	}
	defer st.Close()
	n := 0
	question := fmt.Sprintf("Delete project %s and its %d key(s)? Its tokens stop working at once.", p.Name, len(p.Secrets))
	if st.remote() {
		question = fmt.Sprintf("Delete project %s from %s? Its tokens stop working within a minute (KV caches);\n"+
			"its streams stay in their Durable Objects, unreachable.", p.Name, st.where)
	} else if n, err = st.local.StreamCount(ctx, p.Name); err != nil {
		return fmt.Errorf("project delete: %w", err)
	}
	if n > 0 {
		return withHint(fmt.Errorf("project delete: project %s still has %d stream(s); delete them first", p.Name, n),
			fmt.Sprintf(`curl -H "Authorization: Bearer $(dsctl token --project %s --scope manage)" %s/v1/%s/streams lists them; DELETE each /v1/%s/stream/<id>`,
				p.Name, DefaultURL, p.Name, p.Name))
	}
	if !o.yes {
		if !ios.CanPrompt() {
			return withHint(fmt.Errorf("project delete: --yes is required when not on a terminal"),
				"dsctl project delete "+p.Name+" --yes")
		}
		ok, err := confirm(ios, question)
		if err != nil {
			return err
		}
		if !ok {
			return errCancelled
		}
	}
	if err := st.DeleteProject(ctx, p.Name); err != nil {
		return st.fail("project delete", p.Name, err)
	}
	successf(ios, "Deleted project %s", p.Name)
	return nil
}

// ---- project keys add|remove|list ----

type keysAddOptions struct {
	remote  remoteFlags
	name    string
	secret  string
	dataDir string
	asJSON  bool
}

func newKeysAddCmd(ios *IOStreams, runF func(context.Context, *keysAddOptions) error) *cobra.Command {
	o := &keysAddOptions{}
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a signing key; new tokens are signed with it",
		Long: `Add a signing key to a project, in front of the others: dsctl token signs
with it from now on, and the server accepts tokens signed with it as well as
with the older keys. The new secret is printed once, with its ID.`,
		Example: `  dsctl project keys add demo
  dsctl project keys add demo --json | jq -r .secret`,
		Args: namedArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runKeysAdd(cmd.Context(), ios, o)
		},
	}
	addDataDirFlag(cmd, &o.dataDir)
	addRemoteFlags(cmd, &o.remote)
	cmd.Flags().StringVar(&o.secret, "secret", "", "the new secret (at least 16 characters; default: 32 random bytes, hex)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print {project, keyId, secret, createdAt} as JSON")
	return cmd
}

type keyAddResult struct {
	Project   string    `json:"project"`
	KeyID     string    `json:"keyId"`
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"createdAt"`
}

func runKeysAdd(ctx context.Context, ios *IOStreams, o *keysAddOptions) error {
	secret := o.secret
	if secret == "" {
		secret = token.NewSecret()
	} else if err := registry.CheckSecret(secret); err != nil {
		return secretError("project keys add", secret, hintGenerateSecret, err)
	}
	st, err := openProjects(ctx, ios, "project keys add", o.dataDir, o.remote, false)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := st.AddSecret(ctx, o.name, secret)
	if err != nil {
		return st.fail("project keys add", o.name, err)
	}
	k := p.Secrets[0]
	res := keyAddResult{Project: p.Name, KeyID: k.ID(), Secret: k.Value, CreatedAt: k.CreatedAt.UTC()}
	if o.asJSON {
		return printJSON(ios.Out, res)
	}
	fmt.Fprintf(ios.Out, "Key ID:  %s\nSecret:  %s\n", res.KeyID, res.Secret)
	fmt.Fprintf(ios.Out, "\nThe secret is shown once. New tokens for %s are signed with it; tokens\n", p.Name)
	fmt.Fprintf(ios.Out, "signed with the older keys keep working until you remove those keys:\n")
	for _, old := range p.Secrets[1:] {
		fmt.Fprintf(ios.Out, "  dsctl project keys remove %s %s\n", p.Name, old.ID())
	}
	return nil
}

type keysRemoveOptions struct {
	remote  remoteFlags
	name    string
	keyID   string
	dataDir string
}

func newKeysRemoveCmd(ios *IOStreams, runF func(context.Context, *keysRemoveOptions) error) *cobra.Command {
	o := &keysRemoveOptions{}
	cmd := &cobra.Command{
		Use:     "remove NAME KEY_ID",
		Aliases: []string{"rm"},
		Short:   "Remove a signing key; tokens signed with it stop working",
		Long: `Remove a signing key from a project by its ID (see dsctl project keys list).
Tokens signed with it are rejected (401) from the server's next request on.
The last key cannot be removed: add a new one first.`,
		Example: `  dsctl project keys remove demo 1a2b3c4d`,
		Args:    namedArgs("NAME", "KEY_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name, o.keyID = args[0], args[1]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runKeysRemove(cmd.Context(), ios, o)
		},
	}
	addDataDirFlag(cmd, &o.dataDir)
	addRemoteFlags(cmd, &o.remote)
	return cmd
}

func runKeysRemove(ctx context.Context, ios *IOStreams, o *keysRemoveOptions) error {
	st, err := openProjects(ctx, ios, "project keys remove", o.dataDir, o.remote, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.RemoveSecret(ctx, o.name, o.keyID); err != nil {
		return st.fail("project keys remove", o.name, err)
	}
	successf(ios, "Removed key %s from project %s; tokens signed with it are rejected now", o.keyID, o.name)
	return nil
}

type keysListOptions struct {
	remote  remoteFlags
	name    string
	dataDir string
	asJSON  bool
}

func newKeysListCmd(ios *IOStreams, runF func(context.Context, *keysListOptions) error) *cobra.Command {
	o := &keysListOptions{}
	cmd := &cobra.Command{
		Use:     "list NAME",
		Aliases: []string{"ls"},
		Short:   "List a project's signing keys",
		Long: `List a project's signing keys, newest first, without their secrets: ID,
CREATED and ROLE ("signing" for the key dsctl token uses, "verify-only" for
older keys, whose tokens are still accepted). Tab-separated without a header
when not on a terminal.`,
		Example: `  dsctl project keys list demo`,
		Args:    namedArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runKeysList(cmd.Context(), ios, o)
		},
	}
	addDataDirFlag(cmd, &o.dataDir)
	addRemoteFlags(cmd, &o.remote)
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print as a JSON array of {id, createdAt}")
	return cmd
}

func runKeysList(ctx context.Context, ios *IOStreams, o *keysListOptions) error {
	st, p, err := loadFrom(ctx, ios, "project keys list", o.dataDir, o.remote, o.name)
	if err != nil {
		return err
	}
	st.Close()
	if o.asJSON {
		return printJSON(ios.Out, keysJSON(p, false))
	}
	t := newTable(ios.Out, ios.IsOutTTY(), "ID", "CREATED", "ROLE")
	for i, s := range p.Secrets {
		role := "verify-only"
		if i == 0 {
			role = "signing"
		}
		t.row(s.ID(), formatTime(s.CreatedAt), role)
	}
	return t.print()
}

// ---- project cors add|remove|list ----

type corsOptions struct {
	remote  remoteFlags
	name    string
	origin  string
	dataDir string
	asJSON  bool
}

func newCORSAddCmd(ios *IOStreams, runF func(context.Context, *corsOptions) error) *cobra.Command {
	o := &corsOptions{}
	cmd := &cobra.Command{
		Use:   "add NAME ORIGIN",
		Short: "Allow an origin",
		Long: `Allow browsers on ORIGIN (scheme://host[:port], or "*" for any) to read the
project's responses. Adding an origin that is already allowed does nothing.`,
		Example: `  dsctl project cors add demo https://app.example.com
  dsctl project cors add demo http://localhost:5173`,
		Args: namedArgs("NAME", "ORIGIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name, o.origin = args[0], args[1]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runCORSEdit(cmd.Context(), ios, o, true)
		},
	}
	addDataDirFlag(cmd, &o.dataDir)
	addRemoteFlags(cmd, &o.remote)
	return cmd
}

func newCORSRemoveCmd(ios *IOStreams, runF func(context.Context, *corsOptions) error) *cobra.Command {
	o := &corsOptions{}
	cmd := &cobra.Command{
		Use:     "remove NAME ORIGIN",
		Aliases: []string{"rm"},
		Short:   "Disallow an origin",
		Long:    `Stop sending CORS headers to ORIGIN for the project.`,
		Example: `  dsctl project cors remove demo https://app.example.com`,
		Args:    namedArgs("NAME", "ORIGIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name, o.origin = args[0], args[1]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runCORSEdit(cmd.Context(), ios, o, false)
		},
	}
	addDataDirFlag(cmd, &o.dataDir)
	addRemoteFlags(cmd, &o.remote)
	return cmd
}

func runCORSEdit(ctx context.Context, ios *IOStreams, o *corsOptions, add bool) error {
	op := "project cors remove"
	if add {
		op = "project cors add"
		if err := registry.CheckOrigin(registry.NormalizeOrigin(o.origin)); err != nil {
			return &msgError{op + ": " + detail(err, registry.ErrInvalid), err}
		}
	}
	st, err := openProjects(ctx, ios, op, o.dataDir, o.remote, false)
	if err != nil {
		return err
	}
	defer st.Close()
	origin := registry.NormalizeOrigin(o.origin)
	if add {
		_, err = st.AddOrigin(ctx, o.name, origin)
	} else {
		_, err = st.RemoveOrigin(ctx, o.name, origin)
	}
	if err != nil {
		err = st.fail(op, o.name, err)
		if !add && errors.Is(err, registry.ErrInvalid) {
			err = withHint(err, "dsctl project cors list "+o.name)
		}
		return err
	}
	if add {
		successf(ios, "Project %s allows origin %s", o.name, origin)
		if origin == "*" {
			notef(ios, "Any website can now read %s's streams in a browser, given a token.", o.name)
		}
	} else {
		successf(ios, "Project %s no longer allows origin %s", o.name, origin)
	}
	return nil
}

func newCORSListCmd(ios *IOStreams, runF func(context.Context, *corsOptions) error) *cobra.Command {
	o := &corsOptions{}
	cmd := &cobra.Command{
		Use:     "list NAME",
		Aliases: []string{"ls"},
		Short:   "List the allowed origins",
		Long:    `Print the project's allowed CORS origins, one per line.`,
		Example: `  dsctl project cors list demo
  dsctl project cors list demo --json`,
		Args: namedArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runCORSList(cmd.Context(), ios, o)
		},
	}
	addDataDirFlag(cmd, &o.dataDir)
	addRemoteFlags(cmd, &o.remote)
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print as a JSON array")
	return cmd
}

func runCORSList(ctx context.Context, ios *IOStreams, o *corsOptions) error {
	st, p, err := loadFrom(ctx, ios, "project cors list", o.dataDir, o.remote, o.name)
	if err != nil {
		return err
	}
	st.Close()
	if o.asJSON {
		return printJSON(ios.Out, p.CORSOrigins)
	}
	if len(p.CORSOrigins) == 0 {
		notef(ios, "Project %s allows no origins. Add one with: dsctl project cors add %s https://app.example.com", p.Name, p.Name)
		return nil
	}
	for _, origin := range p.CORSOrigins {
		fmt.Fprintln(ios.Out, origin)
	}
	return nil
}
