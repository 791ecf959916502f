package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/client"
	"github.com/dsctl/dsctl/internal/token"
)

// DefaultStreamContentType is what dsctl stream create sends when
// --content-type is not given. The server's own default (for a bare PUT)
// is application/octet-stream; dsctl picks JSON because its tail, read
// and ui print JSON messages best.
const DefaultStreamContentType = "application/json"

// remote is what every command that talks to a server carries: the target
// flags, and the command, whose flags win over the environment.
type remote struct {
	target targetFlags
	cmd    *cobra.Command
}

func (r *remote) connect(ctx context.Context, scope token.Scope) (*client.Client, *target, error) {
	return clientFor(ctx, r.cmd, &r.target, scope)
}

// streamError explains a failed request about stream id: a missing
// stream, an expired or closed one and a content type mismatch get their
// own message and hint; the rest goes to requestError (auth → exit 4).
func streamError(op, id string, t *target, err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusNotFound:
			if sess, ok := strings.CutPrefix(id, "session:"); ok {
				return withHint(fmt.Errorf("%s: session stream %s does not exist", op, id),
					"dsctl subscribe STREAM "+shellQuote(sess)+" (subscribing creates the session and its stream)")
			}
			return withHint(fmt.Errorf("%s: stream %s does not exist", op, id), "dsctl stream create "+shellQuote(id))
		case ae.Status == http.StatusGone:
			return withHint(fmt.Errorf("%s: stream %s has expired", op, id), "dsctl stream create "+shellQuote(id))
		case ae.Status == http.StatusConflict && ae.Closed:
			return withHint(fmt.Errorf("%s: stream %s is closed: it takes no more appends", op, id), "dsctl stream read "+shellQuote(id))
		case ae.Code == "CONTENT_TYPE_MISMATCH":
			return withHint(fmt.Errorf("%s: %s", op, ae.Error()), "dsctl stream head "+shellQuote(id)+" shows its content type")
		}
	}
	return requestError(op, t, err)
}

// readBody returns the message of append and publish: --data, else all of
// stdin. With optional (append --close), a terminal on stdin means no
// message rather than a prompt.
func readBody(ios *IOStreams, data string, dataSet, optional bool) ([]byte, error) {
	if dataSet {
		return []byte(data), nil
	}
	if ios.IsInTTY() {
		if optional {
			return nil, nil
		}
		fmt.Fprintln(ios.ErrOut, "Type the message, then Ctrl-D on a line of its own (or pass --data):")
	}
	b, err := io.ReadAll(ios.In)
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	return b, nil
}

// producerFlags are the idempotent producer flags of append and publish.
type producerFlags struct {
	id         string
	epoch, seq int64
}

func addProducerFlags(cmd *cobra.Command, p *producerFlags) {
	f := cmd.Flags()
	f.StringVar(&p.id, "producer-id", "", "idempotent producer `ID`: a retry with the same ID, epoch and seq is appended once")
	f.Int64Var(&p.epoch, "epoch", 0, "producer epoch (with --producer-id)")
	f.Int64Var(&p.seq, "seq", 0, "producer sequence number, from 0 in each epoch (required with --producer-id)")
}

// producer validates the flags; nil means no producer.
func (p *producerFlags) producer(op string, cmd *cobra.Command) (*client.Producer, error) {
	changed := cmd.Flags().Changed
	if p.id == "" {
		if changed("epoch") || changed("seq") || changed("producer-id") {
			return nil, &flagError{fmt.Errorf("%s: --epoch and --seq need a non-empty --producer-id", op)}
		}
		return nil, nil
	}
	if !changed("seq") {
		return nil, &flagError{fmt.Errorf("%s: --producer-id needs --seq (0 for the producer's first write)", op)}
	}
	if p.epoch < 0 || p.seq < 0 {
		return nil, &flagError{fmt.Errorf("%s: --epoch and --seq must not be negative", op)}
	}
	return &client.Producer{ID: p.id, Epoch: p.epoch, Seq: p.seq}, nil
}

