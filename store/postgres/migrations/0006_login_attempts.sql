-- login_attempts is the sign-in throttle's memory (store.AttemptStore), shared by every
-- instance so a guesser gains nothing by spreading over them. source is the throttle's
-- key (an address or an IPv6 /64); last_at the time of the last attempt counted.
CREATE TABLE login_attempts (
    source   text PRIMARY KEY,
    failures integer NOT NULL,
    last_at  timestamptz NOT NULL
);
CREATE INDEX login_attempts_last_at ON login_attempts (last_at);
