// Package sqlite is the durable engine.Store, on modernc.org/sqlite (pure
// Go, no cgo). One database file in WAL mode; a single-connection write
// pool commits the engine's group-commit batches, and a separate
// query-only pool serves reads so they never take the write lock.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dsctl/dsctl/internal/engine"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database file inside the data directory.
const FileName = "dsctl.db"

// Durability selects what an acknowledged commit survives.
type Durability string

const (
	// Full fsyncs the WAL on every commit: commits survive power loss.
	Full Durability = "full"
	// Relaxed syncs at checkpoints only: commits survive a process crash
	// (kill -9) but the last ones may be lost on power loss.
	Relaxed Durability = "relaxed"
)

// ParseDurability validates a --durability value.
func ParseDurability(s string) (Durability, error) {
	switch Durability(s) {
	case Full, Relaxed:
		return Durability(s), nil
	}
	return "", fmt.Errorf("unknown durability %q: want full or relaxed", s)
}

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite engine.Store.
type Store struct {
	path  string
	write *sql.DB
	read  *sql.DB

	upsertStream   *sql.Stmt
	insertMessage  *sql.Stmt
	upsertProducer *sql.Stmt
	deleteStream   [3]*sql.Stmt
	readRange      *sql.Stmt

	putSession      *sql.Stmt
	deleteSession   [2]*sql.Stmt
	putSubscription *sql.Stmt
	deleteSub       *sql.Stmt
}

