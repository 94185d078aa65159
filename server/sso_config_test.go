package server_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/server"
)

func TestSSOConfigRefusesHalfConfigured(t *testing.T) {
	key := map[string][]byte{"k1": ssoKey}
	two := map[string][]byte{"k1": ssoKey, "k2": ssoKey}
	const acsURL = "https://acs.example.test/initiate"
	issuers := []string{ssoIssuer}
	cases := []struct {
		name  string
		sso   server.SSOConfig
		wants []string // each must appear in the error
	}{
		{"ACS URL only", server.SSOConfig{ACSURL: acsURL}, []string{"--sso-keys", "--sso-issuers"}},
		{"keys only", server.SSOConfig{Keys: key}, []string{"--sso-acs-url", "--sso-issuers"}},
		{"issuers only", server.SSOConfig{Issuers: issuers}, []string{"--sso-acs-url", "--sso-keys"}},
		{"reject-local-email only", server.SSOConfig{RejectLocalEmail: true}, []string{"--sso-acs-url", "--sso-keys"}},
		{"no issuers", server.SSOConfig{ACSURL: acsURL, Keys: key}, []string{"--sso-issuers"}},
		{"short key", server.SSOConfig{ACSURL: acsURL, Keys: map[string][]byte{"k1": []byte("short")}, Issuers: issuers}, []string{"--sso-keys", "shorter than 32"}},
		{"two keys, no active kid", server.SSOConfig{ACSURL: acsURL, Keys: two, Issuers: issuers}, []string{"--sso-active-kid"}},
		{"active kid not a key", server.SSOConfig{ACSURL: acsURL, Keys: two, ActiveKID: "k3", Issuers: issuers}, []string{"--sso-active-kid"}},
		{"the local issuer allowed", server.SSOConfig{ACSURL: acsURL, Keys: key, Issuers: []string{"gatehouse:local"}}, []string{"--sso-issuers", "gatehouse:local"}},
		{"an empty issuer allowed", server.SSOConfig{ACSURL: acsURL, Keys: key, Issuers: []string{" "}}, []string{"--sso-issuers"}},
		{"ACS URL not http(s)", server.SSOConfig{ACSURL: "ftp://acs.example.test", Keys: key, Issuers: issuers}, []string{"--sso-acs-url"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), DeviceCodeTTL: 15 * time.Minute,
				PollInterval: 5 * time.Second, TokenTTLDays: 14, ExternalTTLDays: 14, SSO: tc.sso}
			s, err := server.Start(cfg)
			if err == nil {
				s.Close()
				t.Fatal("started; want a configuration error")
			}
			if !errors.Is(err, server.ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestParseSSOKeys(t *testing.T) {
	raw := []byte("0123456789abcdef0123456789abcdef\xfb\xff")
	cases := []struct {
		name, spec string
		want       map[string]string
		wantErr    bool
	}{
		{"standard base64, padded", "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWb7/w==", map[string]string{"k1": string(raw)}, false},
		{"URL-safe base64, unpadded", "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWb7_w", map[string]string{"k1": string(raw)}, false},
		{"two keys with spaces", " a:QUFB , b:QkJC ", map[string]string{"a": "AAA", "b": "BBB"}, false},
		{"empty", "", map[string]string{}, false},
		{"no colon", "k1", nil, true},
		{"empty kid", ":QUFB", nil, true},
		{"kid twice", "a:QUFB,a:QkJC", nil, true},
		{"not base64", "k1:sec ret!", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := server.ParseSSOKeys(tc.spec)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, server.ErrSSOKeySpec) || strings.Contains(err.Error(), "sec ret") {
					t.Errorf("error %q: must wrap ErrSSOKeySpec and never echo key material", err)
				}
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tc.want))
			}
			for kid, key := range tc.want {
				if string(got[kid]) != key {
					t.Errorf("kid %s: %q, want %q", kid, got[kid], key)
				}
			}
		})
	}
}
