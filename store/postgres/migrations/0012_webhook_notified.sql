-- What the webhook manager of every instance needs to know about a subscription's
-- notifications (store.WebhookSubscription): the newest change a notification reported,
-- received by whichever instance, and the notifications found missing. In the database, a
-- change polled by one instance and notified to another is not counted as missed.
ALTER TABLE webhook_subscriptions ADD COLUMN notified_up_to timestamptz;
ALTER TABLE webhook_subscriptions ADD COLUMN missed_count bigint NOT NULL DEFAULT 0;
ALTER TABLE webhook_subscriptions ADD COLUMN last_missed_at timestamptz;
