package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// Pub/sub: a session subscribes to source streams; a publish appends to
// the source and copies the new messages into the stream session:<id> of
// every subscribed session. The source append and all the copies are made
// by one writer op, so they commit in the same transaction: all or
// nothing, in source order. Each subscription remembers the source
// position delivered to it, so nothing is delivered twice and a late
// subscriber only sees later publishes.

// SessionPrefix starts the id of every session stream. Clients may read
// these streams but not create, append to, close or delete them.
const SessionPrefix = "session:"

// DefaultSessionTTL is how long a session lives without a subscribe or
// touch (as in the original).
const DefaultSessionTTL = 30 * time.Minute

// IsSessionStream reports whether a stream id is reserved for a session.
func IsSessionStream(name string) bool { return strings.HasPrefix(name, SessionPrefix) }

// ValidPubSubID reports whether a session or stream id is acceptable to
// the pub/sub API: 1-256 characters from [A-Za-z0-9_-:.].
func ValidPubSubID(s string) bool { return ValidProducerID(s) }

func reserved(key Key) error {
	if IsSessionStream(key.Name) {
		return &RequestError{Kind: ErrReservedStream, Msg: fmt.Sprintf(
			"stream %q is reserved: ids starting with %q belong to pub/sub sessions; use /subscribe, /publish and /session", key.Name, SessionPrefix)}
	}
	return nil
}

type session struct {
	key       SessionKey
	createdAt int64
	expiresAt int64
	subs      map[string]*subscription // by source stream id
}

type subscription struct {
	streamID      string
	subscribedAt  int64
	lastDelivered int64
}

func (s *session) streamKey() Key { return Key{s.key.Project, SessionPrefix + s.key.SessionID} }

// PubSubStats counts pub/sub events since start.
type PubSubStats struct {
	Publishes        int64
	FanoutDeliveries int64
	Subscribes       int64
	SessionsExpired  int64
}

type pubsubCounters struct {
	publishes, deliveries, subscribes, expired atomic.Int64
}

// PubSubStats returns the pub/sub counters.
func (e *Engine) PubSubStats() PubSubStats {
	return PubSubStats{
		Publishes: e.ps.publishes.Load(), FanoutDeliveries: e.ps.deliveries.Load(),
		Subscribes: e.ps.subscribes.Load(), SessionsExpired: e.ps.expired.Load(),
	}
}

// loadPubSub rebuilds sessions from the snapshot; a session whose stream
// is missing is dropped (its stream is its lifetime).
func (e *Engine) loadPubSub(snap *Snapshot) {
	e.sessions = map[SessionKey]*session{}
	e.subscribers = map[Key]map[*session]struct{}{}
	for _, r := range snap.Sessions {
		sess := &session{key: r.SessionKey, createdAt: r.CreatedAtMS, expiresAt: r.ExpiresAtMS, subs: map[string]*subscription{}}
		if e.streams[sess.streamKey()] == nil {
			continue
		}
		e.sessions[r.SessionKey] = sess
	}
	for _, r := range snap.Subscriptions {
		sess := e.sessions[r.SessionKey]
		if sess == nil {
			continue
		}
		sess.subs[r.StreamID] = &subscription{streamID: r.StreamID, subscribedAt: r.SubscribedAtMS, lastDelivered: r.LastDelivered}
		e.index(sess, r.StreamID)
	}
}

func (e *Engine) index(sess *session, streamID string) {
	k := Key{sess.key.Project, streamID}
	if e.subscribers[k] == nil {
		e.subscribers[k] = map[*session]struct{}{}
	}
	e.subscribers[k][sess] = struct{}{}
}

func (e *Engine) unindex(sess *session, streamID string) {
	k := Key{sess.key.Project, streamID}
	delete(e.subscribers[k], sess)
	if len(e.subscribers[k]) == 0 {
		delete(e.subscribers, k)
	}
}

func (bc *batchCtx) putSession(sess *session) {
	bc.batch.Sessions[sess.key] = &SessionRecord{SessionKey: sess.key, CreatedAtMS: sess.createdAt, ExpiresAtMS: sess.expiresAt}
}

