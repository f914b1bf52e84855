// Command bcconnector connects the Bizzjoiner platform to its customers' Microsoft Dynamics
// 365 Business Central online environments, and ships the sandbox (an emulator of Entra ID
// and Business Central) that everything is tested against.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// CLI is the command line. Every flag can also be set through the environment variable
// named in its help.
type CLI struct {
	Emulator EmulatorCmd `cmd:"" help:"Run the sandbox: an emulator of Microsoft Entra ID and Business Central online on a local HTTPS port."`
	Version  VersionCmd  `cmd:"" help:"Print the version."`
}

// Globals are handed to every command.
type Globals struct {
	Stdout io.Writer
	Stderr io.Writer
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(g *Globals) error {
	_, err := fmt.Fprintln(g.Stdout, "bcconnector", version)
	return err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args and runs the command; it returns the process exit code. Tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cli CLI
	exit := -1
	parser, err := kong.New(&cli,
		kong.Name("bcconnector"),
		kong.Description("Connect Bizzjoiner to Microsoft Dynamics 365 Business Central online: check a customer's setup, keep their secret safe, read, write and replicate their data. Try it without a tenant: bcconnector emulator."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(&Globals{Stdout: stdout, Stderr: stderr}),
	)
	if err != nil {
		fmt.Fprintln(stderr, "bcconnector:", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 {
		return exit
	}
	if err != nil {
		parser.Errorf("%s", err)
		return 2
	}
	if err := kctx.Run(); err != nil {
		fmt.Fprintln(stderr, "bcconnector:", err)
		return 1
	}
	return 0
}
