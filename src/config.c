/*
 * config.c - read the INI file of SPEC §3 with libinih into struct config.
 * Unknown sections and keys are errors: a typo in a config file should be
 * found by check-config, not by a teacher whose mail went unanswered.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "log.h"
#include "mimeout.h"
#include "template.h"
#include "util.h"

struct loader {
	struct config	*c;
	FILE		*fp;
	int		 lineno;
	char		*err;
	size_t		 errlen;
	int		 failed;
	int		 fail_line;
	char		 raw[1024];	/* the line being read, as written */
	char		*seen[128];	/* "section key" of each key read */
	int		 seen_line[128];
	size_t		 nseen;
};

/* The line a key was given on, or 0. */
static int
seen_on(const struct loader *l, const char *section, const char *key)
{
	char *k = xasprintf("%s %s", section, key);

	for (size_t i = 0; i < l->nseen; i++)
		if (strcmp(l->seen[i], k) == 0) {
			free(k);
			return l->seen_line[i];
		}
	free(k);
	return 0;
}

/*
 * A key given twice is a mistake to point out, not a silent "the last one
 * wins": the first may be the one the admin is looking at.
 */
static int
given_before(struct loader *l, const char *section, const char *key)
{
	char *k;
	int n;

	if ((n = seen_on(l, section, key)) > 0)
		return n;
	k = xasprintf("%s %s", section, key);
	if (l->nseen < ARRAY_LEN(l->seen)) {
		l->seen_line[l->nseen] = l->lineno;
		l->seen[l->nseen++] = k;
	} else
		free(k);
	return 0;
}

