package commands

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"gatehouse/server"
	"gatehouse/tokens"
)

// ResourceAdd registers a resource server and prints its secret once. The
// secret is drawn and hashed here, so only its hash reaches the server.
func ResourceAdd(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: gatehouse resource add NAME", ExitUsage)
	}
	secret, err := server.NewResourceSecret()
	if err != nil {
		return err
	}
	h, _ := tokens.HashOf(secret).MarshalText()
	var info server.ResourceInfo
	if err := call(c, "resource.add", server.ResourceRequest{Name: c.Args().First(), SecretHash: string(h)}, &info); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "registered resource server %s\nsecret: %s\n(shown only this once; send it as HTTP Basic %s:SECRET to /v1/oauth/introspect)\n",
		info.Name, secret, info.Name)
	return nil
}

// ResourceList prints registered resource servers.
func ResourceList(c *cli.Context) error {
	var rs []server.ResourceInfo
	if err := call(c, "resource.list", struct{}{}, &rs); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, rs)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCREATED")
	for _, r := range rs {
		row(tw, r.Name, r.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// ResourceRemove unregisters a resource server; its secret stops working.
func ResourceRemove(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: gatehouse resource remove NAME", ExitUsage)
	}
	if err := call(c, "resource.remove", server.ResourceRequest{Name: c.Args().First()}, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "removed resource server %s\n", c.Args().First())
	return nil
}
