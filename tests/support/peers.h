/* Real peers for the tests (ARCHITECTURE-NOTES §6), started by the test
 * process itself on loopback and stopped by it:
 *
 *  - the fault server, tests/peers/faultserver.py: one HTTP/1.1 server whose
 *    behaviour per request is chosen by the path, GET /<scenario>[?args]
 *    (the scenario table is at the top of that file);
 *  - the raw-frame WebSocket server, tests/peers/wsserver.py: RFC 6455
 *    frames written byte by byte, behaviour per connection chosen by the
 *    handshake's path (scenario table at its top), and GET /report?id= to
 *    ask what a client sent (close code, errors, pings, masking);
 *  - the reference WebSocket server, tests/peers/ws_echo_websockets.py: an
 *    echo server on python3-websockets, an independent implementation
 *    (echo, subprotocols, permessage-deflate, close handshake);
 *  - the scriptable HTTP/2 server, tests/peers/h2server.py (python3-h2):
 *    behaviour per request stream chosen by the :path (scenario table at
 *    its top), over TLS with ALPN "h2" (a client that selects "http/1.1"
 *    gets an HTTP/1.1 505);
 *  - nginx, configured from tests/peers/nginx.conf.in and
 *    tests/peers/nginx-locations.conf: static files, redirects, cookies,
 *    gzip, keep-alive, and with TLS one HTTPS port per test certificate,
 *    plus HTTPS ports that ask for a TLS client certificate (client_auth_port:
 *    required, optional, required with HTTP/2) issued by the client CA;
 *    GET /whoami there tells which certificate the connection presented;
 *  - the scriptable forward proxy, tests/peers/proxyserver.py: forwards
 *    absolute-form requests and tunnels CONNECT, or fails CONNECT on request
 *    (mode table at its top), and reports the request lines it received;
 *  - tinyproxy, a second and independent forward proxy, configured by the
 *    harness;
 *  - TLS material from tests/peers/gen-certs.sh: a throwaway CA and leaf
 *    certificates (good, expired, wrong host, self-signed, unknown CA), and
 *    client certificates (a client CA, two clients in PEM and PKCS#12, one
 *    from another CA);
 *  - for authentication (below, after wh_peer_start_tinyproxy): a throwaway
 *    MIT Kerberos realm (krb5kdc), apache2 with Negotiate (mod_auth_gssapi),
 *    NTLM (mod_auth_gssapi with gss-ntlmssp), Basic and Digest locations,
 *    and squid as a forward proxy that requires proxy credentials (Basic,
 *    and Negotiate when given the KDC).
 *
 * Readiness is an event, never a sleep: the Python peers print "READY
 * <port>" on a pipe after they listen; nginx, tinyproxy and apache2 write
 * their pid files after they have bound and are listening, which the
 * harness sees through inotify; krb5kdc prints "krb5kdc: starting..." on
 * its stderr (a pipe) once it listens and has opened its database; squid
 * logs "Accepting HTTP Socket connections" to its cache.log, which the
 * harness reads when inotify reports that the file changed (squid writes
 * its pid file before it listens, so that file proves nothing). peers.c
 * says why at each start function.
 *
 * Each peer lives in its own temporary directory (certificates, nginx's
 * configuration, logs and files), removed by wh_peer_stop(). The child gets
 * PR_SET_PDEATHSIG, so it dies with the thread that started it: start peers
 * from a thread that outlives their use (normally the main thread).
 *
 * The functions return 0 on success and -1 on failure after printing why
 * on stderr. A zeroed struct wh_peer may be passed to wh_peer_stop(). */
#ifndef WH_PEERS_H
#define WH_PEERS_H

#include <sys/types.h>

/* The certificates of gen-certs.sh; all but WH_CERT_WRONG_HOST name
 * localhost, 127.0.0.1 and ::1. */
enum wh_peer_cert {
  WH_CERT_GOOD,        /* signed by the test CA (wh_peer_ca_file) */
  WH_CERT_EXPIRED,     /* signed by the test CA, expired in 2020 */
  WH_CERT_WRONG_HOST,  /* signed by the test CA, for "wrong.example" only */
  WH_CERT_SELF_SIGNED, /* self-signed */
  WH_CERT_UNKNOWN_CA,  /* signed by a CA no test trusts */
  WH_CERT_COUNT
};