static void
fail(struct loader *l, const char *section, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct loader *l, const char *section, const char *key,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int line = l->lineno;

	if (l->failed)
		return;		/* the first error is the one to fix */
	/* Checks made once the whole file is read point at the key's line
	 * (a key that is missing has none). */
	if (line == 0)
		line = seen_on(l, section, key);
	l->failed = 1;
	l->fail_line = line;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(l->err, l->errlen, "%s:%d: [%s] %s: %s",
		    l->c->file, line, section, key, msg);
	else
		snprintf(l->err, l->errlen, "%s: [%s] %s: %s",
		    l->c->file, section, key, msg);
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/*
 * An optional key written without a value ("ca_file =", as SPEC §3's own
 * example has it) is not set, rather than a file named "".
 */
static void
set_opt(char **dst, const char *v)
{
	free(*dst);
	*dst = *v ? xstrdup(v) : NULL;
}

static int
parse_bool(const char *v, int *out)
{
	if (str_eq_ci(v, "yes") || str_eq_ci(v, "true") || str_eq_ci(v, "on") ||
	    strcmp(v, "1") == 0)
		*out = 1;
	else if (str_eq_ci(v, "no") || str_eq_ci(v, "false") ||
	    str_eq_ci(v, "off") || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_int(const char *v, long lo, long hi, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

/* No mail server takes more (Postfix: 10M, Exchange Online: 150M). */
#define SIZE_MAX_CONFIG	(1024ULL * 1024 * 1024)

/* "10M", "512k", "2048": 0; -1 not a size; -2 larger than SIZE_MAX_CONFIG. */
static int
parse_size(const char *v, size_t *out)
{
	char *end;
	unsigned long long n;

	unsigned long long unit = 1;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || v[0] == '-')
		return -1;
	if (*end == 'k' || *end == 'K')
		unit = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		unit = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		unit = 1024ULL * 1024 * 1024, end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || n == 0)
		return -1;
	/* Checked before multiplying: 2^64 + 1k was 1k. */
	if (n > SIZE_MAX_CONFIG / unit)
		return -2;
	*out = (size_t)(n * unit);
	return 0;
}

/* Separators between the items of a list value. */
#define LIST_SEPS	",; \t"

static void
list_push(char ***list, size_t *n, size_t *cap, const char *item)
{
	if (*n == *cap) {
		*cap *= 2;
		*list = xreallocarray(*list, *cap + 1, sizeof(**list));
	}
	(*list)[(*n)++] = xstrdup(item);
	str_lower((*list)[*n - 1]);
	(*list)[*n] = NULL;
}

/* An empty, NULL-terminated list with room to grow. */
static char **
list_new(size_t *n, size_t *cap)
{
	*n = 0;
	*cap = 4;
	return xcalloc(*cap + 1, sizeof(char *));
}

/* A list of domains, lower-cased; items separated by ',', ';' or white
 * space. */
static char **
parse_list(const char *v)
{
	char *copy = xstrdup(v), **list;
	size_t n, cap;

	list = list_new(&n, &cap);
	for (char *p = copy; *p; ) {
		size_t len = strcspn(p, LIST_SEPS);

		if (len > 0) {
			char save = p[len];

			p[len] = '\0';
			list_push(&list, &n, &cap, p);
			p[len] = save;
		}
		p += len;
		p += strspn(p, LIST_SEPS);
	}
	free(copy);
	return list;
}

int
config_domain_valid(const char *d)
{
	/* A mail domain has a dot: "localhost" or "jl" is a slip. */
	return strlen(d) <= 253 && strchr(d, '.') != NULL &&
	    mime_domain_valid(d);
}

int
config_address_valid(const char *a)
{
	const char *at = strrchr(a, '@');

	/* What leernet can send to (mime_addr_valid), at a mail domain. */
	return at != NULL && mime_addr_valid(a) && config_domain_valid(at + 1);
}

/* Why an item that is no domain or address was refused: a hint. */
static const char *
item_hint(const char *item)
{
	if (item[0] == '#')
		return "; '#' starts a comment only at the start of a line";
	if (strchr(item, '@') != NULL)
		return "; write the domain without a name before it, e.g. "
		    "school.nl";
	return "";
}

/*
 * libinih cuts a value at " ;" (a comment).  In a list that loses items
 * without a word ("domains = a.nl ; b.nl"), so an item right after it is
 * an error, not a comment.
 */
static int
lost_to_comment(struct loader *l, const char *section, const char *key,
    int addresses)
{
	const char *p = l->raw;
	char word[256];
	size_t n;

	while ((p = strchr(p, ';')) != NULL) {
		if (p > l->raw && (p[-1] == ' ' || p[-1] == '\t'))
			break;
		p++;
	}
	if (p == NULL)
		return 0;
	p++;
	p += strspn(p, " \t");
	n = strcspn(p, ",; \t\r\n");
	snprintf(word, sizeof(word), "%.*s", (int)(n < 255 ? n : 255), p);
	if (!(addresses ? config_address_valid(word) || strchr(p, '<') :
	    config_domain_valid(word)))
		return 0;
	fail(l, section, key, "' ;' starts a comment, so '%s' after it would "
	    "be ignored: separate the items with ',' (or ';' without a space "
	    "before it)", word);
	return 1;
}

static char **
parse_domains(struct loader *l, const char *key, const char *v)
{
	char **list = parse_list(v);

	if (lost_to_comment(l, "organization", key, 0))
		return list;

	for (char **p = list; *p; p++)
		if (!config_domain_valid(*p)) {
			fail(l, "organization", key, "'%s' is not a mail domain "
			    "(expected e.g. school.nl; separate domains with "
			    "',')%s", *p, item_hint(*p));
			break;
		}
	return list;
}

/*
 * Addresses, each bare or as "Name <addr>" (the name is dropped),
 * separated by ',' or ';'; bare ones also by white space.  Lower-cased.
 */
static char **
parse_addresses(struct loader *l, const char *section, const char *key,
    const char *v)
{
	char *copy = xstrdup(v), **list;
	size_t n, cap;

	list = list_new(&n, &cap);
	if (lost_to_comment(l, section, key, 1))
		*copy = '\0';
	for (char *p = copy; *p && !l->failed; ) {
		char *chunk = p, *lt;
		int quoted = 0;

		/* One chunk up to a ',' or ';' outside "quotes". */
		for (; *p && (quoted || (*p != ',' && *p != ';')); p++)
			if (*p == '"')
				quoted = !quoted;
		if (*p)
			*p++ = '\0';
		if ((lt = strchr(chunk, '<')) != NULL) {
			char *gt = strchr(lt, '>'), *addr;

			if (gt == NULL || gt[1 + strspn(gt + 1, " \t")] != '\0') {
				fail(l, section, key, "'%s' is not an address "
				    "(expected local@domain or Name <local@domain>)",
				    str_trim(chunk));
				break;
			}
			*gt = '\0';
			addr = str_trim(lt + 1);
			if (!config_address_valid(addr)) {
				fail(l, section, key, "'%s' is not an address "
				    "(expected local@domain)", addr);
				break;
			}
			list_push(&list, &n, &cap, addr);
			continue;
		}
		for (char *w = chunk; *w; ) {
			size_t len;

			w += strspn(w, " \t");
			if ((len = strcspn(w, " \t")) == 0)
				break;
			if (w[len])
				w[len++] = '\0';
			if (!config_address_valid(w)) {
				fail(l, section, key, "'%s' is not an address "
				    "(expected local@domain or Name <local@domain>, "
				    "separated by ',')%s", w, w[0] == '#' ?
				    item_hint(w) : "");
				break;
			}
			list_push(&list, &n, &cap, w);
			w += len;
		}
	}
	free(copy);
	return list;
}

static void
free_list(char **list)
{
	if (list == NULL)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

static int
server_key(struct loader *l, struct server_conf *s, const char *key,
    const char *v)
{
	if (strcmp(key, "url") == 0)
		set_str(&s->url, v);
	else if (strcmp(key, "user") == 0)
		set_opt(&s->user, v);
	else if (strcmp(key, "password") == 0)
		set_opt(&s->password, v);
	else if (strcmp(key, "password_file") == 0)
		set_opt(&s->password_file, v);
	else if (strcmp(key, "password_command") == 0)
		set_opt(&s->password_command, v);
	else if (strcmp(key, "ca_file") == 0)
		set_opt(&s->ca_file, v);
	else if (strcmp(key, "auth") == 0) {
		if (str_eq_ci(v, "plain"))
			s->auth = AUTH_PLAIN;
		else if (str_eq_ci(v, "login"))
			s->auth = AUTH_LOGIN;
		else if (str_eq_ci(v, "xoauth2"))
			s->auth = AUTH_XOAUTH2;
		else
			fail(l, s->section, key,
			    "expected plain, login or xoauth2, got '%s'", v);
	} else if (strcmp(key, "tls") == 0) {
		if (str_eq_ci(v, "required"))
			s->tls = TLS_REQUIRED;
		else if (str_eq_ci(v, "none"))
			s->tls = TLS_NONE;
		else
			fail(l, s->section, key,
			    "expected required or none, got '%s'%s", v,
			    str_eq_ci(v, "starttls") || str_eq_ci(v, "ssl") ||
			    str_eq_ci(v, "tls") || str_eq_ci(v, "yes") ?
			    " (TLS from the start or STARTTLS is chosen by the "
			    "url: imaps:// and smtps:// start with TLS, imap:// "
			    "and smtp:// use STARTTLS; tls = required is right for both)"
			    : "");
	} else
		return 0;
	return 1;
}

/*
 * Days as written in schedules, Dutch and English: the full name or its
 * two- or three-letter abbreviation, nothing else ("maart" is no day).
 */
static int
parse_wday(const char *w)
{
	static const char *const names[7][6] = {
		{ "sunday", "sun", "su", "zondag", "zon", "zo" },
		{ "monday", "mon", "mo", "maandag", "maa", "ma" },
		{ "tuesday", "tue", "tu", "dinsdag", "din", "di" },
		{ "wednesday", "wed", "we", "woensdag", "woe", "wo" },
		{ "thursday", "thu", "th", "donderdag", "don", "do" },
		{ "friday", "fri", "fr", "vrijdag", "vri", "vr" },
		{ "saturday", "sat", "sa", "zaterdag", "zat", "za" },
	};

	for (int i = 0; i < 7; i++)
		for (size_t k = 0; k < ARRAY_LEN(names[i]); k++)
			if (str_eq_ci(w, names[i][k]))
				return i;
	return -1;
}

static int
parse_hhmm(const char *s, int *h, int *m)
{
	char tail;

	if (sscanf(s, "%d:%d%c", h, m, &tail) != 2 || *h < 0 || *h > 23 ||
	    *m < 0 || *m > 59)
		return -1;
	return 0;
}

static void
parse_schedule(struct loader *l, const char *key, const char *v)
{
	struct config *c = l->c;
	char *copy = xstrdup(v), *words[4] = { NULL };
	size_t n = 0;

	for (char *p = copy, *save = NULL, *w;
	    n < ARRAY_LEN(words) && (w = strtok_r(p, " \t", &save)) != NULL;
	    p = NULL)
		words[n++] = w;
	if (n == 1 && str_eq_ci(words[0], "off"))
		c->digest = DIGEST_OFF;
	else if (n == 2 && str_eq_ci(words[0], "daily") &&
	    parse_hhmm(words[1], &c->digest_hour, &c->digest_min) == 0)
		c->digest = DIGEST_DAILY;
	else if (n == 3 && str_eq_ci(words[0], "weekly") &&
	    (c->digest_wday = parse_wday(words[1])) >= 0 &&
	    parse_hhmm(words[2], &c->digest_hour, &c->digest_min) == 0)
		c->digest = DIGEST_WEEKLY;
	else
		fail(l, "digest", key, "expected 'daily HH:MM', 'weekly DAY "
		    "HH:MM' or 'off', got '%s'", v);
	free(copy);
}

/* http(s)://host..., without white space or control characters. */
static int
url_is_http(const char *v)
{
	const char *host;

	if (str_startswith_ci(v, "https://"))
		host = v + 8;
	else if (str_startswith_ci(v, "http://"))
		host = v + 7;
	else
		return 0;
	if (*host == '\0' || *host == '/')
		return 0;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* Does the host of http(s)://HOST/... hold a byte above 0x7f? */
static int
host_8bit(const char *v)
{
	const char *h = strstr(v, "://");

	for (h = h ? h + 3 : v; *h && *h != '/'; h++)
		if ((unsigned char)*h >= 0x80)
			return 1;
	return 0;
}

/* v with every byte above 0x7f percent-encoded.  Caller frees. */
static char *
url_escape_8bit(const char *v)
{
	struct buf b;

	buf_init(&b, 0);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p >= 0x80)
			buf_addf(&b, "%%%02X", *p);
		else
			buf_addc(&b, (char)*p);
	return buf_steal(&b);
}

/* Every key, per section, for "did you mean" (keep in step with handler). */
static const struct {
	const char *section;
	const char *keys;
} known_keys[] = {
	{ "mailbox", "url user password password_file password_command auth "
	    "tls ca_file idle poll_interval done_folder failed_folder "
	    "keep_done_days" },
	{ "smtp", "url user password password_file password_command auth tls "
	    "ca_file from sessions" },
	{ "database", "path keep_sent_days" },
	{ "organization", "name domains coordinators timezone language "
	    "announce hours_per_network trusted_authserv_id staff_only "
	    "max_requests_per_hour" },
	{ "digest", "schedule" },
	{ "lists", "max_size need_proof" },
	{ "publish", "dir base_url" },
	{ "paths", "templates" },
};

/* Levenshtein distance of two short words, capped at 9. */
static size_t
key_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t d[40][40];

	if (la >= 40 || lb >= 40)
		return 9;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = d[i - 1][j - 1] +
			    (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;

			d[i][j] = sub < del ? (sub < ins ? sub : ins) :
			    (del < ins ? del : ins);
		}
	return d[la][lb];
}

/*
 * " (did you mean 'poll_interval'?)", " (it belongs in [smtp])", or the
 * section's keys: "unknown key" alone left the admin to guess.
 */
static void
suggest_key(const char *section, const char *key, char *out, size_t len)
{
	const char *best = NULL, *mine = NULL;
	size_t best_d = 3, best_len = 0, klen = strlen(key);

	*out = '\0';
	for (size_t i = 0; i < ARRAY_LEN(known_keys); i++) {
		const char *p = known_keys[i].keys;
		int here = strcmp(known_keys[i].section, section) == 0;

		if (here)
			mine = p;
		while (*p) {
			size_t n = strcspn(p, " "), d;

			if (n == klen && strncmp(p, key, n) == 0 && !here) {
				snprintf(out, len, " (it belongs in [%s])",
				    known_keys[i].section);
				return;
			}
			d = key_distance(key, klen, p, n);
			if (here && d < best_d) {
				best = p;
				best_len = n;
				best_d = d;
			}
			p += n + (p[n] == ' ');
		}
	}
	if (best != NULL)
		snprintf(out, len, " (did you mean '%.*s'?)", (int)best_len,
		    best);
	else if (mine != NULL)
		snprintf(out, len, " ([%s] knows: %s)", section, mine);
}

static int
handler(void *user, const char *section, const char *key, const char *v)
{
	struct loader *l = user;
	struct config *c = l->c;
	char hint[512];
	int n;

	if (l->failed)
		return 1;
	if (key == NULL)	/* a section header alone */
		return 1;
	/* INI reads an indented line as more of the value above it: libinih
	 * hands it over as that key again. */
	if ((l->raw[0] == ' ' || l->raw[0] == '\t') &&
	    seen_on(l, section, key) > 0) {
		fail(l, section, key, "this line is indented, which makes it "
		    "part of the value of '%s' above it; start it at the "
		    "beginning of the line", key);
		return 1;
	}
	if ((n = given_before(l, section, key)) > 0) {
		fail(l, section, key, "given twice (also on line %d); keep one",
		    n);
		return 1;
	}
	if (strcmp(section, "mailbox") == 0) {
		if (server_key(l, &c->mailbox, key, v))
			return 1;
		if (strcmp(key, "idle") == 0) {
			if (parse_bool(v, &c->idle) == -1)
				fail(l, section, key, "expected yes or no, got '%s'", v);
		} else if (strcmp(key, "poll_interval") == 0) {
			if (parse_int(v, 5, 86400, &c->poll_interval) == -1)
				fail(l, section, key, "expected seconds between 5 "
				    "and 86400, got '%s'", v);
		} else if (strcmp(key, "keep_done_days") == 0) {
			if (parse_int(v, 0, KEEP_SENT_DAYS_MAX,
			    &c->keep_done_days) == -1)
				fail(l, section, key, "expected a number of "
				    "days from 0 (keep for ever) to %d, got '%s'",
				    KEEP_SENT_DAYS_MAX, v);
		} else if (strcmp(key, "done_folder") == 0)
			set_str(&c->done_folder, v);
		else if (strcmp(key, "failed_folder") == 0)
			set_str(&c->failed_folder, v);
		else
			goto unknown;
	} else if (strcmp(section, "smtp") == 0) {
		if (server_key(l, &c->smtp, key, v))
			return 1;
		if (strcmp(key, "from") == 0)
			set_str(&c->from, v);
		else if (strcmp(key, "sessions") == 0) {
			if (parse_int(v, 1, SMTP_SESSIONS_MAX,
			    &c->smtp_sessions) == -1)
				fail(l, section, key, "expected a number of "
				    "sessions from 1 to %d, got '%s'",
				    SMTP_SESSIONS_MAX, v);
		} else
			goto unknown;
	} else if (strcmp(section, "database") == 0) {
		if (strcmp(key, "path") == 0)
			set_str(&c->db_path, v);
		else if (strcmp(key, "keep_sent_days") == 0) {
			if (parse_int(v, 0, KEEP_SENT_DAYS_MAX,
			    &c->keep_sent_days) == -1)
				fail(l, section, key, "expected a number of "
				    "days from 0 to %d, got '%s'",
				    KEEP_SENT_DAYS_MAX, v);
		} else
			goto unknown;
	} else if (strcmp(section, "organization") == 0) {
		if (strcmp(key, "name") == 0)
			set_str(&c->org_name, v);
		else if (strcmp(key, "domains") == 0) {
			free_list(c->domains);
			c->domains = parse_domains(l, key, v);
		} else if (strcmp(key, "coordinators") == 0) {
			free_list(c->coordinators);
			c->coordinators = parse_addresses(l, section, key, v);
		} else if (strcmp(key, "timezone") == 0) {
			/* Checked once the zone is loaded (main.c). */
			set_str(&c->timezone, v);
			c->timezone_line = l->lineno;
		}
		else if (strcmp(key, "language") == 0) {
			if (strcmp(v, "nl") && strcmp(v, "en"))
				fail(l, section, key, "expected nl or en, got '%s'", v);
			else
				set_str(&c->language, v);
		} else if (strcmp(key, "announce") == 0) {
			if (*v && !config_address_valid(v))
				fail(l, section, key, "'%s' is not an address "
				    "(expected local@domain, e.g. intranet@school.nl)",
				    v);
			else {
				set_str(&c->announce, v);
				str_lower(c->announce);
			}
		}		else if (strcmp(key, "hours_per_network") == 0) {
			if (parse_int(v, 0, 10000, &c->hours_per_network) == -1)
				fail(l, section, key, "expected a number of hours, "
				    "got '%s'", v);
		} else if (strcmp(key, "trusted_authserv_id") == 0)
			set_str(&c->trusted_authserv_id, v);
		else if (strcmp(key, "staff_only") == 0) {
			if (parse_bool(v, &c->staff_only) == -1)
				fail(l, section, key, "expected yes or no, got '%s'", v);
		} else if (strcmp(key, "max_requests_per_hour") == 0) {
			if (parse_int(v, 1, 1000000, &n) == -1)
				fail(l, section, key, "expected a positive number, "
				    "got '%s'", v);
			else
				c->max_requests_per_hour = n;
		} else
			goto unknown;
	} else if (strcmp(section, "digest") == 0) {
		if (strcmp(key, "schedule") == 0)
			parse_schedule(l, key, v);
		else
			goto unknown;
	} else if (strcmp(section, "lists") == 0) {
		if (strcmp(key, "max_size") == 0) {
			if ((n = parse_size(v, &c->list_max_size)) == -1)
				fail(l, section, key, "expected a size such as "
				    "10M or 512k, got '%s'", v);
			else if (n == -2)
				fail(l, section, key, "'%s' is more than the "
				    "largest size, 1G (mail servers take 10 to "
				    "50M)", v);
		} else if (strcmp(key, "need_proof") == 0) {
			if (parse_bool(v, &c->list_need_proof) == -1)
				fail(l, section, key, "expected yes or no, got "
				    "'%s'", v);
		} else
			goto unknown;
	} else if (strcmp(section, "publish") == 0) {
		if (strcmp(key, "dir") == 0)
			set_opt(&c->publish_dir, v);
		else if (strcmp(key, "base_url") == 0) {
			if (*v && !url_is_http(v))
				fail(l, section, key, "expected an http:// or "
				    "https:// address, e.g. https://intranet."
				    "school.nl/leernetwerken/, got '%s'", v);
			else if (host_8bit(v))
				fail(l, section, key, "write a host name with "
				    "letters such as ë in its xn-- form (idn2 "
				    "HOST), got '%s'", v);
			else if (v[strcspn(v, "?#<>\"\\^`{|}")] != '\0')
				fail(l, section, key, "the pages' addresses are "
				    "made by adding SLUG/index.html to it: no "
				    "query (?), fragment (#) or any of <>\"\\^`{|}, "
				    "got '%s'", v);
			else {
				/* List-Archive is ASCII: "leernetwërken" is
				 * sent as "leernetw%C3%ABrken" (RFC 3987). */
				free(c->base_url);
				c->base_url = url_escape_8bit(v);
			}
		}		else
			goto unknown;
	} else if (strcmp(section, "paths") == 0) {
		if (strcmp(key, "templates") == 0)
			set_str(&c->template_dir, v);
		else
			goto unknown;
	} else {
		fail(l, section, key, "unknown section [%s] (known: mailbox, "
		    "smtp, database, organization, digest, lists, publish, "
		    "paths)", section);
	}
	return 1;
unknown:
	suggest_key(section, key, hint, sizeof(hint));
	fail(l, section, key, "unknown key%s", hint);
	return 1;
}

/* libinih calls the reader once per line: that is where we count lines. */
static char *
reader(char *line, int size, void *stream)
{
	struct loader *l = stream;
	char *r = fgets(line, size, l->fp);

	if (r != NULL) {
		l->lineno++;
		snprintf(l->raw, sizeof(l->raw), "%s", r);
	}
	return r;
}

/* Split a URL: scheme://host[:port][/path] or maildir:/path. */
static int
parse_url(struct loader *l, struct server_conf *s, int imap)
{
	const char *u = s->url, *p, *hostend, *colon;
	char *end;

	if (u == NULL || *u == '\0') {
		fail(l, s->section, "url", "missing (it is required)");
		return -1;
	}
	if (imap && strncmp(u, "maildir:", 8) == 0) {
		s->scheme = xstrdup("maildir");
		s->path = xstrdup(u + 8);
		if (s->path[0] != '/') {
			fail(l, s->section, "url", "maildir: needs an absolute "
			    "path, got '%s'", u);
			return -1;
		}
		return 0;
	}
	p = strstr(u, "://");
	if (p == NULL) {
		fail(l, s->section, "url", "expected %s, got '%s'", imap ?
		    "imap://host[:port]/MAILBOX, imaps://... or maildir:/path" :
		    "smtp://host[:port] or smtps://host[:port]", u);
		return -1;
	}
	s->scheme = xstrndup(u, (size_t)(p - u));
	str_lower(s->scheme);
	if (imap ? (strcmp(s->scheme, "imap") && strcmp(s->scheme, "imaps")) :
	    (strcmp(s->scheme, "smtp") && strcmp(s->scheme, "smtps"))) {
		fail(l, s->section, "url", "unsupported scheme '%s' (use %s)",
		    s->scheme, imap ? "imap, imaps or maildir" : "smtp or smtps");
		return -1;
	}
	p += 3;
	hostend = p + strcspn(p, "/");
	if (*p == '[') {		/* [::1]:port */
		const char *rb = memchr(p, ']', (size_t)(hostend - p));

		if (rb == NULL) {
			fail(l, s->section, "url", "unterminated [ in '%s'", u);
			return -1;
		}
		s->host = xstrndup(p + 1, (size_t)(rb - p - 1));
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(hostend - p));
		s->host = xstrndup(p, (size_t)((colon ? colon : hostend) - p));
	}
	if (s->host[0] == '\0') {
		fail(l, s->section, "url", "no host in '%s'", u);
		return -1;
	}
	if (colon) {
		unsigned long port = strtoul(colon + 1, &end, 10);

		if (end != hostend || port == 0 || port > 65535) {
			fail(l, s->section, "url", "bad port in '%s'", u);
			return -1;
		}
		s->port = (unsigned)port;
	} else if (strcmp(s->scheme, "imap") == 0)
		s->port = 143;
	else if (strcmp(s->scheme, "imaps") == 0)
		s->port = 993;
	else if (strcmp(s->scheme, "smtp") == 0)
		s->port = 587;
	else
		s->port = 465;
	if (imap)
		s->path = xstrdup(*hostend == '/' && hostend[1] ? hostend + 1 :
		    "INBOX");
	return 0;
}

/*
 * A relative password_file: a bare name is systemd's credential (from
 * LoadCredential=) when $CREDENTIALS_DIRECTORY is set; otherwise the name
 * is relative to the directory of the config file, not to wherever the
 * command happens to be run.  Only an absolute name written as such is
 * checked now: a credential exists only inside the service.
 */
static void
resolve_password_file(struct loader *l, struct server_conf *s)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	const char *file = l->c->file, *slash = strrchr(file, '/');
	char *path;

	if (s->password_file[0] == '/') {
		if (access(s->password_file, R_OK) == -1)
			fail(l, s->section, "password_file", "cannot read "
			    "'%s': %s", s->password_file, strerror(errno));
		return;
	}
	if (creds && *creds && strchr(s->password_file, '/') == NULL)
		path = xasprintf("%s/%s", creds, s->password_file);
	else if (slash)
		path = xasprintf("%.*s/%s", (int)(slash - file), file,
		    s->password_file);
	else
		path = xstrdup(s->password_file);
	free(s->password_file);
	s->password_file = path;
}

