/*
 * smtp.h - SMTP submission over libcurl.  One struct smtp keeps up to
 * [smtp] sessions sessions ("lanes") open across messages and sends one
 * message on each at a time, all at once.  Only smtp.c includes
 * <curl/curl.h>.
 */
#ifndef LEERNET_SMTP_H
#define LEERNET_SMTP_H

#include <stdatomic.h>
#include <stddef.h>

struct config;
struct smtp;

enum smtp_status {
	SMTP_SENT = 0,		/* 250 after DATA */
	SMTP_TEMPFAIL = 1,	/* 4xx, connection refused, timeout, ... */
	SMTP_PERMFAIL = 2	/* 5xx: do not retry */
};

struct smtp_result {
	enum smtp_status status;
	int		 code;		/* last SMTP reply code, 0 if none */
	char		 text[256];	/* one line for logs and the outbox */
	int		 config_fault;	/* ours to fix: login refused,
					 * certificate, no STARTTLS, secret */
	int		 about_message;	/* SMTP_PERMFAIL for the message (its
					 * size, its content), not for the
					 * recipient's address */
};
/*
 * code is the reply to this message's MAIL FROM, RCPT TO or DATA.  It is
 * 0 when the session failed before those (connect, TLS, EHLO, AUTH): the
 * server or our configuration is at fault, not the message, so the rest
 * of the outbox can wait.  Login refused and certificate failures are
 * SMTP_TEMPFAIL with a text that says what to fix.  A 5xx is
 * SMTP_PERMFAIL only at RCPT TO, DATA and after the data, and at MAIL
 * FROM only for 552 (too large); other MAIL FROM refusals concern our
 * sender address and are SMTP_TEMPFAIL, and so are RCPT TO refusals that
 * name this host, relaying, a blocklist, a missing login or our sender
 * (config_fault, with the code).
 */

/* Returns NULL with a reason in err (bad URL, no secret, ...). */
struct smtp	*smtp_new(const struct config *, char *err, size_t errlen);
/* Sends QUIT on every open session, after any message in flight. */
void		 smtp_free(struct smtp *);
/*
 * A flag that, once set (SIGTERM), gives a message in flight
 * SMTP_STOP_GRACE seconds more before it is broken off (it stays in the
 * outbox), and makes QUIT wait briefly: a server that stopped answering
 * must not hold a shutdown for minutes.  Set once, before any smtp_new.
 */
void		 smtp_watch_stop(atomic_int *flag);
/*
 * tick is called about once a second, on the caller's thread, while
 * smtp_wait waits for a server: the daemon feeds systemd's watchdog from
 * it, since draining a long outbox from a slow server takes minutes.
 */
void		 smtp_while_waiting(void (*tick)(void));

/*
 * The non-blocking interface, for the outbox.  Up to smtp_lanes()
 * messages are in flight at once, each on a session of its own.
 *
 * smtp_submit starts one message (CRLF line endings) from envelope
 * sender `from` ("" for the null sender) to one recipient.  A lane must
 * be free (fewer than smtp_lanes() submitted and not yet returned by
 * smtp_wait); anything else is a bug and fatal.  from and rcpt are
 * copied; data must stay valid until smtp_wait returns this tag, and is
 * not referred to after that.  Every submission is reported by
 * smtp_wait, also one refused at once (a bad envelope address).
 *
 * smtp_wait blocks until one submitted message is finished, then returns
 * 1 with its tag and result; 0 when nothing is in flight.
 */
int		 smtp_lanes(const struct smtp *);
void		 smtp_submit(struct smtp *, const char *from, const char *rcpt,
		    const char *data, size_t len, void *tag);
int		 smtp_wait(struct smtp *, void **tag, struct smtp_result *);

/*
 * Send one message and wait for it (smtp_submit + smtp_wait); only while
 * nothing else is in flight.
 */
void		 smtp_send(struct smtp *, const char *from, const char *rcpt,
		    const char *data, size_t len, struct smtp_result *);

/*
 * For check-config: connect, EHLO, STARTTLS with certificate verification
 * (unless tls = none), AUTH when a user is set, then NOOP.  SMTP_SENT
 * (code 250) proves all of that; nothing is sent.  The session stays open
 * for what follows.  Only while nothing else is in flight.
 */
void		 smtp_probe(struct smtp *, struct smtp_result *);

/* How many TCP connections this handle opened (for tests and bench). */
long		 smtp_connections(const struct smtp *);

/*
 * Without TLS, does the SMTP server offer AUTH after EHLO?  libcurl skips
 * the login when it does not, so a probe passes with a user and password
 * that are never used (check-config).  1 yes, 0 no, -1 cannot tell.
 */
int	 smtp_offers_auth(const char *host, unsigned port, const char *helo);

#endif