// mediaType is a content type without its parameters.
func mediaType(ct string) string {
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return ct
}

func newStreamCmd(ios *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Create, append to, read, inspect, close and delete streams",
		Long: `Work with the streams of a server: the local dsctl serve by default, or any
Durable Streams server with --url (and --project, --token).

Target: --url, --project and --token, else DSCTL_URL, DSCTL_PROJECT and
DSCTL_TOKEN, else dsctl.toml (found upward from the working directory),
else the local server's default project. For a local server whose registry
(--data-dir) knows the project, a short-lived token is minted for you.

Follow a stream live with dsctl tail.`,
		Example: `  dsctl stream create orders
  echo '{"id":1,"item":"tea"}' | dsctl stream append orders
  dsctl stream read orders
  dsctl stream list`,
		Args: groupArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(
		newStreamCreateCmd(ios, nil),
		newStreamAppendCmd(ios, nil),
		newStreamReadCmd(ios, nil),
		newStreamHeadCmd(ios, nil),
		newStreamCloseCmd(ios, nil),
		newStreamDeleteCmd(ios, nil),
		newStreamListCmd(ios, nil),
		newStreamInspectCmd(ios, nil),
	)
	return cmd
}

// streamInfoJSON is a stream's metadata as create, head and close print it.
type streamInfoJSON struct {
	ID          string     `json:"id"`
	Created     *bool      `json:"created,omitempty"`
	ContentType string     `json:"contentType"`
	NextOffset  string     `json:"nextOffset"`
	Closed      bool       `json:"closed"`
	TTLSeconds  *int64     `json:"ttlSeconds,omitempty"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
}

func infoJSON(id string, in *client.StreamInfo) streamInfoJSON {
	return streamInfoJSON{ID: id, ContentType: in.ContentType, NextOffset: in.NextOffset, Closed: in.Closed, TTLSeconds: in.TTLSeconds, ExpiresAt: in.ExpiresAt}
}

// ---- stream create ----

type streamCreateOptions struct {
	remote
	stream      string
	contentType string
	ttl         time.Duration
	expiresAt   string
	public      bool
	closed      bool
	forkFrom    string
	forkOffset  string
	data        string
	dataSet     bool
	asJSON      bool
}

func newStreamCreateCmd(ios *IOStreams, runF func(context.Context, *streamCreateOptions) error) *cobra.Command {
	o := &streamCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create STREAM",
		Short: "Create a stream",
		Long: `Create a stream (PUT). Creating a stream that exists with the same settings
succeeds and changes nothing; with other settings it fails.

--content-type defaults to ` + DefaultStreamContentType + ` (then every message is one JSON
value, and a JSON array appends its elements as messages). A bare HTTP PUT
gets the server's default, application/octet-stream. A fork (--fork-from)
takes its source's content type unless --content-type is given.

--ttl (whole seconds, counted from the last write) and --expires-at (an
RFC 3339 time) make the stream expire; give at most one. --public lets
anyone read a named project's stream without a token. --fork-from starts
the stream with another stream's messages up to --fork-offset (default:
all of them), sharing them without a copy. --data gives the first message.
--closed creates it closed (with --data: a complete, immutable stream).

