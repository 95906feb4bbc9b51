/*
 * rsvp.c - what members answer with their calendar, and what leads are
 * asked after a meeting.
 *
 * Replies are matched by UID; the attendee is the one of ours among the
 * ATTENDEEs (then SENT-BY, then From), because clients disagree on who
 * they name (CALENDAR.md), and only the sender's own answer counts.  A reply to an older SEQUENCE is kept but
 * flagged stale: the member accepted the old time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "app.h"
#include "classify.h"
#include "config.h"
#include "dates.h"
#include "ical.h"
#include "log.h"
#include "message.h"
#include "reply.h"
#include "rsvp.h"
#include "store.h"
#include "template.h"
#include "util.h"

static int
partstat_of(enum ical_partstat p, enum partstat *out)
{
	switch (p) {
	case PARTSTAT_ACCEPTED:
		*out = PS_ACCEPTED;
		return 0;
	case PARTSTAT_DECLINED:
		*out = PS_DECLINED;
		return 0;
	case PARTSTAT_TENTATIVE:
		*out = PS_TENTATIVE;
		return 0;
	case PARTSTAT_DELEGATED:
		/* Someone else goes in their place: they do not come. */
		*out = PS_DECLINED;
		return 0;
	case PARTSTAT_NEEDS_ACTION:
		*out = PS_NEEDS_ACTION;
		return 0;
	default:
		return -1;
	}
}

/* Is addr an active member or lead of the meeting's network?  Its id. */
static int
member_of(struct app *app, const struct meeting *m, const char *addr,
    int64_t *pid)
{
	struct person p = { 0 };
	enum role role;
	enum mstate state;
	int rc;

	if (addr == NULL || *addr == '\0')
		return 1;
	if ((rc = store_person_get(app->st, addr, &p)) == 1) {
		/* alice+agenda@: her calendar's address, her answer. */
		const char *plus = strchr(addr, '+'), *at = strrchr(addr, '@');
		char *base;

		if (plus == NULL || at == NULL || plus > at || plus == addr)
			return 1;
		base = xasprintf("%.*s%s", (int)(plus - addr), addr, at);
		rc = store_person_get(app->st, base, &p);
		free(base);
	}
	if (rc != 0)
		return rc;
	rc = store_membership(app->st, m->network_id, p.id, &role, &state);
	*pid = p.id;
	person_clear(&p);
	if (rc != 0)
		return rc;
	return role != ROLE_FOLLOWER && state == MS_ACTIVE ? 0 : 1;
}

/*
 * Did the member answer an older version of the meeting?  A lower
 * SEQUENCE says so, unless the reply names the very time the meeting has
 * now: SEQUENCE also rises when someone else leaves or comes back.
 */
static int
is_stale(const struct meeting *m, const struct ical_reply *rp)
{
	if (rp->sequence >= m->sequence)
		return 0;
	return rp->start == 0 || rp->start != m->start ||
	    (rp->end != 0 && rp->end != m->end);
}

/* An answer is mail from the person: a bouncing address works again
 * (SPEC §4), and what it missed meanwhile is sent. */
static int
writes_again(struct app *app, const struct message *msg, int64_t pid,
    time_t now)
{
	struct person p = { 0 };
	struct req r = { .app = app, .msg = msg, .now = now };
	int rc;

	if ((rc = store_person_by_id(app->st, pid, &p)) != 0 || !p.bouncing) {
		person_clear(&p);
		return rc == -1 ? -1 : 0;
	}
	rc = store_person_reset(app->st, p.email) == -1 ? -1 :
	    meeting_catch_up(&r, pid);
	person_clear(&p);
	return rc;
}

/*
 * A reply counts as the sender's own answer: the member found (cands[c]
 * in record) must be whoever sent it, named as the ATTENDEE, or the sender
 * itself (c == 2: the client named another address of theirs).  A SENT-BY
 * (a delegate answering for their manager, as Outlook writes it) says only
 * what the sender claims, so it counts for one attendee, from mail that
 * proves its sender.  Otherwise one member, or anyone who read a UID in
 * the published calendar, could answer for all the others.
 */
