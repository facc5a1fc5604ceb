-- Hosting requests, every step of their workflow, every allocation ever made.
-- IF NOT EXISTS: databases made before versioned migrations already hold these tables.
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    inventory TEXT NOT NULL,
    tenant TEXT NOT NULL,
    service TEXT NOT NULL,
    site TEXT NOT NULL,
    units INTEGER NOT NULL,
    servers INTEGER NOT NULL,
    power_kw REAL NOT NULL,
    vlans INTEGER NOT NULL,
    prefix_len INTEGER NOT NULL,
    bandwidth_mbps REAL NOT NULL,
    contact TEXT NOT NULL,
    justification TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_tenant ON requests (tenant);
CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    why TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_request ON events (request_id);
CREATE TABLE IF NOT EXISTS allocations (
    inventory TEXT NOT NULL,
    id TEXT NOT NULL,
    number INTEGER NOT NULL,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    datacentre TEXT NOT NULL,
    data TEXT NOT NULL,
    made_at TEXT NOT NULL,
    freed_at TEXT,
    PRIMARY KEY (inventory, id)
);
CREATE INDEX IF NOT EXISTS allocations_request ON allocations (request_id);
