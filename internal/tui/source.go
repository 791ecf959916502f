// Package tui holds the models of `dsctl ui`, a Bubble Tea terminal UI
// for a Durable Streams server. The models never open sockets: they talk
// to the server through a Source (in production a *client.Client, in
// tests a fake), and every request runs in a tea.Cmd.
package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/dsctl/dsctl/internal/client"
)

// Source is what the UI needs from a server. *client.Client implements it.
type Source interface {
	AllStreams(ctx context.Context) ([]client.StreamSummary, error)
	InspectStream(ctx context.Context, id string) (*client.StreamDetail, error)
	// Follow calls fn with every batch from `from` ("start", "now" or an
	// offset), reconnecting after dropped connections and telling
	// o.OnReconnect about each, until the stream closes or ctx ends.
	Follow(ctx context.Context, id, from string, o client.FollowOptions, fn func(*client.Batch) error) error
	Append(ctx context.Context, id, contentType string, body []byte, o client.AppendOptions) (*client.AppendResult, error)
	Delete(ctx context.Context, id string) error

	Subscribe(ctx context.Context, streamID, sessionID string) (*client.Session, error)
	Unsubscribe(ctx context.Context, streamID, sessionID string) (bool, error)
	GetSession(ctx context.Context, sessionID string) (*client.Session, error)
	TouchSession(ctx context.Context, sessionID string) (*client.Session, error)
	DeleteSession(ctx context.Context, sessionID string) (bool, error)
	Publish(ctx context.Context, streamID, contentType string, body []byte, o client.AppendOptions) (*client.AppendResult, error)
}

var _ Source = (*client.Client)(nil)

// Options configure the UI.
type Options struct {
	// Target is shown in the header, e.g. "http://127.0.0.1:4437 · default".
	Target string
	// Now is the clock for relative times and tail timestamps
	// (default time.Now).
	Now func() time.Time
	// RefreshInterval is how often the visible view reloads from the
	// server (default 2 s).
	RefreshInterval time.Duration
	// RequestTimeout bounds each one-shot request (default 15 s).
	RequestTimeout time.Duration
	// TailLines is how many lines a tail pane keeps (default 1000).
	TailLines int
}

// DefaultRefreshInterval is the live refresh period.
const DefaultRefreshInterval = 2 * time.Second

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = DefaultRefreshInterval
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 15 * time.Second
	}
	if o.TailLines <= 0 {
		o.TailLines = 1000
	}
	return o
}

// env is what every view shares: the source, the options and a context
// that ends when the UI closes (so in-flight requests and follows stop).
type env struct {
	src  Source
	opts Options
	ctx  context.Context
}

// call runs one request with the request timeout.
func (e env) call(fn func(ctx context.Context) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(e.ctx, e.opts.RequestTimeout)
		defer cancel()
		return fn(ctx)
	}
}