static int
answers_for_self(struct app *app, const struct message *msg,
    const struct ical_reply *rp, const struct ical_attendee *a, size_t c)
{
	const char *from = msg->from.addr, *at = strrchr(from, '@');

	if (c == 2 || (c == 0 && str_eq_ci(a->addr, from)))
		return 1;
	return a->sent_by != NULL && str_eq_ci(a->sent_by, from) &&
	    rp->nattendees == 1 && config_domain_allowed(app->cfg, from) &&
	    auth_trusted_pass(msg, app->cfg->trusted_authserv_id,
	    at ? at + 1 : "");
}

/*
 * Record the answers in rp.  One leernet cannot place (a colleague a
 * member sent the invitation on to, a delegate, an unknown meeting) sets
 * *for_people: they believe they answered, and someone should tell them.
 */
static int
record(struct app *app, const struct message *msg, const struct ical_reply *rp,
    time_t now, int *for_people)
{
	struct meeting m = { 0 };
	int rc;

	if ((rc = store_meeting_by_uid(app->st, rp->uid, &m)) != 0) {
		if (rc == 1) {
			log_info("calendar reply for unknown UID %s; kept "
			    "for people", rp->uid);
			*for_people = 1;
		}
		return rc == 1 ? 0 : -1;
	}
	if (m.status != MT_PLANNED) {
		/* An answer crossing our cancellation counts for nothing. */
		log_info("calendar reply from %s for cancelled meeting %d "
		    "ignored", msg->from.addr, m.number);
		meeting_clear(&m);
		return 0;
	}
	for (size_t i = 0; i < rp->nattendees; i++) {
		const struct ical_attendee *a = &rp->attendees[i];
		const char *cands[3] = { a->addr, a->sent_by, msg->from.addr };
		enum partstat ps;
		int64_t pid = 0;
		int seq = 0, stale;
		size_t c;
		/* No client can answer a version we never sent; a higher
		 * SEQUENCE recorded as is would make every later real answer
		 * look older. */
		int answered = rp->sequence > m.sequence ? m.sequence :
		    rp->sequence;

		if (partstat_of(a->partstat, &ps) == -1)
			continue;
		for (c = 0; c < ARRAY_LEN(cands); c++) {
			/* From counts only for a reply naming one attendee. */
			if (c == 2 && rp->nattendees != 1)
				break;
			if ((rc = member_of(app, &m, cands[c], &pid)) == -1)
				goto out;
			if (rc == 0)
				break;
		}
		if (rc != 0) {
			log_info("calendar reply from %s for meeting %d: %s is "
			    "not a member; kept for people", msg->from.addr,
			    m.number, a->addr);
			*for_people = 1;
			continue;
		}
		if (!answers_for_self(app, msg, rp, a, c)) {
			log_warnx("calendar reply from %s for meeting %d "
			    "answers for %s; only a member's own answer "
			    "counts: kept for people", msg->from.addr,
			    m.number, cands[c]);
			*for_people = 1;
			continue;
		}
		/* Mail overtakes mail: an answer to an older version than
		 * the one recorded comes too late. */
		if ((rc = store_rsvp_sequence(app->st, m.id, pid, &seq)) == -1)
			goto out;
		if (rc == 0 && answered < seq) {
			log_info("calendar reply from %s for meeting %d answers "
			    "SEQUENCE %d, %d is recorded; ignored", a->addr,
			    m.number, answered, seq);
			continue;
		}
		stale = is_stale(&m, rp);
		if ((rc = store_rsvp_set(app->st, m.id, pid, ps, answered,
		    stale, rp->comment ? rp->comment : a->comment,
		    now)) == -1)
			goto out;
		app->changed = 1;
		if ((rc = writes_again(app, msg, pid, now)) == -1)
			goto out;
		log_info("RSVP %s for meeting %d of network %lld from %s%s",
		    partstat_name(ps), m.number, (long long)m.network_id,
		    a->addr, stale ? " (to an older version)" : "");
	}
	rc = 0;
out:
	meeting_clear(&m);
	return rc;
}