static void
check_server(struct loader *l, struct server_conf *s, int imap)
{
	int nsecrets = (s->password != NULL) + (s->password_file != NULL) +
	    (s->password_command != NULL);

	if (parse_url(l, s, imap) == -1)
		return;
	if (s->host == NULL)	/* maildir */
		return;
	if (nsecrets > 1)
		fail(l, s->section, "password", "set only one of password, "
		    "password_file and password_command");
	if (imap && (s->user == NULL || nsecrets == 0))
		fail(l, s->section, s->user ? "password" : "user",
		    "missing (the mailbox needs a user and a password, "
		    "password_file or password_command)");
	if (s->tls == TLS_NONE && !host_is_loopback(s->host))
		fail(l, s->section, "tls", "'none' is allowed only for "
		    "localhost, ::1 and 127.x.x.x, not for '%s'", s->host);
	if (s->ca_file && access(s->ca_file, R_OK) == -1)
		fail(l, s->section, "ca_file", "cannot read '%s': %s",
		    s->ca_file, strerror(errno));
	if (s->password_file)
		resolve_password_file(l, s);
}

/*
 * A relative path in the config is relative to the config file, as a
 * password_file is: not to wherever a command happens to be run.  Else
 * `check-config` from / and `init` from /etc/leernet made two databases,
 * and the service (whose working directory is /) a third.
 */
