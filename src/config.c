/*
 * config.c - read the INI file of SPEC §3 with libinih into struct config.
 * Unknown sections and keys are errors: a typo in a config file should be
 * found by check-config, not by a teacher whose mail went unanswered.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "log.h"
#include "util.h"

struct loader {
	struct config	*c;
	FILE		*fp;
	int		 lineno;
	char		*err;
	size_t		 errlen;
	int		 failed;
	int		 fail_line;
};

static void
fail(struct loader *l, const char *section, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fail(struct loader *l, const char *section, const char *key,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (l->failed)
		return;		/* the first error is the one to fix */
	l->failed = 1;
	l->fail_line = l->lineno;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->lineno > 0)
		snprintf(l->err, l->errlen, "%s:%d: [%s] %s: %s",
		    l->c->file, l->lineno, section, key, msg);
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

/* "10M", "512k", "1048576" */
static int
parse_size(const char *v, size_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || v[0] == '-')
		return -1;
	if (*end == 'k' || *end == 'K')
		n *= 1024, end++;
	else if (*end == 'm' || *end == 'M')
		n *= 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		n *= 1024ULL * 1024 * 1024, end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || n == 0)
		return -1;
	*out = (size_t)n;
	return 0;
}

/* A comma-separated list of addresses or domains, lower-cased. */
static char **
parse_list(const char *v)
{
	char *copy = xstrdup(v), *p = copy, **list;
	size_t n = 0, cap = 4;

	list = xcalloc(cap + 1, sizeof(*list));
	while (p != NULL) {
		char *comma = strchr(p, ',');
		char *item;

		if (comma)
			*comma = '\0';
		item = str_trim(p);
		if (*item) {
			if (n == cap) {
				cap *= 2;
				list = xreallocarray(list, cap + 1, sizeof(*list));
			}
			str_lower(item);
			list[n++] = xstrdup(item);
		}
		p = comma ? comma + 1 : NULL;
	}
	list[n] = NULL;
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
		set_str(&s->user, v);
	else if (strcmp(key, "password") == 0)
		set_str(&s->password, v);
	else if (strcmp(key, "password_file") == 0)
		set_str(&s->password_file, v);
	else if (strcmp(key, "password_command") == 0)
		set_str(&s->password_command, v);
	else if (strcmp(key, "ca_file") == 0)
		set_str(&s->ca_file, v);
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
			    "expected required or none, got '%s'", v);
	} else
		return 0;
	return 1;
}

/* Days as written in schedules; Dutch and English. */
static int
parse_wday(const char *w)
{
	static const char *const en[] = { "sun", "mon", "tue", "wed", "thu",
	    "fri", "sat" };
	static const char *const nl[] = { "zo", "ma", "di", "wo", "do", "vr",
	    "za" };

	for (int i = 0; i < 7; i++)
		if (str_startswith_ci(w, en[i]) || str_startswith_ci(w, nl[i]))
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

static int
handler(void *user, const char *section, const char *key, const char *v)
{
	struct loader *l = user;
	struct config *c = l->c;
	int n;

	if (l->failed)
		return 1;
	if (key == NULL)	/* a section header alone */
		return 1;
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
			c->domains = parse_list(v);
		} else if (strcmp(key, "coordinators") == 0) {
			free_list(c->coordinators);
			c->coordinators = parse_list(v);
		} else if (strcmp(key, "timezone") == 0)
			set_str(&c->timezone, v);
		else if (strcmp(key, "language") == 0) {
			if (strcmp(v, "nl") && strcmp(v, "en"))
				fail(l, section, key, "expected nl or en, got '%s'", v);
			else
				set_str(&c->language, v);
		} else if (strcmp(key, "announce") == 0)
			set_str(&c->announce, v);
		else if (strcmp(key, "hours_per_network") == 0) {
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
			if (parse_size(v, &c->list_max_size) == -1)
				fail(l, section, key, "expected a size such as "
				    "10M or 512k, got '%s'", v);
		} else
			goto unknown;
	} else if (strcmp(section, "publish") == 0) {
		if (strcmp(key, "dir") == 0)
			set_str(&c->publish_dir, v);
		else if (strcmp(key, "base_url") == 0)
			set_str(&c->base_url, v);
		else
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
	fail(l, section, key, "unknown key");
	return 1;
}

