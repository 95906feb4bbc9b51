/*
 * digest.c - what is new for whom, as one mail per recipient.
 *
 * A run first loads what every network has to tell (news of the last
 * DIGEST_WINDOW, members, upcoming meetings with RSVP counts), then walks
 * the recipients: active members, leads and followers of open networks
 * (and of networks closed within the window: their final digest), and the
 * coordinators, who get the overview of everything instead.  Per recipient
 * an item counts when it is new to them (store_digest_seen); a digest
 * without items is not sent.  In DIGEST_SEND mode the digests go through
 * reply_queue() and their items are remembered, in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "command.h"
#include "compose.h"
#include "config.h"
#include "dates.h"
#include "digest.h"
#include "log.h"
#include "reply.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define DAY		(24 * 3600)
#define DIGEST_WINDOW	(31 * DAY)	/* never look further back */
#define HORIZON_DAILY	(7 * DAY)	/* meetings this far ahead */
#define HORIZON_WEEKLY	(14 * DAY)
#define NEWS_BODY_MAX	2000		/* bytes of a news item shown */
#define TIMER_MAX_WAIT	3600		/* look at the schedule hourly */
#define TIMER_RETRY	300		/* after a failed run */

/* ---- the schedule ---- */

/* The scheduled instant on day `days`, or 0 when that day has none. */
static time_t
slot_on(const struct config *cfg, const struct dt_zone *z, long days)
{
	int64_t y64;
	int y, m, d;
	time_t t;

	/* 1970-01-01 was a Thursday. */
	if (cfg->digest == DIGEST_WEEKLY &&
	    ((days % 7 + 7 + 4) % 7) != cfg->digest_wday)
		return 0;
	dt_civil_from_days(days, &y64, &m, &d);
	y = (int)y64;
	if (dt_mktime(z, y, m, d, cfg->digest_hour, cfg->digest_min, &t) == 0)
		return t;
	/* Skipped by the clocks: the same minute an hour later exists. */
	if (cfg->digest_hour < 23 && dt_mktime(z, y, m, d,
	    cfg->digest_hour + 1, cfg->digest_min, &t) == 0)
		return t;
	return 0;
}

static long
local_days(const struct dt_zone *z, time_t t)
{
	struct dt_local l;

	dt_localtime(z, t, &l);
	return (long)dt_days_from_civil(l.year, l.mon, l.day);
}

time_t
digest_slot_before(const struct config *cfg, const struct dt_zone *z,
    time_t t)
{
	long today;

	if (cfg->digest == DIGEST_OFF)
		return 0;
	today = local_days(z, t);
	for (long k = 0; k <= 8; k++) {
		time_t s = slot_on(cfg, z, today - k);

		if (s != 0 && s <= t)
			return s;
	}
	return 0;
}

time_t
digest_slot_after(const struct config *cfg, const struct dt_zone *z,
    time_t t)
{
	long today;

	if (cfg->digest == DIGEST_OFF)
		return 0;
	today = local_days(z, t);
	for (long k = 0; k <= 8; k++) {
		time_t s = slot_on(cfg, z, today + k);

		if (s > t)
			return s;
	}
	return 0;
}

/* ---- what the networks have to tell ---- */

struct netdata {
	const struct network	*n;
	time_t			 changed;	/* opened or closed */
	int			 closed;	/* within the window */
	struct news_item	*news;
	size_t			 nnews;
	struct member		*mem;
	size_t			 nmem;
	struct meeting		*mt;		/* planned, not ended */
	size_t			 nmt;
	struct meeting		*all;		/* every meeting, cancelled too */
	size_t			 nall;
	struct rsvp_counts	*counts;	/* per mt */
	char			*leads;
	char			*proposer;	/* proposed networks */
	size_t			 members, followers;	/* active, leads apart */
};

struct ctx {
	struct app		*app;
	time_t			 now;
	time_t			 window;	/* the oldest time that counts */
	time_t			 horizon;	/* the latest meeting start */
	time_t			 last_run;	/* the previous digests, or 0 */
	enum digest_mode	 mode;
	struct network		*nets;
	size_t			 nnets;
	struct netdata		*nd;
};

/* What one digest carries, to be remembered when it is sent. */
struct seen {
	const char	*kind;
	int64_t		 item, sub;
};

struct dg {
	struct tvars	*v;
	struct seen	*seen;
	size_t		 nseen, cap;
	size_t		 nnets, ncalls;		/* "networks", "calls" items */
	const char	*unsub_slug;		/* List-Unsubscribe: leave */
	int		 unsub_follower;	/* or unfollow this network */
	int		 coordinator;		/* the coordinators' digest */
};

static void
dg_seen(struct dg *d, const char *kind, int64_t item, int64_t sub)
{
	if (d->nseen == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 32;
		d->seen = xreallocarray(d->seen, d->cap, sizeof(*d->seen));
	}
	d->seen[d->nseen].kind = kind;
	d->seen[d->nseen].item = item;
	d->seen[d->nseen].sub = sub;
	d->nseen++;
}

static void
dg_free(struct dg *d)
{
	tvars_free(d->v);
	free(d->seen);
	memset(d, 0, sizeof(*d));
}

static enum lang
lang_of(const char *code)
{
	return code && strcmp(code, "en") == 0 ? LANG_EN : LANG_NL;
}

