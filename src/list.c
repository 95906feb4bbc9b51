/*
 * list.c - the network mailing lists of SPEC §4b.
 *
 * The list copy is the author's mail with new top-level headers: the
 * author's MIME headers and body go out byte-for-byte, so signatures of
 * the content, attachments and encodings survive; only the envelope-level
 * headers change.  The footer on leaving goes beside the author's bytes,
 * never inside them (footer.c: appended to plain text, a last part of a
 * multipart/mixed, or the body wrapped whole in a new multipart/mixed, as
 * Mailman does).  From is the coordinator address, because the author's
 * domain may publish DMARC p=reject and we cannot sign for it.  One outbox
 * row per recipient, all in the caller's transaction with the processed
 * mark: a crash redistributes nothing twice and loses nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "app.h"
#include "classify.h"
#include "command.h"
#include "config.h"
#include "digest.h"
#include "footer.h"
#include "list.h"
#include "log.h"
#include "message.h"
#include "mimeout.h"
#include "reply.h"
#include "slug.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define REFUSAL_WINDOW	(24 * 3600)
#define DETAIL_MAX	60	/* the +detail read as a slug; longer is no list */

static int
slug_char(unsigned char c)
{
	return isascii(c) && (isalnum(c) || c == '-' || c == '_' || c == '.');
}

/*
 * The slug of addr when it is coordinator+SLUG@domain, else NULL.  addr
 * may be "<...>" with blanks around it (a Delivered-To value), and ends
 * at a comma (one of an Envelope-To list).
 */
static char *
slug_of(const char *addr, const struct config *cfg)
{
	const char *at = strrchr(cfg->from_addr, '@'), *p, *e, *s, *a;
	size_t local, n;
	char *slug;

	if (at == NULL)
		return NULL;
	local = (size_t)(at - cfg->from_addr);
	while (*addr == ' ' || *addr == '\t' || *addr == '<')
		addr++;
	e = addr + strcspn(addr, "> \t,\r\n");
	if (e - addr <= (ptrdiff_t)local ||
	    strncasecmp(addr, cfg->from_addr, local) != 0 || addr[local] != '+')
		return NULL;
	s = addr + local + 1;
	if ((a = memchr(s, '@', (size_t)(e - s))) == NULL)
		return NULL;
	n = (size_t)(a - s);
	if (n == 0 || n > DETAIL_MAX)
		return NULL;
	for (p = s; p < a; p++)
		if (!slug_char((unsigned char)*p))
			return NULL;
	if ((size_t)(e - a) != strlen(at) || strncasecmp(a, at,
	    (size_t)(e - a)) != 0)
		return NULL;
	slug = xstrndup(s, n);
	str_lower(slug);
	return slug;
}

static void
add_target(char **v, size_t *n, char *slug)
{
	if (slug == NULL)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(v[i], slug) == 0) {
			free(slug);
			return;
		}
	if (*n >= LIST_MAX_TARGETS) {
		free(slug);
		return;
	}
	v[(*n)++] = slug;
}

/* Each address of a comma list (Envelope-To's; one address is a list). */
static void
add_targets_of(char **v, size_t *n, const char *list,
    const struct config *cfg)
{
	const char *p = list;

	for (;;) {
		add_target(v, n, slug_of(p, cfg));
		if ((p = strchr(p, ',')) == NULL)
			break;
		p++;
	}
}

/*
 * Where servers write the envelope recipient: Dovecot and Postfix's
 * LMTP/local delivery Delivered-To, Postfix's local and virtual also
 * X-Original-To, Exim Envelope-To (a comma list).  A Bcc to a list is
 * named nowhere else.
 */
static const char *const envelope_headers[] = {
	"Delivered-To", "X-Original-To", "Envelope-To",
};

