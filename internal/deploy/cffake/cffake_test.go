package cffake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6/accounts"
	"github.com/cloudflare/cloudflare-go/v6/kv"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/r2"
	"github.com/cloudflare/cloudflare-go/v6/shared"
	"github.com/cloudflare/cloudflare-go/v6/user"
	"github.com/cloudflare/cloudflare-go/v6/workers"

	"github.com/dsctl/dsctl/internal/deploy/cffake"
)

const acct = cffake.DefaultAccountID

var ctx = context.Background()

// opts points an SDK service at the fake, without retries so a refusal is
// one request.
func opts(s *cffake.Server, extra ...option.RequestOption) []option.RequestOption {
	return append([]option.RequestOption{
		option.WithBaseURL(s.URL() + "/"),
		option.WithAPIToken(cffake.DefaultToken),
		option.WithMaxRetries(0),
	}, extra...)
}

// set fills an SDK param.Field. Its type lives in an internal package, and
// the root package's F helper would compile every Cloudflare service.
func set(field any, v any) {
	f := reflect.ValueOf(field).Elem()
	val := f.FieldByName("Value")
	val.Set(reflect.ValueOf(v).Convert(val.Type()))
	f.FieldByName("Present").SetBool(true)
}

// wantAPIError asserts err is the SDK's API error with this status and
// first error code.
func wantAPIError(t *testing.T, err error, status, code int) {
	t.Helper()
	var e *workers.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an API error %d/%d", err, status, code)
	}
	if e.StatusCode != status || len(e.Errors) == 0 || e.Errors[0].Code != int64(code) {
		t.Fatalf("got %d %s, want %d with code %d", e.StatusCode, e.JSON.RawJSON(), status, code)
	}
}

// do sends a raw request and decodes the envelope.
func do(t *testing.T, s *cffake.Server, method, path, contentType string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cffake.DefaultToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
	}
	return res.StatusCode, env
}

func firstCode(env map[string]any) int {
	errs, _ := env["errors"].([]any)
	if len(errs) == 0 {
		return 0
	}
	code, _ := errs[0].(map[string]any)["code"].(float64)
	return int(code)
}

func TestVerifyToken(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	res, err := user.NewTokenService(opts(s)...).Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != user.TokenVerifyResponseStatusActive || len(res.ID) != 32 {
		t.Fatalf("verify = %+v", res)
	}

	bad := opts(s, option.WithAPIToken("wrong"))
	_, err = user.NewTokenService(bad...).Verify(ctx)
	wantAPIError(t, err, http.StatusUnauthorized, 1000)
	_, err = accounts.NewAccountService(bad...).List(ctx, accounts.AccountListParams{})
	wantAPIError(t, err, http.StatusUnauthorized, 10000)

	reqs := s.Requests()
	if len(reqs) != 3 || reqs[1].Path != "/user/tokens/verify" || reqs[1].Header.Get("Authorization") != "Bearer wrong" {
		t.Fatalf("requests = %+v, want the rejected ones recorded too", reqs)
	}
}