static void
ctx_free(struct ctx *c)
{
	for (size_t i = 0; c->nd && i < c->nnets; i++) {
		struct netdata *nd = &c->nd[i];

		news_free(nd->news, nd->nnews);
		members_free(nd->mem, nd->nmem);
		meetings_free(nd->mt, nd->nmt);
		meetings_free(nd->all, nd->nall);
		free(nd->counts);
		free(nd->leads);
		free(nd->proposer);
	}
	free(c->nd);
	networks_free(c->nets, c->nnets);
}

static int
load_network(struct ctx *c, struct netdata *nd)
{
	struct store *st = c->app->st;
	const struct network *n = nd->n;

	if (store_network_changed(st, n->id, &nd->changed) == -1)
		return -1;
	if (n->state == NET_PROPOSED && n->proposer_id) {
		struct person p = { 0 };

		if (store_person_by_id(st, n->proposer_id, &p) == 0) {
			nd->proposer = xstrdup(p.email);
			person_clear(&p);
		}
	}
	nd->closed = n->state == NET_CLOSED && nd->changed >= c->window;
	if (n->state != NET_OPEN && !nd->closed)
		return 0;
	if ((nd->news = store_news_since(st, n->id, c->window,
	    &nd->nnews)) == NULL ||
	    (nd->mem = store_members(st, n->id, &nd->nmem)) == NULL)
		return -1;
	for (size_t i = 0; i < nd->nmem; i++)
		if (nd->mem[i].state == MS_ACTIVE) {
			if (nd->mem[i].role == ROLE_FOLLOWER)
				nd->followers++;
			else if (nd->mem[i].role == ROLE_MEMBER)
				nd->members++;
		}
	nd->leads = store_network_leads(st, n->id);
	if (n->state != NET_OPEN)
		return 0;
	if ((nd->mt = store_meetings(st, n->id, 1, c->now, &nd->nmt)) == NULL ||
	    (nd->all = store_meetings(st, n->id, 0, c->now, &nd->nall)) == NULL)
		return -1;
	nd->counts = xcalloc(nd->nmt ? nd->nmt : 1, sizeof(*nd->counts));
	for (size_t i = 0; i < nd->nmt; i++)
		if (store_rsvp_counts(st, &nd->mt[i], &nd->counts[i]) == -1)
			return -1;
	return 0;
}

static int
ctx_load(struct ctx *c, struct app *app, time_t now, enum digest_mode mode)
{
	memset(c, 0, sizeof(*c));
	c->app = app;
	c->now = now;
	c->mode = mode;
	c->window = now - DIGEST_WINDOW;
	c->horizon = now + (app->cfg->digest == DIGEST_DAILY ? HORIZON_DAILY :
	    HORIZON_WEEKLY);
	if (store_digest_last_run(app->st, &c->last_run) == -1 ||
	    (c->nets = store_networks(app->st, &c->nnets)) == NULL)
		return -1;
	c->nd = xcalloc(c->nnets ? c->nnets : 1, sizeof(*c->nd));
	for (size_t i = 0; i < c->nnets; i++) {
		c->nd[i].n = &c->nets[i];
		if (load_network(c, &c->nd[i]) == -1)
			return -1;
	}
	return 0;
}

/* ---- filling the template variables ---- */

/* "=====" as wide as s (in characters), at least 3. */
static char *
rule_for(const char *s, char ch)
{
	size_t w = 0;
	char *r;

	for (const char *p = s; *p; p++)
		if (((unsigned char)*p & 0xc0) != 0x80)
			w++;
	if (w < 3)
		w = 3;
	r = xmalloc(w + 1);
	memset(r, ch, w);
	r[w] = '\0';
	return r;
}

static void
set_day(struct app *app, struct tvars *v, const char *name, time_t t,
    enum lang lang)
{
	struct dt_local l;
	char *s;

	dt_localtime(app->zone, t, &l);
	s = dt_format_day(&l, lang);
	tvars_set(v, name, s);
	free(s);
}

static char *
when_of(struct app *app, const struct meeting *m, enum lang lang)
{
	struct dt_span span;

	dt_span_set(app->zone, m->start, m->end, &span);
	return dt_format_span(&span, lang);
}

/* s with at most one empty line between paragraphs and none before the
 * first: the digest puts its own around it.  Caller frees. */
static char *
one_blank_line(const char *s, size_t n)
{
	char *r = xmalloc(n + 1), *w = r;
	int blanks = 1;

	for (size_t i = 0; i < n;) {
		size_t e = i;
		int blank = 1;

		while (e < n && s[e] != '\n') {
			if (s[e] != ' ' && s[e] != '\t' && s[e] != '\r')
				blank = 0;
			e++;
		}
		blanks = blank ? blanks + 1 : 0;
		if (blanks <= 1) {
			if (!blank) {
				memcpy(w, s + i, e - i);
				w += e - i;
			}
			if (e < n)
				*w++ = '\n';
		}
		i = e < n ? e + 1 : e;
	}
	*w = '\0';
	return r;
}

/* At most NEWS_BODY_MAX bytes, cut at a line or word, never inside a
 * UTF-8 sequence; trailing blank lines dropped, runs of blank lines made
 * one.  Caller frees. */