size_t
list_targets(const struct message *m, const struct config *cfg,
    char ***slugs)
{
	char **v = xcalloc(LIST_MAX_TARGETS + 1, sizeof(*v));
	const char *h;
	size_t n = 0;

	for (size_t k = 0; k < ARRAY_LEN(envelope_headers); k++)
		for (size_t i = 0; (h = message_header(m, envelope_headers[k],
		    i)) != NULL; i++)
			add_targets_of(v, &n, h, cfg);
	for (size_t i = 0; i < m->nto; i++)
		add_target(v, &n, slug_of(m->to[i].addr, cfg));
	for (size_t i = 0; i < m->ncc; i++)
		add_target(v, &n, slug_of(m->cc[i].addr, cfg));
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*slugs = v;
	return n;
}

void
list_targets_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* The open list network a distributed msgid belongs to; 1: none. */
static int
thread_network(struct store *st, const char *msgid, struct network *net)
{
	struct sent_ctx ctx = { 0 };
	int rc;

	if ((rc = store_sent_get(st, msgid, &ctx)) != 0)
		return rc;
	rc = strcmp(ctx.kind, "list") == 0 && ctx.network_id != 0 ? 0 : 1;
	if (rc == 0 && (rc = store_network_by_id(st, ctx.network_id,
	    net)) == 0 && net->state != NET_OPEN) {
		network_clear(net);
		rc = 1;
	}
	sent_ctx_clear(&ctx);
	return rc;
}

size_t
list_thread(struct store *st, const struct config *cfg,
    const struct message *m, char ***slugs)
{
	struct request cmd = { 0 };
	struct network net = { 0 };
	const char *why;
	int rc = 1;

	*slugs = NULL;
	if (classify(m, cfg, &why) != MAIL_PERSON)
		return 0;
	/* "afmelden rekenen" written as a reply is still a command. */
	command_parse(m->subject, m->text, &cmd);
	if (cmd.verb != VERB_NONE) {
		request_free(&cmd);
		return 0;
	}
	request_free(&cmd);
	if (m->in_reply_to)
		rc = thread_network(st, m->in_reply_to, &net);
	/* Newest reference first; some clients drop In-Reply-To. */
	for (size_t i = m->nreferences; rc == 1 && i > 0; i--)
		rc = thread_network(st, m->references[i - 1], &net);
	if (rc != 0)
		return 0;
	*slugs = xcalloc(2, sizeof(**slugs));
	(*slugs)[0] = xstrdup(net.slug);
	str_lower((*slugs)[0]);
	network_clear(&net);
	return 1;
}

char *
list_address(const struct config *cfg, const char *slug)
{
	const char *at = strrchr(cfg->from_addr, '@');

	if (at == NULL)
		return xasprintf("%s+%s", cfg->from_addr, slug);
	return xasprintf("%.*s+%s%s", (int)(at - cfg->from_addr),
	    cfg->from_addr, slug, at);
}


/* Does the subject carry the tag, however the author's client wrote it
 * (a Mac's decomposed é, another case, other spacing)? */
static int
has_tag(const char *subject, const char *tag)
{
	char *fs, *ft;
	int r;

	if (strcasestr(subject, tag) != NULL)
		return 1;
	fs = slug_fold_text(subject);
	ft = slug_fold_text(tag);
	/* A title of letters that do not fold (Greek, emoji) is "[]". */
	r = strlen(ft) > 2 && strstr(fs, ft) != NULL;
	free(fs);
	free(ft);
	return r;
}

static char *
tagged_subject(const char *subject, const char *title)
{
	char *tag = xasprintf("[%s]", title), *s;

	if (*subject == '\0')
		s = xstrdup(tag);
	else if (has_tag(subject, tag))
		s = xstrdup(subject);
	else
		s = xasprintf("%s %s", tag, subject);
	free(tag);
	return s;
}

static int
add_msgids(struct buf *b, const char *name, char *const *ids, size_t n)
{
	struct buf v;
	int rc = 0;

	if (n == 0)
		return 0;
	buf_init(&v, 8 * 1024);
	/* Long chains are cut from the front; the newest ids matter. */
	for (size_t i = n > 20 ? n - 20 : 0; i < n; i++)
		if (buf_addf(&v, "%s<%s>", v.len ? " " : "", ids[i]) == -1)
			break;
	/* A hostile id (not ASCII) loses the header, not the mail. */
	if (v.len > 0 && mime_header_raw(b, name, buf_str(&v)) == -1)
		rc = 0;
	buf_free(&v);
	return rc;
}

