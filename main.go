// Command gatehouse is an on-prem OAuth 2.0 Device Authorization Grant
// (RFC 8628) server in one binary. This file is the command table only: the
// flags, their environment variables and defaults. The work is done in
// gatehouse/server/commands.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"gatehouse/server"
	"gatehouse/server/commands"
)

func main() {
	a := app()
	if err := a.Run(hoistFlags(a, os.Args)); err != nil {
		// Action errors exit in exitErrHandler; what reaches here is
		// urfave/cli's own refusal, such as a required flag not set.
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(commands.ExitUsage)
	}
}

// version names the build: the module version and, for a build from a
// checkout, the commit it was built from (and "+dirty" for local changes).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (commit " + rev + dirty + ")"
	}
	return v
}

func app() *cli.App {
	a := &cli.App{
		Name:            "gatehouse",
		Usage:           "on-prem OAuth 2.0 device authorization server",
		Version:         version(),
		ExitErrHandler:  exitErrHandler,
		OnUsageError:    usageError,
		CommandNotFound: commandNotFound,
		Action:          unknownCommand,
		Commands: []*cli.Command{
			{Name: "serve", Usage: "run the server", Action: commands.Serve, Flags: serveFlags()},
			{Name: "user", Usage: "manage local accounts", Subcommands: userCommands()},
			{Name: "client", Usage: "manage registered OAuth clients", Subcommands: clientCommands()},
			{Name: "resource", Usage: "manage resource servers allowed to introspect tokens", Subcommands: resourceCommands()},
			{Name: "revoke", Usage: "revoke tokens (exactly one selector)", Action: commands.Revoke, Flags: withDataDir(
				str("token-id", "", "revoke the token with this id"),
				str("token", "", "revoke the token with this value"),
				str("email", "", "revoke every token of this subject email"),
				str("issuer", "", "with --email: only this subject issuer"),
				str("client", "", "revoke every token of this client id"),
				boolean("all", "revoke every token"),
				boolean("json", "print JSON"))},
			{Name: "tokens", Usage: "inspect tokens", Subcommands: []*cli.Command{
				{Name: "list", Usage: "list live tokens", Action: commands.TokensList, Flags: withDataDir(
					str("email", "", "only this subject email"), str("issuer", "", "only this subject issuer"),
					str("client", "", "only this client id"), boolean("all", "include revoked and expired rows"),
					boolean("json", "print JSON"))},
			}},
			{Name: "prune", Usage: "delete revoked, expired and stale rows", Action: commands.Prune, Flags: withDataDir(
				boolean("dry-run", "count, delete nothing"), boolean("json", "print JSON"),
				dur("retention", server.DefaultRetention, "keep revoked and expired tokens this long", "GATEHOUSE_RETENTION"),
				dur("audit-retention", server.DefaultAuditRetention, "keep audit events this long", "GATEHOUSE_AUDIT_RETENTION"))},
			{Name: "backup", Usage: "write a hot, consistent copy of the data file", ArgsUsage: "FILE", Action: commands.Backup, Flags: withDataDir()},
			{Name: "compact", Usage: "rewrite the data file to reclaim space (server must be stopped)", Action: commands.Compact, Flags: withDataDir()},
			{Name: "check", Usage: "verify the data file (or --file)", Action: commands.Check, Flags: withDataDir(str("file", "", "check this bbolt file instead"))},
			{Name: "audit", Usage: "print recent audit events", Action: commands.Audit, Flags: withDataDir(
				&cli.DurationFlag{Name: "since", Usage: "only events newer than this (e.g. 24h)", DefaultText: "all events"},
				&cli.IntFlag{Name: "limit", Value: 100, Usage: "at most this many, newest first (0: no limit)"},
				boolean("json", "print JSON"))},
			{Name: "login", Usage: "sign this machine in to a Gatehouse (reference client)", Action: commands.Login, Flags: clientFlags(
				str("device-label", "", "label shown to the approver (default: hostname)"),
				boolean("qr", "also print a QR code of the complete verification URI"))},
			{Name: "selftest", Usage: "check a running server against the RFC edge cases", ArgsUsage: "URL",
				Action: commands.Selftest, Flags: []cli.Flag{str("client-id", server.DefaultClientID, "a registered client id"),
					str("approve-email", "", "also approve and deny the selftest's own codes as this account (password: --password-stdin or GATEHOUSE_SELFTEST_PASSWORD)"),
					boolean("password-stdin", "read the --approve-email account's password from stdin"),
					boolean("wait-expiry", "also wait out one code's lifetime and check expired_token")}},
			{Name: "whoami", Usage: "show who the saved token is", Action: commands.Whoami, Flags: clientFlags()},
			{Name: "logout", Usage: "revoke and forget the saved token", Action: commands.Logout, Flags: clientFlags()},
			{Name: "bench", Usage: "benchmark an in-process server on a temp data dir (docs/BENCHMARKS.md)", Action: commands.Bench, Flags: benchFlags()},
		},
	}
	forEachCommand(a.Commands, func(c *cli.Command) {
		c.OnUsageError = usageError
		if len(c.Subcommands) > 0 && c.Action == nil {
			c.Action = unknownCommand
		}
	})
	return a
}

