package commands

import (
	"github.com/urfave/cli/v2"

	"gatehouse/server/selftest"
)

// Selftest runs the protocol edge cases against a running server and exits
// 1 if any failed.
func Selftest(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: gatehouse selftest URL", ExitUsage)
	}
	rep := selftest.Run(ctxOrBackground(c), selftest.Options{BaseURL: c.Args().First(), ClientID: c.String("client-id")})
	rep.Write(c.App.Writer)
	if rep.Failed() > 0 {
		return cli.Exit("", ExitFailure)
	}
	return nil
}