char *
list_compose(const struct config *cfg, const struct message *m,
    const char *raw, size_t rawlen, struct list_info *li, size_t *len,
    char **msgid)
{
	const char *at = strrchr(cfg->from_addr, '@');
	struct buf b;
	char date[64], *listaddr, *v, *id = NULL, *subj;
	const char *author;
	size_t hlen = m->body_offset <= rawlen ? m->body_offset : rawlen;

	*msgid = NULL;
	*len = 0;
	li->footer_way = FOOTER_NONE;
	li->footer_why = NULL;
	if (at == NULL || !mime_addr_valid(m->from.addr))
		return NULL;
	/* Bare LF made CRLF can double the body. */
	buf_init(&b, 2 * rawlen + 128 * 1024);
	listaddr = list_address(cfg, li->slug);

	if (!m->message_id_derived) {
		v = xasprintf("<%s>", m->message_id);
		if (mime_header_raw(&b, "Message-ID", v) == 0)
			id = xstrdup(m->message_id);
		free(v);
	}
	if (id == NULL) {
		v = mime_message_id(li->domain);
		if (mime_header_raw(&b, "Message-ID", v) == -1) {
			free(v);
			goto fail;
		}
		id = xstrndup(v + 1, strlen(v) - 2);
		free(v);
	}
	mime_date(date, sizeof(date), m->date ? m->date : li->now);
	if (mime_header_raw(&b, "Date", date) == -1)
		goto fail;
	author = m->from.name[0] ? m->from.name : m->from.addr;
	v = xasprintf("%s via %s", author, li->title);
	if (mime_header_addr(&b, "From", v, cfg->from_addr) == -1) {
		free(v);
		goto fail;
	}
	free(v);
	if (mime_header_addr(&b, "Reply-To", m->from.name, m->from.addr) == -1 ||
	    mime_header_addr(&b, "To", li->title, listaddr) == -1)
		goto fail;
	subj = tagged_subject(m->subject, li->title);
	if (mime_header(&b, "Subject", subj) == -1) {
		free(subj);
		goto fail;
	}
	free(subj);
	if (m->in_reply_to)
		add_msgids(&b, "In-Reply-To", &m->in_reply_to, 1);
	add_msgids(&b, "References", m->references, m->nreferences);

	v = xasprintf("<%s.%.*s.%s>", li->slug, (int)(at - cfg->from_addr),
	    cfg->from_addr, at + 1);
	if (mime_header_raw(&b, "List-Id", v) == -1) {
		free(v);
		goto fail;
	}
	free(v);
	v = xasprintf("<mailto:%s>", listaddr);
	if (mime_header_raw(&b, "List-Post", v) == -1) {
		free(v);
		goto fail;
	}
	free(v);
	v = xasprintf("<mailto:%s?subject=%s%%20%s&body=%s>", cfg->from_addr,
	    li->leave_word, li->slug, UNSUBSCRIBE_BODY);
	if (mime_header_raw(&b, "List-Unsubscribe", v) == -1) {
		free(v);
		goto fail;
	}
	free(v);
	if (cfg->base_url && *cfg->base_url) {
		size_t bl = strlen(cfg->base_url);

		v = xasprintf("<%s%s%s/>", cfg->base_url,
		    cfg->base_url[bl - 1] == '/' ? "" : "/", li->slug);
		/* A base_url that cannot go in a header only costs the link. */
		(void)mime_header_raw(&b, "List-Archive", v);
		free(v);
	}
	if (mime_header_raw(&b, "Precedence", "list") == -1 ||
	    mime_header_raw(&b, "X-Loop", cfg->from_addr) == -1)
		goto fail;
	if (footer_add(&b, raw, hlen, raw + hlen, rawlen - hlen, li->footer,
	    &li->footer_way, &li->footer_why) == -1)
		goto fail;
	free(listaddr);
	*len = b.len;
	*msgid = id;
	return buf_steal(&b);
fail:
	free(listaddr);
	free(id);
	buf_free(&b);
	return NULL;
}