/* libinih calls the reader once per line: that is where we count lines. */
static char *
reader(char *line, int size, void *stream)
{
	struct loader *l = stream;
	char *r = fgets(line, size, l->fp);

	if (r != NULL)
		l->lineno++;
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
		    "127.0.0.1/localhost, not for '%s'", s->host);
	if (s->ca_file && access(s->ca_file, R_OK) == -1)
		fail(l, s->section, "ca_file", "cannot read '%s': %s",
		    s->ca_file, strerror(errno));
	if (s->password_file && strchr(s->password_file, '/') &&
	    access(s->password_file, R_OK) == -1)
		fail(l, s->section, "password_file", "cannot read '%s': %s",
		    s->password_file, strerror(errno));
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

struct config *
config_load(const char *file, char *err, size_t errlen)
{
	struct loader l = { 0 };
	struct config *c;
	int r;

	c = xcalloc(1, sizeof(*c));
	c->file = xstrdup(file);
	set_defaults(c);
	l.c = c;
	l.err = err;
	l.errlen = errlen;
	if ((l.fp = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", file,
		    strerror(errno));
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
	if (!l.failed)
		check_server(&l, &c->mailbox, 1);
	if (!l.failed)
		check_server(&l, &c->smtp, 0);
	if (!l.failed)
		check_from(&l);
	if (!l.failed && (c->domains == NULL || c->domains[0] == NULL))
		fail(&l, "organization", "domains", "missing (the mail domains "
		    "whose staff may use leernet, e.g. domains = school.nl)");
	if (!l.failed && c->coordinators == NULL)
		c->coordinators = parse_list("");
	if (!l.failed && c->template_dir == NULL) {
		const char *env = getenv("LEERNET_TEMPLATES");

		c->template_dir = xstrdup(env && *env ? env :
		    LEERNET_DATADIR "/templates");
	}
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
read_first_line(const char *path, char *err, size_t errlen)
{
	char line[4096];
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		snprintf(err, errlen, "cannot read password_file '%s': %s",
		    path, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	return xstrdup(str_trim(line));
}

char *
config_secret(const struct server_conf *s, char *err, size_t errlen)
{
	if (s->password)
		return xstrdup(s->password);
	if (s->password_file) {
		const char *creds = getenv("CREDENTIALS_DIRECTORY");

		/* systemd's LoadCredential= puts it here under its own name. */
		if (strchr(s->password_file, '/') == NULL && creds) {
			char *path = xasprintf("%s/%s", creds, s->password_file);
			char *r = read_first_line(path, err, errlen);

			free(path);
			return r;
		}
		return read_first_line(s->password_file, err, errlen);
	}
	if (s->password_command) {
		struct buf out;
		char chunk[1024];
		size_t n;
		int st;
		FILE *fp = popen(s->password_command, "r");

		if (fp == NULL) {
			snprintf(err, errlen, "[%s] password_command: cannot run: "
			    "%s", s->section, strerror(errno));
			return NULL;
		}
		buf_init(&out, 64 * 1024);
		while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			if (buf_add(&out, chunk, n) == -1)
				break;
		st = pclose(fp);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			snprintf(err, errlen, "[%s] password_command failed (exit "
			    "status %d)", s->section,
			    st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			buf_free(&out);
			return NULL;
		} else {
			char *all = buf_steal(&out);
			char *nl = strchr(all, '\n');
			char *r;

			if (nl)
				*nl = '\0';
			r = xstrdup(str_trim(all));
			free(all);
			return r;
		}
	}
	snprintf(err, errlen, "[%s]: no password, password_file or "
	    "password_command", s->section);
	return NULL;
}

static int
list_has(char **list, const char *s)
{
	for (; list && *list; list++)
		if (str_eq_ci(*list, s))
			return 1;
	return 0;
}

int
config_domain_allowed(const struct config *c, const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && list_has(c->domains, at + 1);
}

int
config_is_coordinator(const struct config *c, const char *addr)
{
	return list_has(c->coordinators, addr);
}

int
host_is_loopback(const char *host)
{
	return str_eq_ci(host, "localhost") || strcmp(host, "::1") == 0 ||
	    strncmp(host, "127.", 4) == 0;
}