// Open opens (creating if needed) the database in dir and runs migrations.
func Open(ctx context.Context, dir string, durability Durability) (*Store, error) {
	if durability == "" {
		durability = Full
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// The database holds project signing secrets: create it private.
	// SQLite gives its -wal and -shm files the same mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	} else {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sync := "FULL"
	if durability == Relaxed {
		sync = "NORMAL"
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	// busy_timeout first so the other pragmas wait rather than fail.
	common := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	write, err := sql.Open("sqlite", base+"?"+common+"&_pragma=synchronous("+sync+")&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	s := &Store{path: path, write: write}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", base+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	s.read = read
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := migrations.ReadDir("migrations")
	if err != nil {
		return err
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name() < names[j].Name() })
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	for _, n := range names {
		version := strings.TrimSuffix(n.Name(), ".sql")
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = ?`, version).Scan(&one)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("migrate: %w", err)
		}
		body, err := migrations.ReadFile("migrations/" + n.Name())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, version); err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
	}
	return tx.Commit()
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	prep := func(db *sql.DB, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, q)
		return st
	}
	s.upsertStream = prep(s.write, `INSERT INTO streams (id, project, name, content_type, ttl_seconds, expires_at_ms,
		created_at_ms, last_access_ms, closed, closed_by_id, closed_by_epoch, closed_by_seq, tail, last_stream_seq,
		fork_source, fork_offset, fork_sub, refcount, soft_deleted, public, message_count, byte_size, last_write_ms)
		VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23)
		ON CONFLICT(id) DO UPDATE SET expires_at_ms=?6, last_access_ms=?8, closed=?9, closed_by_id=?10,
		closed_by_epoch=?11, closed_by_seq=?12, tail=?13, last_stream_seq=?14, refcount=?18, soft_deleted=?19,
		message_count=?21, byte_size=?22, last_write_ms=?23`)
	s.insertMessage = prep(s.write, `INSERT INTO messages (stream_id, start_pos, end_pos, batch_end, data) VALUES (?,?,?,?,?)`)
	s.upsertProducer = prep(s.write, `INSERT INTO producers (stream_id, producer_id, epoch, last_seq, last_offset, updated_at_ms)
		VALUES (?1,?2,?3,?4,?5,?6) ON CONFLICT(stream_id, producer_id) DO UPDATE SET epoch=?3, last_seq=?4, last_offset=?5, updated_at_ms=?6`)
	s.deleteStream[0] = prep(s.write, `DELETE FROM messages WHERE stream_id = ?`)
	s.deleteStream[1] = prep(s.write, `DELETE FROM producers WHERE stream_id = ?`)
	s.deleteStream[2] = prep(s.write, `DELETE FROM streams WHERE id = ?`)
	s.putSession = prep(s.write, `INSERT INTO sessions (project, session_id, created_at_ms, expires_at_ms) VALUES (?1,?2,?3,?4)
		ON CONFLICT(project, session_id) DO UPDATE SET expires_at_ms=?4`)
	s.deleteSession[0] = prep(s.write, `DELETE FROM subscriptions WHERE project = ? AND session_id = ?`)
	s.deleteSession[1] = prep(s.write, `DELETE FROM sessions WHERE project = ? AND session_id = ?`)
	s.putSubscription = prep(s.write, `INSERT INTO subscriptions (project, session_id, stream_id, subscribed_at_ms, last_delivered)
		VALUES (?1,?2,?3,?4,?5) ON CONFLICT(project, session_id, stream_id) DO UPDATE SET last_delivered=?5`)
	s.deleteSub = prep(s.write, `DELETE FROM subscriptions WHERE project = ? AND session_id = ? AND stream_id = ?`)
	// The subquery finds the message containing from (a byte read may
	// start mid-message) using the primary key, so the scan is indexed.
	s.readRange = prep(s.read, `SELECT start_pos, end_pos, batch_end, data FROM messages
		WHERE stream_id = ?1
		  AND start_pos >= COALESCE((SELECT MAX(start_pos) FROM messages WHERE stream_id = ?1 AND start_pos <= ?2), 0)
		  AND start_pos < ?3
		ORDER BY start_pos`)
	if err != nil {
		return fmt.Errorf("prepare statements: %w", err)
	}
	return nil
}

// Load implements engine.Store.
func (s *Store) Load(ctx context.Context) (*engine.Snapshot, error) {
	snap := &engine.Snapshot{}
	rows, err := s.write.QueryContext(ctx, `SELECT id, project, name, content_type, ttl_seconds, expires_at_ms,
		created_at_ms, last_access_ms, closed, closed_by_id, closed_by_epoch, closed_by_seq, tail, last_stream_seq,
		fork_source, fork_offset, fork_sub, refcount, soft_deleted, public, message_count, byte_size, last_write_ms
		FROM streams ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load streams: %w", err)
	}
	for rows.Next() {
		var r engine.StreamRecord
		var cbID sql.NullString
		var cbEpoch, cbSeq sql.NullInt64
		if err := rows.Scan(&r.ID, &r.Project, &r.Name, &r.ContentType, &r.TTLSeconds, &r.ExpiresAtMS,
			&r.CreatedAtMS, &r.LastAccessMS, &r.Closed, &cbID, &cbEpoch, &cbSeq, &r.Tail, &r.LastStreamSeq,
			&r.ForkSource, &r.ForkOffset, &r.ForkSub, &r.Refcount, &r.SoftDeleted, &r.Public,
			&r.MessageCount, &r.ByteSize, &r.LastWriteMS); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load streams: %w", err)
		}
		if cbID.Valid {
			r.ClosedBy = &engine.ProducerTuple{ID: cbID.String, Epoch: cbEpoch.Int64, Seq: cbSeq.Int64}
		}
		snap.Streams = append(snap.Streams, r)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load streams: %w", err)
	}
	prows, err := s.write.QueryContext(ctx, `SELECT stream_id, producer_id, epoch, last_seq, last_offset, updated_at_ms FROM producers`)
	if err != nil {
		return nil, fmt.Errorf("load producers: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		var p engine.ProducerRecord
		if err := prows.Scan(&p.StreamID, &p.ProducerID, &p.Epoch, &p.LastSeq, &p.LastOffset, &p.UpdatedAtMS); err != nil {
			return nil, fmt.Errorf("load producers: %w", err)
		}
		snap.Producers = append(snap.Producers, p)
	}
	if err := prows.Err(); err != nil {
		return nil, fmt.Errorf("load producers: %w", err)
	}
	if err := s.loadPubSub(ctx, snap); err != nil {
		return nil, err
	}
	return snap, nil
}

func (s *Store) loadPubSub(ctx context.Context, snap *engine.Snapshot) error {
	rows, err := s.write.QueryContext(ctx, `SELECT project, session_id, created_at_ms, expires_at_ms FROM sessions`)
	if err != nil {
		return fmt.Errorf("load sessions: %w", err)
	}
	for rows.Next() {
		var r engine.SessionRecord
		if err := rows.Scan(&r.Project, &r.SessionID, &r.CreatedAtMS, &r.ExpiresAtMS); err != nil {
			rows.Close()
			return fmt.Errorf("load sessions: %w", err)
		}
		snap.Sessions = append(snap.Sessions, r)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	rows, err = s.write.QueryContext(ctx, `SELECT project, session_id, stream_id, subscribed_at_ms, last_delivered FROM subscriptions`)
	if err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r engine.SubscriptionRecord
		if err := rows.Scan(&r.Project, &r.SessionID, &r.StreamID, &r.SubscribedAtMS, &r.LastDelivered); err != nil {
			return fmt.Errorf("load subscriptions: %w", err)
		}
		snap.Subscriptions = append(snap.Subscriptions, r)
	}
	return rows.Err()
}

// Commit implements engine.Store: one transaction, one fsync.
func (s *Store) Commit(ctx context.Context, b *engine.Batch) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	deleted := make(map[int64]bool, len(b.Deletes))
	for _, id := range b.Deletes {
		deleted[id] = true
		for _, st := range s.deleteStream {
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, id); err != nil {
				return fmt.Errorf("delete stream %d: %w", id, err)
			}
		}
	}
	ids := make([]int64, 0, len(b.Streams))
	for id := range b.Streams {
		if !deleted[id] {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	up := tx.StmtContext(ctx, s.upsertStream)
	for _, id := range ids {
		r := b.Streams[id]
		var cbID any
		var cbEpoch, cbSeq any
		if r.ClosedBy != nil {
			cbID, cbEpoch, cbSeq = r.ClosedBy.ID, r.ClosedBy.Epoch, r.ClosedBy.Seq
		}
		if _, err := up.ExecContext(ctx, r.ID, r.Project, r.Name, r.ContentType, r.TTLSeconds, r.ExpiresAtMS,
			r.CreatedAtMS, r.LastAccessMS, r.Closed, cbID, cbEpoch, cbSeq, r.Tail, r.LastStreamSeq,
			r.ForkSource, r.ForkOffset, r.ForkSub, r.Refcount, r.SoftDeleted, r.Public,
			r.MessageCount, r.ByteSize, r.LastWriteMS); err != nil {
			return fmt.Errorf("save stream %d: %w", id, err)
		}
	}
	ins := tx.StmtContext(ctx, s.insertMessage)
	for _, m := range b.Messages {
		if deleted[m.StreamID] {
			continue
		}
		if _, err := ins.ExecContext(ctx, m.StreamID, m.Start, m.End, m.BatchEnd, m.Data); err != nil {
			return fmt.Errorf("save message: %w", err)
		}
	}
	prod := tx.StmtContext(ctx, s.upsertProducer)
	for _, p := range b.Producers {
		if deleted[p.StreamID] {
			continue
		}
		if _, err := prod.ExecContext(ctx, p.StreamID, p.ProducerID, p.Epoch, p.LastSeq, p.LastOffset, p.UpdatedAtMS); err != nil {
			return fmt.Errorf("save producer: %w", err)
		}
	}
	if err := s.commitPubSub(ctx, tx, b); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (s *Store) commitPubSub(ctx context.Context, tx *sql.Tx, b *engine.Batch) error {
	for k, r := range b.Sessions {
		if r == nil {
			for _, st := range s.deleteSession {
				if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, k.Project, k.SessionID); err != nil {
					return fmt.Errorf("delete session %s: %w", k.SessionID, err)
				}
			}
		}
	}
	for k, r := range b.Subscriptions {
		if r == nil {
			if _, err := tx.StmtContext(ctx, s.deleteSub).ExecContext(ctx, k.Project, k.SessionID, k.StreamID); err != nil {
				return fmt.Errorf("delete subscription: %w", err)
			}
		}
	}
	for _, r := range b.Sessions {
		if r != nil {
			if _, err := tx.StmtContext(ctx, s.putSession).ExecContext(ctx, r.Project, r.SessionID, r.CreatedAtMS, r.ExpiresAtMS); err != nil {
				return fmt.Errorf("save session %s: %w", r.SessionID, err)
			}
		}
	}
	for _, r := range b.Subscriptions {
		if r != nil {
			if _, err := tx.StmtContext(ctx, s.putSubscription).ExecContext(ctx, r.Project, r.SessionID, r.StreamID,
				r.SubscribedAtMS, r.LastDelivered); err != nil {
				return fmt.Errorf("save subscription: %w", err)
			}
		}
	}
	return nil
}

// ReadRange implements engine.Store.
func (s *Store) ReadRange(ctx context.Context, id, from, to int64, maxBytes int) ([]engine.Message, error) {
	rows, err := s.readRange.QueryContext(ctx, id, from, to)
	if err != nil {
		return nil, fmt.Errorf("read stream %d: %w", id, err)
	}
	defer rows.Close()
	var out []engine.Message
	used := 0
	for rows.Next() {
		if len(out) > 0 && used >= maxBytes {
			break
		}
		var m engine.Message
		if err := rows.Scan(&m.Start, &m.End, &m.BatchEnd, &m.Data); err != nil {
			return nil, fmt.Errorf("read stream %d: %w", id, err)
		}
		if m.End <= from {
			continue
		}
		if m.Data == nil {
			m.Data = []byte{}
		}
		out = append(out, m)
		used += len(m.Data)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stream %d: %w", id, err)
	}
	return out, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	var errs []error
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

// StreamCount returns how many live streams a project has in the
// database (not counting deleted ones kept only for their forks).
func (s *Store) StreamCount(ctx context.Context, project string) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM streams WHERE project = ? AND soft_deleted = 0`, project).Scan(&n); err != nil {
		return 0, fmt.Errorf("count streams of %s: %w", project, err)
	}
	return n, nil
}
