package webui

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

var pageNames = []string{"device", "signin", "devices", "admin"}

// tag is one start tag found in a page.
type tag struct {
	name  string
	attrs map[string]string // lower-cased names; value "" when bare
	raw   string
}

var (
	commentRE = regexp.MustCompile(`(?s)<!--.*?-->`)
	tagRE     = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=/>]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*/?>`)
	attrRE    = regexp.MustCompile(`([^\s=/>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?`)
	tagOpenRE = regexp.MustCompile(`<[a-zA-Z]`)
	byIDRE    = regexp.MustCompile(`byId\('([^']+)'\)`)
)

// parseTags returns every start tag of a page. It is enough for pages we
// write ourselves, and fails the test if any "<x" was not understood, so a
// tag cannot hide from the checks below by being oddly written.
func parseTags(t *testing.T, page string) []tag {
	t.Helper()
	src := commentRE.ReplaceAllString(page, "")
	var tags []tag
	for _, m := range tagRE.FindAllStringSubmatch(src, -1) {
		tg := tag{name: strings.ToLower(m[1]), attrs: map[string]string{}, raw: m[0]}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			tg.attrs[strings.ToLower(a[1])] = strings.Trim(a[2], `"'`)
		}
		tags = append(tags, tg)
	}
	if opens := len(tagOpenRE.FindAllString(src, -1)); opens != len(tags) {
		t.Fatalf("parsed %d tags but found %d tag openings: the page has markup the checks cannot read", len(tags), opens)
	}
	return tags
}

func mustPage(t *testing.T, name string) (string, []tag) {
	t.Helper()
	b, ok := Page(name)
	if !ok || len(b) == 0 {
		t.Fatalf("Page(%q) missing", name)
	}
	return string(b), parseTags(t, string(b))
}

func mustAsset(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(Static(), name)
	if err != nil {
		t.Fatalf("asset %q: %v", name, err)
	}
	return string(b)
}

func TestEveryPageExists(t *testing.T) {
	for _, name := range pageNames {
		page, _ := mustPage(t, name)
		if !strings.HasPrefix(strings.ToLower(page), "<!doctype html>") {
			t.Errorf("%s: does not start with <!doctype html>", name)
		}
	}
}

func TestUnknownPagesAreRefused(t *testing.T) {
	for _, name := range []string{"", "nope", "device.html", "../webui", "pages/device", "../static/app", "static/app.css"} {
		if _, ok := Page(name); ok {
			t.Errorf("Page(%q) ok, want unknown", name)
		}
	}
}

func TestPageReturnsACopy(t *testing.T) {
	a, _ := Page("device")
	a[0] = 'X'
	b, _ := Page("device")
	if b[0] == 'X' {
		t.Fatal("Page shares its bytes between callers")
	}
}

func TestPagesHaveNoInlineScriptOrStyle(t *testing.T) {
	for _, name := range pageNames {
		_, tags := mustPage(t, name)
		for _, tg := range tags {
			if tg.name == "script" && tg.attrs["src"] == "" {
				t.Errorf("%s: inline script %s", name, tg.raw)
			}
			if tg.name == "style" {
				t.Errorf("%s: <style> element", name)
			}
			for attr := range tg.attrs {
				if attr == "style" {
					t.Errorf("%s: style attribute in %s", name, tg.raw)
				}
				if strings.HasPrefix(attr, "on") {
					t.Errorf("%s: event handler attribute %q in %s", name, attr, tg.raw)
				}
			}
		}
	}
}

func TestPagesReferenceOnlyOwnAssets(t *testing.T) {
	for _, name := range pageNames {
		page, tags := mustPage(t, name)
		for _, tg := range tags {
			for _, attr := range []string{"src", "href", "action"} {
				v, has := tg.attrs[attr]
				if !has {
					continue
				}
				if frag, ok := strings.CutPrefix(v, "#"); ok && attr == "href" {
					if !strings.Contains(page, `id="`+frag+`"`) {
						t.Errorf("%s: href=%q points at no element on the page", name, v)
					}
					continue // a skip link within the page
				}
				if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") {
					t.Errorf("%s: %s=%q is not a same-origin path", name, attr, v)
				}
			}
			var ref string
			switch tg.name {
			case "script":
				ref = tg.attrs["src"]
			case "link":
				ref = tg.attrs["href"]
			default:
				continue
			}
			asset, ok := strings.CutPrefix(ref, "/assets/")
			if !ok {
				t.Errorf("%s: %s references %q outside /assets/", name, tg.name, ref)
				continue
			}
			if _, err := fs.Stat(Static(), asset); err != nil {
				t.Errorf("%s: %s references missing asset %q", name, tg.name, ref)
			}
		}
	}
}

func TestEveryInputIsLabelled(t *testing.T) {
	for _, name := range pageNames {
		_, tags := mustPage(t, name)
		labelled := map[string]bool{}
		for _, tg := range tags {
			if tg.name == "label" && tg.attrs["for"] != "" {
				labelled[tg.attrs["for"]] = true
			}
		}
		for _, tg := range tags {
			switch tg.name {
			case "input", "select", "textarea":
			default:
				continue
			}
			if tg.attrs["type"] == "hidden" || tg.attrs["aria-label"] != "" {
				continue
			}
			if id := tg.attrs["id"]; id == "" || !labelled[id] {
				t.Errorf("%s: %s has no <label for> or aria-label", name, tg.raw)
			}
		}
	}
}

