/*
 * smtp.c - SMTP submission over libcurl, the only file that includes
 * <curl/curl.h>.
 *
 * Up to [smtp] sessions "lanes" send at once, one message each.  A lane
 * is an easy handle and a thread of its own that runs curl_easy_perform:
 * libcurl keeps the handle's session open and sends MAIL/RCPT/DATA again
 * on it, so a whole outbox run opens one connection per lane (three
 * "connect from" in the server's log with sessions = 3).  Not libcurl's
 * multi interface: it waits for the reply to the end of the data inside
 * curl_multi_perform, blocking every other session (curl issue #8555,
 * still so in curl 8), and that reply (the server writing its queue file)
 * is the slowest step of a message.
 *
 * The threads only run curl_easy_perform and touch nothing but their own
 * lane: submitting, the verdict, the secret and every log line are the
 * caller's thread's.  libcurl reuses a connection only while the
 * credentials are unchanged, so the secret is fetched once per
 * connection, not per message: at the start, after a failure (libcurl
 * closes that session then) and after a long idle time; each lane's
 * handle gets it before its next message.
 *
 * Results are classified here; what to do about them (retry, backoff,
 * bouncing) is outbox.c's business.  The stage of each session (greeting,
 * EHLO, ..., message body) is followed through libcurl's debug callback,
 * so that a 5xx is permanent only when it answers this message, and so
 * the server's own words end up in the result text.
 */
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <errno.h>
#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "mimeout.h"
#include "smtp.h"
#include "util.h"

#define SMTP_CONNECT_TIMEOUT	30L	/* seconds */
/* check-config's probe: someone is waiting, and a server that has not
 * greeted in 10 s (postscreen waits 6 at most) is on the wrong port. */
#define SMTP_PROBE_CONNECT_TIMEOUT 10L
#define SMTP_REPLY_TIMEOUT	60L	/* one server reply */
#define SMTP_TOTAL_TIMEOUT	600L	/* one message, 10 MB at 20 kB/s */
#define SMTP_STOP_GRACE		10	/* s after SIGTERM for a message in flight */

static atomic_int *stop_flag;
static void (*wait_tick)(void);	/* about once a second in smtp_wait */
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

enum lane_state {
	L_IDLE,		/* no transfer: the caller's thread owns the lane */
	L_QUEUED,	/* set up, for the lane's thread to perform */
	L_RUNNING,	/* the lane's thread is in curl_easy_perform */
	L_DONE		/* performed: rc is the outcome */
};

/*
 * One session: an easy handle, the thread that performs its transfers,
 * and the message it carries.  state is guarded by smtp.mu; while it is
 * L_QUEUED or L_RUNNING the per-transfer fields belong to the lane's
 * thread, otherwise to the caller's.
 */
struct lane {
	struct smtp	*s;
	CURL		*curl;
	pthread_t	 thread;
	pthread_cond_t	 go;		/* state became L_QUEUED, or quit */
	int		 go_ready;	/* go initialised */
	int		 started;	/* thread running */
	int		 no;		/* 1, 2, ... for logs */
	enum lane_state	 state;
	CURLcode	 rc;

	/* The caller's thread only. */
	int		 busy;		/* submitted, not yet returned */
	int		 done;		/* finished: res is the verdict */
	int		 probe;		/* NOOP instead of a message */
	int		 tries;
	unsigned	 secret_gen;	/* which secret curl has */
	time_t		 last_use;	/* CLOCK_MONOTONIC seconds */
	void		*tag;
	struct smtp_result res;
	struct curl_slist *rcpts;
	const char	*data;		/* the caller's, while busy */
	size_t		 len;

	/* Per transfer: written by libcurl's callbacks. */
	const char	*src;		/* what curl reads next */
	size_t		 left;
	enum smtp_stage	 stage;
	int		 quitting;	/* QUIT sent: its 221 is not news */
	time_t		 stop_seen;	/* when the lane saw *stop_flag, or 0 */
	int		 hung;		/* a transfer timed out or was broken off */
	char		 reply[200];	/* the server's last reply line */
	char		 trace[160];	/* the stages passed, logged after */
	char		 errbuf[CURL_ERROR_SIZE];
};

