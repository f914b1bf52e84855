-- sync_state.dirty is store.SyncState.Dirty: a webhook hint arrived that no run has read
-- yet. It lives here, not in a process, so a hint received by one instance while another
-- runs the set's job makes that job run again.
ALTER TABLE sync_state ADD COLUMN dirty INTEGER NOT NULL DEFAULT 0;
