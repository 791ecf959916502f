package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
)

// StepError names the step that failed; finished steps stay done, and a
// re-run picks up from what exists.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Reporter shows progress: Step runs fn as one named step and reports its
// outcome (a spinner on a terminal, one line otherwise).
type Reporter interface {
	Step(name string, fn func() (detail string, err error)) error
}

// doStep runs one step through the reporter; its error names the step.
func doStep(rep Reporter, name string, fn func() (string, error)) error {
	err := rep.Step(name, fn)
	var se *StepError
	if err != nil && !errors.As(err, &se) {
		return &StepError{name, err}
	}
	return err
}

// Action is what a plan does with one resource.
type Action string

const (
	ActionCreate Action = "create"
	ActionReuse  Action = "reuse"
	ActionUpdate Action = "update"
)

// ResourcePlan is one bucket or namespace.
type ResourcePlan struct {
	Name   string `json:"name"`
	ID     string `json:"id,omitempty"`
	Action Action `json:"action"`
}

// WorkerPlan is one worker upload.
type WorkerPlan struct {
	Component  string   `json:"component"`
	Name       string   `json:"name"`
	Action     Action   `json:"action"` // create or update
	CurrentTag string   `json:"currentMigrationTag,omitempty"`
	Migrations []string `json:"migrations,omitempty"` // tags to apply
	URL        string   `json:"url"`
}

// Plan is what setup will do, shown before anything changes.
type Plan struct {
	AccountID         string        `json:"accountId"`
	WorkersSubdomain  string        `json:"workersSubdomain"`
	RegisterSubdomain bool          `json:"registerSubdomain,omitempty"`
	Bucket            *ResourcePlan `json:"r2Bucket,omitempty"`
	KV                ResourcePlan  `json:"kvNamespace"`
	WorkersDir        string        `json:"workersDir"`
	Files             []FileChange  `json:"files"`
	Workers           []WorkerPlan  `json:"workers"`
	// Left are workers an earlier setup deployed that this one no longer
	// names (renamed, or a component dropped): they keep running, and
	// dsctl stops tracking them.
	Left []string `json:"left,omitempty"`
}

// SetupOptions are setup's answers.
type SetupOptions struct {
	AccountID          string
	Components         []string
	CoreWorker         string
	SubscriptionWorker string
	Bucket             string // "" = no R2 cold segments
	KVTitle            string
	WorkersDir         string
	WorkersSubdomain   string // registered when the account has none
	Metrics            bool
	Force              bool   // overwrite edited scaffolded files
	Previous           *State // the earlier setup's state (dsctl.toml), if any
}

func (o *SetupOptions) layout(kvID string) *Layout {
	return &Layout{
		Components:         o.Components,
		CoreWorker:         o.CoreWorker,
		SubscriptionWorker: o.SubscriptionWorker,
		Bucket:             o.Bucket,
		KVNamespaceID:      kvID,
		Metrics:            o.Metrics,
	}
}

// ErrUnexpected means Cloudflare accepted a change but reports a result
// other than the one asked for.
var ErrUnexpected = errors.New("unexpected answer")

// ErrNoSubdomain means the account has no workers.dev subdomain and none
// was given to register.
var ErrNoSubdomain = errors.New("the account has no workers.dev subdomain yet")

// PlanSetup looks at the account and the workers folder and says what
// setup would create, reuse and update. It changes nothing.
func PlanSetup(ctx context.Context, api *API, o *SetupOptions) (*Plan, error) {
	p := &Plan{AccountID: o.AccountID, WorkersDir: o.WorkersDir}
	sub, err := api.WorkersSubdomain(ctx, o.AccountID)
	if err != nil {
		return nil, &StepError{"read the workers.dev subdomain", err}
	}
	switch {
	case sub != "":
		p.WorkersSubdomain = sub
	case o.WorkersSubdomain != "":
		p.WorkersSubdomain, p.RegisterSubdomain = o.WorkersSubdomain, true
	default:
		return nil, ErrNoSubdomain
	}
	if o.Bucket != "" {
		ok, err := api.BucketExists(ctx, o.AccountID, o.Bucket)
		if err != nil {
			return nil, &StepError{"look up R2 bucket " + o.Bucket, err}
		}
		p.Bucket = &ResourcePlan{Name: o.Bucket, Action: ActionCreate}
		if ok {
			p.Bucket.Action = ActionReuse
		}
	}
	ns, err := api.FindNamespace(ctx, o.AccountID, o.KVTitle)
	if err != nil {
		return nil, &StepError{"look up KV namespace " + o.KVTitle, err}
	}
	p.KV = ResourcePlan{Name: o.KVTitle, Action: ActionCreate}
	kvID := "0000000000000000000000000000000a" // stands in for the id the namespace will get
	if ns != nil {
		p.KV.ID, p.KV.Action, kvID = ns.ID, ActionReuse, ns.ID
	}
	if p.Files, err = Scaffold(o.WorkersDir, o.layout(kvID), o.Force, true); err != nil {
		return nil, &StepError{"scaffold " + o.WorkersDir, err}
	}
	scripts, err := api.Scripts(ctx, o.AccountID)
	if err != nil {
		return nil, &StepError{"list workers", err}
	}
	rendered, err := Render(o.layout(kvID))
	if err != nil {
		return nil, err
	}
	for _, comp := range o.Components {
		name := o.layout(kvID).WorkerName(comp)
		cfg, err := ParseWorkerConfig(comp+"/"+WranglerFile, rendered[comp+"/"+WranglerFile])
		if err != nil {
			return nil, err
		}
		wp := WorkerPlan{Component: comp, Name: name, Action: ActionCreate, URL: WorkerURL(name, p.WorkersSubdomain)}
		if s, ok := scripts[name]; ok {
			wp.Action, wp.CurrentTag = ActionUpdate, s.MigrationTag
		}
		mp, err := cfg.PendingMigrations(wp.CurrentTag)
		if err != nil {
			return nil, err
		}
		if mp != nil {
			for _, m := range mp.Steps {
				wp.Migrations = append(wp.Migrations, m.Tag)
			}
		}
		p.Workers = append(p.Workers, wp)
	}
	if prev := o.Previous; prev != nil && prev.AccountID == o.AccountID {
		for _, name := range []string{prev.CoreWorker, prev.SubscriptionWorker} {
			if _, deployed := scripts[name]; deployed && !slices.ContainsFunc(p.Workers, func(w WorkerPlan) bool { return w.Name == name }) {
				p.Left = append(p.Left, name)
			}
		}
	}
	return p, nil
}

