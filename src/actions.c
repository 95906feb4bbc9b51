/*
 * actions.c - dispatch a person's mail to its action, and the helpers the
 * actions share: answering, naming a network, roles, proof of sender.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "config.h"
#include "log.h"
#include "message.h"
#include "reply.h"
#include "slug.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define TOKEN_LEN	12
#define TOKEN_TTL	(7 * 24 * 3600)

struct tvars *
act_vars(struct req *r)
{
	struct tvars *v = tvars_new();
	char *args;

	tvars_set(v, "sender", r->sender);
	tvars_set(v, "keyword", r->cmd && r->cmd->keyword ? r->cmd->keyword : "");
	/* Echoed between quotes: a forger's link must not become one in
	 * mail from the coordinator address. */
	args = text_defang(r->cmd && r->cmd->args ? r->cmd->args : "", 1);
	tvars_set(v, "args", args);
	free(args);
	return v;
}

void
act_set_network(struct tvars *v, const struct network *n)
{
	tvars_set(v, "slug", n->slug);
	tvars_set(v, "title", n->title);
	tvars_set(v, "question", n->question);
	tvars_set(v, "state", net_state_name(n->state));
}

/* The answer to the sender; kind and the ids are what a reply to it
 * will be read against (find_context). */
static int
queue_answer(struct req *r, const char *tmpl, struct tvars *v,
    const char *kind, const char *token, int64_t network_id,
    int64_t meeting_id)
{
	struct reply rp = { 0 };

	rp.tmpl = tmpl;
	rp.kind = kind;
	rp.to_addr = r->sender;
	rp.to_name = r->sender_name;
	rp.lang = lang_code(r->lang);
	rp.vars = v;
	rp.in = r->msg;
	rp.token = token;
	rp.network_id = network_id;
	rp.meeting_id = meeting_id;
	rp.person_id = r->person_id;
	rp.auto_submitted = AUTO_REPLIED;
	if (reply_queue(r->app, &rp, r->now) == -1)
		return -1;
	r->outcome = "answered";
	return 0;
}

int
act_reply_ctx(struct req *r, const char *tmpl, struct tvars *v,
    const char *kind, const char *token, int64_t network_id)
{
	return queue_answer(r, tmpl, v, kind, token, network_id, 0);
}

int
act_reply(struct req *r, const char *tmpl, struct tvars *v)
{
	return queue_answer(r, tmpl, v, "reply", NULL, 0, 0);
}

int
act_reply_meeting(struct req *r, const char *tmpl, struct tvars *v,
    int64_t network_id, int64_t meeting_id)
{
	return queue_answer(r, tmpl, v, "reply", NULL, network_id, meeting_id);
}

int
act_reply_attendance(struct req *r, const char *tmpl, struct tvars *v,
    int64_t network_id, int64_t meeting_id)
{
	return queue_answer(r, tmpl, v, "attendance", NULL, network_id,
	    meeting_id);
}

/* Answer with tmpl and nothing else; frees nothing of the caller's. */
static int
reply_simple(struct req *r, const char *tmpl)
{
	struct tvars *v = act_vars(r);
	int rc = act_reply(r, tmpl, v);

	tvars_free(v);
	return rc;
}

/*
 * List the open networks into v as "networks" items.  For afmelden and
 * ontvolg (also what a digest's List-Unsubscribe sends without a network)
 * only the sender's own, each with the word that leaves it: "mine".
 */
