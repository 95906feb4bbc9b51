/*
 * imap.c - the IMAP backend of the source layer, on libetpan 1.9.4.
 *
 * libetpan leaves several things to us (LIBRARIES.md §1-6, §9): it verifies
 * no certificate and sends no SNI, its capability cache goes stale after
 * STARTTLS, and its mailimap_idle() hangs when an untagged line comes
 * before "+ idling".  Each is handled here, where the library is used.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <libetpan/libetpan.h>

#include "config.h"
#include "imap.h"
#include "log.h"
#include "source.h"
#include "tlsverify.h"
#include "util.h"

/*
 * Exported by libetpan 1.9.4 but declared in no installed header; our IDLE
 * start needs them (upstream's fix, 1f52a62, does the same inside).
 */
int	mailimap_token_send(mailstream *, const char *);
int	mailimap_crlf_send(mailstream *);
int	mailimap_continue_req_parse(mailstream *, MMAPString *,
	    struct mailimap_parser_context *, size_t *,
	    struct mailimap_continue_req **, size_t, progress_function *);
int	mailimap_response_data_parse(mailstream *, MMAPString *,
	    struct mailimap_parser_context *, size_t *,
	    struct mailimap_response_data **, size_t, progress_function *);

#define IMAP_TIMEOUT		30	/* s, connect, handshake, each read */
#define IMAP_LOGOUT_TIMEOUT	5	/* s, a polite LOGOUT is not worth more */
#define IMAP_IDLE_MAX_MS	(20 * 60 * 1000)	/* under the 29 min of
							 * RFC 2177 and NATs */
#define IMAP_SET_MAX_RANGES	500	/* per command: far below the 8-64 KB
					 * line limits of servers */
#define IMAP_IDLE_MAX_LINES	100000	/* untagged lines before "+" */
#define IMAP_BATCH_BYTES	(64u * 1024 * 1024)	/* bodies held at once */
#define KEYWORD_HUMAN		"leernet-human"

enum imap_state {
	IMAP_S_CLOSED,
	IMAP_S_CONNECTING,
	IMAP_S_STARTTLS,
	IMAP_S_VERIFYING,
	IMAP_S_AUTHENTICATING,
	IMAP_S_FOLDERS,
	IMAP_S_SELECTING,
	IMAP_S_SELECTED,
	IMAP_S_IDLE,
	IMAP_S_LOST
};

static const char *const imap_state_name[] = {
	[IMAP_S_CLOSED] = "closed",
	[IMAP_S_CONNECTING] = "connecting",
	[IMAP_S_STARTTLS] = "starttls",
	[IMAP_S_VERIFYING] = "verifying",
	[IMAP_S_AUTHENTICATING] = "authenticating",
	[IMAP_S_FOLDERS] = "folders",
	[IMAP_S_SELECTING] = "selecting",
	[IMAP_S_SELECTED] = "selected",
	[IMAP_S_IDLE] = "idle",
	[IMAP_S_LOST] = "lost",
};

static const char *const etpan_error_name[] = {
	[MAILIMAP_NO_ERROR] = "ok",
	[MAILIMAP_ERROR_BAD_STATE] = "command in the wrong state",
	[MAILIMAP_ERROR_STREAM] = "connection lost or timed out",
	[MAILIMAP_ERROR_PARSE] = "unparsable server response",
	[MAILIMAP_ERROR_CONNECTION_REFUSED] = "connection refused",
	[MAILIMAP_ERROR_MEMORY] = "out of memory",
	[MAILIMAP_ERROR_FATAL] = "server closed the session (BYE)",
	[MAILIMAP_ERROR_PROTOCOL] = "protocol error",
	[MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION] = "server refused the session",
	[MAILIMAP_ERROR_SSL] = "TLS handshake failed",
	[MAILIMAP_ERROR_EXTENSION] = "command refused",
};

struct imap_source {
	mailimap	*im;
	enum imap_state	 state;
	char		*host;
	unsigned	 port;
	char		*where;		/* "imap host:port": starts every line */
	char		*name;		/* "imaps://host:port/INBOX" */
	char		*inbox;		/* mailbox names as the server has them */
	char		*done_box;
	char		*failed_box;
	char		 sep;		/* hierarchy separator, 0 if flat */
	uint32_t	 uidvalidity;
	int		 can_move;
	int		 can_uidplus;
	int		 use_idle;
	int		 keywords_ok;	/* leernet-human can be stored */
	int		 pending;	/* fetch again before waiting */
	int		 poll_ms;	/* poll_interval without IDLE */
	int64_t		 last_check;	/* ms, monotonic: last UID SEARCH */
	uint32_t	*skip;		/* human UIDs, when keywords_ok is 0 */
	size_t		 nskip;
};

static void
imap_state_set(struct imap_source *s, enum imap_state st)
{
	if (s->state != st)
		log_debug("%s: %s -> %s", s->where, imap_state_name[s->state],
		    imap_state_name[st]);
	s->state = st;
}

/* libetpan results that leave the session unusable. */
static int
conn_error(int r)
{
	switch (r) {
	case MAILIMAP_ERROR_BAD_STATE:
	case MAILIMAP_ERROR_STREAM:
	case MAILIMAP_ERROR_PARSE:
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
	case MAILIMAP_ERROR_MEMORY:
	case MAILIMAP_ERROR_FATAL:
	case MAILIMAP_ERROR_PROTOCOL:
	case MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION:
	case MAILIMAP_ERROR_SSL:
		return 1;
	default:
		return 0;
	}
}

/*
 * The text of an untagged BYE among the last lines libetpan read, or
 * NULL: "BYE Server shutting down.".
 */
static const char *
bye_text(const struct imap_source *s)
{
	const MMAPString *b = s->im ? s->im->imap_stream_buffer : NULL;
	const char *p;

	if (b == NULL || b->str == NULL || b->len == 0)
		return NULL;
	for (p = b->str; p != NULL && p < b->str + b->len; ) {
		if (strncasecmp(p, "* BYE", 5) == 0)
			return p + 2;
		if ((p = memchr(p, '\n', (size_t)(b->str + b->len - p))))
			p++;
	}
	return NULL;
}

/*
 * Why command result r failed, for one log line: the server's own words
 * for a NO/BAD (control characters replaced: they are the server's), else
 * what libetpan saw.
 */
static void
describe(const struct imap_source *s, int r, char *buf, size_t len)
{
	const char *text = s->im ? s->im->imap_response : NULL;
	const char *bye = conn_error(r) ? bye_text(s) : NULL;
	size_t i = 0;

	if (bye != NULL) {
		/* Dovecot's "* BYE Server shutting down." reads as a lost
		 * connection (or a parse error) to libetpan. */
		snprintf(buf, len, "the server ended the session: ");
		i = strlen(buf);
		for (; *bye != '\0' && *bye != '\r' && *bye != '\n' &&
		    i + 1 < len && i < 200; bye++, i++)
			buf[i] = ((unsigned char)*bye < 0x20 ||
			    *bye == 0x7f) ? '?' : *bye;
		buf[i] = '\0';
	} else if (!conn_error(r) && text != NULL && *text != '\0') {
		for (; text[i] != '\0' && i + 1 < len && i < 200; i++)
			buf[i] = ((unsigned char)text[i] < 0x20 ||
			    text[i] == 0x7f) ? '?' : text[i];
		buf[i] = '\0';
	} else if (r >= 0 && (size_t)r < ARRAY_LEN(etpan_error_name) &&
	    etpan_error_name[r] != NULL)
		snprintf(buf, len, "%s", etpan_error_name[r]);
	else
		snprintf(buf, len, "command failed (libetpan error %d)", r);
}

/* The session is gone: close the socket now, without LOGOUT. */
static void
lose(struct imap_source *s)
{
	imap_state_set(s, IMAP_S_LOST);
	if (s->im != NULL && s->im->imap_stream != NULL) {
		mailstream_close(s->im->imap_stream);
		s->im->imap_stream = NULL;
	}
}

