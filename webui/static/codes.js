// User codes for the device page: their shape, the number-matching choices,
// and what this browser remembers about them.
//
// Loaded with defer after common.js and before device.js; it defines one
// global, window.GatehouseCodes, and touches no DOM.
//
// Two memories, both for this browser only:
//   - marks (localStorage, an hour): a code typed or picked on the match
//     view is 'ok'; a link whose match failed is 'bad' until typed.
//   - the current code (sessionStorage, this tab): only a confirmed code is
//     kept, so an SSO refusal, a rate limit or a return without a cookie
//     can carry on without retyping it, and a code that only came in a
//     link can never be restored as if the person had typed it.
(function () {
  'use strict';

  var ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
  var LENGTH = 8;
  var MAX_INPUT = 64;
  var MARKS_KEY = 'gatehouse.device-codes';
  var CURRENT_KEY = 'gatehouse.device-code';
  var MARK_TTL_MS = 60 * 60 * 1000; // longer than any code lives

  // normalize keeps only the letters, upper-cased: "bcdf ghjk" and
  // "BCDF-GHJK" both become "BCDFGHJK".
  function normalize(raw) {
    return String(raw).slice(0, MAX_INPUT).replace(/[^A-Za-z]/g, '').toUpperCase();
  }

  function format(letters) {
    return letters.length > 4 ? letters.slice(0, 4) + '-' + letters.slice(4) : letters;
  }

  // problem explains what is wrong with a typed code before anything is
  // sent, or returns '' when it has the right shape.
  function problem(raw) {
    if (String(raw).length > MAX_INPUT) {
      return 'That is too long to be a code.';
    }
    var letters = normalize(raw);
    if (letters.length !== LENGTH) {
      return 'Enter the 8 letters shown in your terminal, like BCDF-GHJK.';
    }
    for (var i = 0; i < letters.length; i++) {
      if (ALPHABET.indexOf(letters.charAt(i)) < 0) {
        return 'Check the code: codes never contain the letters A, E, I, O, U or Y.';
      }
    }
    return '';
  }

  // ---- Marks ----

  var memoryMarks = {}; // used when localStorage is unavailable

  // readMarks returns the remembered codes, {CODE: {s: 'ok'|'bad', t: ms}},
  // without the ones old enough to have expired.
  function readMarks() {
    var marks = {};
    try {
      var parsed = JSON.parse(window.localStorage.getItem(MARKS_KEY) || '{}');
      var now = Date.now();
      Object.keys(parsed || {}).forEach(function (code) {
        var m = parsed[code];
        if (m && (m.s === 'ok' || m.s === 'bad') && typeof m.t === 'number' && now - m.t < MARK_TTL_MS) {
          marks[code] = m;
        }
      });
    } catch (e) {
      // Storage off or damaged: nothing is remembered.
    }
    return marks;
  }

  function markOf(code) {
    var m = readMarks()[code] || memoryMarks[code];
    return m ? m.s : '';
  }

  // mark remembers a code as confirmed ('ok': typed, or picked on the match
  // view) or as a link that failed the match ('bad'). A confirmed code also
  // becomes this tab's current code; a bad one stops being it.
  function mark(code, status) {
    var marks = readMarks();
    marks[code] = { s: status, t: Date.now() };
    memoryMarks[code] = marks[code];
    try {
      window.localStorage.setItem(MARKS_KEY, JSON.stringify(marks));
    } catch (e) {
      // Kept in memory only.
    }
    if (status === 'ok') {
      keep(code);
    } else if (current() === code) {
      forget();
    }
  }

  // ---- The current code ----

  var memoryCurrent = '';

  function keep(code) {
    memoryCurrent = code;
    try {
      window.sessionStorage.setItem(CURRENT_KEY, code);
    } catch (e) {
      // Kept in memory only.
    }
  }

  // current is this tab's confirmed code, or ''.
  function current() {
    var code = memoryCurrent;
    try {
      code = window.sessionStorage.getItem(CURRENT_KEY) || code;
    } catch (e) {
      // Memory only.
    }
    code = normalize(code || '');
    return problem(code) === '' && markOf(code) === 'ok' ? code : '';
  }

  function forget() {
    memoryCurrent = '';
    try {
      window.sessionStorage.removeItem(CURRENT_KEY);
    } catch (e) {
      // Nothing kept.
    }
  }

  // ---- Number matching ----

  // randomIndex is a uniform integer in [0, n) from the browser's CSPRNG.
  function randomIndex(n) {
    var buf = new Uint32Array(1);
    var limit = Math.floor(0x100000000 / n) * n;
    do {
      window.crypto.getRandomValues(buf);
    } while (buf[0] >= limit);
    return buf[0] % n;
  }

  // decoy is a random code of the same shape that differs from every code
  // in avoid.
  function decoy(avoid) {
    for (;;) {
      var letters = '';
      for (var i = 0; i < LENGTH; i++) {
        letters += ALPHABET.charAt(randomIndex(ALPHABET.length));
      }
      if (avoid.indexOf(letters) < 0) {
        return letters;
      }
    }
  }

  // choices is code and two decoys, shuffled.
  function choices(code) {
    var out = [code];
    out.push(decoy(out));
    out.push(decoy(out));
    for (var i = out.length - 1; i > 0; i--) {
      var j = randomIndex(i + 1);
      var tmp = out[i];
      out[i] = out[j];
      out[j] = tmp;
    }
    return out;
  }

  window.GatehouseCodes = Object.freeze({
    normalize: normalize,
    format: format,
    problem: problem,
    mark: mark,
    markOf: markOf,
    current: current,
    forget: forget,
    choices: choices
  });
})();
