// Admin view (/admin): every live token with filters and Revoke, recent
// audit events, the store's size and counts, and a chart of approvals,
// denials and tokens handed out per day over the last 30 days.
//
// Talks to GET /console/api/session and GET /console/api/admin/{tokens,
// audit,stats,daily}, POST /console/api/admin/revoke {token_id} and
// POST /console/api/logout. Accounts without the admin role get 403 from
// the API and the not-allowed view here.
//
// The chart is an SVG drawn with createElementNS: geometry goes in SVG
// attributes and colours come from console.css by class, so the strict CSP
// (no inline style) holds. No chart library, nothing from another origin.
(function () {
  'use strict';

  var G = window.Gatehouse;
  var C = window.GatehouseConsole;
  var byId = C.byId;
  var VIEWS = ['view-loading', 'view-signin', 'view-forbidden', 'view-error', 'view-admin'];
  // The chart's <svg> is in the page; new shapes take its namespace.
  var chartSVG = byId('chart-svg');
  var SVG_NS = chartSVG.namespaceURI;

  var state = {
    session: null,
    days: [],
    issuers: {},
    resizeTimer: 0
  };

  function show(id) {
    C.showView(VIEWS, id);
  }

  function setStatus(message) {
    byId('admin-status').textContent = message;
  }

  // ---- Loading ----

  // load fetches everything, then reveals the whole view in one go, so
  // nothing on it moves while data arrives.
  async function load() {
    var s = await G.fetchJSON('GET', '/console/api/session');
    if (s.status === 401) {
      show('view-signin');
      return;
    }
    if (s.status !== 200 || !C.isSession(s.data)) {
      showError(s);
      return;
    }
    state.session = s.data;
    C.showAccount(state.session);
    var rs = await Promise.all([
      G.fetchJSON('GET', '/console/api/admin/stats'),
      G.fetchJSON('GET', '/console/api/admin/daily'),
      G.fetchJSON('GET', tokensURL()),
      G.fetchJSON('GET', '/console/api/admin/audit?limit=100')
    ]);
    if (!settle(rs)) {
      return;
    }
    renderStats(rs[0].data);
    renderTokens(rs[2].data);
    renderAudit(rs[3].data);
    show('view-admin');
    // The chart measures its box, so it is drawn once the box is shown.
    renderDaily(rs[1].data);
  }

  // settle shows the right view when any answer is not a 200 with a body.
  function settle(rs) {
    for (var i = 0; i < rs.length; i++) {
      var r = rs[i];
      if (r.status === 401) {
        show('view-signin');
        return false;
      }
      if (r.status === 403 && G.errorCode(r.data) === 'forbidden') {
        byId('forbidden-email').textContent = state.session ? state.session.account.email : '';
        show('view-forbidden');
        return false;
      }
      if (r.status !== 200 || !r.data) {
        showError(r);
        return false;
      }
    }
    return true;
  }

  function showError(r) {
    byId('error-message').textContent = C.failureMessage(r);
    show('view-error');
    byId('retry').focus();
  }

  // refresh reloads the parts a revoke changes.
  async function refresh() {
    var rs = await Promise.all([
      G.fetchJSON('GET', '/console/api/admin/stats'),
      G.fetchJSON('GET', '/console/api/admin/daily'),
      G.fetchJSON('GET', '/console/api/admin/audit?limit=100')
    ]);
    if (!settle(rs)) {
      return;
    }
    renderStats(rs[0].data);
    renderDaily(rs[1].data);
    renderAudit(rs[2].data);
  }

  // ---- Store ----

  function renderStats(st) {
    byId('stat-file-bytes').textContent = C.bytes(st.file_bytes);
    [['stat-tokens', st.tokens], ['stat-device-codes', st.device_codes], ['stat-accounts', st.accounts],
      ['stat-sessions', st.sessions], ['stat-audit-events', st.audit_events]].forEach(function (p) {
      byId(p[0]).textContent = String(Number(p[1]) || 0);
    });
  }

  // ---- Tokens ----

  function tokensURL() {
    var q = new URLSearchParams();
    [['email', 'filter-email'], ['client', 'filter-client'], ['issuer', 'filter-issuer']].forEach(function (p) {
      var v = byId(p[1]).value.trim();
      if (v) {
        q.set(p[0], v);
      }
    });
    var qs = q.toString();
    return '/console/api/admin/tokens' + (qs ? '?' + qs : '');
  }

  function clear(el) {
    while (el.firstChild) {
      el.removeChild(el.firstChild);
    }
  }

  function renderTokens(data) {
    var rows = Array.isArray(data.tokens) ? data.tokens : [];
    var body = byId('tokens-body');
    clear(body);
    rows.forEach(function (t) {
      if (t && typeof t.id === 'string') {
        body.appendChild(tokenRow(t));
        rememberIssuer(C.text(t.subject_issuer));
      }
    });
    renderClients(Array.isArray(data.clients) ? data.clients : []);
    var total = Number(data.total) || 0;
    byId('tokens-count').textContent = data.truncated
      ? 'Showing the newest ' + rows.length + ' of ' + total + ' live tokens. Narrow the filters to see the rest.'
      : G.plural(total, 'live token') + '.';
    byId('tokens-empty').hidden = rows.length !== 0;
  }

  function tokenRow(t) {
    var tr = C.clone('token-template');
    tr.setAttribute('data-token-id', t.id);
    C.fill(tr, '.subject-email', C.text(t.subject_email));
    C.fill(tr, '.subject-issuer', C.text(t.subject_issuer));
    var name = C.text(t.client_name) || C.text(t.client_id);
    C.fill(tr, '.client-name', name);
    C.fill(tr, '.client-id', C.text(t.client_id) !== name ? C.text(t.client_id) : '');
    C.fill(tr, '.device-label', C.text(t.device_label) || '—');
    C.setTime(tr.querySelector('.created'), t.created_at);
    C.setTime(tr.querySelector('.last-used'), t.last_used_at, 'never');
    C.setTime(tr.querySelector('.expires'), t.expires_at);
    C.fill(tr, '.prefix', C.text(t.prefix) ? C.text(t.prefix) + '…' : '');
    var button = tr.querySelector('.revoke');
    button.setAttribute('aria-label', 'Revoke the token of ' + C.text(t.subject_email) + ' on ' +
      (C.text(t.device_label) || 'an unnamed device'));
    button.addEventListener('click', function () {
      revoke(t, tr, button);
    });
    return tr;
  }

  function rememberIssuer(issuer) {
    if (!issuer || state.issuers[issuer]) {
      return;
    }
    state.issuers[issuer] = true;
    var option = document.createElement('option');
    option.value = issuer;
    byId('issuer-options').appendChild(option);
  }

  // renderClients fills the client filter, keeping the current choice.
  function renderClients(clients) {
    var select = byId('filter-client');
    var current = select.value;
    while (select.options.length > 1) {
      select.remove(1);
    }
    clients.slice().sort(function (a, b) {
      return C.text(a.id) < C.text(b.id) ? -1 : 1;
    }).forEach(function (c) {
      var option = document.createElement('option');
      option.value = C.text(c.id);
      option.textContent = C.text(c.name) && c.name !== c.id ? c.name + ' (' + c.id + ')' : C.text(c.id);
      select.appendChild(option);
    });
    select.value = current;
    if (select.value !== current) {
      select.value = '';
    }
  }

  async function applyFilters(event) {
    if (event) {
      event.preventDefault();
    }
    var apply = byId('filter-apply');
    G.setBusy([apply, byId('filter-clear')], true);
    byId('tokens-count').textContent = 'Loading tokens…';
    var r = await G.fetchJSON('GET', tokensURL());
    G.setBusy([apply, byId('filter-clear')], false);
    if (r.status === 400) {
      byId('tokens-count').textContent = 'Check the filters: one of them is not valid.';
      return;
    }
    if (!settle([r])) {
      return;
    }
    renderTokens(r.data);
  }

  function clearFilters() {
    byId('filter-email').value = '';
    byId('filter-client').value = '';
    byId('filter-issuer').value = '';
    applyFilters(null);
  }

  async function revoke(t, tr, button) {
    if (button.disabled) {
      return;
    }
    button.disabled = true;
    button.textContent = 'Revoking…';
    var r = await G.fetchJSON('POST', '/console/api/admin/revoke', {
      body: { token_id: t.id },
      csrf: state.session.csrf_token
    });
    if (r.status === 200 || r.status === 404) {
      var next = tr.nextElementSibling || tr.previousElementSibling;
      tr.parentNode.removeChild(tr);
      setStatus((r.status === 200 ? 'Revoked the token of ' : 'Already gone: the token of ') +
        C.text(t.subject_email) + ' on ' + (C.text(t.device_label) || 'an unnamed device') + '.');
      if (next) {
        next.querySelector('.revoke').focus();
      } else {
        byId('tokens-title').setAttribute('tabindex', '-1');
        byId('tokens-title').focus();
      }
      byId('tokens-empty').hidden = byId('tokens-body').rows.length !== 0;
      byId('tokens-count').textContent = G.plural(byId('tokens-body').rows.length, 'live token') + ' shown.';
      refresh();
      return;
    }
    button.disabled = false;
    button.textContent = 'Revoke';
    if (r.status === 401 || (r.status === 403 && G.errorCode(r.data) === 'forbidden')) {
      settle([r]);
      return;
    }
    setStatus('Could not revoke the token of ' + C.text(t.subject_email) + '. ' + C.failureMessage(r));
  }

  // ---- Audit ----

  function renderAudit(data) {
    var events = Array.isArray(data.events) ? data.events : [];
    var body = byId('audit-body');
    clear(body);
    events.forEach(function (ev) {
      if (!ev || typeof ev.type !== 'string') {
        return;
      }
      var tr = C.clone('audit-template');
      C.setTime(tr.querySelector('.at'), ev.at);
      C.fill(tr, '.type', ev.type);
      C.fill(tr, '.actor', C.text(ev.actor));
      C.fill(tr, '.subject', C.text(ev.subject));
      C.fill(tr, '.client', C.text(ev.client_id));
      C.fill(tr, '.token', C.text(ev.token_id));
      C.fill(tr, '.ip', C.text(ev.ip));
      C.fill(tr, '.detail', C.text(ev.detail));
      body.appendChild(tr);
    });
    byId('audit-empty').hidden = body.rows.length !== 0;
  }

  // ---- Daily chart ----

  function renderDaily(data) {
    state.days = (Array.isArray(data.days) ? data.days : []).filter(function (d) {
      return d && typeof d.day === 'string';
    }).map(function (d) {
      return { day: d.day, approved: count(d.approved), denied: count(d.denied), minted: count(d.minted) };
    });
    renderDailyTable();
    drawChart();
  }

  function count(v) {
    var n = Math.floor(Number(v));
    return isFinite(n) && n > 0 ? n : 0;
  }

  function renderDailyTable() {
    var body = byId('daily-body');
    clear(body);
    state.days.slice().reverse().forEach(function (d) {
      var tr = C.clone('daily-template');
      C.fill(tr, '.day', d.day);
      C.fill(tr, '.approved', String(d.approved));
      C.fill(tr, '.denied', String(d.denied));
      C.fill(tr, '.minted', String(d.minted));
      body.appendChild(tr);
    });
  }

  function svgEl(name, attrs, parent) {
    var el = document.createElementNS(SVG_NS, name);
    Object.keys(attrs).forEach(function (k) {
      el.setAttribute(k, String(attrs[k]));
    });
    if (parent) {
      parent.appendChild(el);
    }
    return el;
  }

  function svgText(parent, x, y, anchor, value) {
    var t = svgEl('text', { x: x, y: y, 'text-anchor': anchor }, parent);
    t.textContent = value;
    return t;
  }

  // niceMax rounds the busiest day up to 1, 2 or 5 times a power of ten.
  function niceMax(n) {
    if (n <= 4) {
      return 4;
    }
    var p = Math.pow(10, Math.floor(Math.log10(n)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * p >= n) {
        return steps[i] * p;
      }
    }
    return 10 * p;
  }

  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  function shortDay(day) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
    return m ? MONTHS[Number(m[2]) - 1] + ' ' + Number(m[3]) : day;
  }

  // drawChart draws the days into #chart at the box's own pixel size, so
  // text keeps its size on a phone: stacked bars (approvals below denials)
  // in one <g class="day"> per day, and a line for tokens handed out.
  function drawChart() {
    var box = byId('chart');
    var svg = chartSVG;
    clear(svg);
    var days = state.days;
    var W = Math.max(240, Math.floor(box.clientWidth));
    var H = Math.max(120, Math.floor(box.clientHeight));
    var pad = { left: 32, right: 8, top: 8, bottom: 22 };
    var plotW = W - pad.left - pad.right;
    var plotH = H - pad.top - pad.bottom;
    var max = niceMax(days.reduce(function (m, d) {
      return Math.max(m, d.approved + d.denied, d.minted);
    }, 0));
    var totals = days.reduce(function (s, d) {
      return { approved: s.approved + d.approved, denied: s.denied + d.denied, minted: s.minted + d.minted };
    }, { approved: 0, denied: 0, minted: 0 });

    [['width', W], ['height', H], ['viewBox', '0 0 ' + W + ' ' + H]].forEach(function (a) {
      svg.setAttribute(a[0], String(a[1]));
    });
    svgEl('title', {}, svg).textContent = 'Approvals, denials and tokens handed out per day';
    svgEl('desc', {}, svg).textContent = 'Last ' + days.length + ' days: ' +
      G.plural(totals.approved, 'approval') + ', ' + G.plural(totals.denied, 'denial') + ', ' +
      G.plural(totals.minted, 'token') + ' handed out.';

    var y = function (v) {
      return pad.top + plotH - (v / max) * plotH;
    };
    [0, max / 2, max].forEach(function (v) {
      svgEl('line', { 'class': v === 0 ? 'axis' : 'grid', x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v) }, svg);
      svgText(svg, pad.left - 6, y(v) + 4, 'end', String(v));
    });

    var slot = days.length ? plotW / days.length : plotW;
    var barW = Math.max(3, Math.min(18, slot * 0.7));
    // A label every week on a wide chart, every other week on a narrow one,
    // always ending on today.
    var labelEvery = plotW < 420 ? 14 : 7;
    var cxOf = function (i) {
      return pad.left + slot * i + slot / 2;
    };
    // The line goes first so the bars and dots are drawn over it.
    if (days.length > 1) {
      svgEl('polyline', { 'class': 'minted-line', points: days.map(function (d, i) {
        return cxOf(i).toFixed(1) + ',' + y(d.minted).toFixed(1);
      }).join(' ') }, svg);
    }
    days.forEach(function (d, i) {
      var cx = cxOf(i);
      var g = svgEl('g', { 'class': 'day' + (d.approved + d.denied + d.minted > 0 ? ' has-data' : ''), 'data-day': d.day }, svg);
      svgEl('title', {}, g).textContent = shortDay(d.day) + ': ' + G.plural(d.approved, 'approval') + ', ' +
        G.plural(d.denied, 'denial') + ', ' + G.plural(d.minted, 'token') + ' handed out';
      var top = y(d.approved);
      svgEl('rect', { 'class': 'bar approved', x: cx - barW / 2, y: top, width: barW, height: y(0) - top,
        'data-count': d.approved }, g);
      var dtop = y(d.approved + d.denied);
      svgEl('rect', { 'class': 'bar denied', x: cx - barW / 2, y: dtop, width: barW, height: top - dtop,
        'data-count': d.denied }, g);
      if (d.minted > 0) {
        svgEl('circle', { 'class': 'minted-dot', cx: cx, cy: y(d.minted), r: 2.5, 'data-count': d.minted }, g);
      }
      var last = i === days.length - 1;
      if ((days.length - 1 - i) % labelEvery === 0) {
        svgText(svg, last ? W - pad.right : cx, H - 6, last ? 'end' : 'middle', shortDay(d.day));
      }
    });
  }

  function onResize() {
    window.clearTimeout(state.resizeTimer);
    state.resizeTimer = window.setTimeout(function () {
      if (!byId('view-admin').hidden && state.days.length) {
        drawChart();
      }
    }, 150);
  }

  async function onSignOut(event) {
    var button = event.currentTarget;
    button.disabled = true;
    var ok = await C.signOut(state.session.csrf_token);
    button.disabled = false;
    if (ok) {
      show('view-signin');
      byId('signin-link').focus();
      return;
    }
    if (byId('view-admin').hidden) {
      showError({ status: -1 });
      return;
    }
    setStatus('Could not sign out. Please try again.');
  }

  // ---- Wiring ----

  byId('filter-form').addEventListener('submit', applyFilters);
  byId('filter-clear').addEventListener('click', clearFilters);
  byId('signout').addEventListener('click', onSignOut);
  byId('forbidden-signout').addEventListener('click', onSignOut);
  byId('retry').addEventListener('click', function () {
    show('view-loading');
    load();
  });
  window.addEventListener('resize', onResize);
  load();
})();
