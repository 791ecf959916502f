package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/accounts"
	"github.com/cloudflare/cloudflare-go/v6/kv"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/r2"
	"github.com/cloudflare/cloudflare-go/v6/user"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

// DefaultAPIBase is the Cloudflare REST API that CLOUDFLARE_API_BASE_URL
// overrides.
const DefaultAPIBase = "https://api.cloudflare.com/client/v4"

// API is the part of the Cloudflare REST API dsctl uses, through the
// service packages of cloudflare-go (not its root package, which pulls in
// every Cloudflare product).
type API struct {
	opts []option.RequestOption

	tokens        *user.TokenService
	accountTokens *accounts.TokenService
	accounts      *accounts.AccountService
	subdomain     *workers.SubdomainService
	scripts       *workers.ScriptService
	buckets       *r2.BucketService
	spaces        *kv.NamespaceService
}

// NewAPI returns a client for base (DefaultAPIBase when empty) that
// authenticates with the API token. Only the options given here apply:
// the SDK's own environment variables (CLOUDFLARE_API_KEY, …) are not read.
func NewAPI(token, base string, extra ...option.RequestOption) *API {
	if base == "" {
		base = DefaultAPIBase
	}
	opts := append([]option.RequestOption{
		option.WithBaseURL(base),
		option.WithAPIToken(token),
		option.WithHeader("User-Agent", "dsctl"),
		option.WithRequestTimeout(60 * time.Second),
		// The SDK's default is 10 retries with waits up to 30 s, on 409s
		// too: minutes of silence before a clear error. Two retries ride
		// out a blip; setup's own re-run covers the rest.
		option.WithMaxRetries(2),
	}, extra...)
	return &API{
		opts:          opts,
		tokens:        user.NewTokenService(opts...),
		accountTokens: accounts.NewTokenService(opts...),
		accounts:      accounts.NewAccountService(opts...),
		subdomain:     workers.NewSubdomainService(opts...),
		scripts:       workers.NewScriptService(opts...),
		buckets:       r2.NewBucketService(opts...),
		spaces:        kv.NewNamespaceService(opts...),
	}
}

// APIError is a failed Cloudflare API call: the HTTP status and the
// first error the API reported.
type APIError struct {
	Status  int
	Code    int64
	Message string
	Err     error // the SDK's error, or a transport error (Status 0)
}