static char *
news_body(const char *text)
{
	char *body, *r;
	size_t n;

	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
	    text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	body = one_blank_line(text, n);
	r = text_shorten(body, NEWS_BODY_MAX);
	free(body);
	return r;
}

static void
set_person_name(struct tvars *v, const char *name, const char *email)
{
	if (name && *name)
		tvars_setf(v, "name", "%s (%s)", name, email);
	else
		tvars_set(v, "name", email);
}

/* 1 when a digest told pid of meeting m as it was at a sequence below
 * `below`, 0 when none did, -1 on error. */
static int
told_meeting(struct store *st, int64_t pid, const struct meeting *m,
    int below)
{
	for (int q = 0; q < below; q++) {
		int r = store_digest_seen(st, pid, "meeting", m->id, q);

		if (r != 1)
			return r == 0 ? 1 : -1;
	}
	return 0;
}

/*
 * A cancelled meeting is news to pid when it still lay ahead, was
 * cancelled after `from`, was not told as cancelled yet, and pid knew of
 * it: a digest told them, or it was planned after the previous digests
 * (followers get no CANCEL mail).  1, 0 or -1.
 */
static int
cancel_is_news(struct ctx *c, int64_t pid, const struct meeting *m,
    time_t from)
{
	int r;

	if (m->status != MT_CANCELLED || m->start <= c->now ||
	    m->updated < from)
		return 0;
	if ((r = store_digest_seen(c->app->st, pid, "cancelled", m->id,
	    0)) != 1)
		return r;
	if ((r = told_meeting(c->app->st, pid, m, m->sequence + 1)) != 0)
		return r;
	return m->created > c->last_run && m->start <= c->horizon;
}

/*
 * The new items of one network for person pid (0: nobody in particular),
 * counting from `from`, as one "networks" item of d->v.  Returns how many
 * items it holds (0: none, and nothing was added), or -1.
 */
static int
add_network(struct ctx *c, struct dg *d, const struct netdata *nd,
    int64_t pid, time_t from, enum role role, enum lang lang)
{
	struct store *st = c->app->st;
	const struct network *n = nd->n;
	size_t *in = xcalloc(nd->nnews + 1, sizeof(size_t));
	size_t *im = xcalloc(nd->nmem + 1, sizeof(size_t));
	size_t *it = xcalloc(nd->nmt + 1, sizeof(size_t));
	size_t *ix = xcalloc(nd->nall + 1, sizeof(size_t));
	int *changed = xcalloc(nd->nmt + 1, sizeof(int));
	size_t nn = 0, nm = 0, nt = 0, nx = 0;
	int closed = 0, r, total = -1;
	struct tvars *v;
	char *rule;

	for (size_t i = 0; i < nd->nnews; i++) {
		const struct news_item *x = &nd->news[i];

		if (x->created < from || (pid && x->person_id == pid))
			continue;
		if ((r = store_digest_seen(st, pid, "news", x->id, 0)) == -1)
			goto out;
		if (r == 1)
			in[nn++] = i;
	}
	for (size_t i = 0; i < nd->nmem; i++) {
		const struct member *x = &nd->mem[i];

		/* Those who joined with or after the recipient (or within
		 * the window): not who was there when they came. */
		if (x->state != MS_ACTIVE || x->role == ROLE_FOLLOWER ||
		    x->since < from || x->person_id == pid)
			continue;
		if ((r = store_digest_seen(st, pid, "member", x->person_id,
		    n->id)) == -1)
			goto out;
		if (r == 1)
			im[nm++] = i;
	}
	for (size_t i = 0; i < nd->nmt; i++) {
		const struct meeting *x = &nd->mt[i];

		if (x->start <= c->now || x->start > c->horizon)
			continue;
		if ((r = store_digest_seen(st, pid, "meeting", x->id,
		    x->sequence)) == -1)
			goto out;
		if (r == 0)
			continue;
		/* Told before at an earlier sequence: it was moved. */
		if ((r = told_meeting(st, pid, x, x->sequence)) == -1)
			goto out;
		changed[nt] = r;
		it[nt++] = i;
	}
	for (size_t i = 0; i < nd->nall; i++) {
		if ((r = cancel_is_news(c, pid, &nd->all[i], from)) == -1)
			goto out;
		if (r == 1)
			ix[nx++] = i;
	}
	if (nd->closed) {
		if ((r = store_digest_seen(st, pid, "closed", n->id, 0)) == -1)
			goto out;
		closed = r == 1;
	}
	total = (int)(nn + nm + nt + nx) + closed;
	if (total == 0)
		goto out;

	v = tvars_add_item(d->v, "networks");
	d->nnets++;
	tvars_set(v, "title", n->title);
	tvars_set(v, "slug", n->slug);
	rule = rule_for(n->title, '=');
	tvars_set(v, "h2", rule);
	memset(rule, '-', strlen(rule));
	tvars_set(v, "h3", rule);
	free(rule);
	tvars_set(v, "leads", nd->leads ? nd->leads : "");
	tvars_set_bool(v, "is_follower", role == ROLE_FOLLOWER);
	tvars_set_bool(v, "closed", closed);
	if (closed) {
		dg_seen(d, "closed", n->id, 0);
		/* The lead's words with "sluit": their goodbye. */
		if (n->reason != NULL && *n->reason != '\0')
			tvars_set(v, "close_reason", n->reason);
	}
	tvars_set_bool(v, "has_news", nn > 0);
	for (size_t k = 0; k < nn; k++) {
		const struct news_item *x = &nd->news[in[k]];
		struct tvars *e = tvars_add_item(v, "news");
		/* A forward's whole text is the members': followers and
		 * coordinators see the writer's own words. */
		char *body = news_body(role == ROLE_FOLLOWER || d->coordinator ?
		    x->outside : x->body);

		char *title = command_post_headline(x->subject, n->slug,
		    n->title);

		tvars_set(e, "subject", title);
		rule = rule_for(title, '-');
		tvars_set(e, "h3", *title ? rule : "");
		free(rule);
		free(title);
		tvars_set(e, "author", *x->author_name ? x->author_name :
		    *x->author_email ? x->author_email : "?");
		tvars_set(e, "body", body);
		set_day(c->app, e, "date", x->created, lang);
		free(body);
		dg_seen(d, "news", x->id, 0);
	}
	tvars_set_bool(v, "has_members", nm > 0);
	for (size_t k = 0; k < nm; k++) {
		const struct member *x = &nd->mem[im[k]];
		struct tvars *e = tvars_add_item(v, "members");

		set_person_name(e, x->name, x->email);
		tvars_set_bool(e, "is_lead", x->role == ROLE_LEAD);
		dg_seen(d, "member", x->person_id, n->id);
	}
	tvars_set_bool(v, "has_meetings", nt + nx > 0);
	tvars_set_bool(v, "has_upcoming", nt > 0);
	for (size_t k = 0; k < nt; k++) {
		const struct meeting *x = &nd->mt[it[k]];
		const struct rsvp_counts *rc = &nd->counts[it[k]];
		struct tvars *e = tvars_add_item(v, "meetings");
		char *when = when_of(c->app, x, lang);

		tvars_setf(e, "number", "%d", x->number);
		tvars_set(e, "when", when);
		tvars_set(e, "location", x->location);
		tvars_set(e, "topic", x->topic);
		tvars_setf(e, "accepted", "%zu", rc->accepted);
		tvars_setf(e, "declined", "%zu", rc->declined);
		tvars_setf(e, "tentative", "%zu", rc->tentative);
		tvars_setf(e, "needs_action", "%zu", rc->needs_action);
		tvars_set_bool(e, "changed", changed[k]);
		free(when);
		dg_seen(d, "meeting", x->id, x->sequence);
	}
	for (size_t k = 0; k < nx; k++) {
		const struct meeting *x = &nd->all[ix[k]];
		struct tvars *e = tvars_add_item(v, "cancelled");

		tvars_setf(e, "number", "%d", x->number);
		set_day(c->app, e, "day", x->start, lang);
		dg_seen(d, "cancelled", x->id, 0);
	}
out:
	free(in);
	free(im);
	free(it);
	free(ix);
	free(changed);
	return total;
}

