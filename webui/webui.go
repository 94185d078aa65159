// Package webui owns the pages a person sees in a browser: the device
// approval page, the sign-in page, My devices and the admin view, with
// their CSS and JavaScript, embedded
// in the binary. There is no build step and nothing is loaded from another
// origin.
//
// The pages are written to run under a strict Content-Security-Policy
// (script-src 'self', style-src 'self', no inline script or style), so they
// must never gain an inline <script>, a style attribute or an on* handler;
// webui_test.go enforces that. Every dynamic value is written with
// textContent or attributes, never as HTML. The package imports no project
// package and talks to the server only over the JSON API, from the browser.
package webui

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed pages/*.html static/*
var files embed.FS

// Page returns the HTML of a named page ("device", "signin", "devices",
// "admin"); ok=false if unknown.
// The returned slice is the caller's own copy.
func Page(name string) (html []byte, ok bool) {
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, false
	}
	b, err := files.ReadFile("pages/" + name + ".html")
	if err != nil {
		return nil, false
	}
	return b, true
}

// Static is the file system of assets served under /assets/ (e.g. "app.css", "device.js").
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		// fs.Sub only fails on an invalid path, and "static" is valid.
		panic(err)
	}
	return sub
}
