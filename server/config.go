package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"gatehouse/tokens"
)

// Config is everything `gatehouse serve` is told.
type Config struct {
	Listen          string
	DataDir         string
	PublicURL       string // empty: derived from the listen address
	DeviceCodeTTL   time.Duration
	PollInterval    time.Duration
	TokenTTLDays    int
	ExternalTTLDays int
	Retention       time.Duration
	AuditRetention  time.Duration
	PruneEvery      time.Duration // 0 disables the daily prune
	AdminEmail      string
	SecretKey       string // from GATEHOUSE_SECRET_KEY; empty: key file in DataDir
	// PasswordCost is the argon2id cost of new password hashes; zero means
	// tokens.DefaultArgon2. Tests lower it.
	PasswordCost tokens.Argon2Params

	// MaxPendingCodes is how many codes are expected pending at once; it
	// sizes the global failed-guess budget (see GuessBudget).
	MaxPendingCodes int
	// TrustedProxies may set X-Forwarded-For / Forwarded / X-Forwarded-Proto.
	TrustedProxies []netip.Prefix
	// HoldPolls lets a pending poll wait up to its interval for the answer.
	HoldPolls bool
	// MaxHeldPolls bounds the polls held at once; 0 means DefaultMaxHeldPolls.
	MaxHeldPolls int
	// Limits are the request budgets; zero means DefaultLimits.
	Limits Limits
	// SSO is the external single sign-on branch; zero means off.
	SSO SSOConfig
	// TLSCert and TLSKey, both or neither, serve the public listener over
	// TLS (reloaded when the files change).
	TLSCert, TLSKey string
	// MetricsListen, when set, serves /metrics there instead of on Listen.
	MetricsListen string
	// ServiceDocumentation is the RFC 8414 service_documentation URL;
	// empty: the approval page.
	ServiceDocumentation string

	Logger *slog.Logger
	Out    io.Writer // where the one-time admin password is printed
	Now    func() time.Time
}

// Defaults from DESIGN.md §6.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultDataDir         = "./gatehouse-data"
	DefaultDeviceCodeTTL   = 900 * time.Second
	DefaultPollInterval    = 5 * time.Second
	DefaultTokenTTLDays    = 14
	DefaultRetention       = 30 * 24 * time.Hour
	DefaultAuditRetention  = 90 * 24 * time.Hour
	DefaultPruneEvery      = 24 * time.Hour
	DefaultClientID        = "gatehouse-cli"
	DefaultMaxPendingCodes = 1000
	DefaultMaxHeldPolls    = 10000
)

// ErrConfig wraps every configuration problem that stops start-up.
var ErrConfig = errors.New("invalid configuration")

// Validate checks the config and fills defaults. Bad values are named.
func (c *Config) Validate() error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.PasswordCost == (tokens.Argon2Params{}) {
		c.PasswordCost = tokens.DefaultArgon2
	}
	if c.AdminEmail == "" {
		c.AdminEmail = "admin@localhost"
	}
	if c.MaxHeldPolls <= 0 {
		c.MaxHeldPolls = DefaultMaxHeldPolls
	}
	if c.MaxPendingCodes <= 0 {
		c.MaxPendingCodes = DefaultMaxPendingCodes
	}
	if c.Limits.DeviceCode.Name == "" {
		c.Limits = DefaultLimits(c.DeviceCodeTTL, c.MaxPendingCodes)
	}
	checks := []error{
		c.Limits.Validate(),
		durationIn("device-code-ttl", c.DeviceCodeTTL, 30*time.Second, 24*time.Hour),
		durationIn("poll-interval", c.PollInterval, time.Second, 5*time.Minute),
		daysIn("token-ttl-days", c.TokenTTLDays),
		daysIn("external-token-ttl-days", c.ExternalTTLDays),
		notNegative("retention", c.Retention),
		notNegative("audit-retention", c.AuditRetention),
		notNegative("prune-every", c.PruneEvery),
		c.checkPublicURL(),
		c.SSO.validate(),
		c.checkTLS(),
	}
	return errors.Join(checks...)
}

// notNegative guards the prune windows: a negative retention would put the
// cutoff in the future and delete live rows. Zero is allowed: rows go as
// soon as they are dead (for prune-every: no scheduled prune).
func notNegative(name string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: --%s must not be negative, got %v", ErrConfig, name, d)
	}
	return nil
}

func durationIn(name string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("%w: --%s %s must be between %s and %s", ErrConfig, name, d, lo, hi)
	}
	return nil
}

func daysIn(name string, n int) error {
	if n < 1 || n > 365 {
		return fmt.Errorf("%w: --%s %d must be between 1 and 365", ErrConfig, name, n)
	}
	return nil
}

func (c *Config) checkPublicURL() error {
	if c.PublicURL == "" {
		return nil
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: --public-url %q must be an absolute http(s) URL without query", ErrConfig, c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return nil
}

// secure reports whether cookies must be Secure.
func (c *Config) secure() bool { return strings.HasPrefix(c.PublicURL, "https://") }

// origin is the scheme://host of the public URL, for Origin checks.
func (c *Config) origin() string {
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