/* A network newly opened, as a "calls" item. */
static void
add_call(struct dg *d, const struct netdata *nd)
{
	struct tvars *v = tvars_add_item(d->v, "calls");

	tvars_set(v, "title", nd->n->title);
	tvars_set(v, "slug", nd->n->slug);
	tvars_set(v, "question", nd->n->question);
	tvars_set(v, "leads", nd->leads ? nd->leads : "");
	d->ncalls++;
	dg_seen(d, "call", nd->n->id, 0);
}

/* ---- recipients ---- */

struct sub {
	int64_t		 person_id;
	size_t		 net;		/* index in ctx */
	enum role	 role;
	time_t		 since;
};

static int
sub_cmp(const void *a, const void *b)
{
	const struct sub *x = a, *y = b;

	if (x->person_id != y->person_id)
		return x->person_id < y->person_id ? -1 : 1;
	return x->net < y->net ? -1 : x->net > y->net;
}

/* Every active membership in a network that still has news to tell. */
static struct sub *
collect_subs(struct ctx *c, size_t *n)
{
	struct sub *v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < c->nnets; i++) {
		const struct netdata *nd = &c->nd[i];

		if (nd->n->state != NET_OPEN && !nd->closed)
			continue;
		for (size_t k = 0; k < nd->nmem; k++) {
			if (nd->mem[k].state != MS_ACTIVE)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[*n].person_id = nd->mem[k].person_id;
			v[*n].net = i;
			v[*n].role = nd->mem[k].role;
			v[*n].since = nd->mem[k].since;
			(*n)++;
		}
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), sub_cmp);
	return v;
}

static void
common_vars(struct ctx *c, struct dg *d, enum lang lang)
{
	set_day(c->app, d->v, "date", c->now, lang);
}

