package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bizzjoiner/bcconnector/web"
	"golang.org/x/term"
)

// AdminCmd manages web UI admins.
type AdminCmd struct {
	Create AdminCreateCmd `cmd:"" help:"Create a web UI admin (password from a prompt or standard input)."`
}

// AdminCreateCmd creates an admin.
type AdminCreateCmd struct {
	Name string `required:"" help:"The admin's sign-in name."`
}

// Run reads the password and stores its Argon2id hash.
func (c *AdminCreateCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	var pw string
	if f, ok := g.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(g.Stderr, "Password (at least 12 characters, input hidden): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.Stderr)
		if err != nil {
			return err
		}
		pw = string(b)
	} else {
		line, err := bufio.NewReader(g.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	hash, err := web.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := a.db.CreateUser(ctx, c.Name, hash); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.Stdout, "Admin %q created; sign in at the web UI.\n", c.Name)
	return err
}
