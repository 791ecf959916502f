package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/engine"
	"github.com/dsctl/dsctl/internal/engine/httpapi"
	"github.com/dsctl/dsctl/internal/engine/memstore"
	"github.com/dsctl/dsctl/internal/engine/sqlite"
	"github.com/dsctl/dsctl/internal/registry"
	"github.com/dsctl/dsctl/internal/token"
)

// DefaultDataDir is where `dsctl serve` keeps its database, relative to
// the working directory (like wrangler dev's .wrangler/state).
const DefaultDataDir = ".dsctl/state"

type serveOptions struct {
	addr            string
	port            int
	dataDir         string
	inMemory        bool
	durability      string
	longPollTimeout time.Duration
	sseLifetime     time.Duration
	maxBody         int64
	logLevel        string
	shutdownTimeout time.Duration
	auth            bool
	sessionTTL      time.Duration

	// ready, when set, receives the listening URL (tests use it).
	ready func(url string)
}

func newServeCmd(ios *IOStreams, runF func(context.Context, *serveOptions) error) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a local Durable Streams server",
		Long: `Run a Durable Streams server on this machine, with the same HTTP API as a
deployed one.

Streams live at /v1/stream/<id> (the default project) and at
/v1/<project>/stream/<id>. Data is kept in a SQLite database under
--data-dir (default ./.dsctl/state); every acknowledged append is on disk
before the response is sent. Concurrent appends share one commit.

Durability:
  full     fsync on every commit: acknowledged appends survive power loss (default)
  relaxed  no fsync per commit: they survive a crash of dsctl (kill -9) but
           the last moments may be lost on power loss; faster on slow disks

Named projects (/v1/<project>/…) need a JWT signed with one of the
project's secrets (dsctl create-project, dsctl token). The default project is
open unless --auth is given.

Stop it with Ctrl-C (SIGINT) or SIGTERM: open long-polls and SSE streams are
ended, queued appends are committed and the database is closed.`,
		Example: `  # serve on http://127.0.0.1:4437 with data in ./.dsctl/state
  dsctl serve

  # any free port (the banner shows which), data thrown away on exit
  dsctl serve --port 0 --in-memory

  # what the conformance suite uses
  dsctl serve --port 0 --data-dir /tmp/ds --long-poll-timeout 500ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("port") {
				o.port = -1
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:4437", "address to listen on (host:port)")
	f.IntVar(&o.port, "port", 4437, "port to listen on, overriding the one in --addr (0 picks a free port)")
	f.StringVar(&o.dataDir, "data-dir", DefaultDataDir, "directory for the SQLite database")
	f.BoolVar(&o.inMemory, "in-memory", false, "keep everything in memory (lost on exit)")
	f.StringVar(&o.durability, "durability", "full", "full (fsync every commit) or relaxed (survive crashes, not power loss)")
	f.DurationVar(&o.longPollTimeout, "long-poll-timeout", 20*time.Second, "how long a long-poll waits for data before answering 204")
	f.DurationVar(&o.sseLifetime, "sse-lifetime", 60*time.Second, "how long one SSE connection stays open before the client must reconnect")
	f.Int64Var(&o.maxBody, "max-body-bytes", 64<<20, "largest accepted PUT/POST body; larger ones get 413")
	f.StringVar(&o.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long to wait for in-flight requests on shutdown")
	f.DurationVar(&o.sessionTTL, "session-ttl", engine.DefaultSessionTTL, "how long a pub/sub session lives without a subscribe or touch")
	f.BoolVar(&o.auth, "auth", false, "require tokens on the default project too (named projects always need them)")
	return cmd
}

func (o *serveOptions) validate() error {
	if o.longPollTimeout <= 0 {
		return &flagError{fmt.Errorf("--long-poll-timeout must be positive, got %s", o.longPollTimeout)}
	}
	if o.sseLifetime <= 0 {
		return &flagError{fmt.Errorf("--sse-lifetime must be positive, got %s", o.sseLifetime)}
	}
	if o.sessionTTL <= 0 {
		return &flagError{fmt.Errorf("--session-ttl must be positive, got %s", o.sessionTTL)}
	}
	if o.maxBody <= 0 {
		return &flagError{fmt.Errorf("--max-body-bytes must be positive, got %d", o.maxBody)}
	}
	if _, err := sqlite.ParseDurability(o.durability); err != nil {
		return &flagError{err}
	}
	if o.port > 65535 {
		return &flagError{fmt.Errorf("--port must be 0-65535, got %d", o.port)}
	}
	if o.dataDir == "" && !o.inMemory {
		return &flagError{errors.New("--data-dir must not be empty (use --in-memory for no persistence)")}
	}
	return nil
}

func (o *serveOptions) listenAddr() (string, error) {
	host, port, err := net.SplitHostPort(o.addr)
	if err != nil {
		return "", &flagError{fmt.Errorf("invalid --addr %q: want host:port, e.g. 127.0.0.1:4437", o.addr)}
	}
	if o.port >= 0 {
		port = strconv.Itoa(o.port)
	}
	return net.JoinHostPort(host, port), nil
}

func parseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, &flagError{fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", s)}
	}
	return l, nil
}

func runServe(ctx context.Context, ios *IOStreams, o *serveOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	level, err := parseLogLevel(o.logLevel)
	if err != nil {
		return err
	}
	addr, err := o.listenAddr()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(ios.ErrOut, &slog.HandlerOptions{Level: level}))

	var store engine.Store
	var reg registry.Registry
	where := "in memory"
	if o.inMemory {
		store = memstore.New()
		reg = registry.NewMemory()
	} else {
		dur, _ := sqlite.ParseDurability(o.durability)
		st, err := sqlite.Open(ctx, o.dataDir, dur)
		if err != nil {
			return withHint(fmt.Errorf("open data dir %s: %w", o.dataDir, err), "dsctl serve --data-dir <writable dir>, or --in-memory")
		}
		store, reg = st, st
		where = "data dir " + o.dataDir + ", durability " + o.durability
	}
	defer store.Close()
	if o.auth {
		if err := ensureDefaultProject(ctx, ios, reg); err != nil {
			return err
		}
	}

	eng, err := engine.Open(ctx, store, engine.Options{Logger: logger, SessionTTL: o.sessionTTL})
	if err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	api := httpapi.New(eng, httpapi.Options{
		LongPollTimeout: o.longPollTimeout,
		SSELifetime:     o.sseLifetime,
		MaxBodyBytes:    o.maxBody,
		Logger:          logger,
		Registry:        reg,
		AuthDefault:     o.auth,
	})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		eng.Close()
		return withHint(fmt.Errorf("listen on %s: %w", addr, err), "dsctl serve --port 0 picks a free port")
	}
	url := "http://" + ln.Addr().String()
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(ios.ErrOut, "dsctl serve: listening on %s (%s)\n", url, where)
	if o.ready != nil {
		o.ready(url)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		fmt.Fprintln(ios.ErrOut, "dsctl serve: shutting down")
	}
	// End live responses first so Shutdown need not wait for them.
	api.Stop()
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("shutdown: %w", serr)
	}
	if cerr := eng.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close store: %w", cerr)
	}
	return err
}

// ensureDefaultProject gives the default project a signing secret the
// first time the server runs with --auth, printing it once.
func ensureDefaultProject(ctx context.Context, ios *IOStreams, reg registry.Registry) error {
	_, err := reg.Project(ctx, registry.DefaultProject)
	if err == nil {
		return nil
	}
	if !errors.Is(err, registry.ErrNotFound) {
		return fmt.Errorf("--auth: %w", err)
	}
	secret := token.NewSecret()
	if _, err := reg.CreateProject(ctx, registry.DefaultProject, secret); err != nil {
		return fmt.Errorf("--auth: create the default project: %w", err)
	}
	fmt.Fprintf(ios.ErrOut, "dsctl serve: --auth: created project %q; its signing secret (shown once): %s\n", registry.DefaultProject, secret)
	fmt.Fprintf(ios.ErrOut, "dsctl serve: mint tokens with: dsctl token --project %s --secret <secret>\n", registry.DefaultProject)
	return nil
}