/* The digest of one member, lead or follower: subs[0..n) are theirs. */
static int
build_member(struct ctx *c, const struct person *p, const struct sub *subs,
    size_t n, struct dg *d)
{
	enum lang lang = lang_of(p->lang);
	size_t total = 0;
	int r;

	d->v = tvars_new();
	common_vars(c, d, lang);
	for (size_t i = 0; i < n; i++) {
		time_t from = subs[i].since > c->window ? subs[i].since :
		    c->window;

		if ((r = add_network(c, d, &c->nd[subs[i].net], p->id, from,
		    subs[i].role, lang)) == -1)
			return -1;
		total += (size_t)r;
	}
	/*
	 * List-Unsubscribe names a network only when it is the one this
	 * digest is about and the person has no other, and not for a lead
	 * (who cannot simply leave).  Otherwise a bare "afmelden", which is
	 * answered with the networks and how to leave each.
	 */
	if (n == 1 && d->nnets > 0 && subs[0].role != ROLE_LEAD &&
	    c->nd[subs[0].net].n->state == NET_OPEN) {
		d->unsub_slug = c->nd[subs[0].net].n->slug;
		d->unsub_follower = subs[0].role == ROLE_FOLLOWER;
	}
	/* Calls: networks opened since we knew the person, not theirs. */
	for (size_t i = 0; i < c->nnets; i++) {
		const struct netdata *nd = &c->nd[i];
		enum role role;
		enum mstate ms;
		time_t from = p->created > c->window ? p->created : c->window;

		if (nd->n->state != NET_OPEN || nd->changed <= from)
			continue;
		if ((r = store_membership(c->app->st, nd->n->id, p->id, &role,
		    &ms)) == -1)
			return -1;
		if (r == 0)
			continue;
		if ((r = store_digest_seen(c->app->st, p->id, "call",
		    nd->n->id, 0)) == -1)
			return -1;
		if (r == 1) {
			add_call(d, nd);
			total++;
		}
	}
	tvars_set_bool(d->v, "has_calls", d->ncalls > 0);
	return (int)total;
}

/* ---- the coordinators' overview ---- */

/* What an outbox row is, in words (its kind is a name for the code). */
static const char *
kind_words(const char *kind, enum lang lang)
{
	static const struct {
		const char	*kind, *nl, *en;
	} words[] = {
		{ "reply",	"antwoord",		"answer" },
		{ "attendance",	"antwoord",		"answer" },
		{ "confirm",	"bevestigingsvraag",	"request to confirm" },
		{ "refusal",	"weigering",		"refusal" },
		{ "invite",	"uitnodiging",		"invitation" },
		{ "moderate",	"voorstel ter beoordeling",
		    "proposal to decide on" },
		{ "call",	"oproep voor deelnemers", "call for participants" },
		{ "digest",	"samenvatting",		"digest" },
		{ "reminder",	"herinnering",		"reminder" },
		{ "list",	"netwerkmail",		"network mail" },
	};

	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (strcmp(kind, words[i].kind) == 0)
			return lang == LANG_EN ? words[i].en : words[i].nl;
	return kind;
}

/*
 * A delivery failure as one readable line: a server that puts the
 * recipient's "<x>: Recipient address rejected: " before a text that
 * already starts with it says it once.  Caller frees.
 */
static char *
reason_once(const char *why)
{
	char *r = xstrdup(*why ? why : "?");
	size_t n = strlen(r);

	for (size_t i = 0; i < n; i++) {
		/* The longest run at i, ending in ": ", that follows itself. */
		for (size_t len = (n - i) / 2; len >= 8; len--) {
			if (r[i + len - 2] != ':' || r[i + len - 1] != ' ' ||
			    memcmp(r + i, r + i + len, len) != 0)
				continue;
			memmove(r + i, r + i + len, n - i - len + 1);
			n -= len;
			len = (n - i) / 2 + 1;
		}
	}
	return r;
}

