-- login_attempts is the sign-in throttle's memory (store.AttemptStore), in the database so
-- every process on it counts the same failures. source is the throttle's key (an address
-- or an IPv6 /64); last_at the time of the last attempt counted.
CREATE TABLE login_attempts (
    source   TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_at  TEXT NOT NULL
) STRICT;
CREATE INDEX login_attempts_last_at ON login_attempts (last_at);