func serveFlags() []cli.Flag {
	return withDataDir(
		&cli.StringFlag{Name: "listen", Value: server.DefaultListen, Usage: "address to listen on", EnvVars: []string{"GATEHOUSE_LISTEN"}},
		&cli.StringFlag{Name: "public-url", Usage: "URL people and clients reach this server at (default: from --listen)", EnvVars: []string{"GATEHOUSE_PUBLIC_URL"}},
		dur("device-code-ttl", server.DefaultDeviceCodeTTL, "device code lifetime (30s..24h)", "GATEHOUSE_DEVICE_CODE_TTL"),
		dur("poll-interval", server.DefaultPollInterval, "minimum poll interval (1s..5m)", "GATEHOUSE_POLL_INTERVAL"),
		&cli.IntFlag{Name: "token-ttl-days", Value: server.DefaultTokenTTLDays, Usage: "account token lifetime in days (1..365)", EnvVars: []string{"GATEHOUSE_TOKEN_TTL_DAYS"}},
		&cli.IntFlag{Name: "external-token-ttl-days", Usage: "SSO token lifetime in days (1..365)", DefaultText: "--token-ttl-days", EnvVars: []string{"GATEHOUSE_EXTERNAL_TOKEN_TTL_DAYS"}},
		dur("retention", server.DefaultRetention, "keep revoked and expired tokens this long", "GATEHOUSE_RETENTION"),
		dur("audit-retention", server.DefaultAuditRetention, "keep audit events this long", "GATEHOUSE_AUDIT_RETENTION"),
		dur("prune-every", server.DefaultPruneEvery, "run prune this often (0 disables)", "GATEHOUSE_PRUNE_EVERY"),
		&cli.StringFlag{Name: "admin-email", Value: "admin@localhost", Usage: "email of the first admin account", EnvVars: []string{"GATEHOUSE_ADMIN_EMAIL"}},
		&cli.BoolFlag{Name: "hold-polls", Value: true, Usage: "hold a pending poll up to its interval and answer the moment it is approved", EnvVars: []string{"GATEHOUSE_HOLD_POLLS"}},
		&cli.IntFlag{Name: "max-held-polls", Value: server.DefaultMaxHeldPolls, Usage: "polls held at once (more are answered at once)", EnvVars: []string{"GATEHOUSE_MAX_HELD_POLLS"}},
		&cli.StringFlag{Name: "trusted-proxies", Usage: "comma-separated CIDRs allowed to set X-Forwarded-For/Forwarded/X-Forwarded-Proto", EnvVars: []string{"GATEHOUSE_TRUSTED_PROXIES"}},
		&cli.IntFlag{Name: "max-pending-codes", Value: server.DefaultMaxPendingCodes, Usage: "codes expected pending at once; sizes the global failed-guess budget", EnvVars: []string{"GATEHOUSE_MAX_PENDING_CODES"}},
		&cli.StringSliceFlag{Name: "limit", Usage: "override a rate limit: NAME=N/PERIOD:BURST or NAME=off (repeatable)", EnvVars: []string{"GATEHOUSE_LIMITS"}},
		&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this PEM certificate (chain) file; reloaded when it changes", EnvVars: []string{"GATEHOUSE_TLS_CERT"}},
		&cli.StringFlag{Name: "tls-key", Usage: "the PEM private key for --tls-cert", EnvVars: []string{"GATEHOUSE_TLS_KEY"}},
		&cli.StringFlag{Name: "metrics-listen", Usage: "serve /metrics on this address instead of the public listener", EnvVars: []string{"GATEHOUSE_METRICS_LISTEN"}},
		&cli.StringFlag{Name: "service-documentation", Usage: "URL advertised as service_documentation in the discovery document", EnvVars: []string{"GATEHOUSE_SERVICE_DOCUMENTATION"}},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json", EnvVars: []string{"GATEHOUSE_LOG_FORMAT"}},
		// External SSO: on only when --sso-acs-url and --sso-keys are both set.
		&cli.StringFlag{Name: "sso-acs-url", Usage: "SSO: the assertion consumer service's initiate endpoint (http(s) URL)", EnvVars: []string{"GATEHOUSE_SSO_ACS_URL"}},
		&cli.StringFlag{Name: "sso-keys", Usage: "SSO: shared HS256 keys as KID:BASE64[,KID:BASE64...], each >= 32 bytes (prefer the env var)", EnvVars: []string{"GATEHOUSE_SSO_KEYS"}},
		&cli.StringFlag{Name: "sso-active-kid", Usage: "SSO: kid that signs (default: the only key)", EnvVars: []string{"GATEHOUSE_SSO_ACTIVE_KID"}},
		&cli.StringFlag{Name: "sso-issuers", Usage: "SSO: comma-separated allow-list of subject issuers", EnvVars: []string{"GATEHOUSE_SSO_ISSUERS"}},
		boolEnv("sso-reject-local-email", "SSO: refuse subjects whose email is a local account", "GATEHOUSE_SSO_REJECT_LOCAL_EMAIL"),
	)
}