static int
add_problems(struct ctx *c, struct dg *d, int64_t pid, enum lang lang)
{
	struct store *st = c->app->st;
	struct bounce_row *b;
	struct ob_row *o;
	struct kept_row *k;
	size_t nb, no, nk, old_b = 0, old_f = 0, nnb = 0, nnf = 0, nnk = 0;
	size_t nnu = 0, others = 0;
	const struct ob_row *last = NULL;
	struct tvars *last_item = NULL;
	char *why;
	int r, rc = -1;

	if ((b = store_bouncing(st, &nb)) == NULL)
		return -1;
	if ((o = store_outbox_list(st, 0, &no)) == NULL) {
		bounces_free(b, nb);
		return -1;
	}
	if ((k = store_kept_since(st, c->window, &nk)) == NULL)
		goto out;
	for (size_t i = 0; i < nb; i++) {
		struct tvars *e;

		if ((r = store_digest_seen(st, pid, "bounce", b[i].person_id,
		    (int64_t)b[i].at)) == -1)
			goto out;
		if (r == 0) {
			old_b++;
			continue;
		}
		e = tvars_add_item(d->v, "bouncing");
		tvars_set(e, "email", b[i].email);
		tvars_set(e, "name", b[i].name);
		why = reason_once(b[i].reason);
		tvars_set(e, "reason", why);
		free(why);
		set_day(c->app, e, "date", b[i].at, lang);
		dg_seen(d, "bounce", b[i].person_id, (int64_t)b[i].at);
		nnb++;
	}
	for (size_t i = 0; i < no; i++) {
		struct tvars *e;

		if (o[i].state != OB_FAILED)
			continue;
		if ((r = store_digest_seen(st, pid, "failed", o[i].id, 0)) == -1)
			goto out;
		if (r == 0) {
			old_f++;
			continue;
		}
		/* The copies of one list post, refused alike (too large for
		 * the server): one line, not one per member. */
		if (last != NULL && strcmp(o[i].msgid, last->msgid) == 0 &&
		    strcmp(o[i].last_error, last->last_error) == 0) {
			tvars_setf(last_item, "others", "%zu", ++others);
			dg_seen(d, "failed", o[i].id, 0);
			nnf++;
			continue;
		}
		last = &o[i];
		others = 0;
		e = last_item = tvars_add_item(d->v, "failed");
		tvars_setf(e, "id", "%lld", (long long)o[i].id);
		tvars_set(e, "kind", kind_words(o[i].kind, lang));
		tvars_set(e, "rcpt", o[i].rcpt);
		why = reason_once(o[i].last_error);
		tvars_set(e, "error", why);
		free(why);
		set_day(c->app, e, "date", o[i].created, lang);
		dg_seen(d, "failed", o[i].id, 0);
		nnf++;
	}
	for (size_t i = 0; i < nk; i++) {
		struct tvars *e;
		char *subj;
		int unreadable = strcmp(k[i].outcome, "unreadable") == 0;

		if ((r = store_digest_seen(st, pid, "kept", k[i].id, 0)) == -1)
			goto out;
		if (r == 0)
			continue;
		/* Unreadable mail is in the failed folder, not the inbox. */
		e = tvars_add_item(d->v, unreadable ? "unreadable" : "kept");
		tvars_set(e, "sender", *k[i].sender ? k[i].sender :
		    lang == LANG_EN ? "(unknown)" : "(onbekend)");
		subj = text_defang(k[i].subject, 1);
		tvars_set(e, "subject", subj);
		free(subj);
		tvars_set_bool(e, "ratelimited",
		    strcmp(k[i].outcome, "ratelimited") == 0);
		set_day(c->app, e, "date", k[i].handled, lang);
		dg_seen(d, "kept", k[i].id, 0);
		if (unreadable)
			nnu++;
		else
			nnk++;
	}
	tvars_set_bool(d->v, "has_unreadable", nnu > 0);
	tvars_set(d->v, "failed_folder", c->app->cfg->failed_folder);
	tvars_set_bool(d->v, "has_bouncing", nnb > 0);
	tvars_set_bool(d->v, "has_failed", nnf > 0);
	tvars_set_bool(d->v, "has_kept", nnk > 0);
	tvars_set_bool(d->v, "has_problems", nnb + nnf > 0);
	tvars_set_bool(d->v, "still_open", old_b + old_f > 0);
	tvars_setf(d->v, "still_bouncing", "%zu", old_b);
	tvars_setf(d->v, "still_failed", "%zu", old_f);
	rc = (int)(nnb + nnf + nnk + nnu);
out:
	bounces_free(b, nb);
	ob_rows_free(o, no);
	if (k)
		kept_free(k, nk);
	return rc;
}

/*
 * pid's code for deciding a proposal, for the overview: a coordinator who
 * deleted the moderation mail could not decide at all without a trusted
 * Authentication-Results.  (One added to the configuration after the
 * proposal has none: they name the network, with proof.)
 */
static int
set_code(struct ctx *c, struct tvars *v, int64_t pid, const struct network *n)
{
	char *code;
	int rc = store_token_open(c->app->st, "moderate", pid, n->id, &code);

	if (rc == 0)
		tvars_set(v, "code", code);
	free(code);
	return rc == -1 ? -1 : 0;
}

static int
add_overview(struct ctx *c, struct dg *d, int64_t pid, enum lang lang)
{
	for (size_t i = 0; i < c->nnets; i++) {
		const struct netdata *nd = &c->nd[i];
		struct tvars *v;

		if (nd->n->state != NET_OPEN && nd->n->state != NET_PROPOSED)
			continue;
		v = tvars_add_item(d->v, "overview");
		if (nd->n->state == NET_PROPOSED &&
		    set_code(c, v, pid, nd->n) == -1)
			return -1;
		tvars_set(v, "title", nd->n->title);
		tvars_set(v, "slug", nd->n->slug);
		tvars_set_bool(v, "is_open", nd->n->state == NET_OPEN);
		tvars_set_bool(v, "is_proposed", nd->n->state == NET_PROPOSED);
		tvars_set(v, "proposer", nd->proposer ? nd->proposer : "");
		tvars_set(v, "leads", nd->leads ? nd->leads : "");
		tvars_setf(v, "members", "%zu", nd->members);
		tvars_setf(v, "followers", "%zu", nd->followers);
		if (nd->nmt > 0) {
			char *when = when_of(c->app, &nd->mt[0], lang);

			tvars_set(v, "next", when);
			free(when);
		} else
			tvars_set(v, "next", "");
	}
	return 0;
}

