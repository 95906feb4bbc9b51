/*
 * membership.c - join, leave, follow, delivery mode, and confirming by
 * token: how a person comes into and goes out of a network.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "command.h"
#include "config.h"
#include "log.h"
#include "message.h"
#include "reply.h"
#include "store.h"
#include "template.h"
#include "util.h"

/* What a spent code's used_by starts with when it did not do its action:
 * answered "nee", or the join called off by afmelden before it. */
#define DECLINED_BY	"declined:"
#define WITHDRAWN_BY	"withdrawn:"

int
membership_join(struct req *r, const struct network *n)
{
	struct tvars *v;
	enum role role = ROLE_MEMBER;
	enum mstate state;
	int rc;

	if ((rc = store_membership(r->app->st, n->id, r->person_id, &role,
	    &state)) == -1)
		return -1;
	if (rc == 0 && state == MS_ACTIVE && role != ROLE_FOLLOWER) {
		/* Confirmed twice (two requests, two codes): once is enough. */
		v = act_vars(r);
		act_set_network(v, n);
		tvars_set_bool(v, "lead", role == ROLE_LEAD);
		rc = act_reply(r, "join-already", v);
		tvars_free(v);
		return rc;
	}
	/* A lead who "joins" stays lead. */
	if (rc != 0 || role == ROLE_FOLLOWER)
		role = ROLE_MEMBER;
	if (store_membership_set(r->app->st, n->id, r->person_id, role,
	    MS_ACTIVE, r->now) == -1)
		return -1;
	r->app->changed = 1;
	log_info("%s joined %s", r->sender, n->slug);
	if (meeting_invite_person(r, n, r->person_id) == -1)
		return -1;
	v = act_vars(r);
	act_set_network(v, n);
	rc = act_reply(r, "join-done", v);
	tvars_free(v);
	return rc;
}

/*
 * Is the sender the one active lead of n?  An open network keeps a lead:
 * a lead who leaves (or whose List-Unsubscribe a mail client sends) first
 * names a co-lead or closes the network.  1 yes, 0 no, -1 error.
 */
static int
only_lead(struct req *r, const struct network *n)
{
	enum role role;
	enum mstate state;
	size_t leads, members;

	if (store_membership(r->app->st, n->id, r->person_id, &role,
	    &state) != 0 || role != ROLE_LEAD || state != MS_ACTIVE)
		return 0;
	if (store_network_counts(r->app->st, n->id, &leads, &members) == -1)
		return -1;
	return n->state == NET_OPEN && leads <= 1;
}

static int
reply_only_lead(struct req *r, const struct network *n)
{
	struct tvars *v = act_vars(r);
	int rc;

	act_set_network(v, n);
	rc = act_reply(r, "leave-only-lead", v);
	tvars_free(v);
	return rc;
}

int
act_reply_not_member(struct req *r, const struct network *n,
    struct tvars *v, int withdraw)
{
	enum role role;
	enum mstate state;
	int rc;

	rc = store_membership(r->app->st, n->id, r->person_id, &role, &state);
	if (rc == -1)
		return -1;
	if (rc == 0 && state == MS_PENDING && withdraw) {
		char *by = xasprintf("%s%s", WITHDRAWN_BY, r->sender);

		rc = store_membership_set(r->app->st, n->id, r->person_id,
		    role, MS_LEFT, r->now);
		/* The confirmation mail can no longer undo this. */
		if (rc == 0)
			rc = store_tokens_spend(r->app->st, r->person_id, n->id,
			    "join", by, r->now);
		free(by);
		if (rc == -1)
			return -1;
		r->app->changed = 1;
		tvars_set_bool(v, "withdrawn", 1);
	} else if (rc == 0 && state == MS_PENDING)
		tvars_set_bool(v, "pending", 1);
	return act_reply(r, "not-member", v);
}