/* nginx's HTTPS ports that ask for a client certificate
 * (ssl_verify_client), with the good server certificate and the client CA
 * of gen-certs.sh (client-ca.pem) as the only one accepted. GET /whoami
 * answers 200 "verify=<$ssl_client_verify> dn=<$ssl_client_s_dn>\n" with
 * the subject in X-Client-DN as well. A certificate that does not verify
 * gets nginx's 400; no certificate on a REQUIRED port gets 400 too. */
enum wh_peer_client_auth {
  WH_CLIENT_AUTH_REQUIRED,    /* ssl_verify_client on */
  WH_CLIENT_AUTH_OPTIONAL,    /* ssl_verify_client optional */
  WH_CLIENT_AUTH_REQUIRED_H2, /* on, with HTTP/2 (ALPN h2) */
  WH_CLIENT_AUTH_COUNT
};

enum wh_peer_kind {
  WH_PEER_NONE,
  WH_PEER_FAULT,
  WH_PEER_NGINX,
  WH_PEER_WS,
  WH_PEER_WS_REF,
  WH_PEER_H2,
  WH_PEER_PROXY,
  WH_PEER_TINYPROXY,
  WH_PEER_KDC,
  WH_PEER_APACHE,
  WH_PEER_SQUID
};

/* The credentials an authentication peer accepts, one set per scheme (see
 * wh_peer_user). */
enum wh_peer_auth {
  WH_AUTH_KERBEROS, /* the KDC's user principal: alice in WINHTTP.TEST */
  WH_AUTH_NTLM,     /* apache's /ntlm/: bob in domain WINHTTP */
  WH_AUTH_BASIC,    /* apache's /basic/ (carol); squid's proxy user (erin) */
  WH_AUTH_DIGEST,   /* apache's /digest/: dave, realm "winhttp-digest" */
  WH_AUTH_COUNT
};

struct wh_peer_cred {
  char domain[32];   /* Kerberos realm, NTLM domain, Basic or Digest realm */
  char user[32];
  char password[40]; /* random, letters and digits only */
};

struct wh_peer {
  enum wh_peer_kind kind;
  pid_t pid;
  int fd;                 /* read end: the child's stdout (Python peers) or a pipe
                             whose write end only the child holds (nginx) */
  int tls;                /* the main port speaks TLS */
  int ipv6;               /* also listening on [::1] at the main port */
  unsigned short port;    /* the main port (see wh_peer_port) */
  unsigned short http_port;                   /* nginx: plain HTTP */
  unsigned short cert_port[WH_CERT_COUNT];    /* nginx with TLS: HTTPS */
  unsigned short h2_port; /* nginx with TLS: HTTPS with HTTP/2 (ALPN h2),
                             good certificate */
  unsigned short client_auth_port[WH_CLIENT_AUTH_COUNT]; /* nginx with TLS */
  char dir[256];          /* the temporary directory */
  char ca_file[300];      /* dir/certs/ca.pem when certificates were made */
  /* Authentication peers (empty strings elsewhere). */
  struct wh_peer_cred cred[WH_AUTH_COUNT];
  char krb5_conf[300];    /* KDC: the realm's krb5.conf */
  char keytab[300];       /* KDC: HTTP/localhost's keys */
  char ccache[310];       /* KDC: "FILE:" and the user's credential cache */
  char ntlm_users[300];   /* apache: its NTLM_USER_FILE */
  char service[32];       /* squid: its service name (-n), which names the
                             shared memory segments it makes in /dev/shm */
};

/* The fault server on 127.0.0.1 (and [::1] on the same port when it can;
 * see ipv6), plain HTTP. */
int wh_peer_start_fault(struct wh_peer *p);
/* The fault server speaking TLS with one of the test certificates. */
int wh_peer_start_fault_tls(struct wh_peer *p, enum wh_peer_cert cert);
/* The raw-frame WebSocket server (wsserver.py) on 127.0.0.1 (and [::1] on
 * the same port when it can), ws://; with TLS, wss:// with one of the test
 * certificates. */
