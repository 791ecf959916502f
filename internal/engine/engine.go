package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune an Engine. Zero values take the defaults.
type Options struct {
	// Now is the clock (tests inject one).
	Now func() time.Time
	// ReadPageBytes caps the data of one read response (default 1 MiB).
	ReadPageBytes int
	// RecentBytes and RecentMessages bound the per-stream buffer of
	// recently committed messages that live readers are served from
	// without touching the store (defaults 64 KiB and 64). It costs that
	// much memory per recently written stream at most.
	RecentBytes    int
	RecentMessages int
	// MaxBatchOps caps how many mutations share one commit (default 256).
	MaxBatchOps int
	// AccessFlushDelay is how long a read-only TTL refresh may stay in
	// memory before it is persisted (default 1 s).
	AccessFlushDelay time.Duration
	// SessionTTL is how long a pub/sub session lives without a subscribe
	// or touch (default 30 min).
	SessionTTL time.Duration
	Logger     *slog.Logger
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReadPageBytes <= 0 {
		o.ReadPageBytes = 1 << 20
	}
	if o.RecentBytes <= 0 {
		o.RecentBytes = 64 << 10
	}
	if o.RecentMessages <= 0 {
		o.RecentMessages = 64
	}
	if o.MaxBatchOps <= 0 {
		o.MaxBatchOps = 256
	}
	if o.AccessFlushDelay <= 0 {
		o.AccessFlushDelay = time.Second
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Key names a stream: a project and a stream id within it.
type Key struct{ Project, Name string }

func (k Key) String() string { return k.Project + "/" + k.Name }

// Engine implements the Durable Streams protocol over a Store.
//
// All mutations run one at a time on a single writer goroutine, which
// validates them against in-memory state and commits whatever has queued
// up meanwhile in one store transaction (group commit). Readers never
// block on the writer: they read an immutable view of each stream that is
// replaced after every commit, and they wait on a channel that the commit
// closes.
type Engine struct {
	store Store
	opts  Options
	log   *slog.Logger

	mu      sync.RWMutex // guards streams; written only by the writer
	streams map[Key]*stream

	// writer-only state
	byID        map[int64]*stream
	nextID      int64
	sessions    map[SessionKey]*session
	subscribers map[Key]map[*session]struct{} // source stream → subscribed sessions
	ps          pubsubCounters

	submitMu  sync.RWMutex // guards closed against sends on ops
	closed    bool
	closeOnce sync.Once
	ops       chan *op
	done      chan struct{}

	dirtyMu    sync.Mutex
	dirty      map[*stream]struct{}
	flushArmed bool

	reapKick chan struct{}
	reapStop chan struct{}
	reapDone chan struct{}

	commits atomic.Int64
}

// Open loads the store's state and starts the writer and the expiry reaper.
func Open(ctx context.Context, store Store, opts Options) (*Engine, error) {
	opts.defaults()
	e := &Engine{
		store:    store,
		opts:     opts,
		log:      opts.Logger.With("sys", "engine"),
		ops:      make(chan *op, 1024),
		done:     make(chan struct{}),
		dirty:    map[*stream]struct{}{},
		reapKick: make(chan struct{}, 1),
		reapStop: make(chan struct{}),
		reapDone: make(chan struct{}),
	}
	if err := e.load(ctx); err != nil {
		return nil, err
	}
	go e.writer()
	go e.reaper()
	return e, nil
}

// Close stops accepting mutations, commits the queued ones, persists
// pending TTL refreshes and stops the reaper. It does not close the store.
func (e *Engine) Close() error {
	e.closeOnce.Do(e.close)
	return nil
}

func (e *Engine) close() {
	close(e.reapStop)
	<-e.reapDone
	// Persist read-only TTL refreshes before the writer stops.
	_ = e.submit(func(bc *batchCtx) error { return nil })
	e.submitMu.Lock()
	e.closed = true
	close(e.ops)
	e.submitMu.Unlock()
	<-e.done
}

// Commits reports how many store transactions the writer has committed.
func (e *Engine) Commits() int64 { return e.commits.Load() }

func (e *Engine) now() int64 { return e.opts.Now().UnixMilli() }

// stream is one incarnation of a stream path. Fields above w are fixed at
// creation; w belongs to the writer goroutine; readers use the committed
// view and lastAccess.
type stream struct {
	id          int64
	key         Key
	contentType string
	json        bool
	createdAt   int64
	ttl         int64 // seconds, -1: none
	expiresAt   atomic.Int64
	forkSource  *stream
	forkOffset  int64
	forkSub     int64
	public      bool

	lastAccess atomic.Int64
	readers    atomic.Int64 // live readers (long-poll and SSE) right now

	w wstate

	mu      sync.Mutex
	v       *view
	changed chan struct{}
}

type wstate struct {
	closed    bool
	closedBy  *ProducerTuple
	tail      int64
	lastSeq   string
	producers map[string]*ProducerRecord
	refcount  int64
	soft      bool // deleted, kept for its forks
	gone      bool // deleted for good
	recent    []Message
	counters  Counters
}

// Counters are a stream's own size figures, for inspection.
type Counters struct {
	Messages    int64 // messages appended to this stream (not inherited)
	Bytes       int64 // their payload bytes
	LastWriteMS int64 // unix ms of the last append (creation if none)
}

// view is an immutable snapshot of a stream as last committed.
type view struct {
	tail     int64
	closed   bool
	soft     bool
	gone     bool
	recent   []Message // committed suffix of the stream's own messages
	counters Counters
}

// newView snapshots the writer state for readers.
func (s *stream) newView() *view {
	return &view{tail: s.w.tail, closed: s.w.closed, soft: s.w.soft, gone: s.w.gone, recent: s.w.recent, counters: s.w.counters}
}

func (s *stream) snapshot() (*view, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v, s.changed
}

func (s *stream) publish(v *view) {
	s.mu.Lock()
	s.v = v
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// expired reports whether the stream's TTL or Expires-At has passed.
func (s *stream) expired(nowMS int64) bool {
	if at := s.expiresAt.Load(); at > 0 && nowMS >= at {
		return true
	}
	return s.ttl >= 0 && nowMS >= s.lastAccess.Load()+s.ttl*1000
}

// deadline is when the stream expires if nothing touches it (0: never).
func (s *stream) deadline() int64 {
	d := int64(0)
	if at := s.expiresAt.Load(); at > 0 {
		d = at
	}
	if s.ttl >= 0 {
		t := s.lastAccess.Load() + s.ttl*1000
		if d == 0 || t < d {
			d = t
		}
	}
	return d
}

func (s *stream) record() *StreamRecord {
	r := &StreamRecord{
		ID: s.id, Project: s.key.Project, Name: s.key.Name,
		ContentType: s.contentType, TTLSeconds: s.ttl, ExpiresAtMS: s.expiresAt.Load(),
		CreatedAtMS: s.createdAt, LastAccessMS: s.lastAccess.Load(),
		Closed: s.w.closed, ClosedBy: s.w.closedBy, Tail: s.w.tail, LastStreamSeq: s.w.lastSeq,
		ForkOffset: s.forkOffset, ForkSub: s.forkSub, Refcount: s.w.refcount,
		SoftDeleted: s.w.soft, Public: s.public,
		MessageCount: s.w.counters.Messages, ByteSize: s.w.counters.Bytes, LastWriteMS: s.w.counters.LastWriteMS,
	}
	if s.forkSource != nil {
		r.ForkSource = s.forkSource.id
	}
	return r
}

// load rebuilds all in-memory state from the store. Stream objects that
// already exist (after a failed commit) are reused so that readers holding
// them see the restored state.
//
// extra lists objects the failed batch had already dropped from byID (a
// delete that did not commit), so they are revived rather than replaced.
func (e *Engine) load(ctx context.Context, extra ...*stream) error {
	snap, err := e.store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load streams: %w", err)
	}
	old := make(map[int64]*stream, len(e.byID)+len(extra))
	for id, s := range e.byID {
		old[id] = s
	}
	for _, s := range extra {
		old[s.id] = s
	}
	e.byID = make(map[int64]*stream, len(snap.Streams))
	streams := make(map[Key]*stream, len(snap.Streams))
	// Never hand out an id again, even one whose create failed to commit:
	// ETags and handles name incarnations by id.
	e.nextID = max(e.nextID, 1)
	for i := range snap.Streams {
		r := &snap.Streams[i]
		s := old[r.ID]
		if s == nil {
			// Fields fixed at creation are set only on new objects:
			// readers use reused ones without locks.
			s = &stream{
				id: r.ID, key: Key{r.Project, r.Name},
				contentType: r.ContentType, json: IsJSON(r.ContentType),
				createdAt: r.CreatedAtMS, ttl: r.TTLSeconds,
				forkOffset: r.ForkOffset, forkSub: r.ForkSub, public: r.Public,
			}
		}
		s.expiresAt.Store(r.ExpiresAtMS)
		s.lastAccess.Store(r.LastAccessMS)
		s.w = wstate{
			closed: r.Closed, closedBy: r.ClosedBy, tail: r.Tail, lastSeq: r.LastStreamSeq,
			producers: map[string]*ProducerRecord{}, refcount: r.Refcount, soft: r.SoftDeleted,
			counters: Counters{Messages: r.MessageCount, Bytes: r.ByteSize, LastWriteMS: r.LastWriteMS},
		}
		e.byID[s.id] = s
		streams[s.key] = s
		if s.id >= e.nextID {
			e.nextID = s.id + 1
		}
	}
	for i := range snap.Streams {
		r := &snap.Streams[i]
		if r.ForkSource != 0 {
			src := e.byID[r.ForkSource]
			if src == nil {
				return fmt.Errorf("load streams: stream %d forks missing stream %d", r.ID, r.ForkSource)
			}
			if s := e.byID[r.ID]; s.forkSource == nil {
				s.forkSource = src
			}
		}
	}
	for i := range snap.Producers {
		p := snap.Producers[i]
		if s := e.byID[p.StreamID]; s != nil {
			s.w.producers[p.ProducerID] = &p
		}
	}
	for id, s := range old {
		if e.byID[id] == nil {
			s.w.gone = true
			s.publish(&view{gone: true})
		}
	}
	for _, s := range e.byID {
		s.publish(s.newView())
	}
	e.mu.Lock()
	e.streams = streams
	e.mu.Unlock()
	e.loadPubSub(snap)
	return nil
}

// lookup returns the current incarnation at key, if any.
func (e *Engine) lookup(key Key) *stream {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.streams[key]
}

// ---- writer ----

type op struct {
	run  func(bc *batchCtx) error
	done chan error
}

// batchCtx collects the effects of the ops in one group commit.
type batchCtx struct {
	e       *Engine
	now     int64
	batch   *Batch
	publish map[*stream]struct{} // views to replace after commit
	persist map[*stream]struct{} // records to upsert
	kick    bool                 // a new expiry deadline exists
}

func (e *Engine) submit(fn func(bc *batchCtx) error) error {
	e.submitMu.RLock()
	if e.closed {
		e.submitMu.RUnlock()
		return ErrUnavailable
	}
	o := &op{run: fn, done: make(chan error, 1)}
	e.ops <- o
	e.submitMu.RUnlock()
	return <-o.done
}

func (e *Engine) writer() {
	defer close(e.done)
	for {
		first, ok := <-e.ops
		if !ok {
			return
		}
		bc := &batchCtx{e: e, now: e.now(), batch: &Batch{Streams: map[int64]*StreamRecord{},
			Sessions: map[SessionKey]*SessionRecord{}, Subscriptions: map[SubscriptionKey]*SubscriptionRecord{}},
			publish: map[*stream]struct{}{}, persist: map[*stream]struct{}{}}
		ops := []*op{first}
		errs := []error{bc.run(first)}
	drain:
		for len(ops) < e.opts.MaxBatchOps {
			select {
			case o, ok := <-e.ops:
				if !ok {
					break drain
				}
				ops = append(ops, o)
				errs = append(errs, bc.run(o))
			default:
				break drain
			}
		}
		if err := e.commit(bc); err != nil {
			e.log.Error("commit failed; reloading state from the store", "err", err, "ops", len(ops))
			dropped := make([]*stream, 0, len(bc.publish))
			for s := range bc.publish {
				dropped = append(dropped, s)
			}
			if lerr := e.load(context.Background(), dropped...); lerr != nil {
				e.log.Error("reload failed", "err", lerr)
			}
			for i := range errs {
				if errs[i] == nil {
					errs[i] = fmt.Errorf("%w: %v", ErrUnavailable, err)
				}
			}
		}
		for i, o := range ops {
			o.done <- errs[i]
		}
	}
}

func (bc *batchCtx) run(o *op) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: internal error: %v", ErrUnavailable, r)
		}
	}()
	return o.run(bc)
}

