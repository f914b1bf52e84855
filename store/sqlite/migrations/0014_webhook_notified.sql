-- What the webhook manager of every process needs to know about a subscription's
-- notifications (store.WebhookSubscription): the newest change a notification reported,
-- received by whichever process, and the notifications found missing. In the database, a
-- change polled by one process and notified to another is not counted as missed.
ALTER TABLE webhook_subscriptions ADD COLUMN notified_up_to TEXT;
ALTER TABLE webhook_subscriptions ADD COLUMN missed_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_subscriptions ADD COLUMN last_missed_at TEXT;
