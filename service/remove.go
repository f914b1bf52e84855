package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/webhook"
)

// DefaultRemoveTimeout bounds the BC part of a connection's removal (deleting its webhook
// subscriptions): a BC that cannot be reached must not hold the removal up, and what is
// left at BC then expires on its own within 3 days (bc-entra-facts §7.1).
const DefaultRemoveTimeout = 30 * time.Second

// RemoveWebhooksFunc deletes a connection's BC webhook subscriptions at BC and from the
// store (Options.RemoveWebhooksFunc).
type RemoveWebhooksFunc func(ctx context.Context, c *bc.Client, connectionID string) (webhook.RemoveResult, error)

// Removal is what removing a connection did besides deleting it and its data here: its
// BC webhook subscriptions deleted at BC, and those left there.
type Removal struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// WebhooksDeleted counts the connection's webhook subscriptions deleted at BC.
	WebhooksDeleted int `json:"webhookSubscriptionsDeleted"`
	// WebhooksLeft are the subscriptions BC still has because deleting them failed (BC
	// did not answer in time, refused the token, …). Nothing here can delete them any
	// more (the connection's credential is gone): BC calls this server for them until
	// they expire (ExpiresAt, at most 3 days), and their notifications are acknowledged
	// and ignored.
	WebhooksLeft []LeftSubscription `json:"webhookSubscriptionsLeft,omitempty"`
	// Problem says why they were left; empty when nothing was.
	Problem string `json:"problem,omitempty"`
}

// LeftSubscription is a BC webhook subscription a removal left at BC.
type LeftSubscription struct {
	ID        string    `json:"id"`
	CompanyID string    `json:"companyId"`
	EntitySet string    `json:"entitySet"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// LeftBehind says in one line what the removal left at BC and what becomes of it; "" when
// nothing was left. The audit log, the CLI and the UI show it.
func (r Removal) LeftBehind() string {
	if len(r.WebhooksLeft) == 0 {
		return ""
	}
	sets := make([]string, 0, len(r.WebhooksLeft))
	var last time.Time
	for _, l := range r.WebhooksLeft {
		sets = append(sets, l.EntitySet)
		if l.ExpiresAt.After(last) {
			last = l.ExpiresAt
		}
	}
	n := fmt.Sprintf("%d BC webhook subscriptions", len(r.WebhooksLeft))
	if len(r.WebhooksLeft) == 1 {
		n = "1 BC webhook subscription"
	}
	expiry := "within 3 days"
	if !last.IsZero() {
		expiry = "by " + last.UTC().Format("2006-01-02 15:04 MST")
	}
	return fmt.Sprintf("%s left at BC (%s): %s; BC calls this server for them until they expire %s, and their notifications are ignored",
		n, strings.Join(sets, ", "), r.Problem, expiry)
}

// DeleteConnection implements Service: it deletes the connection's BC webhook
// subscriptions at BC first (a DELETE of each, bc-entra-facts §7.1, while the connection's
// credential still exists), then the connection, its sealed credentials, replica and sync
// state. BC is given Options.RemoveTimeout at most: a BC that cannot be reached does not
// block the removal, and what it left there is in the Removal, the log and the audit
// entry of the deletion.
func (s *Impl) DeleteConnection(ctx context.Context, id string) (Removal, error) {
	c, err := s.st.GetConnection(ctx, id)
	if err != nil {
		return Removal{}, err
	}
	r := Removal{ID: c.ID, Name: c.Name}
	subs, err := s.st.Subscriptions(ctx, c.ID)
	if err != nil {
		return r, err
	}
	if len(subs) > 0 {
		r = s.removeWebhooks(ctx, r, subs)
	}
	s.forget(c.ID)
	dctx := ctx
	if left := r.LeftBehind(); left != "" {
		dctx = store.WithAuditNote(ctx, left)
		s.log.Warn("connection deleted with webhook subscriptions left at BC", "connection", c.ID,
			"count", len(r.WebhooksLeft), "err", r.Problem)
	}
	if err := s.st.DeleteConnection(dctx, c.ID); err != nil {
		return r, err
	}
	// The connection is gone, so nothing can delete what was left at BC any more: forget
	// it, and the receiver answers its notifications as unknown (200, ignored).
	for _, l := range r.WebhooksLeft {
		if err := s.st.DeleteSubscription(context.WithoutCancel(ctx), l.ID); err != nil {
			s.log.Warn("forget a webhook subscription left at BC", "connection", c.ID, "subscriptionId", l.ID, "err", err)
		}
	}
	s.log.Info("connection deleted", "connection", c.ID, "webhookSubscriptionsDeleted", r.WebhooksDeleted)
	return r, nil
}

// removeWebhooks deletes the connection's subscriptions at BC within the removal timeout.
func (s *Impl) removeWebhooks(ctx context.Context, r Removal, subs []store.WebhookSubscription) Removal {
	bctx, cancel := context.WithTimeout(ctx, s.removeTimeout)
	defer cancel()
	leave := func(subs []store.WebhookSubscription, problem string) Removal {
		for _, w := range subs {
			r.WebhooksLeft = append(r.WebhooksLeft, LeftSubscription{ID: w.ID, CompanyID: w.CompanyID, EntitySet: w.EntitySet, ExpiresAt: w.ExpiresAt})
		}
		slices.SortFunc(r.WebhooksLeft, func(a, b LeftSubscription) int {
			return cmp.Or(strings.Compare(a.EntitySet, b.EntitySet), strings.Compare(a.CompanyID, b.CompanyID))
		})
		r.Problem = problem
		return r
	}
	client, err := s.Client(bctx, r.ID)
	if err != nil {
		return leave(subs, "the connection's BC client could not be opened: "+err.Error())
	}
	res, err := s.removeHooks(bctx, client, r.ID)
	r.WebhooksDeleted = len(res.Deleted)
	if err == nil {
		return r
	}
	if len(res.Deleted)+len(res.Left) == 0 {
		res.Left = subs // the stored list could not be read: all of them may be there
	}
	// Every subscription usually failed alike: the first failure stands for them.
	problem, _, _ := strings.Cut(err.Error(), "\n")
	if errors.Is(bctx.Err(), context.DeadlineExceeded) {
		problem = fmt.Sprintf("BC did not answer within %s (%s)", s.removeTimeout, problem)
	}
	return leave(res.Left, problem)
}
