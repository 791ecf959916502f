package client_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dsctl/dsctl/internal/client"
	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/httpapi"
	"github.com/dsctl/dsctl/internal/engine/memstore"
	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

func server(t *testing.T) *client.Client {
	t.Helper()
	eng, err := engine.Open(context.Background(), memstore.New(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(eng, httpapi.Options{LongPollTimeout: 100 * time.Millisecond, SSELifetime: 300 * time.Millisecond})
	srv := httptest.NewServer(h)
	t.Cleanup(func() { h.Stop(); srv.Close(); eng.Close() })
	return client.New(srv.URL, "", "")
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := server(t)
	if _, created, err := c.Create(ctx, "a/b", client.CreateOptions{ContentType: "application/json"}); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if _, err := c.Append(ctx, "a/b", "application/json", []byte(`[1,2]`), client.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := c.Read(ctx, "a/b", "-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != 2 || string(b.Messages[1].Data) != "2" || b.Messages[1].Offset != engine.FormatOffset(1) || !b.UpToDate {
		t.Fatalf("read: %+v", b)
	}
	if _, err := c.Read(ctx, "missing", "-1"); !client.IsStatus(err, 404) {
		t.Fatalf("missing stream: %v", err)
	}
}

// TestFollowAcrossReconnects follows over SSE while the server ends each
// connection after a short lifetime: every message arrives exactly once.
func TestFollowAcrossReconnects(t *testing.T) {
	for _, lp := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c := server(t)
		if _, _, err := c.Create(ctx, "s", client.CreateOptions{ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
		go func() {
			for i := 0; i < 20; i++ {
				_, _ = c.Append(ctx, "s", "text/plain", []byte{byte('a' + i)}, client.AppendOptions{})
				time.Sleep(30 * time.Millisecond)
			}
			_, _ = c.Append(ctx, "s", "", nil, client.AppendOptions{Close: true})
		}()
		var got strings.Builder
		err := c.Follow(ctx, "s", "start", client.FollowOptions{LongPoll: lp}, func(b *client.Batch) error {
			for _, m := range b.Messages {
				got.Write(m.Data)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("follow (long-poll %v): %v", lp, err)
		}
		if got.String() != "abcdefghijklmnopqrst" {
			t.Fatalf("follow (long-poll %v) got %q", lp, got.String())
		}
	}
}

func TestPubSub(t *testing.T) {
	ctx := context.Background()
	c := server(t)
	if _, _, err := c.Create(ctx, "room", client.CreateOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
	s, err := c.Subscribe(ctx, "room", "alice")
	if err != nil || !s.IsNewSession || s.SessionStreamPath != "/v1/default/stream/session:alice" {
		t.Fatalf("subscribe: %+v %v", s, err)
	}
	r, err := c.Publish(ctx, "room", "application/json", []byte(`{"hi":1}`), client.AppendOptions{})
	if err != nil || r.FanoutCount != 1 {
		t.Fatalf("publish: %+v %v", r, err)
	}
	b, err := c.Read(ctx, client.SessionStreamID("alice"), "-1")
	if err != nil || len(b.Messages) != 1 || string(b.Messages[0].Data) != `{"hi":1}` {
		t.Fatalf("session stream: %+v %v", b, err)
	}
	got, err := c.GetSession(ctx, "alice")
	if err != nil || len(got.Subscriptions) != 1 {
		t.Fatalf("get session: %+v %v", got, err)
	}
	page, err := c.ListStreams(ctx, "", 10)
	if err != nil || len(page.Streams) != 2 {
		t.Fatalf("list: %+v %v", page, err)
	}
	if ok, err := c.DeleteSession(ctx, "alice"); err != nil || !ok {
		t.Fatalf("delete session: %v %v", ok, err)
	}
}

func TestHeadRefusalCarriesReason(t *testing.T) {
	ctx := context.Background()
	eng, err := engine.Open(ctx, memstore.New(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewMemory()
	if _, err := reg.CreateProject(ctx, "demo", "0123456789abcdef0123"); err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(eng, httpapi.Options{Registry: reg})
	srv := httptest.NewServer(h)
	t.Cleanup(func() { h.Stop(); srv.Close(); eng.Close() })

	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"no token", "", 401},
		{"bad token", "not-a-jwt", 401},
	} {
		_, err := client.New(srv.URL, "demo", tc.token).Head(ctx, "s")
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != tc.status || ae.Message == "" || ae.Code == "" {
			t.Errorf("%s: %#v, want %d with the server's code and message", tc.name, err, tc.status)
		}
	}
	// A HEAD that is allowed is not followed by a GET, and a 404 stays as it is.
	tok, _, _ := token.Mint("0123456789abcdef0123", "demo", token.ScopeRead, "", time.Minute, time.Now())
	if _, err := client.New(srv.URL, "demo", tok).Head(ctx, "missing"); !client.IsStatus(err, 404) {
		t.Errorf("missing stream: %v", err)
	}
}