func TestAccounts(t *testing.T) {
	s := cffake.New(t, cffake.Options{Accounts: []cffake.Account{
		{ID: acct, Name: "One"}, {ID: "fedcba9876543210fedcba9876543210", Name: "Two"},
	}})
	svc := accounts.NewAccountService(opts(s)...)
	var names []string
	iter := svc.ListAutoPaging(ctx, accounts.AccountListParams{})
	for iter.Next() {
		a := iter.Current()
		names = append(names, a.ID+"="+a.Name+"/"+string(a.Type))
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{acct + "=One/standard", "fedcba9876543210fedcba9876543210=Two/standard"}
	if !slices.Equal(names, want) {
		t.Fatalf("accounts = %v, want %v", names, want)
	}

	var get accounts.AccountGetParams
	set(&get.AccountID, "00000000000000000000000000000000")
	_, err := svc.Get(ctx, get)
	wantAPIError(t, err, http.StatusForbidden, 9109)
}

func TestWorkersSubdomain(t *testing.T) {
	var q workers.SubdomainGetParams
	set(&q.AccountID, acct)

	s := cffake.New(t, cffake.Options{})
	got, err := workers.NewSubdomainService(opts(s)...).Get(ctx, q)
	if err != nil || got.Subdomain != cffake.DefaultSubdomain {
		t.Fatalf("subdomain = %v, %v", got, err)
	}

	none := cffake.New(t, cffake.Options{Subdomain: "-"})
	svc := workers.NewSubdomainService(opts(none)...)
	_, err = svc.Get(ctx, q)
	wantAPIError(t, err, http.StatusNotFound, 10007)
	var up workers.SubdomainUpdateParams
	set(&up.AccountID, acct)
	set(&up.Subdomain, "fresh")
	if _, err := svc.Update(ctx, up); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.Get(ctx, q); err != nil || got.Subdomain != "fresh" {
		t.Fatalf("after PUT: %v, %v", got, err)
	}
}

func TestR2Buckets(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	svc := r2.NewBucketService(opts(s)...)
	var get r2.BucketGetParams
	set(&get.AccountID, acct)
	_, err := svc.Get(ctx, "media", get)
	wantAPIError(t, err, http.StatusNotFound, 10006)

	var create r2.BucketNewParams
	set(&create.AccountID, acct)
	set(&create.Name, "media")
	b, err := svc.New(ctx, create)
	if err != nil || b.Name != "media" || b.Location != "ENAM" || b.StorageClass != "Standard" {
		t.Fatalf("create = %+v, %v", b, err)
	}
	if b, err := svc.Get(ctx, "media", get); err != nil || b.Name != "media" || b.CreationDate == "" {
		t.Fatalf("get = %+v, %v", b, err)
	}
	_, err = svc.New(ctx, create)
	wantAPIError(t, err, http.StatusConflict, 10004)
	set(&create.Name, "Bad_Name")
	_, err = svc.New(ctx, create)
	wantAPIError(t, err, http.StatusBadRequest, 10005)

	s.AddBucket(acct, "seeded")
	var list r2.BucketListParams
	set(&list.AccountID, acct)
	all, err := svc.List(ctx, list)
	if err != nil || len(all.Buckets) != 2 || all.Buckets[0].Name != "media" || all.Buckets[1].Name != "seeded" {
		t.Fatalf("list = %+v, %v", all, err)
	}
	var del r2.BucketDeleteParams
	set(&del.AccountID, acct)
	if _, err := svc.Delete(ctx, "media", del); err != nil {
		t.Fatal(err)
	}
	if got := s.Buckets(acct); !slices.Equal(got, []string{"seeded"}) {
		t.Fatalf("buckets = %v", got)
	}
}

func TestKVNamespacePagination(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	var want []string
	for i := range 25 {
		title := fmt.Sprintf("ns-%02d", i)
		s.AddNamespace(acct, title)
		want = append(want, title)
	}
	svc := kv.NewNamespaceService(opts(s)...)
	var list kv.NamespaceListParams
	set(&list.AccountID, acct)
	first, err := svc.List(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Result) != 20 || first.ResultInfo.Page != 1 || first.ResultInfo.PerPage != 20 {
		t.Fatalf("page 1 = %d items, info %+v", len(first.Result), first.ResultInfo)
	}
	if !strings.Contains(first.JSON.RawJSON(), `"total_count":25`) {
		t.Fatalf("page 1 result_info lacks total_count: %s", first.JSON.RawJSON())
	}

	var titles []string
	iter := svc.ListAutoPaging(ctx, list)
	for iter.Next() {
		n := iter.Current()
		if len(n.ID) != 32 || !n.SupportsURLEncoding {
			t.Fatalf("namespace = %+v", n)
		}
		titles = append(titles, n.Title)
	}
	if err := iter.Err(); err != nil || !slices.Equal(titles, want) {
		t.Fatalf("all titles = %v, %v", titles, err)
	}

	var create kv.NamespaceNewParams
	set(&create.AccountID, acct)
	set(&create.Title, "ns-03")
	_, err = svc.New(ctx, create)
	wantAPIError(t, err, http.StatusBadRequest, 10014)
	set(&create.Title, "fresh")
	n, err := svc.New(ctx, create)
	if err != nil || n.Title != "fresh" || len(n.ID) != 32 {
		t.Fatalf("create = %+v, %v", n, err)
	}
	if got := s.Namespaces(acct); len(got) != 26 || got[25] != (cffake.Namespace{ID: n.ID, Title: "fresh"}) {
		t.Fatalf("namespaces end with %+v", got[len(got)-1])
	}
}

func TestKVValues(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	ns := s.AddNamespace(acct, "values")
	svc := kv.NewNamespaceValueService(opts(s)...)
	key := "streams/a:b c%"

	var put kv.NamespaceValueUpdateParams
	set(&put.AccountID, acct)
	set(&put.Value, shared.UnionString("hello\x00bytes"))
	if _, err := svc.Update(ctx, ns.ID, url.PathEscape(key), put); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.KV(acct, ns.ID, key); !ok || string(v) != "hello\x00bytes" {
		t.Fatalf("stored %q, %v", v, ok)
	}
	last := s.Requests()[len(s.Requests())-1]
	if !strings.HasPrefix(last.Header.Get("Content-Type"), "multipart/form-data") || last.Path != "/accounts/"+acct+"/storage/kv/namespaces/"+ns.ID+"/values/"+key {
		t.Fatalf("SDK value PUT = %s %s (%s)", last.Method, last.Path, last.Header.Get("Content-Type"))
	}

	var get kv.NamespaceValueGetParams
	set(&get.AccountID, acct)
	res, err := svc.Get(ctx, ns.ID, url.PathEscape(key), get)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "hello\x00bytes" {
		t.Fatalf("GET = %q", body)
	}
	_, err = svc.Get(ctx, ns.ID, "missing", get)
	wantAPIError(t, err, http.StatusNotFound, 10009)

	code, _ := do(t, s, "PUT", "/accounts/"+acct+"/storage/kv/namespaces/"+ns.ID+"/values/raw", "application/octet-stream", []byte("raw body"))
	if v, _ := s.KV(acct, ns.ID, "raw"); code != 200 || string(v) != "raw body" {
		t.Fatalf("raw PUT: %d, stored %q", code, v)
	}
	code, env := do(t, s, "GET", "/accounts/"+acct+"/storage/kv/namespaces/"+strings.Repeat("0", 32)+"/values/raw", "", nil)
	if code != 404 || firstCode(env) != 10013 {
		t.Fatalf("unknown namespace: %d %v", code, env)
	}

	var del kv.NamespaceValueDeleteParams
	set(&del.AccountID, acct)
	if _, err := svc.Delete(ctx, ns.ID, url.PathEscape(key), del); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.KV(acct, ns.ID, key); ok {
		t.Fatal("value still there after DELETE")
	}
}

func TestKVKeys(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	ns := s.AddNamespace(acct, "keys")
	var want []string
	for i := range 15 {
		k := fmt.Sprintf("k/%02d", i)
		s.PutKV(acct, ns.ID, k, []byte("v"))
		want = append(want, k)
	}
	s.PutKV(acct, ns.ID, "other", []byte("v"))
	svc := kv.NewNamespaceKeyService(opts(s)...)
	var list kv.NamespaceKeyListParams
	set(&list.AccountID, acct)
	set(&list.Prefix, "k/")
	set(&list.Limit, 10.0)
	page, err := svc.List(ctx, ns.ID, list)
	if err != nil || len(page.Result) != 10 || page.ResultInfo.Cursor == "" || page.ResultInfo.Count != 10 {
		t.Fatalf("page 1 = %d keys, info %+v, %v", len(page.Result), page.ResultInfo, err)
	}
	var got []string
	iter := svc.ListAutoPaging(ctx, ns.ID, list)
	for iter.Next() {
		got = append(got, iter.Current().Name)
	}
	if err := iter.Err(); err != nil || !slices.Equal(got, want) {
		t.Fatalf("keys = %v, %v", got, err)
	}
}

func TestFailIsStickyUntilCleared(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	s.Fail("POST", "/accounts/*/r2/buckets", http.StatusInternalServerError, 10001, "boom")
	var create r2.BucketNewParams
	set(&create.AccountID, acct)
	set(&create.Name, "media")

	_, err := r2.NewBucketService(opts(s)...).New(ctx, create)
	wantAPIError(t, err, http.StatusInternalServerError, 10001)
	// The SDK's default ten retries all fail, and without sleeping.
	s.ResetRequests()
	retrying := []option.RequestOption{option.WithBaseURL(s.URL() + "/"), option.WithAPIToken(cffake.DefaultToken)}
	_, err = r2.NewBucketService(retrying...).New(ctx, create)
	wantAPIError(t, err, http.StatusInternalServerError, 10001)
	if n := len(s.Requests()); n != 11 {
		t.Fatalf("%d requests, want 1 + 10 retries", n)
	}
	if len(s.Buckets(acct)) != 0 {
		t.Fatal("a failed create made a bucket")
	}
	var list r2.BucketListParams
	set(&list.AccountID, acct)
	if _, err := r2.NewBucketService(opts(s)...).List(ctx, list); err != nil {
		t.Fatalf("GET matched a POST failure: %v", err)
	}

	s.ClearFailures()
	if _, err := r2.NewBucketService(opts(s)...).New(ctx, create); err != nil {
		t.Fatal(err)
	}
}

func TestRoutingErrorsAndWrites(t *testing.T) {
	s := cffake.New(t, cffake.Options{})
	for _, c := range []struct {
		method, path string
		status, code int
	}{
		{"GET", "/nowhere", 404, 7003},
		{"GET", "/accounts/" + acct + "/workers/nowhere", 404, 7003},
		{"PATCH", "/accounts/" + acct + "/r2/buckets", 405, 10405},
		{"GET", "/accounts/ffffffffffffffffffffffffffffffff/r2/buckets", 403, 9109},
		{"POST", "/accounts/" + acct + "/r2/buckets", 400, 6007},
	} {
		code, env := do(t, s, c.method, c.path, "application/json", []byte("{not json"))
		if code != c.status || firstCode(env) != c.code || env["success"] != false || env["result"] != nil {
			t.Errorf("%s %s = %d %v, want %d/%d", c.method, c.path, code, env, c.status, c.code)
		}
	}
	code, env := do(t, s, "GET", "/accounts/"+acct+"/r2/buckets", "", nil)
	if code != 200 || env["success"] != true {
		t.Fatalf("list = %d %v", code, env)
	}
	writes := s.Writes()
	if len(writes) != 2 || writes[0].Method != "PATCH" || writes[1].Method != "POST" {
		t.Fatalf("writes = %+v", writes)
	}
}