Stream IDs may contain '/'. IDs starting with "session:" belong to pub/sub
sessions and cannot be created here.`,
		Example: `  dsctl stream create orders
  dsctl stream create logs/web --content-type text/plain --ttl 24h
  dsctl stream create orders-replay --fork-from orders --fork-offset 0000000000000000_0000000000000010
  dsctl stream create config --data '{"theme":"dark"}' --closed --json`,
		Args: namedArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.cmd = args[0], cmd
			o.dataSet = cmd.Flags().Changed("data")
			if o.forkFrom != "" && !cmd.Flags().Changed("content-type") {
				o.contentType = "" // inherit the source's
			}
			if err := o.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runStreamCreate(cmd.Context(), ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.contentType, "content-type", DefaultStreamContentType, "the stream's content type")
	f.DurationVar(&o.ttl, "ttl", 0, "expire the stream this long after its last write (whole seconds, e.g. 90s, 24h)")
	f.StringVar(&o.expiresAt, "expires-at", "", "expire the stream at this RFC 3339 `time`, e.g. 2030-01-02T15:04:05Z")
	f.BoolVar(&o.public, "public", false, "let anyone read it without a token (named projects)")
	f.BoolVar(&o.closed, "closed", false, "create it closed: no appends after --data")
	f.StringVar(&o.forkFrom, "fork-from", "", "fork this `STREAM` of the same project")
	f.StringVar(&o.forkOffset, "fork-offset", "", "fork the source up to this `offset` (default: its tail)")
	f.StringVar(&o.data, "data", "", "the stream's first message")
	f.BoolVar(&o.asJSON, "json", false, "print {id, created, contentType, nextOffset, closed, ttlSeconds, expiresAt} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func (o *streamCreateOptions) validate() error {
	switch {
	case o.ttl < 0:
		return &flagError{fmt.Errorf("stream create: --ttl must be positive, got %s", o.ttl)}
	case o.ttl > 0 && (o.ttl < time.Second || o.ttl%time.Second != 0):
		return &flagError{fmt.Errorf("stream create: --ttl must be whole seconds, got %s", o.ttl)}
	case o.ttl > 0 && o.expiresAt != "":
		return &flagError{errors.New("stream create: --ttl and --expires-at are mutually exclusive")}
	case o.forkOffset != "" && o.forkFrom == "":
		return &flagError{errors.New("stream create: --fork-offset needs --fork-from")}
	}
	if o.expiresAt != "" {
		if _, err := time.Parse(time.RFC3339, o.expiresAt); err != nil {
			return &flagError{fmt.Errorf("stream create: invalid --expires-at %q: want an RFC 3339 time such as 2030-01-02T15:04:05Z", o.expiresAt)}
		}
	}
	return nil
}

func runStreamCreate(ctx context.Context, ios *IOStreams, o *streamCreateOptions) error {
	c, t, err := o.connect(ctx, token.ScopeWrite)
	if err != nil {
		return err
	}
	co := client.CreateOptions{ContentType: o.contentType, TTL: o.ttl, Public: o.public, Closed: o.closed, ForkFrom: o.forkFrom, ForkOffset: o.forkOffset}
	if o.expiresAt != "" {
		co.ExpiresAt, _ = time.Parse(time.RFC3339, o.expiresAt)
	}
	if o.dataSet {
		co.Body = []byte(o.data)
	}
	info, created, err := c.Create(ctx, o.stream, co)
	if err != nil {
		var ae *client.APIError
		switch {
		case o.forkFrom != "" && errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			return withHint(fmt.Errorf("stream create: fork source %s does not exist", o.forkFrom), "dsctl stream list")
		case errors.As(err, &ae) && ae.Status == http.StatusConflict && ae.Code != "CONTENT_TYPE_MISMATCH":
			return withHint(fmt.Errorf("stream create: stream %s already exists with other settings: %s", o.stream, ae.Error()),
				"dsctl stream head "+shellQuote(o.stream)+" shows them")
		}
		return streamError("stream create", o.stream, t, err)
	}
	if info.ContentType == "" {
		info.ContentType = o.contentType
	}
	if o.asJSON {
		j := infoJSON(o.stream, info)
		j.Created = &created
		return printJSON(ios.Out, j)
	}
	if created {
		successf(ios, "Created stream %s (%s)", o.stream, info.ContentType)
	} else {
		notef(ios, "Stream %s already exists with these settings; nothing changed.", o.stream)
	}
	return nil
}

// ---- stream append ----

type streamAppendOptions struct {
	remote
	producerFlags
	stream      string
	data        string
	dataSet     bool
	contentType string
	close       bool
	streamSeq   string
	producer    *client.Producer
	asJSON      bool
}

func newStreamAppendCmd(ios *IOStreams, runF func(context.Context, *streamAppendOptions) error) *cobra.Command {
	o := &streamAppendOptions{}
	cmd := &cobra.Command{
		Use:   "append STREAM",
		Short: "Append a message from --data or stdin",
		Long: `Append one message to a stream (POST): --data, or else everything on stdin.
