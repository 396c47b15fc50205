/* The PAC helper functions written in JavaScript, run once in every PAC
 * helper's heap before the downloaded script (natives.c has the ones that
 * need the network stack). Semantics from Netscape's "Navigator Proxy
 * Auto-Config File Format" and Microsoft's IPv6 extensions; the code is
 * OpenWinHTTP's own. helpers/pac/CMakeLists.txt turns this file into a C
 * string. ES5 only (duktape). */

function isPlainHostName(host) {
  return String(host).indexOf('.') < 0;
}

function dnsDomainIs(host, domain) {
  host = String(host).toLowerCase();
  domain = String(domain).toLowerCase();
  return host.length >= domain.length &&
         host.substring(host.length - domain.length) === domain;
}

function localHostOrDomainIs(host, hostdom) {
  host = String(host).toLowerCase();
  hostdom = String(hostdom).toLowerCase();
  if (host === hostdom)
    return true;
  return host.indexOf('.') < 0 && hostdom.indexOf(host + '.') === 0;
}

function isResolvable(host) {
  return dnsResolve(host) !== null;
}

function isResolvableEx(host) {
  return dnsResolveEx(host) !== '';
}

function dnsDomainLevels(host) {
  return String(host).split('.').length - 1;
}

/* Shell expressions: '*' any run of characters, '?' one character, any
 * other character itself. Iterative, with one backtracking point, so that
 * no pattern costs more than (string length x pattern length) steps. */
function shExpMatch(str, shexp) {
  str = String(str);
  shexp = String(shexp);
  var s = 0, p = 0, star = -1, mark = 0;
  while (s < str.length) {
    var c = p < shexp.length ? shexp.charAt(p) : '';
    if (c === '*') {
      star = p++;
      mark = s;
    } else if (c !== '' && (c === '?' || c === str.charAt(s))) {
      s++;
      p++;
    } else if (star >= 0) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < shexp.length && shexp.charAt(p) === '*')
    p++;
  return p === shexp.length;
}

function getClientVersion() {
  return '1.0';
}

/* Scripts written for browsers call alert() to log; it does nothing here. */
function alert(message) {
}

/* --- time ---------------------------------------------------------------- */

var __pacDays = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
var __pacMonths = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN',
                   'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/* The arguments without a trailing "GMT", and whether it was there. */
function __pacArgs(args) {
  var list = Array.prototype.slice.call(args);
  var gmt = list.length > 0 && String(list[list.length - 1]).toUpperCase() === 'GMT';
  if (gmt)
    list.pop();
  return { list: list, gmt: gmt };
}

/* Whether lo <= v <= hi, wrapping around when lo > hi (FRI..MON). */
function __pacIn(v, lo, hi) {
  return lo <= hi ? (v >= lo && v <= hi) : (v >= lo || v <= hi);
}

function weekdayRange() {
  var a = __pacArgs(arguments);
  if (a.list.length < 1 || a.list.length > 2)
    return false;
  var d1 = __pacDays.indexOf(String(a.list[0]).toUpperCase());
  var d2 = a.list.length === 2 ? __pacDays.indexOf(String(a.list[1]).toUpperCase()) : d1;
  if (d1 < 0 || d2 < 0)
    return false;
  var now = new Date();
  return __pacIn(a.gmt ? now.getUTCDay() : now.getDay(), d1, d2);
}

/* A dateRange argument: a month name, a day (1-31) or a year (a number
 * above 31). */
function __pacDatePart(v) {
  var m = __pacMonths.indexOf(String(v).toUpperCase());
  if (m >= 0)
    return { kind: 'month', value: m };
  var n = Number(v);
  if (typeof v === 'string' && !/^\s*\d+\s*$/.test(v))
    return null;
  if (isNaN(n) || n !== Math.floor(n) || n < 1)
    return null;
  return n <= 31 ? { kind: 'day', value: n } : { kind: 'year', value: n };
}

function dateRange() {
  var a = __pacArgs(arguments);
  var n = a.list.length;
  if (n !== 1 && n !== 2 && n !== 4 && n !== 6)
    return false;
  var parts = [];
  for (var i = 0; i < n; i++) {
    var p = __pacDatePart(a.list[i]);
    if (!p)
      return false;
    parts.push(p);
  }
  var now = new Date();
  var today = {
    day: a.gmt ? now.getUTCDate() : now.getDate(),
    month: a.gmt ? now.getUTCMonth() : now.getMonth(),
    year: a.gmt ? now.getUTCFullYear() : now.getFullYear()
  };
  if (n === 1)
    return today[parts[0].kind] === parts[0].value;
  if (n === 2) {
    if (parts[0].kind !== parts[1].kind)
      return false;
    var k = parts[0].kind;
    if (k === 'year')
      return today.year >= parts[0].value && today.year <= parts[1].value;
    return __pacIn(today[k], parts[0].value, parts[1].value);
  }
  /* Two dates of the same shape: (day month), (month year) or
   * (day month year) each. */
  var half = n / 2;
  var shape = '';
  for (var j = 0; j < half; j++) {
    if (parts[j].kind !== parts[j + half].kind)
      return false;
    shape += parts[j].kind.charAt(0);
  }
  function key(ps, off) {
    var v = { day: 1, month: 0, year: 0 };
    for (var q = 0; q < half; q++)
      v[ps[off + q].kind] = ps[off + q].value;
    return v.year * 10000 + v.month * 100 + v.day;
  }
  var cur;
  if (shape === 'dm')
    cur = today.month * 100 + today.day;
  else if (shape === 'my')
    cur = today.year * 10000 + today.month * 100 + 1;
  else if (shape === 'dmy')
    cur = today.year * 10000 + today.month * 100 + today.day;
  else
    return false;
  var lo = key(parts, 0), hi = key(parts, half);
  if (shape === 'dm')
    return __pacIn(cur, lo, hi);
  return cur >= lo && cur <= hi;
}

function timeRange() {
  var a = __pacArgs(arguments);
  var n = a.list.length;
  var v = [];
  for (var i = 0; i < n; i++) {
    var x = Number(a.list[i]);
    if (isNaN(x) || x !== Math.floor(x) || x < 0)
      return false;
    v.push(x);
  }
  var now = new Date();
  var h = a.gmt ? now.getUTCHours() : now.getHours();
  var m = a.gmt ? now.getUTCMinutes() : now.getMinutes();
  var s = a.gmt ? now.getUTCSeconds() : now.getSeconds();
  if (n === 1)
    return h === v[0];
  if (n === 2) /* "timeRange(12, 13): from noon to 1pm" */
    return v[0] <= v[1] ? (h >= v[0] && h < v[1]) : (h >= v[0] || h < v[1]);
  var cur, lo, hi;
  if (n === 4) {
    cur = h * 60 + m;
    lo = v[0] * 60 + v[1];
    hi = v[2] * 60 + v[3];
  } else if (n === 6) {
    cur = (h * 60 + m) * 60 + s;
    lo = (v[0] * 60 + v[1]) * 60 + v[2];
    hi = (v[3] * 60 + v[4]) * 60 + v[5];
  } else {
    return false;
  }
  return __pacIn(cur, lo, hi);
}