static int
add_open_networks(struct req *r, struct tvars *v, char **example)
{
	enum verb verb = r->cmd ? r->cmd->verb : VERB_NONE;
	int mine = verb == VERB_LEAVE || verb == VERB_UNFOLLOW, listed = 0;
	int only_lead;
	struct network *nets;
	size_t n;

	if ((nets = store_networks(r->app->st, &n)) == NULL)
		return -1;
	tvars_set_bool(v, "mine", mine);
	/* A coordinators' overview has nothing to leave by mail: its
	 * List-Unsubscribe sends a bare afmelden, answered here. */
	tvars_set_bool(v, "is_coordinator", mine &&
	    config_is_coordinator(r->app->cfg, r->sender));
	for (size_t i = 0; i < n; i++) {
		struct tvars *item;
		enum role role;
		enum mstate state;

		if (nets[i].state != NET_OPEN)
			continue;
		if (mine && (store_membership(r->app->st, nets[i].id,
		    r->person_id, &role, &state) != 0 || state != MS_ACTIVE))
			continue;
		/* A lone lead cannot leave (leave-only-lead): say how to
		 * hand over instead, and do not make it the example. */
		only_lead = 0;
		if (mine && role == ROLE_LEAD) {
			size_t leads, members;

			if (store_network_counts(r->app->st, nets[i].id,
			    &leads, &members) == -1) {
				networks_free(nets, n);
				return -1;
			}
			only_lead = leads <= 1;
		}
		item = tvars_add_item(v, "networks");
		act_set_network(item, &nets[i]);
		tvars_set_bool(item, "only_lead", only_lead);
		if (mine && !only_lead && listed++ == 0) {
			/* The example leaves one of their own. */
			free(*example);
			*example = xstrdup(nets[i].slug);
		}
		if (mine)
			tvars_set(item, "keyword", role == ROLE_FOLLOWER ?
			    (r->lang == LANG_EN ? "unfollow" : "ontvolg") :
			    (r->lang == LANG_EN ? "leave" : "afmelden"));
	}
	networks_free(nets, n);
	return 0;
}

/* Commands whose last word is no part of the network's name. */
static int
takes_trailing_arg(enum verb v)
{
	return v == VERB_LEAD || v == VERB_MOVE || v == VERB_CANCEL ||
	    v == VERB_ATTENDANCE;
}

/* c->args without its last word; caller frees. */
static char *
args_but_last(const struct request *c)
{
	char *s = xstrdup(c->args);
	char *sp = strrchr(s, ' ');
	char *tab = strrchr(s, '\t');

	if (tab != NULL && (sp == NULL || tab > sp))
		sp = tab;
	if (sp != NULL)
		*sp = '\0';
	str_trim(s);
	return s;
}

/*
 * "example": the command written right, with a network that exists (a
 * near miss first), so the answer can be copied.
 */
static void
set_example(struct req *r, struct tvars *v, const char *slug)
{
	const struct request *c = r->cmd;
	const char *tail = "";

	if (c->verb == VERB_LEAD)
		tail = r->lang == LANG_EN ? " name@school.nl" : " naam@school.nl";
	else if (c->verb == VERB_MOVE || c->verb == VERB_CANCEL ||
	    c->verb == VERB_ATTENDANCE)
		tail = " 1";
	tvars_setf(v, "example", "%s %s%s", c->keyword ? c->keyword : "",
	    slug ? slug : "rekenen", tail);
}

/* The slug of the first open network, or NULL; caller frees. */
static char *
first_open_slug(struct network *nets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (nets[i].state == NET_OPEN)
			return xstrdup(nets[i].slug);
	return NULL;
}

/* Does s start with one of the quotes people put around a title? */
static size_t
quote_len(const char *s)
{
	static const char *const quotes[] = {
		"\"", "'", "\xe2\x80\x9c", "\xe2\x80\x9d", "\xe2\x80\x9e",
		"\xe2\x80\x98", "\xe2\x80\x99", "\xc2\xab", "\xc2\xbb",
	};

	for (size_t i = 0; i < ARRAY_LEN(quotes); i++)
		if (strncmp(s, quotes[i], strlen(quotes[i])) == 0)
			return strlen(quotes[i]);
	return 0;
}

/* A name as written in a sentence: "aanmelden rekenen." or
 * 'aanmelden "Rekenen in groep 3"'.  Without the quotes around it and the
 * punctuation after it; caller frees. */
static char *
name_unquoted(const char *name)
{
	size_t n, q;
	char *s, *t;

	while ((q = quote_len(name)) > 0)
		name += q;
	s = xstrdup(name);
	for (n = strlen(s); n > 0; ) {
		if (strchr(".,;:!?\"'", s[n - 1]) != NULL) {
			s[--n] = '\0';
			continue;
		}
		for (q = n >= 3 ? 3 : n; q >= 2; q--)
			if (quote_len(s + n - q) == q)
				break;
		if (q < 2)
			break;
		n -= q;
		s[n] = '\0';
	}
	t = str_trim(s);
	memmove(s, t, strlen(t) + 1);
	return s;
}

