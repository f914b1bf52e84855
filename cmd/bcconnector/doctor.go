package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/permset"
)

// DoctorCmd diagnoses a stored connection.
type DoctorCmd struct {
	Connection string `arg:"" help:"Connection name or ID."`
	JSON       bool   `help:"Print the report as JSON (stable, machine-readable)."`
}

// Run diagnoses through the service, which keeps the report as the connection's last
// result (the dashboard shows it); the exit code is 1 when a step failed. The entity sets
// checked are the connection's.
func (c *DoctorCmd) Run(ctx context.Context, g *Globals) error {
	a, cn, err := g.connection(ctx, c.Connection)
	if err != nil {
		return err
	}
	svc, err := a.service()
	if err != nil {
		return err
	}
	rep, err := svc.RunDoctor(ctx, cn.ID, nil)
	if err != nil {
		return fmt.Errorf("connection %q: %w", cn.Name, err)
	}
	if c.JSON {
		err = rep.WriteJSON(g.Stdout)
	} else {
		err = rep.WriteText(g.Stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return errSilentFailure
	}
	return nil
}

// errSilentFailure ends a command with exit code 1 after it printed its own explanation.
var errSilentFailure = errors.New("")

func firstNonEmpty(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}

// ConsentURLCmd prints the admin-consent URL.
type ConsentURLCmd struct {
	Connection string `arg:"" help:"Connection name or ID."`
}

// Run prints the URL an admin opens to grant consent (guide Step 5).
func (c *ConsentURLCmd) Run(ctx context.Context, g *Globals) error {
	a, cn, err := g.connection(ctx, c.Connection)
	if err != nil {
		return err
	}
	if _, err := a.db.Consent(ctx, cn.ID); err == nil {
		svc, err := a.service()
		if err != nil {
			return err
		}
		v, err := svc.GetConnection(ctx, cn.ID)
		if err != nil {
			return err
		}
		if v.Express.ConsentURL == "" {
			return errors.New("no express app is set, so there is no consent link; the operator sets it with `bcconnector express-app set`")
		}
		fmt.Fprintln(g.Stdout, v.Express.ConsentURL)
		fmt.Fprintln(g.Stderr, "Open it signed in as a Global Administrator, Privileged Role Administrator or Cloud Application Administrator of the customer's tenant and accept; the answer returns to this server's consent callback.")
		return nil
	}
	fmt.Fprintln(g.Stdout, guide.AdminConsentURL(cn.AuthorityHost, cn.TenantID, cn.ClientID))
	fmt.Fprintf(g.Stderr, "Open it signed in as a Global Administrator of the tenant and accept; it returns to %s.\n", guide.RedirectURI)
	return nil
}

// PermissionSetCmd writes the least-privilege permission set.
type PermissionSetCmd struct {
	Entities []string `sep:"," help:"Entity sets read (default: the sync defaults)."`
	Write    []string `sep:"," help:"Entity sets written (granted read, insert, modify, delete)."`
	ObjectID int      `name:"object-id" default:"50100" help:"AL object ID in the per-tenant range 50000–99999."`
	Custom   []string `name:"custom-table" sep:"none" placeholder:"PUBLISHER/GROUP/VERSION/SET=TABLE" help:"The table behind a custom API page (its SourceTable in the extension's source), e.g. contoso/warehouse/v1.0/binContents='Bin Content'; repeat it per page. The set is granted that table (RIMD when in --write); it is read when in neither list. A custom set without it is listed as not covered."`
	Output   string   `short:"o" placeholder:"FILE" help:"Write to FILE instead of standard output."`
}

// Run writes the AL source.
func (c *PermissionSetCmd) Run(g *Globals) error {
	read := c.Entities
	if len(read) == 0 {
		read = doctor.DefaultEntities
	}
	custom, err := permset.ParseCustomTables(c.Custom)
	if err != nil {
		return fmt.Errorf("--custom-table %v", err)
	}
	for _, set := range slices.Sorted(maps.Keys(custom)) {
		if !slices.Contains(read, set) && !slices.Contains(c.Write, set) {
			read = append(slices.Clip(read), set)
		}
	}
	var b strings.Builder
	if err := permset.Generate(&b, read, c.Write, permset.Options{ObjectID: c.ObjectID, Custom: custom}); err != nil {
		return err
	}
	if c.Output == "" {
		_, err := fmt.Fprint(g.Stdout, b.String())
		return err
	}
	if err := os.WriteFile(c.Output, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(g.Stderr, "Wrote %s. Add it to a per-tenant extension, publish it, then assign %s to the app on the %s page (guide Step 6).\n", c.Output, guide.PermissionSetName, guide.BCPageName)
	return nil
}
