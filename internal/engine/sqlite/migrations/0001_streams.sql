-- Streams, their messages and idempotent-producer state.
CREATE TABLE streams (
  id               INTEGER PRIMARY KEY,
  project          TEXT    NOT NULL,
  name             TEXT    NOT NULL,
  content_type     TEXT    NOT NULL,
  ttl_seconds      INTEGER NOT NULL DEFAULT -1,
  expires_at_ms    INTEGER NOT NULL DEFAULT 0,
  created_at_ms    INTEGER NOT NULL,
  last_access_ms   INTEGER NOT NULL,
  closed           INTEGER NOT NULL DEFAULT 0,
  closed_by_id     TEXT,
  closed_by_epoch  INTEGER,
  closed_by_seq    INTEGER,
  tail             INTEGER NOT NULL DEFAULT 0,
  last_stream_seq  TEXT    NOT NULL DEFAULT '',
  fork_source      INTEGER NOT NULL DEFAULT 0,
  fork_offset      INTEGER NOT NULL DEFAULT 0,
  fork_sub         INTEGER NOT NULL DEFAULT 0,
  refcount         INTEGER NOT NULL DEFAULT 0,
  soft_deleted     INTEGER NOT NULL DEFAULT 0,
  public           INTEGER NOT NULL DEFAULT 0,
  UNIQUE (project, name)
);

CREATE TABLE messages (
  stream_id  INTEGER NOT NULL,
  start_pos  INTEGER NOT NULL,
  end_pos    INTEGER NOT NULL,
  batch_end  INTEGER NOT NULL,
  data       BLOB    NOT NULL,
  PRIMARY KEY (stream_id, start_pos)
);

CREATE TABLE producers (
  stream_id     INTEGER NOT NULL,
  producer_id   TEXT    NOT NULL,
  epoch         INTEGER NOT NULL,
  last_seq      INTEGER NOT NULL,
  last_offset   INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (stream_id, producer_id)
);
