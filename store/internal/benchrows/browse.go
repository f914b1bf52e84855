package benchrows

import (
	"context"
	"testing"

	"github.com/bizzjoiner/bcconnector/store"
)

// BrowseStore is what BrowsePages needs of a store.
type BrowseStore interface {
	ApplyBatch(ctx context.Context, b store.ReplicaBatch) (store.ApplyResult, error)
	ReplicaQueryOrdered(ctx context.Context, key store.ReplicaKey, filters []store.FieldFilter, orderBy, after string, limit int) ([]store.ReplicaRow, error)
}

// BrowsePages fills key (a G/L entries replica the caller has ensured) with n rows, then
// times one page of 50 the way the data browser reads it (in entryNumber order, the set's
// natural key) next to the API's id order, from the first page and from the middle.
// filled, when set, runs once the rows are in (PostgreSQL's ANALYZE).
func BrowsePages(b *testing.B, s BrowseStore, key store.ReplicaKey, n int, filled func()) {
	ctx := context.Background()
	src := NewGL(n)
	var rows []store.ReplicaRow
	for lo := 0; lo < n; lo += Batch {
		rows = src.Batch(rows, lo)
		if _, err := s.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: rows, AssumeNew: true}); err != nil {
			b.Fatal(err)
		}
	}
	if filled != nil {
		filled()
	}
	middle := src.Row(n / 2).ID
	for _, c := range []struct{ name, orderBy, after string }{
		{"entryNumber/first", "entryNumber", ""}, {"entryNumber/middle", "entryNumber", middle},
		{"id/first", "", ""}, {"id/middle", "", middle},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := s.ReplicaQueryOrdered(ctx, key, nil, c.orderBy, c.after, 50)
				if err != nil || len(page) != 50 {
					b.Fatalf("%d rows, %v", len(page), err)
				}
			}
		})
	}
}