/*
 * After open, an error is handled here: log it once, give up the session
 * when it cannot be used any more, and return -1 for the caller.
 */
static int
op_fail_why(struct imap_source *s, int r, const char *what, const char *why)
{
	log_warnx("%s: %s: %s", s->where, what, why);
	if (conn_error(r))
		lose(s);
	return -1;
}

static int
op_fail(struct imap_source *s, int r, const char *what)
{
	char why[256];

	describe(s, r, why, sizeof(why));
	return op_fail_why(s, r, what, why);
}

static int
host_is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* Called by libetpan before the TLS handshake. */
static void
tls_setup(struct mailstream_ssl_context *ctx, void *arg)
{
	char *host = arg;	/* s->host; libetpan copies it */

	/* SNI carries DNS names only (RFC 6066 §3). */
	if (!host_is_ip(host) && mailstream_ssl_set_server_name(ctx,
	    host) != 0)
		log_debug("tls: cannot set SNI %s", host);
}

static void
keepalive(struct imap_source *s)
{
	int fd = mailstream_low_get_fd(mailstream_get_low(s->im->imap_stream));
	int on = 1, idle = 120, intvl = 30, cnt = 4;

	/* A dead peer behind a NAT otherwise stays silent through IDLE. */
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ==
	    -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl))
	    == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) == -1)
		log_debug("%s: no TCP keepalive: %s", s->where,
		    strerror(errno));
}

static int
refresh_caps(struct imap_source *s)
{
	struct mailimap_capability_data *cap = NULL;
	int r;

	if ((r = mailimap_capability(s->im, &cap)) == MAILIMAP_NO_ERROR)
		mailimap_capability_data_free(cap);
	return r;
}

static int
verify_peer(struct imap_source *s, const struct server_conf *mb,
    char *err, size_t errlen)
{
	struct tls_cert *certs;
	carray *chain;
	char why[256];
	size_t n;
	int r;

	imap_state_set(s, IMAP_S_VERIFYING);
	if (mb->tls == TLS_NONE) {
		/* Only reachable for loopback hosts, see imap_open(). */
		log_debug("%s: tls = none: certificate not checked", s->where);
		return 0;
	}
	chain = mailstream_get_certificate_chain(s->im->imap_stream);
	n = chain ? carray_count(chain) : 0;
	certs = xcalloc(n ? n : 1, sizeof(*certs));
	for (size_t i = 0; i < n; i++) {
		MMAPString *der = carray_get(chain, (unsigned)i);

		certs[i].der = der->str;
		certs[i].len = der->len;
	}
	r = tlsverify_chain(certs, n, s->host, mb->ca_file, why, sizeof(why));
	free(certs);
	if (chain != NULL)
		mailstream_certificate_chain_free(chain);
	if (r == -1) {
		snprintf(err, errlen, "%s: %s (fix the server certificate or "
		    "[mailbox] ca_file)", s->where, why);
		/* Not a word more to a server we cannot trust, not even
		 * LOGOUT: it would only wait for the answer of an impostor. */
		lose(s);
		return -1;
	}
	log_debug("%s: certificate ok for %s", s->where, s->host);
	return 0;
}

/*
 * libetpan says "connection refused" for a name that does not resolve too
 * (and leaves errno meaningless): tell the two apart for the admin.
 */
static void
connect_failure(const char *host, char *why, size_t len)
{
	struct addrinfo hints, *res = NULL;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, NULL, &hints, &res)) != 0)
		snprintf(why, len, "cannot resolve %s: %s", host,
		    gai_strerror(r));
	else
		snprintf(why, len, "connection refused or host unreachable");
	if (res != NULL)
		freeaddrinfo(res);
}

/* Exchange Online: outlook.office365.com and its relatives. */
static int
microsoft_host(const char *host)
{
	static const char *const sfx[] = { "office365.com", "outlook.com",
	    "office.com" };
	size_t n = strlen(host);

	for (size_t i = 0; i < ARRAY_LEN(sfx); i++) {
		size_t m = strlen(sfx[i]);

		if (n >= m && strcasecmp(host + n - m, sfx[i]) == 0 &&
		    (n == m || host[n - m - 1] == '.'))
			return 1;
	}
	return 0;
}

static int
connect_server(struct imap_source *s, const struct server_conf *mb,
    int *temporary, char *err, size_t errlen)
{
	int implicit = strcmp(mb->scheme, "imaps") == 0;
	char why[256];
	int r, preauth;

	if ((s->im = mailimap_new(0, NULL)) == NULL)
		fatalx("mailimap_new: out of memory");
	/* Read only at connect and STARTTLS (LIBRARIES.md §1): set it now. */
	mailimap_set_timeout(s->im, IMAP_TIMEOUT);

	imap_state_set(s, IMAP_S_CONNECTING);
	if (implicit)
		r = mailimap_ssl_connect_with_callback(s->im, s->host,
		    (uint16_t)s->port, tls_setup, s->host);
	else
		r = mailimap_socket_connect(s->im, s->host, (uint16_t)s->port);
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_AUTHENTICATED) {
		*temporary = 1;
		if (r == MAILIMAP_ERROR_CONNECTION_REFUSED)
			connect_failure(s->host, why, sizeof(why));
		else
			describe(s, r, why, sizeof(why));
		/* Another protocol, or TLS where there is none: the URL is
		 * likely wrong, not the server away. */
		/* imap:// to a port that waits for a TLS hello (993):
		 * neither side speaks, and the greeting times out. */
		snprintf(err, errlen, "%s: cannot connect: %s%s", s->where, why,
		    r == MAILIMAP_ERROR_SSL ? " (imaps:// needs a port that "
		    "speaks TLS from the start, usually 993; port 143 is "
		    "imap:// with tls = required)" : r == MAILIMAP_ERROR_PARSE ?
		    " (is this an IMAP port? imaps:// is usually 993, "
		    "imap:// 143)" : r == MAILIMAP_ERROR_STREAM && !implicit && s->port != 143 ?
		    " (no IMAP greeting: a port that speaks TLS from the "
		    "start, usually 993, needs imaps://; imap:// is usually "
		    "143)" : "");
		return -1;
	}
	preauth = r == MAILIMAP_NO_ERROR_AUTHENTICATED;
	keepalive(s);

	if (implicit)
		return verify_peer(s, mb, err, errlen);
	if (mb->tls == TLS_NONE)
		return 0;

	if (s->im->imap_connection_info == NULL ||
	    s->im->imap_connection_info->imap_capability == NULL) {
		if ((r = refresh_caps(s)) != MAILIMAP_NO_ERROR) {
			*temporary = conn_error(r);
			describe(s, r, why, sizeof(why));
			snprintf(err, errlen, "%s: CAPABILITY: %s", s->where,
			    why);
			return -1;
		}
	}
	if (!mailimap_has_extension(s->im, "STARTTLS")) {
		if (host_is_loopback(s->host)) {
			log_debug("%s: no STARTTLS on a loopback host: "
			    "staying in plaintext", s->where);
			return 0;
		}
		snprintf(err, errlen, "%s: server offers no STARTTLS and "
		    "tls = required", s->where);
		return -1;
	}
	if (preauth) {
		snprintf(err, errlen, "%s: server sent PREAUTH before "
		    "STARTTLS; refusing an unencrypted session", s->where);
		return -1;
	}
	imap_state_set(s, IMAP_S_STARTTLS);
	r = mailimap_socket_starttls_with_callback(s->im, tls_setup, s->host);
	if (r != MAILIMAP_NO_ERROR) {
		*temporary = 1;
		describe(s, r, why, sizeof(why));
		snprintf(err, errlen, "%s: STARTTLS: %s", s->where, why);
		return -1;
	}
	if (verify_peer(s, mb, err, errlen) == -1)
		return -1;
	/* STARTTLS does not refresh libetpan's cache (LIBRARIES.md §3). */
	if ((r = refresh_caps(s)) != MAILIMAP_NO_ERROR) {
		*temporary = conn_error(r);
		describe(s, r, why, sizeof(why));
		snprintf(err, errlen, "%s: CAPABILITY: %s", s->where, why);
		return -1;
	}
	return 0;
}

