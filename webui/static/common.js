// Gatehouse page helpers shared by signin.js and device.js.
//
// Loaded with defer before the page's own script; it defines one global,
// window.Gatehouse. Nothing here touches the DOM with HTML strings.
(function () {
  'use strict';

  var MAX_RETRY_AFTER = 86400;

  // fetchJSON makes a same-origin request and never rejects. It resolves to
  //   { status, data, retryAfter }
  // where status is the HTTP status (0 when the network failed), data is the
  // parsed JSON body or null, and retryAfter is whole seconds from the
  // Retry-After header or null.
  // opts.body is sent as JSON; opts.csrf becomes the X-CSRF-Token header.
  async function fetchJSON(method, url, opts) {
    opts = opts || {};
    var headers = { Accept: 'application/json' };
    var init = {
      method: method,
      headers: headers,
      credentials: 'same-origin',
      cache: 'no-store'
    };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    if (opts.csrf) {
      headers['X-CSRF-Token'] = opts.csrf;
    }
    try {
      var resp = await fetch(url, init);
      var text = await resp.text();
      return {
        status: resp.status,
        data: parseJSON(text),
        retryAfter: retryAfterSeconds(resp.headers.get('Retry-After'))
      };
    } catch (e) {
      return { status: 0, data: null, retryAfter: null };
    }
  }

  function parseJSON(text) {
    try {
      var v = JSON.parse(text);
      return v !== null && typeof v === 'object' ? v : null;
    } catch (e) {
      return null;
    }
  }

  // retryAfterSeconds reads a Retry-After value: delta-seconds or an
  // HTTP date. It returns null when absent or unreadable.
  function retryAfterSeconds(value) {
    if (!value) {
      return null;
    }
    var n;
    if (/^\s*\d+\s*$/.test(value)) {
      n = parseInt(value, 10);
    } else {
      var when = Date.parse(value);
      if (isNaN(when)) {
        return null;
      }
      n = Math.ceil((when - Date.now()) / 1000);
    }
    return Math.min(Math.max(n, 1), MAX_RETRY_AFTER);
  }

  // errorCode returns the machine-readable "error" field of a response body
  // if it looks like one (a short token), so a page can show it as text.
  // Free-form server text is never shown.
  function errorCode(data) {
    var code = data && data.error;
    if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) {
      return code;
    }
    return '';
  }

  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }

  // tooManyMessage is what a page says on a 429.
  function tooManyMessage(retryAfter) {
    return retryAfter
      ? 'Too many attempts, try again in ' + humanWait(retryAfter)
      : 'Too many attempts, try again later';
  }

  // humanWait says a wait the way a person would: "45 seconds",
  // "12 minutes", "1 hour", "1 hour 30 minutes" (never "60 minutes").
  function humanWait(seconds) {
    if (seconds < 90) {
      return plural(seconds, 'second');
    }
    var minutes = Math.ceil(seconds / 60);
    if (minutes < 60) {
      return plural(minutes, 'minute');
    }
    var rest = minutes % 60;
    return plural(Math.floor(minutes / 60), 'hour') + (rest ? ' ' + plural(rest, 'minute') : '');
  }

  // safeNext returns raw if it is a same-origin relative path that cannot
  // be read as another origin, else fallback. Browsers drop tabs and
  // newlines from URLs and treat "\" as "/", so those are refused outright.
  function safeNext(raw, fallback) {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) {
      return fallback;
    }
    if (raw.charAt(0) !== '/' || raw.startsWith('//') || raw.startsWith('/\\')) {
      return fallback;
    }
    if (/[\u0000-\u001f\u007f\\]/.test(raw)) {
      return fallback;
    }
    try {
      var u = new URL(raw, window.location.origin);
      if (u.origin !== window.location.origin) {
        return fallback;
      }
      return u.pathname + u.search + u.hash;
    } catch (e) {
      return fallback;
    }
  }

  // setBusy disables or re-enables a set of controls while a request is in
  // flight, so nothing can be submitted twice.
  function setBusy(controls, busy) {
    controls.forEach(function (el) {
      if (el) {
        el.disabled = busy;
      }
    });
  }

  window.Gatehouse = Object.freeze({
    fetchJSON: fetchJSON,
    retryAfterSeconds: retryAfterSeconds,
    errorCode: errorCode,
    plural: plural,
    tooManyMessage: tooManyMessage,
    humanWait: humanWait,
    safeNext: safeNext,
    setBusy: setBusy
  });
})();
