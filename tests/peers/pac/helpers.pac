// Exercises every PAC helper function (tests/unit/test_pac.c). The host of
// the URL names the check, "<check>.test"; the answer is "PROXY pass:1"
// when it holds, "PROXY fail:1" when not, "PROXY exception:1" when it
// threw. (A name that cannot resolve is written with spaces, which the
// resolver refuses before asking any server: no test query leaves the
// machine.) Values are compared here, so that no check depends on what the
// machine's clock or addresses are, only on the rules.
var days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
var months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

function check(name) {
  var now = new Date();
  switch (name) {
  case "isplainhostname":
    return isPlainHostName("www") && !isPlainHostName("www.example.com");
  case "dnsdomainis":
    return dnsDomainIs("www.example.com", ".example.com") &&
           !dnsDomainIs("www", ".example.com") &&
           !dnsDomainIs("www.example.org", ".example.com");
  case "localhostordomainis":
    return localHostOrDomainIs("www.example.com", "www.example.com") &&
           localHostOrDomainIs("www", "www.example.com") &&
           !localHostOrDomainIs("www.example.org", "www.example.com") &&
           !localHostOrDomainIs("home.example.com", "www.example.com");
  case "isresolvable":
    return isResolvable("localhost") && isResolvable("127.0.0.1") &&
           !isResolvable("no such host");
  case "isinnet":
    return isInNet("127.0.0.1", "127.0.0.0", "255.0.0.0") &&
           isInNet("localhost", "127.0.0.0", "255.255.255.0") &&
           !isInNet("10.1.2.3", "10.1.3.0", "255.255.255.0") &&
           isInNet("10.1.2.3", "10.1.3.0", "255.255.0.0") &&
           !isInNet("no such host", "0.0.0.0", "0.0.0.0") &&
           !isInNet("10.1.2.3", "not an address", "255.0.0.0");
  case "dnsresolve":
    return dnsResolve("localhost") === "127.0.0.1" && dnsResolve("10.9.8.7") === "10.9.8.7" &&
           dnsResolve("no such host") === null;
  case "myipaddress":
    return /^\d+\.\d+\.\d+\.\d+$/.test(myIpAddress());
  case "dnsdomainlevels":
    return dnsDomainLevels("www") === 0 && dnsDomainLevels("www.example.com") === 2;
  case "shexpmatch":
    return shExpMatch("www.example.com", "*.example.com") &&
           shExpMatch("www.example.com", "www.?xample.*") &&
           shExpMatch("abc", "*") && shExpMatch("", "*") &&
           !shExpMatch("www.example.com", "*.example.org") &&
           !shExpMatch("abc", "ab") && shExpMatch("a*c", "a*c") &&
           shExpMatch("aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*b") &&
           !shExpMatch("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "*a*a*a*a*a*a*a*a*b");
  case "weekdayrange":
    var today = days[now.getDay()], tomorrow = days[(now.getDay() + 1) % 7];
    var utoday = days[now.getUTCDay()];
    return weekdayRange("SUN", "SAT") && weekdayRange("MON", "SUN") &&
           (weekdayRange(today) || weekdayRange(tomorrow)) &&
           (weekdayRange(utoday, "GMT") || weekdayRange(days[(now.getUTCDay() + 1) % 7], "GMT")) &&
           !weekdayRange("XYZ") && !weekdayRange();
  case "daterange":
    var y = now.getFullYear(), m = now.getMonth();
    return dateRange(1, 31) && dateRange("JAN", "DEC") && dateRange(y) && !dateRange(y + 1) &&
           dateRange(y - 1, y + 1) && !dateRange(y + 1, y + 2) &&
           (dateRange(months[m]) || dateRange(months[(m + 1) % 12])) &&
           dateRange(1, "JAN", y - 1, 31, "DEC", y + 1) &&
           !dateRange(1, "JAN", y + 1, 31, "DEC", y + 2) &&
           dateRange("JAN", y - 1, "DEC", y + 1) &&
           dateRange(1, "JAN", 31, "DEC") && !dateRange("FOO") && !dateRange(1, 2, 3);
  case "timerange":
    var h = now.getHours();
    return timeRange(0, 24) && (timeRange(h) || timeRange((h + 1) % 24)) &&
           timeRange(0, 0, 0, 23, 59, 59) && timeRange(0, 0, 23, 59) &&
           (timeRange(h, (h + 1) % 24) || timeRange((h + 1) % 24, (h + 2) % 24)) &&
           !timeRange(-1) && !timeRange(1, 2, 3);
  case "isresolvableex":
    return isResolvableEx("localhost") && isResolvableEx("::1") &&
           !isResolvableEx("no such host");
  case "isinnetex":
    return isInNetEx("127.0.0.1", "127.0.0.0/8") && !isInNetEx("127.0.0.1", "10.0.0.0/8") &&
           isInNetEx("2001:db8::1", "2001:db8::/32") && !isInNetEx("2001:db9::1", "2001:db8::/32") &&
           isInNetEx("3ffe:8311:ffff::5", "3ffe:8311:ffff/48") &&
           !isInNetEx("127.0.0.1", "::/0") && !isInNetEx("127.0.0.1", "127.0.0.0/33") &&
           !isInNetEx("127.0.0.1", "127.0.0.0") && isInNetEx("localhost", "127.0.0.0/8");
  case "dnsresolveex":
    var all = dnsResolveEx("localhost").split(";");
    return all.indexOf("127.0.0.1") >= 0 && dnsResolveEx("no such host") === "" &&
           dnsResolveEx("::1") === "::1";
  case "myipaddressex":
    var list = myIpAddressEx();
    return typeof list === "string" && (list === "" || sortIpAddressList(list) !== "");
  case "sortipaddresslist":
    return sortIpAddressList("2001:4898:28:3:201:2ff:feea:fc14; 157.59.139.22; fe80::5efe:157.59.139.22") ===
             "fe80::5efe:157.59.139.22;2001:4898:28:3:201:2ff:feea:fc14;157.59.139.22" &&
           sortIpAddressList("10.0.0.2;10.0.0.1;9.255.255.255") === "9.255.255.255;10.0.0.1;10.0.0.2" &&
           sortIpAddressList("10.0.0.1;not-an-address") === "" && sortIpAddressList("") === "";
  case "getclientversion":
    return getClientVersion() === "1.0";
  case "alert":
    alert("logged nowhere");
    return true;
  }
  return false;
}

function FindProxyForURL(url, host) {
  var name = host.substring(0, host.indexOf("."));
  try {
    return check(name) ? "PROXY pass:1" : "PROXY fail:1";
  } catch (e) {
    return "PROXY exception:1";
  }
}