/* The lines a lead sends back to move meeting to span. */
static void
set_new_time(struct tvars *v, const struct dt_span *s, enum lang lang)
{
	char *when = dt_format_span(s, lang);

	tvars_set(v, "new_when", when);
	free(when);
	tvars_setf(v, "new_date", "%02d-%02d-%04d", s->lstart.day,
	    s->lstart.mon, s->lstart.year);
	tvars_setf(v, "new_time", "%02d:%02d-%02d:%02d", s->lstart.hour,
	    s->lstart.min, s->lend.hour, s->lend.min);
}

/*
 * Outlook's or Google's "propose a new time" from a member: the leads get
 * it with the lines to send back if it suits (a reply to that mail moves
 * the meeting, as one to the invitation does).  It went only to the
 * coordinators' digest, without the time.  The mail stays for people too.
 */
static int
counter(struct app *app, const struct message *msg,
    const struct ical_reply *rp, time_t now)
{
	struct meeting m = { 0 };
	struct network n = { 0 };
	struct member *mem = NULL;
	struct dt_span cur, prop;
	const char *who = msg->from.addr;
	size_t count = 0, told = 0;
	int64_t pid = 0;
	int rc;

	if (rp->start == 0 || rp->end <= rp->start)
		return 0;
	if ((rc = store_meeting_by_uid(app->st, rp->uid, &m)) != 0)
		return rc == 1 ? 0 : -1;
	rc = 0;
	/* A proposal against an older time crossed a move: moot. */
	if (m.status != MT_PLANNED || m.end <= now || rp->sequence <
	    m.sequence || (rp->start == m.start && rp->end == m.end) ||
	    (rc = member_of(app, &m, msg->from.addr, &pid)) != 0 ||
	    (rc = store_network_by_id(app->st, m.network_id, &n)) != 0)
		goto out;
	if ((mem = store_members(app->st, n.id, &count)) == NULL) {
		rc = -1;
		goto out;
	}
	dt_span_set(app->zone, m.start, m.end, &cur);
	dt_span_set(app->zone, rp->start, rp->end, &prop);
	for (size_t i = 0; i < count; i++)
		if (mem[i].person_id == pid && mem[i].name && *mem[i].name)
			who = mem[i].name;
	for (size_t i = 0; i < count && rc == 0; i++) {
		struct reply r = { 0 };
		struct person lead = { 0 };
		struct tvars *v;
		enum lang lang;
		char *when, *note;

		if (mem[i].role != ROLE_LEAD || mem[i].state != MS_ACTIVE ||
		    mem[i].person_id == pid)
			continue;
		if ((rc = store_person_by_id(app->st, mem[i].person_id,
		    &lead)) != 0) {
			rc = rc == 1 ? 0 : -1;
			continue;
		}
		lang = strcmp(lead.lang, "en") == 0 ? LANG_EN : LANG_NL;
		v = tvars_new();
		act_set_network(v, &n);
		tvars_setf(v, "number", "%d", m.number);
		tvars_set_bool(v, "counter", 1);
		tvars_set(v, "proposer", who);
		when = dt_format_span(&cur, lang);
		tvars_set(v, "when", when);
		free(when);
		set_new_time(v, &prop, lang);
		note = text_defang(rp->comment ? rp->comment : "", 1);
		tvars_set(v, "comment", note);
		free(note);
		r.tmpl = "move-usage";
		r.kind = "reply";	/* a reply with datum: moves m */
		r.to_addr = lead.email;
		r.to_name = lead.name;
		r.lang = lead.lang;
		r.vars = v;
		r.in = msg;
		r.network_id = n.id;
		r.meeting_id = m.id;
		r.person_id = mem[i].person_id;
		r.auto_submitted = AUTO_GENERATED;
		if ((rc = reply_queue(app, &r, now)) == 0)
			told++;
		tvars_free(v);
		person_clear(&lead);
	}
	if (rc == 0 && told > 0)
		log_info("%s proposed another time for meeting %d of %s; "
		    "told its leads", msg->from.addr, m.number, n.slug);
out:
	if (mem != NULL)
		members_free(mem, count);
	network_clear(&n);
	meeting_clear(&m);
	return rc == -1 ? -1 : 0;
}

