/*
 * smtp.c - SMTP submission over libcurl, the only file that includes
 * <curl/curl.h>.
 *
 * One easy handle is reused for every message: libcurl then keeps the
 * session open and sends MAIL/RCPT/DATA again on it (one "connect from"
 * in the server's log for a whole outbox run).  libcurl reuses a
 * connection only while the credentials are unchanged, so the secret is
 * fetched once per connection, not per message: at the start, after a
 * failure (libcurl closes the session then) and after a long idle time.
 *
 * Results are classified here; what to do about them (retry, backoff,
 * bouncing) is outbox.c's business.  The stage of the session (greeting,
 * EHLO, ..., message body) is followed through libcurl's debug callback,
 * so that a 5xx is permanent only when it answers this message, and so
 * the server's own words end up in the result text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "mimeout.h"
#include "smtp.h"
#include "util.h"

#define SMTP_CONNECT_TIMEOUT	30L	/* seconds */
#define SMTP_REPLY_TIMEOUT	60L	/* one server reply */
#define SMTP_TOTAL_TIMEOUT	600L	/* one message, 10 MB at 20 kB/s */
/* libcurl drops pooled connections idle for 118 s (CURLOPT_MAXAGE_CONN);
 * past this the next message is on a new connection: fetch the secret. */
#define SMTP_IDLE_REFRESH	100

enum smtp_stage {
	ST_CONNECT,	/* TCP, TLS, greeting */
	ST_EHLO,
	ST_STARTTLS,
	ST_AUTH,
	ST_MAIL,
	ST_RCPT,
	ST_DATA,
	ST_BODY,	/* the message and the final "." */
	ST_OTHER,	/* NOOP, QUIT, ... */
};

static const char *stage_names[] = {
	[ST_CONNECT] = "connect",
	[ST_EHLO] = "EHLO",
	[ST_STARTTLS] = "STARTTLS",
	[ST_AUTH] = "AUTH",
	[ST_MAIL] = "MAIL FROM",
	[ST_RCPT] = "RCPT TO",
	[ST_DATA] = "DATA",
	[ST_BODY] = "end of data",
	[ST_OTHER] = "command",
};

struct smtp {
	CURL		*curl;
	struct server_conf conf;	/* our copy, for config_secret */
	char		*url;
	char		*secret;	/* NULL when there is no user */
	int		 need_secret;	/* next transfer may open a session */
	time_t		 last_use;	/* CLOCK_MONOTONIC seconds */
	long		 connects;

	const char	*src;		/* the message being read by curl */
	size_t		 left;

	enum smtp_stage	 stage;
	int		 quitting;	/* QUIT sent: its 221 is not news */
	char		 reply[200];	/* the server's last reply line */
	char		 errbuf[CURL_ERROR_SIZE];
};

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* What the server said, as one printable line for logs. */
static void
copy_line(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t o = 0;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n && o + 1 < dstlen; i++)
		dst[o++] = ((unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f) ? s[i] : '?';
	dst[o] = '\0';
}

static enum smtp_stage
stage_of(const char *cmd, size_t n)
{
	static const struct {
		const char	*verb;
		enum smtp_stage	 stage;
	} verbs[] = {
		{ "EHLO", ST_EHLO }, { "HELO", ST_EHLO },
		{ "STARTTLS", ST_STARTTLS }, { "AUTH", ST_AUTH },
		{ "MAIL", ST_MAIL }, { "RCPT", ST_RCPT }, { "DATA", ST_DATA },
	};

	for (size_t i = 0; i < ARRAY_LEN(verbs); i++) {
		size_t vl = strlen(verbs[i].verb);

		if (n >= vl && strncasecmp(cmd, verbs[i].verb, vl) == 0)
			return verbs[i].stage;
	}
	return ST_OTHER;
}

static int
debug_cb(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	struct smtp *s = arg;
	enum smtp_stage st = s->stage;

	(void)c;
	switch (type) {
	case CURLINFO_HEADER_IN:
		if (!s->quitting)
			copy_line(s->reply, sizeof(s->reply), data, size);
		break;
	case CURLINFO_HEADER_OUT:
		/* libcurl says QUIT after a failure: keep what failed. */
		if (size >= 4 && strncasecmp(data, "QUIT", 4) == 0) {
			s->quitting = 1;
			break;
		}
		/* During AUTH the client's lines are SASL data, not verbs;
		 * never logged, they may hold the secret. */
		if (s->stage != ST_AUTH || stage_of(data, size) != ST_OTHER)
			st = stage_of(data, size);
		break;
	case CURLINFO_DATA_OUT:
		if (s->stage == ST_DATA)
			st = ST_BODY;
		break;
	default:
		break;
	}
	if (st != s->stage) {
		log_debug("smtp: %s -> %s", stage_names[s->stage],
		    stage_names[st]);
		s->stage = st;
	}
	return 0;
}

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct smtp *s = arg;
	size_t n = size * nmemb;

	if (n > s->left)
		n = s->left;
	memcpy(dst, s->src, n);
	s->src += n;
	s->left -= n;
	return n;
}

