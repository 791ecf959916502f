package deploy

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheckNames(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		check func(string) error
		kind  string
		ok    []string
		bad   []string
	}{
		{CheckWorkerName, "worker",
			[]string{"a", "durable-streams", "w1", "1w", long},
			[]string{"", "-a", "a-", "A", "a_b", "a.b", long + "a"}},
		{CheckBucketName, "bucket",
			[]string{"abc", "durable-streams", "a-1", long},
			[]string{"", "ab", "-abc", "abc-", "ABC", "a_bc", long + "a"}},
		{CheckAccountID, "account",
			[]string{"0123456789abcdef0123456789abcdef"},
			[]string{"", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdeg"}},
	}
	for _, tt := range tests {
		for _, s := range tt.ok {
			if err := tt.check(s); err != nil {
				t.Errorf("%s %q: %v", tt.kind, s, err)
			}
		}
		for _, s := range tt.bad {
			err := tt.check(s)
			if err == nil {
				t.Errorf("%s %q accepted", tt.kind, s)
			} else if !strings.Contains(err.Error(), `"`+s+`"`) {
				t.Errorf("%s %q: error %q does not quote the input", tt.kind, s, err)
			}
		}
	}
}

func TestCheckAPIBase(t *testing.T) {
	tests := []struct {
		in, want string // want "" = an error
	}{
		{DefaultAPIBase, DefaultAPIBase},
		{DefaultAPIBase + "/", DefaultAPIBase},
		{"  http://127.0.0.1:8787/client/v4//  ", "http://127.0.0.1:8787/client/v4"},
		{"", ""},
		{"api.example.com/client/v4", ""},
		{"ftp://api.example.com", ""},
		{"https://", ""},
		{"https://%zz", ""},
	}
	for _, tt := range tests {
		got, err := CheckAPIBase(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("CheckAPIBase(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CheckAPIBase(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestStateLayout(t *testing.T) {
	st := &State{
		Components:         []string{Core, Subscription},
		CoreWorker:         "c",
		SubscriptionWorker: "s",
		Bucket:             "b-b",
		KVNamespaceID:      kvA,
		Metrics:            true,
		// Not part of the layout.
		AccountID: acct, CoreURL: "https://c.example",
	}
	want := &Layout{Components: st.Components, CoreWorker: "c", SubscriptionWorker: "s", Bucket: "b-b", KVNamespaceID: kvA, Metrics: true}
	l := st.Layout()
	if !reflect.DeepEqual(l, want) {
		t.Errorf("layout %+v, want %+v", l, want)
	}
	if !l.Has(Core) || !l.Has(Subscription) || l.Has("other") {
		t.Error("Has")
	}
	if l.WorkerName(Core) != "c" || l.WorkerName(Subscription) != "s" {
		t.Error("WorkerName")
	}
	if got := WorkerURL("c", "sub"); got != "https://c.sub.workers.dev" {
		t.Errorf("WorkerURL = %q", got)
	}
}
