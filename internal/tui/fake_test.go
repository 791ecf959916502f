package tui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dsctl/dsctl/internal/client"
)

// fakeSource is an in-memory server for the models: streams with live
// follows, sessions with fan-out, and a switch that makes it unreachable.
// It records the appends and publishes the UI makes.
type fakeSource struct {
	mu       sync.Mutex
	now      func() time.Time
	streams  map[string]*fakeStream
	sessions map[string]*fakeSession
	changed  chan struct{} // closed and replaced on every change
	down     bool

	appends   []fakeWrite
	publishes []fakeWrite
	deletes   []string
	follows   []string // "id@from" of every Follow started
}

type fakeStream struct {
	id, ct             string
	msgs               [][]byte
	closed             bool
	readers            int64
	created, lastWrite time.Time
}

type fakeSession struct {
	subs    map[string]time.Time
	expires time.Time
}

type fakeWrite struct {
	id, ct, body string
	close        bool
}

func newFake(now func() time.Time) *fakeSource {
	return &fakeSource{now: now, streams: map[string]*fakeStream{}, sessions: map[string]*fakeSession{}, changed: make(chan struct{})}
}

// add creates a stream with messages, last written ago before now.
func (f *fakeSource) add(id, ct string, ago time.Duration, msgs ...string) *fakeStream {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fakeStream{id: id, ct: ct, created: f.now().Add(-time.Hour), lastWrite: f.now().Add(-ago)}
	for _, m := range msgs {
		s.msgs = append(s.msgs, []byte(m))
	}
	f.streams[id] = s
	f.kick()
	return s
}

// write appends as another client would (not recorded).
func (f *fakeSource) write(id, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appendLocked(f.streams[id], []byte(body))
}

func (f *fakeSource) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
	f.kick()
}

func (f *fakeSource) recorded() (appends, publishes []fakeWrite) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeWrite(nil), f.appends...), append([]fakeWrite(nil), f.publishes...)
}

func (f *fakeSource) kick() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeSource) appendLocked(s *fakeStream, body []byte) {
	s.msgs = append(s.msgs, body)
	s.lastWrite = f.now()
	f.kick()
}

var errRefused = &url.Error{Op: "Get", URL: "http://127.0.0.1:4437/v1/default/streams", Err: syscall.ECONNREFUSED}

func notFound(what string) error {
	return &client.APIError{Status: 404, Code: "NOT_FOUND", Message: what + " not found"}
}

func offsetOf(pos int) string { return fmt.Sprintf("%016d_%016d", 0, pos) }

func (f *fakeSource) summary(s *fakeStream) client.StreamSummary {
	var size int64
	for _, m := range s.msgs {
		size += int64(len(m))
	}
	return client.StreamSummary{
		ID: s.id, Path: "/v1/stream/" + s.id, ContentType: s.ct, SizeBytes: size, Messages: int64(len(s.msgs)),
		TailOffset: offsetOf(len(s.msgs)), Closed: s.closed, CreatedAt: s.created, LastWriteAt: s.lastWrite, Readers: s.readers,
	}
}