/* By slug or exact title, as written or without quotes and punctuation. */
static int
find_network(struct store *st, const char *name, struct network *out)
{
	char *bare;
	int rc;

	if ((rc = store_network_find(st, name, out)) != 1)
		return rc;
	bare = name_unquoted(name);
	if (*bare && strcmp(bare, name) != 0)
		rc = store_network_find(st, bare, out);
	free(bare);
	return rc;
}

/* Words around a network's name that name none ("aanmelden voor het
 * netwerk rekenen", "join the rekenen network"). */
static const char *const filler_words[] = {
	"voor", "bij", "aan", "van", "het", "de", "netwerk", "leernetwerk",
	"for", "to", "from", "the", "network", "learning", "graag", "please",
};

/* name without filler words at its start and end ("" when that leaves
 * nothing); NULL when there are none.  Caller frees. */
static char *
without_fillers(const char *name)
{
	const char *b = name, *e = name + strlen(name), *w;
	int changed;

	do {
		size_t len;

		changed = 0;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && strchr(" \t.,;:!?", e[-1]) != NULL)
			e--;
		for (w = b; w < e && *w != ' ' && *w != '\t'; w++)
			;
		len = (size_t)(w - b);
		for (size_t i = 0; len && i < ARRAY_LEN(filler_words); i++)
			if (strlen(filler_words[i]) == len &&
			    strncasecmp(b, filler_words[i], len) == 0) {
				b = w;
				changed = 1;
				break;
			}
		for (w = e; w > b && w[-1] != ' ' && w[-1] != '\t'; w--)
			;
		len = (size_t)(e - w);
		for (size_t i = 0; !changed && len &&
		    i < ARRAY_LEN(filler_words); i++)
			if (strlen(filler_words[i]) == len &&
			    strncasecmp(w, filler_words[i], len) == 0) {
				e = w;
				changed = 1;
			}
	} while (changed && b < e);
	if (b >= e)
		return xstrdup("");
	if (b == name && *e == '\0')
		return NULL;
	return xstrndup(b, (size_t)(e - b));
}

/* The length of the filler word that starts s, with the blanks after it;
 * 0 when s starts with another word. */
static size_t
filler_at(const char *s)
{
	size_t len = strcspn(s, " \t");

	for (size_t i = 0; len && i < ARRAY_LEN(filler_words); i++)
		if (strlen(filler_words[i]) == len &&
		    strncasecmp(s, filler_words[i], len) == 0)
			return len + strspn(s + len, " \t");
	return 0;
}

/*
 * find_network, and then without the filler words before the name, one
 * at a time, each also without those after it: a title as written wins
 * ("bij het netwerk De Vreedzame School" finds "De Vreedzame School").
 */
int
act_find_network(struct store *st, const char *name, struct network *out)
{
	const char *p = name;
	size_t skip;
	int rc;

	if ((rc = find_network(st, name, out)) != 1)
		return rc;
	do {
		char *bare = without_fillers(p);

		if (p != name && (rc = find_network(st, p, out)) != 1) {
			free(bare);
			return rc;
		}
		if (bare != NULL && *bare &&
		    (rc = find_network(st, bare, out)) != 1) {
			free(bare);
			return rc;
		}
		free(bare);
		p += (skip = filler_at(p));
	} while (skip > 0 && *p);
	return 1;
}

int
act_names_network(struct req *r)
{
	const struct request *c = r->cmd;
	struct network n = { 0 };
	int rc;

	if (c->argc == 0)
		return 0;
	rc = find_network(r->app->st, c->argv[0], &n);
	if (rc == 1 && c->argc > 1)
		rc = act_find_network(r->app->st, c->args, &n);
	network_clear(&n);
	return rc != 1;
}

/*
 * The answer to a command that names no network, or (several: "rekenen,
 * taal") more than one where one is taken: how to write it, with the
 * open networks (or the sender's own).  1 answered, -1.
 */
static int
reply_missing(struct req *r, const char *several)
{
	struct tvars *v = act_vars(r);
	struct network *nets;
	char *example = NULL;
	size_t n;
	int rc;

	if ((nets = store_networks(r->app->st, &n)) != NULL) {
		example = first_open_slug(nets, n);
		networks_free(nets, n);
	}
	if (nets != NULL && add_open_networks(r, v, &example) == -1)
		nets = NULL;
	set_example(r, v, example);
	if (several != NULL)
		tvars_set(v, "several", several);
	free(example);
	rc = nets == NULL || act_reply(r, "missing-network", v) == -1 ? -1 : 1;
	tvars_free(v);
	return rc;
}