static void
next_to_config(const struct loader *l, char **path)
{
	const char *file = l->c->file, *slash = strrchr(file, '/');
	char *p;

	if (*path == NULL || (*path)[0] == '/' || (*path)[0] == '\0' ||
	    slash == NULL)
		return;
	p = xasprintf("%.*s/%s", (int)(slash - file), file, *path);
	/* Written for the old reading (the working directory), and there:
	 * keep it rather than start on an empty database. */
	if (access(p, F_OK) == -1 && access(*path, F_OK) == 0) {
		log_warnx("%s: '%s' is read from the working directory, where "
		    "it is; a relative path is now next to the config file: "
		    "write it in full", file, *path);
		free(p);
		return;
	}
	free(*path);
	*path = p;
}

/* Split "Name <addr>" (or a bare address) of [smtp] from. */
static void
check_from(struct loader *l)
{
	struct config *c = l->c;
	const char *lt, *gt;
	char *name, *addr;

	if (c->from == NULL) {
		fail(l, "smtp", "from", "missing (e.g. from = LIDO "
		    "leernetwerken <lido@example.nl>)");
		return;
	}
	lt = strchr(c->from, '<');
	gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt) {
		name = xstrndup(c->from, (size_t)(lt - c->from));
		addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
	} else {
		name = xstrdup("");
		addr = xstrdup(c->from);
	}
	c->from_name = xstrdup(str_trim(name));
	c->from_addr = xstrdup(str_trim(addr));
	str_lower(c->from_addr);
	free(name);
	free(addr);
	/* Strip quotes around the display name: the composer re-quotes. */
	if (c->from_name[0] == '"') {
		size_t n = strlen(c->from_name);

		if (n >= 2 && c->from_name[n - 1] == '"') {
			memmove(c->from_name, c->from_name + 1, n - 2);
			c->from_name[n - 2] = '\0';
		}
	}
	if (strchr(c->from_addr, '@') == NULL || strchr(c->from_addr, ' '))
		fail(l, "smtp", "from", "'%s' has no valid address", c->from);
}