static size_t
discard_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

/* The one-line result text; cut where it does not fit (256 bytes). */
static void
set_text(struct smtp_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_text(struct smtp_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
	for (char *p = res->text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
}

/* Set the secret for the next session; -1 with err when there is none. */
static int
load_secret(struct smtp *s, char *err, size_t errlen)
{
	char *sec;
	CURLcode rc;

	if (s->conf.user == NULL || *s->conf.user == '\0')
		return 0;
	if ((sec = config_secret(&s->conf, err, errlen)) == NULL)
		return -1;
	wipe_free(s->secret);
	s->secret = sec;
	if (s->conf.auth == AUTH_XOAUTH2)
		rc = curl_easy_setopt(s->curl, CURLOPT_XOAUTH2_BEARER, sec);
	else
		rc = curl_easy_setopt(s->curl, CURLOPT_PASSWORD, sec);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(rc));
		return -1;
	}
	s->need_secret = 0;
	return 0;
}

static int
host_chars_ok(const char *h)
{
	if (*h == '\0')
		return 0;
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		    (*h >= '0' && *h <= '9') || *h == '.' || *h == '-' ||
		    *h == ':' || *h == '_'))
			return 0;
	return 1;
}

/* The options that stay the same for every transfer. */
static CURLcode
setup(struct smtp *s)
{
	static const char *mechs[] = {
		[AUTH_PLAIN] = "AUTH=PLAIN",
		[AUTH_LOGIN] = "AUTH=LOGIN",
		[AUTH_XOAUTH2] = "AUTH=XOAUTH2",
	};
	CURL *c = s->curl;
	CURLcode rc;

#define SET(opt, val) \
	do { if ((rc = curl_easy_setopt(c, opt, val)) != CURLE_OK) \
		return rc; } while (0)
	SET(CURLOPT_URL, s->url);
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, SMTP_CONNECT_TIMEOUT);
	SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, SMTP_REPLY_TIMEOUT);
	SET(CURLOPT_TIMEOUT, SMTP_TOTAL_TIMEOUT);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_ERRORBUFFER, s->errbuf);
	/* VERBOSE only feeds debug_cb; nothing reaches stderr. */
	SET(CURLOPT_DEBUGFUNCTION, debug_cb);
	SET(CURLOPT_DEBUGDATA, s);
	SET(CURLOPT_VERBOSE, 1L);
	SET(CURLOPT_READFUNCTION, read_cb);
	SET(CURLOPT_READDATA, s);
	SET(CURLOPT_WRITEFUNCTION, discard_cb);
	if (s->conf.tls == TLS_NONE)
		SET(CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
	else {
		/* STARTTLS or fail; never CURLUSESSL_TRY (a downgrade). */
		SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		SET(CURLOPT_SSL_VERIFYPEER, 1L);
		SET(CURLOPT_SSL_VERIFYHOST, 2L);
		if (s->conf.ca_file)
			SET(CURLOPT_CAINFO, s->conf.ca_file);
	}
	if (s->conf.user && *s->conf.user) {
		SET(CURLOPT_USERNAME, s->conf.user);
		SET(CURLOPT_LOGIN_OPTIONS, mechs[s->conf.auth]);
	}
#undef SET
	return CURLE_OK;
}

