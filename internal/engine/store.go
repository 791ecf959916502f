package engine

import "context"

// Store persists streams. The engine owns all protocol decisions and keeps
// stream metadata in memory; a Store only loads state at start-up, commits
// batches of already-validated mutations atomically, and reads message
// ranges. Implementations: engine/sqlite (durable) and engine/memstore.
type Store interface {
	// Load returns every stream and producer record.
	Load(ctx context.Context) (*Snapshot, error)
	// Commit applies a batch atomically and durably (per the store's
	// durability setting). After an error nothing of the batch is applied.
	Commit(ctx context.Context, b *Batch) error
	// ReadRange returns the messages of stream id that overlap [from, to),
	// in order, stopping once maxBytes of data have been collected (always
	// at least one message when any overlaps). Messages are not sliced.
	ReadRange(ctx context.Context, id, from, to int64, maxBytes int) ([]Message, error)
	Close() error
}

// Message is one stored record. Positions are bytes in byte streams and
// message counts in JSON streams, so End-Start is len(Data) or 1.
// BatchEnd is the end of the append the message arrived in; fork
// sub-offsets may not cross it.
type Message struct {
	Start, End, BatchEnd int64
	Data                 []byte
}

// StreamRecord is the persisted form of a stream's metadata.
type StreamRecord struct {
	ID            int64
	Project, Name string
	ContentType   string
	TTLSeconds    int64 // -1: none
	ExpiresAtMS   int64 // 0: none
	CreatedAtMS   int64
	LastAccessMS  int64
	Closed        bool
	ClosedBy      *ProducerTuple
	Tail          int64
	LastStreamSeq string
	ForkSource    int64 // 0: not a fork
	ForkOffset    int64
	ForkSub       int64
	Refcount      int64
	SoftDeleted   bool
	Public        bool
	MessageCount  int64
	ByteSize      int64
	LastWriteMS   int64
}

// ProducerTuple identifies one producer write.
type ProducerTuple struct {
	ID    string
	Epoch int64
	Seq   int64
}

// ProducerRecord is the persisted state of one idempotent producer.
type ProducerRecord struct {
	StreamID    int64
	ProducerID  string
	Epoch       int64
	LastSeq     int64
	LastOffset  int64
	UpdatedAtMS int64
}

// MessageRecord is a message to insert.
type MessageRecord struct {
	StreamID int64
	Message
}

// SessionKey names a pub/sub session.
type SessionKey struct{ Project, SessionID string }

// SessionRecord is a persisted pub/sub session.
type SessionRecord struct {
	SessionKey
	CreatedAtMS int64
	ExpiresAtMS int64
}

// SubscriptionKey names one subscription of a session to a stream.
type SubscriptionKey struct {
	SessionKey
	StreamID string
}

// SubscriptionRecord is a persisted subscription. LastDelivered is the
// source position up to which messages have been fanned out to it.
type SubscriptionRecord struct {
	SubscriptionKey
	SubscribedAtMS int64
	LastDelivered  int64
}

// Snapshot is everything Load returns.
type Snapshot struct {
	Streams       []StreamRecord
	Producers     []ProducerRecord
	Sessions      []SessionRecord
	Subscriptions []SubscriptionRecord
}

// Batch is one group commit. Deletes apply first, so a path can be freed
// and re-created in the same batch; records of streams deleted in the
// batch are skipped. Sessions and subscriptions are kept as final states
// per key (a put and a delete of the same key never both appear), and a
// session delete also deletes its subscriptions not put in this batch.
type Batch struct {
	Deletes   []int64
	Streams   map[int64]*StreamRecord
	Messages  []MessageRecord
	Producers []ProducerRecord

	Sessions      map[SessionKey]*SessionRecord // nil value: delete
	Subscriptions map[SubscriptionKey]*SubscriptionRecord
}

// Empty reports whether the batch changes nothing.
func (b *Batch) Empty() bool {
	return len(b.Deletes) == 0 && len(b.Streams) == 0 && len(b.Messages) == 0 && len(b.Producers) == 0 &&
		len(b.Sessions) == 0 && len(b.Subscriptions) == 0
}
