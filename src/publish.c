/*
 * publish.c - the intranet pages and feeds (publish.h).
 *
 * The HTML is written here rather than from templates/: a page is a few
 * fixed structures around data from the database, and keeping all of that
 * data behind one escaping function (o_esc) is easier to trust than a
 * template someone edited.  Pages are plain HTML5 with a small inline
 * style sheet and no script, in the organisation's language.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "cli.h"
#include "command.h"
#include "config.h"
#include "dates.h"
#include "ical.h"
#include "log.h"
#include "publish.h"
#include "slug.h"
#include "store.h"
#include "texthtml.h"
#include "util.h"

#define INDEX_MEETINGS	3	/* next meetings of a network on index.html */
#define INDEX_NEWS	3	/* news titles of a network on index.html */
#define PAGE_NEWS	20	/* news items on SLUG/index.html */
#define FEED_NEWS	50	/* entries in SLUG/feed.atom */
#define TITLE_MAX	80	/* bytes of a body line used as a title */
#define PAGE_MAX	(16u * 1024 * 1024)
/* Bytes of one news item on a page or in the feed: a list post may hold
 * megabytes, and 20 of them must still make a page (PAGE_MAX). */
#define ITEM_MAX	(16u * 1024)
#define RETRY_AFTER	300	/* seconds after a failed run (daemon) */
#define REFRESH_AFTER	(24 * 60 * 60)	/* nothing goes stale: once a day */

/* ---- words ------------------------------------------------------------ */

struct words {
	const char *site;
	const char *intro, *intro_end;
	const char *none_open;
	const char *start_head, *start_text, *start_link, *start_end;
	const char *question;
	const char *lead1, *leadn;
	const char *member1, *membern;
	const char *next, *meetings, *no_meetings, *meeting;
	const char *no_more, *held;
	const char *latest, *news, *no_news, *no_subject, *by;
	const char *participate, *join, *join_note, *join_note_end;
	const char *follow, *leave, *post;
	const char *calendar_link, *calendar_note;
	const char *feed_link, *feed_title;
	const char *closed, *back, *help, *help_end, *who;
	/* mail command keywords (SPEC §4) */
	const char *kw_join, *kw_follow, *kw_leave, *kw_post, *kw_start,
	    *kw_help;
};

static const struct words words_nl = {
	.site = "Leernetwerken",
	.intro = "In een leernetwerk onderzoeken collega's van verschillende "
	    "scholen samen een leervraag. Aanmelden, volgen en nieuws delen "
	    "gaat per mail aan ",
	.intro_end = ".",
	.none_open = "Er zijn op dit moment geen open leernetwerken.",
	.start_head = "Zelf een leernetwerk beginnen?",
	.start_text = "Stuur een mail met als onderwerp \"nieuw netwerk\" en de "
	    "titel, en je leervraag in de mail: ",
	.start_link = "stel een leernetwerk voor",
	.start_end = ". De projectleiding beslist erover.",
	.question = "Leervraag",
	.lead1 = "Netwerktrekker",
	.leadn = "Netwerktrekkers",
	.member1 = "deelnemer",
	.membern = "deelnemers",
	.next = "Volgende bijeenkomsten",
	.meetings = "Bijeenkomsten",
	.no_meetings = "Er is nog geen bijeenkomst gepland.",
	.meeting = "bijeenkomst",
	.no_more = "Er staat geen bijeenkomst meer gepland.",
	.held = "Geweest",
	.latest = "Laatste nieuws",
	.news = "Nieuws",
	.no_news = "Nog geen nieuws.",
	.no_subject = "(zonder onderwerp)",
	.by = "door",
	.participate = "Meedoen",
	.join = "Aanmelden voor",
	.join_note = "Je mailprogramma opent een mail aan ",
	.join_note_end = ". Verstuur die; je krijgt dan een mail om je "
	    "aanmelding te bevestigen, en daarna de uitnodigingen voor de "
	    "bijeenkomsten.",
	.follow = "Alleen het nieuws volgen",
	.leave = "Afmelden",
	.post = "Nieuws delen met het netwerk (voor deelnemers)",
	.calendar_link = "Abonneer je op de agenda van dit netwerk",
	.calendar_note = "Adres om in je agenda toe te voegen:",
	.feed_link = "Nieuws als Atom-feed",
	.feed_title = "nieuws",
	.closed = "Dit leernetwerk is gesloten.",
	.back = "Alle leernetwerken",
	.help = "Alle opdrachten: stuur ",
	.help_end = " naar ",
	.who = "Wie",
	.kw_join = "aanmelden",
	.kw_follow = "volg",
	.kw_leave = "afmelden",
	.kw_post = "bericht",
	.kw_start = "nieuw netwerk",
	.kw_help = "hulp",
};

static const struct words words_en = {
	.site = "Learning networks",
	.intro = "In a learning network, colleagues from different schools "
	    "explore a question together. Joining, following and sharing "
	    "news all work by mail to ",
	.intro_end = ".",
	.none_open = "There are no open learning networks at the moment.",
	.start_head = "Start a learning network yourself?",
	.start_text = "Send a mail with the subject \"start\" and the title, "
	    "and your question in the mail: ",
	.start_link = "propose a learning network",
	.start_end = ". The coordinators decide on it.",
	.question = "Question",
	.lead1 = "Lead",
	.leadn = "Leads",
	.member1 = "member",
	.membern = "members",
	.next = "Next meetings",
	.meetings = "Meetings",
	.no_meetings = "No meeting has been planned yet.",
	.meeting = "meeting",
	.no_more = "No further meeting has been planned.",
	.held = "Held",
	.latest = "Latest news",
	.news = "News",
	.no_news = "No news yet.",
	.no_subject = "(no subject)",
	.by = "by",
	.participate = "Take part",
	.join = "Join",
	.join_note = "Your mail program opens a mail to ",
	.join_note_end = ". Send it; you then get a mail to confirm, and "
	    "after that the invitations to the meetings.",
	.follow = "Follow the news only",
	.leave = "Leave",
	.post = "Share news with the network (for members)",
	.calendar_link = "Subscribe to this network's calendar",
	.calendar_note = "Address to add to your calendar:",
	.feed_link = "News as an Atom feed",
	.feed_title = "news",
	.closed = "This learning network is closed.",
	.back = "All learning networks",
	.help = "All commands: send ",
	.help_end = " to ",
	.who = "Who",
	.kw_join = "join",
	.kw_follow = "follow",
	.kw_leave = "leave",
	.kw_post = "post",
	.kw_start = "start",
	.kw_help = "help",
};