int wh_peer_start_ws(struct wh_peer *p);
int wh_peer_start_ws_tls(struct wh_peer *p, enum wh_peer_cert cert);
/* The reference WebSocket echo server on python3-websockets
 * (ws_echo_websockets.py), likewise; fails (saying why on stderr) when
 * python3-websockets is missing. */
int wh_peer_start_ws_ref(struct wh_peer *p);
int wh_peer_start_ws_ref_tls(struct wh_peer *p, enum wh_peer_cert cert);
/* The HTTP/2 server (h2server.py) on 127.0.0.1 (and [::1] on the same port
 * when it can), TLS with the good certificate (signed by the test CA of this
 * peer's own directory, wh_peer_ca_file), ALPN "h2" and "http/1.1".
 * |extra_args| (NULL, or options separated by single spaces, no quoting) are
 * passed on: "--max-streams 2", "--no-settings". Fails (saying why on
 * stderr) when python3-h2 is missing. */
int wh_peer_start_h2(struct wh_peer *p, const char *extra_args);
/* nginx on 127.0.0.1. Always serves plain HTTP on http_port; with |tls| also
 * HTTPS on cert_port[each certificate] and h2_port, and the main port is
 * cert_port[WH_CERT_GOOD]; without, the main port is http_port. */
int wh_peer_start_nginx(struct wh_peer *p, int tls);
/* The forward proxy (proxyserver.py) on 127.0.0.1 (and [::1] on the same
 * port when it can), plain HTTP. |extra_args| (NULL, or options separated by
 * single spaces, no quoting) choose how it answers CONNECT:
 * "--connect-answer 407", "--connect-garbage", "--connect-close",
 * "--connect-stall"; by default it tunnels. */
int wh_peer_start_proxy(struct wh_peer *p, const char *extra_args);
/* tinyproxy (WH_TINYPROXY, else /usr/sbin/tinyproxy, /usr/bin/tinyproxy or
 * PATH) in the foreground on 127.0.0.1, with a configuration written to its
 * own temporary directory: it accepts clients from 127.0.0.1 only, allows
 * CONNECT to every port, adds no Via header and logs to dir/tinyproxy.log.
 * The harness picks the port (see pick_port in peers.c) and retries with
 * another one if tinyproxy exits before it is ready. */
int wh_peer_start_tinyproxy(struct wh_peer *p);

/* --- authentication peers ----------------------------------------------------
 *
 * None of them touches anything outside its temporary directory: no system
 * krb5.conf, keytab or replay cache, no /etc edit. The one exception is
 * squid's shared memory segments in /dev/shm (it makes them even with one
 * worker), named after a service name unique to the peer and removed by
 * wh_peer_stop() if squid left any. apache2 and squid refuse to serve as
 * root: when the tests run as root, the harness starts them as www-data and
 * proxy (else nobody) and hands their temporary directories to that user
 * (TMPDIR's parents must let it through, as /tmp does). The harness
 * switches users itself, before exec, because a process whose credentials
 * change loses its parent-death signal: had apache2 or squid switched, they
 * would outlive a killed test. A missing binary is a failure, never a skip:
 * scripts/install-deps installs them all.
 *
 * A throwaway MIT Kerberos realm, WINHTTP.TEST: krb5kdc (WH_KRB5KDC, else
 * /usr/sbin/krb5kdc or PATH) in the foreground on 127.0.0.1, TCP only, on a
 * port the harness picks. Its database, stash, ACL, log and configuration
 * are in its directory, made with kdb5_util and kadmin.local. Principals:
 * the user alice@WINHTTP.TEST (wh_peer_user/wh_peer_password with
 * WH_AUTH_KERBEROS, random password) and the service HTTP/localhost, whose
 * keys are in wh_peer_keytab. wh_peer_krb5_conf is a client configuration
 * with no DNS (no KDC or realm lookup, no reverse or forward
 * canonicalisation of host names), the KDC at 127.0.0.1:<port> over TCP,
 * and localhost mapped to the realm: a test sets KRB5_CONFIG to it and
 * KRB5CCNAME to wh_peer_ccache, then calls wh_peer_kdc_kinit. */
