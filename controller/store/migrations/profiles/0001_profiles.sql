-- SOC console users' preferences, beside (not inside) users.json: changing one never
-- touches a password hash or the user's change stamp, so it signs nobody out.
CREATE TABLE IF NOT EXISTS profiles (
    username TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    updated TEXT NOT NULL
);
