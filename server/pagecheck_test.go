package server_test

// Page checks shared by the browser walks of the console pages
// (pages_test.go) and of the approval journey (journey_browser_test.go):
// the two screen sizes, full-page screenshots under testoutput/pages/,
// sign-in through a page's own link, layout-shift measurement, dark mode,
// and the accessibility check (labels, Tab order, focus ring, contrast).

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// viewport is one screen size every page is walked at.
type viewport struct {
	name          string
	width, height int64
}

func (v viewport) String() string { return v.name }

var viewports = []viewport{{"phone-360x740", 360, 740}, {"desktop-1280x800", 1280, 800}}

const pageShotDir = "testoutput/pages"

// newBrowserAt is newBrowser with the tab resized to vp.
func newBrowserAt(t *testing.T, vp viewport) context.Context {
	t.Helper()
	ctx := newBrowser(t)
	step(ctx, t, "resize to "+vp.name, chromedp.EmulateViewport(vp.width, vp.height))
	return ctx
}

// pageShot saves a full-page screenshot as testoutput/pages/<test>-<size>-<view>.png.
func pageShot(ctx context.Context, t *testing.T, vp viewport, view string) {
	t.Helper()
	png := run(ctx, t, "screenshot "+view, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(pageShotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name() + "-" + vp.name + "-" + view)
	if err := os.WriteFile(filepath.Join(pageShotDir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// signInThrough opens path signed out, follows its sign-in link, signs in
// as email and waits to be back on path showing view.
func signInThrough(ctx context.Context, t *testing.T, ts *testServer, path, email, view string) {
	t.Helper()
	step(ctx, t, "open "+path+" signed out",
		chromedp.Navigate(ts.URL+path),
		chromedp.WaitVisible(chromedp.CSS("#view-signin")),
		chromedp.Click(chromedp.CSS("#signin-link")),
		chromedp.WaitVisible(chromedp.CSS("#view-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS(view)))
	if loc := location(ctx, t); loc.Path != path {
		t.Fatalf("signed in and landed on %s, want %s", loc, path)
	}
}

func countNodes(ctx context.Context, t *testing.T, sel string) int {
	t.Helper()
	return run(ctx, t, "count "+sel, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
}

// activeElement describes the focused element: tag, id and accessible text.
func activeElement(ctx context.Context, t *testing.T) string {
	t.Helper()
	return run(ctx, t, "read the focus", chromedp.Evaluate[string](`(function (e) {
  return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "' + (e.getAttribute('aria-label') || e.textContent || '').trim().slice(0, 60) + '"';
})(document.activeElement)`))
}

// darkMode makes the tab prefer a dark colour scheme from now on.
func darkMode(ctx context.Context, t *testing.T) {
	t.Helper()
	step(ctx, t, "prefer dark", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
}

// noConsoleTrouble fails on CSP violations and script errors. Refused API
// calls (401 signed out, 403 not an admin) are expected network log lines.
func noConsoleTrouble(ctx context.Context, t *testing.T, vp viewport, w *consoleWatch) {
	t.Helper()
	for _, e := range w.all(ctx, t) {
		if e.kind == "exception" || strings.Contains(e.text, "Content Security Policy") || strings.Contains(e.text, "CSP violation") ||
			(e.kind == "console" && e.level == "error") {
			t.Errorf("%s: %s", vp, e)
		}
	}
}

// watchLayoutShifts records layout shifts not caused by input, on every
// page the tab opens from now on.
func watchLayoutShifts(ctx context.Context, t *testing.T) {
	t.Helper()
	step(ctx, t, "watch layout shifts", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
window.__layoutShift = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) { window.__layoutShift += e.value; } });
}).observe({ type: 'layout-shift', buffered: true });`})
		return err
	}))
}

// noLayoutShift asserts the page settled without moving anything: the
// cumulative layout shift since it loaded is (near) zero.
func noLayoutShift(ctx context.Context, t *testing.T, vp viewport) {
	t.Helper()
	step(ctx, t, "let the page settle", chromedp.Sleep(300*time.Millisecond))
	if cls := run(ctx, t, "read the layout shift", chromedp.Evaluate[float64](`window.__layoutShift || 0`)); cls > 0.01 {
		t.Errorf("%s: the page moved while loading: cumulative layout shift %.3f", vp, cls)
	}
}

// onFirstScreen fails unless every element sels names lies wholly on the
// first screen of vp, with nothing scrolled: on a phone, the code, the
// client and the decision buttons must be seen together.
func onFirstScreen(ctx context.Context, t *testing.T, vp viewport, what string, sels ...string) {
	t.Helper()
	list, _ := json.Marshal(sels)
	raw := run(ctx, t, "measure "+what, chromedp.Evaluate[string](`JSON.stringify(`+string(list)+`.map(function (sel) {
  var r = document.querySelector(sel).getBoundingClientRect();
  return { Sel: sel, Top: r.top + window.scrollY, Bottom: r.bottom + window.scrollY, Height: r.height };
}))`))
	var boxes []struct {
		Sel                 string
		Top, Bottom, Height float64
	}
	if err := json.Unmarshal([]byte(raw), &boxes); err != nil {
		t.Fatal(err)
	}
	for _, b := range boxes {
		if b.Height == 0 || b.Top < 0 || b.Bottom > float64(vp.height) {
			t.Errorf("%s: %s: %s spans y=%.0f..%.0f, want it within the first %d px", vp, what, b.Sel, b.Top, b.Bottom, vp.height)
		}
	}
}

// wrapsOnlyAtBreaks fails if a text node inside any of sels is laid out on
// more than one line: values wrap only at the <wbr> points the page puts
// between their parts (an email's "@", a host's dots), never mid-word, and
// a code never wraps at all.
func wrapsOnlyAtBreaks(ctx context.Context, t *testing.T, vp viewport, sels ...string) {
	t.Helper()
	list, _ := json.Marshal(sels)
	broken := run(ctx, t, "check line breaks", chromedp.Evaluate[[]string](string(list)+`.flatMap(function (sel) {
  var out = [];
  var walk = document.createTreeWalker(document.querySelector(sel), NodeFilter.SHOW_TEXT);
  for (var n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.textContent.trim()) { continue; }
    var r = document.createRange();
    r.selectNodeContents(n);
    var lines = new Set(Array.prototype.map.call(r.getClientRects(), function (b) { return Math.round(b.bottom); }));
    if (lines.size > 1) { out.push(sel + ': ' + JSON.stringify(n.textContent)); }
  }
  return out;
})`))
	for _, b := range broken {
		t.Errorf("%s: broken across lines mid-word: %s", vp, b)
	}
}

// noRepeatedHeading fails if the first sentence under a view's heading
// says the heading again ("Device approved. Device approved. ...").
func noRepeatedHeading(ctx context.Context, t *testing.T, vp viewport, view string) {
	t.Helper()
	raw := run(ctx, t, "read "+view, chromedp.Evaluate[[]string](`(function (v) {
  return [v.querySelector('h1').textContent.trim(), v.querySelector('p').textContent.trim()];
})(document.querySelector(`+strconv.Quote(view)+`))`))
	heading, first := raw[0], strings.SplitN(raw[1], ".", 2)[0]
	if strings.Contains(strings.ToLower(first), strings.ToLower(heading)) {
		t.Errorf("%s: %s: the first sentence %q repeats the heading %q", vp, view, first, heading)
	}
}

// checkAccessibility checks the page as it is now: every visible input and
// select is labelled and every control has a name; Tab reaches every
// focusable control in document order with a visible focus ring; and text
// contrast meets WCAG AA (4.5:1, 3:1 for large text), body text included.
func checkAccessibility(ctx context.Context, t *testing.T, vp viewport, what string) {
	t.Helper()
	var res struct {
		Unlabelled []string
		Contrast   []string
		BodyRatio  float64
		Focusables []string
	}
	raw := run(ctx, t, "inspect "+what, chromedp.Evaluate[string](a11yScript))
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("%s: %s: %v", vp, what, err)
	}
	for _, u := range res.Unlabelled {
		t.Errorf("%s: %s: %s", vp, what, u)
	}
	for _, c := range res.Contrast {
		t.Errorf("%s: %s: low contrast: %s", vp, what, c)
	}
	if res.BodyRatio < 4.5 {
		t.Errorf("%s: %s: body text contrast %.2f:1, want at least 4.5:1", vp, what, res.BodyRatio)
	}
	checkTabOrder(ctx, t, vp, what, res.Focusables)
}

// checkTabOrder presses Tab from the top of the page once per focusable
// control (plus one) and checks each got focus, in document order, visibly.
func checkTabOrder(ctx context.Context, t *testing.T, vp viewport, what string, focusables []string) {
	t.Helper()
	if len(focusables) == 0 {
		t.Logf("%s: %s: nothing on the page can take focus", vp, what)
		return
	}
	step(ctx, t, "focus the top of the page", chromedp.Evaluate[chromedp.Void](`(function () {
  if (document.activeElement) { document.activeElement.blur(); }
  document.body.setAttribute('tabindex', '-1');
  document.body.focus();
  document.body.removeAttribute('tabindex');
})()`))
	var got []int
	for range len(focusables) {
		step(ctx, t, "press Tab", chromedp.KeyEvent(kb.Tab))
		var at struct {
			Index   int
			Desc    string
			Visible bool
		}
		raw := run(ctx, t, "read the focus", chromedp.Evaluate[string](`JSON.stringify((function (e) {
  var cs = getComputedStyle(e);
  var ring = (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0) || cs.boxShadow !== 'none';
  return { Index: window.__focusables.indexOf(e), Desc: window.__describe(e), Visible: ring };
})(document.activeElement))`))
		if err := json.Unmarshal([]byte(raw), &at); err != nil {
			t.Fatal(err)
		}
		if !at.Visible {
			t.Errorf("%s: %s: focus on %s shows no focus ring", vp, what, at.Desc)
		}
		got = append(got, at.Index)
		if at.Index < 0 {
			t.Errorf("%s: %s: Tab %d landed on %s, which is not a visible control", vp, what, len(got), at.Desc)
		}
	}
	for i, idx := range got {
		if idx != i {
			t.Errorf("%s: %s: Tab order %v, want each control in document order:\n  %s", vp, what, got, strings.Join(focusables, "\n  "))
			return
		}
	}
}

// a11yScript inspects the page and leaves window.__focusables (the
// visible, enabled, tabbable controls in document order) for checkTabOrder.
const a11yScript = `JSON.stringify((function () {
  // rendered: laid out, not visibility:hidden, and not inside a closed
  // <details> (whose content still has boxes in Chromium).
  function rendered(el) {
    var shown = el.checkVisibility ? el.checkVisibility({ checkVisibilityCSS: true, visibilityProperty: true })
      : el.getClientRects().length > 0;
    return shown && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  }
  function describe(el) {
    var name = (el.getAttribute('aria-label') || el.textContent || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 50);
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') + (name ? ' "' + name + '"' : '');
  }
  window.__describe = describe;

  var unlabelled = [];
  document.querySelectorAll('input, select, textarea').forEach(function (el) {
    if (el.type === 'hidden' || !rendered(el)) { return; }
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) {
      unlabelled.push('no label: ' + describe(el));
    }
  });
  document.querySelectorAll('a[href], button, summary').forEach(function (el) {
    if (rendered(el) && !(el.getAttribute('aria-label') || el.textContent.trim())) {
      unlabelled.push('no accessible name: ' + describe(el));
    }
  });

  var tabbable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  window.__focusables = Array.prototype.filter.call(document.querySelectorAll(tabbable), function (el) {
    var ti = el.getAttribute('tabindex');
    return !el.disabled && !(ti !== null && Number(ti) < 0) && rendered(el);
  });

  function rgba(s) {
    var m = /rgba?\(([^)]+)\)/.exec(s || '');
    if (!m) { return null; }
    var p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  }
  function over(top, under) {
    return { r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
      b: top.b * top.a + under.b * (1 - top.a), a: 1 };
  }
  function background(el) {
    var layers = [];
    for (var n = el; n && n.nodeType === 1; n = n.parentElement) {
      var c = rgba(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) { break; } }
    }
    var bg = { r: 255, g: 255, b: 255, a: 1 };
    for (var i = layers.length - 1; i >= 0; i--) { bg = over(layers[i], bg); }
    return bg;
  }
  function lum(c) {
    function ch(v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }
    return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
  }
  function ratio(a, b) {
    var x = lum(a), y = lum(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  function opacity(el) {
    var o = 1;
    for (var n = el; n && n.nodeType === 1; n = n.parentElement) { o *= Number(getComputedStyle(n).opacity); }
    return o;
  }
  var contrast = [];
  var seen = 0;
  document.querySelectorAll('body *').forEach(function (el) {
    var own = Array.prototype.some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
    if (!own || !rendered(el) || opacity(el) < 1 || el.closest('noscript, template, title, desc')) { return; }
    var cs = getComputedStyle(el);
    var fg = rgba(el instanceof SVGElement ? cs.fill : cs.color);
    if (!fg) { return; }
    var bg = background(el instanceof SVGElement ? el.ownerSVGElement.parentElement : el);
    var r = ratio(over(fg, bg), bg);
    var size = parseFloat(cs.fontSize);
    var large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
    seen++;
    if (r < (large ? 3 : 4.5)) {
      contrast.push(describe(el) + ' ' + r.toFixed(2) + ':1');
    }
  });
  var body = getComputedStyle(document.body);
  return {
    Unlabelled: unlabelled,
    Contrast: contrast,
    BodyRatio: ratio(rgba(body.color), background(document.body)),
    Focusables: window.__focusables.map(describe),
    Checked: seen
  };
})())`