int wh_peer_start_kdc(struct wh_peer *p);
/* kinit as the realm's user, its password given on kinit's standard input,
 * into wh_peer_ccache(kdc). */
int wh_peer_kdc_kinit(const struct wh_peer *kdc);
/* The KDC's client krb5.conf, realm ("WINHTTP.TEST"), HTTP/localhost
 * keytab and credential cache ("FILE:<dir>/ccache"); NULL for other
 * peers. */
const char *wh_peer_krb5_conf(const struct wh_peer *kdc);
const char *wh_peer_realm(const struct wh_peer *kdc);
const char *wh_peer_keytab(const struct wh_peer *kdc);
const char *wh_peer_ccache(const struct wh_peer *kdc);

/* apache2 (WH_APACHE2, else /usr/sbin/apache2 or PATH) in the foreground,
 * one process (-X), on 127.0.0.1 at a port the harness picks
 * (wh_peer_port), HTTP/1.1 with keep-alive (connection-based schemes need
 * it), configured and logging in its own directory, modules loaded by
 * absolute path from /usr/lib/apache2/modules. Locations, each serving
 * index.txt, "OpenWinHTTP <location> ok\n" (GET /<location>/index.txt):
 *
 *   /            no authentication (index.txt: "OpenWinHTTP public ok\n")
 *   /negotiate/  only with |kdc|: mod_auth_gssapi, "WWW-Authenticate:
 *                Negotiate", Kerberos only (GssapiAllowedMech krb5) with a
 *                copy of the KDC's HTTP/localhost keytab; no Basic fallback.
 *                The only service principal is HTTP/localhost: a client
 *                must name the host localhost, not 127.0.0.1
 *   /ntlm/       mod_auth_gssapi with gss-ntlmssp (GssapiAllowedMech
 *                ntlmssp, GssapiConnectionBound On: the context lives on the
 *                connection, which stays authenticated afterwards): offers
 *                "Negotiate" and "NTLM"; accepts raw NTLM ("Authorization:
 *                NTLM") and NTLM inside SPNEGO ("Negotiate"); users from
 *                wh_peer_ntlm_user_file (bob in WINHTTP, WH_AUTH_NTLM).
 *                NetBIOS domain WINHTTP, computer WHTEST. Beware: gss-ntlmssp
 *                1.2 refuses a NEGOTIATE_MESSAGE shorter than 40 bytes (one
 *                without the Version field, which MS-NLMP makes optional),
 *                and that is what curl --ntlm sends: such a client gets 401
 *                on every round. Windows, and gss-ntlmssp's own initiator,
 *                send the Version field
 *   /basic/      mod_auth_basic, realm "winhttp-basic", carol (WH_AUTH_BASIC)
 *   /digest/     mod_auth_digest (algorithm MD5 only, which is all that
 *                module has; qop=auth), realm "winhttp-digest", dave
 *                (WH_AUTH_DIGEST)
 *
 * Every authenticated 2xx answer carries "X-Remote-User: <user>"
 * (alice@WINHTTP.TEST, WINHTTP\bob, carol, dave) and "X-Auth-Type:
 * <scheme>" (the scheme of the Authorization header the server accepted:
 * Negotiate, NTLM, Basic, Digest) so a test can tell who was authenticated
 * and how. |kdc| may be NULL: then there is no /negotiate/ (404). */
int wh_peer_start_apache(struct wh_peer *p, const struct wh_peer *kdc);
/* apache's NTLM user file, lines DOMAIN:user:password; a client using
 * gss-ntlmssp may point its own NTLM_USER_FILE at it. */
const char *wh_peer_ntlm_user_file(const struct wh_peer *p);

