package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/budget"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"golang.org/x/term"
)

// app holds what commands open lazily: the keyring, the store and the BC limiters, which
// share each app's BC budget with every other process on the database.
type app struct {
	kr     *secret.Keyring
	db     store.Store
	limits *budget.Limiters
	log    *slog.Logger
}

// logger returns the stderr logger at the chosen level (JSON when stderr is not a terminal).
func (g *Globals) logger() *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(g.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := g.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return slog.New(slog.NewTextHandler(g.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(g.Stderr, opts))
}

// open returns the store, opening the keyring and the database on first use. It refuses
// to go on when the database holds secrets sealed under master keys the keyring lacks,
// and creates a new master key only next to a database that holds no secrets.
func (g *Globals) open(ctx context.Context) (*app, error) {
	if g.app != nil {
		return g.app, nil
	}
	log := g.logger()
	keys := secret.Options{KeyFile: g.KeyFile, Logger: log, NoCreate: true}
	kr, err := secret.LoadKeyring(keys)
	missing := errors.Is(err, secret.ErrNoMasterKey)
	if err != nil && !missing {
		return nil, err
	}
	storeKeys := kr
	if missing {
		// Until a key is found or made, the store holds a throw-away keyring; nothing is
		// sealed with it.
		storeKeys = secret.GenerateKeyring()
	}
	db, err := openStore(ctx, g.DatabaseURL, g.DB, storeKeys, log)
	if err != nil {
		return nil, err
	}
	where := g.databaseName()
	if missing {
		if err := refuseNewKey(ctx, db, where, keys); err != nil {
			db.Close()
			return nil, err
		}
		keys.NoCreate = false
		if kr, err = secret.LoadKeyring(keys); err != nil {
			db.Close()
			return nil, err
		}
		db.(interface{ SetKeyring(*secret.Keyring) }).SetKeyring(kr)
	}
	if err := checkSealedKeys(ctx, db, where, kr); err != nil {
		db.Close()
		return nil, err
	}
	g.app = &app{kr: kr, db: db, log: log, limits: budget.NewLimiters(db, budget.Options{Logger: log})}
	return g.app, nil
}

// databaseName names the database for messages: the SQLite file's path, or the
// PostgreSQL host and database (never the URL's credentials).
func (g *Globals) databaseName() string {
	if g.DatabaseURL != "" {
		if u, err := url.Parse(g.DatabaseURL); err == nil && u.Host != "" {
			return "PostgreSQL database " + u.Host + u.Path
		}
		return "PostgreSQL database of --database-url"
	}
	if g.DB != "" {
		return g.DB
	}
	if p, err := sqlite.DefaultPath(); err == nil {
		return p
	}
	return "default database"
}

func (g *Globals) close() {
	if g.app == nil {
		return
	}
	if g.app.limits != nil {
		// Give this process's BC slots and unsent requests back to the other processes.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := g.app.limits.Close(ctx); err != nil {
			g.app.log.Warn("give back the BC budget", "err", err)
		}
		cancel()
	}
	if g.app.db != nil {
		_ = g.app.db.Close()
	}
}

// connection opens the store and loads a connection by name or ID.
func (g *Globals) connection(ctx context.Context, nameOrID string) (*app, store.Connection, error) {
	a, err := g.open(ctx)
	if err != nil {
		return nil, store.Connection{}, err
	}
	c, err := a.connection(ctx, nameOrID)
	return a, c, err
}

// connection loads a connection by name or ID with a helpful error.
func (a *app) connection(ctx context.Context, nameOrID string) (store.Connection, error) {
	c, err := a.db.GetConnection(ctx, nameOrID)
	if errors.Is(err, store.ErrNotFound) {
		names := []string{}
		if all, err := a.db.ListConnections(ctx); err == nil {
			for _, x := range all {
				names = append(names, fmt.Sprintf("%q", x.Name))
			}
		}
		if len(names) == 0 {
			return c, fmt.Errorf("no connection %q: there are none yet; add one with `bcconnector connection add`", nameOrID)
		}
		return c, fmt.Errorf("no connection %q; connections: %s", nameOrID, strings.Join(names, ", "))
	}
	return c, err
}

// openConn loads a connection and its active secret and builds its clients.
func (a *app) openConn(ctx context.Context, nameOrID string) (*conn.Conn, error) {
	c, err := a.connection(ctx, nameOrID)
	if err != nil {
		return nil, err
	}
	cred, info, err := store.ActiveCredential(ctx, a.db, c)
	if err != nil {
		if info.Kind == store.KindExpress {
			return nil, err
		}
		return nil, fmt.Errorf("connection %q has no active credential (%w); set one with `bcconnector connection rotate-secret %s`", c.Name, err, c.Name)
	}
	return conn.Open(c, cred, conn.Options{Limiters: a.limits, Logger: a.log})
}

// service returns the service over the store, as the wizard and the API use it. The CLI
// is an operator's tool, so it may set endpoint overrides. set, when given, changes the
// options first.
func (a *app) service(set ...func(*service.Options)) (*service.Impl, error) {
	opt := service.Options{Store: a.db, Limiters: a.limits, Logger: a.log, AllowEndpointOverrides: true}
	for _, f := range set {
		f(&opt)
	}
	return service.New(opt)
}

// SecretInput is how a command reads a client secret: never from a flag, because flags
// land in shell history and process listings.
type SecretInput struct {
	SecretFile  string `name:"secret-file" env:"BCC_SECRET_FILE" placeholder:"PATH" help:"Read the client secret's Value from this file ('-' for standard input)."`
	SecretStdin bool   `name:"secret-stdin" help:"Read the client secret's Value from standard input."`
	Secret      string `name:"secret" hidden:"" help:"Refused: a secret on the command line lands in shell history."`
}

// read returns the secret from the file, standard input or a prompt without echo.
func (s *SecretInput) read(g *Globals, prompt string) (secret.Secret, error) {
	if s.Secret != "" {
		return "", errors.New("--secret is refused: a secret on the command line lands in shell history and process listings; use --secret-file PATH, --secret-stdin, or answer the prompt (and consider rotating a secret that was typed into a shell)")
	}
	var raw string
	switch {
	case s.SecretFile == "-" || s.SecretStdin:
		line, err := bufio.NewReader(g.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the secret from standard input: %w", err)
		}
		raw = line
	case s.SecretFile != "":
		b, err := os.ReadFile(s.SecretFile)
		if err != nil {
			return "", fmt.Errorf("--secret-file: %w", err)
		}
		raw = string(b)
	default:
		f, ok := g.Stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return "", errors.New("no secret given: use --secret-file PATH or --secret-stdin (there is no terminal to prompt on)")
		}
		fmt.Fprint(g.Stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(g.Stderr)
		if err != nil {
			return "", fmt.Errorf("read the secret: %w", err)
		}
		raw = string(b)
	}
	raw = strings.TrimRight(raw, "\r\n")
	if raw == "" {
		return "", errors.New("the client secret is empty: paste the secret's Value (Step 3 – Create a Client Secret)")
	}
	return secret.Secret(raw), nil
}