/*
 * "aanmelden rekenen en taal", "join rekenen, taal": the words after the
 * network found name another one too.  Only the first would be done, and
 * nothing said of the second: one network per mail, as the answer says.
 * 1 with the names ("rekenen, taal") in *names, 0 (none), or -1.
 */
static int
several_named(struct req *r, const struct network *first, char **names)
{
	const struct request *c = r->cmd;
	const char *p;
	char *rest, *w, *part;
	struct buf b;
	int found = 0, rc = 0;

	*names = NULL;
	/* Not after bericht or bijeenkomst: their words go on. */
	if (c->verb != VERB_JOIN && c->verb != VERB_LEAVE &&
	    c->verb != VERB_FOLLOW && c->verb != VERB_UNFOLLOW &&
	    c->verb != VERB_DIGEST && c->verb != VERB_DIRECT &&
	    c->verb != VERB_STATUS)
		return 0;
	if (c->argc < 2 ||
	    (p = strstr(c->args, c->argv[0])) == NULL)
		return 0;
	rest = xstrdup(p + strlen(c->argv[0]));
	/* "en", "and", "of", "or" between two names are separators. */
	for (w = rest; *w; w++) {
		static const char *const joins[] = { "en", "and", "of", "or" };

		if (w > rest && w[-1] != ' ' && w[-1] != '\t')
			continue;
		for (size_t i = 0; i < ARRAY_LEN(joins); i++) {
			size_t len = strlen(joins[i]);

			if (strncasecmp(w, joins[i], len) == 0 &&
			    (w[len] == ' ' || w[len] == '\t')) {
				memset(w, ',', len);
				break;
			}
		}
	}
	buf_init(&b, 4096);
	(void)buf_adds(&b, first->slug);
	for (part = strtok_r(rest, ",;&+/", &w); rc != -1 && part != NULL;
	    part = strtok_r(NULL, ",;&+/", &w)) {
		struct network n = { 0 };
		char *t = str_trim(part);

		if (*t == '\0')
			continue;
		rc = act_find_network(r->app->st, t, &n);
		if (rc == 0 && n.id != first->id && n.state == NET_OPEN) {
			(void)(buf_adds(&b, ", ") == -1 || buf_adds(&b, n.slug));
			found = 1;
		}
		network_clear(&n);
	}
	free(rest);
	if (rc == -1 || !found) {
		buf_free(&b);
		return rc == -1 ? -1 : 0;
	}
	*names = buf_steal(&b);
	return 1;
}

