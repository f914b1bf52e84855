package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"
)

// TestDriverEncodings checks what the shared code's Go types become in the file: a time
// is the fixed-width text that sorts as time, NULL a nil *time.Time, a list a JSON array;
// and that they scan back as they were.
func TestDriverEncodings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "d.db"), secret.GenerateKeyring(), Options{})
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE t (n INTEGER PRIMARY KEY, at TEXT NOT NULL, maybe TEXT, list TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	drv := driver{db}
	at := time.Date(2026, 12, 3, 14, 5, 6, 789123456, time.FixedZone("x", 3600))
	later := at.Add(time.Hour)
	err := drv.WithTx(ctx, func(tx sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO t VALUES (1, $1, $2, $3)`, at, (*time.Time)(nil), []string{"a", `b"c`}); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `INSERT INTO t VALUES (2, $1, $2, $3)`, later, &later, []string{})
		if n != 1 {
			t.Errorf("Exec affected %d rows, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var rawAt, rawList string
	var rawMaybe *string
	if err := db.read.QueryRowContext(ctx, `SELECT at, maybe, list FROM t WHERE n = 1`).Scan(&rawAt, &rawMaybe, &rawList); err != nil {
		t.Fatal(err)
	}
	if rawAt != "2026-12-03T13:05:06.789123Z" || rawMaybe != nil || rawList != `["a","b\"c"]` {
		t.Errorf("stored %q %v %q, want the UTC microsecond text, NULL and a JSON array", rawAt, rawMaybe, rawList)
	}

	rows, err := drv.Read().Query(ctx, `SELECT at, maybe, list FROM t ORDER BY at`)
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for rows.Next() {
		var a time.Time
		var m *time.Time
		var l []string
		if err := rows.Scan(&a, &m, &l); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
		switch {
		case a.Equal(at) && (m != nil || !slices.Equal(l, []string{"a", `b"c`})):
			t.Errorf("row 1 scanned %v %v %q", a, m, l)
		case a.Equal(later) && (m == nil || !m.Equal(later) || l == nil || len(l) != 0):
			t.Errorf("row 2 scanned %v %v %q", a, m, l)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []time.Time{at.UTC().Truncate(time.Microsecond), later.UTC().Truncate(time.Microsecond)}
	if !slices.EqualFunc(got, want, time.Time.Equal) || got[0].Location() != time.UTC {
		t.Errorf("scanned %v, want %v in UTC", got, want)
	}
}

// TestDriverNotifiesAfterCommit checks that a transaction's notifications reach
// subscribers once it committed, and never when it rolled back.
func TestDriverNotifiesAfterCommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openTest(t, filepath.Join(t.TempDir(), "n.db"), secret.GenerateKeyring(), Options{})
	var got []string
	cancel := db.Subscribe("c", func(p string) { got = append(got, p) })
	defer cancel()
	drv := driver{db}
	boom := errors.New("boom")
	err := drv.WithTx(ctx, func(tx sqlstore.Tx) error {
		_ = tx.Notify(ctx, "c", "rolled back")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx = %v, want boom", err)
	}
	err = drv.WithTx(ctx, func(tx sqlstore.Tx) error {
		if err := tx.Notify(context.Background(), "c", "committed"); err != nil {
			return err
		}
		if len(got) != 0 {
			t.Errorf("delivered %q before the commit", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"committed"}) {
		t.Errorf("delivered %q, want only the committed transaction's", got)
	}
}
