/*
 * handle.c - one message from bytes to committed effect.
 *
 * The order is what makes crashes harmless (ARCHITECTURE.md): the effect,
 * the answer in the outbox and the "processed" mark commit together; the
 * source moves the message only afterwards.  A crash before the commit
 * leaves the message to be handled from scratch; a crash after it finds
 * the mark and only moves the message.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "app.h"
#include "classify.h"
#include "command.h"
#include "config.h"
#include "handle.h"
#include "list.h"
#include "log.h"
#include "message.h"
#include "mimeout.h"
#include "reply.h"
#include "rsvp.h"
#include "source.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define BATCH		500
#define REFUSAL_WINDOW	(24 * 3600)
#define KEPT_SUBJECT_MAX 160	/* bytes */

/* Atomic: the signal handler sets it, the SMTP lanes read it. */
atomic_int handle_stop;

static const char *const disp_names[] = {
	[DISP_DONE] = "done", [DISP_FAILED] = "failed",
	[DISP_HUMAN] = "human", [DISP_RETRY] = "retry",
};

const char *
disposition_name(enum disposition d)
{
	return disp_names[d];
}

/* Mail left in the inbox for a person to read. */
static int
outcome_kept(const char *outcome)
{
	return strcmp(outcome, "human") == 0 ||
	    strcmp(outcome, "ratelimited") == 0;
}

/*
 * The processed row of one outcome.  Kept mail keeps its Subject (cut
 * to a line's worth) so the coordinators' digest can name it.
 */
static int
processed_add(struct app *app, const char *key, const struct message *m,
    const char *sender, const char *outcome, time_t now)
{
	char *subject = NULL;
	int rc;

	if (outcome_kept(outcome))
		subject = xstrndup(m->subject, utf8_cut(m->subject,
		    strlen(m->subject), KEPT_SUBJECT_MAX));
	rc = store_processed_add(app->st, key, m->message_id, sender, outcome,
	    subject, now);
	free(subject);
	return rc;
}

/*
 * Mail that cannot be read goes to the failed folder, unanswered.  Its
 * processed row lets the coordinators' digest name it, so nobody has to
 * read the journal to learn of it; recorded once, however often it is
 * fetched.  m is NULL when not even the header could be read.
 */
static enum disposition
record_unreadable(struct app *app, const char *raw, size_t len,
    const struct message *m, time_t now)
{
	const char *from = m ? message_header(m, "From", 0) : NULL;
	char *id = m ? NULL : message_derived_id(raw, len);
	char *key, *sender, *subject, outcome[64];
	int rc;

	key = xasprintf("%s %s", m ? m->message_id : id, app->cfg->from_addr);
	sender = xstrndup(from ? from : "", utf8_cut(from ? from : "",
	    from ? strlen(from) : 0, KEPT_SUBJECT_MAX));
	subject = xstrndup(m ? m->subject : "", m ? utf8_cut(m->subject,
	    strlen(m->subject), KEPT_SUBJECT_MAX) : 0);
	if ((rc = store_begin(app->st)) == 0 &&
	    (rc = store_processed_get(app->st, key, outcome,
	    sizeof(outcome))) == 1)
		rc = store_processed_add(app->st, key, m ? m->message_id : id,
		    sender, "unreadable", subject, now);
	if (rc == -1 || store_commit(app->st) == -1) {
		store_rollback(app->st);
		rc = -1;
	}
	free(id);
	free(key);
	free(sender);
	free(subject);
	return rc == -1 ? DISP_RETRY : DISP_FAILED;
}

/*
 * Did we send the mail this report returns to p?  Anyone can write a
 * report; one that returns a Message-ID of ours, queued for that address,
 * is one only the receiving server could have written.  1 yes, 0 no, -1
 * error.
 */
static int
returns_ours(struct app *app, const struct message *m, const char *email,
    const char *named)
{
	int r;

	if (m->returned_id == NULL)
		return 0;
	if ((r = store_outbox_was_sent(app->st, m->returned_id, email)) != 0 ||
	    strcmp(email, named) == 0)
		return r;
	return store_outbox_was_sent(app->st, m->returned_id, named);
}

