/*
 * tlsverify.c - chain and host name verification with GnuTLS, for the TLS
 * sessions libetpan sets up without checking anything.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "log.h"
#include "tlsverify.h"
#include "util.h"

/* Real chains are 2-4 long; a hostile server may send hundreds. */
#define TLSVERIFY_MAX_CHAIN	16

/*
 * host as raw address bytes when it is an IP literal ("127.0.0.1", "::1",
 * "[::1]"): the length, else 0.
 */
static size_t
host_ip(const char *host, unsigned char ip[16])
{
	char tmp[64];
	size_t len = strlen(host);

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		if (len - 2 >= sizeof(tmp))
			return 0;
		memcpy(tmp, host + 1, len - 2);
		tmp[len - 2] = '\0';
		host = tmp;
	}
	if (inet_pton(AF_INET, host, ip) == 1)
		return 4;
	if (inet_pton(AF_INET6, host, ip) == 1)
		return 16;
	return 0;
}

/* The first problem that explains status, in the words an admin searches. */
static void
status_reason(unsigned status, char *err, size_t errlen)
{
	static const struct {
		unsigned	 bit;
		const char	*what;
	} reasons[] = {
		{ GNUTLS_CERT_SIGNER_NOT_FOUND,
		    "certificate not trusted: issuer unknown" },
		{ GNUTLS_CERT_SIGNER_NOT_CA,
		    "certificate not trusted: issuer is not a CA" },
		{ GNUTLS_CERT_REVOKED, "certificate not trusted: revoked" },
		{ GNUTLS_CERT_EXPIRED, "certificate not trusted: expired" },
		{ GNUTLS_CERT_NOT_ACTIVATED,
		    "certificate not trusted: not yet valid" },
		{ GNUTLS_CERT_INSECURE_ALGORITHM,
		    "certificate not trusted: insecure algorithm" },
		{ GNUTLS_CERT_UNEXPECTED_OWNER,
		    "certificate not trusted: name does not match" },
		{ GNUTLS_CERT_PURPOSE_MISMATCH,
		    "certificate not trusted: not issued for a TLS server" },
	};
	gnutls_datum_t out = { NULL, 0 };

	for (size_t i = 0; i < ARRAY_LEN(reasons); i++)
		if (status & reasons[i].bit) {
			snprintf(err, errlen, "%s", reasons[i].what);
			return;
		}
	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) == 0) {
		snprintf(err, errlen, "certificate not trusted: %s",
		    (const char *)out.data);
		gnutls_free(out.data);
	} else
		snprintf(err, errlen, "certificate not trusted (status %#x)",
		    status);
}

int
tlsverify_chain(const struct tls_cert *chain, size_t n, const char *host,
    const char *ca_file, char *err, size_t errlen)
{
	gnutls_x509_crt_t *crts;
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_typed_vdata_st vdata[2];
	unsigned char ip[16];
	size_t iplen, ncrt = 0;
	unsigned status = 0;
	int r, ret = -1;

	if (n == 0) {
		snprintf(err, errlen, "server sent no certificate");
		return -1;
	}
	if (n > TLSVERIFY_MAX_CHAIN) {
		snprintf(err, errlen, "certificate chain too long (%zu)", n);
		return -1;
	}
	crts = xcalloc(n, sizeof(*crts));
	for (; ncrt < n; ncrt++) {
		gnutls_datum_t d;

		if (chain[ncrt].len > UINT32_MAX) {
			snprintf(err, errlen, "certificate too large");
			goto out;
		}
		d.data = (unsigned char *)(uintptr_t)chain[ncrt].der;
		d.size = (unsigned)chain[ncrt].len;
		if ((r = gnutls_x509_crt_init(&crts[ncrt])) < 0)
			fatalx("gnutls_x509_crt_init: %s", gnutls_strerror(r));
		if ((r = gnutls_x509_crt_import(crts[ncrt], &d,
		    GNUTLS_X509_FMT_DER)) < 0) {
			gnutls_x509_crt_deinit(crts[ncrt]);
			snprintf(err, errlen, "unreadable certificate %zu: %s",
			    ncrt, gnutls_strerror(r));
			goto out;
		}
	}

	if ((r = gnutls_x509_trust_list_init(&tl, 0)) < 0)
		fatalx("gnutls_x509_trust_list_init: %s", gnutls_strerror(r));
	/* No system store is not fatal: ca_file may be all there is. */
	if ((r = gnutls_x509_trust_list_add_system_trust(tl, 0, 0)) < 0)
		log_debug("tls: no system trust store: %s",
		    gnutls_strerror(r));
	if (ca_file != NULL && *ca_file != '\0') {
		r = gnutls_x509_trust_list_add_trust_file(tl, ca_file, NULL,
		    GNUTLS_X509_FMT_PEM, 0, 0);
		if (r <= 0) {
			snprintf(err, errlen, "ca_file %s: %s", ca_file,
			    r < 0 ? gnutls_strerror(r) : "no certificates");
			goto out;
		}
	}

	if ((iplen = host_ip(host, ip)) != 0) {
		vdata[0].type = GNUTLS_DT_IP_ADDRESS;
		vdata[0].data = ip;
		vdata[0].size = (unsigned)iplen;
	} else {
		vdata[0].type = GNUTLS_DT_DNS_HOSTNAME;
		vdata[0].data = (unsigned char *)(uintptr_t)host;
		vdata[0].size = 0;
	}
	vdata[1].type = GNUTLS_DT_KEY_PURPOSE_OID;
	vdata[1].data = (unsigned char *)(uintptr_t)GNUTLS_KP_TLS_WWW_SERVER;
	vdata[1].size = 0;

	r = gnutls_x509_trust_list_verify_crt2(tl, crts, (unsigned)n, vdata,
	    ARRAY_LEN(vdata), 0, &status, NULL);
	if (r < 0) {
		snprintf(err, errlen, "certificate check failed: %s",
		    gnutls_strerror(r));
		goto out;
	}
	if (status != 0) {
		status_reason(status, err, errlen);
		goto out;
	}
	ret = 0;
 out:
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	for (size_t i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	free(crts);
	return ret;
}