In a JSON stream the body must be one JSON value; a JSON array appends each
element as a message. The next offset (where the following message will
start) is printed on stdout.

--content-type defaults to the stream's own (read with a HEAD first).
--close closes the stream after the message, or alone closes it.
--producer-id, --epoch and --seq make the append idempotent: retrying it
with the same three values appends it once (the answer says duplicate).
--stream-seq sends Stream-Seq: the server refuses a value that is not
greater, compared as strings, than the last one (use fixed-width numbers).`,
		Example: `  dsctl stream append orders --data '{"id":1,"item":"tea"}'
  echo '[{"id":2},{"id":3}]' | dsctl stream append orders
  dsctl stream append logs/web --data "GET / 200" --content-type text/plain
  dsctl stream append orders --data '{"id":4}' --producer-id shop-1 --epoch 0 --seq 7
  dsctl stream append orders --data '{"last":true}' --close`,
		Args: namedArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.cmd = args[0], cmd
			o.dataSet = cmd.Flags().Changed("data")
			p, err := o.producerFlags.producer("stream append", cmd)
			if err != nil {
				return err
			}
			o.producer = p
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runStreamAppend(cmd.Context(), ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.data, "data", "d", "", "the message (default: read stdin)")
	f.StringVar(&o.contentType, "content-type", "", "the message's content type (default: the stream's)")
	f.BoolVar(&o.close, "close", false, "close the stream after this message (or, without one, just close it)")
	f.StringVar(&o.streamSeq, "stream-seq", "", "send Stream-Seq, which must be greater (as a string) than the last one")
	addProducerFlags(cmd, &o.producerFlags)
	f.BoolVar(&o.asJSON, "json", false, "print {stream, nextOffset, closed, duplicate} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

type appendJSON struct {
	Stream      string `json:"stream"`
	NextOffset  string `json:"nextOffset"`
	Closed      bool   `json:"closed"`
	Duplicate   bool   `json:"duplicate"`
	FanoutCount *int   `json:"fanoutCount,omitempty"`
}

func runStreamAppend(ctx context.Context, ios *IOStreams, o *streamAppendOptions) error {
	body, err := readBody(ios, o.data, o.dataSet, o.close)
	if err != nil {
		return err
	}
	if len(body) == 0 && !o.close {
		return withHint(errors.New("stream append: nothing to append: --data is empty and so was stdin"),
			"dsctl stream append "+shellQuote(o.stream)+" --data '…', or pipe the message in")
	}
	c, t, err := o.connect(ctx, token.ScopeWrite)
	if err != nil {
		return err
	}
	ct, err := contentTypeFor(ctx, c, t, "stream append", o.stream, o.contentType, body)
	if err != nil {
		return err
	}
	res, err := c.Append(ctx, o.stream, ct, body, client.AppendOptions{Close: o.close, StreamSeq: o.streamSeq, Producer: o.producer})
	if err != nil {
		return streamError("stream append", o.stream, t, err)
	}
	return printAppend(ios, o.asJSON, "Appended to", o.stream, res, nil)
}

// contentTypeFor is --content-type, or the stream's own from a HEAD
// (which also turns a missing stream into a clear error early).
func contentTypeFor(ctx context.Context, c *client.Client, t *target, op, id, flag string, body []byte) (string, error) {
	if flag != "" || len(body) == 0 {
		return flag, nil
	}
	info, err := c.Head(ctx, id)
	if err != nil {
		return "", streamError(op, id, t, err)
	}
	return info.ContentType, nil
}

// printAppend prints an append's (or publish's) answer: the next offset
// on stdout, or JSON; notes on a terminal.
func printAppend(ios *IOStreams, asJSON bool, verb, id string, res *client.AppendResult, fanout *int) error {
	if asJSON {
		return printJSON(ios.Out, appendJSON{Stream: id, NextOffset: res.NextOffset, Closed: res.Closed, Duplicate: res.Duplicate, FanoutCount: fanout})
	}
	if fanout != nil {
		if ios.IsOutTTY() {
			fmt.Fprintf(ios.Out, "Next offset:  %s\nFan-out:      %d session(s)\n", res.NextOffset, *fanout)
		} else {
			fmt.Fprintf(ios.Out, "%s\t%d\n", res.NextOffset, *fanout)
		}
	} else if _, err := fmt.Fprintln(ios.Out, res.NextOffset); err != nil {
		return err
	}
	switch {
	case res.Duplicate:
		notef(ios, "The server had this producer write already: nothing new was appended to %s.", id)
	case res.Closed:
		successf(ios, "%s %s, which is now closed", verb, id)
	default:
		successf(ios, "%s %s", verb, id)
	}
	return nil
}

// ---- stream read ----

type streamReadOptions struct {
	remote
	stream  string
	from    string
	page    bool
	raw     bool
	format  string
	asJSON  bool
	noColor bool

	now func() time.Time
}

func newStreamReadCmd(ios *IOStreams, runF func(context.Context, *streamReadOptions) error) *cobra.Command {
	o := &streamReadOptions{}
	cmd := &cobra.Command{
		Use:   "read STREAM",
		Short: "Print a stream's messages and exit",
		Long: `Read a stream from --from (default: the start) up to its current end and
