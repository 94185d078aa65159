package commands

import (
	"bytes"
	"testing"
)

// Table rows show terminal control characters escaped: a value from an
// anonymous request can neither repaint the operator's screen nor add a
// line or a column to the table.
func TestRowEscapesWhatATerminalWouldActOn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ada@example.com", "ada@example.com"},
		{"Zoë's laptop", "Zoë's laptop"},
		{"\x1b]0;pwned\a\x1b[2JEVIL", `\x1b]0;pwned\a\x1b[2JEVIL`},
		{"a@b\nforged\trow", `a@b\nforged\trow`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"\u202eevil", `\u202eevil`},
	} {
		var buf bytes.Buffer
		row(&buf, tc.in, "x")
		if got, want := buf.String(), tc.want+"\tx\n"; got != want {
			t.Errorf("row(%q) = %q, want %q", tc.in, got, want)
		}
	}
}
