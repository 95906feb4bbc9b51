/*
 * network.c - the life of a network: proposal, moderation, the call for
 * participants, news, co-leads, status and closing; and the two
 * informational commands, help and networks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "command.h"
#include "config.h"
#include "dates.h"
#include "list.h"
#include "log.h"
#include "message.h"
#include "reply.h"
#include "slug.h"
#include "staff.h"
#include "store.h"
#include "template.h"
#include "title.h"
#include "util.h"

#define TOKEN_LEN	12
/* Stored as the code's expiry, but not enforced: a code holds while its
 * proposal waits, since every digest reminds the coordinators of it and
 * the mail they answer is the moderation mail they have.  It is single
 * use and bound to one coordinator, and the first decision wins. */
#define MODERATE_TTL	(30 * 24 * 3600)
#define STATUS_MEETINGS	5		/* next meetings shown by status */
#define CLOSE_REASON_MAX 500		/* bytes of a lead's closing words */

static int
reply_v(struct req *r, const char *tmpl, struct tvars *v)
{
	int rc = act_reply(r, tmpl, v);

	tvars_free(v);
	return rc == -1 ? -1 : 0;
}

/* Hours as people write them: "2", "2,5" (nl) or "2.5" (en). */
static void
set_hours(struct tvars *v, const char *name, long seconds, enum lang lang)
{
	long tenths = (seconds * 10 + 1800) / 3600;

	if (tenths % 10 == 0)
		tvars_setf(v, name, "%ld", tenths / 10);
	else
		tvars_setf(v, name, "%ld%c%ld", tenths / 10,
		    lang == LANG_EN ? '.' : ',', tenths % 10);
}

/*
 * Who answered what to meeting m, with their notes, as "answers" of item:
 * a lead's to see ("Ik kom wat later"), never a member's.
 */
