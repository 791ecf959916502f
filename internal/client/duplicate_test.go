package client_test

import (
	"context"
	"testing"

	"github.com/dsctl/dsctl/internal/client"
)

// TestDuplicates: a retry of a producer's last write is reported as a
// duplicate (status 204) by Append and Publish, and new writes are not.
func TestDuplicates(t *testing.T) {
	ctx := context.Background()
	c := server(t)
	if _, _, err := c.Create(ctx, "room", client.CreateOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fn   func(body string, seq int64) (*client.AppendResult, error)
	}{
		{"append", func(body string, seq int64) (*client.AppendResult, error) {
			return c.Append(ctx, "room", "application/json", []byte(body), client.AppendOptions{Producer: &client.Producer{ID: "a", Seq: seq}})
		}},
		{"publish", func(body string, seq int64) (*client.AppendResult, error) {
			return c.Publish(ctx, "room", "application/json", []byte(body), client.AppendOptions{Producer: &client.Producer{ID: "p", Seq: seq}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := tc.fn(`{"n":0}`, 0)
			if err != nil || first.Duplicate {
				t.Fatalf("first write: %+v %v", first, err)
			}
			again, err := tc.fn(`{"n":0}`, 0)
			if err != nil || !again.Duplicate || again.NextOffset != first.NextOffset {
				t.Fatalf("retry of the last write: %+v %v, want a duplicate at %s", again, err, first.NextOffset)
			}
			next, err := tc.fn(`{"n":1}`, 1)
			if err != nil || next.Duplicate {
				t.Fatalf("next write: %+v %v", next, err)
			}
			old, err := tc.fn(`{"n":0}`, 0)
			if err != nil || !old.Duplicate {
				t.Fatalf("retry of an older write: %+v %v", old, err)
			}
		})
	}
	// Without a producer nothing is a duplicate.
	r, err := c.Append(ctx, "room", "application/json", []byte(`{}`), client.AppendOptions{})
	if err != nil || r.Duplicate {
		t.Fatalf("plain append: %+v %v", r, err)
	}
}
