-- The Alertmanager silences a change created when it started (removed when it finishes).
CREATE TABLE change_silences (
    change_id INTEGER NOT NULL REFERENCES changes (id),
    silence_id TEXT NOT NULL,
    PRIMARY KEY (change_id, silence_id)
);