int
rsvp_handle(struct app *app, const struct message *msg, time_t now,
    int *for_people)
{
	size_t recorded = 0;
	int other = 0;

	*for_people = 0;
	for (size_t i = 0; i < msg->ncal; i++) {
		struct ical_reply *rp = NULL;
		size_t n = 0;
		int rc = ical_parse_reply(msg->cal[i].text, msg->cal[i].len,
		    msg->cal[i].method, &rp, &n);

		if (rc != 0) {
			/* Someone's answer all the same: a person reads it. */
			log_info("calendar part %zu cannot be read; kept for "
			    "people", i);
			*for_people = 1;
			continue;
		}
		for (size_t k = 0; k < n && rc == 0; k++) {
			if (rp[k].method == ITIP_COUNTER) {
				/* Outlook's "propose new time": for the lead
				 * to weigh, not for us to record. */
				log_info("calendar COUNTER (a new time "
				    "proposed); kept for people");
				*for_people = 1;
				rc = counter(app, msg, &rp[k], now);
				continue;
			}
			if (rp[k].method != ITIP_REPLY) {
				/* Beside a reply it changes nothing; with none,
				 * the mail said REPLY but holds an event sent
				 * on, for a person to read. */
				log_info("calendar %s is not a reply",
				    ical_method_name(rp[k].method));
				other = 1;
				continue;
			}
			rc = record(app, msg, &rp[k], now, for_people);
			recorded++;
		}
		ical_replies_free(rp, n);
		if (rc == -1)
			return -1;
	}
	if (other && recorded == 0) {
		log_info("no calendar reply in it; kept for people");
		*for_people = 1;
	}
	return 0;
}

/* One reminder per lead of the meeting's network, members pre-filled. */
static int
remind(struct app *app, const struct meeting *m, time_t now)
{
	struct network n = { 0 };
	struct member *mem;
	size_t count;
	int rc;

	if ((rc = store_network_by_id(app->st, m->network_id, &n)) != 0)
		return rc == 1 ? 0 : -1;
	if ((mem = store_members(app->st, n.id, &count)) == NULL) {
		network_clear(&n);
		return -1;
	}
	rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++) {
		struct person lead = { 0 };
		struct reply rp = { 0 };
		struct dt_span span;
		struct tvars *v;
		char *when;

		if (mem[i].role != ROLE_LEAD || mem[i].state != MS_ACTIVE)
			continue;
		if ((rc = store_person_by_id(app->st, mem[i].person_id,
		    &lead)) != 0) {
			rc = rc == 1 ? 0 : -1;
			continue;
		}
		v = tvars_new();
		act_set_network(v, &n);
		tvars_setf(v, "number", "%d", m->number);
		dt_span_set(app->zone, m->start, m->end, &span);
		when = dt_format_span(&span, strcmp(lead.lang, "en") == 0 ?
		    LANG_EN : LANG_NL);
		tvars_set(v, "when", when);
		free(when);
		for (size_t k = 0; k < count; k++) {
			struct tvars *item;

			if (mem[k].state != MS_ACTIVE ||
			    mem[k].role == ROLE_FOLLOWER)
				continue;
			item = tvars_add_item(v, "members");
			tvars_set(item, "email", mem[k].email);
			tvars_set(item, "name", mem[k].name);
		}
		rp.tmpl = "attendance-reminder";
		rp.kind = "reminder";
		rp.to_addr = lead.email;
		rp.to_name = lead.name;
		rp.lang = lead.lang;
		rp.vars = v;
		rp.network_id = n.id;
		rp.meeting_id = m->id;
		rp.person_id = lead.id;
		rp.auto_submitted = AUTO_GENERATED;
		rc = reply_queue(app, &rp, now);
		tvars_free(v);
		person_clear(&lead);
	}
	members_free(mem, count);
	network_clear(&n);
	if (rc == 0)
		rc = store_meeting_reminded(app->st, m->id);
	return rc;
}

int
rsvp_remind_attendance(struct app *app, time_t now)
{
	struct meeting *ms;
	size_t n;
	int rc = 0;

	if (store_begin(app->st) == -1)
		return -1;
	if ((ms = store_meetings_to_remind(app->st, now, &n)) == NULL) {
		store_rollback(app->st);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = remind(app, &ms[i], now);
	meetings_free(ms, n);
	if (rc == -1 || store_commit(app->st) == -1) {
		store_rollback(app->st);
		return -1;
	}
	return 0;
}
