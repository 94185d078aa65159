package commands

import (
	"io"

	"github.com/mdp/qrterminal/v3"
)

// printQR draws uri as a QR code in half-block characters (two modules per
// text row) with the standard 4-module quiet zone, in qrterminal's usual
// palette: light modules as blocks, dark ones as the terminal's background.
// That suits dark themes; phone scanners also read the inverted code a
// light theme shows.
func printQR(w io.Writer, uri string) {
	qrterminal.GenerateWithConfig(uri, qrterminal.Config{
		Level: qrterminal.L, Writer: w, HalfBlocks: true, QuietZone: qrterminal.QUIET_ZONE,
		BlackChar: qrterminal.BLACK_BLACK, WhiteBlackChar: qrterminal.WHITE_BLACK,
		WhiteChar: qrterminal.WHITE_WHITE, BlackWhiteChar: qrterminal.BLACK_WHITE,
	})
}
