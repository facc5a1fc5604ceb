-- What each live allocation holds, one row per rack unit, VLAN, /29 address block and
-- ToR port: the unique index makes the database refuse a second holder, whichever
-- controller (state dir, inventory checkout) planned it. Freed with the allocation.
-- Allocations made before this migration hold no rows (their hosting.yaml still counts).
CREATE TABLE allocation_claims (
    inventory TEXT NOT NULL,
    kind TEXT NOT NULL,
    item TEXT NOT NULL,
    allocation_id TEXT NOT NULL,
    request_id INTEGER NOT NULL REFERENCES requests (id)
);
CREATE UNIQUE INDEX allocation_claims_item ON allocation_claims (inventory, kind, item);
CREATE INDEX allocation_claims_request ON allocation_claims (request_id);