int
membership_leave(struct req *r, const struct network *n)
{
	struct tvars *v;
	int rc;

	if (!act_is_member(r, n)) {
		v = act_vars(r);
		act_set_network(v, n);
		rc = act_reply_not_member(r, n, v, 1);
		tvars_free(v);
		return rc;
	}
	if ((rc = only_lead(r, n)) != 0)
		return rc == -1 ? -1 : reply_only_lead(r, n);
	if (store_membership_set(r->app->st, n->id, r->person_id, ROLE_MEMBER,
	    MS_LEFT, r->now) == -1)
		return -1;
	r->app->changed = 1;
	log_info("%s left %s", r->sender, n->slug);
	if (meeting_uninvite_person(r, n, r->person_id) == -1)
		return -1;
	v = act_vars(r);
	act_set_network(v, n);
	rc = act_reply(r, "leave-done", v);
	tvars_free(v);
	return rc;
}

static int
join_network(struct req *r, const struct network *n)
{
	struct tvars *v;
	enum role role;
	enum mstate state;
	int rc;

	v = act_vars(r);
	act_set_network(v, n);
	rc = store_membership(r->app->st, n->id, r->person_id, &role, &state);
	if (rc == -1)
		goto out;
	if (rc == 0 && state == MS_ACTIVE && role != ROLE_FOLLOWER) {
		tvars_set_bool(v, "lead", role == ROLE_LEAD);
		rc = act_reply(r, "join-already", v);
		goto out;
	}
	rc = act_need_proof(r, "join", n->id, "", v);
	if (rc == 1)
		rc = membership_join(r, n);
	else if (rc == 0 && (rc = store_membership(r->app->st, n->id,
	    r->person_id, &role, &state)) != -1 &&
	    (rc == 1 || state == MS_LEFT))
		/* Shown as pending in member list until confirmed. */
		rc = store_membership_set(r->app->st, n->id, r->person_id,
		    ROLE_MEMBER, MS_PENDING, r->now);
	else if (rc != -1)
		rc = 0;
out:
	tvars_free(v);
	return rc == -1 ? -1 : 0;
}

int
act_join(struct req *r)
{
	struct network n;
	int rc;

	if ((rc = act_network_arg(r, &n, 1)) != 0)
		return rc == 1 ? 0 : -1;
	rc = join_network(r, &n);
	network_clear(&n);
	return rc;
}

