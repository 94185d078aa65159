package server_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"gatehouse/server"
	"gatehouse/server/deviceclient"
)

// TestSSOWithTheCLIClient: the reference CLI client (what `gatehouse login`
// runs) completes a flow that a person approves through the stand-in ACS,
// and gets a dfoe_ token that /v1/me shows as the external subject. The
// client's waits move the injected clock, as its interval would pass.
func TestSSOWithTheCLIClient(t *testing.T) {
	ts, _, _ := startSSO(t)
	var out bytes.Buffer
	cl := &deviceclient.Client{Server: ts.URL, ClientID: server.DefaultClientID, Out: &out,
		Sleep: func(context.Context, time.Duration) error { ts.clock.Advance(6 * time.Second); return nil },
		OnStart: func(da deviceclient.DeviceAuth) {
			b := ts.ssoSignIn(da.UserCode)
			if st, res := b.resolve("approve", da.UserCode, map[string]string{"X-CSRF-Token": b.csrf()}); st != 200 {
				t.Errorf("approve-external: %d %v", st, res)
			}
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cl.Login(ctx, "laptop")
	if err != nil {
		t.Fatalf("login: %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(tok.AccessToken, "dfoe_") || tok.SubjectType != "external" || tok.SubjectEmail != ssoEmail || tok.Scope != "apps:run" {
		t.Fatalf("token answer %+v, want a dfoe_ token for %s with scope apps:run", tok, ssoEmail)
	}
	me, err := cl.Me(ctx, tok.AccessToken)
	if err != nil || me["subject_type"] != "external" || me["subject_email"] != ssoEmail || me["subject_issuer"] != ssoIssuer {
		t.Fatalf("/v1/me: %v %v", me, err)
	}
}
