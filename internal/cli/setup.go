package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/huh"
	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/deploy"
	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

type setupOptions struct {
	accountID        string
	components       []string
	coreName         string
	subName          string
	bucket           string
	noR2             bool
	kvTitle          string
	workersDir       string
	workersSubdomain string
	metrics          bool
	project          string
	yes              bool
	dryRun           bool
	force            bool
	asJSON           bool

	cmd *cobra.Command
	now func() time.Time
}

func newSetupCmd(ios *IOStreams, runF func(context.Context, *setupOptions) error) *cobra.Command {
	o := &setupOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Deploy Durable Streams to your Cloudflare account",
		Long: `Deploy the Durable Streams workers to Cloudflare, straight through the
Cloudflare API (no Node, no wrangler):

  1. components: core (always) and subscription (pub/sub, on by default);
  2. names: the workers, the R2 bucket for cold segments and the KV
     namespace that holds the project registry;
  3. a plan of what will be created, reused or updated, confirmed on a
     terminal (--dry-run prints it and stops);
  4. the R2 bucket and KV namespace, created or reused (found by name);
  5. the worker sources, written to ./workers/<component>/ with a
     wrangler.toml holding the real ids (files you edited are kept unless
     --force);
  6. each worker uploaded with its bindings and the Durable Object
     migrations it still needs, and its workers.dev URL turned on;
  7. optionally a first project (--project), as create-project --remote;
  8. a summary with the URLs and a curl that works (--json: an object).

Credentials: CLOUDFLARE_API_TOKEN (asked for on a terminal when unset; never
stored), CLOUDFLARE_ACCOUNT_ID or --account-id (else the token's only
account, else a choice on a terminal). The token is verified before anything
changes. What was deployed is written to ./dsctl.toml (no secrets), which
dsctl deploy, dsctl status and the --remote flags read.

Running setup again is safe: existing resources are reused, no migration is
applied twice, and only the code is uploaded again. After a failure, fix the
cause and run it again: it picks up from what exists.

On a terminal a short form asks for the answers; every answer is also a
flag, and --yes takes the defaults (and those in ./dsctl.toml) without
asking, which is how scripts and CI run it.`,
		Example: `  # interactive
  dsctl setup

  # unattended, with a first project
  CLOUDFLARE_API_TOKEN=… dsctl setup --yes --project demo

  # only the core worker, other names, see the plan first
  dsctl setup --components core --core-name my-streams --bucket my-segments --dry-run`,
		Args: namedArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd = cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runSetup(cmd.Context(), ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.accountID, "account-id", "", "Cloudflare account id (env "+envCFAccount+"; default: the token's only account)")
	f.StringSliceVar(&o.components, "components", []string{deploy.Core, deploy.Subscription}, "components to deploy: core, subscription")
	f.StringVar(&o.coreName, "core-name", deploy.DefaultCoreWorker, "name of the core worker")
	f.StringVar(&o.subName, "subscription-name", deploy.DefaultSubscriptionWorker, "name of the subscription (pub/sub) worker")
	f.StringVar(&o.bucket, "bucket", deploy.DefaultBucket, "R2 bucket for cold segments")
	f.BoolVar(&o.noR2, "no-r2", false, "keep every stream's log in its Durable Object (no R2 bucket)")
	f.StringVar(&o.kvTitle, "kv-title", deploy.DefaultKVTitle, "title of the KV namespace holding the project registry")
	f.StringVar(&o.workersDir, "workers-dir", deploy.DefaultWorkersDir, "folder for the worker sources")
	f.StringVar(&o.workersSubdomain, "workers-subdomain", "", "register this workers.dev subdomain if the account has none")
	f.BoolVar(&o.metrics, "metrics", false, "bind an Analytics Engine dataset for metrics")
	f.StringVar(&o.project, "project", "", "create this first project in the deployed registry")
	f.BoolVarP(&o.yes, "yes", "y", false, "take the defaults and apply the plan without asking")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
	f.BoolVar(&o.force, "force", false, "overwrite worker files you edited")
	f.BoolVar(&o.asJSON, "json", false, "print the plan (--dry-run) or the summary as JSON")
	return cmd
}