static void
set_defaults(struct config *c)
{
	c->mailbox.section = "mailbox";
	c->smtp.section = "smtp";
	/* Exchange Online refuses a fourth session per mailbox (432 4.3.2). */
	c->smtp_sessions = 3;
	c->idle = 1;
	c->poll_interval = 60;
	c->done_folder = xstrdup("leernet/done");
	c->failed_folder = xstrdup("leernet/failed");
	c->db_path = xstrdup("/var/lib/leernet/leernet.db");
	c->keep_sent_days = 30;
	c->org_name = xstrdup("leernet");
	c->timezone = xstrdup("Europe/Amsterdam");
	c->language = xstrdup("nl");
	c->hours_per_network = 25;
	c->max_requests_per_hour = 30;
	c->digest = DIGEST_WEEKLY;
	c->digest_wday = 1;
	c->digest_hour = 7;
	c->digest_min = 0;
	c->list_max_size = 10 * 1024 * 1024;
}

/* The same IMAP folder?  INBOX in any case; '/' and '.' both separate. */
static int
same_folder(const char *a, const char *b)
{
	if (strcasecmp(a, "INBOX") == 0 || strcasecmp(b, "INBOX") == 0)
		return strcasecmp(a, b) == 0;
	for (; *a && *b; a++, b++) {
		int sa = *a == '/' || *a == '.', sb = *b == '/' || *b == '.';

		if (sa != sb || (!sa && *a != *b))
			return 0;
	}
	return *a == *b;
}

