package commands

import (
	"strings"
	"testing"

	"rsc.io/qr"
)

// TestPrintQRDrawsTheURI reads the printed half blocks back into modules
// and compares them with the QR code of the URI: what the terminal shows
// is that URI, module for module, inside a light quiet zone.
func TestPrintQRDrawsTheURI(t *testing.T) {
	uri := "https://gatehouse.example.com/device?user_code=BCDF-GHJK"
	var out strings.Builder
	printQR(&out, uri)
	code, err := qr.Encode(uri, qr.L)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	const quiet = 4
	// Each text row holds two module rows; the first quiet/2 rows are quiet zone.
	for y := 0; y < code.Size; y++ {
		line := []rune(rows[quiet/2+y/2])
		for x := 0; x < code.Size; x++ {
			top, bottom := halfBlock(t, line[quiet+x])
			dark := top
			if y%2 == 1 {
				dark = bottom
			}
			if dark != code.Black(x, y) {
				t.Fatalf("module (%d,%d): printed dark=%v, QR has %v", x, y, dark, code.Black(x, y))
			}
		}
	}
	for _, r := range rows[0] + string([]rune(rows[quiet/2])[:quiet]) {
		if r != '█' {
			t.Fatalf("quiet zone is not light: %q", rows[0])
		}
	}
}

// halfBlock decodes one printed character into its two modules (dark is
// the terminal background, light a block half).
func halfBlock(t *testing.T, r rune) (topDark, bottomDark bool) {
	switch r {
	case ' ':
		return true, true
	case '▄':
		return true, false
	case '▀':
		return false, true
	case '█':
		return false, false
	}
	t.Fatalf("unexpected character %q in the QR code", r)
	return
}