// ApplySetup carries out a plan: resources, scaffolding, uploads,
// workers.dev routes. save is called with the state after every step
// that changed it, so an interrupted run leaves dsctl.toml current.
func ApplySetup(ctx context.Context, api *API, o *SetupOptions, p *Plan, rep Reporter, save func(*State) error) (*State, error) {
	st := &State{
		AccountID:          o.AccountID,
		WorkersSubdomain:   p.WorkersSubdomain,
		WorkersDir:         o.WorkersDir,
		Components:         o.Components,
		CoreWorker:         o.CoreWorker,
		SubscriptionWorker: o.SubscriptionWorker,
		Bucket:             o.Bucket,
		KVNamespaceTitle:   o.KVTitle,
		Metrics:            o.Metrics,
	}
	if !st.Layout().Has(Subscription) {
		st.SubscriptionWorker = ""
	}
	if p.RegisterSubdomain {
		if err := doStep(rep, "register workers.dev subdomain "+p.WorkersSubdomain, func() (string, error) {
			return p.WorkersSubdomain + ".workers.dev", api.SetWorkersSubdomain(ctx, o.AccountID, p.WorkersSubdomain)
		}); err != nil {
			return nil, err
		}
	}
	if o.Bucket != "" {
		if err := doStep(rep, "R2 bucket "+o.Bucket, func() (string, error) {
			ok, err := api.BucketExists(ctx, o.AccountID, o.Bucket)
			if err != nil || ok {
				return "exists, reused", err
			}
			if err := api.CreateBucket(ctx, o.AccountID, o.Bucket); err != nil {
				return "", err
			}
			return "created", nil
		}); err != nil {
			return nil, err
		}
	}
	if err := doStep(rep, "KV namespace "+o.KVTitle, func() (string, error) {
		ns, err := api.FindNamespace(ctx, o.AccountID, o.KVTitle)
		if err != nil {
			return "", err
		}
		detail := "exists, reused"
		if ns == nil {
			if ns, err = api.CreateNamespace(ctx, o.AccountID, o.KVTitle); err != nil {
				return "", err
			}
			detail = "created"
		}
		st.KVNamespaceID = ns.ID
		return detail + " (id " + ns.ID + ")", nil
	}); err != nil {
		return nil, err
	}
	if err := save(st); err != nil {
		return nil, err
	}
	if err := doStep(rep, "scaffold ./"+filepath.ToSlash(o.WorkersDir), func() (string, error) {
		changes, err := Scaffold(o.WorkersDir, st.Layout(), o.Force, false)
		if err != nil {
			return "", err
		}
		return DescribeChanges(changes), nil
	}); err != nil {
		return nil, err
	}
	if err := DeployWorkers(ctx, api, st, rep, save); err != nil {
		return nil, err
	}
	return st, nil
}