/* squid (WH_SQUID, else /usr/sbin/squid or PATH) in the foreground (-N) as
 * a forward proxy on 127.0.0.1 at a port the harness picks (wh_peer_port):
 * clients from the loopback only; every request needs Basic proxy
 * credentials (407 with "Proxy-Authenticate: Basic realm="winhttp-proxy""
 * otherwise; user erin, WH_AUTH_BASIC), checked by squid's basic_ncsa_auth
 * against a file in its directory; then it forwards http:// and tunnels
 * CONNECT to any port, but only to loopback destinations (403 for others:
 * no test leaves the machine). No cache, no DNS server but 127.0.0.1, logs
 * (cache.log, access.log) in its directory. Every answer squid forwards
 * carries "X-Proxy-User: <user>" (erin, alice@WINHTTP.TEST), the user squid
 * authenticated ("-" on its own 407); not its 200 to CONNECT (squid adds
 * nothing there).
 * With |kdc| (else NULL) it also takes Negotiate (Kerberos, squid's
 * negotiate_kerberos_auth with a copy of the KDC's HTTP/localhost keytab),
 * offered first: "Proxy-Authenticate: Negotiate" then Basic; the client
 * must name the proxy localhost, as for apache2's /negotiate/. */
int wh_peer_start_squid(struct wh_peer *p, const struct wh_peer *kdc);

/* The user name, password and domain (realm) for |scheme| on an
 * authentication peer; NULL when the peer has none for it. */
const char *wh_peer_user(const struct wh_peer *p, enum wh_peer_auth scheme);
const char *wh_peer_password(const struct wh_peer *p, enum wh_peer_auth scheme);
const char *wh_peer_auth_domain(const struct wh_peer *p, enum wh_peer_auth scheme);

/* The main port: a Python peer's, or nginx's HTTP or good-HTTPS port. */
unsigned short wh_peer_port(const struct wh_peer *p);
/* nginx's HTTPS port serving |cert| (0 without TLS); for a TLS Python peer,
 * its port when |cert| is the one it serves. */
unsigned short wh_peer_cert_port(const struct wh_peer *p, enum wh_peer_cert cert);
/* nginx's port asking for client certificates in |mode| (0 without TLS). */
unsigned short wh_peer_client_auth_port(const struct wh_peer *p, enum wh_peer_client_auth mode);
/* The test CA's certificate (PEM), or NULL when no certificates were made. */
const char *wh_peer_ca_file(const struct wh_peer *p);
/* The peer's temporary directory. */
const char *wh_peer_dir(const struct wh_peer *p);
/* A blocking TCP socket connected to 127.0.0.1 (or ::1 with |ipv6|) at
 * |port|, or -1. Receives time out after 10 s so a broken test cannot
 * hang. */
int wh_peer_connect_port(unsigned short port, int ipv6);
/* wh_peer_connect_port(wh_peer_port(p), 0). */
int wh_peer_connect(const struct wh_peer *p);

/* Asks a WebSocket peer (either kind) GET /report?|query| on a new
 * connection (TLS, unverified, when the peer speaks it), for example
 * query "id=t1&wait=close". Copies the body, NUL-terminated, to |buf| and
 * returns its length; -1 (after printing why) on failure. The body's format
 * is at the top of wsserver.py and ws_echo_websockets.py; its first line is
 * the close frame the client sent: "code=1000 reason=bye", "code=empty" or
 * "none". The peer answers once what |query| waits for has happened (by
 * default: the connection is over), or after ms= (10 s) with "timeout=1". */
int wh_peer_ws_report(const struct wh_peer *p, const char *query, char *buf, size_t cap);

/* Asks the proxy peer (proxyserver.py) for its report, "GET
 * http://proxy.report/ HTTP/1.1" on a new plain connection: one line per
 * request received, "conn=<n> <request line> host=<Host>" (format at the top
 * of proxyserver.py). Copies the body, NUL-terminated, to |buf| and returns
 * its length; -1 (after printing why) on failure or when it does not fit. */
int wh_peer_proxy_report(const struct wh_peer *p, char *buf, size_t cap);
/* The same, answered once a recorded line contains |text| (any text of a
 * few hundred bytes; sent percent-encoded), or after 8 s, when the body ends
 * with "timeout=1" (and the function still succeeds). */
int wh_peer_proxy_report_wait(const struct wh_peer *p, const char *text, char *buf, size_t cap);

/* Kills the child (SIGTERM, then SIGKILL if it has not exited within two
 * seconds), reaps it and removes its temporary directory. Idempotent. */
void wh_peer_stop(struct wh_peer *p);

/* Generates the certificates of gen-certs.sh into |dir| (for tests that
 * need the files without a peer). */
int wh_peer_gen_certs(const char *dir);

#endif