static int
build_coordinator(struct ctx *c, const struct person *p, struct dg *d)
{
	enum lang lang = lang_of(p->lang);
	size_t total = 0;
	int r;

	d->v = tvars_new();
	d->coordinator = 1;
	common_vars(c, d, lang);
	for (size_t i = 0; i < c->nnets; i++) {
		const struct netdata *nd = &c->nd[i];

		if (nd->n->state != NET_OPEN && !nd->closed)
			continue;
		if ((r = add_network(c, d, nd, p->id, c->window, ROLE_LEAD,
		    lang)) == -1)
			return -1;
		total += (size_t)r;
		if (nd->n->state != NET_OPEN || nd->changed < c->window)
			continue;
		if ((r = store_digest_seen(c->app->st, p->id, "call",
		    nd->n->id, 0)) == -1)
			return -1;
		if (r == 1) {
			add_call(d, nd);
			total++;
		}
	}
	tvars_set_bool(d->v, "has_networks", d->nnets > 0);
	tvars_set_bool(d->v, "has_calls", d->ncalls > 0);
	if ((r = add_problems(c, d, p->id, lang)) == -1)
		return -1;
	total += (size_t)r;
	/* A proposal waits for a decision: every digest brings it up again,
	 * in case each coordinator left the moderation mail to the other. */
	for (size_t i = 0; i < c->nnets; i++)
		total += c->nd[i].n->state == NET_PROPOSED;
	if (add_overview(c, d, p->id, lang) == -1)
		return -1;
	return (int)total;
}

/* ---- sending or showing ---- */

static int
deliver(struct ctx *c, const struct person *p, struct dg *d, int coordinator,
    FILE *out)
{
	struct app *app = c->app;
	const struct config *cfg = app->cfg;
	const char *tmpl = coordinator ? "digest-coordinators" : "digest";
	enum lang lang = lang_of(p->lang);
	char *list_id, *unsub, *local;
	const char *at;
	int rc = 0;

	if (c->mode == DIGEST_PREVIEW) {
		struct rendered r;
		char err[512];

		tvars_set(d->v, "org", cfg->org_name);
		tvars_set(d->v, "coordinator", cfg->from_addr);
		tvars_set(d->v, "to_name", *p->name ? p->name : p->email);
		tvars_set(d->v, "to_addr", p->email);
		tvars_set(d->v, "subject", "");
		if (template_mail(cfg->template_dir, tmpl, p->lang, d->v, &r,
		    err, sizeof(err)) == -1) {
			log_warnx("template %s/%s: %s", p->lang, tmpl, err);
			return -1;
		}
		fprintf(out, "== %s (%s): %zu new item%s\nSubject: %s\n\n%s\n",
		    p->email, lang_code(lang), d->nseen,
		    d->nseen == 1 ? "" : "s", r.subject, r.text);
		rendered_free(&r);
		return 0;
	}

	/* SPEC 4b's List-Id shape, <NAME.lido.jl.nu>, named "digest". */
	at = strrchr(cfg->from_addr, '@');
	local = xstrndup(cfg->from_addr, at ? (size_t)(at - cfg->from_addr) :
	    strlen(cfg->from_addr));
	list_id = xasprintf("<digest.%s.%s>", local, app->domain);
	if (!coordinator && d->unsub_slug != NULL) {
		const char *kw = d->unsub_follower ? (lang == LANG_EN ?
		    "unfollow" : "ontvolg") : (lang == LANG_EN ? "leave" :
		    "afmelden");

		/* Members confirm leaving first (SPEC §4). */
		unsub = d->unsub_follower ? xasprintf("<mailto:%s?subject="
		    "%s%%20%s>", cfg->from_addr, kw, d->unsub_slug) :
		    xasprintf("<mailto:%s?subject=%s%%20%s&body=%s>",
		    cfg->from_addr, kw, d->unsub_slug, UNSUBSCRIBE_BODY);
	} else
		unsub = xasprintf("<mailto:%s?subject=%s>", cfg->from_addr,
		    lang == LANG_EN ? "leave" : "afmelden");
	{
		struct reply rp = { 0 };

		rp.tmpl = tmpl;
		rp.kind = "digest";
		rp.to_addr = p->email;
		rp.to_name = p->name;
		rp.lang = lang_code(lang);
		rp.vars = d->v;
		rp.person_id = p->id;
		rp.auto_submitted = AUTO_GENERATED;
		rp.list_id = list_id;
		rp.list_unsubscribe = unsub;
		rc = reply_queue(app, &rp, c->now);
	}
	for (size_t i = 0; rc == 0 && i < d->nseen; i++)
		rc = store_digest_seen_add(app->st, p->id, d->seen[i].kind,
		    d->seen[i].item, d->seen[i].sub, c->now);
	free(local);
	free(list_id);
	free(unsub);
	return rc == 0 ? 0 : -1;
}

static int
run_members(struct ctx *c, FILE *out, struct digest_stats *stats)
{
	struct sub *subs;
	size_t nsubs, i = 0;
	int rc = 0;

	subs = collect_subs(c, &nsubs);
	while (rc == 0 && i < nsubs) {
		size_t j = i;
		struct person p = { 0 };
		struct dg d = { 0 };
		int r;

		while (j < nsubs && subs[j].person_id == subs[i].person_id)
			j++;
		if ((r = store_person_by_id(c->app->st, subs[i].person_id,
		    &p)) != 0) {
			rc = r == -1 ? -1 : 0;
			i = j;
			continue;
		}
		if (config_is_coordinator(c->app->cfg, p.email)) {
			/* The overview covers their networks too. */
		} else if (p.bouncing) {
			stats->bouncing++;
			log_info("no digest for bouncing %s", p.email);
		} else if ((r = build_member(c, &p, subs + i, j - i,
		    &d)) == -1)
			rc = -1;
		else if (r > 0) {
			if ((rc = deliver(c, &p, &d, 0, out)) == 0) {
				stats->recipients++;
				stats->items += d.nseen;
			}
		}
		dg_free(&d);
		person_clear(&p);
		i = j;
	}
	free(subs);
	return rc;
}