/* ---- handling ---------------------------------------------------------- */

static const char *
lang_of(struct req *r, const struct person *p)
{
	if (p && p->lang && *p->lang)
		return p->lang;
	return strcmp(r->app->cfg->language, "en") == 0 ? "en" : "nl";
}

static int
answer(struct req *r, const char *tmpl, const char *kind, const char *lang,
    struct tvars *v, int64_t network_id)
{
	struct reply rp = { 0 };

	rp.tmpl = tmpl;
	rp.kind = kind;
	rp.to_addr = r->sender;
	rp.to_name = r->sender_name;
	rp.lang = lang;
	rp.vars = v;
	rp.in = r->msg;
	rp.network_id = network_id;
	rp.person_id = r->person_id;
	rp.auto_submitted = AUTO_REPLIED;
	return reply_queue(r->app, &rp, r->now);
}

/* One polite refusal per sender per day, never more. */
static int
refuse(struct req *r, const char *tmpl, const char *lang, struct tvars *v,
    int64_t network_id)
{
	int count;

	if (store_outbox_kind_since(r->app->st, "refusal", r->sender,
	    r->now - REFUSAL_WINDOW, &count) == -1)
		return -1;
	if (count > 0) {
		log_info("not answering %s again today", r->sender);
		return 0;
	}
	if (auth_forged_sender(r->msg,
	    r->app->cfg->trusted_authserv_id, r->sender))
		return 0;
	return answer(r, tmpl, "refusal", lang, v, network_id);
}

static int
answer_unknown(struct req *r, const char *slug, const char *lang)
{
	struct tvars *v = tvars_new();
	struct network *nets;
	size_t n = 0;
	int rc;

	r->outcome = "list-unknown";
	if (r->unknown_answered) {
		log_info("%s was answered about another unknown list in this "
		    "mail already", r->sender);
		tvars_free(v);
		return 0;
	}
	if ((nets = store_networks(r->app->st, &n)) == NULL) {
		tvars_free(v);
		return -1;
	}
	tvars_set(v, "name", slug);
	for (size_t i = 0; i < n; i++) {
		struct tvars *it;
		char *addr;

		if (nets[i].state != NET_OPEN)
			continue;
		tvars_set_bool(v, "has_networks", 1);
		it = tvars_add_item(v, "networks");
		addr = list_address(r->app->cfg, nets[i].slug);
		tvars_set(it, "slug", nets[i].slug);
		tvars_set(it, "title", nets[i].title);
		tvars_set(it, "address", addr);
		free(addr);
	}
	networks_free(nets, n);
	rc = answer(r, "list-unknown", "reply", lang, v, 0);
	tvars_free(v);
	return rc;
}

/* Active members and leads may post (and coordinators, who act as lead
 * of any network: the caller checks that). */
static int
may_post(struct store *st, int64_t network_id, const struct person *p)
{
	enum role role;
	enum mstate state;

	if (p->id == 0 || store_membership(st, network_id, p->id, &role,
	    &state) != 0)
		return 0;
	return state == MS_ACTIVE && (role == ROLE_LEAD || role == ROLE_MEMBER);
}

static char *
render_footer(struct req *r, const struct network *net, const char *listaddr,
    const char *leave)
{
	const struct config *cfg = r->app->cfg;
	struct rendered out = { 0 };
	struct tvars *v = tvars_new();
	char err[256], *f = NULL;

	tvars_set(v, "title", net->title);
	tvars_set(v, "slug", net->slug);
	tvars_set(v, "address", listaddr);
	tvars_set(v, "coordinator", cfg->from_addr);
	tvars_set(v, "leave", leave);
	if (template_mail(cfg->template_dir, "list-footer", cfg->language, v,
	    &out, err, sizeof(err)) == -1)
		log_warnx("template list-footer: %s", err);
	else
		f = xstrdup(out.text);
	rendered_free(&out);
	tvars_free(v);
	return f;
}