struct smtp *
smtp_new(const struct config *cfg, char *err, size_t errlen)
{
	static int curl_ready;
	const struct server_conf *c = &cfg->smtp;
	struct smtp *s;
	CURLcode rc;
	int smtps;

	if (c->scheme == NULL || (strcmp(c->scheme, "smtp") != 0 &&
	    strcmp(c->scheme, "smtps") != 0)) {
		snprintf(err, errlen, "[smtp] url: expected smtp:// or "
		    "smtps://");
		return NULL;
	}
	smtps = strcmp(c->scheme, "smtps") == 0;
	if (c->host == NULL || !host_chars_ok(c->host)) {
		snprintf(err, errlen, "[smtp] url: bad host name");
		return NULL;
	}
	if (c->tls == TLS_NONE && smtps) {
		snprintf(err, errlen, "[smtp] tls = none contradicts smtps://");
		return NULL;
	}
	/* Passwords in clear text only where no network can read them. */
	if (c->tls == TLS_NONE && !host_is_loopback(c->host)) {
		snprintf(err, errlen, "[smtp] tls = none is only allowed for "
		    "a loopback host, not %s", c->host);
		return NULL;
	}
	if (c->auth < AUTH_PLAIN || c->auth > AUTH_XOAUTH2) {
		snprintf(err, errlen, "[smtp] auth: unknown mechanism");
		return NULL;
	}
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "libcurl: global init failed");
			return NULL;
		}
		curl_ready = 1;
	}

	s = xcalloc(1, sizeof(*s));
	s->conf.url = dup_or_null(c->url);
	s->conf.scheme = xstrdup(c->scheme);
	s->conf.host = xstrdup(c->host);
	s->conf.port = c->port ? c->port : (smtps ? 465 : 587);
	s->conf.user = dup_or_null(c->user);
	s->conf.password = dup_or_null(c->password);
	s->conf.password_file = dup_or_null(c->password_file);
	s->conf.password_command = dup_or_null(c->password_command);
	s->conf.auth = c->auth;
	s->conf.tls = c->tls;
	s->conf.ca_file = dup_or_null(c->ca_file);
	s->conf.section = "smtp";
	s->url = xasprintf("%s://%s%s%s:%u", c->scheme,
	    strchr(c->host, ':') ? "[" : "", c->host,
	    strchr(c->host, ':') ? "]" : "", s->conf.port);
	s->need_secret = 1;
	s->last_use = mono_now();

	if ((s->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl: cannot create a handle");
		smtp_free(s);
		return NULL;
	}
	if ((rc = setup(s)) != CURLE_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(rc));
		smtp_free(s);
		return NULL;
	}
	/* A missing secret is a configuration error: say so now. */
	if (load_secret(s, err, errlen) == -1) {
		smtp_free(s);
		return NULL;
	}
	return s;
}

void
smtp_free(struct smtp *s)
{
	if (s == NULL)
		return;
	/* Closes the pooled connection, which sends QUIT. */
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->conf.url);
	free(s->conf.scheme);
	free(s->conf.host);
	free(s->conf.user);
	wipe_free(s->conf.password);
	free(s->conf.password_file);
	free(s->conf.password_command);
	free(s->conf.ca_file);
	free(s->url);
	wipe_free(s->secret);
	free(s);
}

long
smtp_connections(const struct smtp *s)
{
	return s->connects;
}

/* One transfer with the options set by the caller. */
static CURLcode
perform(struct smtp *s, long *code)
{
	CURLcode rc;
	long n = 0;

	s->errbuf[0] = '\0';
	s->reply[0] = '\0';
	s->stage = ST_CONNECT;
	s->quitting = 0;
	rc = curl_easy_perform(s->curl);
	*code = 0;
	/* The reply we kept is the one that decided; libcurl's code may be
	 * that of a later QUIT. */
	if (s->reply[0] >= '2' && s->reply[0] <= '5' &&
	    s->reply[1] >= '0' && s->reply[1] <= '9' &&
	    s->reply[2] >= '0' && s->reply[2] <= '9')
		*code = (s->reply[0] - '0') * 100 +
		    (s->reply[1] - '0') * 10 + (s->reply[2] - '0');
	else
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, code);
	if (curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &n) ==
	    CURLE_OK && n > 0) {
		s->connects += n;
		log_debug("smtp: new connection to %s", s->url);
	}
	s->last_use = mono_now();
	/* libcurl closes the session after any failure. */
	if (rc != CURLE_OK)
		s->need_secret = 1;
	return rc;
}

static int
secret_from_outside(const struct smtp *s)
{
	return s->conf.password_command != NULL ||
	    s->conf.password_file != NULL;
}

/* Before a transfer: a fresh secret when a new session is likely. */
static int
refresh_secret(struct smtp *s, struct smtp_result *res)
{
	char err[200];

	if (!s->need_secret && mono_now() - s->last_use < SMTP_IDLE_REFRESH)
		return 0;
	if (load_secret(s, err, sizeof(err)) == 0)
		return 0;
	res->status = SMTP_TEMPFAIL;
	res->code = 0;
	set_text(res, "no [smtp] secret: %s", err);
	return -1;
}

/*
 * After a 535: a secret from a command or file may have changed (an
 * OAuth token expired and was renewed).  1 when a different one was
 * loaded and the transfer is worth one more try.
 */
static int
secret_changed(struct smtp *s)
{
	char err[200], *old;
	int changed;

	if (!secret_from_outside(s) || s->secret == NULL)
		return 0;
	old = xstrdup(s->secret);
	if (load_secret(s, err, sizeof(err)) == -1) {
		wipe_free(old);
		return 0;
	}
	changed = strcmp(old, s->secret) != 0;
	wipe_free(old);
	return changed;
}

