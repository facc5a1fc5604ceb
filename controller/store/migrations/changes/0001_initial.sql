-- Change records: what will be done to the network, when, by whom, and the impact
-- computed from the inventory when the change was recorded; every step taken on it.
CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    elements TEXT NOT NULL,
    impact TEXT NOT NULL,
    inventory TEXT NOT NULL,
    revision TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX changes_window ON changes (window_start, window_end);
CREATE TABLE change_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id INTEGER NOT NULL REFERENCES changes (id),
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    step TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX change_events_change ON change_events (change_id);
