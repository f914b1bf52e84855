package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/store/internal/sqlstore"

	"github.com/jackc/pgx/v5"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
)

var _ store.ReplicaStore = (*DB)(nil)

// The replica's layout.
//
// Each replicated entity set has a table of rows, replica_<set>_rows:
//
//	scope         bigint      -- the (connection, company, entity set), numbered in scopes
//	id            text        -- BC's id; PRIMARY KEY (scope, id), "C" collation
//	etag          text        -- BC's @odata.etag
//	last_modified timestamptz -- lastModifiedDateTime; NULL if the set has none
//	parent_id     text        -- the document id of a line; NULL otherwise
//	raw           text        -- the entity's JSON exactly as BC sent it
//
// and a view, replica_<set>, which is what SQL should read: connection_id, company_id, id,
// etag, last_modified, parent_id, raw and one column per schema field, named exactly as
// the field and typed by the field's EDM type (numeric for Edm.Decimal, bigint for the
// integers, boolean, and text for the rest: strings, enums, GUIDs, and dates as the text BC
// sends, which sorts); a value of another JSON type than the column's reads as NULL:
//
//	SELECT "number", "displayName", "balanceDue" FROM replica_customers
//	WHERE connection_id = $1 AND company_id = $2 AND "balanceDue" > 1000
//
// raw is text, not json or jsonb, so that it is stored without being parsed (jsonb would
// also reorder the keys); the view parses it when a field column is read.

// maxEntitySet keeps replica_<set>_rows within PostgreSQL's 63-byte identifiers.
const maxEntitySet = 63 - len("replica_") - len("_rows")

// ReplicaView returns the name of the view through which SQL reads the replica of
// entitySet: "replica_" + entitySet (quote it in SQL, since entity set names are
// camelCase). Entity set names must be identifiers of at most 50 characters here
// (PostgreSQL's names are at most 63 bytes); others yield an error wrapping
// store.ErrInvalid.
func ReplicaView(entitySet string) (string, error) {
	if err := validSet(entitySet); err != nil {
		return "", err
	}
	return "replica_" + entitySet, nil
}

func validSet(entitySet string) error {
	if err := store.ValidEntitySet(entitySet); err != nil {
		return err
	}
	if len(entitySet) > maxEntitySet {
		return fmt.Errorf("%w: entity set name %q is longer than %d characters, too long for a PostgreSQL table name", store.ErrInvalid, entitySet, maxEntitySet)
	}
	return nil
}

// rowsTable is the table that holds the rows of entitySet (a valid name).
func rowsTable(entitySet string) string { return "replica_" + entitySet + "_rows" }

// viewFields returns the fields of ent that get a column in its view.
func (db *DB) viewFields(ent *bcschema.Entity) ([]*bcschema.Field, error) {
	return sqlstore.ViewFields(ent, 63, false, func(field string) {
		db.log.Warn("replica: field has no column in the view because its name is taken; read it from raw",
			"entitySet", ent.EntitySet, "field", field)
	})
}

// viewColumns returns the view's field columns of fields with their SQL expressions.
func viewColumns(fields []*bcschema.Field) []string {
	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = fieldExpr(f) + " AS " + quoteIdent(f.Name)
	}
	return cols
}

