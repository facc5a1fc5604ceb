-- Rehearsals of a change in a lab twin: the inventory content applied there (its git
-- revision and a digest of its files), the lab, and whether every site that answered
-- the probes before still answered after; ``report`` holds the sites that changed.
CREATE TABLE change_rehearsals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id INTEGER NOT NULL REFERENCES changes (id),
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    lab TEXT NOT NULL,
    revision TEXT NOT NULL,
    digest TEXT NOT NULL,
    ok INTEGER NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX change_rehearsals_change ON change_rehearsals (change_id);