int
act_network_arg(struct req *r, struct network *out, int must_be_open)
{
	struct request *c = r->cmd;
	struct tvars *v;
	struct network *nets;
	char *name, *guess, *example, *said;
	size_t n;
	int rc, by_first = 0;

	memset(out, 0, sizeof(*out));
	/* "afmelden graag": no network named, as with none at all. */
	if (c->argc > 0 && (name = without_fillers(c->args)) != NULL) {
		int none = *name == '\0';

		free(name);
		if (none)
			request_set_args(c, "");
	}
	if (c->argc == 0)
		return reply_missing(r, NULL);
	/* A slug is one word; a title may be several, and may be followed
	 * by a meeting number or an address. */
	name = takes_trailing_arg(c->verb) && c->argc > 1 ? args_but_last(c) :
	    xstrdup(c->args);
	/* The whole text first, as written or among filler words: "Taal en
	 * rekenen" is that network, not the one whose short name is "taal".
	 * Then its first word, which may have more after it. */
	rc = c->argc > 1 ? act_find_network(r->app->st, c->args, out) : 1;
	if (rc == 1 && (rc = find_network(r->app->st, c->argv[0], out)) == 0)
		by_first = 1;
	if (rc == 1 && c->argc > 2 && takes_trailing_arg(c->verb))
		rc = act_find_network(r->app->st, name, out);
	if (rc == 0 && (!must_be_open || out->state == NET_OPEN ||
	    (must_be_open == ACT_OPEN_OR_CLOSED &&
	    out->state == NET_CLOSED))) {
		free(name);
		if (!by_first || (rc = several_named(r, out, &name)) == 0)
			return 0;
		network_clear(out);
		if (rc == 1)
			rc = reply_missing(r, name);
		free(name);
		return rc == -1 ? -1 : 1;
	}
	if (rc == -1) {
		free(name);
		return -1;
	}

	if (rc == 0) {
		/* It exists but is proposed, closed or rejected. */
		free(name);
		rc = act_reply_not_open(r, out) == -1 ? -1 : 1;
		network_clear(out);
		return rc;
	}
	v = act_vars(r);
	said = text_defang(name, 1);
	tvars_set(v, "name", said);
	free(said);
	if ((nets = store_networks(r->app->st, &n)) == NULL) {
		free(name);
		tvars_free(v);
		return -1;
	}
	guess = slug_from_title(name);
	example = NULL;
	for (size_t i = 0; i < n; i++) {
		struct tvars *item;

		if (nets[i].state != NET_OPEN)
			continue;
		if (slug_near(c->argv[0], nets[i].slug) ||
		    slug_near(guess, nets[i].slug)) {
			item = tvars_add_item(v, "candidates");
			act_set_network(item, &nets[i]);
			if (example == NULL)
				example = xstrdup(nets[i].slug);
		}
		item = tvars_add_item(v, "networks");
		act_set_network(item, &nets[i]);
	}
	if (example == NULL)
		example = first_open_slug(nets, n);
	set_example(r, v, example);
	networks_free(nets, n);
	free(example);
	free(guess);
	free(name);
	rc = act_reply(r, "unknown-network", v) == -1 ? -1 : 1;
	tvars_free(v);
	return rc;
}

int
act_reply_not_open(struct req *r, const struct network *n)
{
	struct tvars *v = act_vars(r);
	int rc;

	act_set_network(v, n);
	tvars_set(v, "name", n->title);
	tvars_set_bool(v, n->state == NET_PROPOSED ? "proposed" :
	    n->state == NET_CLOSED ? "closed" : "rejected", 1);
	rc = act_reply(r, "network-not-open", v);
	tvars_free(v);
	return rc;
}

int
act_is_lead(struct req *r, const struct network *n)
{
	enum role role;
	enum mstate state;

	if (config_is_coordinator(r->app->cfg, r->sender))
		return 1;
	return store_membership(r->app->st, n->id, r->person_id, &role,
	    &state) == 0 && role == ROLE_LEAD && state == MS_ACTIVE;
}

int
act_is_member(struct req *r, const struct network *n)
{
	enum role role;
	enum mstate state;

	return store_membership(r->app->st, n->id, r->person_id, &role,
	    &state) == 0 && role != ROLE_FOLLOWER && state == MS_ACTIVE;
}

int
act_need_proof_with(struct req *r, const char *tmpl, const char *action,
    int64_t network_id, const char *arg, struct tvars *v)
{
	char *token;
	int rc;

	if (r->proof)
		return 1;
	token = random_token(TOKEN_LEN);
	if (store_token_add(r->app->st, token, action, r->person_id,
	    network_id, arg, r->now, r->now + TOKEN_TTL) == -1) {
		free(token);
		return -1;
	}
	tvars_set(v, "token", token);
	tvars_set_bool(v, action, 1);	/* the template says what happens */
	rc = act_reply_ctx(r, tmpl, v, "confirm", token, network_id);
	free(token);
	if (rc == 0)
		r->outcome = "confirm-sent";
	return rc == -1 ? -1 : 0;
}

int
act_need_proof(struct req *r, const char *action, int64_t network_id,
    const char *arg, struct tvars *v)
{
	return act_need_proof_with(r, "confirm", action, network_id, arg, v);
}