/* SASL PLAIN when offered, else LOGIN. */
static int
login_plain(struct imap_source *s, const struct server_conf *mb,
    const char *secret)
{
	int r, tag;

	if (!mailimap_has_authentication(s->im, "PLAIN"))
		return mailimap_login(s->im, mb->user, secret);
	tag = s->im->imap_tag;
	r = mailimap_authenticate(s->im, "PLAIN", s->host, NULL, NULL,
	    mb->user, mb->user, secret, NULL);
	/*
	 * Nothing sent: Cyrus SASL has no PLAIN here (libsasl2-modules
	 * missing).  The session is untouched, so LOGIN is still possible.
	 */
	if (r != MAILIMAP_NO_ERROR && s->im->imap_tag == tag) {
		log_debug("%s: SASL PLAIN unavailable locally, using LOGIN",
		    s->where);
		r = mailimap_login(s->im, mb->user, secret);
	}
	return r;
}

/* Did the refused login carry a response code saying "try later"? */
static int
login_for_now(const struct imap_source *s)
{
	const struct mailimap_response_info *ri = s->im ?
	    s->im->imap_response_info : NULL;
	const char *code = ri ? ri->rsp_atom : NULL;

	return code != NULL && (strcasecmp(code, "UNAVAILABLE") == 0 ||
	    strcasecmp(code, "INUSE") == 0);
}

static int
authenticate(struct imap_source *s, const struct server_conf *mb,
    int *temporary, char *err, size_t errlen)
{
	char why[256];
	char *secret;
	int r;

	imap_state_set(s, IMAP_S_AUTHENTICATING);
	if (s->im->imap_state != MAILIMAP_STATE_NON_AUTHENTICATED) {
		log_debug("%s: PREAUTH: no login", s->where);
		goto caps;
	}
	if (mb->auth == AUTH_XOAUTH2 && !mailimap_has_xoauth2(s->im)) {
		snprintf(err, errlen, "%s: auth = xoauth2 but the server "
		    "offers no AUTH=XOAUTH2", s->where);
		return -1;
	}
	for (int attempt = 0;; attempt++) {
		/* Every login: password_command may hand out a fresh token. */
		int permanent;

		if ((secret = config_secret_ex(mb, &permanent, why,
		    sizeof(why))) == NULL) {
			/* A token helper may fail for a while; a command that
			 * does not exist or a missing file will not mend. */
			*temporary = mb->password_command != NULL && !permanent;
			snprintf(err, errlen, "%s: password: %s", s->where, why);
			return -1;
		}
		switch (mb->auth) {
		case AUTH_XOAUTH2:
			r = mailimap_oauth2_authenticate(s->im, mb->user,
			    secret);
			break;
		case AUTH_LOGIN:
			r = mailimap_login(s->im, mb->user, secret);
			break;
		case AUTH_PLAIN:
		default:
			r = login_plain(s, mb, secret);
			break;
		}
		explicit_bzero(secret, strlen(secret));
		free(secret);
		if (r == MAILIMAP_NO_ERROR)
			break;
		describe(s, r, why, sizeof(why));
		if (conn_error(r)) {
			*temporary = 1;
			snprintf(err, errlen, "%s: login: %s", s->where, why);
			return -1;
		}
		/* RFC 5530: the server cannot check the password now
		 * (Dovecot while its auth process is away). */
		if (login_for_now(s)) {
			*temporary = 1;
			snprintf(err, errlen, "%s: login not possible for now, "
			    "the server says: %s", s->where, why);
			return -1;
		}
		/* An expired token: ask the helper again, once. */
		if (mb->auth == AUTH_XOAUTH2 && attempt == 0 &&
		    mb->password_command != NULL) {
			log_info("%s: XOAUTH2 refused (%s), fetching a fresh "
			    "token", s->where, why);
			continue;
		}
		snprintf(err, errlen, "%s: login failed for %s: %s%s%s", s->where,
		    mb->user ? mb->user : "", why, mb->auth == AUTH_XOAUTH2 ?
		    " (auth = xoauth2: the access token was refused; check "
		    "that [mailbox] password_command or password_file gives "
		    "a current one for this user)" : microsoft_host(s->host) ?
		    " (Exchange Online takes no password over IMAP: auth = "
		    "xoauth2 with a password_command that prints an OAuth2 "
		    "token; see docs/outgoing-mail.md)" : " (check [mailbox] "
		    "user and password)", mb->auth == AUTH_XOAUTH2 ? "" :
		    config_secret_hint(mb));
		return -1;
	}
 caps:
	/* MOVE and UIDPLUS may be announced only now (LIBRARIES.md §3). */
	if ((r = refresh_caps(s)) != MAILIMAP_NO_ERROR) {
		*temporary = conn_error(r);
		describe(s, r, why, sizeof(why));
		snprintf(err, errlen, "%s: CAPABILITY: %s", s->where, why);
		return -1;
	}
	return 0;
}

/* Ask the server its hierarchy separator (Dovecot's Maildir: '.'). */
static int
find_separator(struct imap_source *s, int *temporary, char *err,
    size_t errlen)
{
	static const char *const patterns[] = { "", "INBOX" };
	clist *list = NULL;
	char why[256];
	int r = MAILIMAP_NO_ERROR;

	for (size_t i = 0; i < ARRAY_LEN(patterns); i++) {
		list = NULL;
		r = mailimap_list(s->im, "", patterns[i], &list);
		if (r == MAILIMAP_NO_ERROR && list != NULL &&
		    clist_begin(list) != NULL) {
			struct mailimap_mailbox_list *mbl =
			    clist_content(clist_begin(list));

			s->sep = mbl->mb_delimiter;
			mailimap_list_result_free(list);
			log_debug("%s: hierarchy separator '%c'", s->where,
			    s->sep ? s->sep : '0');
			return 0;
		}
		if (list != NULL)
			mailimap_list_result_free(list);
		if (conn_error(r))
			break;
	}
	*temporary = conn_error(r);
	describe(s, r, why, sizeof(why));
	snprintf(err, errlen, "%s: LIST: cannot learn the hierarchy "
	    "separator: %s", s->where, why);
	return -1;
}