/*
 * Small on purpose: readable on a phone, light and dark, visible focus,
 * long addresses wrap instead of widening the page.
 */
static const char css[] =
"<style>\n"
":root{color-scheme:light dark}\n"
"body{font:1.0625rem/1.55 system-ui,-apple-system,\"Segoe UI\",Roboto,"
"sans-serif;max-width:44rem;margin:0 auto;padding:1rem 1.1rem 2rem;"
"color:#1b1b1b;background:#fff;overflow-wrap:anywhere}\n"
"h1{font-size:1.75rem;line-height:1.2;margin:.2rem 0 .8rem}\n"
"h2{font-size:1.3rem;line-height:1.3;margin:1.8rem 0 .5rem}\n"
"h3{font-size:1.05rem;margin:1.1rem 0 .3rem}\n"
"a{color:#0a58a8}\n"
"a:focus-visible{outline:3px solid #e07000;outline-offset:2px}\n"
"ul{padding-left:1.2rem}li{margin:.3rem 0}\n"
".org,.meta{color:#555;font-size:.95rem}\n"
".org{margin:0}\n"
".network{border-top:1px solid #ccc;margin-top:1.5rem}\n"
".button{display:inline-block;padding:.65rem 1.1rem;border-radius:.4rem;"
"background:#0a58a8;color:#fff;font-weight:600;text-decoration:none}\n"
".notice{padding:.6rem .9rem;border-left:4px solid #b35c00;"
"background:#fff4e5}\n"
".news-item{border-top:1px solid #e3e3e3}\n"
"footer{margin-top:2.5rem;border-top:1px solid #ccc;color:#555;"
"font-size:.9rem}\n"
"@media (prefers-color-scheme:dark){body{color:#eee;background:#141414}"
"a{color:#8ab8f0}.org,.meta,footer{color:#b0b0b0}"
".button{background:#8ab8f0;color:#000}"
".notice{background:#3a2a14}}\n"
"</style>\n";

/* ---- output ----------------------------------------------------------- */

/* A page being built; full is set when any part did not fit. */
struct out {
	struct buf	b;
	int		full;
};

static void
o_init(struct out *o)
{
	buf_init(&o->b, PAGE_MAX);
	o->full = 0;
}

static void
o_add(struct out *o, const char *s)
{
	if (buf_adds(&o->b, s) == -1)
		o->full = 1;
}

static void
o_addn(struct out *o, const char *s, size_t n)
{
	if (buf_add(&o->b, s, n) == -1)
		o->full = 1;
}

static void o_addf(struct out *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
o_addf(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vaddf(&o->b, fmt, ap) == -1)
		o->full = 1;
	va_end(ap);
}

enum esc { ESC_TEXT, ESC_LINE };

/*
 * Text from the database into HTML or XML (one escaping serves both):
 * & < > " ' become references; invalid UTF-8, U+FFFE and U+FFFF become
 * U+FFFD; control characters, which XML 1.0 forbids even as references,
 * become spaces (CR is dropped).  ESC_LINE also turns newlines and tabs
 * into spaces, for titles and attributes.
 */
static void
o_esc(struct out *o, const char *s, enum esc mode)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p;
		size_t n;

		if (c < 0x80) {
			switch (c) {
			case '&':
				o_add(o, "&amp;");
				break;
			case '<':
				o_add(o, "&lt;");
				break;
			case '>':
				o_add(o, "&gt;");
				break;
			case '"':
				o_add(o, "&quot;");
				break;
			case '\'':
				o_add(o, "&#39;");
				break;
			case '\r':
				break;
			case '\n':
			case '\t':
				o_addn(o, mode == ESC_LINE ? " " :
				    (const char *)p, 1);
				break;
			default:
				o_addn(o, c < 0x20 || c == 0x7f ? " " :
				    (const char *)p, 1);
			}
			p++;
			continue;
		}
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (strnlen((const char *)p, n) < n ||
		    !utf8_valid((const char *)p, n)) {
			o_add(o, "\xef\xbf\xbd");
			p++;
			continue;
		}
		if (n == 2 && c == 0xc2 && p[1] < 0xa0)
			o_add(o, " ");			/* C1 control */
		else if (n == 3 && c == 0xef && p[1] == 0xbf && p[2] >= 0xbe)
			o_add(o, "\xef\xbf\xbd");	/* not an XML Char */
		else if (n == 3 && c == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa &&
		    p[2] <= 0xae) || (p[1] == 0x81 && p[2] >= 0xa6 &&
		    p[2] <= 0xa9)))
			;	/* a bidi override: it turns the rest around */
		else
			o_addn(o, (const char *)p, n);
		p += n;
	}
}

/* Percent-encode all but RFC 3986 unreserved characters and `keep`. */
static void
o_pct(struct out *o, const char *s, const char *keep)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) ||
		    (keep && strchr(keep, *p)))
			o_addn(o, (const char *)p, 1);
		else
			o_addf(o, "%%%02X", *p);
	}
}

/* mailto:ADDR?subject=KW%20ARG, ready for an href. */
static void
o_mailto(struct out *o, const char *addr, const char *kw, const char *arg)
{
	o_add(o, "mailto:");
	o_pct(o, addr, "@+");
	o_add(o, "?subject=");
	o_pct(o, kw, NULL);
	if (arg) {
		o_add(o, "%20");
		o_pct(o, arg, NULL);
	}
}