print the messages the way dsctl tail does (pretty on a terminal, NDJSON
{"offset","data"} when piped, the bytes with --raw), then exit. It is
dsctl tail STREAM --from start --no-follow.

--page reads a single page (one request) and says on stderr where the next
one starts, for reading a long stream in steps.`,
		Example: `  dsctl stream read orders
  dsctl stream read orders --json | jq -c .data
  dsctl stream read orders --from 0000000000000000_0000000000000100 --page
  dsctl stream read logs/web --raw > web.log`,
		Args: namedArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.cmd = args[0], cmd
			if err := checkFormatFlags("stream read", o.format, o.raw, o.asJSON); err != nil {
				return err
			}
			if o.from == "" {
				return &flagError{errors.New(`stream read: --from must not be empty: want start, now or an offset`)}
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runStreamRead(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().StringVar(&o.from, "from", "start", `where to start: "start", "now" or an offset`)
	cmd.Flags().BoolVar(&o.page, "page", false, "read one page only; stderr says where the next starts")
	addOutputFlags(cmd, &o.raw, &o.format, &o.asJSON, &o.noColor)
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runStreamRead(ctx context.Context, ios *IOStreams, o *streamReadOptions) error {
	c, t, err := o.connect(ctx, token.ScopeRead)
	if err != nil {
		return err
	}
	info, err := c.Head(ctx, o.stream)
	if err != nil {
		return streamError("stream read", o.stream, t, err)
	}
	p := newMsgPrinter(ios, pickFormat(ios, o.format, o.raw, o.asJSON), info.ContentType, colorEnabled(ios, o.noColor), o.now)
	from := startOffset(o.from, info)
	if !o.page {
		err := c.Follow(ctx, o.stream, from, client.FollowOptions{NoFollow: true}, func(b *client.Batch) error {
			for _, m := range b.Messages {
				if err := p.print(m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return streamError("stream read", o.stream, t, err)
		}
		return nil
	}
	b, err := c.Read(ctx, o.stream, from)
	if err != nil {
		return streamError("stream read", o.stream, t, err)
	}
	for _, m := range b.Messages {
		if err := p.print(m); err != nil {
			return err
		}
	}
	switch {
	case b.Closed:
		fmt.Fprintf(ios.ErrOut, "End of stream %s (closed) at %s.\n", o.stream, b.NextOffset)
	case b.UpToDate:
		fmt.Fprintf(ios.ErrOut, "Up to date at %s; new messages will start there.\n", b.NextOffset)
	default:
		fmt.Fprintf(ios.ErrOut, "More follows: dsctl stream read %s --from %s --page\n", shellQuote(o.stream), b.NextOffset)
	}
	return nil
}

// ---- stream head ----

type streamHeadOptions struct {
	remote
	stream string
	asJSON bool
}

func newStreamHeadCmd(ios *IOStreams, runF func(context.Context, *streamHeadOptions) error) *cobra.Command {
	o := &streamHeadOptions{}
	cmd := &cobra.Command{
		Use:   "head STREAM",
		Short: "Show a stream's content type, next offset and expiry",
		Long: `Show what a HEAD request says about a stream: its content type, the next
