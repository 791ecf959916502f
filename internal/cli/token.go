package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

type tokenOptions struct {
	project string
	scope   string
	ttl     time.Duration
	stream  string
	secret  string
	dataDir string
	asJSON  bool
	remote  remoteFlags

	now func() time.Time
}

func newTokenCmd(ios *IOStreams, runF func(context.Context, *tokenOptions) error) *cobra.Command {
	o := &tokenOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "token --project NAME",
		Short: "Mint a JWT for a project",
		Long: `Mint a token for a project's streams and print it, alone, on stdout.

The token is an HS256 JWT with the claims sub (the project), scope, exp and,
with --stream, stream_id. It is signed with the project's newest secret from
the local registry under --data-dir, with --remote from the deployed
registry (the KV namespace dsctl setup made, read through the Cloudflare
API), or with --secret (then no registry is read).

Scopes:
  read    read streams
  write   read, create, append to, close and delete streams (default)
  manage  all of that plus the inspection API (GET /v1/NAME/streams)

Send it as "Authorization: Bearer <token>". The server checks it against
all of the project's keys, so tokens keep working through a key rotation
until their key is removed (dsctl project keys).`,
		Example: `  # a write token for an hour, straight into curl
  curl -H "Authorization: Bearer $(dsctl token --project demo)" \
    http://127.0.0.1:4437/v1/demo/stream/hello

  # read-only, for one stream, for a day
  dsctl token --project demo --scope read --stream hello --ttl 24h

  # with its claims and expiry
  dsctl token --project demo --json

  # for the deployed workers (dsctl setup); needs CLOUDFLARE_API_TOKEN
  dsctl token --remote --project demo`,
		Args: namedArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runToken(cmd.Context(), ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.project, "project", "p", "", "project the token is for (required)")
	f.StringVar(&o.scope, "scope", string(token.ScopeWrite), "read, write or manage")
	f.DurationVar(&o.ttl, "ttl", time.Hour, "how long the token is valid")
	f.StringVar(&o.stream, "stream", "", "restrict the token to this stream ID")
	f.StringVar(&o.secret, "secret", "", "sign with this secret instead of the project's newest key")
	f.StringVar(&o.dataDir, "data-dir", DefaultDataDir, "data directory of dsctl serve, where the project's keys are")
	f.BoolVar(&o.asJSON, "json", false, "print {token, project, scope, streamId, expiresAt, keyId} as JSON")
	addRemoteFlags(cmd, &o.remote)
	return cmd
}

type tokenResult struct {
	Token     string      `json:"token"`
	Project   string      `json:"project"`
	Scope     token.Scope `json:"scope"`
	StreamID  string      `json:"streamId"`
	ExpiresAt time.Time   `json:"expiresAt"`
	KeyID     string      `json:"keyId"`
}

func (o *tokenOptions) validate() (token.Scope, error) {
	if o.project == "" {
		return "", &flagError{errors.New("token: --project is required")}
	}
	if err := registry.CheckName(o.project); err != nil {
		return "", &flagError{&msgError{"token: --project: " + detail(err, registry.ErrInvalid), err}}
	}
	if o.remote.on && o.secret != "" {
		return "", &flagError{errors.New("token: --secret and --remote exclude each other (--secret signs without reading any registry)")}
	}
	scope, err := token.ParseScope(o.scope)
	if err != nil {
		return "", &flagError{fmt.Errorf("token: --scope: %w", err)}
	}
	if o.ttl <= 0 {
		return "", &flagError{fmt.Errorf("token: --ttl must be positive, got %s", o.ttl)}
	}
	if o.secret != "" {
		if err := registry.CheckSecret(o.secret); err != nil {
			return "", secretError("token", o.secret, "leave out --secret to sign with the project's newest key from the registry", err)
		}
	}
	return scope, nil
}

func runToken(ctx context.Context, ios *IOStreams, o *tokenOptions) error {
	scope, err := o.validate()
	if err != nil {
		return err
	}
	key := registry.Secret{Value: o.secret}
	if o.secret == "" {
		st, p, err := loadFrom(ctx, ios, "token", o.dataDir, o.remote, o.project)
		if err != nil {
			return err
		}
		st.Close()
		if len(p.Secrets) == 0 {
			return withHint(fmt.Errorf("token: project %s has no signing key", o.project), "dsctl project keys add "+o.project)
		}
		key = p.Secrets[0]
	}
	tok, claims, err := token.Mint(key.Value, o.project, scope, o.stream, o.ttl, o.now())
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	res := tokenResult{
		Token:     tok,
		Project:   o.project,
		Scope:     scope,
		StreamID:  o.stream,
		ExpiresAt: claims.ExpiresAt.Time.UTC(),
		KeyID:     key.ID(),
	}
	if o.asJSON {
		return printJSON(ios.Out, res)
	}
	if _, err := fmt.Fprintln(ios.Out, tok); err != nil {
		return err
	}
	notef(ios, "%s token for project %s, key %s, valid until %s", scope, o.project, res.KeyID, res.ExpiresAt.Format(time.RFC3339))
	return nil
}