/*
 * A report we cannot check (it returns none of our mail to that address:
 * a hand-made report, a forwarder's, a list copy's, or a forgery) still
 * marks the address, as SPEC §4 says.  The person is told, so that a
 * mark nobody earned is seen by the one it silences and undone by a reply
 * (writing again clears it).  Where the address really fails, the notice
 * bounces too, returning our own mail, and that report changes nothing.
 * Told every time such a report marks them: only a person who is not
 * bouncing is marked, and only they (by writing) or a coordinator (by a
 * reset) undo a mark, so forged reports cannot make a stream of our mail
 * to anyone, and no mark is silent.
 */
static int
notify_unchecked(struct app *app, const struct person *p, time_t now)
{
	struct tvars *v;
	struct reply rp = { 0 };
	int rc;

	v = tvars_new();
	rp.tmpl = "bounce-check";
	rp.kind = "bounce-check";
	rp.to_addr = p->email;
	rp.to_name = p->name;
	rp.lang = p->lang && *p->lang ? p->lang : app->cfg->language;
	rp.vars = v;
	rp.person_id = p->id;
	rp.auto_submitted = AUTO_GENERATED;
	rc = reply_queue(app, &rp, now);
	tvars_free(v);
	return rc;
}

/*
 * Does a report in plain words return a mail of ours?  qmail and Exim
 * copy the returned message into the text, its header included: look for
 * a Message-ID line naming one we sent.  1 yes, 0 no, -1 error.
 */
static int
text_returns_ours(struct app *app, const struct message *m)
{
	struct sent_ctx ctx = { 0 };
	const char *p = m->full_text;	/* the copy is no new text */
	int r = 0;

	if (m->returned_id != NULL && (r = store_sent_get(app->st,
	    m->returned_id, &ctx)) != 1) {
		sent_ctx_clear(&ctx);
		return r == 0 ? 1 : -1;
	}
	for (r = 1; r == 1 && p != NULL && *p; p = strchr(p, '\n'),
	    p = p ? p + 1 : NULL) {
		const char *lt, *gt, *eol = strchr(p, '\n');
		char *id;

		if (!str_startswith_ci(p, "message-id:") ||
		    (lt = strchr(p, '<')) == NULL || (eol && lt > eol) ||
		    (gt = strchr(lt, '>')) == NULL || (eol && gt > eol))
			continue;
		id = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		r = store_sent_get(app->st, id, &ctx);
		sent_ctx_clear(&ctx);
		free(id);
	}
	return r == 0 ? 1 : r == -1 ? -1 : 0;
}

/*
 * Did delivery fail for good?  RFC 3464's Action says so; a server that
 * gave up after days writes "failed" with the last 4.x.x it met
 * (Postfix: 4.4.1), and that mail is lost as surely as on a 5.x.x.
 */
static int
dsn_failed(const struct dsn_rcpt *d)
{
	if (d->action != NULL)
		return strcmp(d->action, "failed") == 0;
	return d->status != NULL && d->status[0] == '5';
}

/*
 * A permanent failure in a DSN marks the address; delays are only logged.
 * The recipient is the Original-Recipient when that is someone we know
 * (mail forwarded elsewhere bounces for the forward's address), else the
 * Final-Recipient.  A report about mail of ours that no rule can act on
 * is for people (*for_people): one without a delivery-status part (qmail's
 * "failure notice", Exim's), or a failure for an address that is no
 * person's (the announce address).  Reports that return none of our mail
 * there are backscatter (spam that forged our address) and only logged.
 * 0 done, -1 when the mark could not be stored (then tried again rather
 * than forgotten).
 */