func (e *APIError) Error() string {
	switch {
	case e.Status == 0:
		return e.Err.Error()
	case e.Code != 0:
		return fmt.Sprintf("Cloudflare API error %d: %s (HTTP %d)", e.Code, e.Message, e.Status)
	default:
		return fmt.Sprintf("Cloudflare API: HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
}

func (e *APIError) Unwrap() error { return e.Err }

// apiError converts the SDK's error into an *APIError (nil stays nil).
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var ae *workers.Error
	if errors.As(err, &ae) {
		out := &APIError{Status: ae.StatusCode, Err: err}
		if len(ae.Errors) > 0 {
			out.Code, out.Message = ae.Errors[0].Code, ae.Errors[0].Message
		}
		return out
	}
	return &APIError{Err: err}
}

// IsStatus reports whether err is an API answer with that HTTP status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// IsUnauthorized reports whether the API refused the token itself
// (401, or 403 with code 10000/9109).
func IsUnauthorized(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Status == http.StatusUnauthorized || (ae.Status == http.StatusForbidden && (ae.Code == 10000 || ae.Code == 9109))
}

// VerifyToken checks the token is valid and active.
func (a *API) VerifyToken(ctx context.Context) error {
	res, err := a.tokens.Verify(ctx)
	if err != nil {
		return apiError(err)
	}
	if res.Status != user.TokenVerifyResponseStatusActive {
		return &APIError{Status: http.StatusUnauthorized, Code: 1000, Message: "the API token is " + string(res.Status), Err: errors.New("token not active")}
	}
	return nil
}

// VerifyAccountToken checks an account-owned API token, which
// /user/tokens/verify does not know.
func (a *API) VerifyAccountToken(ctx context.Context, account string) error {
	var p accounts.TokenVerifyParams
	p.AccountID.Value, p.AccountID.Present = account, true
	res, err := a.accountTokens.Verify(ctx, p)
	if err != nil {
		return apiError(err)
	}
	if res.Status != accounts.TokenVerifyResponseStatusActive {
		return &APIError{Status: http.StatusUnauthorized, Code: 1000, Message: "the API token is " + string(res.Status), Err: errors.New("token not active")}
	}
	return nil
}

// Account is a Cloudflare account the token can use.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Accounts lists the accounts the token can see.
func (a *API) Accounts(ctx context.Context) ([]Account, error) {
	var out []Account
	it := a.accounts.ListAutoPaging(ctx, accounts.AccountListParams{})
	for it.Next() {
		acc := it.Current()
		out = append(out, Account{ID: acc.ID, Name: acc.Name})
	}
	return out, apiError(it.Err())
}

// WorkersSubdomain returns the account's workers.dev subdomain, or ""
// when the account has none yet.
func (a *API) WorkersSubdomain(ctx context.Context, account string) (string, error) {
	var p workers.SubdomainGetParams
	p.AccountID.Value, p.AccountID.Present = account, true
	res, err := a.subdomain.Get(ctx, p)
	if err != nil {
		if IsStatus(apiError(err), http.StatusNotFound) {
			return "", nil
		}
		return "", apiError(err)
	}
	return res.Subdomain, nil
}

// SetWorkersSubdomain registers the account's workers.dev subdomain.
func (a *API) SetWorkersSubdomain(ctx context.Context, account, name string) error {
	var p workers.SubdomainUpdateParams
	p.AccountID.Value, p.AccountID.Present = account, true
	p.Subdomain.Value, p.Subdomain.Present = name, true
	_, err := a.subdomain.Update(ctx, p)
	return apiError(err)
}

// noConflictRetry turns off the SDK's retries, which include 409s, for
// the calls where a 409 is the API's answer rather than a transient clash.
var noConflictRetry = option.WithMaxRetries(0)

// BucketExists reports whether the account has the R2 bucket.
func (a *API) BucketExists(ctx context.Context, account, name string) (bool, error) {
	var p r2.BucketGetParams
	p.AccountID.Value, p.AccountID.Present = account, true
	_, err := a.buckets.Get(ctx, name, p)
	if err == nil {
		return true, nil
	}
	if err = apiError(err); IsStatus(err, http.StatusNotFound) {
		return false, nil
	}
	return false, err
}

// CreateBucket creates an R2 bucket.
func (a *API) CreateBucket(ctx context.Context, account, name string) error {
	var p r2.BucketNewParams
	p.AccountID.Value, p.AccountID.Present = account, true
	p.Name.Value, p.Name.Present = name, true
	// A 409 here means the bucket exists: an answer, not contention.
	_, err := a.buckets.New(ctx, p, noConflictRetry)
	return apiError(err)
}

// DeleteBucket deletes an (empty) R2 bucket.
func (a *API) DeleteBucket(ctx context.Context, account, name string) error {
	var p r2.BucketDeleteParams
	p.AccountID.Value, p.AccountID.Present = account, true
	// A 409 here means the bucket is not empty: an answer, not contention.
	_, err := a.buckets.Delete(ctx, name, p, noConflictRetry)
	return apiError(err)
}

// Namespace is a KV namespace.
type Namespace struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// FindNamespace looks a KV namespace up by title, across every page.
func (a *API) FindNamespace(ctx context.Context, account, title string) (*Namespace, error) {
	var p kv.NamespaceListParams
	p.AccountID.Value, p.AccountID.Present = account, true
	p.PerPage.Value, p.PerPage.Present = 100, true
	it := a.spaces.ListAutoPaging(ctx, p)
	for it.Next() {
		if ns := it.Current(); ns.Title == title {
			return &Namespace{ID: ns.ID, Title: ns.Title}, nil
		}
	}
	return nil, apiError(it.Err())
}

// CreateNamespace creates a KV namespace.
func (a *API) CreateNamespace(ctx context.Context, account, title string) (*Namespace, error) {
	var p kv.NamespaceNewParams
	p.AccountID.Value, p.AccountID.Present = account, true
	p.Title.Value, p.Title.Present = title, true
	ns, err := a.spaces.New(ctx, p)
	if err != nil {
		return nil, apiError(err)
	}
	return &Namespace{ID: ns.ID, Title: ns.Title}, nil
}

// DeleteNamespace deletes a KV namespace and every key in it.
func (a *API) DeleteNamespace(ctx context.Context, account, id string) error {
	var p kv.NamespaceDeleteParams
	p.AccountID.Value, p.AccountID.Present = account, true
	_, err := a.spaces.Delete(ctx, id, p)
	return apiError(err)
}

// GetValue reads a KV value; found is false when the key does not exist.
func (a *API) GetValue(ctx context.Context, account, ns, key string) (value []byte, found bool, err error) {
	var p kv.NamespaceValueGetParams
	p.AccountID.Value, p.AccountID.Present = account, true
	// The SDK puts the key into the path as it is.
	res, err := a.spaces.Values.Get(ctx, ns, url.PathEscape(key), p)
	if err != nil {
		if err = apiError(err); IsStatus(err, http.StatusNotFound) {
			var ae *APIError
			// A missing key is 404 with code 10009; a missing namespace is
			// 404 too, with another code, and is an error.
			if errors.As(err, &ae) && ae.Code == 10009 {
				return nil, false, nil
			}
		}
		return nil, false, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 25<<20+1))
	if err != nil {
		return nil, false, &APIError{Err: fmt.Errorf("read KV value %s: %w", key, err)}
	}
	return b, true, nil
}

