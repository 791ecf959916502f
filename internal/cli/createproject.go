package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/charmbracelet/huh"
	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

// DefaultURL is where `dsctl serve` listens by default.
const DefaultURL = "http://127.0.0.1:4437"

// exampleStream is the stream the printed curl example creates.
const exampleStream = "hello"

// exampleTokenTTL is how long create-project's ready-made token lasts.
const exampleTokenTTL = time.Hour

type createProjectOptions struct {
	name    string
	secret  string
	asJSON  bool
	dataDir string
	url     string
	remote  remoteFlags

	now func() time.Time
}

func newCreateProjectCmd(ios *IOStreams, runF func(context.Context, *createProjectOptions) error) *cobra.Command {
	o := &createProjectOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "create-project [NAME]",
		Short: "Create a project with its signing secret and print a token to try it",
		Long: `Create a named project in the local registry (the SQLite database under
--data-dir, the one dsctl serve uses) with a signing secret, then print:

  - the secret, shown this once (dsctl token reads it from the registry later,
    but anything else that mints tokens needs a copy);
  - a write token valid for one hour, signed with it;
  - curl commands that create, append to and read the stream "hello" of the
    project, ready to paste while dsctl serve runs.

Streams of the project live at /v1/NAME/stream/<id> and every request needs a
token signed with one of the project's secrets (see dsctl token).

NAME may contain letters, digits, '_' and '-'. Without NAME, dsctl asks for
it on a terminal and fails otherwise. The secret is 32 random bytes in hex
unless --secret gives one (at least 16 characters); the HMAC key is the
secret string's UTF-8 bytes.

It works while dsctl serve is running on the same data dir: the server sees
the new project on its next request.

With --remote the project goes into the deployed registry instead: the KV
namespace that dsctl setup created (from dsctl.toml, or --namespace-id),
written through the Cloudflare API with CLOUDFLARE_API_TOKEN and read back
to check it landed. The curl examples then use the deployed core worker's
URL. Workers may take up to a minute to see it (KV caches at the edge).`,
		Example: `  # create "demo" and try it against dsctl serve on the default address
  dsctl create-project demo

  # the same, for scripts
  dsctl create-project demo --json | jq -r .secret

  # a server started with --port 0 or --data-dir elsewhere
  dsctl create-project demo --data-dir /tmp/ds --url http://127.0.0.1:51234

  # reuse a secret you already have
  dsctl create-project demo --secret "$DEMO_SECRET"

  # in the deployed registry (after dsctl setup)
  dsctl create-project demo --remote --json`,
		Args: maxNamedArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.name = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runCreateProject(cmd.Context(), ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.secret, "secret", "", "signing secret to use (at least 16 characters; default: 32 random bytes, hex)")
	f.BoolVar(&o.asJSON, "json", false, "print {project, secret, keyId, token, tokenExpiresAt, curl} as JSON")
	f.StringVar(&o.dataDir, "data-dir", DefaultDataDir, "data directory of dsctl serve (created if missing)")
	f.StringVar(&o.url, "url", DefaultURL, "base URL of the server, used only in the printed curl example (with --remote: the deployed URL)")
	addRemoteFlags(cmd, &o.remote)
	return cmd
}

type createProjectResult struct {
	Project        string    `json:"project"`
	Secret         string    `json:"secret"`
	KeyID          string    `json:"keyId"`
	Token          string    `json:"token"`
	TokenExpiresAt time.Time `json:"tokenExpiresAt"`
	Curl           []string  `json:"curl"`
}