/* A line of text, escaped, its web addresses links (as in the digest). */
static void
o_linked(struct out *o, const char *line)
{
	const char *p = line;

	while (*p) {
		const char *u;
		size_t n = 0;
		char *piece;

		/* The next address that starts a word. */
		for (u = p; *u; u++)
			if ((u == line || !(isalnum((unsigned char)u[-1]) ||
			    u[-1] == '/')) && strncasecmp(u, "http", 4) == 0 &&
			    (n = texthtml_url_len(u, strlen(u))) > 0)
				break;
		piece = xstrndup(p, (size_t)(u - p));
		o_esc(o, piece, ESC_LINE);
		free(piece);
		if (n == 0)
			break;
		piece = xstrndup(u, n);
		o_add(o, "<a href=\"");
		o_esc(o, piece, ESC_LINE);
		o_add(o, "\">");
		o_esc(o, piece, ESC_LINE);
		o_add(o, "</a>");
		free(piece);
		p = u + n;
	}
}

/* Paragraphs: blank lines separate them, other line breaks are kept. */
static void
o_paras(struct out *o, const char *text)
{
	const char *p = text, *e;
	int open = 0;

	while (*p) {
		char *line;

		e = strchr(p, '\n');
		if (e == NULL)
			e = p + strlen(p);
		line = xstrndup(p, (size_t)(e - p));
		if (*str_trim(line) == '\0') {
			if (open)
				o_add(o, "</p>\n");
			open = 0;
		} else {
			o_add(o, open ? "<br>\n" : "<p>");
			open = 1;
			o_linked(o, line);
		}
		free(line);
		p = *e ? e + 1 : e;
	}
	if (open)
		o_add(o, "</p>\n");
}

static const char *
rfc3339(time_t t, char buf[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
	return buf;
}

/* ---- one run ------------------------------------------------------------ */

struct pub {
	struct app		*app;
	const struct words	*w;
	enum lang		 lang;
	const char		*dir;
	char			*base;		/* base_url with a final '/',
						 * or NULL */
	time_t			 now;
	struct publish_stats	*stats;
	char			*err;
	size_t			 errlen;
	int			 failed;
};

static void pfail(struct pub *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Remember the first problem; carry on with the other files. */
static void
pfail(struct pub *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	p->failed = 1;
}

/* What the pages show of one network, read once. */
struct netview {
	int			 ok;
	const struct network	*n;
	struct member		*mem;
	size_t			 nmem;
	size_t			 leads, members;
	struct meeting		*next;		/* planned, not ended */
	size_t			 nnext;
	struct meeting		*all;		/* every one, by number */
	size_t			 nall, nheld;	/* nheld: planned, ended */
	struct news_item	*news;		/* newest first */
	size_t			 nnews;
};

static int
view_load(struct pub *p, const struct network *n, struct netview *v)
{
	struct store *st = p->app->st;

	memset(v, 0, sizeof(*v));
	v->n = n;
	if ((v->mem = store_members(st, n->id, &v->nmem)) == NULL ||
	    store_network_counts(st, n->id, &v->leads, &v->members) == -1 ||
	    (v->next = store_meetings(st, n->id, 1, p->now,
	    &v->nnext)) == NULL ||
	    (v->all = store_meetings(st, n->id, 0, p->now,
	    &v->nall)) == NULL ||
	    (v->news = store_news_latest(st, n->id, FEED_NEWS,
	    &v->nnews)) == NULL) {
		p->stats->db_failed = 1;
		pfail(p, "database %s: cannot read network %s",
		    p->app->cfg->db_path, n->slug);
		return -1;
	}
	for (size_t i = 0; i < v->nall; i++)
		v->nheld += v->all[i].status == MT_PLANNED &&
		    v->all[i].end <= p->now;
	v->ok = 1;
	return 0;
}

static void
view_clear(struct netview *v)
{
	if (v->mem)
		members_free(v->mem, v->nmem);
	if (v->next)
		meetings_free(v->next, v->nnext);
	if (v->all)
		meetings_free(v->all, v->nall);
	if (v->news)
		news_free(v->news, v->nnews);
	memset(v, 0, sizeof(*v));
}

/*
 * Is the line [b, e) a greeting ("Hi all,", "Beste collega's,", "Hoi
 * allemaal!")?  No headline: a greeting word first, or a short line that
 * ends in a comma.
 */
static int
greeting_line(const char *b, const char *e)
{
	size_t n = (size_t)(e - b), w = 0;

	while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t'))
		n--;
	if (n == 0 || n > 40)
		return 0;
	if (b[n - 1] == ',')
		return 1;
	while (w < n && isalpha((unsigned char)b[w]))
		w++;
	if (command_greeting_word(b, w))
		return b[n - 1] == '!' || w == n;
	return 0;
}

/*
 * A news item's title.  Items posted with "bericht SLUG" carry that
 * command as their subject, which says nothing on a page: it is dropped,
 * and an item left without a subject is titled by its first line that is
 * no greeting ("Hi all," titled the feed's entry).
 */
static char *
news_title(const struct pub *p, const struct news_item *it,
    const struct network *n)
{
	char *s = command_post_headline(it->subject, n->slug, n->title);
	char *t = str_trim(s), *r;

	if (*t == '\0') {
		const char *b = it->outside, *e;

		for (;;) {
			while (*b == '\n' || *b == '\r' || *b == ' ' ||
			    *b == '\t')
				b++;
			e = b + strcspn(b, "\r\n");
			if (*e == '\0' || !greeting_line(b, e))
				break;
			b = e;
		}
		if ((size_t)(e - b) > TITLE_MAX) {
			/* Cut at a character boundary and say so. */
			for (e = b + TITLE_MAX; e > b &&
			    ((unsigned char)*e & 0xc0) == 0x80; e--)
				;
			r = xasprintf("%.*s\u2026", (int)(e - b), b);
		} else
			r = xstrndup(b, (size_t)(e - b));
		free(s);
		if (*r == '\0') {
			free(r);
			r = xstrdup(p->w->no_subject);
		}
		return r;
	}
	r = xstrdup(t);
	free(s);
	return r;
}

static const char *
author_of(const struct news_item *it)
{
	return *it->author_name ? it->author_name : it->author_email;
}

/* ---- files -------------------------------------------------------------- */

/* Does path hold exactly data already? */
static int
same_content(const char *path, const char *data, size_t len)
{
	struct stat sb;
	char *cur;
	size_t got = 0;
	ssize_t r;
	int fd, same = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & 07777) == 0644 && (size_t)sb.st_size == len) {
		cur = xmalloc(len + 1);
		while (got < len) {
			r = read(fd, cur + got, len - got);
			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		same = got == len && memcmp(cur, data, len) == 0;
		free(cur);
	}
	close(fd);
	return same;
}

/*
 * Replace dir/name with data: a temporary file in the same directory,
 * written, synced and renamed over the old one, then the directory synced
 * so the rename survives a crash.  Published files are world-readable
 * (0644) whatever the umask: a web server must read them.
 */
static int
write_atomic(struct pub *p, const char *dir, const char *name,
    const char *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name), *tmp = NULL;
	size_t off = 0;
	ssize_t w;
	int fd = -1, dfd, saved;

	if (same_content(path, data, len)) {
		p->stats->unchanged++;
		free(path);
		return 0;
	}
	tmp = xasprintf("%s/.%s.XXXXXX", dir, name);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		saved = errno;
		pfail(p, "%s: cannot create a file there: %s", dir,
		    strerror(saved));
		free(tmp);
		free(path);
		return -1;
	}
	while (off < len) {
		if ((w = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) == -1 || fsync(fd) == -1)
		goto fail;
	w = close(fd);
	fd = -1;
	if (w == -1 || rename(tmp, path) == -1)
		goto fail;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	p->stats->written++;
	free(tmp);
	free(path);
	return 0;
fail:
	saved = errno;
	pfail(p, "%s: %s", path, strerror(saved));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	free(path);
	return -1;
}