struct smtp {
	pthread_mutex_t	 mu;
	pthread_cond_t	 done;		/* a lane became L_DONE */
	int		 sync_ready;	/* mu and done initialised */
	int		 quit;		/* under mu: the threads end */
	struct lane	*lanes;
	int		 nlanes;
	int		 busy;		/* lanes submitted, not yet returned */
	struct server_conf conf;	/* our copy, for config_secret */
	char		*url;
	char		*secret;	/* NULL when there is no user */
	unsigned	 secret_gen;	/* counts changes of the secret */
	int		 need_secret;	/* next transfer may open a session */
	long		 connects;
};

void
smtp_watch_stop(atomic_int *flag)
{
	stop_flag = flag;
}

void
smtp_while_waiting(void (*tick)(void))
{
	wait_tick = tick;
}

/*
 * libcurl calls this about once a second, also while it waits for a
 * reply.  After a stop, a message in flight gets SMTP_STOP_GRACE seconds
 * more: a server that answers sends its reply in that time, one that
 * hung does not hold the shutdown (the row stays queued, and is sent
 * again; as with a crash, it may arrive twice).
 */
static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct lane *l = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (stop_flag == NULL || !*stop_flag)
		return 0;
	if (l->stop_seen == 0)
		l->stop_seen = mono_s();
	return mono_s() - l->stop_seen >= SMTP_STOP_GRACE;
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

/* The stages a transfer passed ("connect > EHLO > MAIL FROM ..."). */
static void
trace_add(struct lane *l, enum smtp_stage st)
{
	size_t n = strlen(l->trace);

	if (n + 1 < sizeof(l->trace))
		snprintf(l->trace + n, sizeof(l->trace) - n, "%s%s",
		    n ? " > " : "", stage_names[st]);
}

/*
 * Runs on the lane's thread: it follows the stage and keeps the server's
 * last reply, and logs nothing (the log belongs to the caller's thread;
 * lane_done logs the trace).
 */
static int
debug_cb(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	struct lane *l = arg;
	enum smtp_stage st = l->stage;

	(void)c;
	switch (type) {
	case CURLINFO_HEADER_IN:
		if (!l->quitting)
			copy_line(l->reply, sizeof(l->reply), data, size);
		break;
	case CURLINFO_HEADER_OUT:
		/* libcurl says QUIT after a failure: keep what failed. */
		if (size >= 4 && strncasecmp(data, "QUIT", 4) == 0) {
			l->quitting = 1;
			break;
		}
		l->quitting = 0;
		/* The reply to keep is the one to this line, not the last
		 * one: a server that hangs after the data would leave "354". */
		l->reply[0] = '\0';
		/* During AUTH the client's lines are SASL data, not verbs;
		 * never logged, they may hold the secret. */
		if (l->stage != ST_AUTH || stage_of(data, size) != ST_OTHER)
			st = stage_of(data, size);
		break;
	case CURLINFO_DATA_OUT:
		if (l->stage == ST_DATA) {
			st = ST_BODY;
			l->reply[0] = '\0';	/* "354 go ahead" is past */
		}
		break;
	default:
		break;
	}
	if (st != l->stage) {
		l->stage = st;
		trace_add(l, st);
	}
	return 0;
}

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct lane *l = arg;
	size_t n = size * nmemb;

	if (n > l->left)
		n = l->left;
	if (n > 0)
		memcpy(dst, l->src, n);
	l->src += n;
	l->left -= n;
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

/*
 * Fetch the secret for the next sessions; -1 with err when there is none.
 * Each lane's handle gets it before its next transfer (lane_secret).
 */
static int
load_secret(struct smtp *s, char *err, size_t errlen)
{
	char *sec;

	if (!config_logs_in(&s->conf))
		return 0;
	if ((sec = config_secret(&s->conf, err, errlen)) == NULL)
		return -1;
	if (s->secret == NULL || strcmp(s->secret, sec) != 0) {
		wipe_free(s->secret);
		s->secret = sec;
		s->secret_gen++;
	} else
		wipe_free(sec);
	s->need_secret = 0;
	return 0;
}

