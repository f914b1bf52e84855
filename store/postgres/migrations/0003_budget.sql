-- One BC budget per Entra app and environment, shared by every instance and CLI command on
-- this database (store.BudgetStore): the processing slots each process leases, and the
-- requests reserved in the rate window. Every call locks the budget's row in bc_budgets
-- first, so calls of one budget are serialised and calls of different budgets do not wait
-- for each other. Times are Unix milliseconds (leases) and seconds (reservations), on the
-- callers' clocks.

CREATE TABLE bc_budgets (
    budget text PRIMARY KEY           -- store.BudgetKey.String()
);

CREATE TABLE bc_budget_slots (
    budget     text NOT NULL REFERENCES bc_budgets (budget),
    holder     text NOT NULL,
    slots      integer NOT NULL,
    wants      integer NOT NULL,
    expires_ms bigint NOT NULL,
    PRIMARY KEY (budget, holder)
);

CREATE TABLE bc_budget_requests (
    budget text NOT NULL REFERENCES bc_budgets (budget),
    at_s   bigint NOT NULL,
    n      integer NOT NULL,
    PRIMARY KEY (budget, at_s)
);
