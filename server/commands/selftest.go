package commands

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"gatehouse/server/selftest"
)

// Selftest runs the protocol edge cases against a running server and exits
// 1 if any failed. With --approve-email it also signs in as that account
// to approve and deny its own codes; the password comes from stdin
// (--password-stdin) or GATEHOUSE_SELFTEST_PASSWORD, never from a flag.
func Selftest(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: gatehouse selftest URL [--approve-email E --password-stdin] [--wait-expiry]", ExitUsage)
	}
	opt := selftest.Options{BaseURL: c.Args().First(), ClientID: c.String("client-id"), WaitExpiry: c.Bool("wait-expiry")}
	if email := c.String("approve-email"); email != "" {
		pw, err := selftestPassword(c)
		if err != nil {
			return err
		}
		opt.Approver = &selftest.Approver{Email: email, Password: pw}
	}
	rep := selftest.Run(ctxOrBackground(c), opt)
	rep.Write(c.App.Writer)
	if rep.Failed() > 0 {
		return cli.Exit("", ExitFailure)
	}
	return nil
}

func selftestPassword(c *cli.Context) (string, error) {
	if !c.Bool("password-stdin") {
		if pw := os.Getenv("GATEHOUSE_SELFTEST_PASSWORD"); pw != "" {
			return pw, nil
		}
		return "", cli.Exit("gatehouse: --approve-email needs the password on stdin (--password-stdin) or in GATEHOUSE_SELFTEST_PASSWORD", ExitUsage)
	}
	line, err := bufio.NewReader(c.App.Reader).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", cli.Exit("gatehouse: no password on stdin", ExitUsage)
	}
	return line, nil
}