/* Give an idle lane's handle the current secret. */
static CURLcode
lane_secret(struct smtp *s, struct lane *l)
{
	CURLcode rc;

	if (s->secret == NULL || l->secret_gen == s->secret_gen)
		return CURLE_OK;
	if (s->conf.auth == AUTH_XOAUTH2)
		rc = curl_easy_setopt(l->curl, CURLOPT_XOAUTH2_BEARER,
		    s->secret);
	else
		rc = curl_easy_setopt(l->curl, CURLOPT_PASSWORD, s->secret);
	if (rc == CURLE_OK)
		l->secret_gen = s->secret_gen;
	return rc;
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

/* The options of a lane that stay the same for every transfer. */
static CURLcode
setup(struct smtp *s, struct lane *l)
{
	static const char *mechs[] = {
		[AUTH_PLAIN] = "AUTH=PLAIN",
		[AUTH_LOGIN] = "AUTH=LOGIN",
		[AUTH_XOAUTH2] = "AUTH=XOAUTH2",
	};
	CURL *c = l->curl;
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
	SET(CURLOPT_ERRORBUFFER, l->errbuf);
	/* VERBOSE only feeds debug_cb; nothing reaches stderr. */
	SET(CURLOPT_DEBUGFUNCTION, debug_cb);
	SET(CURLOPT_DEBUGDATA, l);
	SET(CURLOPT_VERBOSE, 1L);
	SET(CURLOPT_READFUNCTION, read_cb);
	SET(CURLOPT_READDATA, l);
	SET(CURLOPT_XFERINFOFUNCTION, progress_cb);
	SET(CURLOPT_XFERINFODATA, l);
	SET(CURLOPT_NOPROGRESS, 0L);
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
	if (config_logs_in(&s->conf)) {
		SET(CURLOPT_USERNAME, s->conf.user);
		SET(CURLOPT_LOGIN_OPTIONS, mechs[s->conf.auth]);
	}
#undef SET
	return CURLE_OK;
}

/* A lane's thread: perform what is queued until told to quit. */
static void *
lane_run(void *arg)
{
	struct lane *l = arg;
	struct smtp *s = l->s;
	CURLcode rc;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (l->state != L_QUEUED && !s->quit)
			pthread_cond_wait(&l->go, &s->mu);
		if (l->state != L_QUEUED)
			break;
		l->state = L_RUNNING;
		pthread_mutex_unlock(&s->mu);
		rc = curl_easy_perform(l->curl);
		pthread_mutex_lock(&s->mu);
		l->rc = rc;
		if (rc == CURLE_OPERATION_TIMEDOUT ||
		    rc == CURLE_ABORTED_BY_CALLBACK)
			l->hung = 1;
		l->state = L_DONE;
		pthread_cond_signal(&s->done);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/*
 * The lanes' threads take no signals but faults: SIGTERM and SIGHUP must
 * reach the thread whose poll() they are meant to interrupt.
 */
static int
start_threads(struct smtp *s, char *err, size_t errlen)
{
	int rc = 0;

	for (int i = 0; i < s->nlanes && rc == 0; i++) {
		struct lane *l = &s->lanes[i];

		if ((rc = thread_start(&l->thread, lane_run, l)) == 0)
			l->started = 1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot start an SMTP session thread: %s",
		    strerror(rc));
		return -1;
	}
	return 0;
}

struct smtp *
smtp_new(const struct config *cfg, char *err, size_t errlen)
{
	static int curl_ready;
	const struct server_conf *c = &cfg->smtp;
	pthread_condattr_t ca;
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
	if (cfg->smtp_sessions < 1 || cfg->smtp_sessions > SMTP_SESSIONS_MAX) {
		snprintf(err, errlen, "[smtp] sessions: expected a number "
		    "from 1 to %d, got %d", SMTP_SESSIONS_MAX, cfg->smtp_sessions);
		return NULL;
	}
	/*
	 * Once, on the main thread, before the lanes exist.  The WAL
	 * checkpoint thread may run already: it only touches SQLite and
	 * the log, and libcurl >= 7.84 (Debian 12: 7.88) makes this call
	 * thread-safe anyway.
	 */
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
	s->nlanes = cfg->smtp_sessions;
	s->lanes = xcalloc((size_t)s->nlanes, sizeof(*s->lanes));

	/* Timed waits on the monotonic clock: a clock step is no wake-up. */
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_mutex_init(&s->mu, NULL) != 0 ||
	    pthread_cond_init(&s->done, &ca) != 0) {
		snprintf(err, errlen, "cannot set up SMTP session threads");
		smtp_free(s);
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	s->sync_ready = 1;
	for (int i = 0; i < s->nlanes; i++) {
		struct lane *l = &s->lanes[i];

		l->s = s;
		l->no = i + 1;
		l->last_use = mono_s();
		if (pthread_cond_init(&l->go, NULL) != 0) {
			snprintf(err, errlen, "cannot set up SMTP session "
			    "threads");
			smtp_free(s);
			return NULL;
		}
		l->go_ready = 1;
		if ((l->curl = curl_easy_init()) == NULL) {
			snprintf(err, errlen, "libcurl: cannot create a "
			    "handle");
			smtp_free(s);
			return NULL;
		}
		if ((rc = setup(s, l)) != CURLE_OK) {
			snprintf(err, errlen, "libcurl: %s",
			    curl_easy_strerror(rc));
			smtp_free(s);
			return NULL;
		}
	}
	/* A missing secret is a configuration error: say so now. */
	if (load_secret(s, err, errlen) == -1 ||
	    start_threads(s, err, errlen) == -1) {
		smtp_free(s);
		return NULL;
	}
	return s;
}

/* After a transfer: nothing may point at the caller's memory. */
static void
lane_reset(struct lane *l)
{
	curl_easy_setopt(l->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(l->curl, CURLOPT_MAIL_FROM, NULL);
	curl_easy_setopt(l->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_slist_free_all(l->rcpts);
	l->rcpts = NULL;
	l->data = l->src = NULL;
	l->len = l->left = 0;
}

void
smtp_free(struct smtp *s)
{
	if (s == NULL)
		return;
	if (s->sync_ready) {
		pthread_mutex_lock(&s->mu);
		s->quit = 1;
		for (int i = 0; i < s->nlanes; i++)
			if (s->lanes[i].go_ready)
				pthread_cond_signal(&s->lanes[i].go);
		pthread_mutex_unlock(&s->mu);
	}
	for (int i = 0; s->lanes && i < s->nlanes; i++) {
		struct lane *l = &s->lanes[i];

		/* A transfer still running is finished first. */
		if (l->started)
			pthread_join(l->thread, NULL);
		if (l->curl) {
			curl_socket_t fd;

			lane_reset(l);
			/*
			 * Cleaning up sends QUIT and waits for its reply on a
			 * handle of libcurl's own, with its own 120 s timeout.
			 * A server that hung would hold a shutdown that long:
			 * its socket is shut down first, so QUIT fails at
			 * once.
			 */
			if ((l->hung || (stop_flag && *stop_flag)) &&
			    curl_easy_getinfo(l->curl, CURLINFO_ACTIVESOCKET,
			    &fd) == CURLE_OK && fd != CURL_SOCKET_BAD)
				(void)shutdown(fd, SHUT_RDWR);
			curl_easy_cleanup(l->curl);
		}
		if (l->go_ready)
			pthread_cond_destroy(&l->go);
	}
	if (s->sync_ready) {
		pthread_cond_destroy(&s->done);
		pthread_mutex_destroy(&s->mu);
	}
	free(s->lanes);
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

int
smtp_lanes(const struct smtp *s)
{
	return s->nlanes;
}

long
smtp_connections(const struct smtp *s)
{
	return s->connects;
}

static int
secret_from_outside(const struct smtp *s)
{
	return s->conf.password_command != NULL ||
	    s->conf.password_file != NULL;
}

/* Before a transfer: a fresh secret when a new session is likely. */
static int
refresh_secret(struct smtp *s, const struct lane *l, struct smtp_result *res)
{
	char err[200];

	if (!s->need_secret && mono_s() - l->last_use < SMTP_IDLE_REFRESH)
		return 0;
	if (load_secret(s, err, sizeof(err)) == 0)
		return 0;
	res->status = SMTP_TEMPFAIL;
	res->code = 0;
	res->config_fault = 1;
	set_text(res, "no [smtp] secret: %s", err);
	return -1;
}

/*
 * After a 535 on lane l: a secret from a command or file may have changed
 * (an OAuth token expired and was renewed), perhaps already for another
 * lane.  1 when l's handle has an older secret than the one now loaded,
 * so the transfer is worth one more try.
 */
static int
secret_renewed(struct smtp *s, struct lane *l)
{
	char err[200];

	if (!secret_from_outside(s) || s->secret == NULL)
		return 0;
	if (l->secret_gen == s->secret_gen &&
	    load_secret(s, err, sizeof(err)) == -1)
		return 0;
	return l->secret_gen != s->secret_gen;
}

/*
 * Is a permanent refusal about the message rather than the address?  At
 * MAIL FROM it is the size; after DATA it is the content (a size limit,
 * a virus or content filter), unless the enhanced status names the
 * mailbox or address (5.1.x, 5.2.x: "552 5.2.2 mailbox full").  One
 * recipient per transaction, so RCPT TO is about that recipient.
 */
static int
refused_message(const struct lane *l)
{
	const char *p = l->reply;

	if (l->stage == ST_MAIL)
		return 1;
	if (l->stage != ST_DATA && l->stage != ST_BODY)
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	while (*p == ' ' || *p == '-')
		p++;
	return !(p[0] == '5' && p[1] == '.' && (p[2] == '1' || p[2] == '2') &&
	    p[3] == '.');
}

/*
 * Is a 5xx at RCPT TO about us rather than the recipient?  A relay that
 * does not take mail from this host or without a login ("554 5.7.1
 * <unknown[192.0.2.1]>: Client host rejected", "Relay access denied",
 * Exchange Online's 5.7.64), or that refuses our sender address (Postfix
 * says so at RCPT): every recipient would get that answer, and marking
 * each of them bouncing would stop all their mail.
 */
static int
refused_us(const struct lane *l)
{
	static const char *const says[] = {
		"client host rejected", "relay access denied",
		"relaying denied", "relay not permitted", "relaying not allowed",
		"not permitted to relay", "unable to relay",
		"authentication required", "must authenticate",
		"not authenticated", "sender address rejected", "5.7.57",
		"5.7.64", "blocked using", "client host [",
	};

	if (l->stage != ST_RCPT || l->reply[0] != '5')
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(says); i++)
		if (strcasestr(l->reply, says[i]) != NULL)
			return 1;
	return 0;
}

/*
 * A login refused with a 4xx ("454 4.7.0 Temporary authentication
 * failure": Postfix while Dovecot's auth is away) is no wrong password.
 */
static int
login_for_now(const struct lane *l)
{
	return l->reply[0] == '4';
}

/*
 * No greeting, or TLS where the port has none: likely the URL's port or
 * scheme, not a server away ("connect: Operation timed out … 0 bytes
 * received" said nothing of that).
 */
static const char *
connect_hint(const struct smtp *s, const struct lane *l, CURLcode rc)
{
	if (l->stage != ST_CONNECT)
		return "";
	if (rc == CURLE_SSL_CONNECT_ERROR && strcmp(s->conf.scheme,
	    "smtps") == 0)
		return " (smtps:// needs a port that speaks TLS from the "
		    "start, usually 465; port 587 is smtp:// with tls = "
		    "required)";
	if (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_WEIRD_SERVER_REPLY)
		return " (no SMTP greeting: is this an SMTP port? smtps:// "
		    "is usually 465, smtp:// 587 or 25)";
	return "";
}

/*
 * The verdict.  code is the reply to this message's transaction; it is
 * 0 when the session failed before MAIL FROM (connect, TLS, EHLO, AUTH):
 * then the server or our configuration is at fault, not the message, and
 * outbox.c lets the rest wait instead of trying each in turn.
 */
static void
classify(const struct smtp *s, const struct lane *l, CURLcode rc, long code,
    struct smtp_result *res)
{
	const char *stage = stage_names[l->stage];
	const char *why = l->errbuf[0] ? l->errbuf : curl_easy_strerror(rc);
	int in_transaction = l->stage >= ST_MAIL && l->stage <= ST_BODY;
	char echo[32];

	res->code = in_transaction ? (int)code : 0;
	if (rc == CURLE_OK) {
		res->status = SMTP_SENT;
		res->code = code >= 200 && code < 300 ? (int)code : 250;
		set_text(res, "%s", l->reply[0] ?
		    l->reply : "250 accepted");
		return;
	}
	res->status = SMTP_TEMPFAIL;
	/* Cases ours to fix: refused login, untrusted certificate, no
	 * STARTTLS.  Anything else is a server that is away for now. */
	res->config_fault = (rc == CURLE_LOGIN_DENIED && !login_for_now(l)) ||
	    rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR ||
	    rc == CURLE_USE_SSL_FAILED;
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		/* progress_cb on a stop: not this message's fault. */
		res->code = 0;
		set_text(res, "%s: stopping, and the server did not answer "
		    "within %d s; the message stays queued", stage,
		    SMTP_STOP_GRACE);
		return;
	case CURLE_LOGIN_DENIED:
		if (login_for_now(l)) {
			set_text(res, "login not possible for now, the server "
			    "says; trying again later: %s", l->reply);
			return;
		}
		/* A refused XOAUTH2 ends on "334 <base64 JSON>", the
		 * server's error challenge: no use to a reader. */
		if (s->conf.auth == AUTH_XOAUTH2)
			set_text(res, "XOAUTH2 access token refused for %s "
			    "(check that [smtp] password_command or "
			    "password_file gives a current one for this user)",
			    s->conf.user ? s->conf.user : "?");
		else
			set_text(res, "login refused for %s (check [smtp] "
			    "user and password)%s: %s", s->conf.user ?
			    s->conf.user : "?", config_secret_hint(&s->conf),
			    l->reply[0] ? l->reply : why);
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
	if (in_transaction && code >= 500 && refused_us(l)) {
		/* Ours to fix, like a refused login: the mail waits and
		 * nobody is marked.  Deferred row by row (outbox.c stops
		 * the batch), so that a reply taken for one of these
		 * wrongly holds up only its own row. */
		res->config_fault = 1;
		set_text(res, "%s: the server refuses this host or sender, "
		    "not the recipient (check [smtp] host, user and password, "
		    "and that the server relays for this host and sender "
		    "address): %s", stage, l->reply);
		return;
	}
	if (in_transaction && code >= 500 &&
	    (l->stage != ST_MAIL || code == 552)) {
		/* The recipient or this message is refused for good.  At
		 * MAIL FROM that is only a size limit (SIZE=); any other
		 * refusal there is about our sender address. */
		res->status = SMTP_PERMFAIL;
		res->about_message = refused_message(l);
	}
	/* libcurl's "RCPT failed: 550" only repeats the server's reply. */
	snprintf(echo, sizeof(echo), "failed: %ld", code);
	if (l->reply[0] && code > 0 && strstr(why, echo) == NULL)
		set_text(res, "%s: %s (%s)", stage,
		    l->reply, why);
	else if (l->reply[0] && code > 0)
		set_text(res, "%s: %s", stage, l->reply);
	else
		set_text(res, "%s: %s%s", stage, why, connect_hint(s, l, rc));
}

/* The lane could not even start: the rest of the outbox may wait. */
static void
lane_fail(struct lane *l, const char *why)
{
	l->res.status = SMTP_TEMPFAIL;
	l->res.code = 0;
	set_text(&l->res, "libcurl: %s", why);
	lane_reset(l);
	l->done = 1;
}

/* Hand one transfer, set up by the caller, to the lane's thread. */
static void
lane_start(struct smtp *s, struct lane *l)
{
	CURLcode rc;

	l->errbuf[0] = '\0';
	l->reply[0] = '\0';
	l->trace[0] = '\0';
	l->stage = ST_CONNECT;
	trace_add(l, ST_CONNECT);
	l->quitting = 0;
	l->src = l->data;
	l->left = l->len;
	if ((rc = lane_secret(s, l)) != CURLE_OK) {
		lane_fail(l, curl_easy_strerror(rc));
		return;
	}
	pthread_mutex_lock(&s->mu);
	l->state = L_QUEUED;
	pthread_cond_signal(&l->go);
	pthread_mutex_unlock(&s->mu);
}

/* The reply that decided; libcurl's code may be that of a later QUIT. */
static long
reply_code(const struct lane *l)
{
	long code = 0;

	if (l->reply[0] >= '2' && l->reply[0] <= '5' &&
	    l->reply[1] >= '0' && l->reply[1] <= '9' &&
	    l->reply[2] >= '0' && l->reply[2] <= '9')
		return (l->reply[0] - '0') * 100 + (l->reply[1] - '0') * 10 +
		    (l->reply[2] - '0');
	curl_easy_getinfo(l->curl, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* The lane's thread performed its transfer with rc. */
static void
lane_done(struct smtp *s, struct lane *l, CURLcode rc)
{
	long code = reply_code(l), n = 0;

	log_debug("smtp[%d]: %s", l->no, l->trace);
	if (curl_easy_getinfo(l->curl, CURLINFO_NUM_CONNECTS, &n) ==
	    CURLE_OK && n > 0) {
		s->connects += n;
		log_debug("smtp[%d]: new connection to %s", l->no, s->url);
	}
	l->last_use = mono_s();
	/* libcurl closes the session after any failure. */
	if (rc != CURLE_OK)
		s->need_secret = 1;
	if (rc == CURLE_LOGIN_DENIED && !l->probe && l->tries++ == 0 &&
	    secret_renewed(s, l)) {
		log_info("smtp: login refused, retrying with a fresh secret");
		lane_start(s, l);
		return;
	}
	classify(s, l, rc, code, &l->res);
	if (l->probe) {
		l->res.code = rc == CURLE_OK ? (int)code : 0;
		if (rc == CURLE_OK)
			set_text(&l->res, "%s answers%s%s%s", s->url,
			    s->conf.tls == TLS_NONE ? " (no TLS)" :
			    ", TLS verified", s->secret ? ", logged in as " :
			    "", s->secret ? s->conf.user : "");
	}
	lane_reset(l);
	l->done = 1;
}

/* Block until some lane's thread has performed its transfer. */
static struct lane *
performed_lane(struct smtp *s)
{
	struct lane *l = NULL;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (int i = 0; i < s->nlanes && l == NULL; i++)
			if (s->lanes[i].state == L_DONE)
				l = &s->lanes[i];
		if (l != NULL)
			break;
		if (wait_tick == NULL)
			pthread_cond_wait(&s->done, &s->mu);
		else {
			struct timespec at;

			clock_gettime(CLOCK_MONOTONIC, &at);
			at.tv_sec += 1;
			if (pthread_cond_timedwait(&s->done, &s->mu, &at) ==
			    ETIMEDOUT) {
				pthread_mutex_unlock(&s->mu);
				wait_tick();
				pthread_mutex_lock(&s->mu);
			}
		}
	}
	l->state = L_IDLE;
	pthread_mutex_unlock(&s->mu);
	return l;
}

static struct lane *
done_lane(struct smtp *s)
{
	for (int i = 0; i < s->nlanes; i++)
		if (s->lanes[i].done)
			return &s->lanes[i];
	return NULL;
}

/* An idle lane, marked busy for a new submission. */
static struct lane *
take_lane(struct smtp *s, void *tag)
{
	for (int i = 0; i < s->nlanes; i++) {
		struct lane *l = &s->lanes[i];

		if (l->busy)
			continue;
		l->busy = 1;
		s->busy++;
		l->tag = tag;
		l->tries = 0;
		l->probe = 0;
		memset(&l->res, 0, sizeof(l->res));
		return l;
	}
	fatalx("smtp: all %d lanes are busy", s->nlanes);
}

void
smtp_submit(struct smtp *s, const char *from, const char *rcpt,
    const char *data, size_t len, void *tag)
{
	struct lane *l = take_lane(s, tag);
	struct curl_slist *rl;
	char *env;

	/* libcurl would put these in MAIL FROM / RCPT TO as they are: a
	 * CR or LF here would be an SMTP command of its own. */
	if (from == NULL || (*from != '\0' && !mime_addr_valid(from)) ||
	    rcpt == NULL || !mime_addr_valid(rcpt)) {
		l->res.status = SMTP_PERMFAIL;
		set_text(&l->res, "invalid envelope address (%s)",
		    rcpt && mime_addr_valid(rcpt) ? "sender" : "recipient");
		l->done = 1;
		return;
	}
	if (refresh_secret(s, l, &l->res) == -1) {
		l->done = 1;
		return;
	}
	/* libcurl copies MAIL FROM; the recipient list stays ours. */
	env = xasprintf("<%s>", rcpt);
	if ((rl = curl_slist_append(NULL, env)) == NULL)
		fatalx("curl_slist_append: out of memory");
	free(env);
	env = xasprintf("<%s>", from);
	l->rcpts = rl;
	curl_easy_setopt(l->curl, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(l->curl, CURLOPT_MAIL_FROM, env);
	curl_easy_setopt(l->curl, CURLOPT_MAIL_RCPT, rl);
	curl_easy_setopt(l->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(l->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	free(env);
	l->data = data;
	l->len = len;
	lane_start(s, l);
}

int
smtp_wait(struct smtp *s, void **tag, struct smtp_result *res)
{
	struct lane *l;

	*tag = NULL;
	memset(res, 0, sizeof(*res));
	while ((l = done_lane(s)) == NULL) {
		if (s->busy == 0)
			return 0;
		l = performed_lane(s);
		lane_done(s, l, l->rc);
	}
	*tag = l->tag;
	*res = l->res;
	l->tag = NULL;
	l->done = 0;
	l->busy = 0;
	s->busy--;
	return 1;
}

void
smtp_send(struct smtp *s, const char *from, const char *rcpt,
    const char *data, size_t len, struct smtp_result *res)
{
	void *tag;

	if (s->busy)
		fatalx("smtp_send: %d messages in flight", s->busy);
	smtp_submit(s, from, rcpt, data, len, NULL);
	smtp_wait(s, &tag, res);
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
	struct lane *l;
	void *tag;

	if (s->busy)
		fatalx("smtp_probe: %d messages in flight", s->busy);
	l = take_lane(s, NULL);
	l->probe = 1;
	s->need_secret = 1;
	if (refresh_secret(s, l, &l->res) == -1)
		l->done = 1;
	else {
		curl_easy_setopt(l->curl, CURLOPT_UPLOAD, 0L);
		curl_easy_setopt(l->curl, CURLOPT_MAIL_RCPT, NULL);
		curl_easy_setopt(l->curl, CURLOPT_CUSTOMREQUEST, "NOOP");
		curl_easy_setopt(l->curl, CURLOPT_CONNECTTIMEOUT,
		    SMTP_PROBE_CONNECT_TIMEOUT);
		lane_start(s, l);
	}
	smtp_wait(s, &tag, res);
}

/* ---- a plain-TCP look at what the server offers (check-config) ---- */

/* One reply line from fd into line (NUL-terminated, CRLF cut); -1 on
 * error, timeout or end. */
static int
smtp_line(int fd, char *line, size_t len)
{
	size_t n = 0;
	char ch;

	for (;;) {
		ssize_t r = recv(fd, &ch, 1, 0);

		if (r <= 0)
			return -1;
		if (ch == '\n')
			break;
		if (ch != '\r' && n + 1 < len)
			line[n++] = ch;
	}
	line[n] = '\0';
	return n >= 3 ? 0 : -1;
}

int
smtp_offers_auth(const char *host, unsigned port, const char *helo)
{
	struct addrinfo hints = { 0 }, *res, *ai;
	struct timeval tv = { 10, 0 };
	char service[16], line[1024];
	int fd = -1, offers = 0, rc = -1;

	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(host, service, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype |
		    SOCK_CLOEXEC, ai->ai_protocol)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -1;
	do {			/* the greeting, maybe several lines */
		if (smtp_line(fd, line, sizeof(line)) == -1)
			goto out;
	} while (line[3] == '-');
	if (line[0] != '2')
		goto out;
	snprintf(line, sizeof(line), "EHLO %s\r\n", helo);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) == -1)
		goto out;
	do {
		if (smtp_line(fd, line, sizeof(line)) == -1)
			goto out;
		if (line[0] != '2')
			goto out;
		if (strncasecmp(line + 4, "AUTH", 4) == 0 &&
		    (line[8] == ' ' || line[8] == '=' || line[8] == '\0'))
			offers = 1;
	} while (line[3] == '-');
	rc = offers;
	(void)send(fd, "QUIT\r\n", 6, MSG_NOSIGNAL);
out:
	close(fd);
	return rc;
}
