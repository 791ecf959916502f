package deploy

import (
	"fmt"
	"net/url"
	"regexp"
)

// State is what `dsctl setup` deployed, kept in dsctl.toml's [cloudflare]
// table so deploy, status and --remote find it. It holds no secrets.
type State struct {
	AccountID          string   `toml:"account_id" json:"accountId"`
	WorkersSubdomain   string   `toml:"workers_subdomain" json:"workersSubdomain"`
	WorkersDir         string   `toml:"workers_dir" json:"workersDir"`
	Components         []string `toml:"components" json:"components"`
	CoreWorker         string   `toml:"core_worker" json:"coreWorker"`
	CoreURL            string   `toml:"core_url" json:"coreUrl"`
	SubscriptionWorker string   `toml:"subscription_worker,omitempty" json:"subscriptionWorker,omitempty"`
	SubscriptionURL    string   `toml:"subscription_url,omitempty" json:"subscriptionUrl,omitempty"`
	Bucket             string   `toml:"r2_bucket,omitempty" json:"r2Bucket,omitempty"`
	KVNamespaceTitle   string   `toml:"kv_namespace_title" json:"kvNamespaceTitle"`
	KVNamespaceID      string   `toml:"kv_namespace_id" json:"kvNamespaceId"`
	Metrics            bool     `toml:"metrics,omitempty" json:"metrics,omitempty"`
}

// Defaults for setup's names.
const (
	DefaultCoreWorker         = "durable-streams"
	DefaultSubscriptionWorker = "durable-streams-subscriptions"
	DefaultBucket             = "durable-streams"
	DefaultKVTitle            = "durable-streams-projects"
	DefaultWorkersDir         = "workers"
)

// WorkerURL is a worker's workers.dev address.
func WorkerURL(worker, subdomain string) string {
	return "https://" + worker + "." + subdomain + ".workers.dev"
}

// Layout is the state's scaffolding layout.
func (s *State) Layout() *Layout {
	return &Layout{
		Components:         s.Components,
		CoreWorker:         s.CoreWorker,
		SubscriptionWorker: s.SubscriptionWorker,
		Bucket:             s.Bucket,
		KVNamespaceID:      s.KVNamespaceID,
		Metrics:            s.Metrics,
	}
}

var (
	workerNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	accountIDRE  = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// CheckWorkerName validates a worker (script) name: it is also a DNS label
// of the workers.dev URL.
func CheckWorkerName(s string) error {
	if !workerNameRE.MatchString(s) {
		return fmt.Errorf("invalid worker name %q: 1-63 lowercase letters, digits and '-', not starting or ending with '-'", s)
	}
	return nil
}

// CheckBucketName validates an R2 bucket name.
func CheckBucketName(s string) error {
	if !bucketNameRE.MatchString(s) {
		return fmt.Errorf("invalid R2 bucket name %q: 3-63 lowercase letters, digits and '-', starting and ending with a letter or digit", s)
	}
	return nil
}

// CheckAccountID validates a Cloudflare account id (32 hex digits).
func CheckAccountID(s string) error {
	if !accountIDRE.MatchString(s) {
		return fmt.Errorf("invalid account id %q: want 32 lowercase hex digits (the dashboard's Account ID)", s)
	}
	return nil
}

// CheckAPIBase validates CLOUDFLARE_API_BASE_URL.
func CheckAPIBase(s string) (string, error) {
	s = trimAPIBase(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("invalid CLOUDFLARE_API_BASE_URL %q: want e.g. %s", s, DefaultAPIBase)
	}
	return s, nil
}