static int
write_page(struct pub *p, const char *dir, const char *name, struct out *o)
{
	int rc;

	if (o->full) {
		pfail(p, "%s/%s: the page would be larger than %u bytes", dir,
		    name, PAGE_MAX);
		rc = -1;
	} else
		rc = write_atomic(p, dir, name, buf_str(&o->b), o->b.len);
	buf_free(&o->b);
	return rc;
}

/*
 * A directory we write into; made (0755, see write_atomic) if missing,
 * with the parents it lacks, as check-config promised.
 */
static int
ensure_dir(struct pub *p, const char *path)
{
	struct stat sb;
	int made, saved;

	made = mkdir(path, 0755) == 0;
	if (!made && errno == ENOENT) {
		char *parent = xstrdup(path), *slash = strrchr(parent, '/');

		/* "/a/b/" and "a" have no parent to make here. */
		while (slash != NULL && slash > parent && slash[1] == '\0') {
			*slash = '\0';
			slash = strrchr(parent, '/');
		}
		if (slash != NULL && slash > parent) {
			*slash = '\0';
			if (ensure_dir(p, parent) == -1) {
				free(parent);
				return -1;
			}
		}
		free(parent);
		made = mkdir(path, 0755) == 0;
	}
	if (made) {
		if (chmod(path, 0755) == -1) {
			saved = errno;
			pfail(p, "%s: %s", path, strerror(saved));
			return -1;
		}
		return 0;
	}
	saved = errno;
	if (saved == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	pfail(p, "%s: cannot make the directory: %s", path,
	    saved == EEXIST ? "a file is in the way" : strerror(saved));
	return -1;
}

/* ---- pages ------------------------------------------------------------- */

static void
page_head(struct pub *p, struct out *o, const char *title, int feeds)
{
	o_add(o, "<!DOCTYPE html>\n<html lang=\"");
	o_add(o, lang_code(p->lang));
	o_add(o, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>");
	o_esc(o, title, ESC_LINE);
	o_add(o, "</title>\n");
	if (feeds) {
		o_add(o, "<link rel=\"alternate\" type=\"application/atom+xml\" "
		    "href=\"feed.atom\" title=\"");
		o_esc(o, title, ESC_LINE);
		o_add(o, " \xe2\x80\x94 ");
		o_add(o, p->w->feed_title);
		o_add(o, "\">\n<link rel=\"alternate\" type=\"text/calendar\" "
		    "href=\"calendar.ics\" title=\"");
		o_esc(o, title, ESC_LINE);
		o_add(o, "\">\n");
	}
	o_add(o, "<meta name=\"generator\" content=\"leernet\">\n");
	o_add(o, css);
	o_add(o, "</head>\n<body>\n");
}

static void
page_foot(struct pub *p, struct out *o)
{
	const char *addr = p->app->cfg->from_addr;

	o_add(o, "<footer>\n<p>");
	o_add(o, p->w->help);
	o_add(o, "<a href=\"");
	o_mailto(o, addr, p->w->kw_help, NULL);
	o_add(o, "\">\"");
	o_add(o, p->w->kw_help);
	o_add(o, "\"</a>");
	o_add(o, p->w->help_end);
	o_esc(o, addr, ESC_LINE);
	o_add(o, ".</p>\n</footer>\n</body>\n</html>\n");
}

/* "Netwerktrekkers: <a>Ann</a>, <a>Bob</a>"; nothing without leads. */
static void
o_leads(struct pub *p, struct out *o, const struct netview *v)
{
	size_t k = 0;

	for (size_t i = 0; i < v->nmem; i++) {
		const struct member *m = &v->mem[i];

		if (m->role != ROLE_LEAD || m->state != MS_ACTIVE)
			continue;
		if (k++ == 0) {
			o_add(o, v->leads == 1 ? p->w->lead1 : p->w->leadn);
			o_add(o, ": ");
		} else
			o_add(o, ", ");
		o_add(o, "<a href=\"mailto:");
		o_pct(o, m->email, "@+");
		o_add(o, "\">");
		o_esc(o, *m->name ? m->name : m->email, ESC_LINE);
		o_add(o, "</a>");
	}
}

static void
o_members(struct pub *p, struct out *o, const struct netview *v)
{
	o_addf(o, "%zu ", v->members);
	o_add(o, v->members == 1 ? p->w->member1 : p->w->membern);
}

/* One meeting as a list item: when, where, what. */
static void
o_meeting(struct pub *p, struct out *o, const struct meeting *m, int number)
{
	struct dt_span sp;
	char iso[DT_ISO_LEN], *when;

	dt_span_set(p->app->zone, m->start, m->end, &sp);
	when = dt_format_span(&sp, p->lang);
	o_add(o, "<li><time datetime=\"");
	o_add(o, dt_format_iso(p->app->zone, m->start, iso));
	o_add(o, "\">");
	o_esc(o, when, ESC_LINE);
	o_add(o, "</time>");
	free(when);
	if (*m->location) {
		o_add(o, ", ");
		o_esc(o, m->location, ESC_LINE);
	}
	if (*m->topic) {
		o_add(o, " \xe2\x80\x94 ");
		o_esc(o, m->topic, ESC_LINE);
	}
	if (number)
		o_addf(o, " <span class=\"meta\">(%s %d)</span>", p->w->meeting,
		    m->number);
	o_add(o, "</li>\n");
}

/* The first max meetings to come, or a line that there are none (none
 * yet, or none any more). */
static void
o_ahead(struct pub *p, struct out *o, const struct netview *v, size_t max,
    int number)
{
	if (v->nnext == 0) {
		o_add(o, "<p>");
		o_add(o, v->nheld ? p->w->no_more : p->w->no_meetings);
		o_add(o, "</p>\n");
		return;
	}
	o_add(o, "<ul>\n");
	for (size_t i = 0; i < v->nnext && i < max; i++)
		o_meeting(p, o, &v->next[i], number);
	o_add(o, "</ul>\n");
}

/*
 * The network page's meetings: those to come, then those held.  A page
 * that said "nothing planned yet" after five meetings would read as if
 * the network never met.  A cancelled one is not shown, as in the feed.
 */
static void
o_meetings(struct pub *p, struct out *o, const struct netview *v)
{
	size_t i;

	o_ahead(p, o, v, v->nnext, 1);
	if (v->nheld == 0)
		return;
	o_add(o, "<h3>");
	o_add(o, p->w->held);
	o_add(o, "</h3>\n<ul>\n");
	for (i = 0; i < v->nall; i++)
		if (v->all[i].status == MT_PLANNED && v->all[i].end <= p->now)
			o_meeting(p, o, &v->all[i], 1);
	o_add(o, "</ul>\n");
}

static void
o_day(struct pub *p, struct out *o, time_t t)
{
	struct dt_local l;
	char iso[DT_ISO_LEN], *day;

	dt_localtime(p->app->zone, t, &l);
	day = dt_format_day(&l, p->lang);
	o_add(o, "<time datetime=\"");
	o_add(o, dt_format_iso(p->app->zone, t, iso));
	o_add(o, "\">");
	o_esc(o, day, ESC_LINE);
	o_add(o, "</time>");
	free(day);
}

static void
o_join_button(struct pub *p, struct out *o, const struct network *n)
{
	o_add(o, "<p><a class=\"button\" href=\"");
	o_mailto(o, p->app->cfg->from_addr, p->w->kw_join, n->slug);
	o_add(o, "\">");
	o_add(o, p->w->join);
	o_add(o, " ");
	o_esc(o, n->title, ESC_LINE);
	o_add(o, "</a></p>\n<p class=\"meta\">");
	o_add(o, p->w->join_note);
	o_esc(o, p->app->cfg->from_addr, ESC_LINE);
	o_add(o, p->w->join_note_end);
	o_add(o, "</p>\n");
}

static void
index_network(struct pub *p, struct out *o, const struct netview *v)
{
	const struct network *n = v->n;
	size_t i;

	o_addf(o, "<article class=\"network\" aria-labelledby=\"net-%s\">\n"
	    "<h2 id=\"net-%s\"><a href=\"%s/index.html\">", n->slug, n->slug,
	    n->slug);
	o_esc(o, n->title, ESC_LINE);
	o_add(o, "</a></h2>\n");
	if (*n->question) {
		o_add(o, "<p><strong>");
		o_add(o, p->w->question);
		o_add(o, ":</strong> ");
		o_esc(o, n->question, ESC_LINE);
		o_add(o, "</p>\n");
	}
	o_add(o, "<p class=\"meta\">");
	if (v->leads) {
		o_leads(p, o, v);
		o_add(o, " \xc2\xb7 ");
	}
	o_members(p, o, v);
	o_add(o, "</p>\n<h3>");
	o_add(o, p->w->next);
	o_add(o, "</h3>\n");
	o_ahead(p, o, v, INDEX_MEETINGS, 0);
	if (v->nnews) {
		o_add(o, "<h3>");
		o_add(o, p->w->latest);
		o_add(o, "</h3>\n<ul>\n");
		for (i = 0; i < v->nnews && i < INDEX_NEWS; i++) {
			char *t = news_title(p, &v->news[i], n);

			o_addf(o, "<li><a href=\"%s/index.html#news-%lld\">",
			    n->slug, (long long)v->news[i].id);
			o_esc(o, t, ESC_LINE);
			o_add(o, "</a> <span class=\"meta\">");
			o_day(p, o, v->news[i].created);
			o_add(o, "</span></li>\n");
			free(t);
		}
		o_add(o, "</ul>\n");
	}
	o_join_button(p, o, n);
	o_add(o, "<p><a href=\"");
	o_mailto(o, p->app->cfg->from_addr, p->w->kw_follow, n->slug);
	o_add(o, "\">");
	o_add(o, p->w->follow);
	o_add(o, "</a></p>\n</article>\n");
}

static void
index_page(struct pub *p, const struct netview *views, size_t nviews)
{
	struct config *cfg = p->app->cfg;
	struct out o;
	size_t shown = 0;

	o_init(&o);
	page_head(p, &o, p->w->site, 0);
	o_add(&o, "<header>\n<p class=\"org\">");
	o_esc(&o, cfg->org_name, ESC_LINE);
	o_add(&o, "</p>\n<h1>");
	o_add(&o, p->w->site);
	o_add(&o, "</h1>\n<p>");
	o_add(&o, p->w->intro);
	o_add(&o, "<a href=\"mailto:");
	o_pct(&o, cfg->from_addr, "@+");
	o_add(&o, "\">");
	o_esc(&o, cfg->from_addr, ESC_LINE);
	o_add(&o, "</a>");
	o_add(&o, p->w->intro_end);
	o_add(&o, "</p>\n</header>\n<main>\n");
	for (size_t i = 0; i < nviews; i++)
		if (views[i].ok && views[i].n->state == NET_OPEN) {
			index_network(p, &o, &views[i]);
			shown++;
		}
	if (shown == 0) {
		o_add(&o, "<p>");
		o_add(&o, p->w->none_open);
		o_add(&o, "</p>\n");
	}
	o_add(&o, "<section aria-labelledby=\"start\">\n<h2 id=\"start\">");
	o_add(&o, p->w->start_head);
	o_add(&o, "</h2>\n<p>");
	o_add(&o, p->w->start_text);
	o_add(&o, "<a href=\"");
	o_mailto(&o, cfg->from_addr, p->w->kw_start, NULL);
	o_add(&o, "%20\">");
	o_add(&o, p->w->start_link);
	o_add(&o, "</a>");
	o_add(&o, p->w->start_end);
	o_add(&o, "</p>\n</section>\n</main>\n");
	page_foot(p, &o);
	write_page(p, p->dir, "index.html", &o);
}

/* The absolute address of SLUG/name, or NULL without base_url. */
static char *
abs_url(const struct pub *p, const char *slug, const char *name)
{
	if (p->base == NULL)
		return NULL;
	return xasprintf("%s%s/%s", p->base, slug, name);
}

static void
network_page(struct pub *p, const char *dir, const struct netview *v)
{
	const struct network *n = v->n;
	const char *from = p->app->cfg->from_addr;
	struct out o;
	char *url;
	size_t i;

	o_init(&o);
	page_head(p, &o, n->title, 1);
	o_add(&o, "<nav><p><a href=\"../index.html\">\xe2\x86\x90 ");
	o_add(&o, p->w->back);
	o_add(&o, "</a></p></nav>\n<header>\n<p class=\"org\">");
	o_esc(&o, p->app->cfg->org_name, ESC_LINE);
	o_add(&o, "</p>\n<h1>");
	o_esc(&o, n->title, ESC_LINE);
	o_add(&o, "</h1>\n</header>\n<main>\n");
	if (n->state != NET_OPEN) {
		o_add(&o, "<p class=\"notice\">");
		o_add(&o, p->w->closed);
		o_add(&o, "</p>\n");
	}
	if (*n->question) {
		o_add(&o, "<section aria-labelledby=\"question\">\n"
		    "<h2 id=\"question\">");
		o_add(&o, p->w->question);
		o_add(&o, "</h2>\n");
		o_paras(&o, n->question);
		o_add(&o, "</section>\n");
	}
	o_add(&o, "<section aria-labelledby=\"who\">\n<h2 id=\"who\">");
	o_add(&o, p->w->who);
	o_add(&o, "</h2>\n<p>");
	if (v->leads) {
		o_leads(p, &o, v);
		o_add(&o, "<br>\n");
	}
	o_members(p, &o, v);
	o_add(&o, "</p>\n</section>\n");

	o_add(&o, "<section aria-labelledby=\"meetings\">\n"
	    "<h2 id=\"meetings\">");
	o_add(&o, p->w->meetings);
	o_add(&o, "</h2>\n");
	o_meetings(p, &o, v);
	o_add(&o, "<p><a href=\"calendar.ics\">");
	o_add(&o, p->w->calendar_link);
	o_add(&o, "</a></p>\n");
	if ((url = abs_url(p, n->slug, "calendar.ics")) != NULL) {
		o_add(&o, "<p class=\"meta\">");
		o_add(&o, p->w->calendar_note);
		o_add(&o, " <code>");
		o_esc(&o, url, ESC_LINE);
		o_add(&o, "</code></p>\n");
		free(url);
	}
	o_add(&o, "</section>\n");

	o_add(&o, "<section aria-labelledby=\"news\">\n<h2 id=\"news\">");
	o_add(&o, p->w->news);
	o_add(&o, "</h2>\n");
	if (v->nnews == 0) {
		o_add(&o, "<p>");
		o_add(&o, p->w->no_news);
		o_add(&o, "</p>\n");
	}
	for (i = 0; i < v->nnews && i < PAGE_NEWS; i++) {
		const struct news_item *it = &v->news[i];
		char *t = news_title(p, it, n), *body;

		o_addf(&o, "<article class=\"news-item\" id=\"news-%lld\">\n"
		    "<h3>", (long long)it->id);
		o_esc(&o, t, ESC_LINE);
		o_add(&o, "</h3>\n<p class=\"meta\">");
		o_day(p, &o, it->created);
		if (*author_of(it)) {
			o_add(&o, ", ");
			o_add(&o, p->w->by);
			o_add(&o, " ");
			o_esc(&o, author_of(it), ESC_LINE);
		}
		o_add(&o, "</p>\n");
		body = text_shorten(it->outside, ITEM_MAX);
		o_paras(&o, body);
		free(body);
		o_add(&o, "</article>\n");
		free(t);
	}
	o_add(&o, "<p><a href=\"feed.atom\">");
	o_add(&o, p->w->feed_link);
	o_add(&o, "</a></p>\n</section>\n");

	if (n->state == NET_OPEN) {
		o_add(&o, "<section aria-labelledby=\"take-part\">\n"
		    "<h2 id=\"take-part\">");
		o_add(&o, p->w->participate);
		o_add(&o, "</h2>\n");
		o_join_button(p, &o, n);
		o_add(&o, "<ul>\n<li><a href=\"");
		o_mailto(&o, from, p->w->kw_follow, n->slug);
		o_add(&o, "\">");
		o_add(&o, p->w->follow);
		o_add(&o, "</a></li>\n<li><a href=\"");
		o_mailto(&o, from, p->w->kw_post, n->slug);
		o_add(&o, "\">");
		o_add(&o, p->w->post);
		o_add(&o, "</a></li>\n<li><a href=\"");
		o_mailto(&o, from, p->w->kw_leave, n->slug);
		o_add(&o, "\">");
		o_add(&o, p->w->leave);
		o_add(&o, "</a></li>\n</ul>\n</section>\n");
	}
	o_add(&o, "</main>\n");
	page_foot(p, &o);
	write_page(p, dir, "index.html", &o);
}

/* ---- feeds ------------------------------------------------------------- */

/*
 * Atom ids are tag: URIs (RFC 4151) minted from our domain and the day the
 * network was created, so they never change and never collide.
 */
static void
o_tag(struct pub *p, struct out *o, const struct network *n)
{
	struct tm tm;
	char day[16];

	if (gmtime_r(&n->created, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y-%m-%d", &tm) == 0)
		snprintf(day, sizeof(day), "2000");
	o_add(o, "tag:");
	o_esc(o, p->app->domain, ESC_LINE);
	o_addf(o, ",%s:leernet/%s", day, n->slug);
}

static void
atom_feed(struct pub *p, const char *dir, const struct netview *v)
{
	const struct network *n = v->n;
	struct out o;
	char ts[32], *url;
	time_t updated = n->created;
	size_t i;

	for (i = 0; i < v->nnews; i++)
		if (v->news[i].created > updated)
			updated = v->news[i].created;
	o_init(&o);
	o_add(&o, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"");
	o_add(&o, lang_code(p->lang));
	o_add(&o, "\">\n<id>");
	o_tag(p, &o, n);
	o_add(&o, "</id>\n<title>");
	o_esc(&o, n->title, ESC_LINE);
	o_add(&o, " \xe2\x80\x94 ");
	o_add(&o, p->w->feed_title);
	o_add(&o, "</title>\n");
	if (*n->question) {
		o_add(&o, "<subtitle>");
		o_esc(&o, n->question, ESC_LINE);
		o_add(&o, "</subtitle>\n");
	}
	o_addf(&o, "<updated>%s</updated>\n", rfc3339(updated, ts));
	o_add(&o, "<author><name>");
	o_esc(&o, *p->app->cfg->from_name ? p->app->cfg->from_name :
	    p->app->cfg->org_name, ESC_LINE);
	o_add(&o, "</name></author>\n<generator>leernet</generator>\n");
	if ((url = abs_url(p, n->slug, "index.html")) != NULL) {
		o_add(&o, "<link rel=\"alternate\" type=\"text/html\" href=\"");
		o_esc(&o, url, ESC_LINE);
		free(url);
		url = abs_url(p, n->slug, "feed.atom");
		o_add(&o, "\"/>\n<link rel=\"self\" "
		    "type=\"application/atom+xml\" href=\"");
		o_esc(&o, url, ESC_LINE);
		o_add(&o, "\"/>\n");
		free(url);
	} else
		o_add(&o, "<link rel=\"alternate\" type=\"text/html\" "
		    "href=\"index.html\"/>\n");
	for (i = 0; i < v->nnews; i++) {
		const struct news_item *it = &v->news[i];
		char *t = news_title(p, it, n), *body;

		o_add(&o, "<entry>\n<id>");
		o_tag(p, &o, n);
		o_addf(&o, "/news/%lld</id>\n<title>", (long long)it->id);
		o_esc(&o, t, ESC_LINE);
		o_addf(&o, "</title>\n<updated>%s</updated>\n",
		    rfc3339(it->created, ts));
		o_addf(&o, "<published>%s</published>\n", ts);
		if (*author_of(it)) {
			o_add(&o, "<author><name>");
			o_esc(&o, author_of(it), ESC_LINE);
			o_add(&o, "</name></author>\n");
		}
		o_add(&o, "<link rel=\"alternate\" type=\"text/html\" href=\"");
		if ((url = abs_url(p, n->slug, "index.html")) != NULL) {
			o_esc(&o, url, ESC_LINE);
			free(url);
		} else
			o_add(&o, "index.html");
		o_addf(&o, "#news-%lld\"/>\n<content type=\"text\">",
		    (long long)it->id);
		body = text_shorten(it->outside, ITEM_MAX);
		o_esc(&o, body, ESC_TEXT);
		free(body);
		o_add(&o, "</content>\n</entry>\n");
		free(t);
	}
	o_add(&o, "</feed>\n");
	write_page(p, dir, "feed.atom", &o);
}

/* Every meeting (the feed leaves cancelled ones out), same UIDs and
 * summaries as the invitations. */
static void
calendar_feed(struct pub *p, const char *dir, const struct network *n)
{
	struct meeting *m;
	struct ical_event *ev;
	char **summary, err[256], *ics;
	size_t cnt, i;

	if ((m = store_meetings(p->app->st, n->id, 0, p->now, &cnt)) == NULL) {
		p->stats->db_failed = 1;
		pfail(p, "database %s: cannot read the meetings of %s",
		    p->app->cfg->db_path, n->slug);
		return;
	}
	ev = xcalloc(cnt ? cnt : 1, sizeof(*ev));
	summary = xcalloc(cnt ? cnt : 1, sizeof(*summary));
	for (i = 0; i < cnt; i++) {
		summary[i] = xasprintf("%s \xe2\x80\x94 %s %d", n->title,
		    p->w->meeting, m[i].number);
		ev[i].uid = m[i].uid;
		ev[i].sequence = m[i].sequence;
		ev[i].start = m[i].start;
		ev[i].end = m[i].end;
		ev[i].tzid = p->app->cfg->timezone;
		ev[i].summary = summary[i];
		ev[i].location = m[i].location;
		ev[i].description = m[i].topic;
		ev[i].cancelled = m[i].status == MT_CANCELLED;
		ev[i].dtstamp = m[i].updated;
		ev[i].last_modified = m[i].updated;
	}
	if ((ics = ical_feed(ev, cnt, n->title, p->app->cfg->timezone, err,
	    sizeof(err))) == NULL)
		pfail(p, "%s/calendar.ics: %s", dir, err);
	else {
		write_atomic(p, dir, "calendar.ics", ics, strlen(ics));
		free(ics);
	}
	for (i = 0; i < cnt; i++)
		free(summary[i]);
	free(summary);
	free(ev);
	meetings_free(m, cnt);
}

/* ---- entry points -------------------------------------------------------- */

int
publish_run(struct app *app, time_t now, struct publish_stats *stats,
    char *err, size_t errlen)
{
	struct config *cfg = app->cfg;
	struct pub p;
	struct network *nets;
	struct netview *views;
	size_t nn, i;

	memset(stats, 0, sizeof(*stats));
	memset(&p, 0, sizeof(p));
	p.app = app;
	p.lang = cfg->language && strcmp(cfg->language, "en") == 0 ?
	    LANG_EN : LANG_NL;
	p.w = p.lang == LANG_EN ? &words_en : &words_nl;
	p.dir = cfg->publish_dir;
	p.now = now;
	p.stats = stats;
	p.err = err;
	p.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (p.dir == NULL || *p.dir == '\0') {
		pfail(&p, "%s: [publish] dir is not set", cfg->file);
		return -1;
	}
	if (cfg->base_url && *cfg->base_url) {
		size_t l = strlen(cfg->base_url);

		p.base = xasprintf("%s%s", cfg->base_url,
		    cfg->base_url[l - 1] == '/' ? "" : "/");
	}
	if (ensure_dir(&p, p.dir) == -1) {
		free(p.base);
		return -1;
	}
	if ((nets = store_networks(app->st, &nn)) == NULL) {
		stats->db_failed = 1;
		pfail(&p, "database %s: cannot read the networks",
		    cfg->db_path);
		free(p.base);
		return -1;
	}
	views = xcalloc(nn ? nn : 1, sizeof(*views));
	for (i = 0; i < nn; i++) {
		const struct network *n = &nets[i];
		char *dir;

		/* Proposals and rejections are nobody's business yet. */
		if (n->state != NET_OPEN && n->state != NET_CLOSED)
			continue;
		if (!slug_valid(n->slug)) {
			log_warnx("publish: network %lld has a slug that is no "
			    "safe directory name; not published",
			    (long long)n->id);
			continue;
		}
		if (view_load(&p, n, &views[i]) == -1)
			continue;
		dir = xasprintf("%s/%s", p.dir, n->slug);
		if (ensure_dir(&p, dir) == 0) {
			calendar_feed(&p, dir, n);
			atom_feed(&p, dir, &views[i]);
			network_page(&p, dir, &views[i]);
			stats->networks++;
		}
		free(dir);
		/* A meeting that ends leaves the pages. */
		for (size_t k = 0; k < views[i].nnext; k++)
			if (stats->stale_at == 0 ||
			    views[i].next[k].end < stats->stale_at)
				stats->stale_at = views[i].next[k].end;
	}
	/* Last, so that its links lead to pages that exist. */
	index_page(&p, views, nn);
	for (i = 0; i < nn; i++)
		view_clear(&views[i]);
	free(views);
	networks_free(nets, nn);
	free(p.base);
	return p.failed ? -1 : 0;
}

int
publish_cmd(struct app *app, int argc, char **argv)
{
	struct publish_stats st;
	char err[1024];
	int rc;

	if (argc > 0) {
		fprintf(stderr, "leernet: publish: unexpected '%s'\n"
		    "usage: leernet publish\n", argv[0]);
		return EXIT_USAGE;
	}
	if (app->cfg->publish_dir == NULL || *app->cfg->publish_dir == '\0') {
		fprintf(stderr, "leernet: %s: [publish] dir is not set; set it "
		    "to the directory your web server serves\n", app->cfg->file);
		return EXIT_CONFIG;
	}
	rc = publish_run(app, time(NULL), &st, err, sizeof(err));
	/* The zones libical cached are of no more use to a command. */
	ical_shutdown();
	if (rc == -1) {
		fprintf(stderr, "leernet: publish: %s\n", err);
		return st.db_failed ? EXIT_SOFTWARE : EXIT_CANTCREAT;
	}
	printf("published %zu network%s to %s: %zu file%s written, "
	    "%zu unchanged\n", st.networks, st.networks == 1 ? "" : "s",
	    app->cfg->publish_dir, st.written, st.written == 1 ? "" : "s",
	    st.unchanged);
	return 0;
}

void
publish_if_due(struct app *app, time_t now, time_t *next)
{
	struct publish_stats st;
	char err[1024];

	if (app->cfg->publish_dir == NULL || *app->cfg->publish_dir == '\0')
		return;
	if (!app->changed && *next != 0 && now < *next)
		return;
	app->changed = 0;
	if (publish_run(app, now, &st, err, sizeof(err)) == -1) {
		log_warnx("publish: %s; trying again in %d minutes", err,
		    RETRY_AFTER / 60);
		*next = now + RETRY_AFTER;
		return;
	}
	if (st.written)
		log_info("published %zu network%s to %s (%zu file%s changed)",
		    st.networks, st.networks == 1 ? "" : "s",
		    app->cfg->publish_dir, st.written,
		    st.written == 1 ? "" : "s");
	*next = st.stale_at > now ? st.stale_at : now + REFRESH_AFTER;
}