/*
 * A post's news: its text, and the names of its files, which the digest
 * and the intranet page do not carry, with whom to ask for them: members
 * who read the network in their digest never got the mail (in the
 * organisation's language: the news is everyone's).  Caller frees.
 */
static char *
news_text(const struct config *cfg, const char *text, const char *files,
    const char *author, int other)
{
	int en = strcmp(cfg->language, "en") == 0;
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, text);
	/* other: 1 a forward, 2 a text that is all quote */
	if (other)
		buf_addf(&b, "%s%s", *text ? "\n\n" : "", other == 1 ? (en ?
		    "[A forwarded message: the members got it by mail]" :
		    "[Een doorgestuurd bericht: de deelnemers kregen het per "
		    "mail]") : en ? "[The members got this message by mail]" :
		    "[De deelnemers kregen dit bericht per mail]");
	if (files != NULL)
		buf_addf(&b, en ? "%s[Attachments: %s. Not in your mailbox? "
		    "Ask %s for them]" : "%s[Bijlagen: %s. Niet in je mailbox? "
		    "Vraag ze aan %s]", b.len ? "\n\n" : "", files, author);
	return buf_steal(&b);
}

int
list_news_backfill(struct app *app, size_t *n)
{
	struct news_item *v;
	size_t count;
	int rc = 0;

	*n = 0;
	if ((v = store_news_bare(app->st, &count)) == NULL)
		return -1;
	if (store_begin(app->st) == -1) {
		news_free(v, count);
		return -1;
	}
	for (size_t i = 0; i < count && rc == 0; i++) {
		char *own = message_new_text(v[i].body), *outside;

		/* A list post's body was its new text unless it forwarded
		 * (or had no words of its own): then it holds more.  What
		 * was cut is not known now (a forward, a quote, a `bericht`
		 * post's signature): the note says only what is true of
		 * all. */
		if (strcmp(str_trim(own), str_trim(v[i].body)) != 0) {
			outside = news_text(app->cfg, str_trim(own), NULL, "",
			    2);
			rc = store_news_set_outside(app->st, v[i].id, outside);
			free(outside);
			(*n)++;
		}
		free(own);
	}
	news_free(v, count);
	if (rc == 0 && store_commit(app->st) == 0)
		return 0;
	store_rollback(app->st);
	return -1;
}