func (bc *batchCtx) putSub(sess *session, sub *subscription) {
	k := SubscriptionKey{sess.key, sub.streamID}
	bc.batch.Subscriptions[k] = &SubscriptionRecord{SubscriptionKey: k, SubscribedAtMS: sub.subscribedAt, LastDelivered: sub.lastDelivered}
}

func (bc *batchCtx) removeSub(sess *session, streamID string) {
	delete(sess.subs, streamID)
	bc.e.unindex(sess, streamID)
	bc.batch.Subscriptions[SubscriptionKey{sess.key, streamID}] = nil
}

// dropSession forgets a session and its subscriptions (its stream is
// being deleted by the caller).
func (bc *batchCtx) dropSession(sess *session) {
	for id := range sess.subs {
		bc.e.unindex(sess, id)
		delete(bc.batch.Subscriptions, SubscriptionKey{sess.key, id})
	}
	delete(bc.e.sessions, sess.key)
	bc.batch.Sessions[sess.key] = nil
}

// onHardDelete keeps pub/sub state in step with a stream that is gone:
// a session stream takes its session along; a source stream takes its
// subscriptions (a stream re-created under that name starts afresh).
func (bc *batchCtx) onHardDelete(s *stream) {
	e := bc.e
	if IsSessionStream(s.key.Name) {
		sk := SessionKey{s.key.Project, strings.TrimPrefix(s.key.Name, SessionPrefix)}
		if sess := e.sessions[sk]; sess != nil {
			bc.dropSession(sess)
		}
	}
	for sess := range e.subscribers[s.key] {
		bc.removeSub(sess, s.key.Name)
	}
}

// liveSession returns the session and its stream, expiring both first if
// their time has passed; nil when there is none.
func (bc *batchCtx) liveSession(sk SessionKey) (*session, *stream) {
	sess := bc.e.sessions[sk]
	if sess == nil {
		return nil, nil
	}
	ss := bc.current(sess.streamKey()) // expires it, and so the session, when due
	if bc.e.sessions[sk] == nil || ss == nil {
		return nil, nil
	}
	return sess, ss
}

// startSession creates a session and its stream with content type ct.
// A stream of that name without a session (written before session: ids
// were reserved) is never taken over or deleted: that is a conflict.
func (bc *batchCtx) startSession(sk SessionKey, ct string) (*session, *stream, error) {
	e := bc.e
	sess := &session{key: sk, createdAt: bc.now, subs: map[string]*subscription{}}
	if old := bc.current(sess.streamKey()); old != nil {
		return nil, nil, conflict("stream %s exists but is not a pub/sub session; pick another session id", old.key.Name)
	}
	ss := bc.newStream(sess.streamKey(), ct, -1, 0)
	bc.register(ss)
	e.sessions[sk] = sess
	return sess, ss, nil
}

// extend moves the session's expiry to now + the session TTL.
func (bc *batchCtx) extend(sess *session, ss *stream) {
	sess.expiresAt = bc.now + bc.e.opts.SessionTTL.Milliseconds()
	ss.expiresAt.Store(sess.expiresAt)
	bc.touch(ss)
	bc.putSession(sess)
	bc.kick = true
}

// SessionInfo describes a session.
type SessionInfo struct {
	Project       string
	SessionID     string
	StreamPath    Key
	ExpiresAt     time.Time
	CreatedAt     time.Time
	Subscriptions []SubscriptionInfo
	// IsNew is set by Subscribe when it created the session.
	IsNew bool
}

// SubscriptionInfo is one subscription of a session.
type SubscriptionInfo struct {
	StreamID     string
	SubscribedAt time.Time
}

func (sess *session) info() *SessionInfo {
	in := &SessionInfo{
		Project: sess.key.Project, SessionID: sess.key.SessionID, StreamPath: sess.streamKey(),
		ExpiresAt: time.UnixMilli(sess.expiresAt).UTC(), CreatedAt: time.UnixMilli(sess.createdAt).UTC(),
		Subscriptions: []SubscriptionInfo{},
	}
	for _, sub := range sess.subs {
		in.Subscriptions = append(in.Subscriptions, SubscriptionInfo{StreamID: sub.streamID, SubscribedAt: time.UnixMilli(sub.subscribedAt).UTC()})
	}
	sort.Slice(in.Subscriptions, func(i, j int) bool { return in.Subscriptions[i].StreamID < in.Subscriptions[j].StreamID })
	return in
}

