// Microsoft: FindProxyForURLEx replaces FindProxyForURL when both exist.
function FindProxyForURL(url, host) {
  return "PROXY legacy:1";
}
function FindProxyForURLEx(url, host) {
  return "PROXY ex:" + (url.indexOf("/path?q") >= 0 ? "2" : "3") + "; DIRECT";
}
