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
	"os/user"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"
	"github.com/bizzjoiner/bcconnector/store"
)

// CLI is the command line. Every flag can also be set through the environment variable
// named in its help.
type CLI struct {
	Globals

	Connection    ConnectionCmd    `cmd:"" help:"Add, list, show, remove connections and rotate their secrets or certificates."`
	Doctor        DoctorCmd        `cmd:"" help:"Check a connection's setup step by step and say which guide step is wrong."`
	ConsentURL    ConsentURLCmd    `cmd:"" name:"consent-url" help:"Print the admin-consent URL for a connection's app (guide Step 5)."`
	ExpressApp    ExpressAppCmd    `cmd:"" name:"express-app" help:"Configure Bizzjoiner's own multi-tenant app for express setup (operators)."`
	PermissionSet PermissionSetCmd `cmd:"" name:"permission-set" help:"Write the least-privilege AL permission set BIZZJOINER CONNECTOR for the entity sets you use (guide Step 6)."`
	Companies     CompaniesCmd     `cmd:"" help:"List the companies of a connection's environment."`
	Get           GetCmd           `cmd:"" help:"Read records of an entity set as JSON lines."`
	Create        CreateCmd        `cmd:"" help:"Create a record (JSON body)."`
	Update        UpdateCmd        `cmd:"" help:"Update a record with If-Match (JSON body)."`
	Delete        DeleteCmd        `cmd:"" help:"Delete a record with If-Match."`
	Action        ActionCmd        `cmd:"" help:"Run a bound action such as post on a record."`
	Sync          SyncCmd          `cmd:"" help:"Replicate a connection's entity sets into the local store (resumes where it stopped)."`
	Status        StatusCmd        `cmd:"" help:"Show the sync state per entity set: rows, watermark, last run, lag, errors, 429s."`
	Changes       ChangesCmd       `cmd:"" help:"Print the change log (JSON lines) after a sequence number."`
	Serve         ServeCmd         `cmd:"" help:"Run the web UI, the JSON API, sync workers and the webhook receiver in one process (--sandbox: with a demo tenant)."`
	Token         TokenCmd         `cmd:"" help:"Create, list and revoke API tokens."`
	Admin         AdminCmd         `cmd:"" help:"Manage web UI admins."`
	Key           KeyCmd           `cmd:"" help:"Manage the master key that seals client secrets."`
	Migrate       MigrateCmd       `cmd:"" help:"Create or upgrade the database's tables (bcconnector's and the job queue's) and exit; serve does it too."`
	Emulator      EmulatorCmd      `cmd:"" help:"Run the sandbox: an emulator of Microsoft Entra ID and Business Central online on a local HTTPS port."`
	Version       VersionCmd       `cmd:"" help:"Print the version."`
}

// Globals are flags of every command, and the process's streams.
type Globals struct {
	DB          string `name:"db" env:"BCC_DB" placeholder:"PATH" help:"SQLite database file. Default: $XDG_DATA_HOME/bcconnector/bcconnector.db (~/.local/share/bcconnector/bcconnector.db). Ignored with --database-url."`
	DatabaseURL string `name:"database-url" env:"BCC_DATABASE_URL" placeholder:"URL" help:"PostgreSQL database instead of the SQLite file, e.g. postgres://bcc@db:5432/bcconnector?sslmode=verify-full (several instances can share it)."`
	KeyFile     string `name:"key-file" env:"BCC_KEY_FILE" placeholder:"PATH" help:"Master key file (created with mode 0600 on first run). Default: ~/.config/bcconnector/master.key. BCC_MASTER_KEY (base64 of 32 bytes) takes precedence."`
	LogLevel    string `name:"log-level" env:"BCC_LOG_LEVEL" default:"warn" enum:"debug,info,warn,error" help:"Log level (logs go to stderr; secrets and tokens are never logged)."`

	Stdout io.Writer `kong:"-"`
	Stderr io.Writer `kong:"-"`
	Stdin  io.Reader `kong:"-"`

	app *app
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
	os.Exit(runWithStdin(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run parses args and runs the command; it returns the process exit code. Tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWithStdin(ctx, args, strings.NewReader(""), stdout, stderr)
}

// runWithStdin is run with a given standard input (secrets may be piped in).
func runWithStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cli := CLI{Globals: Globals{Stdout: stdout, Stderr: stderr, Stdin: stdin}}
	defer cli.Globals.close()
	// What a command changes, the audit log attributes to the CLI (serve says otherwise).
	ctx = store.WithActor(ctx, store.Actor{Kind: store.ActorCLI, Name: osUser()})
	exit := -1
	parser, err := kong.New(&cli,
		kong.Name("bcconnector"),
		kong.Description("Connect Bizzjoiner to Microsoft Dynamics 365 Business Central online: check a customer's setup, keep their secret safe, read, write and replicate their data. Try it without a tenant: bcconnector emulator."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(&cli.Globals),
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
		if err != errSilentFailure {
			fmt.Fprintln(stderr, "bcconnector:", err)
		}
		return 1
	}
	return 0
}

// osUser is the operating system's user name for the audit log's "cli" entries; "" when
// unknown.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}