func checkIDs(streamID, sessionID string) error {
	if streamID != "" && !ValidPubSubID(streamID) {
		return badRequest("invalid streamId %q: want 1-256 characters from A-Z a-z 0-9 _ - : .", clip(streamID))
	}
	if !ValidPubSubID(sessionID) {
		return badRequest("invalid sessionId %q: want 1-256 characters from A-Z a-z 0-9 _ - : .", clip(sessionID))
	}
	return nil
}

// Subscribe subscribes a session (created if new, with a stream of the
// source's content type) to a stream, and extends the session's life.
// Subscribing again is a no-op apart from the extension.
func (e *Engine) Subscribe(ctx context.Context, project, streamID, sessionID string) (*SessionInfo, error) {
	if err := checkIDs(streamID, sessionID); err != nil {
		return nil, err
	}
	var out *SessionInfo
	err := e.submit(func(bc *batchCtx) error {
		key := Key{project, streamID}
		if err := reserved(key); err != nil {
			return err
		}
		src := bc.current(key)
		if src == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, streamID)
		}
		if src.w.soft {
			return gone(key)
		}
		sk := SessionKey{project, sessionID}
		sess, ss := bc.liveSession(sk)
		isNew := sess == nil
		if !isNew && MediaType(ss.contentType) != MediaType(src.contentType) {
			if ss.w.tail > 0 || len(sess.subs) > 0 {
				return fmt.Errorf("%w: session %s carries %s; stream %s is %s (a session's streams must share one content type)",
					ErrContentType, sessionID, MediaType(ss.contentType), streamID, MediaType(src.contentType))
			}
			// An empty session made by touch takes its first source's type.
			bc.hardDelete(ss)
			isNew = true
		}
		if isNew {
			var err error
			if sess, ss, err = bc.startSession(sk, src.contentType); err != nil {
				return err
			}
		}
		bc.extend(sess, ss)
		if sess.subs[streamID] == nil {
			sub := &subscription{streamID: streamID, subscribedAt: bc.now, lastDelivered: src.w.tail}
			sess.subs[streamID] = sub
			e.index(sess, streamID)
			bc.putSub(sess, sub)
		}
		out = sess.info()
		out.IsNew = isNew
		return nil
	})
	if err != nil {
		return nil, opError("subscribe "+sessionID+" to "+streamID, err)
	}
	e.ps.subscribes.Add(1)
	return out, nil
}

// Unsubscribe removes a subscription; it reports whether there was one.
func (e *Engine) Unsubscribe(ctx context.Context, project, streamID, sessionID string) (bool, error) {
	if err := checkIDs(streamID, sessionID); err != nil {
		return false, err
	}
	if streamID == "" {
		return false, badRequest("streamId is required")
	}
	removed := false
	err := e.submit(func(bc *batchCtx) error {
		sess, _ := bc.liveSession(SessionKey{project, sessionID})
		if sess != nil && sess.subs[streamID] != nil {
			bc.removeSub(sess, streamID)
			removed = true
		}
		return nil
	})
	if err != nil {
		return false, opError("unsubscribe "+sessionID+" from "+streamID, err)
	}
	return removed, nil
}

// Session returns a live session.
func (e *Engine) Session(ctx context.Context, project, sessionID string) (*SessionInfo, error) {
	if err := checkIDs("", sessionID); err != nil {
		return nil, err
	}
	var out *SessionInfo
	err := e.submit(func(bc *batchCtx) error {
		sess, _ := bc.liveSession(SessionKey{project, sessionID})
		if sess == nil {
			return fmt.Errorf("%w: session %s", ErrNotFound, sessionID)
		}
		out = sess.info()
		return nil
	})
	return out, err
}