func (bc *batchCtx) touch(s *stream) {
	bc.publish[s] = struct{}{}
	bc.persist[s] = struct{}{}
}

func (e *Engine) commit(bc *batchCtx) error {
	e.dirtyMu.Lock()
	for s := range e.dirty {
		bc.persist[s] = struct{}{}
	}
	clear(e.dirty)
	e.dirtyMu.Unlock()
	for s := range bc.persist {
		if !s.w.gone {
			bc.batch.Streams[s.id] = s.record()
		}
	}
	if !bc.batch.Empty() {
		if err := e.store.Commit(context.Background(), bc.batch); err != nil {
			return err
		}
		e.commits.Add(1)
	}
	for s := range bc.publish {
		s.w.recent = trimRecent(s.w.recent, e.opts.RecentMessages, e.opts.RecentBytes)
		s.publish(s.newView())
	}
	if bc.kick {
		e.kickReaper()
	}
	return nil
}

func trimRecent(msgs []Message, maxMsgs, maxBytes int) []Message {
	size := 0
	i := len(msgs)
	for i > 0 && len(msgs)-i < maxMsgs && size+len(msgs[i-1].Data) <= maxBytes {
		size += len(msgs[i-1].Data)
		i--
	}
	return msgs[i:]
}

// markDirty records a read-only TTL refresh to persist with the next
// commit, arming a flush so it is not lost if no write follows.
func (e *Engine) markDirty(s *stream) {
	e.dirtyMu.Lock()
	e.dirty[s] = struct{}{}
	arm := !e.flushArmed
	e.flushArmed = true
	e.dirtyMu.Unlock()
	if arm {
		time.AfterFunc(e.opts.AccessFlushDelay, func() {
			e.dirtyMu.Lock()
			e.flushArmed = false
			e.dirtyMu.Unlock()
			_ = e.submit(func(bc *batchCtx) error { return nil })
		})
	}
}

