// A script that never answers for hosts under loop.test (an endless loop),
// and answers at once for the others.
function FindProxyForURL(url, host) {
  if (dnsDomainIs(host, ".loop.test"))
    for (;;) {}
  return "PROXY after-loop:1";
}
