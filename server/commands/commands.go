// Package commands holds the actions behind main.go's command table: flag
// parsing stays in main.go, the work is done here through server.Admin (the
// admin socket, or the file when no server runs) and deviceclient.
package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"gatehouse/server"
	"gatehouse/server/clientip"
)

// Exit codes, documented in the README.
const (
	ExitFailure  = 1
	ExitUsage    = 2
	ExitNotFound = 3
	ExitExists   = 4
)

// Serve runs `gatehouse serve` until SIGINT or SIGTERM.
func Serve(c *cli.Context) error {
	logger, err := newLogger(c.String("log-format"), c.App.ErrWriter)
	if err != nil {
		return cli.Exit("gatehouse: "+err.Error(), ExitUsage)
	}
	cfg := server.Config{
		Listen: c.String("listen"), DataDir: c.String("data-dir"), PublicURL: c.String("public-url"),
		DeviceCodeTTL: c.Duration("device-code-ttl"), PollInterval: c.Duration("poll-interval"),
		TokenTTLDays: c.Int("token-ttl-days"), ExternalTTLDays: c.Int("external-token-ttl-days"),
		Retention: c.Duration("retention"), AuditRetention: c.Duration("audit-retention"),
		PruneEvery: c.Duration("prune-every"), AdminEmail: c.String("admin-email"),
		SecretKey: os.Getenv("GATEHOUSE_SECRET_KEY"), Logger: logger, Out: c.App.Writer,
	}
	if !c.IsSet("external-token-ttl-days") {
		// It follows --token-ttl-days; when that is out of range, start-up
		// fails on it alone, not on a flag nobody gave.
		cfg.ExternalTTLDays = cfg.TokenTTLDays
		if cfg.TokenTTLDays < 1 || cfg.TokenTTLDays > 365 {
			cfg.ExternalTTLDays = server.DefaultTokenTTLDays
		}
	}
	if err := networkConfig(c, &cfg); err != nil {
		return cli.Exit("gatehouse: "+err.Error(), ExitUsage)
	}
	if cfg.SSO, err = ssoConfig(c); err != nil {
		return cli.Exit("gatehouse: "+err.Error(), ExitUsage)
	}
	opsConfig(c, &cfg)
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, cfg); err != nil {
		code := ExitFailure
		if errors.Is(err, server.ErrConfig) {
			code = ExitUsage // a bad flag or environment value
		}
		return cli.Exit("gatehouse: "+err.Error(), code)
	}
	return nil
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

func admin(c *cli.Context) server.Admin { return server.Admin{DataDir: c.String("data-dir")} }

// call runs an admin operation and turns its error into an exit status.
func call(c *cli.Context, op string, in, out any) error {
	return exitFor(admin(c).Call(c.Context, op, in, out))
}

// exitFor maps an admin error to its documented exit status.
func exitFor(err error) error {
	if err == nil {
		return nil
	}
	var ae *server.AdminError
	if errors.As(err, &ae) {
		code := map[string]int{server.AdminNotFound: ExitNotFound, server.AdminExists: ExitExists, server.AdminInvalid: ExitUsage}[ae.Code]
		if code == 0 {
			code = ExitFailure
		}
		return cli.Exit("gatehouse: "+ae.Message, code)
	}
	return cli.Exit("gatehouse: "+err.Error(), ExitFailure)
}

// readPassword takes the password from stdin (--password-stdin) or draws one
// and prints it once.
func readPassword(c *cli.Context) (string, bool, error) {
	if !c.Bool("password-stdin") {
		p, err := randomPassword()
		return p, true, err
	}
	line, err := bufio.NewReader(c.App.Reader).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	line = strings.TrimRight(line, "\r\n")
	if len(line) < 8 {
		return "", false, cli.Exit("gatehouse: the password must be at least 8 characters", ExitUsage)
	}
	return line, false, nil
}

func since(c *cli.Context) time.Time {
	if d := c.Duration("since"); d > 0 {
		return time.Now().Add(-d)
	}
	return time.Time{}
}

func ctxOrBackground(c *cli.Context) context.Context {
	if c.Context != nil {
		return c.Context
	}
	return context.Background()
}

// networkConfig reads the proxy-trust and rate-limit flags into cfg.
func networkConfig(c *cli.Context, cfg *server.Config) error {
	var err error
	if cfg.TrustedProxies, err = clientip.ParseTrusted(c.String("trusted-proxies")); err != nil {
		return err
	}
	cfg.HoldPolls, cfg.MaxHeldPolls = c.Bool("hold-polls"), c.Int("max-held-polls")
	cfg.MaxPendingCodes = c.Int("max-pending-codes")
	if cfg.MaxPendingCodes < 1 {
		return fmt.Errorf("--max-pending-codes must be at least 1")
	}
	cfg.Limits = server.DefaultLimits(cfg.DeviceCodeTTL, cfg.MaxPendingCodes)
	for _, spec := range c.StringSlice("limit") {
		if err := cfg.Limits.Override(spec); err != nil {
			return err
		}
	}
	return nil
}

// ssoConfig reads the --sso-* flags; server.Config.Validate judges them.
func ssoConfig(c *cli.Context) (server.SSOConfig, error) {
	keys, err := server.ParseSSOKeys(c.String("sso-keys"))
	if err != nil {
		return server.SSOConfig{}, err
	}
	return server.SSOConfig{ACSURL: c.String("sso-acs-url"), Keys: keys, ActiveKID: c.String("sso-active-kid"),
		Issuers: server.ParseList(c.String("sso-issuers")), RejectLocalEmail: c.Bool("sso-reject-local-email")}, nil
}