// viewFieldsOf returns the field columns of a replica view in order, typed back from
// their SQL types (numeric, bigint, boolean, text: what fieldExpr makes of them).
func viewFieldsOf(ctx context.Context, tx pgx.Tx, view string) ([]*bcschema.Field, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, view)
	if err != nil {
		return nil, fmt.Errorf("postgres: columns of %s: %w", view, err)
	}
	var out []*bcschema.Field
	var name, typ string
	_, err = pgx.ForEachRow(rows, []any{&name, &typ}, func() error {
		if !slices.Contains(sqlstore.ReplicaKeyColumns, name) {
			out = append(out, &bcschema.Field{Name: name, Type: edmOfColumn(typ)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: columns of %s: %w", view, err)
	}
	return out, nil
}

// edmOfColumn is the EDM type whose fieldExpr has the SQL type typ.
func edmOfColumn(typ string) string {
	switch typ {
	case "numeric":
		return bcschema.TypeDecimal
	case "bigint":
		return bcschema.TypeInt64
	case "boolean":
		return bcschema.TypeBoolean
	}
	return bcschema.TypeString
}

// lockReplica makes instances changing a set's replica tables or view take turns, until
// tx ends.
func lockReplica(ctx context.Context, tx pgx.Tx, set string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('bcconnector replica ' || current_schema() || ' ' || $1))`, set); err != nil {
		return fmt.Errorf("postgres: lock replica %s: %w", set, err)
	}
	return nil
}

// recreateView replaces a replica's view by one with fields, inside tx (which holds
// lockReplica).
func (db *DB) recreateView(ctx context.Context, tx pgx.Tx, set string, fields []*bcschema.Field, now time.Time) error {
	view, viewSQL := "replica_"+set, createViewSQL(set, viewColumns(fields))
	for _, s := range []string{"DROP VIEW IF EXISTS " + quoteIdent(view), viewSQL} {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("postgres: replica %s: re-create view for the changed fields: %w", set, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE replicas SET view_sql = $1, updated_at = $2 WHERE entity_set = $3`, viewSQL, now, set); err != nil {
		return fmt.Errorf("postgres: replica %s: %w", set, err)
	}
	db.log.Info("replica view re-created for changed fields", "entitySet", set, "fields", len(fields))
	return nil
}

// fieldExpr is the typed value of a field in t.raw. The field name is an identifier, so
// it needs no escaping inside the string literal.
func fieldExpr(f *bcschema.Field) string {
	v := "(t.raw::json -> '" + f.Name + "')"
	text := "(t.raw::json ->> '" + f.Name + "')"
	switch f.Type {
	case bcschema.TypeDecimal, "Edm.Double", "Edm.Single":
		return "CASE WHEN json_typeof" + v + " = 'number' THEN " + text + "::numeric END"
	case bcschema.TypeInt32, bcschema.TypeInt64, "Edm.Int16", "Edm.Byte", "Edm.SByte":
		return "CASE WHEN json_typeof" + v + " = 'number' THEN " + text + "::numeric::bigint END"
	case bcschema.TypeBoolean:
		return "CASE WHEN json_typeof" + v + " = 'boolean' THEN " + text + "::boolean END"
	}
	return text
}

// naturalKeyExpr is the ORDER BY expression of the view's column col of field f: text
// in byte order (COLLATE "C"), as SQLite compares it.
//
// There is no index on it: PostgreSQL plans a page through the view's join with scopes as
// a scan and a sort whatever the order (the API's id order too; docs/BENCHMARKS.md).
func naturalKeyExpr(f *bcschema.Field, col string) string {
	switch f.Type {
	case bcschema.TypeDecimal, "Edm.Double", "Edm.Single", bcschema.TypeInt32, bcschema.TypeInt64, "Edm.Int16", "Edm.Byte", "Edm.SByte", bcschema.TypeBoolean:
		return col
	}
	return col + ` COLLATE "C"`
}

func createViewSQL(entitySet string, cols []string) string {
	var b strings.Builder
	b.WriteString("CREATE VIEW " + quoteIdent("replica_"+entitySet) + " AS SELECT s.connection_id, s.company_id, t.id, t.etag, t.last_modified, t.parent_id, t.raw")
	for _, c := range cols {
		b.WriteString(",\n\t" + c)
	}
	b.WriteString("\nFROM " + quoteIdent(rowsTable(entitySet)) + " AS t JOIN scopes AS s ON s.scope = t.scope")
	return b.String()
}

// EnsureReplica implements store.ReplicaStore. It creates the entity set's table of rows
// and its view (see [ReplicaView]), or, when they exist, re-creates the view if ent has
// fields the view lacks, keeping the columns it has with their types (other connections'
// fields, see sqlstore.MergeViewFields; a field two connections type differently keeps
// the first one's column type); the rows are untouched either way. Instances doing it at
// once take turns on an advisory lock.
func (db *DB) EnsureReplica(ctx context.Context, ent *bcschema.Entity) error {
	if ent == nil {
		return fmt.Errorf("%w: EnsureReplica needs an entity", store.ErrInvalid)
	}
	view, err := ReplicaView(ent.EntitySet)
	if err != nil {
		return err
	}
	fields, err := db.viewFields(ent)
	if err != nil {
		return err
	}
	set, table := ent.EntitySet, rowsTable(ent.EntitySet)
	now := db.stamp()
	err = db.withTx(ctx, func(tx pgx.Tx) error {
		if err := lockReplica(ctx, tx, set); err != nil {
			return err
		}
		var have string
		err := tx.QueryRow(ctx, `SELECT view_sql FROM replicas WHERE entity_set = $1`, set).Scan(&have)
		if errors.Is(err, pgx.ErrNoRows) {
			return createReplica(ctx, tx, set, table, view, createViewSQL(set, viewColumns(fields)), now)
		} else if err != nil {
			return fmt.Errorf("postgres: ensure replica %s: %w", set, err)
		}
		current, err := viewFieldsOf(ctx, tx, view)
		if err != nil {
			return err
		}
		merged, _ := sqlstore.MergeViewFields(current, fields, false)
		if have == createViewSQL(set, viewColumns(merged)) {
			return nil
		}
		return db.recreateView(ctx, tx, set, merged, now)
	})
	if err != nil {
		return err
	}
	db.tables.Store(set, table)
	return nil
}

func createReplica(ctx context.Context, tx pgx.Tx, set, table, view, viewSQL string, now time.Time) error {
	stmts := []string{
		"CREATE TABLE " + quoteIdent(table) + ` (
	scope         bigint NOT NULL,
	id            text COLLATE "C" NOT NULL,
	etag          text NOT NULL,
	last_modified timestamptz,
	parent_id     text COLLATE "C",
	raw           text NOT NULL,
	PRIMARY KEY (scope, id)
)`,
		// Partial indexes: sets without lastModifiedDateTime and sets that are not lines
		// pay nothing for them. PostgreSQL names them (within its 63 bytes).
		"CREATE INDEX ON " + quoteIdent(table) + " (scope, last_modified) WHERE last_modified IS NOT NULL",
		"CREATE INDEX ON " + quoteIdent(table) + " (scope, parent_id) WHERE parent_id IS NOT NULL",
		viewSQL,
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("postgres: create replica of %s: %w", set, err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO replicas (entity_set, table_name, view_name, view_sql, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		set, table, view, viewSQL, now); err != nil {
		return fmt.Errorf("postgres: register replica of %s: %w", set, err)
	}
	return nil
}

// replicaTable returns the table of rows of entitySet; ok is false when EnsureReplica
// has not created it. Tables are never dropped, so a table once seen is remembered.
func (db *DB) replicaTable(ctx context.Context, entitySet string) (table string, ok bool, err error) {
	if v, ok := db.tables.Load(entitySet); ok {
		return v.(string), true, nil
	}
	if err := validSet(entitySet); err != nil {
		return "", false, err
	}
	if err := db.pool.QueryRow(ctx, `SELECT table_name FROM replicas WHERE entity_set = $1`, entitySet).Scan(&table); errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("postgres: look up replica table of %s: %w", entitySet, err)
	}
	db.tables.Store(entitySet, table)
	return table, true, nil
}

// scopeOf returns the number of key's scope; ok is false when it has none yet (and create
// is false). Scopes are never deleted or renumbered, so a scope once seen is remembered;
// creating one commits at once (it is only a number).
func (db *DB) scopeOf(ctx context.Context, key store.ReplicaKey, create bool) (scope int64, ok bool, err error) {
	if v, ok := db.scopes.Load(key); ok {
		return v.(int64), true, nil
	}
	if create {
		err = db.pool.QueryRow(ctx, `INSERT INTO scopes (connection_id, company_id, entity_set) VALUES ($1, $2, $3)
			ON CONFLICT (connection_id, company_id, entity_set) DO NOTHING RETURNING scope`,
			key.ConnectionID, key.CompanyID, key.EntitySet).Scan(&scope)
		if err == nil {
			db.scopes.Store(key, scope)
			return scope, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) { // ErrNoRows: another writer created it
			return 0, false, fmt.Errorf("postgres: create scope of %s: %w", key.EntitySet, err)
		}
	}
	err = db.pool.QueryRow(ctx, `SELECT scope FROM scopes WHERE connection_id = $1 AND company_id = $2 AND entity_set = $3`,
		key.ConnectionID, key.CompanyID, key.EntitySet).Scan(&scope)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("postgres: look up scope of %s: %w", key.EntitySet, err)
	}
	db.scopes.Store(key, scope)
	return scope, true, nil
}

// batchTx is one ApplyBatch transaction.
type batchTx struct {
	assumeNew bool
	db        *DB
	ctx       context.Context
	tx        pgx.Tx
	res       store.ApplyResult
	channel   string // the store's notification channel

	// The change log of the batch, in segments numbered from 1 (made sequence numbers
	// when the batch takes its numbers, just before commit).
	log sqlstore.ChangeLog

	// The ids the batch changed in its set, written with its last change log number.
	marks sqlstore.Marks
}

// change logs a change of scope and marks the id it changed in the batch's set: the row's
// own, or its document's for a line.
func (w *batchTx) change(scope int64, op store.Op, id, etag, parent string) {
	w.log.Add(scope, op, id, etag)
	w.marks.Note(scope, id, parent)
}

// ApplyBatch implements store.ReplicaStore, with the semantics of store/sqlite's: one
// transaction; upserts classified against the stored ETags, then deletes, children and the
// checkpoint; one change log entry per insert, update and delete. With a Read mark, the
// upserts the replica changed after it are left out (store.ReplicaBatch.Read; the marks
// are in replica_marks, written by the batch's last statements with its last number, so a
// mark above a read mark means the write committed after the mark was taken).
//
// Concurrency: the transaction first locks the scope rows of the sets it writes (in scope
// order), so writers of the same set take turns and classify against each other's
// committed rows; writers of other sets run in parallel. The change log numbers are taken
// by the last statement before commit, which advances the single change_seq row
// (UPDATE … RETURNING) and inserts the segments; the row lock it takes is held until
// commit, so the batch that took numbers n+1…m commits before any other can take m+1:
// numbers are gap-free (a rolled-back batch takes none) and become visible in order.
// Holding the counter only for that last statement and the commit keeps writers of
// different sets from queueing on each other for longer.
func (db *DB) ApplyBatch(ctx context.Context, b store.ReplicaBatch) (store.ApplyResult, error) {
	res, err := db.applyBatch(ctx, b)
	if err != nil && b.AssumeNew && isUnique(err) {
		// A row of an "assumed new" batch was stored after all: the transaction rolled
		// back; apply it again, classifying every row.
		b.AssumeNew = false
		return db.applyBatch(ctx, b)
	}
	return res, err
}

func (db *DB) applyBatch(ctx context.Context, b store.ReplicaBatch) (store.ApplyResult, error) {
	if err := b.Validate(); err != nil {
		return store.ApplyResult{}, err
	}
	if err := validSet(b.Key.EntitySet); err != nil {
		return store.ApplyResult{}, err
	}
	at := b.Now
	if at.IsZero() {
		at = db.now()
	}
	at = at.UTC().Truncate(time.Microsecond)

	// Tables and scopes before the transaction (each from the pool, so a transaction never
	// waits for a second pooled connection).
	keys := []store.ReplicaKey{b.Key}
	for _, c := range b.Children {
		if err := validSet(c.EntitySet); err != nil {
			return store.ApplyResult{}, err
		}
		keys = append(keys, store.ReplicaKey{ConnectionID: b.Key.ConnectionID, CompanyID: b.Key.CompanyID, EntitySet: c.EntitySet})
	}
	tables := make([]string, len(keys))
	scopes := make([]int64, len(keys))
	for i, k := range keys {
		name, ok, err := db.replicaTable(ctx, k.EntitySet)
		if err != nil {
			return store.ApplyResult{}, err
		}
		if !ok {
			return store.ApplyResult{}, fmt.Errorf("%w: entity set %s has no replica table yet; call EnsureReplica with its schema first", store.ErrInvalid, k.EntitySet)
		}
		tables[i] = name
		if scopes[i], _, err = db.scopeOf(ctx, k, true); err != nil {
			return store.ApplyResult{}, err
		}
	}
	lock := slices.Clone(scopes)
	slices.Sort(lock)
	lock = slices.Compact(lock)

	w := &batchTx{db: db, ctx: ctx, assumeNew: b.AssumeNew, channel: db.listen.channel, marks: sqlstore.Marks{On: !b.AssumeNew, Scope: scopes[0]}}
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		w.tx = tx
		// A batch of pages assumed new (a full sync's, whose partitions write disjoint ids
		// at once) only inserts: it shares the lock with its like, so they write in
		// parallel, and a duplicate id fails it (then it runs again the careful way). Every
		// other batch classifies against what is stored and needs the set to itself.
		mode := "UPDATE"
		if b.AssumeNew && len(b.Deletes) == 0 && len(b.Children) == 0 && b.Schema == nil {
			mode = "SHARE"
		}
		if _, err := tx.Exec(ctx, `SELECT scope FROM scopes WHERE scope = ANY($1) ORDER BY scope FOR `+mode, lock); err != nil {
			return fmt.Errorf("postgres: apply batch to %s: lock: %w", b.Key.EntitySet, err)
		}
		b := b
		if !b.Read.IsZero() {
			marked, err := w.markedSince(scopes[0], b.Read.Seq, b.Upserts)
			if err != nil {
				return fmt.Errorf("postgres: apply batch to %s: read marks: %w", b.Key.EntitySet, err)
			}
			b, w.res.Stale = sqlstore.DropStale(b, marked, sqlstore.Expired(b.Read, db.now()))
		}
		if err := w.upsert(tables[0], scopes[0], b.Key.EntitySet, b.Upserts); err != nil {
			return err
		}
		if err := w.delete(tables[0], scopes[0], b.Key.EntitySet, b.Deletes); err != nil {
			return err
		}
		for i, c := range b.Children {
			if err := w.replaceChildren(tables[i+1], scopes[i+1], c); err != nil {
				return err
			}
		}
		if err := w.checkpoint(b, at); err != nil {
			return err
		}
		if b.Schema != nil {
			if err := w.putSchema(b.Key, scopes[0], b.Schema, at); err != nil {
				return err
			}
		}
		if err := w.logChanges(at); err != nil {
			return err
		}
		return w.writeMarks(db.stamp())
	})
	if err != nil {
		return store.ApplyResult{}, err
	}
	if len(w.marks.IDs) > 0 {
		db.pruneMarks(ctx)
	}
	return w.res, nil
}