static int
add_answers(struct req *r, struct tvars *item, const struct meeting *m)
{
	static const char *const said[][2] = {
		[PS_NEEDS_ACTION] = { "geen antwoord", "no answer" },
		[PS_ACCEPTED] = { "komt", "coming" },
		[PS_DECLINED] = { "komt niet", "not coming" },
		[PS_TENTATIVE] = { "misschien", "maybe" },
	};
	struct rsvp_answer *a;
	size_t n;

	if ((a = store_rsvp_answers(r->app->st, m->id, &n)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct tvars *e = tvars_add_item(item, "answers");
		char *flat = xstrdup(a[i].comment), *note;

		/* One line of the list, and not a letter. */
		for (char *c = flat; *c; c++)
			if (*c == '\n' || *c == '\r' || *c == '\t')
				*c = ' ';
		note = text_shorten(flat, 200);
		free(flat);
		flat = note;
		note = text_defang(flat, 1);
		free(flat);

		tvars_set(e, "email", a[i].email);
		tvars_set(e, "name", a[i].name);
		tvars_set(e, "answer", said[a[i].partstat][r->lang == LANG_EN]);
		tvars_set(e, "comment", note);
		free(note);
	}
	rsvp_answers_free(a, n);
	return 0;
}

/* The network's planned meetings still to come, at most max, into v as
 * "meetings" (with RSVP counts, and with who answered what when answers);
 * the first one's time as "next". */
static int
add_meetings(struct req *r, struct tvars *v, const struct network *n,
    size_t max, int answers)
{
	struct meeting *ms;
	size_t count;
	int rc = 0;

	if ((ms = store_meetings(r->app->st, n->id, 1, r->now, &count)) == NULL)
		return -1;
	for (size_t i = 0; i < count && i < max; i++) {
		struct tvars *item = tvars_add_item(v, "meetings");
		struct rsvp_counts rc_counts;
		struct dt_span span;
		char *when;

		dt_span_set(r->app->zone, ms[i].start, ms[i].end, &span);
		when = dt_format_span(&span, r->lang);
		if (i == 0)
			tvars_set(v, "next", when);
		tvars_setf(item, "number", "%d", ms[i].number);
		tvars_set(item, "when", when);
		tvars_set(item, "location", ms[i].location);
		tvars_set(item, "topic", ms[i].topic);
		free(when);
		if (store_rsvp_counts(r->app->st, &ms[i], &rc_counts) == -1) {
			rc = -1;
			break;
		}
		tvars_setf(item, "accepted", "%zu", rc_counts.accepted);
		tvars_setf(item, "declined", "%zu", rc_counts.declined);
		tvars_setf(item, "tentative", "%zu", rc_counts.tentative);
		tvars_setf(item, "needs_action", "%zu", rc_counts.needs_action);
		if (answers && (rc = add_answers(r, item, &ms[i])) == -1)
			break;
	}
	meetings_free(ms, count);
	return rc;
}

int
act_help(struct req *r)
{
	struct tvars *v = act_vars(r);

	tvars_set_bool(v, "is_coordinator",
	    config_is_coordinator(r->app->cfg, r->sender));
	return reply_v(r, "help", v);
}

int
act_networks(struct req *r)
{
	struct tvars *v = act_vars(r);
	struct network *nets;
	size_t n, open = 0;

	if ((nets = store_networks(r->app->st, &n)) == NULL) {
		tvars_free(v);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct tvars *item;
		size_t leads, members;
		char *lead_list;

		if (nets[i].state != NET_OPEN)
			continue;
		open++;
		item = tvars_add_item(v, "networks");
		act_set_network(item, &nets[i]);
		lead_list = store_network_leads(r->app->st, nets[i].id);
		tvars_set(item, "leads", lead_list);
		free(lead_list);
		if (store_network_counts(r->app->st, nets[i].id, &leads,
		    &members) == 0)
			tvars_setf(item, "members", "%zu", members);
		if (add_meetings(r, item, &nets[i], 1, 0) == -1) {
			networks_free(nets, n);
			tvars_free(v);
			return -1;
		}
	}
	networks_free(nets, n);
	tvars_set_bool(v, "none", open == 0);
	return reply_v(r, "networks", v);
}

/* Insert a proposed network under a slug not yet taken. */
static int
add_unique(struct req *r, const char *title, const char *question,
    int64_t *id, char **slug_out)
{
	char *base = slug_from_title(title);
	int rc = -1;

	for (int i = 1; i < 1000; i++) {
		char *slug = i == 1 ? xstrdup(base) : slug_with_suffix(base, i);

		rc = store_network_add(r->app->st, slug, title, question,
		    NET_PROPOSED, r->person_id, r->now, id);
		if (rc == 0) {
			*slug_out = slug;
			break;
		}
		free(slug);
		if (rc == -1)
			break;
	}
	free(base);
	return rc == 0 ? 0 : -1;
}

/* One moderation mail, with its own token, to every coordinator. */
static int
ask_coordinators(struct req *r, const struct network *n)
{
	const struct config *cfg = r->app->cfg;

	for (char **c = cfg->coordinators; c && *c; c++) {
		struct person p = { 0 };
		struct reply rp = { 0 };
		struct tvars *v;
		char *token;
		int64_t pid;
		int rc;

		if (store_person_ensure(r->app->st, *c, cfg->language, r->now,
		    &pid) == -1 || store_person_by_id(r->app->st, pid, &p) != 0)
			return -1;
		token = random_token(TOKEN_LEN);
		v = act_vars(r);
		act_set_network(v, n);
		tvars_set(v, "proposer", r->sender);
		tvars_set(v, "proposer_name", r->sender_name);
		tvars_set(v, "token", token);
		rp.tmpl = "moderate";
		rp.kind = "moderate";
		rp.to_addr = p.email;
		rp.to_name = p.name;
		rp.lang = p.lang;
		rp.vars = v;
		rp.token = token;
		rp.network_id = n->id;
		rp.person_id = pid;
		rp.auto_submitted = AUTO_GENERATED;
		rc = store_token_add(r->app->st, token, "moderate", pid, n->id,
		    "", r->now, r->now + MODERATE_TTL);
		if (rc == 0)
			rc = reply_queue(r->app, &rp, r->now);
		tvars_free(v);
		free(token);
		person_clear(&p);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/*
 * A title as it will be shown everywhere: one line, runs of white space
 * and control characters one space, at most TITLE_MAX_CHARS characters,
 * as `network add` allows.  Caller frees.
 */
/*
 * "nieuw netwerk \"Rekenen\"": quotes around the whole title are no part
 * of it (its slug would be rekenen-2 beside the title "Rekenen"); nor are
 * blanks inside them.  A copy without them; caller frees.
 */
static char *
unquote_title(const char *s)
{
	static const char *const open[] = { "\"", "'", "\xe2\x80\x9c",
	    "\xe2\x80\x9e", "\xe2\x80\x98", "\xc2\xab" };
	static const char *const close[] = { "\"", "'", "\xe2\x80\x9d",
	    "\xe2\x80\x9c", "\xe2\x80\x99", "\xc2\xbb" };
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	for (size_t i = 0; i < ARRAY_LEN(open); i++) {
		size_t a = strlen(open[i]);

		if (n <= a || strncmp(s, open[i], a) != 0)
			continue;
		for (size_t k = 0; k < ARRAY_LEN(close); k++) {
			size_t b = strlen(close[k]);
			char *inner;

			if (n < a + b || strncmp(s + n - b, close[k], b) != 0)
				continue;
			inner = xstrndup(s + a, n - a - b);
			/* "Rekenen" en "Taal": quotes inside, not around. */
			if (strstr(inner, open[i]) == NULL &&
			    strstr(inner, close[k]) == NULL) {
				char *t = xstrdup(str_trim(inner));

				free(inner);
				return t;
			}
			free(inner);
		}
	}
	return xstrndup(s, n);
}

static char *
clean_title(const char *s)
{
	char *out = xmalloc(strlen(s) + 1);
	size_t n = 0, chars = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		/* C0, DEL and C1 (0xc2 0x80-0x9f), as title_problem has it. */
		if (ch <= ' ' || ch == 0x7f || (ch == 0xc2 &&
		    (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f)) {
			if (ch == 0xc2)
				s++;
			if (n > 0 && out[n - 1] != ' ' &&
			    ++chars <= TITLE_MAX_CHARS)
				out[n++] = ' ';
			continue;
		}
		/* A character starts at every byte but a continuation. */
		if ((ch & 0xc0) != 0x80 && ++chars > TITLE_MAX_CHARS)
			break;
		out[n++] = *s;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	/* "nieuw netwerk Rekenen in groep 3." ends a sentence, not the
	 * title: with its full stop it was a second network of that name.
	 * "A.I.", "etc." and "..." keep theirs. */
	if (n > 1 && out[n - 1] == '.') {
		char *w = strrchr(out, ' ');

		w = w ? w + 1 : out;
		if (memchr(w, '.', (size_t)(out + n - 1 - w)) == NULL &&
		    strcasecmp(w, "etc.") != 0 && strcasecmp(w, "enz.") != 0) {
			out[--n] = '\0';
			while (n > 0 && out[n - 1] == ' ')
				out[--n] = '\0';
		}
	}
	return out;
}

/*
 * The learning question goes to every coordinator and into the call: not
 * the proposer's signature.  Cut from a "--" line or a closing line on
 * ("Met vriendelijke groet, Piet Jansen", "Kind regards", "Verzonden
 * vanaf mijn iPhone"), never the first line.
 */
/*
 * "Beste LIDO," or "Hoi allemaal!" on the first line is said to the
 * coordinators, not part of the question the call shows to everyone.
 * Returns where the text after it starts.
 */
static char *
skip_greeting(char *q)
{
	static const char *const greetings[] = {
		"beste", "hoi", "hallo", "hai", "dag", "goedemorgen",
		"goedemiddag", "lieve", "dear", "hi", "hello",
	};
	char *p = q + strspn(q, " \t\r\n"), *e = p + strcspn(p, "\r\n");
	char *last = e;

	while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
		last--;
	if (last == p || (last[-1] != ',' && last[-1] != '!') || e - p > 60)
		return q;
	for (size_t i = 0; i < ARRAY_LEN(greetings); i++) {
		size_t n = strlen(greetings[i]);

		if (strncasecmp(p, greetings[i], n) == 0 &&
		    (p[n] == ' ' || p[n] == ',' || p[n] == '!'))
			return e;
	}
	return q;
}

/*
 * Outlook's signature without a closing: "Bob Jansen" (or "Bob") on a
 * line of its own, then a function and a school.  Cut at a paragraph that starts
 * with the writer's name, after a paragraph of their own words: the
 * question went to the coordinators, the call and the intranet page with
 * it.
 */
static void
cut_at_name(char *q, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	/* Or the first name alone: "Lucy" under the question of Lucy Smith. */
	size_t first = name ? strcspn(name, " \t") : 0;
	char *p = q;

	if (n < 3)
		return;
	while ((p = strstr(p, "\n\n")) != NULL) {
		char *line = p + 2, *e;
		size_t len;

		line += strspn(line, " \t\r\n");
		e = line + strcspn(line, "\r\n");
		while (e > line && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		len = (size_t)(e - line);
		if ((len == n && strncasecmp(line, name, n) == 0) ||
		    (first >= 3 && first < n && len == first &&
		    strncasecmp(line, name, first) == 0)) {
			*p = '\0';
			return;
		}
		p += 2;
	}
}

static void
cut_signature(char *q)
{
	char *line = strchr(q, '\n');

	/* "afwijzen Past niet.\nGroet, Femme": the body starts with it */
	if (command_signature_line(q, q + strcspn(q, "\r\n"))) {
		*q = '\0';
		return;
	}

	while (line != NULL) {
		char *p = ++line;

		if (command_signature_line(p, p + strcspn(p, "\r\n"))) {
			*line = '\0';
			break;
		}
		line = strchr(line, '\n');
	}
}

int
act_start(struct req *r)
{
	struct request *c = r->cmd;
	struct network n = { 0 };
	struct tvars *v = act_vars(r);
	char *question = xstrdup(c->body ? c->body : "");
	char *q;
	char *bare = unquote_title(c->args ? c->args : "");
	char *title = clean_title(bare);
	int rc;

	free(bare);

	cut_signature(question);
	cut_at_name(question, r->sender_name);
	q = str_trim(skip_greeting(question));
	if (*title == '\0' || *q == '\0') {
		tvars_set_bool(v, "no_title", *title == '\0');
		tvars_set_bool(v, "no_question", *q == '\0');
		rc = reply_v(r, "start-usage", v);
		free(question);
		free(title);
		return rc;
	}
	rc = store_network_pending_proposal(r->app->st, title, r->person_id,
	    &n);
	if (rc == 0) {
		/* Asked again: the coordinators were told once already. */
		act_set_network(v, &n);
		network_clear(&n);
		free(question);
		free(title);
		return reply_v(r, "start-duplicate", v);
	}
	if (rc == 1 && (rc = store_network_find(r->app->st, title,
	    &n)) == 0 && (n.state == NET_OPEN || n.state == NET_PROPOSED)) {
		/* A second network of the same title would make the title
		 * name neither of them. */
		act_set_network(v, &n);
		tvars_set_bool(v, "open", n.state == NET_OPEN);
		tvars_set_bool(v, "closed", n.state == NET_CLOSED);
		tvars_set_bool(v, "proposed", n.state == NET_PROPOSED);
		tvars_set_bool(v, "rejected", n.state == NET_REJECTED);
		/* "Rekenen" against "Rekenen in groep 3" (short name
		 * rekenen): say which name is taken. */
		tvars_set_bool(v, "by_slug", strcasecmp(n.title, title) != 0);
		network_clear(&n);
		free(question);
		free(title);
		return reply_v(r, "start-exists", v);
	}
	network_clear(&n);
	if (rc == -1 || add_unique(r, title, q, &n.id, &n.slug) == -1) {
		tvars_free(v);
		free(question);
		free(title);
		return -1;
	}
	n.title = title;
	n.question = xstrdup(q);
	n.state = NET_PROPOSED;
	free(question);
	r->app->changed = 1;
	log_info("%s proposed network %s", r->sender, n.slug);
	act_set_network(v, &n);
	rc = ask_coordinators(r, &n);
	network_clear(&n);
	if (rc == -1) {
		tvars_free(v);
		return -1;
	}
	return reply_v(r, "start-received", v);
}

/* The call for participants, to [organization] announce. */
static int
send_call(struct req *r, const struct network *n, const char *lead)
{
	const struct config *cfg = r->app->cfg;
	struct reply rp = { 0 };
	struct tvars *v;
	char *list_id, *unsub;
	int rc;

	if (cfg->announce == NULL || *cfg->announce == '\0')
		return 0;
	v = act_vars(r);
	act_set_network(v, n);
	tvars_set(v, "lead", lead);
	/* The list's own List-Id (SPEC §4b): <SLUG.LOCAL.DOMAIN>. */
	list_id = xasprintf("<%s.%.*s.%s>", n->slug,
	    (int)strcspn(cfg->from_addr, "@"), cfg->from_addr, r->app->domain);
	unsub = xasprintf("<mailto:%s?subject=ontvolg%%20%s>", cfg->from_addr,
	    n->slug);
	rp.tmpl = "call";
	rp.kind = "call";
	rp.to_addr = cfg->announce;
	rp.lang = cfg->language;
	rp.vars = v;
	rp.network_id = n->id;
	rp.auto_submitted = AUTO_GENERATED;
	rp.list_id = list_id;
	rp.list_unsubscribe = unsub;
	rc = reply_queue(r->app, &rp, r->now);
	tvars_free(v);
	free(list_id);
	free(unsub);
	return rc;
}

/* Tell the proposer (and a named lead) what was decided. */
static int
tell_outcome(struct req *r, const struct network *n, const char *tmpl,
    int64_t person_id, struct tvars *v)
{
	struct person p = { 0 };
	struct reply rp = { 0 };
	int rc;

	if (person_id == 0)
		return 0;
	if ((rc = store_person_by_id(r->app->st, person_id, &p)) != 0)
		return rc == 1 ? 0 : -1;
	rp.tmpl = tmpl;
	rp.kind = "reply";
	rp.to_addr = p.email;
	rp.to_name = p.name;
	rp.lang = p.lang;
	rp.vars = v;
	rp.network_id = n->id;
	rp.person_id = person_id;
	rp.auto_submitted = AUTO_GENERATED;
	rc = reply_queue(r->app, &rp, r->now);
	person_clear(&p);
	return rc;
}

int
network_welcome(struct req *r, const struct network *n,
    const int64_t *leads, size_t nleads, const char *lead_names)
{
	struct tvars *v = act_vars(r);
	int rc = 0;

	act_set_network(v, n);
	for (size_t i = 0; rc == 0 && i < nleads; i++)
		rc = tell_outcome(r, n, "lead-added", leads[i], v);
	if (rc == 0 && nleads > 0)
		rc = send_call(r, n, lead_names);
	tvars_free(v);
	return rc;
}

/* May this address lead a network?  1 yes, 0 no, -1 error. */
static int
may_lead(struct req *r, const char *email)
{
	struct person p = { 0 };
	int rc;

	if (!config_domain_allowed(r->app->cfg, email))
		return 0;
	if (!r->app->cfg->staff_only || config_is_coordinator(r->app->cfg,
	    email))
		return 1;
	if ((rc = store_person_get(r->app->st, email, &p)) == -1)
		return -1;
	rc = rc == 0 && p.in_staff;
	person_clear(&p);
	return rc;
}

static int
approve(struct req *r, struct network *n, struct tvars *v)
{
	const char *named = request_kv(r->cmd, "lead", "trekker", NULL);
	struct person proposer = { 0 };
	char *lead = NULL;
	int64_t lead_id;
	int rc;

	/* "goedkeuren, trekker wordt piet@…" on the line itself */
	for (size_t i = 0; named == NULL && i < r->cmd->argc; i++)
		if (strchr(r->cmd->argv[i], '@') != NULL)
			named = r->cmd->argv[i];

	if (n->proposer_id && store_person_by_id(r->app->st, n->proposer_id,
	    &proposer) == -1)
		return -1;
	if (named != NULL && *named != '\0')
		lead = staff_address_of(named);
	else if (proposer.email != NULL)
		lead = xstrdup(proposer.email);
	if (lead == NULL || (rc = may_lead(r, lead)) != 1) {
		if (lead != NULL && rc == -1) {
			free(lead);
			person_clear(&proposer);
			return -1;
		}
		tvars_set(v, "lead", lead ? lead : named ? named : "");
		tvars_set_bool(v, "not_staff", lead != NULL &&
		    config_domain_allowed(r->app->cfg, lead));
		/* forgotten (person forget) with nobody named */
		tvars_set_bool(v, "no_proposer", lead == NULL && named == NULL &&
		    proposer.email == NULL);
		rc = act_reply(r, "approve-bad-lead", v);
		free(lead);
		person_clear(&proposer);
		return rc;
	}
	tvars_set(v, "lead", lead);
	if (store_network_set_state(r->app->st, n->id, NET_OPEN, r->sender,
	    "", r->now) == -1 ||
	    store_person_ensure(r->app->st, lead, r->app->cfg->language, r->now,
	    &lead_id) == -1 ||
	    store_membership_set(r->app->st, n->id, lead_id, ROLE_LEAD,
	    MS_ACTIVE, r->now) == -1) {
		free(lead);
		person_clear(&proposer);
		return -1;
	}
	n->state = NET_OPEN;
	act_set_network(v, n);
	/* Another lead named: the proposer is told how to take part, and
	 * the lead whose question it is. */
	tvars_set_bool(v, "other_lead", lead_id != n->proposer_id);
	if (proposer.email != NULL)
		tvars_set(v, "proposer", proposer.name && *proposer.name ?
		    proposer.name : proposer.email);
	rc = tell_outcome(r, n, "proposal-approved", n->proposer_id, v);
	if (rc == 0 && lead_id != n->proposer_id)
		rc = tell_outcome(r, n, "lead-added", lead_id, v);
	if (rc == 0)
		rc = send_call(r, n, lead);
	free(lead);
	person_clear(&proposer);
	return rc;
}

static int
reject(struct req *r, struct network *n, struct tvars *v, const char *code)
{
	char *body = NULL, *whole = NULL;
	const char *reason = r->cmd->args ? r->cmd->args : "";
	size_t k = code ? strlen(code) : 0;
	int rc;

	/* "afwijzen CODE Te breed", as the coordinators' digest says: the
	 * code is no part of the reason. */
	if (k > 0 && strncasecmp(reason, code, k) == 0 &&
	    (reason[k] == '\0' || strchr(" \t,:;.", reason[k]) != NULL))
		reason += k + strspn(reason + k, " \t,:;.");

	if (r->cmd->body) {
		/* The reason on the lines below, or going on there ("afwijzen
		 * Dit past beter bij Rekenen.\nDaar zijn nog plekken."): the
		 * proposer got the first line only.  Without the signature
		 * the proposer does not need. */
		body = xstrdup(r->cmd->body);
		cut_signature(body);
		if (*reason == '\0')
			reason = str_trim(body);
		else if (!r->cmd->in_subject && *str_trim(body) != '\0')
			reason = whole = xasprintf("%s\n%s", reason,
			    str_trim(body));
	}
	tvars_set(v, "reason", reason);
	rc = store_network_set_state(r->app->st, n->id, NET_REJECTED,
	    r->sender, reason, r->now);
	free(body);
	free(whole);
	if (rc == -1)
		return -1;
	n->state = NET_REJECTED;
	act_set_network(v, n);
	return tell_outcome(r, n, "proposal-rejected", n->proposer_id, v);
}

int
act_decide(struct req *r, const char *ctx_token)
{
	struct network n = { 0 };
	struct token t = { 0 };
	struct tvars *v = act_vars(r);
	int approving = r->cmd->verb == VERB_APPROVE, rc;

	if (!config_is_coordinator(r->app->cfg, r->sender))
		return reply_v(r, "not-coordinator", v);
	if (ctx_token && *ctx_token) {
		if ((rc = store_token_get(r->app->st, ctx_token, &t)) == -1)
			goto fail;
		if (rc == 1 || strcmp(t.action, "moderate") != 0 ||
		    t.person_id != r->person_id) {
			token_clear(&t);
			return reply_v(r, "decide-usage", v);
		}
		rc = store_network_by_id(r->app->st, t.network_id, &n);
	} else if ((rc = act_find_token(r, &t, 0)) == 0 &&
	    strcmp(t.action, "moderate") == 0 && t.person_id == r->person_id)
		/* A reply whose client dropped In-Reply-To: the code in the
		 * Subject is as good a proof; or the code the coordinators'
		 * digest gives, written with the command.  Not one in the
		 * quote: a reply to the digest quotes every proposal's. */
		rc = store_network_by_id(r->app->st, t.network_id, &n);
	else if (rc == -1)
		goto fail;
	else if (r->proof && r->cmd->argc > 0) {
		token_clear(&t);
		rc = store_network_find(r->app->st, r->cmd->argv[0], &n);
	} else {
		/* No proof that this coordinator wrote it: ask for a reply
		 * to the moderation mail, which carries a token. */
		token_clear(&t);
		return reply_v(r, "decide-usage", v);
	}
	if (rc == -1)
		goto fail;
	if (rc == 1) {
		token_clear(&t);
		return reply_v(r, "decide-usage", v);
	}
	act_set_network(v, &n);
	if (n.state != NET_PROPOSED) {
		/* The first decision wins; say who made it. */
		tvars_set(v, "decided_by", n.decided_by);
		tvars_set_bool(v, "was_approved", n.state == NET_OPEN ||
		    n.state == NET_CLOSED);
		tvars_set(v, "reason", n.reason);
		rc = reply_v(r, "already-decided", v);
		network_clear(&n);
		token_clear(&t);
		return rc;
	}
	/* "De voorsteller is ingelicht" only if someone can be. */
	tvars_set_bool(v, "proposer_known", n.proposer_id != 0);
	rc = approving ? approve(r, &n, v) : reject(r, &n, v, t.token);
	if (rc == -1)
		goto fail;
	/* approve() answers by itself only when it refused (bad lead). */
	if (r->outcome == NULL) {
		if (t.token && store_token_use(r->app->st, t.token, r->sender,
		    r->now) == -1)
			goto fail;
		tvars_set_bool(v, "approved", approving);
		rc = act_reply(r, "decide-done", v);
		r->app->changed = 1;
		log_info("%s %s network %s", r->sender, approving ?
		    "approved" : "rejected", n.slug);
	}
	tvars_free(v);
	network_clear(&n);
	token_clear(&t);
	return rc == -1 ? -1 : 0;
fail:
	tvars_free(v);
	network_clear(&n);
	token_clear(&t);
	return -1;
}

int
act_post(struct req *r)
{
	struct network n;
	struct tvars *v;
	char *body;
	int rc;

	if ((rc = act_network_arg(r, &n, 1)) != 0)
		return rc == 1 ? 0 : -1;
	v = act_vars(r);
	act_set_network(v, &n);
	body = xstrdup(r->cmd->body ? r->cmd->body : "");
	if (!act_is_member(r, &n) && !act_is_lead(r, &n))
		rc = act_reply_not_member(r, &n, v, 0);
	else if (r->app->cfg->list_need_proof && !r->proof) {
		/* News reaches every member's digest and the intranet, as a
		 * list post their inbox: [lists] need_proof holds for both. */
		log_warnx("%s: no dmarc=pass (or aligned dkim=pass) from the "
		    "trusted server for news to %s ([lists] need_proof); "
		    "keeping it for people", r->sender, n.slug);
		r->outcome = "human";
		rc = 0;
	} else if (*str_trim(body) == '\0')
		rc = act_reply(r, "post-usage", v);
	else if ((rc = store_news_add(r->app->st, n.id, r->person_id,
	    r->msg->subject, str_trim(body), NULL, r->now, NULL)) == 0) {
		char *list = list_address(r->app->cfg, n.slug);

		r->app->changed = 1;
		/* The news is text: files stay behind, say so and where
		 * they would reach the members. */
		if (r->msg->attachments != NULL)
			tvars_set(v, "attachments", r->msg->attachments);
		tvars_set(v, "list", list);
		free(list);
		rc = act_reply(r, "post-done", v);
	}
	free(body);
	tvars_free(v);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

int
network_add_lead(struct req *r, const struct network *n, const char *email)
{
	struct tvars *v = act_vars(r);
	enum role role;
	enum mstate state;
	int64_t pid;
	int rc, invited = 0;

	act_set_network(v, n);
	tvars_set(v, "lead", email);
	if (store_person_ensure(r->app->st, email, r->app->cfg->language,
	    r->now, &pid) == -1 ||
	    (rc = store_membership(r->app->st, n->id, pid, &role,
	    &state)) == -1 ||
	    store_membership_set(r->app->st, n->id, pid, ROLE_LEAD, MS_ACTIVE,
	    r->now) == -1) {
		tvars_free(v);
		return -1;
	}
	/* A member made lead has the meetings already: sent again, each
	 * came twice. */
	invited = rc == 0 && state == MS_ACTIVE && role != ROLE_FOLLOWER;
	if (!invited && meeting_invite_person(r, n, pid) == -1) {
		tvars_free(v);
		return -1;
	}
	r->app->changed = 1;
	rc = tell_outcome(r, n, "lead-added", pid, v);
	if (rc == 0)
		rc = act_reply(r, "lead-done", v);
	tvars_free(v);
	return rc;
}

/* Is email already an active lead of n?  1 yes, 0 no, -1 error. */
static int
is_lead_already(struct req *r, const struct network *n, const char *email)
{
	struct person p = { 0 };
	enum role role;
	enum mstate state;
	int rc;

	if ((rc = store_person_get(r->app->st, email, &p)) != 0)
		return rc == 1 ? 0 : -1;
	rc = store_membership(r->app->st, n->id, p.id, &role, &state);
	person_clear(&p);
	if (rc == -1)
		return -1;
	return rc == 0 && role == ROLE_LEAD && state == MS_ACTIVE;
}

int
act_lead(struct req *r)
{
	struct network n;
	struct tvars *v;
	const char *word;
	char *email = NULL;
	int rc;

	if ((rc = act_network_arg(r, &n, 1)) != 0)
		return rc == 1 ? 0 : -1;
	v = act_vars(r);
	act_set_network(v, &n);
	word = r->cmd->argc >= 2 ? r->cmd->argv[r->cmd->argc - 1] : NULL;
	if (word != NULL && (email = staff_address_of(word)) != NULL) {
		tvars_set(v, "lead", email);
		/* The confirmation's {{#lead}} section is a flag: the
		 * address goes under its own name there. */
		tvars_set(v, "new_lead", email);
	} else
		tvars_set(v, "lead", word ? word : "");
	if (!act_is_lead(r, &n))
		rc = act_reply(r, "not-lead", v);
	else if (email == NULL)
		rc = act_reply(r, "lead-usage", v);
	else if ((rc = may_lead(r, email)) != 1)
		rc = rc == -1 ? -1 : act_reply(r, "lead-not-staff", v);
	else if ((rc = is_lead_already(r, &n, email)) != 0) {
		tvars_set_bool(v, "already", 1);
		rc = rc == -1 ? -1 : act_reply(r, "lead-done", v);
	} else if ((rc = act_need_proof(r, "lead", n.id, email, v)) == 1)
		rc = network_add_lead(r, &n, email);
	free(email);
	tvars_free(v);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

/* The hours each member attended in this school year (1 August on). */
static int
add_member_hours(struct req *r, struct tvars *v, const struct network *n,
    struct member *m, size_t count)
{
	struct hours_row *h;
	struct dt_local today;
	time_t from, to;
	size_t nh;
	int year;

	dt_localtime(r->app->zone, r->now, &today);
	year = today.mon >= 8 ? today.year : today.year - 1;
	if (dt_mktime(r->app->zone, year, 8, 1, 0, 0, &from) == -1 ||
	    dt_mktime(r->app->zone, year + 1, 8, 1, 0, 0, &to) == -1)
		return -1;
	if ((h = store_hours(r->app->st, from, to, n->id, &nh)) == NULL)
		return -1;
	tvars_setf(v, "year", "%d-%02d", year, (year + 1) % 100);
	tvars_setf(v, "budget", "%d", r->app->cfg->hours_per_network);
	for (size_t i = 0; i < count; i++) {
		struct tvars *item;
		long seconds = 0;

		if (m[i].state != MS_ACTIVE || m[i].role == ROLE_FOLLOWER)
			continue;
		for (size_t k = 0; k < nh; k++)
			if (str_eq_ci(h[k].email, m[i].email))
				seconds = h[k].seconds;
		item = tvars_add_item(v, "members");
		tvars_set(item, "email", m[i].email);
		tvars_set(item, "name", m[i].name);
		tvars_set_bool(item, "is_lead", m[i].role == ROLE_LEAD);
		set_hours(item, "hours", seconds, r->lang);
	}
	hours_free(h, nh);
	return 0;
}

int
act_status(struct req *r)
{
	struct network n;
	struct tvars *v;
	struct member *m;
	size_t count;
	int rc;

	if ((rc = act_network_arg(r, &n, 0)) != 0)
		return rc == 1 ? 0 : -1;
	v = act_vars(r);
	act_set_network(v, &n);
	tvars_set_bool(v, "open", n.state == NET_OPEN);
	tvars_set_bool(v, "closed", n.state == NET_CLOSED);
	tvars_set_bool(v, "proposed", n.state == NET_PROPOSED);
	tvars_set_bool(v, "rejected", n.state == NET_REJECTED);
	if (!act_is_member(r, &n) && !act_is_lead(r, &n)) {
		rc = act_reply_not_member(r, &n, v, 0);
		goto out;
	}
	if ((m = store_members(r->app->st, n.id, &count)) == NULL) {
		rc = -1;
		goto out;
	}
	rc = add_member_hours(r, v, &n, m, count);
	members_free(m, count);
	if (rc == 0)
		rc = add_meetings(r, v, &n, STATUS_MEETINGS,
		    act_is_lead(r, &n));
	if (rc == 0)
		rc = act_reply(r, "status", v);
out:
	tvars_free(v);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

/* The meetings held without a list of who came: a closing lead is told
 * their hours still need it, and how to send it. */
static int
unrecorded_vars(struct req *r, const struct network *n, struct tvars *v)
{
	struct meeting *ms;
	size_t count;

	if ((ms = meeting_unrecorded(r->app, n, r->now, &count)) == NULL)
		return -1;
	for (size_t i = 0; i < count; i++) {
		struct tvars *item = tvars_add_item(v, "held");
		struct dt_span span;
		char *when;

		dt_span_set(r->app->zone, ms[i].start, ms[i].end, &span);
		when = dt_format_span(&span, r->lang);
		tvars_setf(item, "number", "%d", ms[i].number);
		tvars_set(item, "when", when);
		free(when);
		tvars_set_bool(v, "unrecorded", 1);
	}
	meetings_free(ms, count);
	return 0;
}

int
network_close(struct req *r, const struct network *n, const char *reason)
{
	struct tvars *v = act_vars(r);
	int rc;

	act_set_network(v, n);
	/* The answer says where the words go: without digests, nowhere
	 * anyone reads them. */
	if (r->app->cfg->digest != DIGEST_OFF)
		tvars_set(v, "reason", reason);
	if (store_network_set_state(r->app->st, n->id, NET_CLOSED, r->sender,
	    reason, r->now) == -1) {
		tvars_free(v);
		return -1;
	}
	r->app->changed = 1;
	log_info("%s closed network %s", r->sender, n->slug);
	if (meeting_cancel_all(r, n) == -1 || unrecorded_vars(r, n, v) == -1) {
		tvars_free(v);
		return -1;
	}
	rc = act_reply(r, "close-done", v);
	tvars_free(v);
	return rc;
}

/*
 * The lead's words after the network's name on the command line, for
 * the members' last digest ("sluit rekenen: klaar voor dit jaar, dank
 * allemaal!"); only that line, not the mail's body with its greeting
 * and signature.  Caller frees; "" when there are none.
 */
static char *
close_reason(const struct req *r, const struct network *n)
{
	const char *args = r->cmd->args ? r->cmd->args : "", *rest;

	if ((rest = command_after_name(args, n->slug, n->title)) == NULL)
		rest = "";
	return text_shorten(rest, CLOSE_REASON_MAX);
}

int
act_close(struct req *r)
{
	struct network n;
	struct tvars *v;
	char *reason;
	int rc;

	if ((rc = act_network_arg(r, &n, 1)) != 0)
		return rc == 1 ? 0 : -1;
	v = act_vars(r);
	act_set_network(v, &n);
	reason = close_reason(r, &n);
	if (!act_is_lead(r, &n))
		rc = act_reply(r, "not-lead", v);
	else if ((rc = act_need_proof(r, "close", n.id, reason, v)) == 1)
		rc = network_close(r, &n, reason);
	free(reason);
	tvars_free(v);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}
