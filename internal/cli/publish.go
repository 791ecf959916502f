package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dsctl/dsctl/internal/client"
	"github.com/dsctl/dsctl/internal/token"
)

// The pub/sub commands: publish, subscribe, unsubscribe and session.

// sessionError explains a failed request about a session.
func sessionError(op, session string, t *target, err error) error {
	if client.IsStatus(err, http.StatusNotFound) {
		return withHint(fmt.Errorf("%s: session %s does not exist (or has expired)", op, session),
			"dsctl subscribe STREAM "+shellQuote(session)+" (subscribing creates the session)")
	}
	return requestError(op, t, err)
}

// sessionStream is the id of a session's stream, for dsctl tail.
func sessionStream(s *client.Session) string {
	if _, id, ok := strings.Cut(s.SessionStreamPath, "/stream/"); ok && id != "" {
		return id
	}
	return client.SessionStreamID(s.SessionID)
}

// sessionJSON is a session as subscribe, session get and session touch
// print it: every field always present, and the session stream's id for
// dsctl tail.
type sessionJSON struct {
	SessionID         string                 `json:"sessionId"`
	StreamID          string                 `json:"streamId,omitempty"`
	IsNewSession      *bool                  `json:"isNewSession,omitempty"`
	SessionStream     string                 `json:"sessionStream"`
	SessionStreamPath string                 `json:"sessionStreamPath"`
	ExpiresAt         time.Time              `json:"expiresAt"`
	Subscriptions     *[]client.Subscription `json:"subscriptions,omitempty"` // session get only
}

func toSessionJSON(s *client.Session) sessionJSON {
	return sessionJSON{SessionID: s.SessionID, SessionStream: sessionStream(s), SessionStreamPath: s.SessionStreamPath, ExpiresAt: s.ExpiresAt}
}

// ---- publish ----

type publishOptions struct {
	remote
	producerFlags
	stream      string
	data        string
	dataSet     bool
	contentType string
	producer    *client.Producer
	asJSON      bool
}