// setupSummary is setup's result (--json).
type setupSummary struct {
	AccountID        string               `json:"accountId"`
	WorkersSubdomain string               `json:"workersSubdomain"`
	Workers          []summaryWorker      `json:"workers"`
	R2Bucket         string               `json:"r2Bucket,omitempty"`
	KVNamespace      deploy.Namespace     `json:"kvNamespace"`
	WorkersDir       string               `json:"workersDir"`
	Settings         string               `json:"settings"`
	Project          *createProjectResult `json:"project,omitempty"`
	Curl             []string             `json:"curl"`
	Next             []string             `json:"next"`
	Plan             *deploy.Plan         `json:"plan"`
}

type summaryWorker struct {
	Component string `json:"component"`
	Name      string `json:"name"`
	URL       string `json:"url"`
}

// setupDefaults fills in what flags left unset from an earlier setup's
// dsctl.toml in this folder, so re-running setup keeps its names.
func (o *setupOptions) setupDefaults(prev *deploy.State) {
	if prev == nil {
		return
	}
	changed := func(name string) bool { return o.cmd != nil && o.cmd.Flags().Changed(name) }
	if !changed("components") && len(prev.Components) > 0 {
		o.components = slices.Clone(prev.Components)
	}
	if !changed("core-name") && prev.CoreWorker != "" {
		o.coreName = prev.CoreWorker
	}
	if !changed("subscription-name") && prev.SubscriptionWorker != "" {
		o.subName = prev.SubscriptionWorker
	}
	if !changed("bucket") && !changed("no-r2") {
		if prev.Bucket != "" {
			o.bucket = prev.Bucket
		} else {
			o.noR2 = true
		}
	}
	if !changed("kv-title") && prev.KVNamespaceTitle != "" {
		o.kvTitle = prev.KVNamespaceTitle
	}
	if !changed("workers-dir") && prev.WorkersDir != "" {
		o.workersDir = prev.WorkersDir
	}
	if !changed("metrics") {
		o.metrics = prev.Metrics
	}
}

// validate checks the answers, naming the flag of a bad one.
func (o *setupOptions) validate() error {
	var comps []string
	for _, c := range o.components {
		c = strings.TrimSpace(strings.ToLower(c))
		if c != deploy.Core && c != deploy.Subscription {
			return &flagError{fmt.Errorf("setup: --components: unknown component %q (want core, subscription)", c)}
		}
		if !slices.Contains(comps, c) {
			comps = append(comps, c)
		}
	}
	if !slices.Contains(comps, deploy.Core) {
		comps = append([]string{deploy.Core}, comps...) // core is always deployed
	}
	o.components = comps
	if err := deploy.CheckWorkerName(o.coreName); err != nil {
		return &flagError{fmt.Errorf("setup: --core-name: %w", err)}
	}
	if slices.Contains(comps, deploy.Subscription) {
		if err := deploy.CheckWorkerName(o.subName); err != nil {
			return &flagError{fmt.Errorf("setup: --subscription-name: %w", err)}
		}
		if o.subName == o.coreName {
			return &flagError{errors.New("setup: --subscription-name must differ from --core-name")}
		}
	}
	if !o.noR2 {
		if err := deploy.CheckBucketName(o.bucket); err != nil {
			return &flagError{fmt.Errorf("setup: --bucket: %w", err)}
		}
	}
	if strings.TrimSpace(o.kvTitle) == "" {
		return &flagError{errors.New("setup: --kv-title must not be empty")}
	}
	if o.workersSubdomain != "" {
		if err := deploy.CheckWorkerName(o.workersSubdomain); err != nil {
			return &flagError{fmt.Errorf("setup: --workers-subdomain: %w", err)}
		}
	}
	if o.project != "" {
		if err := registry.CheckName(o.project); err != nil {
			return &flagError{&msgError{"setup: --project: " + detail(err, registry.ErrInvalid), err}}
		}
	}
	if o.workersDir == "" {
		return &flagError{errors.New("setup: --workers-dir must not be empty")}
	}
	return nil
}