func benchFlags() []cli.Flag {
	return []cli.Flag{
		dur("duration", 10*time.Second, "measured time per run (each scenario and each baseline)", ""),
		&cli.IntFlag{Name: "concurrency", Value: 64, Usage: "workers and pooled keep-alive connections"},
		&cli.IntFlag{Name: "tokens", Value: 100_000, Usage: "live tokens seeded for the bearer and introspection scenarios"},
		&cli.StringSliceFlag{Name: "scenario", Usage: "scenarios to run, comma-separated (default: all but scale): bearer, forward-auth, introspect, poll, poll-max, create, create-store, flow, approval, scale"},
		boolean("scale", "also run the scale scenario (1M live + 1M expired tokens; takes minutes)"),
		&cli.IntFlag{Name: "scale-tokens", Value: 1_000_000, Usage: "live (and expired) tokens of the scale scenario"},
		&cli.BoolFlag{Name: "hold-polls", Value: true, Usage: "run the server with held polls, as serve does by default"},
		dur("wait-quiet", 0, "before each scenario, wait up to this long for other processes to leave the CPUs idle", ""),
		&cli.IntFlag{Name: "retries", Usage: "measure a row again (up to N times) when other processes used the CPUs meanwhile"},
		str("cpuprofile", "", "write one CPU profile per scenario into this directory"),
		str("temp-dir", "", "where the data directory goes (default: system temp dir); its disk is measured"),
		boolean("json", "print JSON"), boolean("markdown", "print a Markdown table"),
	}
}

func userCommands() []*cli.Command {
	email := func() cli.Flag {
		return &cli.StringFlag{Name: "email", Required: true, Usage: "account email"}
	}
	pwStdin := func() cli.Flag {
		return boolean("password-stdin", "read the password from stdin (else one is generated)")
	}
	return []*cli.Command{
		{Name: "add", Usage: "create an account", Action: commands.UserAdd, Flags: withDataDir(email(),
			&cli.StringFlag{Name: "name", Required: true, Usage: "display name"},
			&cli.StringSliceFlag{Name: "workspace", Usage: "workspace to join, created if missing (repeatable; default \"default\")"},
			&cli.StringFlag{Name: "role", Value: "member", Usage: "member or admin"}, pwStdin())},
		{Name: "list", Usage: "list accounts", Action: commands.UserList, Flags: withDataDir(boolean("json", "print JSON"))},
		{Name: "disable", Usage: "disable an account", Action: commands.UserSetDisabled(true), Flags: withDataDir(email())},
		{Name: "enable", Usage: "enable an account", Action: commands.UserSetDisabled(false), Flags: withDataDir(email())},
		{Name: "passwd", Usage: "set an account's password", Action: commands.UserPasswd, Flags: withDataDir(email(), pwStdin())},
	}
}

func clientCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "add", Usage: "register a client id", ArgsUsage: "ID", Action: commands.ClientAdd,
			Flags: withDataDir(&cli.StringFlag{Name: "name", Usage: "name shown on the approval page"})},
		{Name: "list", Usage: "list clients", Action: commands.ClientList, Flags: withDataDir(boolean("json", "print JSON"))},
		{Name: "remove", Usage: "unregister a client", ArgsUsage: "ID", Action: commands.ClientRemove, Flags: withDataDir()},
	}
}

func resourceCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "add", Usage: "register a resource server; prints its secret once", ArgsUsage: "NAME", Action: commands.ResourceAdd, Flags: withDataDir()},
		{Name: "list", Usage: "list resource servers", Action: commands.ResourceList, Flags: withDataDir(boolean("json", "print JSON"))},
		{Name: "remove", Usage: "unregister a resource server", ArgsUsage: "NAME", Action: commands.ResourceRemove, Flags: withDataDir()},
	}
}

func clientFlags(extra ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "server", Value: "http://127.0.0.1:8080", Usage: "Gatehouse URL", EnvVars: []string{"GATEHOUSE_SERVER"}},
		&cli.StringFlag{Name: "client-id", Value: server.DefaultClientID, Usage: "OAuth client id", EnvVars: []string{"GATEHOUSE_CLIENT_ID"}},
		&cli.StringFlag{Name: "config-dir", Usage: "where the token is kept (default: user config dir)", EnvVars: []string{"GATEHOUSE_CONFIG_DIR"}},
	}, extra...)
}

// withDataDir adds --data-dir, which every operator command takes.
func withDataDir(extra ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{&cli.StringFlag{Name: "data-dir", Value: server.DefaultDataDir, Usage: "data directory", EnvVars: []string{"GATEHOUSE_DATA_DIR"}}}, extra...)
}

func str(name, value, usage string) cli.Flag {
	return &cli.StringFlag{Name: name, Value: value, Usage: usage}
}

func boolean(name, usage string) cli.Flag { return &cli.BoolFlag{Name: name, Usage: usage} }

func boolEnv(name, usage, env string) cli.Flag {
	return &cli.BoolFlag{Name: name, Usage: usage, EnvVars: []string{env}}
}

func dur(name string, value time.Duration, usage, env string) cli.Flag {
	f := &cli.DurationFlag{Name: name, Value: value, Usage: usage}
	if env != "" {
		f.EnvVars = []string{env}
	}
	return f
}

// exitErrHandler prints the error and exits with its code (usageError makes
// flag errors exit 2); any other error is a failure.
func exitErrHandler(c *cli.Context, err error) {
	if err == nil {
		return
	}
	if ec, ok := err.(cli.ExitCoder); ok {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(c.App.ErrWriter, msg)
		}
		os.Exit(ec.ExitCode())
	}
	fmt.Fprintln(c.App.ErrWriter, "gatehouse:", err)
	os.Exit(commands.ExitFailure)
}

// usageError answers an unknown flag or a bad flag value with exit 2 and a
// pointer to the help, not the whole help text.
func usageError(c *cli.Context, err error, _ bool) error {
	return cli.Exit(fmt.Sprintf("gatehouse: %v; see %s --help", err, helpName(c)), commands.ExitUsage)
}

// unknownCommand is the action of the app and of every command group: with
// no argument it shows the group's help, else it names the unknown command.
func unknownCommand(c *cli.Context) error {
	if !c.Args().Present() {
		return cli.ShowSubcommandHelp(c)
	}
	return cli.Exit(fmt.Sprintf("gatehouse: unknown command %q; see %s --help", c.Args().First(), helpName(c)), commands.ExitUsage)
}

// commandNotFound answers `gatehouse help NOPE`.
func commandNotFound(c *cli.Context, name string) {
	fmt.Fprintf(c.App.ErrWriter, "gatehouse: unknown command %q; see %s --help\n", name, helpName(c))
	os.Exit(commands.ExitUsage)
}

func helpName(c *cli.Context) string {
	if c.Command != nil && c.Command.HelpName != "" {
		return c.Command.HelpName
	}
	return c.App.Name
}

func forEachCommand(cmds []*cli.Command, f func(*cli.Command)) {
	for _, c := range cmds {
		f(c)
		forEachCommand(c.Subcommands, f)
	}
}

// hoistFlags lets flags follow positional arguments (`client add ID --name
// N`): urfave/cli v2 stops parsing flags at the first positional, so the
// flags of the chosen command are moved in front of its positionals.
func hoistFlags(a *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out, cmds, i := []string{args[0]}, a.Commands, 1
	var cmd *cli.Command
	for ; i < len(args); i++ {
		next := findCommand(cmds, args[i])
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
		out = append(out, args[i])
	}
	if cmd == nil {
		return args
	}
	var flags, positional []string
	for ; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			positional = append(positional, args[i:]...)
			i = len(args)
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			flags = append(flags, arg)
			if takesValue(cmd, arg) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			positional = append(positional, arg)
		}
	}
	return append(append(out, flags...), positional...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether a flag token needs the next argument as its
// value (not a boolean, not written --name=value).
func takesValue(cmd *cli.Command, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool && name != "help"
			}
		}
	}
	return false
}