offset (where the next message will start), whether it is closed, and its
TTL or expiry time. It needs only read access; dsctl stream inspect shows
more (sizes, producers, readers) with a manage token.`,
		Example: `  dsctl stream head orders
  dsctl stream head orders --json | jq -r .nextOffset`,
		Args: namedArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.cmd = args[0], cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runStreamHead(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print {id, contentType, nextOffset, closed, ttlSeconds, expiresAt} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runStreamHead(ctx context.Context, ios *IOStreams, o *streamHeadOptions) error {
	c, t, err := o.connect(ctx, token.ScopeRead)
	if err != nil {
		return err
	}
	info, err := c.Head(ctx, o.stream)
	if err != nil {
		return streamError("stream head", o.stream, t, err)
	}
	if o.asJSON {
		return printJSON(ios.Out, infoJSON(o.stream, info))
	}
	w := ios.Out
	fmt.Fprintf(w, "Stream:        %s\n", o.stream)
	fmt.Fprintf(w, "Content type:  %s\n", info.ContentType)
	fmt.Fprintf(w, "Next offset:   %s\n", info.NextOffset)
	fmt.Fprintf(w, "Closed:        %s\n", yesNo(info.Closed))
	fmt.Fprintf(w, "Expires:       %s\n", expiry(info.TTLSeconds, info.ExpiresAt))
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// expiry describes a stream's TTL or expiry time.
func expiry(ttl *int64, at *time.Time) string {
	switch {
	case ttl != nil:
		return fmt.Sprintf("%s after the last write (TTL %ds)", time.Duration(*ttl)*time.Second, *ttl)
	case at != nil:
		return "at " + formatTime(*at)
	}
	return "never"
}

// ---- stream close ----

type streamCloseOptions struct {
	remote
	stream string
	asJSON bool
}

func newStreamCloseCmd(ios *IOStreams, runF func(context.Context, *streamCloseOptions) error) *cobra.Command {
	o := &streamCloseOptions{}
	cmd := &cobra.Command{
		Use:   "close STREAM",
		Short: "Close a stream: no more appends; readers see its end",
		Long: `Close a stream. It keeps its messages but takes no more appends, and
