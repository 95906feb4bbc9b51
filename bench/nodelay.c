/*
 * nodelay.so: an LD_PRELOAD shim for the mlmmj reference in bench/run.
 *
 * mlmmj 1.3.0 writes a mail to its SMTP socket one line per write() and
 * never sets TCP_NODELAY.  With Nagle's algorithm on, the last small segment
 * of each mail waits for the ACK of the one before, which the receiver delays
 * (~40 ms on Linux); that stall, not mlmmj's own work, is most of the time
 * mlmmj takes per mail.  To measure what mlmmj itself costs, this shim sets
 * TCP_NODELAY on every TCP socket right after connect() succeeds and changes
 * nothing else.  Built by bench/run; never part of leernet.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* RTLD_NEXT, SO_DOMAIN */
#endif

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * glibc declares connect() with a transparent union for its address under
 * _GNU_SOURCE (which dlfcn.h's RTLD_NEXT needs); __CONST_SOCKADDR_ARG is
 * that type, so the definition below matches the declaration either way.
 */
typedef int (*connect_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);

int
connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	static connect_fn real;
	int domain, type, on = 1, saved, rc;
	socklen_t optlen;

	if (real == NULL) {
		real = (connect_fn)dlsym(RTLD_NEXT, "connect");
		if (real == NULL) {
			errno = ENOSYS;
			return -1;
		}
	}
	rc = real(fd, addr, len);
	/* A non-blocking connect() in progress is a TCP socket all the same. */
	if (rc == -1 && errno != EINPROGRESS)
		return rc;
	saved = errno;
	optlen = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &optlen) == 0 &&
	    (domain == AF_INET || domain == AF_INET6)) {
		optlen = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) == 0 &&
		    type == SOCK_STREAM)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
			    sizeof(on));
	}
	errno = saved;
	return rc;
}