/* "aanmelden" in reply to a call for participants. */
int
act_call_join(struct req *r, int64_t network_id)
{
	struct network n = { 0 };
	struct tvars *v;
	int rc;

	if ((rc = store_network_by_id(r->app->st, network_id, &n)) == -1)
		return -1;
	if (rc == 0 && n.state == NET_OPEN)
		rc = join_network(r, &n);
	else if (rc == 0)
		rc = act_reply_not_open(r, &n);
	else {
		/* The network of a call we sent is gone: say so plainly. */
		v = act_vars(r);
		tvars_set(v, "name", "");
		rc = act_reply(r, "network-not-open", v);
		tvars_free(v);
	}
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

int
act_leave_from_invite(struct req *r, int64_t network_id)
{
	struct network n = { 0 };
	struct tvars *v;
	int rc;

	if ((rc = store_network_by_id(r->app->st, network_id, &n)) != 0)
		return rc == 1 ? act_leave(r) : -1;
	v = act_vars(r);
	act_set_network(v, &n);
	rc = act_reply(r, "leave-invite", v);
	tvars_free(v);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

int
act_leave(struct req *r)
{
	struct network n;
	struct tvars *v;
	int rc;

	if ((rc = act_network_arg(r, &n, 0)) != 0)
		return rc == 1 ? 0 : -1;
	v = act_vars(r);
	act_set_network(v, &n);
	if (!act_is_member(r, &n))
		rc = act_reply_not_member(r, &n, v, 1);
	else if ((rc = only_lead(r, &n)) != 0)
		rc = rc == -1 ? -1 : reply_only_lead(r, &n);
	else {
		/* An unsubscribe click: the member confirms it first. */
		if (r->msg != NULL && r->msg->text != NULL &&
		    strstr(r->msg->text, UNSUBSCRIBE_BODY) != NULL)
			r->proof = 0;
		if ((rc = act_need_proof(r, "leave", n.id, "", v)) == 1)
			rc = membership_leave(r, &n);
	}
	tvars_free(v);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

int
act_follow(struct req *r, int follow)
{
	struct network n;
	struct tvars *v;
	enum role role;
	enum mstate state;
	int rc, has;

	if ((rc = act_network_arg(r, &n, follow)) != 0)
		return rc == 1 ? 0 : -1;
	v = act_vars(r);
	act_set_network(v, &n);
	has = store_membership(r->app->st, n.id, r->person_id, &role, &state);
	if (has == -1) {
		rc = -1;
		goto out;
	}
	if (has == 0 && state == MS_ACTIVE && role != ROLE_FOLLOWER) {
		/* Members get the news already; leaving is another command. */
		tvars_set_bool(v, "member", 1);
		rc = act_reply(r, follow ? "follow-done" : "unfollow-done", v);
		goto out;
	}
	if (follow)
		rc = store_membership_set(r->app->st, n.id, r->person_id,
		    ROLE_FOLLOWER, MS_ACTIVE, r->now);
	else if (has == 0 && role == ROLE_FOLLOWER && state == MS_ACTIVE)
		rc = store_membership_set(r->app->st, n.id, r->person_id,
		    ROLE_FOLLOWER, MS_LEFT, r->now);
	else {
		tvars_set_bool(v, "not_following", 1);
		/* The unsubscribe button of a call for participants sends
		 * this: the call went to a list leernet does not keep. */
		if (r->app->cfg->announce != NULL)
			tvars_set(v, "announce", r->app->cfg->announce);
	}
	if (rc != -1)
		rc = act_reply(r, follow ? "follow-done" : "unfollow-done", v);
out:
	tvars_free(v);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

int
act_delivery(struct req *r, int digest)
{
	struct network n;
	struct tvars *v;
	int rc;

	if ((rc = act_network_arg(r, &n, 1)) != 0)
		return rc == 1 ? 0 : -1;
	v = act_vars(r);
	act_set_network(v, &n);
	tvars_set_bool(v, "digest", digest);
	if (!act_is_member(r, &n))
		rc = act_reply_not_member(r, &n, v, 0);
	else if ((rc = store_membership_delivery(r->app->st, n.id,
	    r->person_id, digest)) != -1)
		rc = act_reply(r, "delivery-done", v);
	tvars_free(v);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

/* A join that waits for its confirmation is called off. */
static int
withdraw_pending(struct req *r, int64_t network_id)
{
	enum role role;
	enum mstate state;
	int rc;

	rc = store_membership(r->app->st, network_id, r->person_id, &role,
	    &state);
	if (rc != 0 || state != MS_PENDING)
		return rc == -1 ? -1 : 0;
	r->app->changed = 1;
	return store_membership_set(r->app->st, network_id, r->person_id, role,
	    MS_LEFT, r->now);
}

/* Does w look like one of our tokens, in either case (a code typed over
 * from a phone comes in capitals)?  Saves pointless lookups. */
static int
token_shaped(const char *w, size_t len)
{
	if (len != 12)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (strchr("abcdefghjkmnpqrstuvwxyz23456789",
		    tolower((unsigned char)w[i])) == NULL)
			return 0;
	return 1;
}

/* Look for a known token among the words of text; 0 found, 1 not, -1. */
static int
find_token_in(struct req *r, const char *text, struct token *t, int *tries)
{
	char word[13];
	const char *p = text;

	while (*p && *tries < 50) {
		size_t n;

		while (*p && !((*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			p++;
		n = 0;
		while ((p[n] >= 'a' && p[n] <= 'z') ||
		    (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9'))
			n++;
		if (token_shaped(p, n)) {
			int rc;

			memcpy(word, p, n);
			word[n] = '\0';
			str_lower(word);
			(*tries)++;
			if ((rc = store_token_get(r->app->st, word, t)) != 1)
				return rc;
		}
		p += n;
	}
	return 1;
}

int
act_find_token(struct req *r, struct token *t, int quoted_too)
{
	int rc, tries = 0;

	rc = find_token_in(r, r->cmd->args ? r->cmd->args : "", t, &tries);
	if (rc == 1)
		rc = find_token_in(r, r->msg->subject, t, &tries);
	if (rc == 1 && quoted_too)
		rc = find_token_in(r, r->msg->full_text, t, &tries);
	return rc;
}

int
act_confirm(struct req *r, const char *ctx_token, int replied)
{
	int no = replied && command_is_no(r->msg->text);
	struct token t = { 0 };
	struct tvars *v;
	int rc = 1;

	/*
	 * A forward is no confirmation, whatever it says: a forwarding rule
	 * or someone asking "what is this?" would otherwise confirm what a
	 * forger asked for (the Subject still reads "Bevestig: ... (code)").
	 * For people to read; the code stays unused.
	 */
	if (command_subject_is_forward(r->msg->subject) ||
	    message_header(r->msg, "X-MS-Exchange-Inbox-Rules-Loop", 0)) {
		log_info("a forwarded confirmation request from %s confirms "
		    "nothing; keeping it for people", r->sender);
		r->outcome = "human";
		return 0;
	}
	if (ctx_token && *ctx_token)
		rc = store_token_get(r->app->st, ctx_token, &t);
	if (rc == 1)
		rc = act_find_token(r, &t, 1);
	if (rc == -1)
		return -1;

	v = act_vars(r);
	if (rc == 1) {
		tvars_set_bool(v, "unknown", 1);
		rc = act_reply(r, "token-invalid", v);
	} else if (t.person_id != r->person_id ||
	    strcmp(t.action, "moderate") == 0) {
		/* Bound to the person it was sent to; moderation is decided
		 * with approve/reject, not confirm. */
		tvars_set_bool(v, "unknown", 1);
		rc = act_reply(r, "token-invalid", v);
	} else if (t.used && strncmp(t.used_by, WITHDRAWN_BY,
	    strlen(WITHDRAWN_BY)) == 0) {
		tvars_set_bool(v, "withdrawn_before", 1);
		rc = act_reply(r, "token-invalid", v);
	} else if (t.used && strncmp(t.used_by, DECLINED_BY,
	    strlen(DECLINED_BY)) == 0) {
		tvars_set_bool(v, "declined_before", 1);
		rc = act_reply(r, "token-invalid", v);
	} else if (t.used) {
		tvars_set_bool(v, "used", 1);
		rc = act_reply(r, "token-invalid", v);
	} else if (t.expires <= r->now) {
		tvars_set_bool(v, "expired", 1);
		rc = act_reply(r, "token-invalid", v);
	} else if (replied && !no && command_doubts(r->msg->text,
	    strcmp(t.action, "join") != 0 && strcmp(t.action, "follow") != 0)) {
		/*
		 * "Hè? Wat is dit? Dit heb ik niet gestuurd." to what a
		 * forger asked in this person's name: no yes.  The code stays
		 * good for a plain "ja"; the question is for people.
		 */
		log_info("%s answered a confirmation without a yes; keeping "
		    "it for people", r->sender);
		tvars_set_bool(v, "unsure", 1);
		/* Its own code: a "ja" in reply to this answer confirms. */
		if ((rc = act_reply_ctx(r, "token-invalid", v, "confirm",
		    t.token, t.network_id)) == 0)
			r->outcome = "human";
	} else if (no) {
		/* "Nee, dat heb ik niet gevraagd": the code is spent, so a
		 * second reply cannot confirm what a forger asked for. */
		char *by = xasprintf("%s%s", DECLINED_BY, r->sender);

		rc = store_token_use(r->app->st, t.token, by, r->now);
		/* "Nee, toch niet" to a join: no longer pending either,
		 * and an earlier request's code cannot join. */
		if (rc == 0 && strcmp(t.action, "join") == 0)
			rc = withdraw_pending(r, t.network_id);
		if (rc == 0 && strcmp(t.action, "join") == 0)
			rc = store_tokens_spend(r->app->st, r->person_id,
			    t.network_id, "join", by, r->now);
		free(by);
		tvars_set_bool(v, "declined", 1);
		if (rc == 0 && (rc = act_reply(r, "token-invalid", v)) == 0)
			r->outcome = "declined";
	} else if ((rc = store_token_use(r->app->st, t.token, r->sender,
	    r->now)) == 0) {
		/* The code reached this mailbox: its owner wrote this, and
		 * their client's name for them may be kept. */
		if (r->sender_name && *r->sender_name && !r->proof)
			rc = store_person_set_name(r->app->st, r->person_id,
			    r->sender_name);
		if (rc == 0)
			rc = act_run_confirmed(r, t.action, t.network_id,
			    t.arg);
	}
	tvars_free(v);
	token_clear(&t);
	return rc == -1 ? -1 : 0;
}