/*
 * The verdict.  code is the reply to this message's transaction; it is
 * 0 when the session failed before MAIL FROM (connect, TLS, EHLO, AUTH):
 * then the server or our configuration is at fault, not the message, and
 * outbox.c lets the rest wait instead of trying each in turn.
 */
static void
classify(struct smtp *s, CURLcode rc, long code, struct smtp_result *res)
{
	const char *stage = stage_names[s->stage];
	const char *why = s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);
	int in_transaction = s->stage >= ST_MAIL && s->stage <= ST_BODY;

	res->code = in_transaction ? (int)code : 0;
	if (rc == CURLE_OK) {
		res->status = SMTP_SENT;
		res->code = code >= 200 && code < 300 ? (int)code : 250;
		set_text(res, "%s", s->reply[0] ?
		    s->reply : "250 accepted");
		return;
	}
	res->status = SMTP_TEMPFAIL;
	switch (rc) {
	case CURLE_LOGIN_DENIED:
		set_text(res, "login refused for "
		    "%s (check [smtp] user and password): %s", s->conf.user ?
		    s->conf.user : "?", s->reply[0] ? s->reply : why);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		set_text(res, "TLS certificate of %s "
		    "not accepted (fix the server certificate or [smtp] "
		    "ca_file): %s", s->conf.host, why);
		return;
	case CURLE_USE_SSL_FAILED:
		set_text(res, "%s offers no STARTTLS "
		    "(use smtps:// or a server with TLS): %s", s->conf.host,
		    why);
		return;
	default:
		break;
	}
	if (in_transaction && code >= 500 &&
	    (s->stage != ST_MAIL || code == 552)) {
		/* The recipient or this message is refused for good.  At
		 * MAIL FROM that is only a size limit (SIZE=); any other
		 * refusal there is about our sender address. */
		res->status = SMTP_PERMFAIL;
	}
	if (s->reply[0] && code > 0)
		set_text(res, "%s: %s (%s)", stage,
		    s->reply, why);
	else
		set_text(res, "%s: %s", stage, why);
}

void
smtp_send(struct smtp *s, const char *from, const char *rcpt,
    const char *data, size_t len, struct smtp_result *res)
{
	struct curl_slist *rl;
	char *env_from, *env_rcpt;
	CURLcode rc;
	long code;
	int tries = 0;

	memset(res, 0, sizeof(*res));
	/* libcurl would put these in MAIL FROM / RCPT TO as they are: a
	 * CR or LF here would be an SMTP command of its own. */
	if (from == NULL || (*from != '\0' && !mime_addr_valid(from)) ||
	    rcpt == NULL || !mime_addr_valid(rcpt)) {
		res->status = SMTP_PERMFAIL;
		set_text(res, "invalid envelope "
		    "address (%s)", rcpt && mime_addr_valid(rcpt) ? "sender" :
		    "recipient");
		return;
	}
	if (refresh_secret(s, res) == -1)
		return;
	env_from = xasprintf("<%s>", from);
	env_rcpt = xasprintf("<%s>", rcpt);
	rl = curl_slist_append(NULL, env_rcpt);
	if (rl == NULL)
		fatalx("curl_slist_append: out of memory");
	curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, env_from);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rl);
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	for (;;) {
		s->src = data;
		s->left = len;
		rc = perform(s, &code);
		if (rc == CURLE_LOGIN_DENIED && tries++ == 0 &&
		    secret_changed(s)) {
			log_info("smtp: login refused, retrying with a fresh "
			    "secret");
			continue;
		}
		break;
	}
	classify(s, rc, code, res);
	/* Nothing may point at the caller's memory after we return. */
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, NULL);
	s->src = NULL;
	s->left = 0;
	curl_slist_free_all(rl);
	free(env_from);
	free(env_rcpt);
}

/*
 * What check-config proves: the server answers, TLS is up with a
 * certificate we trust (when TLS is on), the login is accepted (when a
 * user is set), and a NOOP gets 250.  Nothing is sent; the session stays
 * open for the messages that may follow.
 */
void
smtp_probe(struct smtp *s, struct smtp_result *res)
{
	CURLcode rc;
	long code;

	memset(res, 0, sizeof(*res));
	s->need_secret = 1;
	if (refresh_secret(s, res) == -1)
		return;
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 0L);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, "NOOP");
	rc = perform(s, &code);
	curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, NULL);
	classify(s, rc, code, res);
	res->code = rc == CURLE_OK ? (int)code : 0;
	if (rc == CURLE_OK)
		set_text(res, "%s answers%s%s%s",
		    s->url, s->conf.tls == TLS_NONE ? " (no TLS)" :
		    ", TLS verified", s->secret ? ", logged in as " : "",
		    s->secret ? s->conf.user : "");
}