// ask runs the wizard's form, pre-filled with the current answers. An
// empty answer keeps the shown default (accessible mode reads lines and
// starts inputs empty).
func (o *setupOptions) ask(ios *IOStreams) error {
	withSub := slices.Contains(o.components, deploy.Subscription)
	withR2 := !o.noR2
	defCore, defSub, defBucket, defKV := o.coreName, o.subName, o.bucket, o.kvTitle
	orKeep := func(check func(string) error) func(string) error {
		return func(s string) error {
			if strings.TrimSpace(s) == "" {
				return nil
			}
			return check(strings.TrimSpace(s))
		}
	}
	input := func(title, def string, v *string, check func(string) error) huh.Field {
		return huh.NewInput().Title(title).Placeholder(def).Value(v).Validate(orKeep(check))
	}
	if err := runForm(ios,
		huh.NewConfirm().Title("Deploy the subscription (pub/sub) worker too?").
			Description("Sessions subscribe to streams; each publish is copied to every subscribed session's stream.").
			Affirmative("Yes").Negative("No").Value(&withSub),
		input("Core worker name:", defCore, &o.coreName, deploy.CheckWorkerName),
		huh.NewConfirm().Title("Move old stream data to R2 (cold segments)?").
			Description("Keeps each Durable Object small; needs R2 on the account.").
			Affirmative("Yes").Negative("No").Value(&withR2),
	); err != nil {
		return err
	}
	o.coreName = keep(o.coreName, defCore)
	var fields []huh.Field
	if withSub {
		fields = append(fields, input("Subscription worker name:", defSub, &o.subName, func(s string) error {
			if s == o.coreName {
				return errors.New("must differ from the core worker's name")
			}
			return deploy.CheckWorkerName(s)
		}))
	}
	if withR2 {
		fields = append(fields, input("R2 bucket:", defBucket, &o.bucket, deploy.CheckBucketName))
	}
	fields = append(fields,
		input("KV namespace title (project registry):", defKV, &o.kvTitle, func(string) error { return nil }),
		huh.NewInput().Title("First project (empty: none):").
			Description("Created in the deployed registry, with a token and a curl to try it.").
			Value(&o.project).
			Validate(orKeep(func(s string) error { return nameError(registry.CheckName(s)) })))
	if err := runForm(ios, fields...); err != nil {
		return err
	}
	o.subName, o.bucket, o.kvTitle = keep(o.subName, defSub), keep(o.bucket, defBucket), keep(o.kvTitle, defKV)
	o.components = []string{deploy.Core}
	if withSub {
		o.components = append(o.components, deploy.Subscription)
	}
	o.noR2 = !withR2
	o.project = strings.TrimSpace(o.project)
	return nil
}

// keep is s trimmed, or def when s is empty.
func keep(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}

func (o *setupOptions) deployOptions(account string) *deploy.SetupOptions {
	so := &deploy.SetupOptions{
		AccountID:          account,
		Components:         o.components,
		CoreWorker:         o.coreName,
		SubscriptionWorker: o.subName,
		Bucket:             o.bucket,
		KVTitle:            strings.TrimSpace(o.kvTitle),
		WorkersDir:         o.workersDir,
		WorkersSubdomain:   o.workersSubdomain,
		Metrics:            o.metrics,
		Force:              o.force,
	}
	if o.noR2 {
		so.Bucket = ""
	}
	return so
}