/*
 * Handled mail moved into the folder being watched is fetched again at
 * once, for ever (1,400 times in 8 s); the done and failed folders must
 * also differ, or nobody can tell them apart.
 */
static void
check_folders(struct loader *l)
{
	struct config *c = l->c;
	const char *watched = c->mailbox.path && *c->mailbox.path ?
	    c->mailbox.path : "INBOX";

	if (c->mailbox.scheme && strncmp(c->mailbox.scheme, "imap", 4) != 0)
		return;
	if (same_folder(c->done_folder, watched))
		fail(l, "mailbox", "done_folder", "'%s' is the mailbox leernet "
		    "watches (%s): handled mail would come back at once; use "
		    "e.g. leernet/done", c->done_folder, watched);
	else if (same_folder(c->failed_folder, watched))
		fail(l, "mailbox", "failed_folder", "'%s' is the mailbox "
		    "leernet watches (%s); use e.g. leernet/failed",
		    c->failed_folder, watched);
	else if (same_folder(c->done_folder, c->failed_folder))
		fail(l, "mailbox", "failed_folder", "'%s' is also the "
		    "done_folder: failed mail must stay apart; use e.g. "
		    "leernet/failed", c->failed_folder);
}

/*
 * "Permission denied" for the config: whose the file (or the directory
 * that cannot be entered) is, and the chgrp README's Install does, so
 * that the service user and check-config can read it.
 */