// DeployWorkers uploads each component's folder as it is on disk (core
// first: the subscription worker binds to it) with the migrations its
// script still needs, and turns on its workers.dev route.
func DeployWorkers(ctx context.Context, api *API, st *State, rep Reporter, save func(*State) error) error {
	var scripts map[string]ScriptInfo
	for _, comp := range orderComponents(st.Components) {
		dir := filepath.Join(st.WorkersDir, comp)
		var name string
		if err := doStep(rep, "upload "+comp+" worker", func() (string, error) {
			cfg, mods, err := LoadWorker(dir)
			if err != nil {
				return "", err
			}
			name = cfg.Name
			if scripts == nil { // one listing serves every component
				if scripts, err = api.Scripts(ctx, st.AccountID); err != nil {
					return "", err
				}
			}
			current := scripts[name].MigrationTag
			mp, err := cfg.PendingMigrations(current)
			if err != nil {
				return "", err
			}
			tag, err := api.UploadScript(ctx, st.AccountID, name, cfg.UploadMetadata(mp), mods)
			if err != nil {
				return "", err
			}
			// Check what Cloudflare says it applied rather than assume it.
			if mp != nil && tag != mp.NewTag {
				return "", fmt.Errorf("%w: Cloudflare reports migration tag %q after the upload, want %q", ErrUnexpected, tag, mp.NewTag)
			}
			detail := fmt.Sprintf("%s: %d modules", name, len(mods))
			if mp != nil {
				detail += ", migration " + strings.Join(migrationTags(mp), ", ") + " applied"
			} else if tag != "" {
				detail += ", migration tag " + tag + " (nothing to apply)"
			}
			return detail, nil
		}); err != nil {
			return err
		}
		url := WorkerURL(name, st.WorkersSubdomain)
		if err := doStep(rep, "workers.dev route for "+name, func() (string, error) {
			// Looked at first, so a re-run changes nothing but the code.
			if on, err := api.WorkersDevEnabled(ctx, st.AccountID, name); err != nil {
				return "", err
			} else if on {
				return url + " (already on)", nil
			}
			return url, api.EnableWorkersDev(ctx, st.AccountID, name)
		}); err != nil {
			return err
		}
		if comp == Subscription {
			st.SubscriptionWorker, st.SubscriptionURL = name, url
		} else {
			st.CoreWorker, st.CoreURL = name, url
		}
		if err := save(st); err != nil {
			return err
		}
	}
	return nil
}

func orderComponents(cs []string) []string {
	var out []string
	for _, want := range []string{Core, Subscription} {
		for _, c := range cs {
			if c == want {
				out = append(out, c)
			}
		}
	}
	return out
}

func migrationTags(mp *MigrationPlan) []string {
	tags := make([]string, len(mp.Steps))
	for i, m := range mp.Steps {
		tags[i] = m.Tag
	}
	return tags
}

// DescribeChanges says in one line what scaffolding does or did: the
// non-zero counts, and the files kept because the user edited them.
func DescribeChanges(cs []FileChange) string {
	counts := map[FileAction]int{}
	var kept []string
	for _, c := range cs {
		counts[c.Action]++
		if c.Action == FileKeep {
			kept = append(kept, c.Path)
		}
	}
	var parts []string
	for _, a := range []struct {
		action FileAction
		label  string
	}{{FileCreate, "new"}, {FileUpdate, "updated"}, {FileOverwrite, "overwritten"}, {FileUnchanged, "unchanged"}} {
		if n := counts[a.action]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a.label))
		}
	}
	if len(kept) > 0 {
		parts = append(parts, fmt.Sprintf("%d kept as you edited them (%s; --force replaces them)", len(kept), strings.Join(kept, ", ")))
	}
	return strings.Join(parts, ", ")
}

// WorkerStatus is one deployed worker as `dsctl status` shows it.
type WorkerStatus struct {
	Component    string `json:"component"`
	Name         string `json:"name"`
	Deployed     bool   `json:"deployed"`
	MigrationTag string `json:"migrationTag,omitempty"`
	ModifiedOn   string `json:"modifiedOn,omitempty"`
	WorkersDev   bool   `json:"workersDev"`
	URL          string `json:"url"`
	Health       string `json:"health"` // "ok", "HTTP 503", or the connection error
}

// Status reads what is deployed for the state's components and checks
// each URL's /health with client.
func Status(ctx context.Context, api *API, st *State, client *http.Client) ([]WorkerStatus, error) {
	scripts, err := api.Scripts(ctx, st.AccountID)
	if err != nil {
		return nil, err
	}
	var out []WorkerStatus
	for _, comp := range orderComponents(st.Components) {
		ws := WorkerStatus{Component: comp, Name: st.CoreWorker, URL: st.CoreURL}
		if comp == Subscription {
			ws.Name, ws.URL = st.SubscriptionWorker, st.SubscriptionURL
		}
		if s, ok := scripts[ws.Name]; ok {
			ws.Deployed, ws.MigrationTag = true, s.MigrationTag
			if !s.ModifiedOn.IsZero() {
				ws.ModifiedOn = s.ModifiedOn.UTC().Format("2006-01-02T15:04:05Z")
			}
			if ws.WorkersDev, err = api.WorkersDevEnabled(ctx, st.AccountID, ws.Name); err != nil {
				return nil, err
			}
		}
		ws.Health = checkHealth(ctx, client, ws.URL)
		out = append(out, ws)
	}
	return out, nil
}

func checkHealth(ctx context.Context, client *http.Client, base string) string {
	if base == "" {
		return "no URL"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/health", nil)
	if err != nil {
		return err.Error()
	}
	res, err := client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			return "unreachable: " + ue.Unwrap().Error()
		}
		return "unreachable: " + err.Error()
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "HTTP " + res.Status
	}
	return "ok"
}
