// Everything through the proxy peer at 127.0.0.1:@PORT@, with a direct
// connection as the fallback, except "localhost", which goes direct.
function FindProxyForURL(url, host) {
  if (host == "localhost")
    return "DIRECT";
  return "PROXY 127.0.0.1:@PORT@; DIRECT";
}
