package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"gatehouse/server"
	"gatehouse/store"
	"gatehouse/tokens"
)

// UserAdd creates a local account.
func UserAdd(c *cli.Context) error {
	password, generated, err := readPassword(c)
	if err != nil {
		return err
	}
	hash, err := tokens.HashPassword(password, tokens.DefaultArgon2)
	if err != nil {
		return err
	}
	req := server.UserRequest{Email: c.String("email"), Name: c.String("name"), Role: c.String("role"),
		Workspaces: c.StringSlice("workspace"), PasswordHash: hash}
	var u server.UserInfo
	if err := call(c, "user.add", req, &u); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "created %s account %s (%s)\n", u.Role, u.Email, u.ID)
	if generated {
		fmt.Fprintf(c.App.Writer, "password: %s\n(shown only this once)\n", password)
	}
	return nil
}

// UserList prints every account.
func UserList(c *cli.Context) error {
	var us []server.UserInfo
	if err := call(c, "user.list", struct{}{}, &us); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, us)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tDISABLED")
	for _, u := range us {
		row(tw, u.ID, u.Email, u.Name, u.Role, fmt.Sprint(u.Disabled))
	}
	return tw.Flush()
}

// UserSetDisabled disables or enables an account.
func UserSetDisabled(disable bool) cli.ActionFunc {
	return func(c *cli.Context) error {
		req := server.UserRequest{Email: c.String("email"), Disable: &disable}
		var u server.UserInfo
		if err := call(c, "user.update", req, &u); err != nil {
			return err
		}
		state := "enabled"
		if u.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(c.App.Writer, "%s is %s\n", u.Email, state)
		return nil
	}
}

// UserPasswd sets a new password.
func UserPasswd(c *cli.Context) error {
	password, generated, err := readPassword(c)
	if err != nil {
		return err
	}
	hash, err := tokens.HashPassword(password, tokens.DefaultArgon2)
	if err != nil {
		return err
	}
	var u server.UserInfo
	if err := call(c, "user.update", server.UserRequest{Email: c.String("email"), PasswordHash: hash}, &u); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "password changed for %s\n", u.Email)
	if generated {
		fmt.Fprintf(c.App.Writer, "password: %s\n(shown only this once)\n", password)
	}
	return nil
}

// ClientAdd registers a client id.
func ClientAdd(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: gatehouse client add ID --name NAME", ExitUsage)
	}
	var cl store.Client
	if err := call(c, "client.add", server.ClientRequest{ID: c.Args().First(), Name: c.String("name")}, &cl); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "registered client %s (%s)\n", cl.ID, cl.Name)
	return nil
}

// ClientList prints registered clients.
func ClientList(c *cli.Context) error {
	var cs []store.Client
	if err := call(c, "client.list", struct{}{}, &cs); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, cs)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED")
	for _, cl := range cs {
		row(tw, cl.ID, cl.Name, cl.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// ClientRemove unregisters a client.
func ClientRemove(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: gatehouse client remove ID", ExitUsage)
	}
	var res store.RevokeResult
	if err := call(c, "client.remove", server.ClientRequest{ID: c.Args().First()}, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "removed client %s; revoked %d of its tokens, denied %d approved codes\n",
		c.Args().First(), len(res.Revoked), res.DeniedCodes)
	return nil
}

// Revoke revokes tokens by one selector.
func Revoke(c *cli.Context) error {
	req := server.RevokeRequest{TokenID: c.String("token-id"), Email: c.String("email"), Issuer: c.String("issuer"),
		Client: c.String("client"), All: c.Bool("all")}
	if v := c.String("token"); v != "" {
		h, _ := tokens.HashOf(v).MarshalText()
		req.TokenHash = string(h)
	}
	var res store.RevokeResult
	if err := call(c, "revoke", req, &res); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, res)
	}
	for _, id := range res.Revoked {
		fmt.Fprintf(c.App.Writer, "revoked %s\n", id)
	}
	if req.TokenID != "" && res.AlreadyRevoked > 0 {
		fmt.Fprintf(c.App.Writer, "%s already revoked\n", req.TokenID)
	}
	fmt.Fprintf(c.App.Writer, "%d revoked, %d already revoked", len(res.Revoked), res.AlreadyRevoked)
	if res.DeniedCodes > 0 {
		fmt.Fprintf(c.App.Writer, ", %d pending approvals denied", res.DeniedCodes)
	}
	fmt.Fprintln(c.App.Writer)
	return nil
}