readers (dsctl tail included) learn that it has ended and stop. The final
offset is printed on stdout. Closing a closed stream does nothing.
To append a last message and close at once: dsctl stream append --close.`,
		Example: `  dsctl stream close orders
  dsctl stream close orders --json`,
		Args: namedArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.cmd = args[0], cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runStreamClose(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print {stream, nextOffset, closed, duplicate} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runStreamClose(ctx context.Context, ios *IOStreams, o *streamCloseOptions) error {
	c, t, err := o.connect(ctx, token.ScopeWrite)
	if err != nil {
		return err
	}
	res, err := c.Append(ctx, o.stream, "", nil, client.AppendOptions{Close: true})
	if err != nil {
		return streamError("stream close", o.stream, t, err)
	}
	if o.asJSON {
		return printJSON(ios.Out, appendJSON{Stream: o.stream, NextOffset: res.NextOffset, Closed: true})
	}
	fmt.Fprintln(ios.Out, res.NextOffset)
	successf(ios, "Closed stream %s", o.stream)
	return nil
}

// ---- stream delete ----

type streamDeleteOptions struct {
	remote
	stream string
	yes    bool
}

func newStreamDeleteCmd(ios *IOStreams, runF func(context.Context, *streamDeleteOptions) error) *cobra.Command {
	o := &streamDeleteOptions{}
	cmd := &cobra.Command{
		Use:     "delete STREAM",
		Aliases: []string{"rm"},
		Short:   "Delete a stream and its messages",
		Long: `Delete a stream. Its messages are gone for readers at once (forks of it
keep the part they share), live readers are ended, and the ID can be
created again.

On a terminal dsctl asks for confirmation unless --yes is given; elsewhere
--yes is required.`,
		Example: `  dsctl stream delete orders
  dsctl stream delete orders --yes`,
		Args: namedArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.cmd = args[0], cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runStreamDelete(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runStreamDelete(ctx context.Context, ios *IOStreams, o *streamDeleteOptions) error {
	c, t, err := o.connect(ctx, token.ScopeWrite)
	if err != nil {
		return err
	}
	if !o.yes {
		if !ios.CanPrompt() {
			return withHint(errors.New("stream delete: --yes is required when not on a terminal"), "dsctl stream delete "+shellQuote(o.stream)+" --yes")
		}
		ok, err := confirm(ios, fmt.Sprintf("Delete stream %s and all its messages?", o.stream))
		if err != nil {
			return err
		}
		if !ok {
			return errCancelled
		}
	}
	if err := c.Delete(ctx, o.stream); err != nil {
		return streamError("stream delete", o.stream, t, err)
	}
	successf(ios, "Deleted stream %s", o.stream)
	return nil
}

// ---- stream list ----

type streamListOptions struct {
	remote
	asJSON bool

	now func() time.Time
}

func newStreamListCmd(ios *IOStreams, runF func(context.Context, *streamListOptions) error) *cobra.Command {
	o := &streamListOptions{now: time.Now}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the project's streams with sizes and live readers",
		Long: `List the streams of the project by ID, from the inspection API (it needs
a manage token; local tokens are minted with that scope).