/* 1 when box exists and can hold mail, 0 when not, -1 (r set) on error. */
static int
box_exists(struct imap_source *s, const char *box, int *rp)
{
	clist *list = NULL;
	clistiter *it;
	int found = 0;

	if ((*rp = mailimap_list(s->im, "", box, &list)) != MAILIMAP_NO_ERROR) {
		if (list != NULL)
			mailimap_list_result_free(list);
		return -1;
	}
	for (it = list ? clist_begin(list) : NULL; it; it = clist_next(it)) {
		struct mailimap_mailbox_list *mbl = clist_content(it);
		struct mailimap_mbx_list_flags *fl = mbl->mb_flag;

		if (mbl->mb_name == NULL || strcmp(mbl->mb_name, box) != 0)
			continue;
		if (fl != NULL && fl->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
		    fl->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
			continue;
		found = 1;
	}
	if (list != NULL)
		mailimap_list_result_free(list);
	return found;
}

/*
 * Create box unless it is there.  MAILIMAP_NO_ERROR, or the failing
 * command's result with the reason in why.
 */
static int
ensure_box(struct imap_source *s, const char *box, char *why, size_t len)
{
	int e, r;

	if ((e = box_exists(s, box, &r)) == 1)
		return MAILIMAP_NO_ERROR;
	if (e == -1) {
		describe(s, r, why, len);
		return r;
	}
	if ((r = mailimap_create(s->im, box)) == MAILIMAP_NO_ERROR) {
		log_info("%s: created folder %s", s->where, box);
		return r;
	}
	describe(s, r, why, len);
	if (conn_error(r))
		return r;
	/* Someone else may have created it meanwhile: "already exists". */
	if (box_exists(s, box, &e) == 1)
		return MAILIMAP_NO_ERROR;
	return r;
}

static int
setup_folders(struct imap_source *s, const struct config *conf,
    int *temporary, char *err, size_t errlen)
{
	const char *inbox = conf->mailbox.path ? conf->mailbox.path : "";
	const char *names[3];
	char **boxes[3] = { &s->inbox, &s->done_box, &s->failed_box };
	static const char *const keys[3] = { "[mailbox] url",
	    "[mailbox] done_folder", "[mailbox] failed_folder" };
	char why[256];
	int r;

	while (*inbox == '/')
		inbox++;
	names[0] = *inbox ? inbox : "INBOX";
	names[1] = conf->done_folder;
	names[2] = conf->failed_folder;
	imap_state_set(s, IMAP_S_FOLDERS);
	if (find_separator(s, temporary, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (names[i] == NULL ||
		    (*boxes[i] = imap_mailbox_encode(names[i], s->sep)) ==
		    NULL) {
			snprintf(err, errlen, "%s: %s: not a usable folder "
			    "name: '%s'", s->where, keys[i],
			    names[i] ? names[i] : "");
			return -1;
		}
	}
	for (size_t i = 1; i < 3; i++) {
		if ((r = ensure_box(s, *boxes[i], why, sizeof(why))) !=
		    MAILIMAP_NO_ERROR) {
			*temporary = conn_error(r);
			snprintf(err, errlen, "%s: cannot create folder %s: %s",
			    s->where, *boxes[i], why);
			return -1;
		}
	}
	return 0;
}

/* Can the keyword leernet-human be stored for good in this mailbox? */
static int
keywords_allowed(const struct mailimap_selection_info *si)
{
	clistiter *it;

	/* No PERMANENTFLAGS at all: RFC 3501 says every flag is permanent. */
	if (si->sel_perm_flags == NULL)
		return 1;
	for (it = clist_begin(si->sel_perm_flags); it; it = clist_next(it)) {
		struct mailimap_flag_perm *fp = clist_content(it);

		if (fp->fl_type == MAILIMAP_FLAG_PERM_ALL)
			return 1;
		if (fp->fl_flag != NULL &&
		    fp->fl_flag->fl_type == MAILIMAP_FLAG_KEYWORD &&
		    str_eq_ci(fp->fl_flag->fl_data.fl_keyword, KEYWORD_HUMAN))
			return 1;
	}
	return 0;
}

/* "INBOX, Archief, leernet.done": the top-level folders, for an error. */
static void
top_folders(struct imap_source *s, char *out, size_t len)
{
	clist *list = NULL;
	size_t n = 0;

	*out = '\0';
	if (mailimap_list(s->im, "", "%", &list) != MAILIMAP_NO_ERROR) {
		if (list != NULL)
			mailimap_list_result_free(list);
		return;
	}
	for (clistiter *it = list ? clist_begin(list) : NULL; it;
	    it = clist_next(it)) {
		struct mailimap_mailbox_list *mbl = clist_content(it);
		size_t used = strlen(out);

		if (mbl->mb_name == NULL || used + 8 >= len)
			continue;
		if (n++ == 12) {
			snprintf(out + used, len - used, ", …");
			break;
		}
		snprintf(out + used, len - used, "%s%s", used ? ", " : "",
		    mbl->mb_name);
	}
	if (list != NULL)
		mailimap_list_result_free(list);
}

static int
select_inbox(struct imap_source *s, int *temporary, char *err,
    size_t errlen)
{
	struct mailimap_selection_info *si;
	char why[256];
	int r, first;

	imap_state_set(s, IMAP_S_SELECTING);
	if ((r = mailimap_select(s->im, s->inbox)) != MAILIMAP_NO_ERROR) {
		char names[256] = "";

		*temporary = conn_error(r);
		describe(s, r, why, sizeof(why));
		/* "url = imaps://…/Postvak IN": name what is there. */
		if (!*temporary)
			top_folders(s, names, sizeof(names));
		snprintf(err, errlen, "%s: SELECT %s: %s%s%s%s", s->where,
		    s->inbox, why, *names ? " (check the folder in [mailbox] "
		    "url; the top folders here: " : "", names, *names ? ")" :
		    "");
		return -1;
	}
	si = s->im->imap_selection_info;
	if (si == NULL || si->sel_perm != MAILIMAP_MAILBOX_READWRITE) {
		snprintf(err, errlen, "%s: %s is read-only", s->where,
		    s->inbox);
		return -1;
	}
	/* Said once per connection: the hourly clean-up of the done folder
	 * selects the inbox again, and a refusal found at run time
	 * (imap_human) stays. */
	first = s->uidvalidity == 0;
	s->uidvalidity = si->sel_uidvalidity;
	s->keywords_ok = keywords_allowed(si) && (first || s->keywords_ok);
	if (!s->keywords_ok && first)
		log_warnx("%s: the server does not keep the keyword "
		    KEYWORD_HUMAN " in %s: mail for people is left unread "
		    "but will be read again after a reconnect", s->where,
		    s->inbox);
	imap_state_set(s, IMAP_S_SELECTED);
	log_debug("%s: %s selected, UIDVALIDITY %u, %u messages%s%s%s",
	    s->where, s->inbox, s->uidvalidity, si->sel_exists,
	    s->can_move ? ", MOVE" : "", s->can_uidplus ? ", UIDPLUS" : "",
	    s->use_idle ? ", IDLE" : "");
	return 0;
}

void *
imap_open(const struct config *conf, int *temporary, char *err,
    size_t errlen)
{
	const struct server_conf *mb = &conf->mailbox;
	int implicit = strcmp(mb->scheme, "imaps") == 0;
	struct imap_source *s;

	*temporary = 0;
	s = xcalloc(1, sizeof(*s));
	s->state = IMAP_S_CLOSED;
	s->host = xstrdup(mb->host ? mb->host : "");
	s->port = mb->port ? mb->port : (implicit ? 993 : 143);
	s->where = xasprintf("imap %s:%u", s->host, s->port);
	s->name = xasprintf("%s://%s:%u/%s", mb->scheme, s->host, s->port,
	    mb->path && *mb->path ? mb->path : "INBOX");
	s->poll_ms = (conf->poll_interval > 0 ? conf->poll_interval : 60) *
	    1000;

	if (*s->host == '\0' || s->port > 65535) {
		snprintf(err, errlen, "[mailbox] url: no host or a bad port "
		    "in %s", mb->url ? mb->url : s->name);
		goto fail;
	}
	if (mb->tls == TLS_NONE && !host_is_loopback(s->host)) {
		snprintf(err, errlen, "%s: tls = none is only allowed for a "
		    "loopback host (127.0.0.1, ::1, localhost)", s->where);
		goto fail;
	}
	if (connect_server(s, mb, temporary, err, errlen) == -1 ||
	    authenticate(s, mb, temporary, err, errlen) == -1)
		goto fail;
	s->can_move = mailimap_has_extension(s->im, "MOVE");
	s->can_uidplus = mailimap_has_uidplus(s->im);
	s->use_idle = conf->idle && mailimap_has_idle(s->im);
	if (setup_folders(s, conf, temporary, err, errlen) == -1 ||
	    select_inbox(s, temporary, err, errlen) == -1)
		goto fail;
	/* Whatever waits in the inbox is news to the caller. */
	s->pending = 1;
	s->last_check = mono_ms();
	return s;

 fail:
	if (*temporary)
		lose(s);
	imap_close(s);
	return NULL;
}

void
imap_close(void *h)
{
	struct imap_source *s = h;

	if (s == NULL)
		return;
	if (s->im != NULL) {
		if (s->im->imap_stream != NULL) {
			mailstream_low_set_timeout(
			    mailstream_get_low(s->im->imap_stream),
			    IMAP_LOGOUT_TIMEOUT);
			mailimap_logout(s->im);
		}
		mailimap_free(s->im);
	}
	imap_state_set(s, IMAP_S_CLOSED);
	free(s->host);
	free(s->where);
	free(s->name);
	free(s->inbox);
	free(s->done_box);
	free(s->failed_box);
	free(s->skip);
	free(s);
}

const char *
imap_name(const void *h)
{
	const struct imap_source *s = h;

	return s->name;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and drop duplicates; the new count. */
static size_t
uniq_u32(uint32_t *v, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u32);
	for (size_t i = 1; i < n; i++)
		if (v[i] != v[k])
			v[++k] = v[i];
	return k + 1;
}

static int	key_ok(const struct imap_source *, const struct source_msg *);

static int
is_skipped(const struct imap_source *s, uint32_t uid)
{
	return s->nskip > 0 &&
	    bsearch(&uid, s->skip, s->nskip, sizeof(uid), cmp_u32) != NULL;
}

/*
 * A set for uids (sorted, unique) with runs written as ranges, at most
 * IMAP_SET_MAX_RANGES of them; *used says how many uids it covers.
 */
static struct mailimap_set *
uid_set(const uint32_t *uids, size_t n, size_t *used)
{
	struct mailimap_set *set;
	size_t i = 0, ranges = 0;
	int r;

	if ((set = mailimap_set_new_empty()) == NULL)
		fatalx("mailimap_set_new_empty: out of memory");
	while (i < n && ranges < IMAP_SET_MAX_RANGES) {
		size_t j = i;

		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (i == j)
			r = mailimap_set_add_single(set, uids[i]);
		else
			r = mailimap_set_add_interval(set, uids[i], uids[j]);
		if (r != MAILIMAP_NO_ERROR)
			fatalx("mailimap_set_add: out of memory");
		ranges++;
		i = j + 1;
	}
	*used = i;
	return set;
}

/*
 * UID SEARCH key (freed here) in the selected folder: the UIDs, sorted
 * and unique, that skip (may be NULL) does not leave out.  0, or -1
 * (logged as what).
 */
static int
uid_search(struct imap_source *s, struct mailimap_search_key *key,
    const char *what, int (*skip)(const struct imap_source *, uint32_t),
    uint32_t **uidsp, size_t *np)
{
	clist *result = NULL;
	uint32_t *uids;
	size_t n = 0;
	int r;

	r = mailimap_uid_search(s->im, NULL, key, &result);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR) {
		if (result != NULL)
			mailimap_search_result_free(result);
		return op_fail(s, r, what);
	}
	uids = xreallocarray(NULL, result ? clist_count(result) + 1 : 1,
	    sizeof(*uids));
	for (clistiter *it = result ? clist_begin(result) : NULL; it;
	    it = clist_next(it)) {
		uint32_t uid = *(uint32_t *)clist_content(it);

		if (uid != 0 && (skip == NULL || !skip(s, uid)))
			uids[n++] = uid;
	}
	if (result != NULL)
		mailimap_search_result_free(result);
	*np = uniq_u32(uids, n);
	*uidsp = uids;
	return 0;
}

/* Messages pending: not \Deleted, not marked for people.  UIDs sorted. */
static int
search_pending(struct imap_source *s, uint32_t **uidsp, size_t *np)
{
	struct mailimap_search_key *key, *undeleted;

	if ((key = mailimap_search_key_new_multiple_empty()) == NULL ||
	    (undeleted = mailimap_search_key_new(MAILIMAP_SEARCH_KEY_UNDELETED,
	    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL,
	    NULL, NULL)) == NULL ||
	    mailimap_search_key_multiple_add(key, undeleted) !=
	    MAILIMAP_NO_ERROR ||
	    mailimap_search_key_multiple_add(key,
	    mailimap_search_key_new_unkeyword(xstrdup(KEYWORD_HUMAN))) !=
	    MAILIMAP_NO_ERROR)
		fatalx("mailimap_search_key: out of memory");
	return uid_search(s, key, "UID SEARCH", is_skipped, uidsp, np);
}

/* Copy the bodies in list into the batch slots of the uids asked for. */
static void
take_bodies(clist *list, const uint32_t *uids, size_t n,
    struct source_msg *msgs, uint32_t uidvalidity)
{
	for (clistiter *it = clist_begin(list); it; it = clist_next(it)) {
		struct mailimap_msg_att *ma = clist_content(it);
		const char *body = NULL;
		size_t len = 0;
		uint32_t uid = 0;
		int have_body = 0;
		const uint32_t *slot;
		struct source_msg *m;

		for (clistiter *ai = clist_begin(ma->att_list); ai;
		    ai = clist_next(ai)) {
			struct mailimap_msg_att_item *item = clist_content(ai);
			struct mailimap_msg_att_static *st;

			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			st = item->att_data.att_static;
			if (st->att_type == MAILIMAP_MSG_ATT_UID)
				uid = st->att_data.att_uid;
			else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION) {
				body = st->att_data.att_body_section->
				    sec_body_part;
				len = st->att_data.att_body_section->sec_length;
				have_body = 1;
			}
		}
		/* Unsolicited FETCH (flag changes) carry no body: skip. */
		if (uid == 0 || !have_body ||
		    (slot = bsearch(&uid, uids, n, sizeof(uid), cmp_u32)) ==
		    NULL)
			continue;
		m = &msgs[slot - uids];
		if (m->data != NULL)
			continue;
		if (body == NULL)
			len = 0;
		m->data = xmalloc(len + 1);
		if (len)
			memcpy(m->data, body, len);
		m->data[len] = '\0';
		m->len = len;
		m->uid = uid;
		m->key = xasprintf("%u:%u", uidvalidity, uid);
	}
}

