package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/bizzjoiner/bcconnector/secret"
)

// KeyCmd groups master key commands.
type KeyCmd struct {
	Rotate KeyRotateCmd `cmd:"" help:"Generate a new master key, re-seal every secret with it, then drop the old key."`
}

// KeyRotateCmd rotates the master key of a key file.
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
		return errors.New("the master key comes from " + secret.EnvMasterKey + ": rotate it there (set it to \"NEW,OLD\", run the service once so it re-seals, then to \"NEW\"); `key rotate` manages key files only")
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
	return nil
}