// TokensList prints tokens.
func TokensList(c *cli.Context) error {
	req := server.TokenListRequest{Email: c.String("email"), Issuer: c.String("issuer"), Client: c.String("client"), IncludeDead: c.Bool("all")}
	var ts []server.TokenInfo
	if err := call(c, "tokens.list", req, &ts); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, ts)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tSUBJECT\tISSUER\tCLIENT\tDEVICE\tEXPIRES\tREVOKED")
	for _, t := range ts {
		revoked := ""
		if !t.RevokedAt.IsZero() {
			revoked = t.RevokedReason
		}
		row(tw, t.ID, t.Prefix, t.SubjectEmail, t.SubjectIssuer, t.ClientID, t.DeviceLabel,
			t.ExpiresAt.UTC().Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

// Prune deletes dead rows (or counts them with --dry-run).
func Prune(c *cli.Context) error {
	for _, name := range []string{"retention", "audit-retention"} {
		if d := c.Duration(name); d < 0 {
			return cli.Exit(fmt.Sprintf("gatehouse: --%s %s: must not be negative (e.g. 720h; 0 prunes dead rows at once)", name, d), ExitUsage)
		}
	}
	req := server.PruneRequest{DryRun: c.Bool("dry-run"), Retention: c.Duration("retention"), AuditRetention: c.Duration("audit-retention")}
	var res store.PruneCounts
	if err := call(c, "prune", req, &res); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, res)
	}
	verb := "deleted"
	if req.DryRun {
		verb = "would delete"
	}
	fmt.Fprintf(c.App.Writer, "%s: %d tokens, %d device codes, %d sessions, %d nonces, %d audit events\n",
		verb, res.Tokens, res.DeviceCodes, res.Sessions, res.Nonces, res.Events)
	return nil
}

// Backup writes a hot copy of the file.
func Backup(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: gatehouse backup FILE", ExitUsage)
	}
	dest, err := filepath.Abs(c.Args().First())
	if err != nil {
		return err
	}
	var res server.BackupResult
	if err := call(c, "backup", server.BackupRequest{Path: dest}, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "backup written to %s (%d bytes); back up %s too\n", res.Path, res.Bytes,
		filepath.Join(c.String("data-dir"), server.KeyFileName))
	return nil
}

// Audit prints recent audit events.
func Audit(c *cli.Context) error {
	if c.Duration("since") < 0 || c.Int("limit") < 0 {
		return cli.Exit(fmt.Sprintf("gatehouse: --since %v and --limit %d must not be negative", c.Duration("since"), c.Int("limit")), ExitUsage)
	}
	var evs []store.Event
	if err := call(c, "audit", server.AuditRequest{Since: since(c), Limit: c.Int("limit")}, &evs); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, evs)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tTYPE\tACTOR\tSUBJECT\tISSUER\tTOKEN\tCLIENT\tIP\tDETAIL")
	for _, v := range evs {
		row(tw, v.At.UTC().Format(time.RFC3339), v.Type, v.Actor, v.Subject, v.Issuer, v.TokenID, v.Client, v.IP, v.Detail)
	}
	return tw.Flush()
}

// Check verifies a data file: through the running server, or directly.
func Check(c *cli.Context) error {
	if f := c.String("file"); f != "" {
		if err := store.CheckFile(f); err != nil {
			code := ExitFailure
			if errors.Is(err, fs.ErrNotExist) {
				code = ExitNotFound
			}
			return cli.Exit("gatehouse: check failed: "+err.Error(), code)
		}
		fmt.Fprintf(c.App.Writer, "%s: ok\n", f)
		return nil
	}
	if err := call(c, "check", struct{}{}, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s: ok\n", filepath.Join(c.String("data-dir"), store.FileName))
	return nil
}

func printJSON(c *cli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Compact rewrites the data file offline to reclaim space.
func Compact(c *cli.Context) error {
	if err := server.RequireDataDir(c.String("data-dir"), true); err != nil {
		return exitFor(err)
	}
	before, after, err := store.Compact(c.String("data-dir"))
	if errors.Is(err, store.ErrInUse) {
		// Compaction rewrites the whole file, so it cannot go through the
		// running server the way the other admin commands do.
		return cli.Exit("gatehouse: compact works offline only: "+filepath.Join(c.String("data-dir"), store.FileName)+
			" is held by a running gatehouse serve; stop it, compact, and start it again", ExitFailure)
	}
	if err != nil {
		return cli.Exit("gatehouse: "+err.Error(), ExitFailure)
	}
	fmt.Fprintf(c.App.Writer, "compacted %s: %d -> %d bytes\n", filepath.Join(c.String("data-dir"), store.FileName), before, after)
	return nil
}

// row writes one table row. Values come from the data file, and some from
// anonymous requests (a failed sign-in's email, a device label), so every
// character a terminal would act on (escapes, newlines, tabs) is shown
// escaped instead: a row can neither repaint the screen nor forge a line.
func row(w io.Writer, cells ...string) {
	for i, c := range cells {
		cells[i] = printable(c)
	}
	fmt.Fprintln(w, strings.Join(cells, "\t"))
}

func printable(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) && utf8.ValidString(s) {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}
