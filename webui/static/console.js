// Helpers shared by the console pages (devices.js, admin.js).
//
// Loaded with defer after common.js and before the page's own script; it
// defines one global, window.GatehouseConsole. Every value it writes into
// the page goes through textContent or an attribute, never HTML.
(function () {
  'use strict';

  var G = window.Gatehouse;

  function byId(id) {
    return document.getElementById(id);
  }

  // showView reveals the view named by id among ids, hiding the rest.
  function showView(ids, id) {
    ids.forEach(function (v) {
      byId(v).hidden = v !== id;
    });
  }

  function text(v) {
    return typeof v === 'string' ? v : '';
  }

  // clone returns a fresh copy of a <template>'s first element.
  function clone(templateId) {
    return byId(templateId).content.firstElementChild.cloneNode(true);
  }

  // fill sets the text of the first element matching selector inside root.
  function fill(root, selector, value) {
    var el = root.querySelector(selector);
    el.textContent = value;
    return el;
  }

  function parseTime(iso) {
    var t = typeof iso === 'string' ? Date.parse(iso) : NaN;
    return isNaN(t) ? null : new Date(t);
  }

  var dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  // relative says how far a time is from now, in the largest sensible unit.
  function relative(date) {
    var s = Math.round((date.getTime() - Date.now()) / 1000);
    var future = s > 0;
    var a = Math.abs(s);
    var phrase;
    if (a < 45) {
      return 'just now';
    } else if (a < 3600) {
      phrase = G.plural(Math.round(a / 60), 'minute');
    } else if (a < 86400) {
      phrase = G.plural(Math.round(a / 3600), 'hour');
    } else {
      phrase = G.plural(Math.round(a / 86400), 'day');
    }
    return future ? 'in ' + phrase : phrase + ' ago';
  }

  // setTime fills a <time> element: relative text, exact time on hover and
  // in its datetime attribute. A missing time shows fallback.
  function setTime(el, iso, fallback) {
    var d = parseTime(iso);
    if (!d) {
      el.textContent = fallback || 'never';
      el.removeAttribute('datetime');
      el.removeAttribute('title');
      return;
    }
    el.textContent = relative(d);
    el.setAttribute('datetime', d.toISOString());
    el.setAttribute('title', dateTime.format(d));
  }

  function absolute(iso) {
    var d = parseTime(iso);
    return d ? dateTime.format(d) : '';
  }

  function bytes(n) {
    var v = Number(n) || 0;
    var units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + units[i];
  }

  function isSession(data) {
    return Boolean(data && data.account && typeof data.account.email === 'string' &&
      typeof data.csrf_token === 'string');
  }

  // showAccount fills the account line and reveals the Admin link for
  // admins. The link's place is reserved from the start, so nothing moves.
  function showAccount(session) {
    byId('account-email').textContent = session.account.email;
    if (session.account.role === 'admin') {
      byId('nav-admin').classList.remove('pending');
      byId('nav-admin').removeAttribute('aria-hidden');
    }
  }

  // failureMessage is the sentence for a failed request.
  function failureMessage(r) {
    if (r.status === 0) {
      return 'Could not reach Gatehouse. Check your connection and try again.';
    }
    if (r.status === 429) {
      return G.tooManyMessage(r.retryAfter) + '.';
    }
    return 'Something went wrong. Please try again.';
  }

  // signOut ends the session; done(ok) runs afterwards.
  async function signOut(csrf) {
    var r = await G.fetchJSON('POST', '/console/api/logout', { csrf: csrf });
    // 401: the session was already gone, which is what was wanted.
    return (r.status >= 200 && r.status < 300) || r.status === 401;
  }

  window.GatehouseConsole = Object.freeze({
    byId: byId,
    showView: showView,
    text: text,
    clone: clone,
    fill: fill,
    setTime: setTime,
    absolute: absolute,
    bytes: bytes,
    isSession: isSession,
    showAccount: showAccount,
    failureMessage: failureMessage,
    signOut: signOut
  });
})();