/* The RFC822.SIZE of each of uids (sorted) into sizes, from list. */
static void
take_sizes(clist *list, const uint32_t *uids, size_t n, uint32_t *sizes)
{
	for (clistiter *it = clist_begin(list); it; it = clist_next(it)) {
		struct mailimap_msg_att *ma = clist_content(it);
		uint32_t uid = 0, size = 0;
		const uint32_t *slot;

		for (clistiter *ai = clist_begin(ma->att_list); ai;
		    ai = clist_next(ai)) {
			struct mailimap_msg_att_item *item = clist_content(ai);
			struct mailimap_msg_att_static *st;

			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			st = item->att_data.att_static;
			if (st->att_type == MAILIMAP_MSG_ATT_UID)
				uid = st->att_data.att_uid;
			else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
				size = st->att_data.att_rfc822_size;
		}
		if (uid != 0 && (slot = bsearch(&uid, uids, n, sizeof(uid),
		    cmp_u32)) != NULL)
			sizes[slot - uids] = size;
	}
}

/*
 * Shorten the batch to what fits in IMAP_BATCH_BYTES (one message at
 * least): after a week away, hundreds of mails with attachments must not
 * all be held in memory at once.  The rest is fetched next (pending).
 */
static int
limit_batch(struct imap_source *s, const uint32_t *uids, size_t *np)
{
	size_t n = *np, done = 0, k;
	uint64_t total = 0;
	uint32_t *sizes;
	int r;

	if (n <= 1)
		return 0;
	sizes = xcalloc(n, sizeof(*sizes));
	while (done < n) {
		struct mailimap_fetch_type *ft;
		struct mailimap_fetch_att *att;
		struct mailimap_set *set;
		clist *list = NULL;
		size_t used;

		set = uid_set(uids + done, n - done, &used);
		if ((ft = mailimap_fetch_type_new_fetch_att_list_empty()) ==
		    NULL || (att = mailimap_fetch_att_new_rfc822_size()) ==
		    NULL ||
		    mailimap_fetch_type_new_fetch_att_list_add(ft, att) !=
		    MAILIMAP_NO_ERROR ||
		    (att = mailimap_fetch_att_new_uid()) == NULL ||
		    mailimap_fetch_type_new_fetch_att_list_add(ft, att) !=
		    MAILIMAP_NO_ERROR)
			fatalx("mailimap_fetch_type: out of memory");
		r = mailimap_uid_fetch(s->im, set, ft, &list);
		mailimap_fetch_type_free(ft);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR) {
			if (list != NULL)
				mailimap_fetch_list_free(list);
			free(sizes);
			return op_fail(s, r, "UID FETCH (RFC822.SIZE)");
		}
		take_sizes(list, uids, n, sizes);
		mailimap_fetch_list_free(list);
		done += used;
	}
	for (k = 0; k < n; k++) {
		total += sizes[k];
		if (k > 0 && total > IMAP_BATCH_BYTES)
			break;
	}
	free(sizes);
	if (k < n) {
		log_debug("%s: %zu of %zu message(s) now, the rest after them "
		    "(%u MB per batch)", s->where, k, n,
		    IMAP_BATCH_BYTES / (1024 * 1024));
		*np = k;
		s->pending = 1;
	}
	return 0;
}

