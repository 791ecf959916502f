package cli

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

func TestNewTokenCmd(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want tokenOptions
	}{
		{[]string{"--project", "demo"}, tokenOptions{project: "demo", scope: "write", ttl: time.Hour, dataDir: DefaultDataDir}},
		{
			[]string{"-p", "demo", "--scope", "read", "--ttl", "24h", "--stream", "a/b", "--secret", "s", "--data-dir", "/d", "--json"},
			tokenOptions{project: "demo", scope: "read", ttl: 24 * time.Hour, stream: "a/b", secret: "s", dataDir: "/d", asJSON: true},
		},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var got *tokenOptions
			ios := &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
			cmd := newTokenCmd(ios, func(_ context.Context, o *tokenOptions) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			got.now = nil
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestTokenRun(t *testing.T) {
	dir, secret := newProject(t, "demo")

	t.Run("prints only the token", func(t *testing.T) {
		r := runCLI(t, false, "", "token", "--project", "demo", "--data-dir", dir).must(t)
		tok := strings.TrimSuffix(r.out, "\n")
		if strings.ContainsAny(tok, " \n") || r.err != "" {
			t.Fatalf("stdout %q stderr %q: want the token alone", r.out, r.err)
		}
		c, err := token.Verify(tok, []string{secret}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != "demo" || c.Scope != token.ScopeWrite || c.StreamID != "" || c.ExpiresAt.Time.Sub(c.IssuedAt.Time) != time.Hour {
			t.Fatalf("claims %+v", c)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := runCLI(t, false, "", "token", "--project", "demo", "--scope", "read", "--stream", "s/1", "--ttl", "90m", "--json", "--data-dir", dir).must(t)
		res := decodeJSON[tokenResult](t, r.out)
		c, err := token.Verify(res.Token, []string{secret}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.Project != "demo" || res.Scope != token.ScopeRead || res.StreamID != "s/1" || res.KeyID != (registry.Secret{Value: secret}).ID() ||
			!res.ExpiresAt.Equal(c.ExpiresAt.Time) || c.Scope != token.ScopeRead || c.StreamID != "s/1" ||
			c.ExpiresAt.Time.Sub(c.IssuedAt.Time) != 90*time.Minute {
			t.Fatalf("json %+v, claims %+v", res, c)
		}
	})
	t.Run("note on a terminal", func(t *testing.T) {
		r := runCLI(t, true, "", "token", "--project", "demo", "--scope", "manage", "--data-dir", dir).must(t)
		if strings.Count(r.out, "\n") != 1 || !strings.Contains(r.err, "manage token for project demo") {
			t.Fatalf("stdout %q stderr %q", r.out, r.err)
		}
	})
	t.Run("signs with the newest key", func(t *testing.T) {
		dir, old := newProject(t, "rot")
		added := decodeJSON[keyAddResult](t, runCLI(t, false, "", "project", "keys", "add", "rot", "--json", "--data-dir", dir).must(t).out)
		res := decodeJSON[tokenResult](t, runCLI(t, false, "", "token", "-p", "rot", "--json", "--data-dir", dir).must(t).out)
		if res.KeyID != added.KeyID {
			t.Fatalf("signed with %s, want the new key %s", res.KeyID, added.KeyID)
		}
		if _, err := token.Verify(res.Token, []string{old}, time.Now()); err == nil {
			t.Fatal("token verifies with the old key")
		}
	})
	t.Run("--secret needs no registry", func(t *testing.T) {
		s := "elsewhere-secret-0123"
		r := runCLI(t, false, "", "token", "--project", "remote", "--secret", s, "--json", "--data-dir", t.TempDir()+"/none").must(t)
		res := decodeJSON[tokenResult](t, r.out)
		if _, err := token.Verify(res.Token, []string{s}, time.Now()); err != nil || res.KeyID != (registry.Secret{Value: s}).ID() {
			t.Fatalf("%+v: %v", res, err)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			args       []string
			want, hint string
			usage      bool
		}{
			{"no project", nil, "token: --project is required", "", true},
			{"bad project name", []string{"-p", "a/b"}, `token: --project: project name "a/b" may only contain`, "", true},
			{"bad scope", []string{"-p", "demo", "--scope", "admin"}, `token: --scope: unknown scope "admin": want read, write or manage`, "", true},
			{"zero ttl", []string{"-p", "demo", "--ttl", "0s"}, "token: --ttl must be positive, got 0s", "", true},
			{"negative ttl", []string{"-p", "demo", "--ttl", "-1h"}, "token: --ttl must be positive, got -1h0m0s", "", true},
			{"bad ttl", []string{"-p", "demo", "--ttl", "soon"}, `invalid argument "soon" for "--ttl"`, "", true},
			{"short secret", []string{"-p", "demo", "--secret", "short"}, "token: --secret has 5 characters; it needs at least 16", "leave out --secret", false},
			{"unknown project", []string{"-p", "nope"}, "token: project nope does not exist in " + dir, "dsctl create-project nope", false},
			{"argument", []string{"demo"}, `dsctl: token: unexpected argument "demo"`, "", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := runCLI(t, false, "", append(append([]string{"token"}, tc.args...), "--data-dir", dir)...)
				r.wantError(t, ExitError, tc.want, tc.hint)
				if got := strings.Contains(r.err, "Usage:"); got != tc.usage {
					t.Fatalf("usage printed: %v, want %v:\n%s", got, tc.usage, r.err)
				}
			})
		}
	})
}