// PutValue writes a KV value.
func (a *API) PutValue(ctx context.Context, account, ns, key string, value []byte) error {
	var p kv.NamespaceValueUpdateParams
	p.AccountID.Value, p.AccountID.Present = account, true
	p.Value.Value, p.Value.Present = kv.NamespaceValueUpdateParamsValueUnion(valueReader{bytes.NewReader(value)}), true
	_, err := a.spaces.Values.Update(ctx, ns, url.PathEscape(key), p)
	return apiError(err)
}

// DeleteValue deletes a KV key (deleting a missing key succeeds).
func (a *API) DeleteValue(ctx context.Context, account, ns, key string) error {
	var p kv.NamespaceValueDeleteParams
	p.AccountID.Value, p.AccountID.Present = account, true
	_, err := a.spaces.Values.Delete(ctx, ns, url.PathEscape(key), p)
	return apiError(err)
}

// Keys lists every key of a KV namespace, in the API's (lexical) order.
func (a *API) Keys(ctx context.Context, account, ns string) ([]string, error) {
	var p kv.NamespaceKeyListParams
	p.AccountID.Value, p.AccountID.Present = account, true
	var out []string
	it := a.spaces.Keys.ListAutoPaging(ctx, ns, p)
	for it.Next() {
		out = append(out, it.Current().Name)
	}
	return out, apiError(it.Err())
}

// ScriptInfo is an uploaded worker as the script list shows it.
type ScriptInfo struct {
	Name         string    `json:"name"`
	MigrationTag string    `json:"migrationTag"`
	ModifiedOn   time.Time `json:"modifiedOn"`
}

