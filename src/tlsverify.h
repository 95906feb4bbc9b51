/*
 * tlsverify.h - check a TLS server's certificate ourselves.  libetpan's
 * GnuTLS build verifies nothing (LIBRARIES.md §1), so the source layer
 * hands the peer's chain to this after the handshake and before LOGIN.
 */
#ifndef LEERNET_TLSVERIFY_H
#define LEERNET_TLSVERIFY_H

#include <stddef.h>

struct tls_cert {
	const void	*der;
	size_t		 len;
};

/*
 * Is chain (DER, the server's own certificate first) issued by a CA in the
 * system trust store or in ca_file (PEM; NULL for none), valid now, fit for
 * a TLS server, and issued to host (a DNS name, or an IPv4/IPv6 literal,
 * which is matched against the IP addresses of the certificate)?
 * Returns 0, or -1 with one phrase in err, for example
 * "certificate not trusted: issuer unknown" or
 * "certificate not trusted: name does not match".
 */
int	tlsverify_chain(const struct tls_cert *chain, size_t n,
	    const char *host, const char *ca_file, char *err, size_t errlen);

#endif