static void
config_unreadable(const char *file, char *why, size_t len)
{
	char who[PATH_MAX + 128], grp[32], where[PATH_MAX];
	int r = path_unreadable(file, who, sizeof(who), where, sizeof(where));
	struct stat sb;

	group_name(getegid(), grp, sizeof(grp));
	if (r == -1)
		snprintf(why, len, "%s", strerror(EACCES));
	else if (stat(where, &sb) == 0 && sb.st_gid != 0 &&
	    sb.st_gid != getegid() && (sb.st_mode & (r == 1 ? 010 : 040)))
		/* root:leernet 0640 read by an admin without sudo -u: the
		 * group is the service's, and a chgrp to ours would take
		 * the file from it. */
		snprintf(why, len, "Permission denied (%s, group %s, which "
		    "may %s it: run leernet as the service user, a member of "
		    "that group, e.g. sudo -u %s)", who, group_name(sb.st_gid,
		    grp, sizeof(grp)), r == 1 ? "enter" : "read", grp);
	else
		snprintf(why, len, "Permission denied (%s; chgrp %s %s && "
		    "chmod %s %s)", who, grp, where, r == 1 ? "0750" : "0640",
		    where);
}

struct config *
config_load(const char *file, char *err, size_t errlen)
{
	struct loader l = { 0 };
	struct config *c;
	struct stat sb;
	int r;

	c = xcalloc(1, sizeof(*c));
	c->file = xstrdup(file);
	set_defaults(c);
	l.c = c;
	l.err = err;
	l.errlen = errlen;
	if ((l.fp = fopen(file, "r")) == NULL ||
	    fstat(fileno(l.fp), &sb) == -1 || S_ISDIR(sb.st_mode)) {
		char why[3 * PATH_MAX + 512];

		if (l.fp == NULL && errno == EACCES)
			config_unreadable(file, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", l.fp ? "is a "
			    "directory (give the file, e.g. -c "
			    "/etc/leernet/leernet.conf)" : strerror(errno));
		snprintf(err, errlen, "%s: cannot open: %s", file, why);
		if (l.fp)
			fclose(l.fp);
		config_free(c);
		return NULL;
	}
	r = ini_parse_stream(reader, &l, handler, &l);
	fclose(l.fp);
	/* A syntax error explains the errors after it: report it first. */
	if (r > 0 && (!l.failed || r <= l.fail_line)) {
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] "
		    "or key = value)", file, r);
		l.failed = 1;
	}
	l.lineno = 0;		/* what follows is about the whole file */
	next_to_config(&l, &c->db_path);
	next_to_config(&l, &c->publish_dir);
	next_to_config(&l, &c->template_dir);
	next_to_config(&l, &c->mailbox.ca_file);
	next_to_config(&l, &c->smtp.ca_file);
	if (!l.failed)
		check_server(&l, &c->mailbox, 1);
	if (!l.failed)
		check_folders(&l);
	if (!l.failed)
		check_server(&l, &c->smtp, 0);
	if (!l.failed)
		check_from(&l);
	if (!l.failed && (c->domains == NULL || c->domains[0] == NULL))
		fail(&l, "organization", "domains", "missing (the mail domains "
		    "whose staff may use leernet, e.g. domains = school.nl)");
	if (!l.failed && c->coordinators == NULL)
		c->coordinators = parse_list("");
	if (!l.failed && c->list_need_proof && c->trusted_authserv_id == NULL)
		fail(&l, "lists", "need_proof", "yes needs [organization] "
		    "trusted_authserv_id: the server whose Authentication-Results "
		    "prove the sender");
	if (!l.failed && c->template_dir == NULL) {
		const char *env = getenv("LEERNET_TEMPLATES");

		c->template_dir = xstrdup(env && *env ? env :
		    template_shipped_dir());
	}
	/* Kept to here: the checks above name the line of their key. */
	for (size_t i = 0; i < l.nseen; i++)
		free(l.seen[i]);
	if (l.failed) {
		config_free(c);
		return NULL;
	}
	return c;
}

static void
server_free(struct server_conf *s)
{
	free(s->url);
	free(s->scheme);
	free(s->host);
	free(s->path);
	free(s->user);
	free(s->password);
	free(s->password_file);
	free(s->password_command);
	free(s->ca_file);
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->file);
	server_free(&c->mailbox);
	free(c->done_folder);
	free(c->failed_folder);
	server_free(&c->smtp);
	free(c->from);
	free(c->from_name);
	free(c->from_addr);
	free(c->db_path);
	free(c->org_name);
	free_list(c->domains);
	free_list(c->coordinators);
	free(c->timezone);
	free(c->language);
	free(c->announce);
	free(c->trusted_authserv_id);
	free(c->publish_dir);
	free(c->base_url);
	free(c->template_dir);
	free(c);
}

const char *
config_default_path(void)
{
	const char *env = getenv("LEERNET_CONFIG");

	return env && *env ? env : "/etc/leernet/leernet.conf";
}

static char *
read_first_line(const struct server_conf *s, int *permanent, char *err,
    size_t errlen)
{
	const char *path = s->password_file;
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char line[4096], *r;
	FILE *fp = fopen(path, "r");

	*permanent = 1;
	if (fp == NULL) {
		snprintf(err, errlen, "[%s] password_file: cannot read '%s': "
		    "%s%s", s->section, path, strerror(errno), errno != ENOENT ?
		    "" : creds && *creds ? " (a name without a slash is read "
		    "from $CREDENTIALS_DIRECTORY)" : " (a relative name is "
		    "read next to the config file, or from "
		    "$CREDENTIALS_DIRECTORY under systemd)");
		return NULL;
	}
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	r = str_trim(line);
	if (*r == '\0') {
		snprintf(err, errlen, "[%s] password_file: '%s' is empty (its "
		    "first line must be the password)", s->section, path);
		return NULL;
	}
	return xstrdup(r);
}

/* The program a shell command runs, for messages: never its arguments,
 * which may hold a secret. */
static void
command_name(const char *cmd, char *out, size_t outlen)
{
	size_t n;

	cmd += strspn(cmd, " \t");
	n = strcspn(cmd, " \t;|&<>");
	snprintf(out, outlen, "%.*s", (int)(n < 100 ? n : 100), cmd);
}