// ReadMark implements store.ReplicaStore.
func (db *DB) ReadMark(ctx context.Context) (store.ReadMark, error) {
	m := store.ReadMark{At: db.now()}
	if err := db.pool.QueryRow(ctx, `SELECT last_seq FROM change_seq WHERE one = 1`).Scan(&m.Seq); err != nil {
		return store.ReadMark{}, fmt.Errorf("postgres: read change log position: %w", err)
	}
	return m, nil
}

// markedSince returns the ids of rows that scope marked after seq.
func (w *batchTx) markedSince(scope, seq int64, rows []store.ReplicaRow) (map[string]bool, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := sqlstore.RowIDs(rows)
	q, err := w.tx.Query(w.ctx, `SELECT id FROM replica_marks WHERE scope = $1 AND id = ANY($2) AND seq > $3`, scope, ids, seq)
	if err != nil {
		return nil, err
	}
	return collectIDs(q)
}

// writeMarks marks the ids the batch changed with its last change log number (taken by
// logChanges).
func (w *batchTx) writeMarks(at time.Time) error {
	if len(w.marks.IDs) == 0 {
		return nil
	}
	_, err := w.tx.Exec(w.ctx, `INSERT INTO replica_marks (scope, id, seq, at) SELECT $1, unnest($2::text[]), $3, $4
		ON CONFLICT (scope, id) DO UPDATE SET seq = excluded.seq, at = excluded.at`, w.marks.Scope, w.marks.IDs, w.res.LastSeq, at)
	if err != nil {
		return fmt.Errorf("postgres: write marks: %w", err)
	}
	return nil
}