func runSetup(ctx context.Context, ios *IOStreams, o *setupOptions) error {
	settings := ProjectFileName
	var prev *deploy.State
	if _, err := os.Stat(settings); err == nil {
		_, pf, err := findProjectFile(".")
		if err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		if pf != nil {
			prev = pf.Cloudflare
		}
	}
	o.setupDefaults(prev)
	if err := o.validate(); err != nil {
		return err
	}
	interactive := !o.yes && ios.CanPrompt()
	if !o.yes && !o.dryRun && !interactive {
		return withHint(errors.New("setup: --yes is required when not on a terminal (it applies the plan without asking)"),
			"dsctl setup --yes (or --dry-run to see the plan first)")
	}
	known := ""
	if prev != nil {
		known = prev.AccountID
	}
	// Credentials first: a bad token fails before any question is asked.
	cf, err := connectCloudflare(ctx, ios, "setup", o.accountID, known)
	if err != nil {
		return err
	}
	if interactive {
		if err := o.ask(ios); err != nil {
			return err
		}
		if err := o.validate(); err != nil {
			return err
		}
	}
	so := o.deployOptions(cf.AccountID)
	so.Previous = prev
	rep := newStepReporter(ios)
	var plan *deploy.Plan
	if err := rep.Step("read account "+cf.AccountID, func() (string, error) {
		var err error
		plan, err = deploy.PlanSetup(ctx, cf.API, so)
		if err != nil {
			return "", err
		}
		return "workers.dev subdomain " + plan.WorkersSubdomain, nil
	}); err != nil {
		return setupError(err)
	}
	if o.dryRun {
		if o.asJSON {
			return printJSON(ios.Out, plan)
		}
		printPlan(ios.Out, plan)
		return nil
	}
	if interactive {
		printPlan(ios.ErrOut, plan)
		ok, err := confirm(ios, "Apply this plan?")
		if err != nil {
			return err
		}
		if !ok {
			return errCancelled
		}
	} else if !o.asJSON {
		printPlan(ios.ErrOut, plan)
	}
	save := func(st *deploy.State) error { return saveDeployState(settings, st) }
	st, err := deploy.ApplySetup(ctx, cf.API, so, plan, rep, save)
	if err != nil {
		return setupError(err)
	}
	sum := &setupSummary{
		AccountID:        st.AccountID,
		WorkersSubdomain: st.WorkersSubdomain,
		R2Bucket:         st.Bucket,
		KVNamespace:      deploy.Namespace{ID: st.KVNamespaceID, Title: st.KVNamespaceTitle},
		WorkersDir:       st.WorkersDir,
		Settings:         settings,
		Plan:             plan,
	}
	sum.Workers = append(sum.Workers, summaryWorker{deploy.Core, st.CoreWorker, st.CoreURL})
	if st.SubscriptionURL != "" {
		sum.Workers = append(sum.Workers, summaryWorker{deploy.Subscription, st.SubscriptionWorker, st.SubscriptionURL})
	}
	project := ""
	if o.project != "" {
		kvr := &deploy.KVRegistry{API: cf.API, AccountID: st.AccountID, Namespace: st.KVNamespaceID, Now: o.now}
		if err := rep.Step("project "+o.project, func() (string, error) {
			secret := token.NewSecret()
			p, err := kvr.CreateProject(ctx, o.project, secret)
			if errors.Is(err, registry.ErrExists) {
				return "exists, kept (its secret is not shown again; dsctl token --remote mints tokens)", nil
			}
			if err != nil {
				return "", err
			}
			tok, claims, err := token.Mint(secret, p.Name, token.ScopeWrite, "", exampleTokenTTL, o.now())
			if err != nil {
				return "", err
			}
			sum.Project = &createProjectResult{Project: p.Name, Secret: secret, KeyID: p.Secrets[0].ID(), Token: tok,
				TokenExpiresAt: claims.ExpiresAt.Time.UTC(), Curl: curlExample(st.CoreURL, p.Name, tok)}
			return "created in the registry and read back", nil
		}); err != nil {
			return setupError(&deploy.StepError{Step: "project " + o.project, Err: err})
		}
		project = o.project
	}
	if sum.Project != nil {
		sum.Curl = sum.Project.Curl
	} else {
		sum.Curl = []string{"curl " + shellQuote(st.CoreURL+"/health")}
	}
	if project == "" {
		project = "NAME"
		sum.Next = append(sum.Next, "dsctl create-project NAME --remote")
	}
	sum.Next = append(sum.Next,
		"dsctl tail --remote --project "+project+" STREAM",
		"dsctl status",
		"dsctl deploy  (after editing ./"+filepath.ToSlash(st.WorkersDir)+")")
	if o.asJSON {
		return printJSON(ios.Out, sum)
	}
	printSetupSummary(ios.Out, sum)
	return nil
}

