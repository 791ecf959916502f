-- Pub/sub sessions and their subscriptions. A session's messages live in
-- the ordinary stream session:<id> of the same project.
CREATE TABLE sessions (
  project       TEXT    NOT NULL,
  session_id    TEXT    NOT NULL,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  PRIMARY KEY (project, session_id)
);

CREATE TABLE subscriptions (
  project          TEXT    NOT NULL,
  session_id       TEXT    NOT NULL,
  stream_id        TEXT    NOT NULL,
  subscribed_at_ms INTEGER NOT NULL,
  last_delivered   INTEGER NOT NULL, -- source offset position already fanned out
  PRIMARY KEY (project, session_id, stream_id)
);

CREATE INDEX subscriptions_by_stream ON subscriptions (project, stream_id);