int
act_run_confirmed(struct req *r, const char *action, int64_t network_id,
    const char *arg)
{
	struct network n = { 0 };
	int rc;

	if ((rc = store_network_by_id(r->app->st, network_id, &n)) != 0)
		return rc == 1 ? reply_simple(r, "token-invalid") : -1;
	/* Closed (or never opened) since the code was sent: only a leave,
	 * and the attendance of meetings held before a close, still stand
	 * (a plan would put a meeting in a closed network). */
	if (n.state != NET_OPEN && strcmp(action, "leave") != 0 &&
	    !(n.state == NET_CLOSED &&
	    strcmp(action, "meeting-attendance") == 0)) {
		rc = act_reply_not_open(r, &n);
		network_clear(&n);
		return rc;
	}
	if (strcmp(action, "join") == 0)
		rc = membership_join(r, &n);
	else if (strcmp(action, "leave") == 0)
		rc = membership_leave(r, &n);
	else if (strcmp(action, "lead") == 0)
		rc = network_add_lead(r, &n, arg);
	else if (strcmp(action, "close") == 0)
		rc = network_close(r, &n, arg ? arg : "");
	else if (strncmp(action, "meeting-", 8) == 0)
		rc = meeting_confirmed(r, &n, action, arg);
	else {
		log_warnx("token for unknown action '%s'", action);
		rc = reply_simple(r, "token-invalid");
	}
	network_clear(&n);
	return rc;
}

/* The context of a reply: what we sent that this mail answers. */
static int
find_context(struct req *r, struct sent_ctx *ctx)
{
	const struct message *m = r->msg;
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	if (m->in_reply_to &&
	    (rc = store_sent_get(r->app->st, m->in_reply_to, ctx)) != 1)
		return rc;
	/* Newest reference first; some clients drop In-Reply-To. */
	for (size_t i = m->nreferences; i > 0; i--)
		if ((rc = store_sent_get(r->app->st, m->references[i - 1],
		    ctx)) != 1)
			return rc;
	return 1;
}

int
action_withdraws(struct req *r)
{
	struct request *c = r->cmd;
	struct sent_ctx ctx;
	struct token t = { 0 };
	int rc;

	if (c->verb == VERB_LEAVE || c->verb == VERB_UNFOLLOW)
		return 1;
	if (c->verb != VERB_NONE && c->verb != VERB_CONFIRM)
		return 0;
	if ((rc = find_context(r, &ctx)) == -1)
		return -1;
	if (rc == 0 && strcmp(ctx.kind, "confirm") == 0 && ctx.token &&
	    *ctx.token)
		rc = store_token_get(r->app->st, ctx.token, &t);
	else if (c->verb == VERB_CONFIRM)
		/* "bevestig CODE" in a mail of its own */
		rc = act_find_token(r, &t, 0);
	else
		rc = 1;
	if (rc == 0)
		rc = strcmp(t.action, "leave") == 0 &&
		    t.person_id == r->person_id ? 1 : 0;
	else if (rc == 1)
		rc = 0;
	token_clear(&t);
	sent_ctx_clear(&ctx);
	return rc;
}

/*
 * A reply keeps our Subject behind its "Re:": "Re: Samenvatting van ...",
 * "Re: Hulp: ...", "Re: aanmelden rekene".  Its words are ours, so the
 * command is only looked for in what the sender wrote.
 */
static void
reparse_body_only(struct req *r)
{
	struct request *c = r->cmd;

	request_free(c);
	command_parse(NULL, r->msg->text, c);
	if (c->verb != VERB_NONE && c->lang_known)
		r->lang = c->lang;
}

/* A reply to the moderation mail without a decision word: start it so. */
static int
decide_usage_replied(struct req *r)
{
	struct tvars *v = act_vars(r);
	int rc;

	tvars_set_bool(v, "replied", 1);
	rc = act_reply(r, "decide-usage", v);
	tvars_free(v);
	return rc;
}