/*
 * Leave out of uids (sorted) the messages of busy that are from this
 * session: fetched before and still being handled.  Returns the new count.
 */
static size_t
drop_busy(const struct imap_source *s, uint32_t *uids, size_t n,
    const struct source_batch *busy)
{
	uint32_t *held;
	size_t nheld = 0, k = 0;

	if (busy == NULL || busy->n == 0)
		return n;
	held = xreallocarray(NULL, busy->n, sizeof(*held));
	for (size_t i = 0; i < busy->n; i++)
		if (key_ok(s, &busy->msgs[i]))
			held[nheld++] = busy->msgs[i].uid;
	qsort(held, nheld, sizeof(*held), cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (nheld == 0 || bsearch(&uids[i], held, nheld, sizeof(*held),
		    cmp_u32) == NULL)
			uids[k++] = uids[i];
	free(held);
	return k;
}

int
imap_fetch(void *h, size_t max, const struct source_batch *busy,
    struct source_batch *b)
{
	struct imap_source *s = h;
	struct mailimap_fetch_type *ft;
	struct mailimap_section *sec;
	struct mailimap_fetch_att *att;
	struct source_msg *msgs;
	uint32_t *uids = NULL;
	size_t n = 0, done = 0, k = 0;
	int r;

	b->msgs = NULL;
	b->n = 0;
	if (s->state != IMAP_S_SELECTED)
		return -1;
	/* EXISTS from here on means mail the search may not have seen. */
	s->im->imap_selection_info->sel_has_exists = 0;
	s->pending = 0;
	s->last_check = mono_ms();
	if (search_pending(s, &uids, &n) == -1)
		return -1;
	n = drop_busy(s, uids, n, busy);
	if (n > max) {
		s->pending = 1;
		n = max;
	}
	if (limit_batch(s, uids, &n) == -1) {
		free(uids);
		return -1;
	}
	log_debug("%s: %zu pending message(s)%s", s->where, n,
	    s->pending ? ", more after these" : "");
	msgs = xcalloc(n ? n : 1, sizeof(*msgs));

	while (done < n) {
		struct mailimap_set *set;
		clist *list = NULL;
		size_t used;

		set = uid_set(uids + done, n - done, &used);
		if ((ft = mailimap_fetch_type_new_fetch_att_list_empty()) ==
		    NULL || (sec = mailimap_section_new(NULL)) == NULL ||
		    (att = mailimap_fetch_att_new_body_peek_section(sec)) ==
		    NULL ||
		    mailimap_fetch_type_new_fetch_att_list_add(ft, att) !=
		    MAILIMAP_NO_ERROR ||
		    (att = mailimap_fetch_att_new_uid()) == NULL ||
		    mailimap_fetch_type_new_fetch_att_list_add(ft, att) !=
		    MAILIMAP_NO_ERROR)
			fatalx("mailimap_fetch_type: out of memory");
		r = mailimap_uid_fetch(s->im, set, ft, &list);
		mailimap_fetch_type_free(ft);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR) {
			if (list != NULL)
				mailimap_fetch_list_free(list);
			b->msgs = msgs;
			b->n = n;
			source_batch_free(b);
			free(uids);
			return op_fail(s, r, "UID FETCH");
		}
		take_bodies(list, uids + done, used, msgs + done,
		    s->uidvalidity);
		mailimap_fetch_list_free(list);
		done += used;
	}

	/* Gone between SEARCH and FETCH (another client): leave them out. */
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].data == NULL) {
			log_debug("%s: UID %u vanished before FETCH", s->where,
			    uids[i]);
			continue;
		}
		msgs[k++] = msgs[i];
	}
	free(uids);
	if (k == 0) {
		free(msgs);
		msgs = NULL;
	}
	b->msgs = msgs;
	b->n = k;
	return 0;
}

/* Does m belong to this session's mailbox?  (A reconnect may change it.) */
static int
key_ok(const struct imap_source *s, const struct source_msg *m)
{
	char want[32];

	snprintf(want, sizeof(want), "%u:%u", s->uidvalidity, m->uid);
	return m->key != NULL && strcmp(m->key, want) == 0;
}

/* The UIDs of msgs, sorted, unique; -1 if one is from another session. */
static int
msg_uids(struct imap_source *s, const struct source_msg *msgs, size_t n,
    uint32_t **uidsp, size_t *np)
{
	uint32_t *uids = xreallocarray(NULL, n ? n : 1, sizeof(*uids));

	for (size_t i = 0; i < n; i++) {
		if (!key_ok(s, &msgs[i])) {
			log_warnx("%s: message %s is not from this session "
			    "(UIDVALIDITY %u)", s->where,
			    msgs[i].key ? msgs[i].key : "(null)",
			    s->uidvalidity);
			free(uids);
			return -1;
		}
		uids[i] = msgs[i].uid;
	}
	*np = uniq_u32(uids, n);
	*uidsp = uids;
	return 0;
}

static int
store_flag(struct imap_source *s, struct mailimap_set *set,
    struct mailimap_flag *flag, int add)
{
	struct mailimap_flag_list *fl;
	struct mailimap_store_att_flags *sa;
	int r;

	if ((fl = mailimap_flag_list_new_empty()) == NULL || flag == NULL ||
	    mailimap_flag_list_add(fl, flag) != MAILIMAP_NO_ERROR)
		fatalx("mailimap_flag_list: out of memory");
	sa = add ? mailimap_store_att_flags_new_add_flags_silent(fl) :
	    mailimap_store_att_flags_new_remove_flags_silent(fl);
	if (sa == NULL)
		fatalx("mailimap_store_att_flags: out of memory");
	r = mailimap_uid_store(s->im, set, sa);
	mailimap_store_att_flags_free(sa);
	return r;
}

/* UID MOVE, or COPY + \Deleted + (UID) EXPUNGE; TRYCREATE handled. */
static int
move_set(struct imap_source *s, struct mailimap_set *set, const char *box)
{
	const char *what = s->can_move ? "UID MOVE" : "UID COPY";
	char why[256];
	int r;

	for (int attempt = 0;; attempt++) {
		if (s->can_move)
			r = mailimap_uid_move(s->im, set, box);
		else
			r = mailimap_uid_copy(s->im, set, box);
		if (r == MAILIMAP_NO_ERROR)
			break;
		if (attempt > 0 || conn_error(r) ||
		    s->im->imap_response_info == NULL ||
		    !s->im->imap_response_info->rsp_trycreate)
			return op_fail(s, r, what);
		/* The folder was deleted while we ran: make it again. */
		log_info("%s: %s: TRYCREATE %s", s->where, what, box);
		if ((r = ensure_box(s, box, why, sizeof(why))) !=
		    MAILIMAP_NO_ERROR)
			return op_fail_why(s, r, "CREATE", why);
	}
	if (s->can_move)
		return 0;
	if ((r = store_flag(s, set, mailimap_flag_new_deleted(), 1)) !=
	    MAILIMAP_NO_ERROR)
		return op_fail(s, r, "UID STORE +FLAGS (\\Deleted)");
	/* Without UIDPLUS, EXPUNGE also removes others' \Deleted mail. */
	r = s->can_uidplus ? mailimap_uid_expunge(s->im, set) :
	    mailimap_expunge(s->im);
	if (r != MAILIMAP_NO_ERROR)
		return op_fail(s, r, "EXPUNGE");
	return 0;
}

