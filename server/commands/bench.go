package commands

import (
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"gatehouse/server/bench"
)

// Bench runs `gatehouse bench`: the load generator against an in-process
// server on a temporary data directory (server/bench).
func Bench(c *cli.Context) error {
	var names []string
	for _, s := range c.StringSlice("scenario") {
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	opts := bench.Options{Duration: c.Duration("duration"), Concurrency: c.Int("concurrency"), Tokens: c.Int("tokens"),
		Scenarios: names, Scale: c.Bool("scale"), ScaleTokens: c.Int("scale-tokens"), NoHoldPolls: !c.Bool("hold-polls"),
		QuietWait: c.Duration("wait-quiet"), Retries: c.Int("retries"),
		CPUProfileDir: c.String("cpuprofile"), TempDir: c.String("temp-dir"), Progress: c.App.ErrWriter}
	ctx, stop := signal.NotifyContext(ctxOrBackground(c), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, opts)
	if rep == nil {
		return cli.Exit("gatehouse: bench: "+err.Error(), ExitUsage)
	}
	if werr := writeReport(c, rep); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return cli.Exit("gatehouse: bench: "+err.Error(), ExitFailure)
	}
	return nil
}

// writeReport prints what was measured, even when a later step failed.
func writeReport(c *cli.Context, rep *bench.Report) error {
	switch {
	case c.Bool("json"):
		return rep.WriteJSON(c.App.Writer)
	case c.Bool("markdown"):
		return rep.WriteMarkdown(c.App.Writer)
	}
	return rep.WriteTable(c.App.Writer)
}