func (f *fakeSource) AllStreams(ctx context.Context) ([]client.StreamSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errRefused
	}
	var out []client.StreamSummary
	for _, s := range f.streams {
		out = append(out, f.summary(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeSource) InspectStream(ctx context.Context, id string) (*client.StreamDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errRefused
	}
	s := f.streams[id]
	if s == nil {
		return nil, notFound("stream " + id)
	}
	return &client.StreamDetail{StreamSummary: f.summary(s)}, nil
}

func (f *fakeSource) Follow(ctx context.Context, id, from string, o client.FollowOptions, fn func(*client.Batch) error) error {
	f.mu.Lock()
	f.follows = append(f.follows, id+"@"+from)
	f.mu.Unlock()
	pos := -1
	attempt := 0
	connected := false // false until the first answer after (re)connecting
	for {
		f.mu.Lock()
		changed, down, s := f.changed, f.down, f.streams[id]
		var b *client.Batch
		switch {
		case down:
		case s == nil:
			f.mu.Unlock()
			return notFound("stream " + id)
		default:
			if pos < 0 {
				switch from {
				case "now":
					pos = len(s.msgs)
				case "start", "-1", "":
					pos = 0
				default:
					_, p, _ := strings.Cut(from, "_")
					n, err := strconv.Atoi(p)
					if err != nil {
						f.mu.Unlock()
						return &client.APIError{Status: 400, Message: "bad offset"}
					}
					pos = min(n, len(s.msgs))
				}
			}
			if !connected || pos < len(s.msgs) || s.closed {
				b = &client.Batch{UpToDate: true}
				for ; pos < len(s.msgs); pos++ {
					b.Messages = append(b.Messages, client.Message{Offset: offsetOf(pos), Data: s.msgs[pos]})
				}
				b.NextOffset, b.Closed, b.JSON = offsetOf(pos), s.closed, client.IsJSON(s.ct)
			}
		}
		f.mu.Unlock()
		if down {
			connected = false
			attempt++
			if o.OnReconnect != nil {
				o.OnReconnect(errRefused, attempt)
			}
		}
		if b != nil {
			connected, attempt = true, 0
			if err := fn(b); err != nil {
				return err
			}
			if b.Closed {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

func (f *fakeSource) Append(ctx context.Context, id, ct string, body []byte, o client.AppendOptions) (*client.AppendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errRefused
	}
	s := f.streams[id]
	if s == nil {
		return nil, notFound("stream " + id)
	}
	f.appends = append(f.appends, fakeWrite{id: id, ct: ct, body: string(body), close: o.Close})
	if s.closed {
		return nil, &client.APIError{Status: 409, Message: "stream is closed"}
	}
	if len(body) > 0 {
		f.appendLocked(s, body)
	}
	if o.Close {
		s.closed = true
		f.kick()
	}
	return &client.AppendResult{NextOffset: offsetOf(len(s.msgs)), Closed: s.closed}, nil
}

func (f *fakeSource) Delete(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errRefused
	}
	if f.streams[id] == nil {
		return notFound("stream " + id)
	}
	f.deletes = append(f.deletes, id)
	delete(f.streams, id)
	f.kick()
	return nil
}

func (f *fakeSource) sessionLocked(id string) *client.Session {
	sess := f.sessions[id]
	if sess == nil {
		return nil
	}
	out := &client.Session{SessionID: id, SessionStreamPath: "/v1/stream/session:" + id, ExpiresAt: sess.expires, Subscriptions: []client.Subscription{}}
	for sid, at := range sess.subs {
		out.Subscriptions = append(out.Subscriptions, client.Subscription{StreamID: sid, SubscribedAt: at})
	}
	sort.Slice(out.Subscriptions, func(i, j int) bool { return out.Subscriptions[i].StreamID < out.Subscriptions[j].StreamID })
	return out
}

// startSessionLocked creates a session and its stream.
func (f *fakeSource) startSessionLocked(id, ct string) {
	f.sessions[id] = &fakeSession{subs: map[string]time.Time{}}
	f.streams["session:"+id] = &fakeStream{id: "session:" + id, ct: ct, created: f.now(), lastWrite: f.now()}
	f.kick()
}

func (f *fakeSource) Subscribe(ctx context.Context, streamID, sessionID string) (*client.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errRefused
	}
	src := f.streams[streamID]
	if src == nil {
		return nil, notFound("stream " + streamID)
	}
	isNew := f.sessions[sessionID] == nil
	if isNew {
		f.startSessionLocked(sessionID, src.ct)
	}
	sess := f.sessions[sessionID]
	sess.expires = f.now().Add(30 * time.Minute)
	if _, ok := sess.subs[streamID]; !ok {
		sess.subs[streamID] = f.now()
	}
	out := f.sessionLocked(sessionID)
	out.IsNewSession = isNew
	return out, nil
}

func (f *fakeSource) Unsubscribe(ctx context.Context, streamID, sessionID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return false, errRefused
	}
	sess := f.sessions[sessionID]
	if sess == nil {
		return false, nil
	}
	_, ok := sess.subs[streamID]
	delete(sess.subs, streamID)
	return ok, nil
}

func (f *fakeSource) GetSession(ctx context.Context, sessionID string) (*client.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errRefused
	}
	if s := f.sessionLocked(sessionID); s != nil {
		return s, nil
	}
	return nil, notFound("session " + sessionID)
}

func (f *fakeSource) TouchSession(ctx context.Context, sessionID string) (*client.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errRefused
	}
	isNew := f.sessions[sessionID] == nil
	if isNew {
		f.startSessionLocked(sessionID, "application/json")
	}
	f.sessions[sessionID].expires = f.now().Add(30 * time.Minute)
	out := f.sessionLocked(sessionID)
	out.IsNewSession = isNew
	return out, nil
}

func (f *fakeSource) DeleteSession(ctx context.Context, sessionID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return false, errRefused
	}
	if f.sessions[sessionID] == nil {
		return false, nil
	}
	delete(f.sessions, sessionID)
	delete(f.streams, "session:"+sessionID)
	f.kick()
	return true, nil
}

func (f *fakeSource) Publish(ctx context.Context, streamID, ct string, body []byte, o client.AppendOptions) (*client.AppendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errRefused
	}
	s := f.streams[streamID]
	if s == nil {
		return nil, notFound("stream " + streamID)
	}
	if strings.HasPrefix(streamID, "session:") {
		return nil, errors.New("reserved")
	}
	f.publishes = append(f.publishes, fakeWrite{id: streamID, ct: ct, body: string(body)})
	f.appendLocked(s, body)
	fanout := 0
	ids := make([]string, 0, len(f.sessions))
	for id := range f.sessions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, ok := f.sessions[id].subs[streamID]; ok {
			f.appendLocked(f.streams["session:"+id], body)
			fanout++
		}
	}
	return &client.AppendResult{NextOffset: offsetOf(len(s.msgs)), FanoutCount: fanout}, nil
}
