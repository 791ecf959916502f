package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/client"
	"github.com/dsctl/dsctl/internal/token"
)

type tailOptions struct {
	remote
	stream   string
	from     string
	noFollow bool
	last     int
	longPoll bool
	raw      bool
	format   string
	asJSON   bool
	noColor  bool

	now        func() time.Time
	maxBackoff time.Duration
}

func newTailCmd(ios *IOStreams, runF func(context.Context, *tailOptions) error) *cobra.Command {
	o := &tailOptions{}
	cmd := &cobra.Command{
		Use:   "tail STREAM",
		Short: "Print a stream's messages as they arrive",
		Long: `Follow a stream and print its messages as they arrive, over Server-Sent
Events (or long-poll with --long-poll), until the stream is closed or you
press Ctrl-C (both exit 0).

--from says where to start: "now" (the default: only new messages), "start"
(everything), or an offset printed earlier. -n N starts with the last N
messages instead (it reads the stream from the start to find them).
--no-follow prints what is there and exits.

A dropped connection (a restarted server, a network blip) is retried with
growing pauses from the last offset received, so no message is lost or
printed twice; "reconnecting…" notes go to stderr.

Output:
  on a terminal   each message under its offset and local receive time;
                  JSON indented and coloured (NO_COLOR, --no-color and
                  TERM=dumb turn colour off)
  piped           NDJSON, one line per message:
                    {"offset":"…","data":<the JSON value>}   JSON streams
                    {"offset":"…","data":"<text>"}           text streams
                    {"offset":"…","data":"<base64>","encoding":"base64"}
                                                             other bytes
  --raw           the bytes as they are (JSON values one per line)

--format pretty|json (or --json) overrides the terminal's choice. In JSON
streams a message is one JSON value; in other streams it is one chunk as
the server sent it, which may join several appends.

Session streams of the pub/sub API are streams too: dsctl tail
session:alice follows what is published to alice's subscriptions.`,
		Example: `  # new messages of "orders", as they arrive
  dsctl tail orders

  # everything from the start, as NDJSON, into jq
  dsctl tail orders --from start | jq -c .data

  # the last 10 messages, then follow
  dsctl tail orders -n 10

  # what is there now, then exit
  dsctl tail orders --from start --no-follow

  # a pub/sub session's stream on another server
  dsctl tail session:alice --url https://streams.example.com --token "$TOKEN"`,
		Args: namedArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.cmd = args[0], cmd
			if err := o.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runTail(ctx, ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "now", `where to start: "start", "now" or an offset`)
	f.BoolVar(&o.noFollow, "no-follow", false, "print the messages there are and exit")
	f.IntVarP(&o.last, "last", "n", 0, "start with the last `N` messages (reads from the start to find them)")
	f.BoolVar(&o.longPoll, "long-poll", false, "use long-poll instead of Server-Sent Events")
	addOutputFlags(cmd, &o.raw, &o.format, &o.asJSON, &o.noColor)
	addTargetFlags(cmd, &o.target)
	return cmd
}

// addOutputFlags registers the message output flags of tail and read.
func addOutputFlags(cmd *cobra.Command, raw *bool, format *string, asJSON, noColor *bool) {
	f := cmd.Flags()
	f.BoolVar(raw, "raw", false, "write the messages' bytes as they are")
	f.StringVar(format, "format", "", "pretty or json (NDJSON); default pretty on a terminal, json otherwise")
	f.BoolVar(asJSON, "json", false, "print NDJSON, as --format json")
	f.BoolVar(noColor, "no-color", false, "no colour (also NO_COLOR=1 or TERM=dumb)")
}

func (o *tailOptions) validate(cmd *cobra.Command) error {
	if err := checkFormatFlags("tail", o.format, o.raw, o.asJSON); err != nil {
		return err
	}
	if o.from == "" {
		return &flagError{errors.New(`tail: --from must not be empty: want start, now or an offset`)}
	}
	if o.last < 0 {
		return &flagError{fmt.Errorf("tail: -n must not be negative, got %d", o.last)}
	}
	if o.last > 0 && cmd.Flags().Changed("from") {
		return &flagError{errors.New("tail: -n and --from cannot be combined: -n reads from the start to find the last messages")}
	}
	return nil
}

// startOffset turns --from into a read offset; "now" becomes the tail's
// concrete offset, so that a reconnect before the first event cannot skip
// messages appended meanwhile.
func startOffset(from string, info *client.StreamInfo) string {
	switch from {
	case "start", "-1":
		return "-1"
	case "now":
		if info.NextOffset != "" {
			return info.NextOffset
		}
	}
	return from
}

// follower prints a stream's batches and keeps the position reached.
type follower struct {
	ios          *IOStreams
	c            *client.Client
	t            *target
	id           string
	offset       string // where the next read starts
	closed       bool
	reconnecting bool
}

func (fl *follower) onBatch(print func(client.Message) error) func(*client.Batch) error {
	return func(b *client.Batch) error {
		if fl.reconnecting {
			fl.reconnecting = false
			fmt.Fprintf(fl.ios.ErrOut, "tail: reconnected to %s\n", fl.t.URL)
		}
		for _, m := range b.Messages {
			if err := print(m); err != nil {
				return err
			}
		}
		if b.NextOffset != "" {
			fl.offset = b.NextOffset
		}
		fl.closed = fl.closed || b.Closed
		return nil
	}
}

func (fl *follower) onReconnect(err error, attempt int) {
	fl.reconnecting = true
	fmt.Fprintf(fl.ios.ErrOut, "tail: connection lost (%s); reconnecting… (attempt %d)\n", shortNetError(err), attempt)
}

// shortNetError drops the URL that net/http puts in front of transport
// errors.
func shortNetError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// run follows from fl.offset. A locally minted token that expires during
// a long tail is minted again and the tail resumes where it was.
func (fl *follower) run(ctx context.Context, o *tailOptions, fo client.FollowOptions, fn func(*client.Batch) error) error {
	minted := time.Now()
	for {
		err := fl.c.Follow(ctx, fl.id, fl.offset, fo, fn)
		if err != nil && client.IsAuth(err) && fl.t.Minted && time.Since(minted) > time.Minute {
			if t, rerr := resolveTarget(ctx, o.cmd, &o.target, token.ScopeRead); rerr == nil && t.Token != "" {
				fl.c.Token, minted = t.Token, time.Now()
				continue
			}
		}
		return err
	}
}

func runTail(ctx context.Context, ios *IOStreams, o *tailOptions) error {
	c, t, err := o.connect(ctx, token.ScopeRead)
	if err != nil {
		return err
	}
	info, err := c.Head(ctx, o.stream)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return streamError("tail", o.stream, t, err)
	}
	format := pickFormat(ios, o.format, o.raw, o.asJSON)
	p := newMsgPrinter(ios, format, info.ContentType, colorEnabled(ios, o.noColor), o.now)
	fl := &follower{ios: ios, c: c, t: t, id: o.stream, offset: startOffset(o.from, info)}
	fo := client.FollowOptions{NoFollow: o.noFollow, LongPoll: o.longPoll, OnReconnect: fl.onReconnect, MaxBackoff: o.maxBackoff}

	if !o.noFollow {
		from := o.from
		if o.last > 0 {
			from = fmt.Sprintf("its last %d message(s)", o.last)
		}
		notef(ios, "Following %s from %s (%s); Ctrl-C to stop.", o.stream, from, info.ContentType)
	}
	if o.last > 0 {
		r := newRing(o.last)
		catchUp := fo
		catchUp.NoFollow = true
		fl.offset = "-1"
		err := fl.run(ctx, o, catchUp, fl.onBatch(func(m client.Message) error { r.add(m); return nil }))
		if err == nil {
			for _, m := range r.messages() {
				if err = p.print(m); err != nil {
					break
				}
			}
		}
		if err != nil || o.noFollow || fl.closed {
			return tailEnd(ctx, ios, o.stream, t, fl, err)
		}
	}
	err = fl.run(ctx, o, fo, fl.onBatch(p.print))
	return tailEnd(ctx, ios, o.stream, t, fl, err)
}

// tailEnd turns how a tail ended into its result: Ctrl-C and a closed
// stream are successes.
func tailEnd(ctx context.Context, ios *IOStreams, id string, t *target, fl *follower, err error) error {
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		return streamError("tail", id, t, err)
	case fl.closed:
		notef(ios, "Stream %s is closed.", id)
	}
	return nil
}
