package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/bizzjoiner/bcconnector/store"
)

// TokenCmd manages API tokens.
type TokenCmd struct {
	Create TokenCreateCmd `cmd:"" help:"Create an API token (shown once; only its hash is stored)."`
	List   TokenListCmd   `cmd:"" help:"List API tokens (never their values)."`
	Revoke TokenRevokeCmd `cmd:"" help:"Revoke an API token by name or ID."`
}

// TokenCreateCmd creates a token.
type TokenCreateCmd struct {
	Name        string   `required:"" help:"Who uses the token, e.g. platform-prod."`
	Connections []string `sep:"," placeholder:"ID,..." help:"Connection IDs or names the token may use (default: all connections)."`
}

// Run creates the token and prints it once.
func (c *TokenCreateCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	var ids []string
	for _, n := range c.Connections {
		cn, err := a.connection(ctx, n)
		if err != nil {
			return err
		}
		ids = append(ids, cn.ID)
	}
	tok := store.NewToken()
	t, err := a.db.CreateToken(ctx, c.Name, ids, store.HashToken(tok.Reveal()))
	if err != nil {
		return err
	}
	scope := "all connections"
	if ids != nil {
		scope = "connections " + strings.Join(ids, ", ")
	}
	fmt.Fprintf(g.Stderr, "Token %q (id %s) for %s. Copy it now: it is not stored and cannot be shown again.\n", t.Name, t.ID, scope)
	_, err = fmt.Fprintln(g.Stdout, tok.Reveal())
	return err
}

// TokenListCmd lists tokens.
type TokenListCmd struct{}

// Run prints the tokens.
func (TokenListCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	ts, err := a.db.ListTokens(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSCOPE\tCREATED\tLAST USED\tREVOKED")
	for _, t := range ts {
		scope := "all"
		if t.Connections != nil {
			scope = strings.Join(t.Connections, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.ID, scope, stamp(t.CreatedAt), stamp(t.LastUsedAt), stamp(t.RevokedAt))
	}
	return tw.Flush()
}

// TokenRevokeCmd revokes a token.
type TokenRevokeCmd struct {
	Token string `arg:"" help:"Token name or ID."`
}

// Run revokes the token.
func (c *TokenRevokeCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	if err := a.db.RevokeToken(ctx, c.Token); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.Stdout, "Revoked token %q.\n", c.Token)
	return err
}
