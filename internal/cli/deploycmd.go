package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/deploy"
)

// ---- deploy ----

type deployOptions struct {
	accountID       string
	updateTemplates bool
	force           bool
	asJSON          bool
}

func newDeployCmd(ios *IOStreams, runF func(context.Context, *deployOptions) error) *cobra.Command {
	o := &deployOptions{}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Upload ./workers again to the workers dsctl setup deployed",
		Long: `Upload the worker folders under ./workers (as dsctl.toml names them) again,
exactly as they are on disk: every .js/.mjs/.wasm module, with the
bindings, vars and compatibility date of each folder's wrangler.toml, and
the Durable Object migrations the deployed script does not have yet (by
tag; none is applied twice). Core goes first, since the subscription
worker binds to it.

Run it after editing a worker, or after upgrading dsctl with
--update-templates, which writes the new templates first and keeps the
files you edited (--force replaces them too).

Needs dsctl.toml from dsctl setup (here or in a parent folder) and
CLOUDFLARE_API_TOKEN.`,
		Example: `  dsctl deploy
  dsctl deploy --update-templates
  dsctl deploy --json`,
		Args: namedArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runDeploy(cmd.Context(), ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.accountID, "account-id", "", "Cloudflare account id (default: dsctl.toml's)")
	f.BoolVar(&o.updateTemplates, "update-templates", false, "write this dsctl's worker templates into ./workers first (edited files are kept)")
	f.BoolVar(&o.force, "force", false, "with --update-templates: replace edited files too")
	f.BoolVar(&o.asJSON, "json", false, "print {workers: [{component, name, url}], files} as JSON")
	return cmd
}

type deployResult struct {
	Workers []summaryWorker     `json:"workers"`
	Files   []deploy.FileChange `json:"files,omitempty"`
}

func runDeploy(ctx context.Context, ios *IOStreams, o *deployOptions) error {
	if o.force && !o.updateTemplates {
		return &flagError{errors.New("deploy: --force goes with --update-templates")}
	}
	ds, err := loadDeployState("deploy")
	if err != nil {
		return err
	}
	cf, err := connectCloudflare(ctx, ios, "deploy", o.accountID, ds.State.AccountID)
	if err != nil {
		return err
	}
	st := *ds.State
	st.AccountID = cf.AccountID
	dir := ds.WorkersDir()
	st.WorkersDir = dir // uploads read from here; dsctl.toml keeps its relative form
	rep := newStepReporter(ios)
	var res deployResult
	if o.updateTemplates {
		if err := rep.Step("update templates in "+dir, func() (string, error) {
			changes, err := deploy.Scaffold(dir, st.Layout(), o.force, false)
			res.Files = changes
			return deploy.DescribeChanges(changes), err
		}); err != nil {
			return deployError("deploy", err)
		}
	}
	save := func(s *deploy.State) error {
		out := *s
		out.WorkersDir = ds.State.WorkersDir
		return saveDeployState(ds.Path, &out)
	}
	if err := deploy.DeployWorkers(ctx, cf.API, &st, rep, save); err != nil {
		return deployError("deploy", err)
	}
	res.Workers = append(res.Workers, summaryWorker{deploy.Core, st.CoreWorker, st.CoreURL})
	if st.SubscriptionURL != "" {
		res.Workers = append(res.Workers, summaryWorker{deploy.Subscription, st.SubscriptionWorker, st.SubscriptionURL})
	}
	if o.asJSON {
		return printJSON(ios.Out, res)
	}
	for _, w := range res.Workers {
		fmt.Fprintf(ios.Out, "%-13s %s\n", w.Component, w.URL)
	}
	return nil
}

// deployError words a failed deploy step like setup does.
func deployError(op string, err error) error {
	var se *deploy.StepError
	if errors.As(err, &se) {
		if errors.Is(err, deploy.ErrUnknownMigrationTag) {
			return withHint(fmt.Errorf("%s: %w", op, err), "the worker was deployed from other sources; its migrations are not in ./workers")
		}
		return withHint(cloudflareError(op+": step \""+se.Step+"\" failed", envOr(envCFBase, deploy.DefaultAPIBase), se.Err),
			"fix the cause and run dsctl "+op+" again")
	}
	return cloudflareError(op, envOr(envCFBase, deploy.DefaultAPIBase), err)
}