static int
run_coordinators(struct ctx *c, FILE *out, struct digest_stats *stats)
{
	const struct config *cfg = c->app->cfg;
	int rc = 0;

	for (char **a = cfg->coordinators; rc == 0 && a && *a; a++) {
		struct person p = { 0 };
		struct dg d = { 0 };
		int r;

		r = store_person_get(c->app->st, *a, &p);
		if (r == 1 && c->mode == DIGEST_SEND) {
			int64_t id;

			if (store_person_ensure(c->app->st, *a, cfg->language,
			    c->now, &id) == -1 ||
			    (r = store_person_by_id(c->app->st, id, &p)) != 0)
				return -1;
		} else if (r == 1) {
			/* A preview changes nothing: someone new to us. */
			p.email = xstrdup(*a);
			p.name = xstrdup("");
			p.lang = xstrdup(cfg->language);
			r = 0;
		}
		if (r == -1)
			return -1;
		if (p.bouncing) {
			stats->bouncing++;
			log_info("no digest for bouncing coordinator %s",
			    p.email);
		} else if ((r = build_coordinator(c, &p, &d)) == -1)
			rc = -1;
		else if (r > 0 && (rc = deliver(c, &p, &d, 1, out)) == 0) {
			stats->recipients++;
			stats->items += d.nseen;
		}
		dg_free(&d);
		person_clear(&p);
	}
	return rc;
}

int
digest_run(struct app *app, time_t now, enum digest_mode mode, int scheduled,
    FILE *out, struct digest_stats *stats)
{
	struct ctx c;
	int rc;

	memset(stats, 0, sizeof(*stats));
	if (mode == DIGEST_SEND && store_begin(app->st) == -1)
		return -1;
	rc = ctx_load(&c, app, now, mode);
	if (rc == 0)
		rc = run_members(&c, out, stats);
	if (rc == 0)
		rc = run_coordinators(&c, out, stats);
	ctx_free(&c);
	if (mode == DIGEST_PREVIEW)
		return rc;
	if (rc == 0)
		rc = store_digest_run_add(app->st, now, stats->recipients,
		    stats->items, scheduled);
	if (rc == 0 && store_commit(app->st) == 0) {
		log_info("digest: %zu queued with %zu items%s", stats->recipients,
		    stats->items, scheduled ? " (scheduled)" : "");
		return 0;
	}
	store_rollback(app->st);
	log_warnx("digest: nothing queued; the run is tried again");
	memset(stats, 0, sizeof(*stats));
	return -1;
}

int
digest_mark_delivered(struct app *app, int64_t person_id, int64_t news_id,
    time_t now)
{
	return store_digest_seen_add(app->st, person_id, "news", news_id, 0,
	    now);
}

int
digest_due(struct app *app, time_t now, char *why, size_t len)
{
	char slot_s[DT_ISO_LEN], last_s[DT_ISO_LEN], next_s[DT_ISO_LEN];
	time_t slot, last;

	if (app->cfg->digest == DIGEST_OFF || app->zone == NULL)
		return 1;
	if (store_digest_last_run(app->st, &last) == -1)
		return -1;
	slot = digest_slot_before(app->cfg, app->zone, now);
	if (slot == 0 || last < slot)
		return 1;
	snprintf(why, len, "the digest of %s went out at %s; the next is due "
	    "at %s", dt_format_iso(app->zone, slot, slot_s),
	    dt_format_iso(app->zone, last, last_s),
	    dt_format_iso(app->zone, digest_slot_after(app->cfg, app->zone,
	    now), next_s));
	return 0;
}

/* ---- the daemon's timer ---- */

struct digest_timer {
	time_t	last;		/* the last run */
	time_t	retry_at;	/* after a failed run */
};

struct digest_timer *
digest_timer_new(struct app *app, time_t now)
{
	struct digest_timer *t = xcalloc(1, sizeof(*t));

	if (store_digest_last_run(app->st, &t->last) == -1 || t->last == 0)
		/* Never ran: start counting now, rather than sending at
		 * once on the first start. */
		t->last = now;
	return t;
}

void
digest_timer_free(struct digest_timer *t)
{
	free(t);
}

time_t
digest_timer_run(struct digest_timer *t, struct app *app, time_t now)
{
	const struct config *cfg = app->cfg;
	struct digest_stats stats;
	time_t slot, next, wait;

	if (cfg->digest == DIGEST_OFF || app->zone == NULL)
		return TIMER_MAX_WAIT;
	slot = digest_slot_before(cfg, app->zone, now);
	if (slot > t->last && now >= t->retry_at) {
		if (digest_run(app, now, DIGEST_SEND, 1, NULL, &stats) == 0) {
			t->last = now;
			t->retry_at = 0;
		} else
			t->retry_at = now + TIMER_RETRY;
	}
	if (t->retry_at > now)
		return t->retry_at - now;
	next = digest_slot_after(cfg, app->zone, now);
	wait = next ? next - now : TIMER_MAX_WAIT;
	if (wait > TIMER_MAX_WAIT)
		wait = TIMER_MAX_WAIT;
	return wait < 1 ? 1 : wait;
}
