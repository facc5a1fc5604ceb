-- SOC console sessions. The cookie carries the session id; only its SHA-256 is stored,
-- so a copy of this file signs nobody in.
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT,
    client TEXT NOT NULL,
    csrf TEXT NOT NULL,
    stamp TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (username, created);
CREATE INDEX IF NOT EXISTS sessions_client ON sessions (client, username, created);
CREATE INDEX IF NOT EXISTS sessions_seen ON sessions (last_seen);
