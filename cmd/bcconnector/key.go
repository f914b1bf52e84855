package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"

	"github.com/bizzjoiner/bcconnector/secret"
)

// KeyCmd groups master key commands.
type KeyCmd struct {
	Rotate KeyRotateCmd `cmd:"" help:"Generate a new master key, re-seal every secret with it, then drop the old key (key file); with BCC_MASTER_KEY=NEW,OLD, re-seal every secret with NEW."`
}

// KeyRotateCmd rotates the master key of a key file, or finishes a rotation of
// BCC_MASTER_KEY (every instance runs with NEW,OLD; this re-seals in the database).
type KeyRotateCmd struct {
	KeepOld bool `name:"keep-old" help:"Keep the old key in the key file (decrypt-only) instead of dropping it."`
}

// Run rotates in the only safe order: save the new keyring with the old key, re-seal,
// check nothing is sealed with the old key any more, then drop it.
func (c *KeyRotateCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	src := a.kr.Source()
	if src.Kind != "file" {
		return c.reSealEnv(ctx, g, a)
	}
	old := a.kr.PrimaryID()
	next := a.kr.Rotate()
	if err := next.Save(src.Name); err != nil {
		return fmt.Errorf("save the new key to %s: %w", src.Name, err)
	}
	n, err := a.db.ReSealAll(ctx, next)
	if err != nil {
		return fmt.Errorf("re-seal (the key file keeps both keys, so nothing is lost; run the command again): %w", err)
	}
	counts, err := a.db.SealedKeyIDs(ctx)
	if err != nil {
		return err
	}
	for id, k := range counts {
		if id != next.PrimaryID() && k > 0 {
			return fmt.Errorf("%d secrets are still sealed with key %s; the old key is kept; run the command again", k, id)
		}
	}
	if !c.KeepOld {
		if err := next.DropOlder().Save(src.Name); err != nil {
			return err
		}
	}
	fmt.Fprintf(g.Stdout, "Rotated the master key %s → %s in %s; re-sealed %d secrets.\n", old, next.PrimaryID(), src.Name, n)
	if g.DatabaseURL != "" {
		fmt.Fprintf(g.Stdout, "Other instances on this database read their own key file and cannot open the re-sealed secrets (their /readyz answers 503): copy %s to each of them and restart them. With several instances, %s is simpler (README, \"Running on several machines\").\n",
			src.Name, secret.EnvMasterKey)
	}
	return nil
}

// reSealEnv is the database step of rotating BCC_MASTER_KEY: with "NEW,OLD" it re-seals
// every secret with NEW and checks none is left under another key. Every instance must run
// with NEW,OLD before (so each opens both) and with NEW alone after.
func (c *KeyRotateCmd) reSealEnv(ctx context.Context, g *Globals, a *app) error {
	ids := a.kr.KeyIDs()
	if len(ids) < 2 {
		return fmt.Errorf("%s holds one key (%s), so there is nothing to rotate to. To rotate it: generate a new key (openssl rand -base64 32), set %s=\"NEW,OLD\" on every instance and restart them, run `bcconnector key rotate` once with that value (it re-seals every secret with NEW), then set %s=\"NEW\" everywhere and restart again",
			secret.EnvMasterKey, ids[0], secret.EnvMasterKey, secret.EnvMasterKey)
	}
	n, err := a.db.ReSealAll(ctx, a.kr)
	if err != nil {
		return fmt.Errorf("re-seal (nothing is lost: every secret opens with one of the keys of %s; run the command again): %w", secret.EnvMasterKey, err)
	}
	counts, err := a.db.SealedKeyIDs(ctx)
	if err != nil {
		return err
	}
	for id, k := range counts {
		if id != a.kr.PrimaryID() && k > 0 {
			return fmt.Errorf("%d secrets are still sealed with key %s; keep %s=\"NEW,OLD\" and run the command again", k, id, secret.EnvMasterKey)
		}
	}
	fmt.Fprintf(g.Stdout, "Re-sealed %d secrets with master key %s; none is sealed with %s any more.\n"+
		"Now set %s to the new key alone on every instance and every machine that runs bcconnector, and restart them; until then they keep working with both keys.\n",
		n, a.kr.PrimaryID(), strings.Join(ids[1:], ", "), secret.EnvMasterKey)
	return nil
}

// sealedKeys is what checks of the master key need from the store.
type sealedKeys interface {
	SealedKeyIDs(ctx context.Context) (map[string]int, error)
	ListConnections(ctx context.Context) ([]store.Connection, error)
}

// checkSealedKeys fails when the database holds secrets sealed under master keys that kr
// lacks: with another key every connection would fail later, one by one. The error names
// the missing key IDs and where the keys were read from.
func checkSealedKeys(ctx context.Context, db sealedKeys, dbPath string, kr *secret.Keyring) error {
	counts, err := db.SealedKeyIDs(ctx)
	if err != nil {
		return err
	}
	var missing []string
	n := 0
	for id, k := range counts {
		if k > 0 && !slices.Contains(kr.KeyIDs(), id) {
			missing = append(missing, id)
			n += k
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("the database %s holds %d client secrets sealed with master key %s, which the %s (keys %s) does not hold; "+
		"restore that key (the key file from your backup, or %s), or run with the key it was sealed with; nothing was changed",
		dbPath, n, strings.Join(missing, ", "), kr.Source(), strings.Join(kr.KeyIDs(), ", "), secret.EnvMasterKey)
}

// refuseNewKey fails when no master key was found but the database is not empty: a new
// key would not open its secrets, so the old key must be restored instead.
func refuseNewKey(ctx context.Context, db sealedKeys, dbPath string, keys secret.Options) error {
	counts, err := db.SealedKeyIDs(ctx)
	if err != nil {
		return err
	}
	var ids []string
	n := 0
	for id, k := range counts {
		if k > 0 {
			ids = append(ids, id)
			n += k
		}
	}
	conns, err := db.ListConnections(ctx)
	if err != nil {
		return err
	}
	if n == 0 && len(conns) == 0 {
		return nil
	}
	slices.Sort(ids)
	what := fmt.Sprintf("%d connections", len(conns))
	if n > 0 {
		what = fmt.Sprintf("%d client secrets sealed with master key %s", n, strings.Join(ids, ", "))
	}
	return fmt.Errorf("no master key found (looked in the %s), but the database %s holds %s; "+
		"a new key would not open them, so none was created: restore the key file from your backup or set %s",
		keys.Where(), dbPath, what, secret.EnvMasterKey)
}