static int
handle_bounce(struct app *app, const struct message *m, time_t now,
    int *for_people)
{
	*for_people = 0;
	if (m->ndsn == 0 && !classify_plain_failure(m)) {
		log_info("an auto-reply with the null sender; not answering");
		return 0;
	}
	if (m->ndsn == 0) {
		int ours = text_returns_ours(app, m);

		if (ours == -1)
			return -1;
		if (ours) {
			log_warnx("a delivery report in plain words about mail "
			    "of ours; keeping it for people");
			*for_people = 1;
		} else
			log_info("a delivery report in plain words that "
			    "returns none of our mail; not answering");
		return 0;
	}
	for (size_t i = 0; i < m->ndsn; i++) {
		const struct dsn_rcpt *d = &m->dsn[i];
		const char *named = d->final_recipient;
		const char *why = d->diagnostic ? d->diagnostic : d->status;
		struct person p = { 0 };
		char *reason = NULL;
		int rc = 1, checked;

		if (!dsn_failed(d)) {
			log_info("delivery to %s %s (%s)", named, d->action ?
			    d->action : "delayed", d->status ? d->status :
			    "no status");
			continue;
		}
		if (why == NULL)
			why = "delivery failed";
		if (d->original_recipient != NULL && (rc = store_person_get(
		    app->st, d->original_recipient, &p)) == 0)
			named = d->original_recipient;
		if (rc == 1 && (rc = store_person_get(app->st, named, &p)) == -1)
			return -1;
		if (rc == -1)
			return -1;
		if (rc != 0) {
			if ((checked = returns_ours(app, m, named, named)) ==
			    -1)
				return -1;
			if (checked) {
				log_warnx("delivery to %s failed (%s), an "
				    "address that is no person's; keeping the "
				    "report for people", named, d->status ?
				    d->status : "no status");
				*for_people = 1;
			} else
				log_info("bounce for unknown address %s (%s)",
				    named, d->status ? d->status :
				    "no status");
			continue;
		}
		if ((checked = returns_ours(app, m, p.email, named)) == -1) {
			person_clear(&p);
			return -1;
		}
		if (checked) {
			log_info("%s is bouncing (%s)", p.email, d->status);
			rc = store_person_set_bouncing(app->st, p.email, why,
			    now);
			/* The server took it, the mailbox did not: what a
			 * catch-up counts as delivered must not count it. */
			if (rc == 0)
				rc = store_outbox_returned(app->st,
				    m->returned_id, p.email, why);
			if (rc == 0 && strcmp(p.email, named) != 0)
				rc = store_outbox_returned(app->st,
				    m->returned_id, named, why);
		} else if (p.bouncing) {
			/* The mark and its reason stand as they are. */
			log_info("%s is bouncing already; a report that returns "
			    "no mail we sent there (%s) adds nothing", p.email,
			    d->status);
			rc = 0;
		} else {
			log_warnx("%s is bouncing (%s), by a report that "
			    "returns no mail we sent there (%s)", p.email,
			    d->status, m->returned_id ? m->returned_id :
			    "no Message-ID in it");
			reason = xasprintf("%s (unverified report)", why);
			rc = store_person_set_bouncing(app->st, p.email, reason,
			    now);
			if (rc == 0)
				rc = notify_unchecked(app, &p, now);
		}
		free(reason);
		person_clear(&p);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* One polite refusal per sender per day, never more. */
static int
refuse(struct req *r, const char *tmpl)
{
	struct tvars *v;
	struct reply rp = { 0 };
	int count, rc;

	if (store_outbox_kind_since(r->app->st, "refusal", r->sender,
	    r->now - REFUSAL_WINDOW, &count) == -1)
		return -1;
	if (count > 0) {
		log_info("not answering %s again today", r->sender);
		r->outcome = "refused";
		return 0;
	}
	if (auth_forged_sender(r->msg,
	    r->app->cfg->trusted_authserv_id, r->sender)) {
		r->outcome = "refused";
		return 0;
	}
	v = tvars_new();
	tvars_set(v, "sender", r->sender);
	rp.tmpl = tmpl;
	rp.kind = "refusal";
	rp.to_addr = r->sender;
	rp.to_name = r->sender_name;
	rp.lang = lang_code(r->lang);
	rp.vars = v;
	rp.in = r->msg;
	rp.auto_submitted = AUTO_REPLIED;
	rc = reply_queue(r->app, &rp, r->now);
	tvars_free(v);
	r->outcome = "refused";
	return rc;
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/*
 * An answer could never be written to this address (a..b@, a quoted or
 * non-ASCII local part, x@y@z): its mail is for people, rather than
 * retried forever on an answer that cannot be made.
 */
static int
unanswerable(const char *sender)
{
	if (mime_addr_valid(sender))
		return 0;
	log_warnx("from %s: an answer cannot be sent to this address; kept "
	    "for people", sender);
	return 1;
}

/* Does a trusted Authentication-Results vouch for the From address? */
static int
sender_proven(const struct app *app, const struct message *m,
    const char *sender)
{
	return auth_trusted_pass(m, app->cfg->trusted_authserv_id,
	    domain_of(sender));
}

/*
 * The display name to remember: only from mail that proves its sender (a
 * forged From must not name a lead on every page and invitation), or
 * from the answer to a confirmation code (membership.c).
 */
static const char *
name_to_keep(const struct req *r)
{
	return r->proof && r->sender_name && *r->sender_name ?
	    r->sender_name : NULL;
}

/* The person-written part: who may, how many, what they asked. */
static int
handle_person(struct app *app, struct req *r)
{
	const struct config *cfg = app->cfg;
	const struct message *m = r->msg;
	struct request *cmd = xcalloc(1, sizeof(*cmd));
	struct person p = { 0 };
	const char *dflt;
	int count, rc;

	command_parse_ex(m->subject, m->text, cmd, r->list_slug != NULL);
	if (r->list_slug != NULL)
		request_default_args(cmd, r->list_slug);
	r->cmd = cmd;
	/* Read once for all that follows: the language, bouncing, the
	 * directory, and store_person_touch_as. */
	if (store_person_get(app->st, r->sender, &p) == -1) {
		rc = -1;
		goto out;
	}
	/* "status rekenen" says nothing of its language: the one the person
	 * last wrote in, else the organisation's. */
	dflt = p.lang && *p.lang ? p.lang : cfg->language;
	r->lang = cmd->verb != VERB_NONE && cmd->lang_known ? cmd->lang :
	    command_guess_lang(m->full_text, strcmp(dflt, "en") == 0 ?
	    LANG_EN : LANG_NL);

	if (!config_domain_allowed(cfg, r->sender)) {
		log_info("%s is outside the allowed domains", r->sender);
		rc = refuse(r, "refusal");
		/* A question from a parent still reaches the coordinators. */
		if (rc == 0 && cmd->verb == VERB_NONE)
			r->outcome = "human";
		goto out;
	}
	if (store_requests_since(app->st, r->sender, r->now - 3600,
	    &count) == -1) {
		rc = -1;
		goto out;
	}
	if (count >= cfg->max_requests_per_hour) {
		log_warnx("%s sent %d requests this hour; keeping this one for "
		    "the coordinators", r->sender, count);
		r->outcome = "ratelimited";
		rc = 0;
		goto out;
	}
	r->proof = sender_proven(app, m, r->sender);
	/* Writing again clears `bouncing`; what was sent meanwhile is
	 * caught up before the request is acted on. */
	if (store_person_touch_as(app->st, &p, r->sender, name_to_keep(r),
	    cmd->verb != VERB_NONE ? lang_code(r->lang) : NULL, r->now,
	    &r->person_id) == -1) {
		rc = -1;
		goto out;
	}
	/* Someone who left the foundation may still leave its networks:
	 * they were refused, and kept getting the mail. */
	if (cfg->staff_only && !config_is_coordinator(cfg, r->sender) &&
	    !p.in_staff && (rc = action_withdraws(r)) != 1) {
		if (rc == -1)
			goto out;
		rc = refuse(r, "not-staff");
		if (rc == 0 && cmd->verb == VERB_NONE)
			r->outcome = "human";
		goto out;
	}
	/* The directory's "Anne-Marie van 't Hof" greets better than a
	 * display name ("Hof, A.M. van 't") or none at all. */
	if (p.in_staff && p.name && *p.name)
		r->sender_name = p.name;
	/* What they missed before what they ask: after it, the catch-up
	 * found the request's own calendar mail still queued, not "sent",
	 * and sent it a second time as missed (a lead back from bouncing
	 * who plans a meeting got it twice, "Mail aan jou kwam een tijd
	 * niet aan" on the second). */
	if (p.bouncing && (rc = meeting_catch_up(r, r->person_id)) != 0)
		goto out;
	rc = action_handle(r);
out:
	person_clear(&p);
	request_free(cmd);
	free(cmd);
	r->cmd = NULL;
	return rc;
}

/* Words a line under a request to a list may have: "Groet, Bob". */
#define LIST_REQUEST_WORDS	3

/* Does every line of text up to a closing ("Met vriendelijke groet, Bob
 * Jansen") have at most LIST_REQUEST_WORDS words? */
static int
only_short_lines(const char *text)
{
	for (const char *p = text; *p; ) {
		size_t words = 0;
		const char *e = p + strcspn(p, "\n");

		if (command_signature_line(p, e > p && e[-1] == '\r' ? e - 1 :
		    e))
			return 1;

		while (*p && *p != '\n') {
			while (*p == ' ' || *p == '\t' || *p == '\r')
				p++;
			if (*p == '\0' || *p == '\n')
				break;
			words++;
			while (*p && *p != ' ' && *p != '\t' && *p != '\r' &&
			    *p != '\n')
				p++;
		}
		if (words > LIST_REQUEST_WORDS)
			return 0;
		if (*p == '\n')
			p++;
	}
	return 1;
}

/*
 * Mail to a list that is only a request about that list, as people send
 * "unsubscribe" to a mailing list from habit: answered as the command is
 * at the coordinator address, not passed on to every member.  Only a new
 * mail (no reply in a thread, no attachment) whose keyword has nothing
 * after it but this network's name and under it no more than a greeting;
 * joining or following only from someone who is not in the network yet
 * (a member's "Aanmelden" is an announcement).  Anything else is a post.
 * 1, 0, or -1 (the database).
 */
static int
list_request(struct app *app, const struct message *m, const char *slug)
{
	struct request cmd = { 0 };
	struct network n = { 0 };
	struct person p = { 0 };
	enum role role;
	enum mstate state;
	int hit = 0, member = 0, rc;

	if (m->attachments != NULL || (m->in_reply_to != NULL &&
	    *m->in_reply_to != '\0') || m->nreferences > 0 ||
	    command_subject_is_reply(m->subject))
		return 0;
	command_parse_ex(m->subject, m->text, &cmd, 1);
	if (cmd.verb != VERB_JOIN && cmd.verb != VERB_LEAVE &&
	    cmd.verb != VERB_FOLLOW && cmd.verb != VERB_UNFOLLOW)
		goto out;
	if (!only_short_lines(cmd.body ? cmd.body : ""))
		goto out;
	if (cmd.argc > 0) {
		if ((rc = act_find_network(app->st, cmd.args, &n)) == -1) {
			hit = -1;
			goto out;
		}
		hit = rc == 0 && str_eq_ci(n.slug, slug);
		network_clear(&n);
		if (!hit)
			goto out;
	}
	hit = 1;
	if (cmd.verb == VERB_JOIN || cmd.verb == VERB_FOLLOW) {
		if ((rc = store_person_get(app->st, m->from.addr, &p)) == 0 &&
		    (rc = store_network_find(app->st, slug, &n)) == 0 &&
		    (rc = store_membership(app->st, n.id, p.id, &role,
		    &state)) == 0)
			member = state == MS_ACTIVE &&
			    (cmd.verb == VERB_FOLLOW || role != ROLE_FOLLOWER);
		hit = rc == -1 ? -1 : !member;
		network_clear(&n);
		person_clear(&p);
	}
out:
	request_free(&cmd);
	return hit;
}

/*
 * Mail to one or more network lists: one transaction, and per list its own
 * processed key (the list address), so the same mail Cc'd to two lists
 * goes to each once and a second copy in the inbox changes nothing.
 */
static enum disposition
handle_lists(struct app *app, const struct message *m, const char *raw,
    size_t len, char **slugs, int by_thread, time_t now)
{
	enum mail_kind kind;
	const char *why;
	char outcome[64];
	int rc = 0, human = 0, bounce = 2, unknown = 0, proof, bounce_people = 0;

	if (store_begin(app->st) == -1)
		return DISP_RETRY;
	kind = classify(m, app->cfg, &why);
	proof = sender_proven(app, m, m->from.addr);
	for (size_t i = 0; rc == 0 && slugs[i] != NULL; i++) {
		struct req r = { 0 };
		char *addr = list_address(app->cfg, slugs[i]);
		char *key = xasprintf("%s %s", m->message_id, addr);

		free(addr);
		if ((rc = store_processed_get(app->st, key, outcome,
		    sizeof(outcome))) != 1) {
			if (rc == 0 && outcome_kept(outcome))
				human = 1;
			free(key);
			continue;
		}
		r.app = app;
		r.msg = m;
		r.now = now;
		r.sender = m->from.addr;
		r.sender_name = m->from.name;
		r.unknown_answered = unknown;
		r.proof = proof;
		r.by_thread = by_thread;
		if (kind == MAIL_PERSON && unanswerable(r.sender)) {
			r.outcome = "human";
			rc = 0;
		} else if (kind == MAIL_PERSON && !by_thread &&
		    (rc = list_request(app, m, slugs[i])) != 0) {
			if (rc == 1) {		/* else the database failed */
				log_info("a request to list %s: handled as a "
				    "command, not passed on", slugs[i]);
				r.list_slug = slugs[i];
				r.lang = strcmp(app->cfg->language, "en") == 0 ?
				    LANG_EN : LANG_NL;
				rc = handle_person(app, &r);
			}
		} else if (kind == MAIL_PERSON)
			rc = list_handle(&r, slugs[i], raw, len);
		else if (kind == MAIL_BOUNCE) {
			/* One report, read once, whatever lists it reached. */
			if (bounce == 2)
				bounce = handle_bounce(app, m, now,
				    &bounce_people);
			rc = bounce;
			r.outcome = bounce_people ? "human" : "bounce";
		} else if (kind == MAIL_UNSURE) {
			/* Perhaps a person: not passed on, not lost. */
			log_info("not passing %s on to list %s, leaving it for "
			    "people: %s", r.sender, slugs[i], why);
			r.outcome = "human";
			rc = 0;
		} else {
			/* Machines and our own mail: never passed on. */
			log_info("not passing %s on to list %s: %s", r.sender,
			    slugs[i], why);
			r.outcome = "machine";
			rc = 0;
		}
		if (rc == 0 && r.outcome == NULL)
			r.outcome = "human";
		if (rc == 0 && outcome_kept(r.outcome))
			human = 1;
		if (rc == 0 && strcmp(r.outcome, "list-unknown") == 0)
			unknown = 1;
		if (rc == 0 && processed_add(app, key, m, r.sender, r.outcome,
		    now) == -1)
			rc = -1;
		if (rc == 0)
			log_info("from %s to list %s: %s", r.sender, slugs[i],
			    r.outcome);
		free(key);
	}
	if (rc == -1 || store_commit(app->st) == -1) {
		store_rollback(app->st);
		log_warnx("not handled; it stays in the inbox and is tried "
		    "again");
		return DISP_RETRY;
	}
	return human ? DISP_HUMAN : DISP_DONE;
}

enum disposition
handle_message(struct app *app, const char *raw, size_t len, time_t now)
{
	struct message *m = NULL;
	struct req r = { 0 };
	enum mail_kind kind;
	const char *why;
	char *key = NULL, outcome[64], **lists = NULL;
	enum disposition d = DISP_RETRY;
	int rc;

	if (message_parse(raw, len, &m) == -1) {
		log_warnx("not a mail message (%zu bytes); moving it to the "
		    "failed folder", len);
		return record_unreadable(app, raw, len, NULL, now);
	}
	log_set_msgid(m->message_id);
	if (m->from.addr[0] == '\0') {
		log_warnx("no usable From address; moving it to the failed "
		    "folder");
		d = record_unreadable(app, raw, len, m, now);
		goto out;
	}
	/* Mail to a network list goes to the lists, not the commands. */
	if (list_targets(m, app->cfg, &lists) > 0) {
		d = handle_lists(app, m, raw, len, lists, 0, now);
		goto out;
	}
	if (list_thread(app->st, app->cfg, m, &lists) > 0) {
		d = handle_lists(app, m, raw, len, lists, 1, now);
		goto out;
	}
	/* The same mail to another target address (a list) is another
	 * message; the same mail twice to the same address is one. */
	key = xasprintf("%s %s", m->message_id, app->cfg->from_addr);
	if ((rc = store_processed_get(app->st, key, outcome,
	    sizeof(outcome))) == -1)
		goto out;
	if (rc == 0) {
		log_info("handled before (%s); not answering again", outcome);
		d = outcome_kept(outcome) ? DISP_HUMAN : DISP_DONE;
		goto out;
	}
	if (store_begin(app->st) == -1)
		goto out;

	r.app = app;
	r.msg = m;
	r.now = now;
	r.sender = m->from.addr;
	r.sender_name = m->from.name;
	r.lang = strcmp(app->cfg->language, "en") == 0 ? LANG_EN : LANG_NL;
	kind = classify(m, app->cfg, &why);
	log_debug("from %s: %s (%s)", r.sender, mail_kind_name(kind), why);
	switch (kind) {
	case MAIL_OURS:
	case MAIL_AUTO:
		log_info("not answering %s: %s", r.sender, why);
		r.outcome = "machine";
		rc = 0;
		break;
	case MAIL_UNSURE:
		log_info("not answering %s, leaving it for people: %s",
		    r.sender, why);
		r.outcome = "human";
		rc = 0;
		break;
	case MAIL_BOUNCE: {
		int for_people;

		rc = handle_bounce(app, m, now, &for_people);
		r.outcome = for_people ? "human" : "bounce";
		break;
	}
	case MAIL_RSVP: {
		int for_people;

		rc = rsvp_handle(app, m, now, &for_people);
		r.outcome = for_people ? "human" : "rsvp";
		break;
	}
	case MAIL_PERSON:
	default:
		if (unanswerable(r.sender)) {
			r.outcome = "human";
			rc = 0;
			break;
		}
		rc = handle_person(app, &r);
		break;
	}
	if (rc == -1 || r.outcome == NULL)
		r.outcome = rc == -1 ? NULL : "human";
	if (rc == -1 || processed_add(app, key, m, r.sender, r.outcome,
	    now) == -1 || store_commit(app->st) == -1) {
		store_rollback(app->st);
		log_warnx("not handled; it stays in the inbox and is tried "
		    "again");
		d = DISP_RETRY;
		goto out;
	}
	log_info("from %s: %s", r.sender, r.outcome);
	d = outcome_kept(r.outcome) ? DISP_HUMAN : DISP_DONE;
out:
	log_set_msgid(NULL);
	free(key);
	list_targets_free(lists);
	message_free(m);
	return d;
}

struct moves {
	struct source_msg	*done, *failed, *human;
	size_t			 ndone, nfailed, nhuman;
};

/*
 * The source is worked by a thread of its own while handle_pending runs:
 * fetching the next batch and moving the last one overlap with handling
 * the current one.  Over IMAP the round trips were a third of the time
 * (per 500 messages ~20 ms to fetch and ~30 ms to move, against ~70 ms to
 * handle).  While the feeder runs it is the only one to touch the source;
 * the handler only touches the store.  Moves still follow their commit:
 * the handler hands a batch's moves over only after the batch committed.
 */
struct feeder {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct source		*src;
	const struct source_batch *busy;	/* being handled: not again */
	struct source_batch	*next;		/* fetched, not yet taken */
	struct moves		*moves;		/* committed, to be moved */
	int			 want;		/* fetch when next is taken */
	int			 failed;	/* a source call failed */
	int			 quit;
};

static int
move_all(struct source *src, const struct moves *mv)
{
	if ((mv->ndone && source_done(src, mv->done, mv->ndone) == -1) ||
	    (mv->nfailed && source_failed(src, mv->failed,
	    mv->nfailed) == -1) ||
	    (mv->nhuman && source_human(src, mv->human, mv->nhuman) == -1))
		return -1;
	return 0;
}

static void *
feed(void *arg)
{
	struct feeder *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		if (f->moves != NULL) {
			/* First: moving ends the window of a repeat. */
			struct moves *mv = f->moves;
			int rc;

			pthread_mutex_unlock(&f->mu);
			rc = move_all(f->src, mv);
			pthread_mutex_lock(&f->mu);
			f->moves = NULL;
			if (rc == -1)
				f->failed = 1;
			pthread_cond_broadcast(&f->cv);
		} else if (f->quit) {
			break;
		} else if (f->want && f->next == NULL && !f->failed) {
			const struct source_batch *busy = f->busy;
			struct source_batch *b = xcalloc(1, sizeof(*b));
			int rc;

			pthread_mutex_unlock(&f->mu);
			rc = source_fetch_except(f->src, BATCH, busy, b);
			pthread_mutex_lock(&f->mu);
			if (rc == -1) {
				free(b);
				f->failed = 1;
			} else
				f->next = b;
			pthread_cond_broadcast(&f->cv);
		} else
			pthread_cond_wait(&f->cv, &f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/*
 * The next fetched batch, or NULL when a source call failed (a batch
 * fetched before a failed move is left: nothing it handled could move).
 * The feeder starts on the one after it at once, leaving this one out.
 */
static struct source_batch *
take_batch(struct feeder *f)
{
	struct source_batch *b = NULL;

	pthread_mutex_lock(&f->mu);
	while (f->next == NULL && !f->failed)
		pthread_cond_wait(&f->cv, &f->mu);
	if (!f->failed) {
		b = f->next;
		f->next = NULL;
	}
	f->busy = b;
	f->want = b != NULL && b->n > 0;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return b;
}

/* Wait until the moves handed over are done; -1 if a source call failed. */
static int
moves_settled(struct feeder *f)
{
	int rc;

	pthread_mutex_lock(&f->mu);
	while (f->moves != NULL)
		pthread_cond_wait(&f->cv, &f->mu);
	rc = f->failed ? -1 : 0;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

static void
hand_moves(struct feeder *f, struct moves *mv)
{
	pthread_mutex_lock(&f->mu);
	f->moves = mv;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static void
moves_free(struct moves *mv)
{
	if (mv == NULL)
		return;
	free(mv->done);
	free(mv->failed);
	free(mv->human);
	free(mv);
}

static void
batch_free(struct source_batch *b)
{
	source_batch_free(b);
	free(b);
}

/*
 * Handle b in one transaction, a savepoint per message: the pages a join
 * touches are written once per batch, not once per message.  Returns the
 * moves to make once committed, or NULL when nothing may move.
 */
static struct moves *
handle_batch(struct app *app, const struct source_batch *b)
{
	struct moves *mv = xcalloc(1, sizeof(*mv));

	mv->done = xcalloc(b->n, sizeof(*mv->done));
	mv->failed = xcalloc(b->n, sizeof(*mv->failed));
	mv->human = xcalloc(b->n, sizeof(*mv->human));
	if (store_batch_begin(app->st) == -1) {
		moves_free(mv);
		return NULL;
	}
	for (size_t i = 0; i < b->n && !handle_stop; i++) {
		enum disposition d = handle_message(app, b->msgs[i].data,
		    b->msgs[i].len, time(NULL));

		/* Shallow copies: the batch owns the strings. */
		if (d == DISP_DONE)
			mv->done[mv->ndone++] = b->msgs[i];
		else if (d == DISP_FAILED)
			mv->failed[mv->nfailed++] = b->msgs[i];
		else if (d == DISP_HUMAN)
			mv->human[mv->nhuman++] = b->msgs[i];
	}
	if (store_batch_commit(app->st) == -1) {
		log_warnx("%zu messages not handled; they stay in the inbox "
		    "and are tried again", b->n);
		moves_free(mv);
		return NULL;
	}
	return mv;
}

int
handle_pending(struct app *app, struct source *src, size_t *handled)
{
	struct feeder f = { .src = src, .want = 1 };
	struct source_batch *moving = NULL;	/* its moves are under way */
	struct moves *mv_moving = NULL;
	pthread_t thread;
	int rc = 0, err;

	*handled = 0;
	pthread_mutex_init(&f.mu, NULL);
	pthread_cond_init(&f.cv, NULL);
	if ((err = thread_start(&thread, feed, &f)) != 0)
		fatalx("pthread_create: %s", strerror(err));
	while (!handle_stop) {
		struct source_batch *b = take_batch(&f);
		struct moves *mv;
		size_t progress;

		if (b == NULL) {
			rc = -1;
			break;
		}
		if (b->n == 0) {
			batch_free(b);
			break;
		}
		mv = handle_batch(app, b);
		/* The last batch's moves are done: it may go. */
		if (moves_settled(&f) == -1)
			rc = -1;
		moves_free(mv_moving);
		batch_free(moving);
		moving = b;
		mv_moving = mv;
		if (mv == NULL || rc == -1) {
			rc = rc == -1 ? -1 : -2;
			break;
		}
		progress = mv->ndone + mv->nfailed + mv->nhuman;
		*handled += progress;
		hand_moves(&f, mv);
		/* Only retries left: they wait for the next round. */
		if (progress == 0)
			break;
	}
	if (moves_settled(&f) == -1)
		rc = -1;
	pthread_mutex_lock(&f.mu);
	f.quit = 1;
	pthread_cond_broadcast(&f.cv);
	pthread_mutex_unlock(&f.mu);
	pthread_join(thread, NULL);
	if (f.next != NULL)
		batch_free(f.next);
	moves_free(mv_moving);
	batch_free(moving);
	pthread_cond_destroy(&f.cv);
	pthread_mutex_destroy(&f.mu);
	return rc;
}

int
handle_expire_done(struct app *app, struct source *src, time_t now)
{
	int days = app->cfg->keep_done_days;
	size_t removed;

	if (days <= 0)
		return 0;
	if (source_expire_done(src, now - (time_t)days * 86400, &removed) ==
	    -1)
		return -1;
	if (removed > 0)
		log_info("mailbox: %zu handled message%s that arrived more "
		    "than %d day%s ago removed from %s ([mailbox] "
		    "keep_done_days)", removed, removed == 1 ? "" : "s", days,
		    days == 1 ? "" : "s", app->cfg->done_folder);
	return 0;
}