// ---- status ----

type statusOptions struct {
	accountID string
	asJSON    bool
	timeout   time.Duration
}

func newStatusCmd(ios *IOStreams, runF func(context.Context, *statusOptions) error) *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what dsctl setup deployed, and check each worker's /health",
		Long: `Show the deployment recorded in dsctl.toml as Cloudflare sees it now: each
worker's script (deployed or missing, last modified, Durable Object
migration tag, workers.dev route on or off) and a GET of its /health.

Exits 1 when a worker is missing or unhealthy, so scripts can check a
deployment with it.`,
		Example: `  dsctl status
  dsctl status --json | jq '.workers[] | {name, health}'`,
		Args: namedArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runStatus(cmd.Context(), ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.accountID, "account-id", "", "Cloudflare account id (default: dsctl.toml's)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long each /health check may take")
	f.BoolVar(&o.asJSON, "json", false, "print {accountId, r2Bucket, kvNamespace, workers: [...]} as JSON")
	return cmd
}

type statusResult struct {
	AccountID   string                `json:"accountId"`
	Settings    string                `json:"settings"`
	WorkersDir  string                `json:"workersDir"`
	R2Bucket    string                `json:"r2Bucket,omitempty"`
	KVNamespace deploy.Namespace      `json:"kvNamespace"`
	Workers     []deploy.WorkerStatus `json:"workers"`
}

func runStatus(ctx context.Context, ios *IOStreams, o *statusOptions) error {
	ds, err := loadDeployState("status")
	if err != nil {
		return err
	}
	cf, err := connectCloudflare(ctx, ios, "status", o.accountID, ds.State.AccountID)
	if err != nil {
		return err
	}
	st := *ds.State
	st.AccountID = cf.AccountID
	ws, err := deploy.Status(ctx, cf.API, &st, &http.Client{Timeout: o.timeout})
	if err != nil {
		return cloudflareError("status", envOr(envCFBase, deploy.DefaultAPIBase), err)
	}
	res := statusResult{AccountID: st.AccountID, Settings: ds.Path, WorkersDir: filepath.ToSlash(ds.WorkersDir()),
		R2Bucket: st.Bucket, KVNamespace: deploy.Namespace{ID: st.KVNamespaceID, Title: st.KVNamespaceTitle}, Workers: ws}
	var bad []string
	for _, w := range ws {
		if !w.Deployed || w.Health != "ok" || !w.WorkersDev {
			bad = append(bad, w.Name)
		}
	}
	if o.asJSON {
		if err := printJSON(ios.Out, res); err != nil {
			return err
		}
	} else {
		w := ios.Out
		fmt.Fprintf(w, "Account:       %s\n", res.AccountID)
		if res.R2Bucket != "" {
			fmt.Fprintf(w, "R2 bucket:     %s\n", res.R2Bucket)
		}
		fmt.Fprintf(w, "KV namespace:  %s (id %s)\n", res.KVNamespace.Title, res.KVNamespace.ID)
		fmt.Fprintf(w, "Sources:       %s\n\n", res.WorkersDir)
		t := newTable(w, true, "COMPONENT", "WORKER", "DEPLOYED", "MIGRATION", "WORKERS.DEV", "URL", "HEALTH")
		for _, s := range ws {
			deployed := "missing"
			if s.Deployed {
				deployed = s.ModifiedOn
				if deployed == "" {
					deployed = "yes"
				}
			}
			route := "off"
			if s.WorkersDev {
				route = "on"
			}
			t.row(s.Component, s.Name, deployed, orDash(s.MigrationTag), route, s.URL, s.Health)
		}
		if err := t.print(); err != nil {
			return err
		}
	}
	if len(bad) > 0 {
		return withHint(fmt.Errorf("status: %s not deployed or not healthy", strings.Join(bad, ", ")),
			"dsctl deploy uploads the workers again (dsctl setup --yes also re-creates missing resources)")
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