// pruneMarks deletes the marks older than store.MarkRetention, at most every
// sqlstore.PruneEvery per process. A failure is only logged: the marks wait for the next
// time.
func (db *DB) pruneMarks(ctx context.Context) {
	now := db.now()
	last := db.marksPruned.Load()
	if now.UnixMilli()-last < sqlstore.PruneEvery.Milliseconds() || !db.marksPruned.CompareAndSwap(last, now.UnixMilli()) {
		return
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM replica_marks WHERE at < $1`, now.Add(-store.MarkRetention)); err != nil {
		db.log.Warn("replica: could not prune old marks", "err", err)
	}
}

func (w *batchTx) upsert(table string, scope int64, set string, rows []store.ReplicaRow) error {
	if len(rows) == 0 {
		return nil
	}
	ascending := sqlstore.Ascending(rows)
	var maxID *string
	if !(w.assumeNew && ascending) { // an assumed-new page needs no look at what is stored
		err := w.tx.QueryRow(w.ctx, `SELECT max(id) FROM `+quoteIdent(table)+` WHERE scope = $1`, scope).Scan(&maxID)
		if err != nil {
			return fmt.Errorf("postgres: apply batch to %s: %w", set, err)
		}
	}
	// Fast path: a full sync reads in id order, so a page's ids are distinct and all above
	// the stored ones: every row is new, none needs looking up, and COPY writes them.
	if ascending && (w.assumeNew || maxID == nil || rows[0].ID > *maxID) {
		for _, r := range rows {
			w.res.Inserted++
			w.change(scope, store.OpInsert, r.ID, r.ETag, r.ParentID)
		}
		return w.copyRows(table, scope, set, rows)
	}

	minID := rows[0].ID
	for _, r := range rows {
		minID = min(minID, r.ID)
	}
	stored := make(map[string]sqlstore.Known, len(rows))
	if maxID != nil && minID <= *maxID {
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		q, err := w.tx.Query(w.ctx, `SELECT id, etag, CASE WHEN etag = '' THEN raw END FROM `+quoteIdent(table)+
			` WHERE scope = $1 AND id = ANY($2)`, scope, ids)
		if err != nil {
			return fmt.Errorf("postgres: apply batch to %s: read stored ETags: %w", set, err)
		}
		var id string
		var k sqlstore.Known
		var raw *string
		_, err = pgx.ForEachRow(q, []any{&id, &k.ETag, &raw}, func() error {
			k.Raw = nil
			if raw != nil {
				k.Raw = []byte(*raw)
			}
			stored[id] = k
			return nil
		})
		if err != nil {
			return fmt.Errorf("postgres: apply batch to %s: read stored ETags: %w", set, err)
		}
	}
	parentOf := w.marks.Parents(scope, rows)
	write := sqlstore.Classify(rows, stored, &w.res, func(op store.Op, id, etag string) { w.change(scope, op, id, etag, parentOf[id]) })
	if len(write) == 0 {
		return nil
	}
	ids, etags, lms, parents, raws := columns(write)
	_, err := w.tx.Exec(w.ctx, `INSERT INTO `+quoteIdent(table)+` (scope, id, etag, last_modified, parent_id, raw)
		SELECT $1, * FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[])
		ON CONFLICT (scope, id) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
		parent_id = excluded.parent_id, raw = excluded.raw`, scope, ids, etags, lms, parents, raws)
	if err != nil {
		return fmt.Errorf("postgres: apply batch to %s: write rows: %w", set, err)
	}
	return nil
}

// columns splits rows into the arrays of the table's columns.
func columns(rows []store.ReplicaRow) (ids, etags []string, lms []*time.Time, parents []*string, raws []string) {
	ids, etags, raws = make([]string, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	lms, parents = make([]*time.Time, len(rows)), make([]*string, len(rows))
	for i, r := range rows {
		ids[i], etags[i], raws[i] = r.ID, r.ETag, string(r.Raw)
		lms[i] = nullTime(r.LastModified)
		if r.ParentID != "" {
			parents[i] = &rows[i].ParentID
		}
	}
	return ids, etags, lms, parents, raws
}

// copyRows writes new rows with COPY; a row that exists fails the transaction with a
// unique violation (ApplyBatch then retries the careful way).
func (w *batchTx) copyRows(table string, scope int64, set string, rows []store.ReplicaRow) error {
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(rows) {
			return nil, nil
		}
		r := rows[i]
		i++
		var parent any
		if r.ParentID != "" {
			parent = r.ParentID
		}
		return []any{scope, r.ID, r.ETag, nullTime(r.LastModified), parent, string(r.Raw)}, nil
	})
	if _, err := w.tx.CopyFrom(w.ctx, pgx.Identifier{table}, []string{"scope", "id", "etag", "last_modified", "parent_id", "raw"}, src); err != nil {
		return fmt.Errorf("postgres: apply batch to %s: write rows: %w", set, err)
	}
	return nil
}

func (w *batchTx) delete(table string, scope int64, set string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	q, err := w.tx.Query(w.ctx, `DELETE FROM `+quoteIdent(table)+` WHERE scope = $1 AND id = ANY($2) RETURNING id`, scope, ids)
	if err != nil {
		return fmt.Errorf("postgres: apply batch to %s: delete rows: %w", set, err)
	}
	gone, err := collectIDs(q)
	if err != nil {
		return fmt.Errorf("postgres: apply batch to %s: delete rows: %w", set, err)
	}
	// Log in the order given, once per id.
	for _, id := range ids {
		if gone[id] {
			delete(gone, id)
			w.res.Deleted++
			w.change(scope, store.OpDelete, id, "", "")
		}
	}
	return nil
}

func (w *batchTx) replaceChildren(table string, scope int64, c store.ChildReplace) error {
	if err := w.upsert(table, scope, c.EntitySet, c.Rows); err != nil {
		return err
	}
	if len(c.ParentIDs) == 0 {
		return nil
	}
	keep := make([]string, len(c.Rows))
	for i, r := range c.Rows {
		keep[i] = r.ID
	}
	q, err := w.tx.Query(w.ctx, `DELETE FROM `+quoteIdent(table)+` WHERE scope = $1
		AND parent_id = ANY($2) AND NOT (id = ANY($3)) RETURNING id, parent_id`, scope, c.ParentIDs, keep)
	if err != nil {
		return fmt.Errorf("postgres: apply batch to %s: delete replaced lines: %w", c.EntitySet, err)
	}
	gone := map[string]string{}
	var id, parent string
	_, err = pgx.ForEachRow(q, []any{&id, &parent}, func() error {
		gone[id] = parent
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: apply batch to %s: delete replaced lines: %w", c.EntitySet, err)
	}
	ids := make([]string, 0, len(gone))
	for id := range gone {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		w.res.Deleted++
		w.change(scope, store.OpDelete, id, "", gone[id])
	}
	return nil
}

func collectIDs(rows pgx.Rows) (map[string]bool, error) {
	ids := map[string]bool{}
	var id string
	_, err := pgx.ForEachRow(rows, []any{&id}, func() error {
		ids[id] = true
		return nil
	})
	return ids, err
}

// logChanges takes the batch's change log numbers and writes its segments in one
// statement, the last of the transaction (see ApplyBatch). A batch without changes takes
// no numbers and reports the current position.
func (w *batchTx) logChanges(at time.Time) error {
	segs := w.log.Segments()
	if w.log.N == 0 {
		if err := w.tx.QueryRow(w.ctx, `SELECT last_seq FROM change_seq WHERE one = 1`).Scan(&w.res.LastSeq); err != nil {
			return fmt.Errorf("postgres: read change log position: %w", err)
		}
		return nil
	}
	first, last, scopes, changes := make([]int64, len(segs)), make([]int64, len(segs)), make([]int64, len(segs)), make([]string, len(segs))
	for i, sg := range segs {
		first[i], last[i], scopes[i], changes[i] = sg.First, sg.Last, sg.Scope, sg.Changes
	}
	err := w.tx.QueryRow(w.ctx, `WITH seq AS (
			UPDATE change_seq SET last_seq = last_seq + $1 WHERE one = 1 RETURNING last_seq - $1 AS base, last_seq
		), segs AS (
			INSERT INTO change_batches (first_seq, last_seq, scope, at, changes)
			SELECT seq.base + f, seq.base + l, s, $2, c
			FROM seq, unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::text[]) AS u(f, l, s, c)
		)
		SELECT seq.last_seq FROM seq, (SELECT pg_notify($7, $8)) AS n`, // wakes change-feed readers at commit
		w.log.N, at, first, last, scopes, changes, w.channel, store.ChannelChanges+" ").Scan(&w.res.LastSeq)
	if err != nil {
		return fmt.Errorf("postgres: write change log: %w", err)
	}
	return nil
}

func (w *batchTx) checkpoint(b store.ReplicaBatch, at time.Time) error {
	k := b.Key
	var err error
	switch {
	case b.CheckpointDone:
		_, err = w.tx.Exec(w.ctx, `DELETE FROM sync_checkpoints WHERE connection_id = $1 AND company_id = $2 AND entity_set = $3 AND name = $4`,
			k.ConnectionID, k.CompanyID, k.EntitySet, b.CheckpointName)
	case b.Checkpoint != nil:
		err = putCheckpoint(w.ctx, w.tx, k, b.CheckpointName, b.Checkpoint, at)
	}
	if err != nil {
		return fmt.Errorf("postgres: apply batch to %s: checkpoint %q: %w", k.EntitySet, b.CheckpointName, err)
	}
	return nil
}

func putCheckpoint(ctx context.Context, tx pgx.Tx, k store.ReplicaKey, name string, value []byte, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO sync_checkpoints (connection_id, company_id, entity_set, name, value, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (connection_id, company_id, entity_set, name)
		DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		k.ConnectionID, k.CompanyID, k.EntitySet, name, string(value), at)
	return err
}