/*
 * `sh -c cmd` with its standard output on a pipe; the pid, and the read
 * end in *fd, or -1.  Unlike popen(3) the command gets none of our other
 * descriptors: a token helper that leaves a process behind (an agent)
 * would keep the daemon's IMAP and SMTP sessions open after we dropped
 * them.  (Such a process must still close its stdout: we read to EOF.)
 */
static pid_t
spawn_reading(const char *cmd, int *fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		struct sigaction dfl;
		sigset_t none;

		/* Only async-signal-safe calls here: we may have threads. */
		/* A group of its own: on a timeout, what it started goes too. */
		(void)setpgid(0, 0);
		if (p[1] == STDOUT_FILENO)	/* we ran with fd 1 closed */
			(void)fcntl(p[1], F_SETFD, 0);
		else if (dup2(p[1], STDOUT_FILENO) == -1)
			_exit(126);
		if (close_range(3, ~0U, 0) == -1)
			for (int i = 3; i < 1024; i++)
				(void)close(i);
		/* What we ignore or block is ours, not the command's. */
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		(void)sigaction(SIGPIPE, &dfl, NULL);
		(void)sigaction(SIGXFSZ, &dfl, NULL);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

/* A token helper that takes longer is taken to hang. */
#define PASSWORD_COMMAND_TIMEOUT	30

static char *
run_password_command(const struct server_conf *s, int *permanent, char *err,
    size_t errlen)
{
	struct buf out;
	char chunk[1024], prog[128];
	pid_t pid;
	int fd, st = -1, code, timed_out = 0;
	int64_t deadline;

	command_name(s->password_command, prog, sizeof(prog));
	if ((pid = spawn_reading(s->password_command, &fd)) == -1) {
		snprintf(err, errlen, "[%s] password_command: cannot run '%s': "
		    "%s", s->section, prog, strerror(errno));
		*permanent = 0;
		return NULL;
	}
	buf_init(&out, 64 * 1024);
	deadline = mono_ms() + PASSWORD_COMMAND_TIMEOUT * 1000;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - mono_ms();
		ssize_t got;

		/* A helper that hangs (its own server away) would hold the
		 * database lock, and every later run, for ever. */
		if (left <= 0) {
			timed_out = 1;
			(void)kill(-pid, SIGKILL);
			(void)kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			break;
		if (pfd.revents == 0)
			continue;
		if ((got = read(fd, chunk, sizeof(chunk))) == -1 &&
		    errno == EINTR)
			continue;
		if (got <= 0 || buf_add(&out, chunk, (size_t)got) == -1)
			break;
	}
	close(fd);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (timed_out) {
		snprintf(err, errlen, "[%s] password_command: '%s' did not "
		    "finish within %d s", s->section, prog,
		    PASSWORD_COMMAND_TIMEOUT);
		*permanent = 0;
	} else if (code == 127 || code == 126) {
		/* The shell's "command not found" and "not executable". */
		snprintf(err, errlen, "[%s] password_command: '%s' %s (exit "
		    "status %d)", s->section, prog, code == 127 ? "not found" :
		    "cannot be run", code);
		*permanent = 1;
	} else if (code != 0) {
		/* A token helper may fail for a while (its own server). */
		snprintf(err, errlen, "[%s] password_command failed (exit "
		    "status %d)", s->section, code);
		*permanent = 0;
	} else {
		char *all = buf_steal(&out);
		char *nl = strchr(all, '\n');
		char *r;

		if (nl)
			*nl = '\0';
		r = str_trim(all);
		if (*r != '\0') {
			r = xstrdup(r);
			free(all);
			return r;
		}
		free(all);
		snprintf(err, errlen, "[%s] password_command: '%s' printed "
		    "nothing (its output must be the password)", s->section,
		    prog);
		*permanent = 1;
		return NULL;
	}
	buf_free(&out);
	return NULL;
}

int
config_logs_in(const struct server_conf *s)
{
	return s->user != NULL && (s->password != NULL ||
	    s->password_file != NULL || s->password_command != NULL);
}

char *
config_secret_ex(const struct server_conf *s, int *permanent, char *err,
    size_t errlen)
{
	*permanent = 1;
	if (s->password)
		return xstrdup(s->password);
	if (s->password_file)
		return read_first_line(s, permanent, err, errlen);
	if (s->password_command)
		return run_password_command(s, permanent, err, errlen);
	snprintf(err, errlen, "[%s]: no password, password_file or "
	    "password_command", s->section);
	return NULL;
}

char *
config_secret(const struct server_conf *s, char *err, size_t errlen)
{
	int permanent;

	return config_secret_ex(s, &permanent, err, errlen);
}

static int
list_has(char **list, const char *s)
{
	for (; list && *list; list++)
		if (str_eq_ci(*list, s))
			return 1;
	return 0;
}

/*
 * An address of an allowed domain; not one whose local part routes on
 * (carol%evil.example@school.nl, evil.example!carol@school.nl,
 * carol@evil.example@school.nl, "carol@evil.example"@school.nl): a server
 * with Postfix's default allow_percent_hack, swap_bangpath and
 * resolve_dequoted_address delivers those elsewhere, so an outsider could
 * pass for staff.
 */
int
config_domain_allowed(const struct config *c, const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && list_has(c->domains, at + 1) &&
	    strcspn(addr, "%!@") == (size_t)(at - addr);
}

int
config_is_coordinator(const struct config *c, const char *addr)
{
	return list_has(c->coordinators, addr);
}

int
host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (str_eq_ci(host, "localhost"))
		return 1;
	/* inet_pton takes only dotted quads: "127.evil.com" is a name. */
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

const char *
config_secret_hint(const struct server_conf *s)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	size_t n;

	if (s->password_file == NULL || creds == NULL || *creds == '\0')
		return "";
	n = strlen(creds);
	if (strncmp(s->password_file, creds, n) != 0 ||
	    s->password_file[n] != '/')
		return "";
	return " (systemd's copy of the credential, made at start: restart "
	    "leernet after changing the password file; a reload keeps the "
	    "copy)";
}