// TouchSession extends a session's life, creating it (with an empty JSON
// stream, re-typed by its first subscription) when it does not exist.
func (e *Engine) TouchSession(ctx context.Context, project, sessionID string) (*SessionInfo, error) {
	if err := checkIDs("", sessionID); err != nil {
		return nil, err
	}
	var out *SessionInfo
	err := e.submit(func(bc *batchCtx) error {
		sk := SessionKey{project, sessionID}
		sess, ss := bc.liveSession(sk)
		isNew := sess == nil
		if isNew {
			var err error
			if sess, ss, err = bc.startSession(sk, "application/json"); err != nil {
				return err
			}
		}
		bc.extend(sess, ss)
		out = sess.info()
		out.IsNew = isNew
		return nil
	})
	if err != nil {
		return nil, opError("touch session "+sessionID, err)
	}
	return out, nil
}

// DeleteSession deletes a session, its subscriptions and its stream; it
// reports whether there was one.
func (e *Engine) DeleteSession(ctx context.Context, project, sessionID string) (bool, error) {
	if err := checkIDs("", sessionID); err != nil {
		return false, err
	}
	existed := false
	err := e.submit(func(bc *batchCtx) error {
		sess, ss := bc.liveSession(SessionKey{project, sessionID})
		if sess == nil {
			return nil
		}
		existed = true
		bc.hardDelete(ss) // takes the session along
		return nil
	})
	if err != nil {
		return false, opError("delete session "+sessionID, err)
	}
	return existed, nil
}

// PublishResult is a publish's source append plus its fan-out.
type PublishResult struct {
	AppendResult
	// Fanout is how many session streams received the messages.
	Fanout int
}

// Publish appends to a source stream and fans the new messages out to
// every subscribed session, all in one commit. A retried producer write
// (a duplicate) appends and fans out nothing.
func (e *Engine) Publish(ctx context.Context, key Key, req AppendRequest) (*PublishResult, error) {
	if err := reserved(key); err != nil {
		return nil, err
	}
	if req.Close {
		return nil, badRequest("publish cannot close a stream: POST Stream-Closed: true to the stream itself")
	}
	if req.Producer != nil && !ValidProducerID(req.Producer.ID) {
		return nil, badRequest("invalid Producer-Id: want 1-256 characters from A-Z a-z 0-9 _ - : .")
	}
	pre := splitJSONEarly(req.ContentType, req.Body)
	var out *PublishResult
	err := e.submit(func(bc *batchCtx) error {
		var oldTail int64
		if src := bc.current(key); src != nil {
			oldTail = src.w.tail
		}
		res, err := bc.append(key, req, pre)
		if err != nil {
			return err
		}
		out = &PublishResult{AppendResult: *res}
		if res.Duplicate {
			return nil
		}
		out.Fanout = bc.fanout(key, oldTail, res.NextOffset)
		return nil
	})
	if err != nil {
		return nil, opError("publish to "+key.String(), err)
	}
	e.ps.publishes.Add(1)
	e.ps.deliveries.Add(int64(out.Fanout))
	return out, nil
}

// fanout copies the source messages in [from, to) to every subscribed
// session that has not had them, in session-id order.
func (bc *batchCtx) fanout(key Key, from, to int64) int {
	e := bc.e
	src := e.lookup(key)
	var msgs [][]byte
	for _, m := range src.w.recent { // holds at least everything uncommitted
		if m.Start >= from && m.End <= to {
			msgs = append(msgs, m.Data)
		}
	}
	subs := make([]*session, 0, len(e.subscribers[key]))
	for sess := range e.subscribers[key] {
		subs = append(subs, sess)
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].key.SessionID < subs[j].key.SessionID })
	n := 0
	for _, sess := range subs {
		sub := sess.subs[key.Name]
		if sub == nil || sub.lastDelivered >= to {
			continue
		}
		sess2, ss := bc.liveSession(sess.key)
		if sess2 == nil {
			continue // expired just now; liveSession dropped it
		}
		deliver := msgs
		if sub.lastDelivered > from { // never deliver a message twice
			deliver = nil
			for _, m := range src.w.recent {
				if m.Start >= sub.lastDelivered && m.End <= to {
					deliver = append(deliver, m.Data)
				}
			}
		}
		bc.appendMessages(ss, deliver)
		bc.touch(ss)
		sub.lastDelivered = to
		bc.putSub(sess, sub)
		n++
	}
	return n
}