static int
move_msgs(struct imap_source *s, const struct source_msg *msgs, size_t n,
    const char *box)
{
	uint32_t *uids;
	size_t nu, done = 0;
	int ret = 0;

	if (s->state != IMAP_S_SELECTED)
		return -1;
	if (msg_uids(s, msgs, n, &uids, &nu) == -1)
		return -1;
	while (done < nu && ret == 0) {
		size_t used;
		struct mailimap_set *set = uid_set(uids + done, nu - done,
		    &used);

		ret = move_set(s, set, box);
		mailimap_set_free(set);
		done += used;
	}
	if (ret == 0)
		log_debug("%s: %zu message(s) moved to %s", s->where, nu, box);
	free(uids);
	return ret;
}

int
imap_done(void *h, const struct source_msg *msgs, size_t n)
{
	struct imap_source *s = h;

	return move_msgs(s, msgs, n, s->done_box);
}

int
imap_failed(void *h, const struct source_msg *msgs, size_t n)
{
	struct imap_source *s = h;

	return move_msgs(s, msgs, n, s->failed_box);
}

/*
 * UID SEARCH BEFORE day (the arrival date, INTERNALDATE, which a MOVE
 * keeps) in the selected folder, then \Deleted and (UID) EXPUNGE in sets.
 * Without UIDPLUS the EXPUNGE also takes other \Deleted mail, which in
 * leernet's own done folder is only its own.  0 or -1 (logged).
 */
static int
expunge_before(struct imap_source *s, const struct tm *day, size_t *removed)
{
	struct mailimap_search_key *key;
	struct mailimap_date *d;
	uint32_t *uids;
	size_t n, done = 0;
	int r;

	if ((d = mailimap_date_new(day->tm_mday, day->tm_mon + 1,
	    day->tm_year + 1900)) == NULL ||
	    (key = mailimap_search_key_new_before(d)) == NULL)
		fatalx("mailimap_search_key: out of memory");
	if (uid_search(s, key, "UID SEARCH BEFORE", NULL, &uids, &n) == -1)
		return -1;
	while (done < n) {
		size_t used;
		struct mailimap_set *set = uid_set(uids + done, n - done,
		    &used);

		if ((r = store_flag(s, set, mailimap_flag_new_deleted(), 1)) ==
		    MAILIMAP_NO_ERROR)
			r = s->can_uidplus ? mailimap_uid_expunge(s->im, set) :
			    mailimap_expunge(s->im);
		mailimap_set_free(set);
		if (r != MAILIMAP_NO_ERROR) {
			free(uids);
			return op_fail(s, r, "UID STORE \\Deleted, EXPUNGE");
		}
		done += used;
	}
	free(uids);
	*removed = n;
	return 0;
}