func runCreateProject(ctx context.Context, ios *IOStreams, o *createProjectOptions) error {
	base, err := parseBaseURL(o.url)
	if err != nil {
		return err
	}
	urlSet := o.url != DefaultURL
	if o.name == "" {
		if !ios.CanPrompt() {
			return withHint(errors.New("create-project: missing the project NAME argument (no terminal to ask on)"),
				"dsctl create-project NAME")
		}
		if err := runForm(ios, huh.NewInput().
			Title("Project name:").
			Description("Letters, digits, '_' and '-'; streams will live at /v1/<name>/stream/<id>.").
			Validate(func(s string) error { return nameError(registry.CheckName(strings.TrimSpace(s))) }).
			Value(&o.name)); err != nil {
			return err
		}
		o.name = strings.TrimSpace(o.name)
		if o.name == "" { // accessible mode ends on EOF with no answer
			return errCancelled
		}
	}
	if err := registry.CheckName(o.name); err != nil {
		return &msgError{"create-project: " + detail(err, registry.ErrInvalid), err}
	}
	secret := o.secret
	if secret == "" {
		secret = token.NewSecret()
	} else if err := registry.CheckSecret(secret); err != nil {
		return secretError("create-project", secret, hintGenerateSecret, err)
	}

	st, err := openProjects(ctx, ios, "create-project", o.dataDir, o.remote, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.deploy != nil && st.deploy.State.CoreURL != "" && !urlSet {
		base = st.deploy.State.CoreURL
	}
	p, err := st.CreateProject(ctx, o.name, secret)
	if err != nil {
		return st.fail("create-project", o.name, err)
	}
	tok, claims, err := token.Mint(secret, p.Name, token.ScopeWrite, "", exampleTokenTTL, o.now())
	if err != nil {
		return err
	}
	res := createProjectResult{
		Project:        p.Name,
		Secret:         secret,
		KeyID:          p.Secrets[0].ID(),
		Token:          tok,
		TokenExpiresAt: claims.ExpiresAt.Time.UTC(),
		Curl:           curlExample(base, p.Name, tok),
	}
	if o.asJSON {
		return printJSON(ios.Out, res)
	}
	w := ios.Out
	fmt.Fprintf(w, "Project:  %s  (streams at %s/v1/%s/stream/<id>)\n", res.Project, base, res.Project)
	fmt.Fprintf(w, "Secret:   %s\n", res.Secret)
	fmt.Fprintf(w, "Key ID:   %s\n", res.KeyID)
	fmt.Fprintf(w, "\nThe secret is shown once. dsctl token signs with it from the registry in\n")
	fmt.Fprintf(w, "%s; copy it now if anything else needs to mint tokens.\n", st.where)
	fmt.Fprintf(w, "\nWrite token, valid until %s:\n  %s\n", res.TokenExpiresAt.Format(time.RFC3339), res.Token)
	remote := ""
	if st.remote() {
		remote = " --remote"
		fmt.Fprintf(w, "\nTry it (the workers see a new project within a minute):\n")
	} else {
		fmt.Fprintf(w, "\nTry it while dsctl serve runs:\n")
	}
	for _, c := range res.Curl {
		fmt.Fprintf(w, "  %s\n", c)
	}
	fmt.Fprintf(w, "\nMore tokens: dsctl token%s --project %s [--scope read|write|manage] [--ttl 24h]\n", remote, res.Project)
	return nil
}

// nameError is a CheckName error without the sentinel's text, for the
// prompt's inline validation message.
func nameError(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(detail(err, registry.ErrInvalid))
}

// parseBaseURL validates --url: scheme://host[:port][/prefix], no query.
func parseBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", &flagError{fmt.Errorf("invalid --url %q: want http(s)://host[:port], e.g. %s", s, DefaultURL)}
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// curlExample is three commands that create a JSON stream, append a
// message and read it back, pasteable into a POSIX shell.
func curlExample(base, project, tok string) []string {
	stream := shellQuote(base + "/v1/" + project + "/stream/" + exampleStream)
	auth := shellQuote("Authorization: Bearer " + tok)
	ctype := shellQuote("Content-Type: application/json")
	return []string{
		"curl -X PUT -H " + auth + " -H " + ctype + " " + stream,
		"curl -X POST -H " + auth + " -H " + ctype + " -d " + shellQuote(`{"hello":"world"}`) + " " + stream,
		"curl -H " + auth + " " + stream,
	}
}

// shellQuote quotes s for a POSIX shell: double quotes when that needs no
// escaping (easier to read), single quotes otherwise, bare when safe.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:/@%+=") == "" {
		return s
	}
	if !strings.ContainsAny(s, "\"\\$`!") {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
