/* The client certificates of tests/peers/gen-certs.sh, loaded the way a
 * ported Windows program loads them: PFXImportCertStore and
 * CertFindCertificateInStore (client1, client2), and OpenWinHTTP's PEM
 * import (intruder, from a CA the client-auth ports do not accept). */
#ifndef WH_CLIENT_CERTS_H
#define WH_CLIENT_CERTS_H

#include <stddef.h>

#include <wincrypt.h>

/* What nginx reports as $ssl_client_s_dn for each. */
#define WH_CLIENT1_DN "CN=client1,O=OpenWinHTTP Tests,C=US"
#define WH_CLIENT2_DN "CN=client2,O=OpenWinHTTP Tests,C=US"

struct wh_client_certs {
  HCERTSTORE stores[3];
  PCCERT_CONTEXT client1;  /* client.p12, password "p12-secret" */
  PCCERT_CONTEXT client2;  /* client2.p12, empty password */
  PCCERT_CONTEXT intruder; /* intruder.pem + intruder.key */
};

/* Reads the whole file at |dir|/|name| into malloc'd memory (free it);
 * NULL after printing why. */
void *wh_read_cert_file(const char *dir, const char *name, size_t *len);
/* Loads them from |certs_dir| (a peer's dir/certs); 0 or -1 after printing
 * why. */
int wh_client_certs_load(struct wh_client_certs *c, const char *certs_dir);
void wh_client_certs_free(struct wh_client_certs *c);

#endif
