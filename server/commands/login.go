package commands

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"gatehouse/server/deviceclient"
	"gatehouse/tokens"
)

func deviceClient(c *cli.Context) (*deviceclient.Client, error) {
	base, err := deviceclient.ParseServer(c.String("server"))
	if err != nil {
		return nil, cli.Exit("gatehouse: "+err.Error(), ExitUsage)
	}
	return &deviceclient.Client{Server: base, ClientID: c.String("client-id"), Out: c.App.ErrWriter}, nil
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
	dc, err := deviceClient(c)
	if err != nil {
		return err
	}
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
	dc, err := deviceClient(c)
	if err != nil {
		return err
	}
	cr, err := creds(c).Get(dc.Server)
	if errors.Is(err, deviceclient.ErrNotLoggedIn) {
		return cli.Exit("gatehouse whoami: not logged in to "+dc.Server+"; run gatehouse login --server "+dc.Server, ExitFailure)
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

// Logout revokes the kept token and forgets it. As `gh auth logout` does,
// the local copy is removed even when the server cannot revoke it, and the
// output says so: the token then stays valid on the server until it expires
// or an operator revokes it, and the exit status is 1.
func Logout(c *cli.Context) error {
	dc, err := deviceClient(c)
	if err != nil {
		return err
	}
	cs := creds(c)
	cr, err := cs.Get(dc.Server)
	if errors.Is(err, deviceclient.ErrNotLoggedIn) {
		fmt.Fprintf(c.App.Writer, "not logged in to %s\n", dc.Server)
		return nil
	}
	if err != nil {
		return cli.Exit("gatehouse logout: "+err.Error(), ExitFailure)
	}
	revokeErr := dc.RevokeSelf(ctxOrBackground(c), cr.Token)
	if err := cs.Put(deviceclient.Credential{Server: dc.Server}); err != nil {
		return cli.Exit(fmt.Sprintf("gatehouse logout: could not remove the token from %s: %v", cs.Path(), err), ExitFailure)
	}
	var oe *deviceclient.OAuthError
	switch {
	case revokeErr == nil:
		fmt.Fprintf(c.App.Writer, "revoked token %s on %s and removed it from %s\n", cr.TokenID, dc.Server, cs.Path())
	case errors.As(revokeErr, &oe) && oe.Status == 401:
		fmt.Fprintf(c.App.Writer, "token %s was already revoked or expired on %s; removed it from %s\n", cr.TokenID, dc.Server, cs.Path())
	default:
		return cli.Exit(fmt.Sprintf("gatehouse logout: removed the token from %s, but could not revoke it: %v\n"+
			"token %s stays valid until it expires (%s) unless an operator runs: gatehouse revoke --token-id %s",
			cs.Path(), revokeErr, cr.TokenID, cr.ExpiresAt, cr.TokenID), ExitFailure)
	}
	fmt.Fprintf(c.App.Writer, "logged out of %s\n", dc.Server)
	return nil
}

func randomPassword() (string, error) { return tokens.RandomString(15) }
