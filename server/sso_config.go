package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"gatehouse/store"
	"gatehouse/tokens"
)

// SSOConfig turns on the external SSO branch (DESIGN.md §2, issue 4). It is
// on only when both ACSURL and Keys are set; any other SSO setting without
// those two is a start-up error, so a half-configured branch never serves.
type SSOConfig struct {
	// ACSURL is the assertion consumer service's initiate endpoint: Gatehouse
	// POSTs {"signed_state": ...} there and expects {"url": ...} back.
	ACSURL string
	// Keys are the HS256 keys shared with the ACS, by kid, each at least 32
	// bytes. ActiveKID signs (default: the only key); every key verifies, so
	// a rotated-out key keeps working until it is removed.
	Keys      map[string][]byte
	ActiveKID string
	// Issuers is the allow-list of subject issuers an assertion may name.
	Issuers []string
	// RejectLocalEmail refuses an SSO subject whose email is a local account.
	RejectLocalEmail bool
	// HTTPClient calls the ACS; nil means a client with ssoACSTimeout that
	// follows no redirects. Tests swap it.
	HTTPClient *http.Client

	keyset *tokens.Keyset // built by validate
}

// ssoACSTimeout bounds the server-to-server call to the ACS.
const ssoACSTimeout = 5 * time.Second

// Enabled reports whether the SSO routes are mounted.
func (c *SSOConfig) Enabled() bool { return c.ACSURL != "" && len(c.Keys) > 0 }

// configured reports whether any SSO setting was given at all.
func (c *SSOConfig) configured() bool {
	return c.ACSURL != "" || len(c.Keys) > 0 || c.ActiveKID != "" || len(c.Issuers) > 0 || c.RejectLocalEmail
}

// validate names what is missing or wrong, and builds the key set.
func (c *SSOConfig) validate() error {
	if !c.configured() {
		return nil
	}
	var errs []error
	if c.ACSURL == "" {
		errs = append(errs, fmt.Errorf("%w: SSO is half-configured: --sso-acs-url (GATEHOUSE_SSO_ACS_URL) is missing", ErrConfig))
	} else if !isHTTPURL(c.ACSURL) {
		errs = append(errs, fmt.Errorf("%w: --sso-acs-url must be an absolute http(s) URL", ErrConfig))
	}
	if len(c.Keys) == 0 {
		errs = append(errs, fmt.Errorf("%w: SSO is half-configured: --sso-keys (GATEHOUSE_SSO_KEYS) is missing", ErrConfig))
	} else if err := c.buildKeyset(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Issuers) == 0 {
		errs = append(errs, fmt.Errorf("%w: SSO is half-configured: --sso-issuers (GATEHOUSE_SSO_ISSUERS) is missing", ErrConfig))
	}
	for _, iss := range c.Issuers {
		// Local accounts' tokens carry this issuer; an SSO subject under it
		// would share their rows and rotation keys.
		if strings.TrimSpace(iss) == "" || strings.EqualFold(strings.TrimSpace(iss), store.LocalIssuer) {
			errs = append(errs, fmt.Errorf("%w: --sso-issuers must not contain %q (empty, or the local accounts' own issuer)", ErrConfig, iss))
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: ssoACSTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	return errors.Join(errs...)
}

func (c *SSOConfig) buildKeyset() error {
	active := c.ActiveKID
	if active == "" && len(c.Keys) == 1 {
		for kid := range c.Keys {
			active = kid
		}
	}
	if active == "" {
		return fmt.Errorf("%w: --sso-active-kid is required when --sso-keys holds more than one key", ErrConfig)
	}
	ks, err := tokens.NewKeyset(active, c.Keys)
	if err != nil {
		return fmt.Errorf("%w: --sso-keys / --sso-active-kid: %w", ErrConfig, err)
	}
	c.keyset = ks
	return nil
}

// allowsIssuer reports whether iss is on the allow-list (exact match).
func (c *SSOConfig) allowsIssuer(iss string) bool {
	return iss != "" && slices.Contains(c.Issuers, iss)
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "" && u.User == nil && u.Fragment == ""
}

// ErrSSOKeySpec is a malformed --sso-keys value.
var ErrSSOKeySpec = errors.New("bad --sso-keys")

// ParseSSOKeys reads --sso-keys: comma-separated KID:KEY pairs, where KEY is
// base64 in either alphabet (standard or URL-safe), padding optional, e.g.
// the output of `openssl rand -base64 32`. A kid may not contain ':' or ','
// and may appear once. Key length is checked when the key set is built.
func ParseSSOKeys(spec string) (map[string][]byte, error) {
	keys := map[string][]byte{}
	for pair := range strings.SplitSeq(spec, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		kid, enc, ok := strings.Cut(pair, ":")
		kid = strings.TrimSpace(kid)
		if !ok || kid == "" {
			return nil, fmt.Errorf("%w: want KID:BASE64KEY[,KID:BASE64KEY...]", ErrSSOKeySpec)
		}
		if _, dup := keys[kid]; dup {
			return nil, fmt.Errorf("%w: kid %q given twice", ErrSSOKeySpec, kid)
		}
		key, err := decodeKey(strings.TrimSpace(enc))
		if err != nil {
			// Never echo the key material.
			return nil, fmt.Errorf("%w: the key of kid %q is not base64", ErrSSOKeySpec, kid)
		}
		keys[kid] = key
	}
	return keys, nil
}

func decodeKey(enc string) ([]byte, error) {
	enc = strings.TrimRight(enc, "=")
	if strings.ContainsAny(enc, "+/") {
		return base64.RawStdEncoding.DecodeString(enc)
	}
	return base64.RawURLEncoding.DecodeString(enc)
}

// ParseList splits a comma-separated flag value, dropping empty items.
func ParseList(spec string) []string {
	var out []string
	for item := range strings.SplitSeq(spec, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
