package commands

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"gatehouse/server/deviceclient"
	"gatehouse/tokens"
)

func deviceClient(c *cli.Context) *deviceclient.Client {
	return &deviceclient.Client{Server: strings.TrimRight(c.String("server"), "/"), ClientID: c.String("client-id"), Out: c.App.ErrWriter}
}

func creds(c *cli.Context) deviceclient.Creds {
	dir := c.String("config-dir")
	if dir == "" {
		dir = deviceclient.DefaultDir()
	}
	return deviceclient.Creds{Dir: dir}
}

// Login runs the device flow and keeps the token.
func Login(c *cli.Context) error {
	dc := deviceClient(c)
	label := c.String("device-label")
	if label == "" {
		label, _ = os.Hostname()
	}
	if c.Bool("qr") {
		dc.OnStart = func(da deviceclient.DeviceAuth) { printQR(c.App.ErrWriter, da.VerificationURIComplete) }
	}
	tok, err := dc.Login(ctxOrBackground(c), label)
	if err != nil {
		return cli.Exit("gatehouse login: "+err.Error(), ExitFailure)
	}
	cr := deviceclient.Credential{Server: dc.Server, Token: tok.AccessToken, TokenID: tok.TokenID,
		ExpiresAt: tok.ExpiresAt, SubjectEmail: tok.SubjectEmail}
	if err := creds(c).Put(cr); err != nil {
		return cli.Exit("gatehouse login: could not save the token: "+err.Error(), ExitFailure)
	}
	fmt.Fprintf(c.App.Writer, "Logged in to %s as %s (token %s, expires %s)\n", dc.Server, tok.SubjectEmail, tok.TokenID, tok.ExpiresAt)
	return nil
}

// Whoami shows who the kept token is.
func Whoami(c *cli.Context) error {
	dc := deviceClient(c)
	cr, err := creds(c).Get(dc.Server)
	if errors.Is(err, deviceclient.ErrNotLoggedIn) {
		return cli.Exit("not logged in to "+dc.Server+"; run gatehouse login", ExitFailure)
	}
	if err != nil {
		return cli.Exit(err.Error(), ExitFailure)
	}
	me, err := dc.Me(ctxOrBackground(c), cr.Token)
	if err != nil {
		return cli.Exit("gatehouse whoami: "+err.Error(), ExitFailure)
	}
	fmt.Fprintf(c.App.Writer, "%s (%s) on %s\ntoken %s %s…, scopes %v, expires %v\n", me["subject_email"], me["subject_type"],
		dc.Server, me["token_id"], tokens.DisplayPrefix(cr.Token), me["scopes"], me["expires_at"])
	return nil
}

// Logout revokes the kept token and forgets it.
func Logout(c *cli.Context) error {
	dc := deviceClient(c)
	cs := creds(c)
	cr, err := cs.Get(dc.Server)
	if errors.Is(err, deviceclient.ErrNotLoggedIn) {
		fmt.Fprintf(c.App.Writer, "not logged in to %s\n", dc.Server)
		return nil
	}
	if err != nil {
		return cli.Exit(err.Error(), ExitFailure)
	}
	var oe *deviceclient.OAuthError
	if err := dc.RevokeSelf(ctxOrBackground(c), cr.Token); err != nil && !(errors.As(err, &oe) && oe.Status == 401) {
		return cli.Exit("gatehouse logout: "+err.Error(), ExitFailure)
	}
	if err := cs.Put(deviceclient.Credential{Server: dc.Server}); err != nil {
		return cli.Exit(err.Error(), ExitFailure)
	}
	fmt.Fprintf(c.App.Writer, "logged out of %s\n", dc.Server)
	return nil
}

func randomPassword() (string, error) { return tokens.RandomString(15) }