func newPublishCmd(ios *IOStreams, runF func(context.Context, *publishOptions) error) *cobra.Command {
	o := &publishOptions{}
	cmd := &cobra.Command{
		Use:   "publish STREAM",
		Short: "Append a message and fan it out to the stream's subscribers",
		Long: `Publish a message (--data, or else everything on stdin) to a stream: it is
appended to the stream and copied into the session stream of every session
subscribed to it (see dsctl subscribe), in one step.

On a terminal the next offset and the fan-out count (how many session
streams received the message) are printed one per line; otherwise as one
tab-separated line: OFFSET, FANOUT.

--content-type defaults to the stream's own (read with a HEAD first). The
producer flags make a retry idempotent, as for dsctl stream append.
Stream IDs for pub/sub use A-Z a-z 0-9 _ - : . only.`,
		Example: `  dsctl publish room --data '{"from":"bob","text":"hi"}'
  echo '{"text":"hello"}' | dsctl publish room
  dsctl publish room --data '{"n":1}' --producer-id bot --seq 0 --json`,
		Args: namedArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.cmd = args[0], cmd
			o.dataSet = cmd.Flags().Changed("data")
			p, err := o.producerFlags.producer("publish", cmd)
			if err != nil {
				return err
			}
			o.producer = p
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runPublish(cmd.Context(), ios, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.data, "data", "d", "", "the message (default: read stdin)")
	f.StringVar(&o.contentType, "content-type", "", "the message's content type (default: the stream's)")
	addProducerFlags(cmd, &o.producerFlags)
	f.BoolVar(&o.asJSON, "json", false, "print {stream, nextOffset, closed, duplicate, fanoutCount} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runPublish(ctx context.Context, ios *IOStreams, o *publishOptions) error {
	body, err := readBody(ios, o.data, o.dataSet, false)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return withHint(errors.New("publish: nothing to publish: --data is empty and so was stdin"),
			"dsctl publish "+shellQuote(o.stream)+" --data '…', or pipe the message in")
	}
	c, t, err := o.connect(ctx, token.ScopeWrite)
	if err != nil {
		return err
	}
	ct, err := contentTypeFor(ctx, c, t, "publish", o.stream, o.contentType, body)
	if err != nil {
		return err
	}
	res, err := c.Publish(ctx, o.stream, ct, body, client.AppendOptions{Producer: o.producer})
	if err != nil {
		return streamError("publish", o.stream, t, err)
	}
	fanout := res.FanoutCount
	return printAppend(ios, o.asJSON, "Published to", o.stream, res, &fanout)
}

// ---- subscribe ----

type subscribeOptions struct {
	remote
	stream, session string
	asJSON          bool
}

func newSubscribeCmd(ios *IOStreams, runF func(context.Context, *subscribeOptions) error) *cobra.Command {
	o := &subscribeOptions{}
	cmd := &cobra.Command{
		Use:   "subscribe STREAM SESSION",
		Short: "Subscribe a session to a stream (creating the session)",
		Long: `Subscribe SESSION to STREAM: from now on every message published to STREAM
(dsctl publish) is also appended to the session's own stream,
session:SESSION, which one reader follows to get all its subscriptions'
messages in order. The session is created if new; subscribing again only
extends its life. Sessions expire when not subscribed or touched for the
server's session TTL (dsctl session touch).`,
		Example: `  dsctl subscribe room alice
  dsctl tail session:alice
  dsctl subscribe room alice --json | jq -r .sessionStreamPath`,
		Args: namedArgs("STREAM", "SESSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.session, o.cmd = args[0], args[1], cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runSubscribe(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print {sessionId, streamId, isNewSession, sessionStream, sessionStreamPath, expiresAt} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runSubscribe(ctx context.Context, ios *IOStreams, o *subscribeOptions) error {
	c, t, err := o.connect(ctx, token.ScopeRead)
	if err != nil {
		return err
	}
	s, err := c.Subscribe(ctx, o.stream, o.session)
	if err != nil {
		return streamError("subscribe", o.stream, t, err)
	}
	if s.StreamID == "" {
		s.StreamID = o.stream
	}
	if o.asJSON {
		j := toSessionJSON(s)
		j.StreamID, j.IsNewSession = s.StreamID, &s.IsNewSession
		return printJSON(ios.Out, j)
	}
	isNew := ""
	if s.IsNewSession {
		isNew = " (new)"
	}
	w := ios.Out
	fmt.Fprintf(w, "Session:         %s%s\n", s.SessionID, isNew)
	fmt.Fprintf(w, "Subscribed to:   %s\n", s.StreamID)
	fmt.Fprintf(w, "Session stream:  %s\n", sessionStream(s))
	fmt.Fprintf(w, "Expires at:      %s\n", formatTime(s.ExpiresAt))
	notef(ios, "Follow it with: dsctl tail %s", shellQuote(sessionStream(s)))
	return nil
}

// ---- unsubscribe ----

type unsubscribeOptions struct {
	remote
	stream, session string
	asJSON          bool
}

func newUnsubscribeCmd(ios *IOStreams, runF func(context.Context, *unsubscribeOptions) error) *cobra.Command {
	o := &unsubscribeOptions{}
	cmd := &cobra.Command{
		Use:   "unsubscribe STREAM SESSION",
		Short: "Stop copying a stream's messages into a session",
		Long: `Remove SESSION's subscription to STREAM. Messages already in the session's
stream stay. Unsubscribing a session that was not subscribed succeeds and
says so.`,
		Example: `  dsctl unsubscribe room alice
  dsctl unsubscribe room alice --json`,
		Args: namedArgs("STREAM", "SESSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stream, o.session, o.cmd = args[0], args[1], cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runUnsubscribe(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print {sessionId, streamId, unsubscribed} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runUnsubscribe(ctx context.Context, ios *IOStreams, o *unsubscribeOptions) error {
	c, t, err := o.connect(ctx, token.ScopeWrite)
	if err != nil {
		return err
	}
	removed, err := c.Unsubscribe(ctx, o.stream, o.session)
	if err != nil {
		return sessionError("unsubscribe", o.session, t, err)
	}
	if o.asJSON {
		return printJSON(ios.Out, map[string]any{"sessionId": o.session, "streamId": o.stream, "unsubscribed": removed})
	}
	if removed {
		successf(ios, "Unsubscribed session %s from %s", o.session, o.stream)
	} else {
		notef(ios, "Session %s was not subscribed to %s; nothing changed.", o.session, o.stream)
	}
	return nil
}

// ---- session get|touch|delete ----

func newSessionCmd(ios *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "session",
		Short: "Show, keep alive and delete pub/sub sessions",
		Long: `A session collects the messages published to the streams it is subscribed
to (dsctl subscribe) in its own stream, session:ID, for dsctl tail. It
expires when not subscribed or touched for the server's session TTL.`,
		Example: `  dsctl session get alice
  dsctl session touch alice
  dsctl session delete alice`,
		Args: groupArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(newSessionGetCmd(ios, nil), newSessionTouchCmd(ios, nil), newSessionDeleteCmd(ios, nil))
	return cmd
}

type sessionOptions struct {
	remote
	session string
	asJSON  bool
}

func newSessionGetCmd(ios *IOStreams, runF func(context.Context, *sessionOptions) error) *cobra.Command {
	o := &sessionOptions{}
	cmd := &cobra.Command{
		Use:   "get SESSION",
		Short: "Show a session, its expiry and its subscriptions",
		Long: `Show a session: its stream, when it expires, and the streams it is
subscribed to with the time of each subscription.`,
		Example: `  dsctl session get alice
  dsctl session get alice --json | jq -r '.subscriptions[].streamId'`,
		Args: namedArgs("SESSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.session, o.cmd = args[0], cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runSessionGet(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print {sessionId, sessionStream, sessionStreamPath, expiresAt, subscriptions} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runSessionGet(ctx context.Context, ios *IOStreams, o *sessionOptions) error {
	c, t, err := o.connect(ctx, token.ScopeRead)
	if err != nil {
		return err
	}
	s, err := c.GetSession(ctx, o.session)
	if err != nil {
		return sessionError("session get", o.session, t, err)
	}
	if o.asJSON {
		j := toSessionJSON(s)
		subs := s.Subscriptions
		if subs == nil {
			subs = []client.Subscription{}
		}
		j.Subscriptions = &subs
		return printJSON(ios.Out, j)
	}
	w := ios.Out
	fmt.Fprintf(w, "Session:         %s\n", s.SessionID)
	fmt.Fprintf(w, "Session stream:  %s\n", sessionStream(s))
	fmt.Fprintf(w, "Expires at:      %s\n", formatTime(s.ExpiresAt))
	fmt.Fprintf(w, "Subscriptions:   %d\n", len(s.Subscriptions))
	if len(s.Subscriptions) == 0 {
		return nil
	}
	tb := newTable(w, true, "  STREAM", "SUBSCRIBED")
	for _, sub := range s.Subscriptions {
		tb.row("  "+sub.StreamID, formatTime(sub.SubscribedAt))
	}
	return tb.print()
}

func newSessionTouchCmd(ios *IOStreams, runF func(context.Context, *sessionOptions) error) *cobra.Command {
	o := &sessionOptions{}
	cmd := &cobra.Command{
		Use:   "touch SESSION",
		Short: "Extend a session's life",
		Long: `Keep a session alive: its expiry moves to one session TTL from now. An
unknown session is created (with no subscriptions). The new expiry time is
printed.`,
		Example: `  dsctl session touch alice
  # keep it alive from a script
  while sleep 60; do dsctl session touch alice >/dev/null; done`,
		Args: namedArgs("SESSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.session, o.cmd = args[0], cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runSessionTouch(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print {sessionId, sessionStream, sessionStreamPath, expiresAt} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runSessionTouch(ctx context.Context, ios *IOStreams, o *sessionOptions) error {
	c, t, err := o.connect(ctx, token.ScopeRead)
	if err != nil {
		return err
	}
	s, err := c.TouchSession(ctx, o.session)
	if err != nil {
		return sessionError("session touch", o.session, t, err)
	}
	if s.SessionID == "" {
		s.SessionID = o.session
	}
	if o.asJSON {
		return printJSON(ios.Out, toSessionJSON(s))
	}
	fmt.Fprintf(ios.Out, "Session:         %s\n", s.SessionID)
	fmt.Fprintf(ios.Out, "Session stream:  %s\n", sessionStream(s))
	fmt.Fprintf(ios.Out, "Expires at:      %s\n", formatTime(s.ExpiresAt))
	return nil
}

func newSessionDeleteCmd(ios *IOStreams, runF func(context.Context, *sessionOptions) error) *cobra.Command {
	o := &sessionOptions{}
	cmd := &cobra.Command{
		Use:     "delete SESSION",
		Aliases: []string{"rm"},
		Short:   "Delete a session, its subscriptions and its stream",
		Long: `Delete a session at once rather than letting it expire: its subscriptions
end and its session stream is deleted. Deleting an unknown session
succeeds and says so. Sessions are short-lived by design, so there is no
confirmation prompt.`,
		Example: `  dsctl session delete alice
  dsctl session delete alice --json`,
		Args: namedArgs("SESSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.session, o.cmd = args[0], cmd
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runSessionDelete(cmd.Context(), ios, o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print {sessionId, deleted} as JSON")
	addTargetFlags(cmd, &o.target)
	return cmd
}

func runSessionDelete(ctx context.Context, ios *IOStreams, o *sessionOptions) error {
	c, t, err := o.connect(ctx, token.ScopeWrite)
	if err != nil {
		return err
	}
	deleted, err := c.DeleteSession(ctx, o.session)
	if err != nil {
		return sessionError("session delete", o.session, t, err)
	}
	if o.asJSON {
		return printJSON(ios.Out, map[string]any{"sessionId": o.session, "deleted": deleted})
	}
	if deleted {
		successf(ios, "Deleted session %s", o.session)
	} else {
		notef(ios, "No session %s; nothing to delete.", o.session)
	}
	return nil
}