// Scripts lists the account's workers by name.
func (a *API) Scripts(ctx context.Context, account string) (map[string]ScriptInfo, error) {
	var p workers.ScriptListParams
	p.AccountID.Value, p.AccountID.Present = account, true
	page, err := a.scripts.List(ctx, p)
	if err != nil {
		return nil, apiError(err)
	}
	out := map[string]ScriptInfo{}
	for _, s := range page.Result {
		out[s.ID] = ScriptInfo{Name: s.ID, MigrationTag: s.MigrationTag, ModifiedOn: s.ModifiedOn}
	}
	return out, nil
}

// Module is one file of a worker upload.
type Module struct {
	Name        string // path relative to the worker's folder, as imports name it
	ContentType string
	Body        []byte
}

// moduleReader is how cloudflare-go learns a part's file name and type.
type moduleReader struct {
	*bytes.Reader
	name, contentType string
}

func (m moduleReader) Filename() string    { return m.name }
func (m moduleReader) ContentType() string { return m.contentType }

// valueReader is a KV value part (the API wants it as a file part).
type valueReader struct{ *bytes.Reader }

func (valueReader) Filename() string                                { return "blob" }
func (valueReader) ContentType() string                             { return "application/octet-stream" }
func (valueReader) ImplementsNamespaceValueUpdateParamsValueUnion() {}

// UploadScript uploads a worker's modules with its metadata (main module,
// compatibility date, bindings, pending migrations) and returns the
// script's migration tag after the upload.
func (a *API) UploadScript(ctx context.Context, account, name string, meta *Metadata, modules []Module) (string, error) {
	var p workers.ScriptUpdateParams
	p.AccountID.Value, p.AccountID.Present = account, true
	// Metadata is our own JSON-tagged struct: the SDK marshals a Raw value
	// with encoding/json, which keeps the bindings readable here instead
	// of spread over forty SDK union types.
	p.Metadata.Raw, p.Metadata.Present = meta, true
	files := make([]io.Reader, len(modules))
	for i, m := range modules {
		files[i] = moduleReader{bytes.NewReader(m.Body), m.Name, m.ContentType}
	}
	p.Files.Value, p.Files.Present = files, true
	res, err := a.scripts.Update(ctx, name, p)
	if err != nil {
		return "", apiError(err)
	}
	return res.MigrationTag, nil
}

// EnableWorkersDev turns on the script's https://<name>.<subdomain>.workers.dev route.
func (a *API) EnableWorkersDev(ctx context.Context, account, name string) error {
	var p workers.ScriptSubdomainNewParams
	p.AccountID.Value, p.AccountID.Present = account, true
	p.Enabled.Value, p.Enabled.Present = true, true
	p.PreviewsEnabled.Value, p.PreviewsEnabled.Present = false, true
	res, err := a.scripts.Subdomain.New(ctx, name, p)
	if err != nil {
		return apiError(err)
	}
	if !res.Enabled {
		return fmt.Errorf("%w: the workers.dev route of %s is still off", ErrUnexpected, name)
	}
	return nil
}

// WorkersDevEnabled reports whether the script's workers.dev route is on.
func (a *API) WorkersDevEnabled(ctx context.Context, account, name string) (bool, error) {
	var p workers.ScriptSubdomainGetParams
	p.AccountID.Value, p.AccountID.Present = account, true
	res, err := a.scripts.Subdomain.Get(ctx, name, p)
	if err != nil {
		return false, apiError(err)
	}
	return res.Enabled, nil
}

// DeleteScript deletes a worker and, with it, its Durable Objects' data.
func (a *API) DeleteScript(ctx context.Context, account, name string) error {
	var p workers.ScriptDeleteParams
	p.AccountID.Value, p.AccountID.Present = account, true
	p.Force.Value, p.Force.Present = true, true
	_, err := a.scripts.Delete(ctx, name, p)
	return apiError(err)
}

// trimAPIBase normalises CLOUDFLARE_API_BASE_URL.
func trimAPIBase(s string) string { return strings.TrimRight(strings.TrimSpace(s), "/") }