// touchAccess refreshes the TTL window of s. It never revives a stream
// whose window has already closed: that one waits for the reaper.
func (e *Engine) touchAccess(s *stream) {
	now := e.now()
	for {
		last := s.lastAccess.Load()
		if s.ttl >= 0 && now >= last+s.ttl*1000 {
			return
		}
		if s.lastAccess.CompareAndSwap(last, now) {
			break
		}
	}
	if s.ttl >= 0 {
		e.markDirty(s)
	}
}

// access refreshes the TTL window of s as part of this batch.
func (bc *batchCtx) access(s *stream) {
	s.lastAccess.Store(bc.now)
	bc.persist[s] = struct{}{}
}

// current returns the live incarnation at key for a mutation, expiring it
// first when its time has passed.
func (bc *batchCtx) current(key Key) *stream {
	s := bc.e.lookup(key)
	if s != nil && !s.w.soft && s.expired(bc.now) {
		bc.expire(s)
		s = bc.e.lookup(key)
	}
	return s
}

// expire removes a stream whose time has passed; one with live forks is
// kept (soft-deleted) for them.
func (bc *batchCtx) expire(s *stream) {
	if s.w.gone || s.w.soft {
		return
	}
	if s.w.refcount > 0 {
		s.w.soft = true
		bc.touch(s)
		return
	}
	if IsSessionStream(s.key.Name) {
		bc.e.ps.expired.Add(1)
	}
	bc.hardDelete(s)
}

// hardDelete drops a stream and its data, releasing its fork source, which
// is dropped too when it was only kept for this fork.
func (bc *batchCtx) hardDelete(s *stream) {
	e := bc.e
	e.mu.Lock()
	if e.streams[s.key] == s {
		delete(e.streams, s.key)
	}
	e.mu.Unlock()
	delete(e.byID, s.id)
	s.w.gone = true
	s.w.recent = nil
	bc.batch.Deletes = append(bc.batch.Deletes, s.id)
	bc.publish[s] = struct{}{}
	delete(bc.persist, s)
	bc.onHardDelete(s)
	if src := s.forkSource; src != nil && !src.w.gone {
		src.w.refcount--
		bc.touch(src)
		if src.w.refcount <= 0 && src.w.soft {
			bc.hardDelete(src)
		}
	}
}

// ---- errors for missing streams ----

func notFound(key Key) error { return fmt.Errorf("%w: %s", ErrNotFound, key.Name) }
func gone(key Key) error     { return fmt.Errorf("%w: %s", ErrGone, key.Name) }

// IsNotFound reports whether err means the stream does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
