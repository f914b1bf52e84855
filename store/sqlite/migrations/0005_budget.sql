-- One BC budget per Entra app and environment, shared by every process on this file (serve
-- and the CLI): the processing slots each process leases, and the requests reserved in the
-- rate window (store.BudgetStore). Times are Unix milliseconds (leases) and seconds
-- (reservations); the single writer serialises every call.

CREATE TABLE bc_budget_slots (
    budget     TEXT NOT NULL,    -- store.BudgetKey.String()
    holder     TEXT NOT NULL,
    slots      INTEGER NOT NULL,
    wants      INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (budget, holder)
) STRICT, WITHOUT ROWID;

CREATE TABLE bc_budget_requests (
    budget TEXT NOT NULL,
    at_s   INTEGER NOT NULL,     -- the second the requests count from
    n      INTEGER NOT NULL,
    PRIMARY KEY (budget, at_s)
) STRICT, WITHOUT ROWID;
