-- The project registry, and per-stream counters for the inspection API.
CREATE TABLE projects (
  name          TEXT    PRIMARY KEY,
  secrets       TEXT    NOT NULL, -- JSON [{"secret","createdAt"}], newest first
  cors_origins  TEXT    NOT NULL DEFAULT '[]',
  created_at_ms INTEGER NOT NULL
);

ALTER TABLE streams ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN byte_size     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN last_write_ms INTEGER NOT NULL DEFAULT 0;

-- Streams written before the counters existed.
UPDATE streams SET
  message_count = (SELECT COUNT(*) FROM messages m WHERE m.stream_id = streams.id),
  byte_size     = (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM messages m WHERE m.stream_id = streams.id),
  last_write_ms = created_at_ms;