// setupError adds the way forward to a failed step.
func setupError(err error) error {
	var se *deploy.StepError
	if errors.Is(err, deploy.ErrNoSubdomain) {
		return withHint(fmt.Errorf("setup: %w", err), "dsctl setup --workers-subdomain NAME registers one (it names every https://<worker>.NAME.workers.dev)")
	}
	if errors.As(err, &se) {
		if errors.Is(err, deploy.ErrUnknownMigrationTag) {
			return withHint(fmt.Errorf("setup: %w", err), "the worker was deployed from other sources: pick another --core-name/--subscription-name, or delete that worker first")
		}
		return withHint(cloudflareError("setup: step \""+se.Step+"\" failed", envOr(envCFBase, deploy.DefaultAPIBase), se.Err),
			"fix the cause and run dsctl setup again: finished steps are kept and it resumes")
	}
	return fmt.Errorf("setup: %w", err)
}

func printPlan(w io.Writer, p *deploy.Plan) {
	fmt.Fprintf(w, "Plan for account %s:\n", p.AccountID)
	if p.RegisterSubdomain {
		fmt.Fprintf(w, "  register   workers.dev subdomain %s\n", p.WorkersSubdomain)
	}
	if p.Bucket != nil {
		fmt.Fprintf(w, "  %-9s  R2 bucket %s\n", p.Bucket.Action, p.Bucket.Name)
	}
	kv := "KV namespace " + p.KV.Name
	if p.KV.ID != "" {
		kv += " (id " + p.KV.ID + ")"
	}
	fmt.Fprintf(w, "  %-9s  %s\n", p.KV.Action, kv)
	fmt.Fprintf(w, "  %-9s  ./%s: %s\n", "scaffold", filepath.ToSlash(p.WorkersDir), deploy.DescribeChanges(p.Files))
	for _, wp := range p.Workers {
		mig := "no migration to apply"
		if len(wp.Migrations) > 0 {
			mig = "migrations " + strings.Join(wp.Migrations, ", ")
		}
		if wp.CurrentTag != "" {
			mig += " (deployed at " + wp.CurrentTag + ")"
		}
		fmt.Fprintf(w, "  %-9s  worker %s (%s): %s; %s\n", wp.Action, wp.Name, wp.Component, mig, wp.URL)
	}
	for _, name := range p.Left {
		fmt.Fprintf(w, "  %-9s  worker %s: deployed by an earlier setup, no longer named; it keeps running and dsctl\n"+
			"             stops tracking it (delete it in the dashboard, or keep its name to manage it)\n", "leave", name)
	}
}

func printSetupSummary(w io.Writer, s *setupSummary) {
	fmt.Fprintf(w, "\nDeployed to Cloudflare account %s:\n", s.AccountID)
	for _, wk := range s.Workers {
		fmt.Fprintf(w, "  %-13s %s  (worker %s)\n", wk.Component, wk.URL, wk.Name)
	}
	if s.R2Bucket != "" {
		fmt.Fprintf(w, "  %-13s %s\n", "R2 bucket", s.R2Bucket)
	}
	fmt.Fprintf(w, "  %-13s %s (id %s)\n", "KV namespace", s.KVNamespace.Title, s.KVNamespace.ID)
	fmt.Fprintf(w, "  %-13s ./%s (dsctl deploy uploads them again after you edit them)\n", "sources", filepath.ToSlash(s.WorkersDir))
	fmt.Fprintf(w, "  %-13s ./%s\n", "settings", s.Settings)
	if p := s.Project; p != nil {
		fmt.Fprintf(w, "\nProject %s: secret (shown once) %s\n", p.Project, p.Secret)
		fmt.Fprintf(w, "Write token, valid until %s:\n  %s\n", p.TokenExpiresAt.Format(time.RFC3339), p.Token)
	}
	fmt.Fprintf(w, "\nTry it (a new deployment can take a minute to answer everywhere):\n")
	for _, c := range s.Curl {
		fmt.Fprintf(w, "  %s\n", c)
	}
	fmt.Fprintf(w, "\nNext:\n")
	for _, n := range s.Next {
		fmt.Fprintf(w, "  %s\n", n)
	}
}