static int
distribute(struct req *r, const struct network *net, const char *raw,
    size_t len)
{
	const struct config *cfg = r->app->cfg;
	struct store *st = r->app->st;
	const struct message *m = r->msg;
	struct list_info li = { 0 };
	struct sent_ctx ctx = { 0 };
	struct member *mem;
	char *listaddr, *footer = NULL, *data, *msgid = NULL, *subj, *news;
	char *outside;
	const char *leave = strcmp(cfg->language, "en") == 0 ? "leave" :
	    "afmelden";
	size_t n = 0, dlen, sent = 0;
	int64_t news_id = 0, first = 0;
	int rc = -1, g, fwd;

	listaddr = list_address(cfg, net->slug);
	footer = render_footer(r, net, listaddr, leave);
	li.slug = net->slug;
	li.title = net->title;
	li.footer = footer;
	li.leave_word = leave;
	li.domain = r->app->domain;
	li.now = r->now;
	if ((data = list_compose(cfg, m, raw, len, &li, &dlen,
	    &msgid)) == NULL) {
		log_warnx("cannot put %s in a list mail; keeping it for the "
		    "coordinators", r->sender);
		r->outcome = "human";
		rc = 0;
		goto out;
	}
	/* The post is news first, so direct recipients can be told apart
	 * in their digests (they got it already). */
	subj = command_strip_subject(m->subject);
	/* A forward's point is what it forwards, which the new text cuts at
	 * the forwarded headers: the members' news keeps all of it.  Pages,
	 * feeds and followers get the writer's own words: a forward is
	 * where other people's mail comes in (a parent's, about a pupil).
	 * Who reads it in a digest or on the page gets no files: they are
	 * named. */
	fwd = command_subject_is_forward(m->subject);
	/* Without a new word of its own (a forward whose Subject says
	 * nothing of it), the whole text is other people's too. */
	news = news_text(cfg, *m->text && !fwd ? m->text : m->full_text,
	    m->attachments, r->sender, 0);
	outside = fwd || !*m->text ? news_text(cfg, m->text, m->attachments,
	    r->sender, fwd ? 1 : 2) : NULL;
	rc = store_news_add(st, net->id, r->person_id, subj, news, outside,
	    r->now, &news_id);
	free(news);
	free(outside);
	free(subj);
	if (rc == -1)
		goto out;
	rc = -1;
	if (digest_mark_delivered(r->app, r->person_id, news_id, r->now) == -1)
		goto out;
	if ((mem = store_members(st, net->id, &n)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct member *p = &mem[i];

		if (p->role == ROLE_FOLLOWER || p->state != MS_ACTIVE ||
		    p->digest || p->bouncing || str_eq_ci(p->email, r->sender) ||
		    str_eq_ci(p->email, cfg->from_addr) ||
		    !mime_addr_valid(p->email))
			continue;
		/* One text for every copy: they are the same bytes. */
		if ((first == 0 ? store_outbox_add(st, "list", cfg->from_addr,
		    p->email, msgid, data, dlen, r->now, &first) :
		    store_outbox_add_shared(st, "list", cfg->from_addr,
		    p->email, msgid, first, r->now, NULL)) == -1 ||
		    digest_mark_delivered(r->app, p->person_id, news_id,
		    r->now) == -1) {
			members_free(mem, n);
			goto out;
		}
		sent++;
	}
	members_free(mem, n);
	/* Replies that reach the plain address can find the list later;
	 * an id we know already (Cc'd to two lists) keeps its first meaning. */
	if ((g = store_sent_get(st, msgid, &ctx)) == -1)
		goto out;
	sent_ctx_clear(&ctx);
	if (g == 1 && store_sent_add(st, msgid, "list", NULL, net->id, 0,
	    r->person_id, r->now) == -1)
		goto out;
	r->app->changed = 1;
	if (li.footer_way == FOOTER_NONE)
		log_info("list %s: %s to %zu member(s), no footer: %s",
		    net->slug, msgid, sent, li.footer_why);
	else
		log_info("list %s: %s to %zu member(s), footer %s", net->slug,
		    msgid, sent, footer_way_name(li.footer_way));
	r->outcome = r->by_thread ? "list-thread" : "list";
	rc = 0;
out:
	free(data);
	free(msgid);
	free(footer);
	free(listaddr);
	return rc;
}

int
list_handle(struct req *r, const char *slug, const char *raw, size_t len)
{
	const struct config *cfg = r->app->cfg;
	struct store *st = r->app->st;
	struct network net = { 0 };
	struct person p = { 0 };
	struct tvars *v = NULL;
	const char *lang, *at = strrchr(r->sender, '@');
	const char *domain = at ? at + 1 : "", *unproven = NULL;
	char *listaddr = NULL, size[32];
	int rc, count, was_bouncing;

	if ((rc = store_person_get(st, r->sender, &p)) == -1)
		return -1;
	lang = lang_of(r, rc == 0 ? &p : NULL);
	was_bouncing = rc == 0 && p.bouncing;

	if (!config_domain_allowed(cfg, r->sender)) {
		log_info("%s is outside the allowed domains", r->sender);
		v = tvars_new();
		tvars_set(v, "sender", r->sender);
		rc = refuse(r, "refusal", lang, v, 0);
		r->outcome = "refused";
		goto out;
	}
	if ((rc = store_requests_since(st, r->sender, r->now - 3600,
	    &count)) == -1)
		goto out;
	if (count >= cfg->max_requests_per_hour) {
		log_warnx("%s sent %d mails this hour; keeping this one for "
		    "the coordinators", r->sender, count);
		r->outcome = "ratelimited";
		goto out;
	}
	/*
	 * A reply to the plain address comes from a client that ignores
	 * Reply-To, or from a responder answering the envelope sender (which
	 * is that address).  Two responders with no RFC 3834 header answer
	 * each other's copies for ever, to every member: one such reply per
	 * sender an hour goes to the list, the rest to people.
	 */
	if (r->by_thread) {
		if ((rc = store_outcome_since(st, r->sender, "list-thread",
		    r->now - 3600, &count)) == -1)
			goto out;
		if (count > 0) {
			log_warnx("%s replied to a list thread at the "
			    "coordinator address twice this hour; keeping "
			    "this one for people", r->sender);
			r->outcome = "human";
			goto out;
		}
	}
	if ((rc = store_network_find(st, slug, &net)) == -1)
		goto out;
	if (rc == 1 || net.state != NET_OPEN || !str_eq_ci(net.slug, slug)) {
		log_info("%s wrote to unknown list %s", r->sender, slug);
		rc = answer_unknown(r, slug, lang);
		goto out;
	}
	/*
	 * Our own mail server says the From is forged (dmarc=fail for its
	 * domain): passing it on would lend a colleague's name, "via" the
	 * network, to whoever wrote it.  With [lists] need_proof, a From it
	 * did not vouch for is no better.  For people to look at, before it
	 * counts as the sender writing (which would clear `bouncing`); the
	 * unknown-list answer above goes to whoever the From names, as every
	 * answer does.
	 */
	if (auth_trusted_fail(r->msg, cfg->trusted_authserv_id, domain))
		unproven = "the trusted server says DMARC failed for this From";
	else if (cfg->list_need_proof && !auth_trusted_pass(r->msg,
	    cfg->trusted_authserv_id, domain))
		unproven = "no dmarc=pass (or aligned dkim=pass) from the "
		    "trusted server ([lists] need_proof)";
	if (unproven != NULL) {
		log_warnx("%s: %s; not passing it on to list %s, keeping it "
		    "for people", r->sender, unproven, slug);
		r->outcome = "human";
		rc = 0;
		goto out;
	}
	/* Writing clears `bouncing`: what was sent meanwhile follows. */
	if (store_person_touch_as(st, &p, r->sender, r->proof ?
	    r->sender_name : NULL, NULL, r->now, &r->person_id) == -1 ||
	    (was_bouncing &&
	    meeting_catch_up(r, r->person_id) == -1)) {
		rc = -1;
		goto out;
	}
	person_clear(&p);
	if ((rc = store_person_by_id(st, r->person_id, &p)) != 0) {
		rc = -1;
		goto out;
	}
	lang = lang_of(r, &p);		/* the old one pointed into p */
	listaddr = list_address(cfg, net.slug);
	v = tvars_new();
	tvars_set(v, "title", net.title);
	tvars_set(v, "slug", net.slug);
	tvars_set(v, "address", listaddr);
	if (!may_post(st, net.id, &p) && !config_is_coordinator(cfg, r->sender)) {
		log_info("%s may not post to %s", r->sender, net.slug);
		rc = refuse(r, "list-refused", lang, v, net.id);
		r->outcome = "list-refused";
		goto out;
	}
	if (len > cfg->list_max_size) {
		log_info("%zu bytes to list %s: larger than %zu", len, net.slug,
		    cfg->list_max_size);
		snprintf(size, sizeof(size), "%zu kB", (len + 1023) / 1024);
		tvars_set(v, "size", size);
		snprintf(size, sizeof(size), "%zu kB",
		    (cfg->list_max_size + 1023) / 1024);
		tvars_set(v, "max", size);
		rc = answer(r, "list-too-big", "reply", lang, v, net.id);
		r->outcome = "list-too-big";
		goto out;
	}
	rc = distribute(r, &net, raw, len);
out:
	tvars_free(v);
	free(listaddr);
	network_clear(&net);
	person_clear(&p);
	return rc;
}