func TestIDsAreUniqueAndScriptsFindThem(t *testing.T) {
	for _, name := range pageNames {
		_, tags := mustPage(t, name)
		ids := map[string]bool{}
		for _, tg := range tags {
			id, has := tg.attrs["id"]
			if !has {
				continue
			}
			if ids[id] {
				t.Errorf("%s: duplicate id %q", name, id)
			}
			ids[id] = true
		}
		for _, tg := range tags {
			if tg.name != "script" || tg.attrs["src"] == "" {
				continue
			}
			js := mustAsset(t, strings.TrimPrefix(tg.attrs["src"], "/assets/"))
			for _, m := range byIDRE.FindAllStringSubmatch(js, -1) {
				if !ids[m[1]] {
					t.Errorf("%s: %s looks up id %q that the page lacks", name, tg.attrs["src"], m[1])
				}
			}
		}
	}
}

// The device page's views are a contract with the end-to-end tests.
func TestDeviceViews(t *testing.T) {
	_, tags := mustPage(t, "device")
	sections := map[string]tag{}
	ids := map[string]bool{}
	for _, tg := range tags {
		ids[tg.attrs["id"]] = true
		if tg.name == "section" {
			sections[tg.attrs["id"]] = tg
		}
	}
	views := []string{"view-enter", "view-signin", "view-authorize", "view-success",
		"view-denied", "view-invalid", "view-ratelimited", "view-error",
		"view-sso-authorize", "view-session-expired"}
	visible := 0
	for _, v := range views {
		tg, ok := sections[v]
		if !ok {
			t.Errorf("no <section id=%q>", v)
			continue
		}
		if _, hidden := tg.attrs["hidden"]; !hidden {
			visible++
		}
	}
	if visible != 1 {
		t.Errorf("%d views visible at load, want 1", visible)
	}
	if _, hidden := sections["view-enter"].attrs["hidden"]; hidden {
		t.Error("view-enter is hidden at load")
	}
	for _, id := range []string{"user-code", "continue", "approve", "deny", "workspace", "signin-link", "signout",
		"sso-link", "sso-approve", "sso-deny"} {
		if !ids[id] {
			t.Errorf("no element with id %q", id)
		}
	}
}

// The CSP forbids inline styles and eval, and dynamic values must never be
// parsed as HTML; these patterns would break one rule or the other.
func TestScriptsAvoidUnsafeAPIs(t *testing.T) {
	forbidden := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
		"eval(", "new Function", ".style", "setAttribute('style'", "cssText",
		"javascript:", "http://", "https://"}
	err := fs.WalkDir(Static(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, ".js") {
			return err
		}
		js := mustAsset(t, path)
		if !strings.Contains(js, "'use strict';") {
			t.Errorf("%s: not in strict mode", path)
		}
		for _, f := range forbidden {
			if strings.Contains(js, f) {
				t.Errorf("%s: uses %q", path, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStylesLoadNothingElse(t *testing.T) {
	sheets, err := fs.Glob(Static(), "*.css")
	if err != nil || len(sheets) < 2 {
		t.Fatalf("style sheets %v, %v; want app.css and console.css at least", sheets, err)
	}
	for _, name := range sheets {
		css := mustAsset(t, name)
		for _, f := range []string{"@import", "url(", "@font-face"} {
			if strings.Contains(css, f) {
				t.Errorf("%s: uses %q", name, f)
			}
		}
	}
}

// Every embedded page is in pageNames, so each gets the checks above.
func TestEveryPageIsChecked(t *testing.T) {
	embedded, err := fs.Glob(files, "pages/*.html")
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	for _, name := range pageNames {
		checked["pages/"+name+".html"] = true
	}
	for _, p := range embedded {
		if !checked[p] {
			t.Errorf("%s is embedded but not in pageNames, so no check runs on it", p)
		}
	}
	if len(embedded) != len(pageNames) {
		t.Errorf("pageNames %v, embedded pages %v", pageNames, embedded)
	}
}

// The console pages show only their loading view until the script knows
// who is signed in; the browser tests rely on these views and ids.
func TestConsoleViews(t *testing.T) {
	pages := map[string]struct{ views, ids []string }{
		"devices": {
			views: []string{"view-loading", "view-signin", "view-list", "view-error"},
			ids:   []string{"device-list", "revoke-all", "confirm-all", "confirm-all-yes", "confirm-all-no", "device-template", "nav-admin"},
		},
		"admin": {
			views: []string{"view-loading", "view-signin", "view-forbidden", "view-error", "view-admin"},
			ids: []string{"filter-form", "filter-email", "filter-client", "filter-issuer", "tokens-body", "audit-body",
				"chart-svg", "daily-body", "stat-file-bytes", "nav-admin"},
		},
	}
	for name, want := range pages {
		_, tags := mustPage(t, name)
		hidden := map[string]bool{}
		ids := map[string]bool{}
		for _, tg := range tags {
			id := tg.attrs["id"]
			ids[id] = true
			_, hidden[id] = tg.attrs["hidden"]
		}
		for _, v := range want.views {
			if !ids[v] {
				t.Errorf("%s: no view %q", name, v)
			} else if hidden[v] != (v != "view-loading") {
				t.Errorf("%s: view %q hidden=%v at load; only view-loading may show", name, v, hidden[v])
			}
		}
		for _, id := range want.ids {
			if !ids[id] {
				t.Errorf("%s: no element with id %q", name, id)
			}
		}
	}
}