int
imap_expire_done(void *h, time_t before, size_t *removed)
{
	struct imap_source *s = h;
	char err[512];
	struct tm day;
	int temporary, r, ret;

	*removed = 0;
	if (s->state != IMAP_S_SELECTED)
		return -1;
	localtime_r(&before, &day);
	imap_state_set(s, IMAP_S_SELECTING);
	if ((r = mailimap_select(s->im, s->done_box)) != MAILIMAP_NO_ERROR)
		ret = op_fail(s, r, "SELECT done folder");
	else if (s->im->imap_selection_info == NULL ||
	    s->im->imap_selection_info->sel_perm != MAILIMAP_MAILBOX_READWRITE)
		ret = op_fail_why(s, MAILIMAP_NO_ERROR, "SELECT done folder",
		    "read-only");
	else
		ret = expunge_before(s, &day, removed);
	if (s->state == IMAP_S_LOST)
		return -1;
	/* Back to the inbox, whatever happened in the other folder. */
	if (select_inbox(s, &temporary, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		lose(s);
		return -1;
	}
	s->pending = 1;
	return ret;
}

static void
skip_add(struct imap_source *s, const uint32_t *uids, size_t n)
{
	s->skip = xreallocarray(s->skip, s->nskip + n, sizeof(*s->skip));
	memcpy(s->skip + s->nskip, uids, n * sizeof(*uids));
	s->nskip = uniq_u32(s->skip, s->nskip + n);
}

int
imap_human(void *h, const struct source_msg *msgs, size_t n)
{
	struct imap_source *s = h;
	uint32_t *uids;
	size_t nu, done = 0;
	int r, ret = 0;

	if (s->state != IMAP_S_SELECTED)
		return -1;
	if (msg_uids(s, msgs, n, &uids, &nu) == -1)
		return -1;
	while (done < nu && ret == 0) {
		size_t used;
		struct mailimap_set *set = uid_set(uids + done, nu - done,
		    &used);

		if (s->keywords_ok) {
			r = store_flag(s, set, mailimap_flag_new_flag_keyword(
			    xstrdup(KEYWORD_HUMAN)), 1);
			if (r != MAILIMAP_NO_ERROR && conn_error(r))
				ret = op_fail(s, r, "UID STORE +FLAGS ("
				    KEYWORD_HUMAN ")");
			else if (r != MAILIMAP_NO_ERROR) {
				char why[256];

				describe(s, r, why, sizeof(why));
				log_warnx("%s: the server refuses the keyword "
				    KEYWORD_HUMAN " (%s): mail for people is "
				    "left unread but will be read again after "
				    "a reconnect", s->where, why);
				s->keywords_ok = 0;
			}
		}
		/* Coordinators must see it as unread, whoever opened it. */
		if (ret == 0 && (r = store_flag(s, set,
		    mailimap_flag_new_seen(), 0)) != MAILIMAP_NO_ERROR)
			ret = op_fail(s, r, "UID STORE -FLAGS (\\Seen)");
		mailimap_set_free(set);
		done += used;
	}
	/* Without the keyword, remember them for as long as we are here. */
	if (ret == 0 && !s->keywords_ok)
		skip_add(s, uids, nu);
	if (ret == 0)
		log_debug("%s: %zu message(s) left for people", s->where, nu);
	free(uids);
	return ret;
}

/*
 * Our IDLE start.  libetpan 1.9.4's mailimap_idle() waits forever when an
 * untagged line ("* 3 EXISTS") comes before "+ idling" (libetpan #393,
 * LIBRARIES.md §6); this loops as upstream's fix does.  *news is set when
 * such a line announced mail (EXISTS, RECENT).
 */
static int
idle_start(struct imap_source *s, int *news)
{
	mailimap *im = s->im;
	struct mailimap_parser_context *ctx;
	struct mailimap_continue_req *cont;
	struct mailimap_response_data *rd;
	struct mailimap_response *resp;
	size_t indx;
	int r;

	*news = 0;
	if ((r = mailimap_send_current_tag(im)) != MAILIMAP_NO_ERROR ||
	    (r = mailimap_token_send(im->imap_stream, "IDLE")) !=
	    MAILIMAP_NO_ERROR ||
	    (r = mailimap_crlf_send(im->imap_stream)) != MAILIMAP_NO_ERROR)
		return r;
	if (mailstream_flush(im->imap_stream) == -1 ||
	    mailimap_read_line(im) == NULL)
		return MAILIMAP_ERROR_STREAM;
	if ((ctx = mailimap_parser_context_new(im)) == NULL)
		fatalx("mailimap_parser_context_new: out of memory");
	for (int lines = 0; lines < IMAP_IDLE_MAX_LINES; lines++) {
		indx = 0;
		r = mailimap_continue_req_parse(im->imap_stream,
		    im->imap_stream_buffer, ctx, &indx, &cont,
		    im->imap_progr_rate, im->imap_progr_fun);
		if (r == MAILIMAP_NO_ERROR) {
			mailimap_continue_req_free(cont);
			mailimap_parser_context_free(ctx);
			return MAILIMAP_NO_ERROR;
		}
		if (r != MAILIMAP_ERROR_PARSE)
			break;
		indx = 0;
		r = mailimap_response_data_parse(im->imap_stream,
		    im->imap_stream_buffer, ctx, &indx, &rd,
		    im->imap_progr_rate, im->imap_progr_fun);
		if (r == MAILIMAP_NO_ERROR) {
			if (rd->rsp_type == MAILIMAP_RESP_DATA_TYPE_MAILBOX_DATA &&
			    rd->rsp_data.rsp_mailbox_data != NULL &&
			    (rd->rsp_data.rsp_mailbox_data->mbd_type ==
			    MAILIMAP_MAILBOX_DATA_EXISTS ||
			    rd->rsp_data.rsp_mailbox_data->mbd_type ==
			    MAILIMAP_MAILBOX_DATA_RECENT))
				*news = 1;
			mailimap_response_data_free(rd);
			if (mailimap_read_line(im) == NULL) {
				r = MAILIMAP_ERROR_STREAM;
				break;
			}
			continue;
		}
		if (r != MAILIMAP_ERROR_PARSE)
			break;
		/*
		 * A tagged answer: IDLE refused.  libetpan calls a BAD a
		 * protocol error, yet the session is in step: a refusal.
		 */
		mailimap_parser_context_free(ctx);
		r = mailimap_parse_response(im, &resp);
		if (r == MAILIMAP_NO_ERROR)
			mailimap_response_free(resp);
		if (r == MAILIMAP_NO_ERROR || r == MAILIMAP_ERROR_PROTOCOL)
			return MAILIMAP_ERROR_EXTENSION;
		return r;
	}
	mailimap_parser_context_free(ctx);
	return r == MAILIMAP_NO_ERROR ? MAILIMAP_ERROR_PROTOCOL : r;
}

/* Idle until EXISTS, the deadline or a signal. */
static enum source_wait
wait_idle(struct imap_source *s, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct pollfd pfd;
	int r, news, n;

	for (;;) {
		if ((r = idle_start(s, &news)) != MAILIMAP_NO_ERROR) {
			op_fail(s, r, "IDLE");
			if (s->state == IMAP_S_LOST)
				return SOURCE_WAIT_ERROR;
			/* Refused, the session is fine: poll from now on. */
			s->use_idle = 0;
			return SOURCE_WAIT_TIMEOUT;
		}
		imap_state_set(s, IMAP_S_IDLE);
		n = 0;
		/* Bytes libetpan already read would never wake poll(). */
		if (!news && s->im->imap_stream->read_buffer_len == 0) {
			int64_t left = deadline - mono_ms();

			pfd.fd = mailimap_idle_get_fd(s->im);
			pfd.events = POLLIN;
			pfd.revents = 0;
			/* No restart on EINTR: signals are for the caller. */
			n = source_poll(&pfd, 1, left > 0 ? (int)left : 0);
			if (n == -1 && errno != EINTR) {
				log_warn("%s: poll", s->where);
				lose(s);
				return SOURCE_WAIT_ERROR;
			}
		} else
			n = 1;
		/* DONE reads and applies whatever came (EXISTS, BYE, ...). */
		if ((r = mailimap_idle_done(s->im)) != MAILIMAP_NO_ERROR) {
			op_fail(s, r, "IDLE DONE");
			return SOURCE_WAIT_ERROR;
		}
		imap_state_set(s, IMAP_S_SELECTED);
		if (news || s->im->imap_selection_info->sel_has_exists) {
			s->im->imap_selection_info->sel_has_exists = 0;
			return SOURCE_WAIT_NEW;
		}
		/* Time is up, or a signal. */
		if (n <= 0 || mono_ms() >= deadline)
			return SOURCE_WAIT_TIMEOUT;
		/* Keepalives ("* OK Still here"), flag changes: idle on. */
	}
}

/* Without IDLE: NOOP (keeps the session, shows EXISTS), then sleep. */
static enum source_wait
wait_poll(struct imap_source *s, int timeout_ms)
{
	int64_t due = s->last_check + s->poll_ms, now;
	int r;

	if ((r = mailimap_noop(s->im)) != MAILIMAP_NO_ERROR) {
		op_fail(s, r, "NOOP");
		return s->state == IMAP_S_LOST ? SOURCE_WAIT_ERROR :
		    SOURCE_WAIT_TIMEOUT;
	}
	if (s->im->imap_selection_info->sel_has_exists) {
		s->im->imap_selection_info->sel_has_exists = 0;
		return SOURCE_WAIT_NEW;
	}
	now = mono_ms();
	if (due - now < timeout_ms)
		timeout_ms = due > now ? (int)(due - now) : 0;
	if (source_poll(NULL, 0, timeout_ms) == -1)
		return SOURCE_WAIT_TIMEOUT;	/* a signal */
	return mono_ms() >= due ? SOURCE_WAIT_NEW : SOURCE_WAIT_TIMEOUT;
}

enum source_wait
imap_wait(void *h, int timeout_ms)
{
	struct imap_source *s = h;

	if (s->state != IMAP_S_SELECTED)
		return SOURCE_WAIT_ERROR;
	if (timeout_ms < 0 || timeout_ms > IMAP_IDLE_MAX_MS)
		timeout_ms = IMAP_IDLE_MAX_MS;
	/* A full batch, or EXISTS while we moved mail: fetch first. */
	if (s->pending || s->im->imap_selection_info->sel_has_exists) {
		s->pending = 0;
		s->im->imap_selection_info->sel_has_exists = 0;
		return SOURCE_WAIT_NEW;
	}
	if (s->use_idle)
		return wait_idle(s, timeout_ms);
	return wait_poll(s, timeout_ms);
}

char *
imap_mailbox_encode(const char *utf8, char sep)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
	const unsigned char *p = (const unsigned char *)utf8;
	size_t len = strlen(utf8);
	struct buf b;
	int level_len = 0;

	if (len == 0 || !utf8_valid(utf8, len))
		return NULL;
	buf_init(&b, 0);
	while (*p != '\0') {
		uint32_t bits = 0;
		int nbits = 0;

		if (*p < 0x20 || *p == 0x7f)
			goto bad;
		if (*p == '/') {
			if (level_len == 0 || p[1] == '\0')
				goto bad;
			buf_addc(&b, sep ? sep : '/');
			level_len = 0;
			p++;
			continue;
		}
		level_len++;
		if (*p < 0x80) {
			if (*p == '&')
				buf_adds(&b, "&-");
			else
				buf_addc(&b, (char)*p);
			p++;
			continue;
		}
		/* A run of non-ASCII: UTF-16 in base64 with ',' for '/'. */
		buf_addc(&b, '&');
		while (*p >= 0x80) {
			uint32_t cp, units[2];
			size_t nu = 1, extra;

			if ((*p & 0xe0) == 0xc0) {
				cp = *p & 0x1f;
				extra = 1;
			} else if ((*p & 0xf0) == 0xe0) {
				cp = *p & 0x0f;
				extra = 2;
			} else {
				cp = *p & 0x07;
				extra = 3;
			}
			p++;
			for (; extra > 0; extra--, p++)
				cp = (cp << 6) | (*p & 0x3f);
			units[0] = cp;
			if (cp >= 0x10000) {
				units[0] = 0xd800 + ((cp - 0x10000) >> 10);
				units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
				nu = 2;
			}
			for (size_t u = 0; u < nu; u++) {
				bits = (bits << 16) | units[u];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					buf_addc(&b, b64[(bits >> nbits) &
					    0x3f]);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0)
			buf_addc(&b, b64[(bits << (6 - nbits)) & 0x3f]);
		buf_addc(&b, '-');
	}
	return buf_steal(&b);
 bad:
	buf_free(&b);
	return NULL;
}