On a terminal the columns are aligned under a header, sizes are rounded
and times relative; otherwise each stream is one tab-separated line without
a header: ID, TYPE (content type), SIZE (bytes), MESSAGES, LAST WRITE
(RFC 3339, UTC) and READERS (open live reads: SSE and long-polls).
Session streams of pub/sub are listed too.`,
		Example: `  dsctl stream list
  dsctl stream list --project demo
  dsctl stream list | sort -t$'\t' -k3 -n | tail -3
  dsctl stream list --json | jq -r '.[] | select(.readers > 0) | .id'`,
		Args: namedArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.cmd = cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runStreamList(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print a JSON array of the inspection API's stream objects")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runStreamList(ctx context.Context, ios *IOStreams, o *streamListOptions) error {
	c, t, err := o.connect(ctx, token.ScopeManage)
	if err != nil {
		return err
	}
	all, err := c.AllStreams(ctx)
	if err != nil {
		return requestError("stream list", t, err)
	}
	if o.asJSON {
		if all == nil {
			all = []client.StreamSummary{}
		}
		return printJSON(ios.Out, all)
	}
	if len(all) == 0 {
		notef(ios, "No streams in project %s. Create one with: dsctl stream create NAME", t.Project)
		return nil
	}
	tty := ios.IsOutTTY()
	tb := newTable(ios.Out, tty, "ID", "TYPE", "SIZE", "MESSAGES", "LAST WRITE", "READERS")
	for _, s := range all {
		size, last := strconv.FormatInt(s.SizeBytes, 10), formatTime(s.LastWriteAt)
		typ := mediaType(s.ContentType)
		if tty {
			size, last = humanBytes(s.SizeBytes), ago(o.now(), s.LastWriteAt)
			if s.Closed {
				typ += " (closed)"
			}
		}
		tb.row(s.ID, typ, size, strconv.FormatInt(s.Messages, 10), last, strconv.FormatInt(s.Readers, 10))
	}
	return tb.print()
}

// humanBytes rounds a size for people: 512 B, 1.5 KiB, 3.0 MiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}

// ago is how long before now t was, roughly.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return ""
	case d < 0:
		return formatTime(t)
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
	return t.UTC().Format("2006-01-02")
}

// ---- stream inspect ----

type streamInspectOptions struct {
	remote
	stream string
	asJSON bool
}

func newStreamInspectCmd(ios *IOStreams, runF func(context.Context, *streamInspectOptions) error) *cobra.Command {
	o := &streamInspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect STREAM",
		Short: "Show a stream's sizes, producers, forks and live readers",
		Long: `Show everything the inspection API knows about a stream (it needs a manage
token; local tokens are minted with that scope): content type, size and
message count, tail offset, closed and public flags, expiry, creation and
last write times, open live readers, the fork it came from and how many
forks it has, and its idempotent producers with their last epoch and seq.`,
		Example: `  dsctl stream inspect orders
  dsctl stream inspect orders --json | jq '.producers'`,
		Args: namedArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.cmd = args[0], cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runStreamInspect(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the inspection API's stream object as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runStreamInspect(ctx context.Context, ios *IOStreams, o *streamInspectOptions) error {
	c, t, err := o.connect(ctx, token.ScopeManage)
	if err != nil {
		return err
	}
	d, err := c.InspectStream(ctx, o.stream)
	if err != nil {
		return streamError("stream inspect", o.stream, t, err)
	}
	if o.asJSON {
		return printJSON(ios.Out, d)
	}
	w := ios.Out
	fmt.Fprintf(w, "Stream:        %s  (%s)\n", d.ID, d.Path)
	fmt.Fprintf(w, "Content type:  %s\n", d.ContentType)
	fmt.Fprintf(w, "Size:          %d bytes, %d messages\n", d.SizeBytes, d.Messages)
	fmt.Fprintf(w, "Next offset:   %s\n", d.TailOffset)
	fmt.Fprintf(w, "Closed:        %s\n", yesNo(d.Closed))
	fmt.Fprintf(w, "Public:        %s\n", yesNo(d.Public))
	fmt.Fprintf(w, "Expires:       %s\n", expiry(d.TTLSeconds, d.ExpiresAt))
	fmt.Fprintf(w, "Created:       %s\n", formatTime(d.CreatedAt))
	fmt.Fprintf(w, "Last write:    %s\n", formatTime(d.LastWriteAt))
	fmt.Fprintf(w, "Readers:       %d live\n", d.Readers)
	fork := "-"
	if d.ForkedFrom != nil {
		fork = d.ForkedFrom.Path + " at " + d.ForkedFrom.Offset
	}
	fmt.Fprintf(w, "Forked from:   %s\n", fork)
	fmt.Fprintf(w, "Forks:         %d\n", d.Forks)
	fmt.Fprintf(w, "Producers:     %d\n", len(d.Producers))
	if len(d.Producers) == 0 {
		return nil
	}
	tb := newTable(w, true, "  ID", "EPOCH", "LAST SEQ", "LAST OFFSET", "UPDATED")
	for _, p := range d.Producers {
		tb.row("  "+p.ID, strconv.FormatInt(p.Epoch, 10), strconv.FormatInt(p.LastSeq, 10), p.LastOffset, formatTime(p.UpdatedAt))
	}
	return tb.print()
}