int
action_handle(struct req *r)
{
	struct request *c = r->cmd;
	struct sent_ctx ctx;
	int rc;

	if ((rc = find_context(r, &ctx)) == -1)
		return -1;
	if (rc == 0) {
		/* An invitation, or the answer to a lead about a meeting. */
		int about_meeting = strcmp(ctx.kind, "invite") == 0 ||
		    (strcmp(ctx.kind, "reply") == 0 && ctx.meeting_id != 0);
		int done = 1;

		/* The attendance reminder's Subject is the command the lead
		 * sends back by replying: that one stays. */
		if (c->in_subject && strcmp(ctx.kind, "reminder") != 0 &&
		    command_subject_is_reply(r->msg->subject))
			reparse_body_only(r);
		if (strcmp(ctx.kind, "confirm") == 0 &&
		    (c->verb == VERB_NONE || c->verb == VERB_CONFIRM))
			rc = act_confirm(r, ctx.token, c->verb == VERB_NONE);
		else if (strcmp(ctx.kind, "moderate") == 0 &&
		    (c->verb == VERB_APPROVE || c->verb == VERB_REJECT))
			rc = act_decide(r, ctx.token);
		else if (strcmp(ctx.kind, "moderate") == 0 &&
		    c->verb == VERB_NONE &&
		    config_is_coordinator(r->app->cfg, r->sender))
			/* "Akkoord!" decides nothing: say how to. */
			rc = decide_usage_replied(r);
		else if (strcmp(ctx.kind, "bounce-check") == 0 &&
		    c->verb == VERB_NONE)
			/* "Ja, hoor": writing at all has cleared the mark
			 * (handle.c); say so rather than keep it for people. */
			rc = reply_simple(r, "bounce-cleared");
		else if (strcmp(ctx.kind, "call") == 0 &&
		    c->verb == VERB_JOIN && (c->argc == 0 ||
		    !act_names_network(r)))
			/* "aanmelden graag!" to a call joins that network. */
			rc = act_call_join(r, ctx.network_id);
		else if (about_meeting && (c->verb == VERB_NONE ||
		    c->verb == VERB_MOVE) && c->argc == 0 &&
		    request_kv(c, "datum", "date", "tijd", "time", "locatie",
		    "location", NULL) != NULL)
			rc = act_meeting_reply(r, ctx.network_id,
			    ctx.meeting_id, 0);
		else if (about_meeting && c->verb == VERB_CANCEL &&
		    c->argc == 0)
			/* "annuleer" to the invitation: this meeting. */
			rc = act_meeting_reply(r, ctx.network_id,
			    ctx.meeting_id, 1);
		else if (strcmp(ctx.kind, "attendance") == 0 &&
		    (c->verb == VERB_NONE || (c->verb == VERB_ATTENDANCE &&
		    c->argc == 0)))
			/* "Stuur de hele lijst opnieuw", as the answer says. */
			rc = act_attendance_reply(r, ctx.network_id,
			    ctx.meeting_id);
		else if (strcmp(ctx.kind, "invite") == 0 &&
		    c->verb == VERB_LEAVE && (c->argc == 0 ||
		    !act_names_network(r)))
			/* "Afmelden" to an invitation: most likely "I cannot
			 * come", not "take me off the network". */
			rc = act_leave_from_invite(r, ctx.network_id);
		else if (about_meeting && c->verb == VERB_NONE)
			/* "Kunnen we dit verzetten?": for people, and
			 * from the lead with how to move it. */
			rc = act_meeting_prose(r, ctx.network_id,
			    ctx.meeting_id, strcmp(ctx.kind, "invite") == 0);
		else
			done = 0;
		sent_ctx_clear(&ctx);
		if (done)
			return rc;
	}

	switch (c->verb) {
	case VERB_NONE:
		r->outcome = "human";
		return 0;
	case VERB_HELP:
		return act_help(r);
	case VERB_NETWORKS:
		return act_networks(r);
	case VERB_JOIN:
		return act_join(r);
	case VERB_CONFIRM:
		return act_confirm(r, NULL, 0);
	case VERB_LEAVE:
		return act_leave(r);
	case VERB_FOLLOW:
		return act_follow(r, 1);
	case VERB_UNFOLLOW:
		return act_follow(r, 0);
	case VERB_START:
		return act_start(r);
	case VERB_APPROVE:
	case VERB_REJECT:
		return act_decide(r, NULL);
	case VERB_POST:
		return act_post(r);
	case VERB_LEAD:
		return act_lead(r);
	case VERB_STATUS:
		return act_status(r);
	case VERB_CLOSE:
		return act_close(r);
	case VERB_DIGEST:
		return act_delivery(r, 1);
	case VERB_DIRECT:
		return act_delivery(r, 0);
	case VERB_MEETING:
		return act_meeting(r);
	case VERB_MOVE:
		return act_move(r);
	case VERB_CANCEL:
		return act_cancel(r);
	case VERB_ATTENDANCE:
		return act_attendance(r);
	case VERB__COUNT:
		break;
	}
	r->outcome = "human";
	return 0;
}
