/*
 * meeting.c - plan, move, cancel and record attendance of meetings, and
 * the invitations that follow: one iMIP message per attendee, a stable UID
 * and a SEQUENCE raised on every change (SPEC §5, CALENDAR.md).
 *
 * Changes that reach other people's calendars need proof of sender: the
 * planned change travels in a token's argument ("START END LOCATION ...")
 * until the lead confirms, so what is confirmed is exactly what was shown.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actions.h"
#include "config.h"
#include "dates.h"
#include "ical.h"
#include "log.h"
#include "message.h"
#include "reply.h"
#include "store.h"
#include "template.h"
#include "util.h"

#define UID_RANDOM	16

/* Fill the names every meeting template uses. */
static void
set_meeting_vars(struct app *app, struct tvars *v, const struct meeting *m,
    enum lang lang)
{
	struct dt_span span;
	char *when;

	dt_span_set(app->zone, m->start, m->end, &span);
	when = dt_format_span(&span, lang);
	tvars_setf(v, "number", "%d", m->number);
	tvars_set(v, "when", when);
	tvars_set(v, "location", m->location);
	tvars_set(v, "topic", m->topic);
	tvars_setf(v, "sequence", "%d", m->sequence);
	free(when);
}

static enum lang
lang_of(const char *code)
{
	return code && strcmp(code, "en") == 0 ? LANG_EN : LANG_NL;
}

/* What a calendar mail is, and for a cancellation why: the text differs
 * ("gaat niet door" / "gaat voor jou niet door" / the network closed). */
enum cal_kind { CAL_REQUEST = 0, CAL_CANCELLED, CAL_LEFT, CAL_CLOSED };
/* Why it is sent: a plan or change, someone joining, or a catch-up after
 * their address bounced (what they missed, as it stands now). */
enum cal_why { WHY_CHANGE = 0, WHY_JOIN, WHY_CATCH_UP };

/*
 * One invitation (REQUEST) or cancellation (CANCEL) for one person, at
 * the given SEQUENCE.  Bouncing addresses get nothing (SPEC §4).  Someone
 * joining (again) is invited, whatever the SEQUENCE: no "changed" for a
 * meeting they never had, or had cancelled for them when they left.  A
 * catch-up says so, not "changed": what they missed may be no change.
 */
static int
send_calendar(struct req *r, const struct network *n, const struct meeting *m,
    int64_t person_id, enum cal_kind cancel, int sequence, enum cal_why why)
{
	struct app *app = r->app;
	struct person p = { 0 };
	struct ical_event ev = { 0 };
	struct reply rp = { 0 };
	struct tvars *v;
	char err[256], *summary, *ics;
	int rc, update = 0;

	if ((rc = store_person_by_id(app->st, person_id, &p)) != 0)
		return rc == 1 ? 0 : -1;
	if (p.bouncing) {
		log_info("no %s for bouncing %s", cancel ? "cancellation" :
		    "invitation", p.email);
		person_clear(&p);
		return 0;
	}
	/* "Changed" only for who had a version of it (a member whose
	 * address bounced for a while may have missed a few). */
	if (!cancel && why == WHY_CHANGE && sequence > 0 && (update =
	    store_meeting_sent_to(app->st, m->id, person_id)) == -1) {
		person_clear(&p);
		return -1;
	}
	summary = xasprintf("%s — %s %d", n->title,
	    lang_of(p.lang) == LANG_EN ? "meeting" : "bijeenkomst", m->number);
	ev.uid = m->uid;
	ev.sequence = sequence;
	ev.start = m->start;
	ev.end = m->end;
	ev.tzid = app->cfg->timezone;
	ev.summary = summary;
	ev.location = m->location;
	ev.description = m->topic;
	ev.organizer_addr = app->cfg->from_addr;
	ev.organizer_cn = n->title;
	ev.attendee_addr = p.email;
	ev.attendee_cn = p.name;
	ev.cancelled = cancel;
	ev.dtstamp = r->now;
	ics = ical_invite(&ev, cancel ? ITIP_CANCEL : ITIP_REQUEST, err,
	    sizeof(err));
	free(summary);
	if (ics == NULL) {
		log_warnx("cannot build the calendar for %s: %s", p.email, err);
		person_clear(&p);
		return -1;
	}
	v = tvars_new();
	act_set_network(v, n);
	set_meeting_vars(app, v, m, lang_of(p.lang));
	tvars_setf(v, "sequence", "%d", sequence);
	tvars_set_bool(v, "update", update);
	tvars_set_bool(v, "catch_up", why == WHY_CATCH_UP);
	tvars_set_bool(v, "left", cancel == CAL_LEFT);
	tvars_set_bool(v, "closed", cancel == CAL_CLOSED);
	rp.tmpl = cancel ? "invite-cancel" : "invite";
	rp.kind = "invite";
	rp.to_addr = p.email;
	rp.to_name = p.name;
	rp.lang = p.lang;
	rp.vars = v;
	rp.network_id = n->id;
	rp.meeting_id = m->id;
	rp.person_id = person_id;
	rp.auto_submitted = AUTO_GENERATED;
	rp.ics = ics;
	rp.ics_method = cancel ? "CANCEL" : "REQUEST";
	rc = reply_queue(app, &rp, r->now);
	tvars_free(v);
	free(ics);
	person_clear(&p);
	return rc;
}

/* Every active member and lead of the network gets the meeting. */
static int
send_to_all(struct req *r, const struct network *n, const struct meeting *m,
    enum cal_kind cancel)
{
	struct member *mem;
	size_t count;
	int rc = 0;

	if ((mem = store_members(r->app->st, n->id, &count)) == NULL)
		return -1;
	for (size_t i = 0; i < count && rc == 0; i++)
		if (mem[i].state == MS_ACTIVE && mem[i].role != ROLE_FOLLOWER)
			rc = send_calendar(r, n, m, mem[i].person_id, cancel,
			    m->sequence, WHY_CHANGE);
	members_free(mem, count);
	return rc;
}

int
meeting_invite_person(struct req *r, const struct network *n,
    int64_t person_id)
{
	struct meeting *ms;
	size_t count;
	int rc = 0;

	if ((ms = store_meetings(r->app->st, n->id, 1, r->now, &count)) == NULL)
		return -1;
	for (size_t i = 0; i < count && rc == 0; i++) {
		/*
		 * Someone who comes back holds our cancellation: only a
		 * higher SEQUENCE brings the meeting back into their
		 * calendar (Google ignores, Outlook calls it out of date).
		 */
		if ((rc = store_meeting_sent_to(r->app->st, ms[i].id,
		    person_id)) == 1) {
			ms[i].sequence++;
			rc = store_meeting_update(r->app->st, &ms[i], r->now);
			/* Their calendar asks them again: so do we. */
			if (rc == 0)
				rc = store_rsvp_reset(r->app->st, ms[i].id,
				    person_id);
		}
		if (rc == 0)
			rc = send_calendar(r, n, &ms[i], person_id, CAL_REQUEST,
			    ms[i].sequence, WHY_JOIN);
	}
	meetings_free(ms, count);
	return rc;
}

/*
 * A person who was bouncing got none of the calendar mail sent meanwhile
 * (send_calendar skips them).  Once their mail works again, every future
 * meeting of their networks is sent as it stands: the same UID and
 * SEQUENCE update what their calendar holds in place, and what they missed
 * (a new meeting, a move, a cancellation) arrives.  That includes networks
 * closed meanwhile: they were skipped, and the closing's cancellations
 * never came, so the meetings stayed in the calendar as planned.
 */
int
meeting_catch_up(struct req *r, int64_t person_id)
{
	struct network *nets;
	size_t nnets;
	int rc = 0;

	/* What failed to reach them is superseded by what follows: sent
	 * too, by `outbox retry`, it came twice. */
	if (store_outbox_drop_failed_calendar(r->app->st, person_id,
	    r->now) == -1 ||
	    (nets = store_networks(r->app->st, &nnets)) == NULL)
		return -1;
	for (size_t i = 0; i < nnets && rc == 0; i++) {
		struct meeting *ms;
		enum role role;
		enum mstate state;
		size_t count;

		/* A closed network's meetings were cancelled while they
		 * bounced: those cancellations are what they missed most. */
		if (nets[i].state != NET_OPEN && nets[i].state != NET_CLOSED)
			continue;
		if ((rc = store_membership(r->app->st, nets[i].id, person_id,
		    &role, &state)) != 0) {
			rc = rc == 1 ? 0 : -1;
			continue;
		}
		if (role == ROLE_FOLLOWER || state != MS_ACTIVE)
			continue;
		if ((ms = store_meetings(r->app->st, nets[i].id, 0, r->now,
		    &count)) == NULL) {
			rc = -1;
			break;
		}
		for (size_t k = 0; k < count && rc == 0; k++) {
			if (ms[k].end <= r->now)
				continue;
			/* Delivered since its last change: they hold it as it
			 * stands, and mail about it would say nothing new. */
			if ((rc = store_calendar_delivered_since(r->app->st,
			    ms[k].id, person_id, ms[k].updated)) != 0) {
				rc = rc == 1 ? 0 : -1;
				continue;
			}
			if (ms[k].status == MT_PLANNED)
				rc = send_calendar(r, &nets[i], &ms[k],
				    person_id, CAL_REQUEST, ms[k].sequence,
				    WHY_CATCH_UP);
			else if ((rc = store_meeting_sent_to(r->app->st,
			    ms[k].id, person_id)) == 1)
				rc = send_calendar(r, &nets[i], &ms[k],
				    person_id, nets[i].state == NET_CLOSED ?
				    CAL_CLOSED : CAL_CANCELLED, ms[k].sequence,
				    WHY_CATCH_UP);
		}
		meetings_free(ms, count);
	}
	networks_free(nets, nnets);
	if (rc == 0)
		log_info("person %lld writes again after bouncing: their "
		    "meetings are sent again", (long long)person_id);
	return rc;
}

int
meeting_uninvite_person(struct req *r, const struct network *n,
    int64_t person_id)
{
	struct meeting *ms;
	size_t count;
	int rc = 0;

	if ((ms = store_meetings(r->app->st, n->id, 1, r->now, &count)) == NULL)
		return -1;
	/*
	 * A higher SEQUENCE than the invitation, for this person only; it is
	 * stored, so that whatever is sent next (to anyone) is higher still.
	 */
	for (size_t i = 0; i < count && rc == 0; i++) {
		ms[i].sequence++;
		if ((rc = store_meeting_update(r->app->st, &ms[i],
		    r->now)) == 0)
			rc = send_calendar(r, n, &ms[i], person_id, CAL_LEFT,
			    ms[i].sequence, WHY_CHANGE);
	}
	meetings_free(ms, count);
	return rc;
}

int
meeting_cancel_all(struct req *r, const struct network *n)
{
	struct meeting *ms;
	size_t count;
	int rc = 0;

	if ((ms = store_meetings(r->app->st, n->id, 1, r->now, &count)) == NULL)
		return -1;
	for (size_t i = 0; i < count && rc == 0; i++) {
		ms[i].sequence++;
		ms[i].status = MT_CANCELLED;
		if ((rc = store_meeting_update(r->app->st, &ms[i], r->now)) == 0)
			rc = send_to_all(r, n, &ms[i], CAL_CLOSED);
	}
	meetings_free(ms, count);
	return rc;
}

struct meeting *
meeting_unrecorded(struct app *app, const struct network *n, time_t now,
    size_t *count)
{
	struct meeting *ms;
	size_t all, k = 0;
	int rc = 0;

	if ((ms = store_meetings(app->st, n->id, 0, now, &all)) == NULL)
		return NULL;
	for (size_t i = 0; i < all; i++) {
		if (rc == 0 && ms[i].status == MT_PLANNED &&
		    ms[i].end <= now &&
		    (rc = store_attendance_any(app->st, ms[i].id)) == 0) {
			struct meeting tmp = ms[k];

			ms[k++] = ms[i];
			ms[i] = tmp;
		}
		if (rc == 1)
			rc = 0;
	}
	if (rc == -1) {
		meetings_free(ms, all);
		return NULL;
	}
	/* The rest are freed now; the caller frees k. */
	for (size_t i = k; i < all; i++)
		meeting_clear(&ms[i]);
	*count = k;
	return ms;
}

static int
reply_v(struct req *r, const char *tmpl, struct tvars *v)
{
	int rc = act_reply(r, tmpl, v);

	tvars_free(v);
	return rc == -1 ? -1 : 0;
}

/* The meeting number: the last word of the command line. */
static int
meeting_number(struct req *r)
{
	const char *w;
	char *end;
	long n;

	if (r->cmd->argc < 2)
		return 0;
	w = r->cmd->argv[r->cmd->argc - 1];
	while (*w == '#' || *w == '"' || *w == '\'' || *w == '(')
		w++;
	if (*w < '0' || *w > '9')
		return 0;
	n = strtol(w, &end, 10);
	/* "annuleer rekenen 1." as a phone ends a sentence. */
	end += strspn(end, ".,;:!?)\"'");
	return *end == '\0' && n > 0 && n < 100000 ? (int)n : 0;
}

/* Checks shared by every meeting command: network open (or, for the
 * attendance, closed: act_network_arg's need), sender lead. */
static int
lead_network(struct req *r, struct network *n, int need)
{
	struct tvars *v;
	int rc;

	if ((rc = act_network_arg(r, n, need)) != 0)
		return rc;
	if (!act_is_lead(r, n)) {
		v = act_vars(r);
		act_set_network(v, n);
		network_clear(n);
		return reply_v(r, "not-lead", v) == -1 ? -1 : 1;
	}
	return 0;
}

/* A refused date or time: say what was wrong and how to write it. */
static int
date_error(struct req *r, const struct network *n, const struct dt_error *e)
{
	struct tvars *v = act_vars(r);
	char *msg = dt_error_message(e, r->lang);

	act_set_network(v, n);
	tvars_set(v, "message", msg);
	free(msg);
	return reply_v(r, "date-error", v);
}

/*
 * A planned meeting of n that starts at start already: planning it again
 * (the first mail seemed lost, or a lead wrote twice) would put a second
 * invitation for the same afternoon in every calendar.  Say which one it
 * is and how to move it: 1 answered, 0 none, -1.
 */
static int
same_slot(struct req *r, const struct network *n, time_t start)
{
	struct dt_span span;
	struct meeting *ms;
	struct tvars *v;
	size_t nm, i;
	char *when, *msg;
	int rc;

	if ((ms = store_meetings(r->app->st, n->id, 1, r->now, &nm)) == NULL)
		return -1;
	for (i = 0; i < nm && ms[i].start != start; i++)
		;
	if (i == nm) {
		meetings_free(ms, nm);
		return 0;
	}
	dt_span_set(r->app->zone, ms[i].start, ms[i].end, &span);
	when = dt_format_span(&span, r->lang);
	msg = r->lang == LANG_EN ? xasprintf("Meeting %d of \"%s\" is already "
	    "planned for %s; I do not plan a second one at the same time. To "
	    "move it, reply to its invitation with the new date: and time: "
	    "lines, or write: move %s %d", ms[i].number, n->title, when,
	    n->slug, ms[i].number) : xasprintf("Bijeenkomst %d van \"%s\" "
	    "staat al op %s; een tweede op dezelfde tijd plan ik niet. "
	    "Verplaatsen? Antwoord dan op de uitnodiging met de nieuwe datum: "
	    "en tijd:, of stuur: verplaats %s %d", ms[i].number, n->title,
	    when, n->slug, ms[i].number);
	v = act_vars(r);
	act_set_network(v, n);
	tvars_set(v, "message", msg);
	rc = reply_v(r, "date-error", v);
	free(msg);
	free(when);
	meetings_free(ms, nm);
	return rc == -1 ? -1 : 1;
}

/*
 * "bijeenkomst SLUG" with a datum: line per meeting (a lead planning the
 * term in one mail): only the first was planned and the others silently
 * dropped, the answer saying "Gepland" as if all was well.  One mail
 * plans one meeting (what is confirmed is what was shown): plan none and
 * say how to write it.  The same for two tijd: lines under one date, and
 * for a move (number > 0) with two of either: which one was meant?
 */
static int
several_values(struct req *r, const struct network *n, int is_time,
    const char *first, const char *more, int number)
{
	struct tvars *v = act_vars(r);
	const char *what = r->lang == LANG_EN ? (is_time ? "time" : "date") :
	    (is_time ? "tijd" : "datum");
	char *msg;
	int rc;

	if (number > 0)
		msg = r->lang == LANG_EN ? xasprintf("This mail gives more than "
		    "one %s (%s, %s), so I did not move meeting %d: send "
		    "\"move %s %d\" with one date: and one time: line.", what,
		    first, more, number, n->slug, number) :
		    xasprintf("Deze mail noemt meer dan één %s (%s, %s), dus ik "
		    "heb bijeenkomst %d niet verplaatst: stuur \"verplaats %s "
		    "%d\" met één datum:- en één tijd:-regel.", what, first,
		    more, number, n->slug, number);
	else
		msg = r->lang == LANG_EN ? xasprintf("This mail gives more than "
		    "one %s (%s, %s). One mail plans one meeting, so I planned "
		    "none of them: send a mail \"meeting %s\" for each meeting, "
		    "with one date: line (and time: and location:).", what,
		    first, more, n->slug) :
		    xasprintf("Deze mail noemt meer dan één %s (%s, %s). Eén "
		    "mail plant één bijeenkomst, dus ik heb er geen gepland: "
		    "stuur voor elke bijeenkomst een eigen mail \"bijeenkomst "
		    "%s\" met één datum:-regel (en tijd: en locatie:).", what,
		    first, more, n->slug);
	act_set_network(v, n);
	tvars_set(v, "message", msg);
	rc = reply_v(r, "date-error", v);
	free(msg);
	return rc == -1 ? -1 : 1;
}

/* Two datum: (or tijd:) lines with different values: said, and 1; 0 when
 * there is one of each; -1 on error. */
static int
one_date_and_time(struct req *r, const struct network *n, const char *date,
    const char *time_, int number)
{
	char *more;
	int rc;

	if (date != NULL && (more = request_kv_more(r->cmd, "datum", "date",
	    "dag", "day", NULL)) != NULL) {
		rc = several_values(r, n, 0, date, more, number);
		free(more);
		return rc;
	}
	if (time_ != NULL && (more = request_kv_more(r->cmd, "tijd", "time",
	    NULL)) != NULL) {
		rc = several_values(r, n, 1, time_, more, number);
		free(more);
		return rc;
	}
	return 0;
}

static char *
plan_arg(time_t start, time_t end, const char *location, const char *topic)
{
	return xasprintf("%lld\t%lld\t%s\t%s", (long long)start, (long long)end,
	    location ? location : "", topic ? topic : "");
}

/* Split what plan_arg made; fields point into the copy `buf`. */
static int
parse_plan_arg(char *buf, time_t *start, time_t *end, char **location,
    char **topic)
{
	char *f[4] = { NULL };
	char *p = buf;

	for (int i = 0; i < 4; i++) {
		f[i] = p;
		if (i < 3) {
			if ((p = strchr(p, '\t')) == NULL)
				return -1;
			*p++ = '\0';
		}
	}
	*start = (time_t)strtoll(f[0], NULL, 10);
	*end = (time_t)strtoll(f[1], NULL, 10);
	*location = f[2];
	*topic = f[3];
	return *end > *start ? 0 : -1;
}

static int
do_plan(struct req *r, const struct network *n, time_t start, time_t end,
    const char *location, const char *topic)
{
	struct meeting m = { 0 };
	struct tvars *v;
	char *rnd = random_token(UID_RANDOM);
	char *uid = xasprintf("leernet-%s@%s", rnd, r->app->domain);
	int rc;

	free(rnd);
	rc = store_meeting_add(r->app->st, n->id, uid, start, end, location,
	    topic, r->now, &m);
	free(uid);
	if (rc != 0)
		return -1;
	r->app->changed = 1;
	log_info("%s planned %s meeting %d", r->sender, n->slug, m.number);
	if ((rc = send_to_all(r, n, &m, CAL_REQUEST)) == 0) {
		v = act_vars(r);
		act_set_network(v, n);
		set_meeting_vars(r->app, v, &m, r->lang);
		rc = act_reply_meeting(r, "meeting-done", v, n->id, m.id);
		tvars_free(v);
		rc = rc == -1 ? -1 : 0;
	}
	meeting_clear(&m);
	return rc;
}

int
act_meeting(struct req *r)
{
	struct network n;
	struct dt_span span;
	struct dt_error e;
	struct tvars *v;
	const char *date, *time_, *location, *topic;
	char *arg;
	int rc;

	if ((rc = lead_network(r, &n, 1)) != 0)
		return rc == 1 ? 0 : -1;
	date = request_kv(r->cmd, "datum", "date", "dag", "day", NULL);
	time_ = request_kv(r->cmd, "tijd", "time", NULL);
	location = request_kv(r->cmd, "locatie", "location", "plaats",
	    "waar", "where", NULL);
	topic = request_kv(r->cmd, "onderwerp", "topic", "thema", NULL);
	if (date == NULL) {
		v = act_vars(r);
		act_set_network(v, &n);
		network_clear(&n);
		return reply_v(r, "meeting-usage", v);
	}
	if ((rc = one_date_and_time(r, &n, date, time_, 0)) != 0) {
		network_clear(&n);
		return rc == -1 ? -1 : 0;
	}
	if (dt_plan(r->app->zone, date, time_, NULL, r->now, &span, &e) == -1 ||
	    dt_check_daytime(&span, &e) == -1) {
		rc = date_error(r, &n, &e);
		network_clear(&n);
		return rc;
	}
	if ((rc = same_slot(r, &n, span.start)) != 0) {
		network_clear(&n);
		return rc == -1 ? -1 : 0;
	}
	v = act_vars(r);
	act_set_network(v, &n);
	{
		char *when = dt_format_span(&span, r->lang);

		tvars_set(v, "when", when);
		free(when);
	}
	tvars_set(v, "location", location ? location : "");
	tvars_set(v, "topic", topic ? topic : "");
	arg = plan_arg(span.start, span.end, location, topic);
	rc = act_need_proof_with(r, "confirm-meeting", "meeting-plan", n.id,
	    arg, v);
	if (rc == 1)
		rc = do_plan(r, &n, span.start, span.end, location, topic);
	free(arg);
	tvars_free(v);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

/* What find_meeting asks of the meeting besides being there. */
#define FIND_PLANNED	0x1	/* not cancelled */
#define FIND_AHEAD	0x2	/* not held: it can still be moved, cancelled */

/*
 * Was m held: over, with who came recorded?  Then moving it would send
 * updates for a day gone by and cancelling it would drop their hours.
 * One that is over without a list may not have happened: a lead can still
 * cancel or move it.  1, 0, or -1.
 */
static int
held(struct req *r, const struct meeting *m)
{
	if (m->end > r->now)
		return 0;
	return store_attendance_any(r->app->st, m->id);
}

/*
 * Meeting m cannot be changed: it is cancelled, or was held (see held()).
 * Answers; frees nothing of m.
 */
static int
meeting_gone(struct req *r, const struct network *n, const struct meeting *m)
{
	struct tvars *v = act_vars(r);

	act_set_network(v, n);
	set_meeting_vars(r->app, v, m, r->lang);
	tvars_set_bool(v, "cancelled", 1);
	tvars_set_bool(v, "past", m->status == MT_PLANNED && m->end <= r->now);
	/* no "plan a new one" for a closed network */
	tvars_set_bool(v, "open", n->state == NET_OPEN);
	return reply_v(r, "meeting-unknown", v);
}

/* The meetings of n still to come (at most five) as "meetings" of v. */
static int
add_coming(struct req *r, struct tvars *v, const struct network *n)
{
	struct meeting *ms;
	size_t count;

	if ((ms = store_meetings(r->app->st, n->id, 1, r->now, &count)) == NULL)
		return -1;
	for (size_t i = 0; i < count && i < 5; i++) {
		struct tvars *item = tvars_add_item(v, "meetings");
		struct dt_span span;
		char *when;

		dt_span_set(r->app->zone, ms[i].start, ms[i].end, &span);
		when = dt_format_span(&span, r->lang);
		tvars_set_bool(item, "first", i == 0);
		tvars_setf(item, "number", "%d", ms[i].number);
		tvars_set(item, "when", when);
		free(when);
	}
	meetings_free(ms, count);
	return 0;
}

/* Find meeting N of n as want asks; answers when there is none.  0, 1
 * answered, -1. */
static int
find_meeting(struct req *r, const struct network *n, int number,
    struct meeting *m, unsigned want)
{
	struct tvars *v;
	int rc, h;

	if (number == 0) {
		v = act_vars(r);
		act_set_network(v, n);
		/* "annuleer rekenen": the numbers to choose from, so that
		 * the answer is one reply away from the command. */
		if (add_coming(r, v, n) == -1) {
			tvars_free(v);
			return -1;
		}
		return reply_v(r, "meeting-number", v) == -1 ? -1 : 1;
	}
	rc = store_meeting_get(r->app->st, n->id, number, m);
	if (rc == -1)
		return -1;
	if (rc == 0 && (want & FIND_AHEAD) && (h = held(r, m)) != 0) {
		if (h == -1) {
			meeting_clear(m);
			return -1;
		}
	} else if (rc == 0 && (!(want & FIND_PLANNED) ||
	    m->status == MT_PLANNED))
		return 0;
	if (rc == 0) {
		rc = meeting_gone(r, n, m);
		meeting_clear(m);
		return rc == -1 ? -1 : 1;
	}
	v = act_vars(r);
	act_set_network(v, n);
	tvars_setf(v, "number", "%d", number);
	tvars_set_bool(v, "cancelled", 0);
	return reply_v(r, "meeting-unknown", v) == -1 ? -1 : 1;
}

static int
do_move(struct req *r, const struct network *n, struct meeting *m,
    time_t start, time_t end, const char *location)
{
	struct tvars *v;
	int rc;

	char *loc = xstrdup(location);	/* may be m->location itself */

	m->start = start;
	m->end = end;
	free(m->location);
	m->location = loc;
	m->sequence++;
	if (store_meeting_update(r->app->st, m, r->now) == -1 ||
	    store_rsvp_reset(r->app->st, m->id, 0) == -1)
		return -1;
	r->app->changed = 1;
	log_info("%s moved %s meeting %d (sequence %d)", r->sender, n->slug,
	    m->number, m->sequence);
	if ((rc = send_to_all(r, n, m, CAL_REQUEST)) != 0)
		return rc;
	v = act_vars(r);
	act_set_network(v, n);
	set_meeting_vars(r->app, v, m, r->lang);
	rc = act_reply_meeting(r, "move-done", v, n->id, m->id);
	tvars_free(v);
	return rc == -1 ? -1 : 0;
}

static int
move_meeting(struct req *r, struct network *n, struct meeting *m)
{
	struct dt_span old, span;
	struct dt_error e;
	struct tvars *v;
	const char *date, *time_, *location;
	char *arg;
	int rc;

	date = request_kv(r->cmd, "datum", "date", "dag", "day", NULL);
	time_ = request_kv(r->cmd, "tijd", "time", NULL);
	location = request_kv(r->cmd, "locatie", "location", "plaats",
	    "waar", "where", NULL);
	if (date == NULL && time_ == NULL && location == NULL) {
		v = act_vars(r);
		act_set_network(v, n);
		tvars_setf(v, "number", "%d", m->number);
		return reply_v(r, "move-usage", v);
	}
	if ((rc = one_date_and_time(r, n, date, time_, m->number)) != 0)
		return rc == -1 ? -1 : 0;
	dt_span_set(r->app->zone, m->start, m->end, &old);
	if (date == NULL && time_ == NULL)
		span = old;
	else if (dt_plan(r->app->zone, date, time_, &old, r->now, &span,
	    &e) == -1 || (span.start != m->start &&
	    dt_check_daytime(&span, &e) == -1))
		return date_error(r, n, &e);
	if (location == NULL)
		location = m->location;
	v = act_vars(r);
	act_set_network(v, n);
	set_meeting_vars(r->app, v, m, r->lang);
	if (span.start == m->start && span.end == m->end &&
	    strcmp(location, m->location) == 0) {
		/* An update would raise SEQUENCE and wipe every answer for
		 * nothing. */
		return reply_v(r, "move-unchanged", v);
	}
	{
		char *when = dt_format_span(&span, r->lang);

		tvars_set(v, "new_when", when);
		free(when);
	}
	tvars_set(v, "new_location", location);
	arg = xasprintf("%d\t%lld\t%lld\t%s", m->number, (long long)span.start,
	    (long long)span.end, location);
	rc = act_need_proof_with(r, "confirm-meeting", "meeting-move", n->id,
	    arg, v);
	if (rc == 1)
		rc = do_move(r, n, m, span.start, span.end, location);
	free(arg);
	tvars_free(v);
	return rc == -1 ? -1 : 0;
}

/* "verplaats SLUG N", "annuleer SLUG N": a lead's, of a meeting that
 * can still change. */
static int
lead_changes_meeting(struct req *r,
    int (*change)(struct req *, struct network *, struct meeting *))
{
	struct network n;
	struct meeting m = { 0 };
	int rc;

	if ((rc = lead_network(r, &n, 1)) != 0)
		return rc == 1 ? 0 : -1;
	if ((rc = find_meeting(r, &n, meeting_number(r), &m,
	    FIND_PLANNED | FIND_AHEAD)) == 0)
		rc = change(r, &n, &m);
	meeting_clear(&m);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

int
act_move(struct req *r)
{
	return lead_changes_meeting(r, move_meeting);
}

static int
do_cancel(struct req *r, const struct network *n, struct meeting *m)
{
	struct tvars *v;
	int rc;

	m->sequence++;
	m->status = MT_CANCELLED;
	if (store_meeting_update(r->app->st, m, r->now) == -1)
		return -1;
	r->app->changed = 1;
	log_info("%s cancelled %s meeting %d", r->sender, n->slug, m->number);
	if ((rc = send_to_all(r, n, m, CAL_CANCELLED)) != 0)
		return rc;
	v = act_vars(r);
	act_set_network(v, n);
	set_meeting_vars(r->app, v, m, r->lang);
	return reply_v(r, "cancel-done", v);
}

/* With proof of the sender, or after asking for it. */
static int
cancel_meeting(struct req *r, struct network *n, struct meeting *m)
{
	struct tvars *v = act_vars(r);
	char *arg = xasprintf("%d", m->number);
	int rc;

	act_set_network(v, n);
	set_meeting_vars(r->app, v, m, r->lang);
	rc = act_need_proof_with(r, "confirm-meeting", "meeting-cancel", n->id,
	    arg, v);
	if (rc == 1)
		rc = do_cancel(r, n, m);
	free(arg);
	tvars_free(v);
	return rc;
}

int
act_cancel(struct req *r)
{
	return lead_changes_meeting(r, cancel_meeting);
}

/*
 * A reply to an invitation, or to the answer about a meeting: new
 * datum:/tijd:/locatie: lines move it; a lead's "annuleer" cancels it,
 * anyone else's means "I cannot come" (the calendar's Decline).
 */
int
act_meeting_reply(struct req *r, int64_t network_id, int64_t meeting_id,
    int cancel)
{
	struct network n = { 0 };
	struct meeting m = { 0 };
	struct tvars *v;
	int rc;

	if ((rc = store_network_by_id(r->app->st, network_id, &n)) != 0 ||
	    (rc = store_meeting_by_id(r->app->st, meeting_id, &m)) != 0) {
		network_clear(&n);
		return rc == 1 ? 0 : -1;
	}
	if (!act_is_lead(r, &n) && cancel)
		rc = act_leave_from_invite(r, network_id);
	else if (!act_is_lead(r, &n)) {
		v = act_vars(r);
		act_set_network(v, &n);
		/* A reply carries no keyword: name the command it stood for. */
		tvars_set(v, "keyword", r->lang == LANG_EN ? "move" :
		    "verplaats");
		/* "Kan het een uur later? tijd: 16:30-18:00": a member's
		 * wish, for people to pass on. */
		tvars_set_bool(v, "kept", 1);
		if ((rc = reply_v(r, "not-lead", v)) == 0)
			r->outcome = "human";
	} else if (m.status != MT_PLANNED || n.state != NET_OPEN ||
	    (rc = held(r, &m)) != 0)
		rc = rc == -1 ? -1 : meeting_gone(r, &n, &m);
	else if (cancel)
		rc = cancel_meeting(r, &n, &m);
	else
		rc = move_meeting(r, &n, &m);
	meeting_clear(&m);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}


/* Words that say someone was not there, or that not everyone was. */
static const char *const absence_hints[] = {
	"niet", "afwezig", "ziek", "alleen", "behalve", "ontbrak", "ontbraken",
	"afgemeld", "verhinderd", "not", "absent", "except", "only", "missing",
	"sick", "wasn't", "weren't", "didn't",
};

/* Words of a line about the mail itself, as disclaimers are ("Als u
 * niet de geadresseerde bent…"): no word on who came. */
static const char *const mail_words[] = {
	"bericht", "berichten", "e-mail", "email", "mail", "message",
	"geadresseerde", "ontvanger", "recipient", "vertrouwelijk",
	"confidential", "disclaimer",
};

/* Is the word w (len bytes) one of list's n, in any case? */
static int
word_in(const char *w, size_t len, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncasecmp(w, list[i], len) == 0)
			return 1;
	return 0;
}

/* The next word of [*p, e): letters, ' and -; NULL when there is none. */
static const char *
next_word(const char **p, const char *e, size_t *len)
{
	const char *w = *p, *end;

	while (w < e && !isalpha((unsigned char)*w))
		w++;
	for (end = w; end < e && (isalpha((unsigned char)*end) ||
	    *end == '\'' || *end == '-'); end++)
		;
	*p = end;
	*len = (size_t)(end - w);
	return w < end ? w : NULL;
}

/* Does [p, e) hold a word of list? */
static int
has_word(const char *p, const char *e, const char *const *list, size_t n)
{
	const char *w;
	size_t len;

	while ((w = next_word(&p, e, &len)) != NULL)
		if (word_in(w, len, list, n))
			return 1;
	return 0;
}

/* Where the writer's own words end: at a closing after a line of text. */
static const char *
own_end(const char *text)
{
	const char *p = text, *e;
	int spoke = 0;

	for (; *p; p = *e ? e + 1 : e) {
		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		if (spoke && command_signature_line(p, e > p && e[-1] == '\r' ?
		    e - 1 : e))
			return p;
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		spoke |= p < e;
	}
	return p;
}

static int
has_digit(const char *p, const char *e)
{
	for (; p < e; p++)
		if (*p >= '0' && *p <= '9')
			return 1;
	return 0;
}

/* Words of a lead asking in prose to move a meeting ("verplaatst" and
 * "verschoven" say it was done: thanks, not a request). */
static const char *const move_words[] = {
	"verzetten", "verzet", "verplaatsen", "verplaats", "verschuiven",
	"verschuif", "uitstellen", "verleggen", "reschedule", "postpone",
};

/* Words of a lead calling a meeting off in prose ("gaat niet door"). */
static const char *const cancel_words[] = {
	"afgelast", "afgelasten", "annuleren", "geannuleerd", "annulering",
	"vervalt", "cancel", "cancelled", "canceled",
};

/* Words of a member saying in a mail whether they come ("niet", "ja"
 * and "kan" are in every disclaimer and thank-you). */
static const char *const coming_words[] = {
	"kom", "komen", "later", "eerder", "ziek", "verhinderd", "aanwezig",
	"afwezig", "helaas", "come", "coming", "can't", "cannot", "attend",
	"late", "sick", "unable",
};

/* "move" is also "let's move on": it asks for a move only beside a
 * word of when (or a number). */
static const char *const move_loose[] = { "move", "moving" };
static const char *const when_words[] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "week",
	"tomorrow", "later", "earlier", "date",
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december",
};

/*
 * A reply to an invitation (or to the answer about a meeting) without a
 * keyword.  From the lead, "Kunnen we dit verzetten naar 21 mei?" is a
 * move that leernet cannot read, "Deze gaat helaas niet door" a cancel
 * it will not guess: it says how to write either.  The mail is
 * kept for people either way, as it may have been a question to them.
 */
int
act_meeting_prose(struct req *r, int64_t network_id, int64_t meeting_id,
    int invite)
{
	struct network n = { 0 };
	struct meeting m = { 0 };
	const char *text = r->msg->text, *e;
	struct tvars *v;
	int rc, cancelling, moving, lead;

	r->outcome = "human";
	/* The words above a closing: a signature says "niet bereikbaar". */
	e = own_end(text);
	cancelling = has_word(text, e, cancel_words, ARRAY_LEN(cancel_words)) ||
	    command_has_phrase(text, e, "gaat niet door") ||
	    command_has_phrase(text, e, "gaat helaas niet door") ||
	    command_has_phrase(text, e, "niet doorgaan");
	moving = has_word(text, e, move_words, ARRAY_LEN(move_words)) ||
	    (has_word(text, e, move_loose, ARRAY_LEN(move_loose)) &&
	    (has_digit(text, e) ||
	    has_word(text, e, when_words, ARRAY_LEN(when_words))));
	if (!cancelling && !moving &&
	    !has_word(text, e, coming_words, ARRAY_LEN(coming_words)))
		return 0;
	if ((rc = store_network_by_id(r->app->st, network_id, &n)) != 0 ||
	    (rc = store_meeting_by_id(r->app->st, meeting_id, &m)) != 0) {
		network_clear(&n);
		return rc == 1 ? 0 : -1;
	}
	lead = act_is_lead(r, &n);
	/* To an answer about a meeting ("Verplaatst: …"), only a question
	 * asks for something: "Fijn, bedankt!" does not. */
	if (m.status != MT_PLANNED || n.state != NET_OPEN ||
	    (rc = held(r, &m)) != 0 || (lead && !cancelling && !moving) ||
	    (!invite && (!lead || memchr(text, '?', (size_t)(e - text)) ==
	    NULL)))
		goto out;
	v = act_vars(r);
	act_set_network(v, &n);
	tvars_setf(v, "number", "%d", m.number);
	if (lead) {
		tvars_set_bool(v, "replied", 1);
		tvars_set_bool(v, "cancelling", cancelling);
		rc = reply_v(r, "move-usage", v);
	} else if (act_is_member(r, &n)) {
		/* "Ik kom wat later", "Sorry, I can't make it": it reached
		 * neither the count nor the lead. */
		char *leads = store_network_leads(r->app->st, n.id);

		tvars_set(v, "leads", leads);
		free(leads);
		tvars_set_bool(v, "said", 1);
		rc = reply_v(r, "leave-invite", v);
	} else
		tvars_free(v);
	if (rc == 0)
		r->outcome = "human";
out:
	meeting_clear(&m);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

/*
 * The length of a list marker before an entry, with the blanks after it:
 * "- ", "* ", "+ ", "• ", "– ", "· ", "1. ", "12) " (our own answer lists
 * people as "  - a@b", and a lead pastes that back); 0 when there is none.
 */
static size_t
list_marker(const char *e, size_t len)
{
	static const char *const bullets[] = { "-", "*", "+",
	    "\xe2\x80\xa2", "\xe2\x80\x93", "\xc2\xb7" };
	size_t i = 0;

	for (size_t b = 0; i == 0 && b < ARRAY_LEN(bullets); b++) {
		size_t n = strlen(bullets[b]);

		if (len > n && memcmp(e, bullets[b], n) == 0)
			i = n;
	}
	if (i == 0) {
		while (i < len && i < 3 && e[i] >= '0' && e[i] <= '9')
			i++;
		if (i == 0 || i == len || (e[i] != '.' && e[i] != ')'))
			return 0;
		i++;
	}
	if (i == len || (e[i] != ' ' && e[i] != '\t'))
		return 0;
	while (i < len && (e[i] == ' ' || e[i] == '\t'))
		i++;
	return i;
}

/*
 * One entry of an address line: "a@b", "<a@b>", "mailto:a@b", "Name
 * <a@b>", "Name (a@b)" or "a@b (Name)", after a list marker or not, with
 * the punctuation people and our own list put around it.  The address,
 * lower-cased, in out; -1 when the entry is something else, -2 when it
 * says the person was absent ("bob@school.nl (ziek)").
 */
static int
entry_address(const char *e, size_t len, char *out, size_t outlen)
{
	const char *lt, *sp;
	size_t skip = list_marker(e, len);

	e += skip;
	len -= skip;
	while (len && (e[len - 1] == '.' || e[len - 1] == ':'))
		len--;
	if (len && e[len - 1] == '>' && (lt = memrchr(e, '<', len)) != NULL) {
		len -= (size_t)(lt - e) + 2;
		e = lt + 1;
	} else if (len && e[len - 1] == ')' &&
	    (lt = memrchr(e, '(', len)) != NULL &&
	    memchr(lt, '@', len - (size_t)(lt - e)) != NULL) {
		/* "Bob Jansen (bob@school.nl)" */
		len -= (size_t)(lt - e) + 2;
		e = lt + 1;
	} else if ((sp = memchr(e, ' ', len)) != NULL &&
	    memchr(e, '@', (size_t)(sp - e)) != NULL && e[len - 1] == ')' &&
	    (lt = memchr(sp, '(', len - (size_t)(sp - e))) != NULL &&
	    memchr(lt, '@', len - (size_t)(lt - e)) == NULL) {
		/* "bob@school.nl (Bob Jansen)"; but "(ziek)" is no name:
		 * that entry is left out, the rest of its line counts. */
		if (has_word(lt, e + len, absence_hints,
		    ARRAY_LEN(absence_hints)))
			return -2;
		len = (size_t)(sp - e);
	} else if (memchr(e, ' ', len) || memchr(e, '\t', len))
		return -1;
	if (len > 7 && strncasecmp(e, "mailto:", 7) == 0) {
		e += 7;
		len -= 7;
	}
	if (len == 0 || len >= outlen || memchr(e, '@', len) == NULL ||
	    e[0] == '@' || e[len - 1] == '@' || memchr(e, ' ', len) ||
	    memchr(e, '<', len) || memchr(e, '"', len))
		return -1;
	memcpy(out, e, len);
	out[len] = '\0';
	str_lower(out);
	return 0;
}

/* Append addr to v (n of cap) unless it is there already. */
static void
add_unique(char ***v, size_t *n, size_t *cap, const char *addr)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], addr) == 0)
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[(*n)++] = xstrdup(addr);
}

/*
 * The addresses of an attendance list (SPEC §4: one address per line),
 * each once.  A line counts when it holds nothing but addresses, alone or
 * pasted from a To: field ("Anna <a@b>; Bob <b@b>"), quoted (">") or not;
 * a greeting or a signature ("Beste a@b,", "a@b | 06-1234") is not a
 * list, even with an @ in it.
 */
static size_t
collect_addresses(const char *body, char ***out)
{
	const char *p = body, *e;
	char **v = NULL, addr[320];
	size_t n = 0, cap = 0;
	int spoke = 0;		/* a line of text came before */

	for (; *p && n < 5000; p = *e ? e + 1 : e) {
		const char *q, *start;
		size_t mark = n;
		int quoted = 0, bad = 0, rc;

		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		/* "Met vriendelijke groet,\nPiet\npiet@school.nl": the
		 * signature's address is no one's presence ("Bedankt!" on
		 * the first line is no signature). */
		if (spoke && command_signature_line(p, e > p && e[-1] == '\r' ?
		    e - 1 : e))
			break;
		for (q = p; q < e && (*q == '>' || *q == ' ' || *q == '\t'); q++)
			;
		spoke |= q < e && *q != '\r';
		if (memchr(q, '@', (size_t)(e - q)) == NULL)
			continue;
		/* Entries split at , and ; outside a quoted display name. */
		for (start = q; !bad && q <= e; q++) {
			size_t len;

			if (q < e && *q == '"')
				quoted = !quoted;
			if (q < e && (quoted || (*q != ',' && *q != ';')))
				continue;
			while (start < q && (*start == ' ' || *start == '\t'))
				start++;
			len = (size_t)(q - start);
			while (len && (start[len - 1] == ' ' ||
			    start[len - 1] == '\t' || start[len - 1] == '\r'))
				len--;
			if (len > 0 && (rc = entry_address(start, len, addr,
			    sizeof(addr))) == -1)
				bad = 1;
			else if (len > 0 && rc == 0)
				add_unique(&v, &n, &cap, addr);
			start = q + 1;
		}
		/* Not a list line: what it added goes again. */
		while (bad && n > mark)
			free(v[--n]);
	}
	*out = v;
	return n;
}

/*
 * The addresses standing alone on a line of the whole text, quoted (">")
 * or not: what is left of the list our reminder pre-filled once the lead
 * deleted the absent and pressed Reply.  Header blocks ("Aan: x@y"),
 * attribution lines and our footer hold more than an address on their
 * line, so they do not count.  One address a line; caller frees.
 */
static char *
listed_addresses(const char *text)
{
	struct buf b;
	const char *p = text ? text : "", *e;

	buf_init(&b, 64 * 1024);
	for (; *p; p = *e ? e + 1 : e) {
		const char *q;
		size_t len, skip;

		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		q = p;
		while (q < e && (*q == '>' || *q == ' ' || *q == '\t'))
			q++;
		len = (size_t)(e - q);
		while (len && (q[len - 1] == ' ' || q[len - 1] == '\t' ||
		    q[len - 1] == '\r'))
			len--;
		/* "  - a@b", as our answer listed them. */
		skip = list_marker(q, len);
		q += skip;
		len -= skip;
		if (len == 0 || memchr(q, '@', len) == NULL ||
		    memchr(q, ' ', len) || memchr(q, '\t', len))
			continue;
		if (buf_add(&b, q, len) == -1 || buf_addc(&b, '\n') == -1)
			break;
	}
	return buf_steal(&b);
}

/* What a lead writes before those who were not there. */
static const char *const absent_words[] = {
	"afwezig", "niet aanwezig", "niet gekomen", "niet geweest", "ziek",
	"afgemeld", "absent", "not present", "not there", "missing",
};

/* After an absent word and its colon ("Afwezig:"), or after the word
 * and a blank when an address follows on the line ("afwezig bob@…");
 * else NULL. */
static const char *
absent_marker(const char *q, const char *e)
{
	for (size_t i = 0; i < ARRAY_LEN(absent_words); i++) {
		size_t n = strlen(absent_words[i]);
		const char *c = q + n;

		if ((size_t)(e - q) <= n || strncasecmp(q, absent_words[i], n))
			continue;
		if (*c != ' ' && *c != '\t' && *c != ':')
			continue;	/* "afwezigen", "ziekte" */
		while (c < e && (*c == ' ' || *c == '\t'))
			c++;
		if (c < e && *c == ':')
			return c + 1;
		if (c > q + n && memchr(c, '@', (size_t)(e - c)) != NULL)
			return c;
	}
	return NULL;
}

/* Words that say who came or did not: with an absence word in the same
 * line, a statement about the meeting ("Bob was er niet"). */
static const char *const presence_words[] = {
	"er", "was", "waren", "aanwezig", "kwam", "kwamen", "geweest",
	"gekomen", "iedereen", "allemaal", "there", "came", "present",
	"attended", "everyone", "everybody",
};

/* Does [p, e) name an active member or lead of n: their address, the
 * first word of their name or the local part of their address up to a
 * dot ("Bob", "bob" of bob.jansen@…)? */
static int
names_member(const char *p, const char *e, const struct member *mm,
    size_t nm)
{
	const char *w;
	size_t len;

	for (size_t i = 0; i < nm; i++)
		if (mm[i].state == MS_ACTIVE && mm[i].role != ROLE_FOLLOWER &&
		    memmem(p, (size_t)(e - p), mm[i].email,
		    strlen(mm[i].email)) != NULL)
			return 1;
	while ((w = next_word(&p, e, &len)) != NULL) {
		if (len < 3)
			continue;
		for (size_t i = 0; i < nm; i++) {
			const char *name = mm[i].name ? mm[i].name : "";
			size_t first = strcspn(name, " \t");
			size_t local = strcspn(mm[i].email, ".@+");

			if (mm[i].state != MS_ACTIVE ||
			    mm[i].role == ROLE_FOLLOWER)
				continue;
			if ((first == len && strncasecmp(w, name, len) == 0) ||
			    (local == len && strncasecmp(w, mm[i].email,
			    len) == 0))
				return 1;
		}
	}
	return 0;
}

/*
 * The first line of the lead's own words that speaks of someone absent in
 * prose ("Bob was er niet.", "Alleen Alice en Carol waren er.", "Bob
 * ziek"): leernet cannot tell from it who was there, so it must not take
 * the quoted list as it stands.  Such a line has an absence word and a
 * word about coming or a member's name; "Vergeet niet de materialen" and
 * "Groep 7 | niet bereikbaar op woensdag" have not.  A closing, a
 * disclaimer or a line about the mail itself says nothing of it.  The
 * line (caller frees); NULL when there is none, or on a database error
 * (with *failed set).
 */
static char *
absence_in_prose(struct req *r, const struct network *n, const char *text,
    int *failed)
{
	const char *p = text ? text : "", *e, *w;
	struct member *mm;
	size_t nm;
	char *line = NULL;
	int spoke = 0;

	*failed = 0;
	if ((mm = store_members(r->app->st, n->id, &nm)) == NULL) {
		*failed = 1;
		return NULL;
	}
	for (; *p && line == NULL; p = *e ? e + 1 : e) {
		size_t len;

		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		if (spoke && command_signature_line(p, e > p && e[-1] == '\r' ?
		    e - 1 : e))
			break;
		for (w = p; w < e && (*w == ' ' || *w == '\t' || *w == '\r');
		    w++)
			;
		if (w == e)
			continue;
		spoke = 1;
		if ((size_t)(e - w) >= 10 && strncasecmp(w, "disclaimer", 10) == 0)
			break;
		if (!has_word(p, e, absence_hints, ARRAY_LEN(absence_hints)) ||
		    has_word(p, e, mail_words, ARRAY_LEN(mail_words)))
			continue;
		if (!has_word(p, e, presence_words, ARRAY_LEN(presence_words)) &&
		    !names_member(p, e, mm, nm))
			continue;
		len = (size_t)(e - p);
		while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
			len--;
		line = xstrndup(p, len);
	}
	members_free(mm, nm);
	return line;
}

/*
 * "Afwezig: bob@school.nl" above the reminder's list, or "Afwezig:" and
 * address lines under it up to a line without one: who was not there.
 * Their text goes to *absent, every other line to *rest (both caller's).
 * Quoted lines are our reminder's, never the lead's word.
 */
static void
split_absent(const char *body, char **rest, char **absent)
{
	struct buf r, a;
	const char *p = body, *e;
	int in_absent = 0;

	buf_init(&r, 0);
	buf_init(&a, 0);
	for (; *p; p = *e ? e + 1 : e) {
		const char *q = p, *after;

		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if (q == e || *q == '\r' || *q == '>')
			in_absent = 0;
		if (q < e && *q != '>' && (after = absent_marker(q, e))) {
			in_absent = 1;
			q = after;
		} else if (in_absent && memchr(q, '@', (size_t)(e - q)) == NULL)
			/* "Groet," or "Dank je!" under the addresses: the
			 * block has ended. */
			in_absent = 0, q = NULL;
		else if (!in_absent)
			q = NULL;
		if (q == NULL)
			(void)(buf_add(&r, p, (size_t)(e - p)) == -1 ||
			    buf_addc(&r, '\n') == -1);
		else
			(void)(buf_add(&a, q, (size_t)(e - q)) == -1 ||
			    buf_addc(&a, '\n') == -1);
	}
	*rest = buf_steal(&r);
	*absent = buf_steal(&a);
}

/* "Afwezig: niemand": nobody was absent. */
static int
nobody(const char *p, const char *e)
{
	static const char *const words[] = { "niemand", "geen", "geeneen",
	    "none", "nobody", "no", "nee", "-", "n.v.t.", "nvt" };
	size_t len;

	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && strchr(" \t\r.!", e[-1]) != NULL)
		e--;
	len = (size_t)(e - p);
	return word_in(p, len, words, ARRAY_LEN(words));
}

/*
 * Every address in the absent lines however they are written ("bob@… en
 * carol@…", "Bob <bob@…>, ziek"), one a line (caller frees).  The first
 * line that gives no address ("Afwezig: Bob en Carol") goes to *bad
 * (caller frees), else NULL: who that was cannot be told.
 */
static char *
absent_addresses(const char *absent, char **bad)
{
	static const char lead[] = "<([{\"'", trail[] = ">)]}\"'.,:;!?";
	const char *p = absent, *e;
	struct buf b;

	*bad = NULL;
	buf_init(&b, 0);
	for (; *p; p = *e ? e + 1 : e) {
		const char *t, *te;
		int found = 0;

		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		for (t = p; t < e; t = te) {
			size_t len;
			const char *at;

			while (t < e && strchr(" \t\r,;", *t) != NULL)
				t++;
			for (te = t; te < e && strchr(" \t\r,;", *te) == NULL;
			    te++)
				;
			while (t < te && strchr(lead, *t) != NULL)
				t++;
			if ((size_t)(te - t) > 7 && strncasecmp(t, "mailto:", 7) == 0)
				t += 7;
			len = (size_t)(te - t);
			while (len && strchr(trail, t[len - 1]) != NULL)
				len--;
			if (len < 3 || (at = memchr(t, '@', len)) == NULL ||
			    at == t || at == t + len - 1 ||
			    memchr(at + 1, '@', len - (size_t)(at - t) - 1) ||
			    memchr(t, '<', len) || memchr(t, '>', len))
				continue;
			found = 1;
			for (size_t i = 0; i < len; i++)
				(void)buf_addc(&b, (char)tolower((unsigned char)t[i]));
			(void)buf_addc(&b, '\n');
		}
		if (!found && *bad == NULL && p + strspn(p, " \t\r") < e &&
		    !nobody(p, e)) {
			size_t len = (size_t)(e - p);

			while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
				len--;
			*bad = xstrndup(p, len);
		}
	}
	return buf_steal(&b);
}

/* list's addresses but those in absent, one a line; caller frees. */
static char *
addresses_without(const char *list, const char *absent)
{
	char **v, **not;
	size_t n = collect_addresses(list, &v), nn;
	struct buf b;

	nn = collect_addresses(absent, &not);
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < nn && strcmp(v[i], not[k]) != 0; k++)
			;
		if (k == nn)
			(void)(buf_add(&b, v[i], strlen(v[i])) == -1 ||
			    buf_addc(&b, '\n') == -1);
		free(v[i]);
	}
	for (size_t k = 0; k < nn; k++)
		free(not[k]);
	free(v);
	free(not);
	return buf_steal(&b);
}

/* How many addresses text's attendance lines hold, but (when not NULL)
 * the one of the sender: a signature without a closing line. */
static size_t
count_addresses(const char *text, const char *but)
{
	char **addrs;
	size_t n = collect_addresses(text, &addrs), count = 0;

	for (size_t i = 0; i < n; i++) {
		if (but == NULL || strcasecmp(addrs[i], but) != 0)
			count++;
		free(addrs[i]);
	}
	free(addrs);
	return count;
}

/*
 * Is this mail a reply to the attendance reminder of m that went to the
 * sender?  Only that mail's recipient knows its Message-ID, so the reply
 * proves the sender as a confirmation round trip does.  1, 0, or -1.
 */
static int
reminder_reply(struct req *r, const struct meeting *m)
{
	const struct message *msg = r->msg;
	size_t nids;

	if (msg == NULL)
		return 0;
	nids = msg->nreferences + 1;
	for (size_t i = 0; i < nids; i++) {
		const char *id = i == 0 ? msg->in_reply_to :
		    msg->references[i - 1];
		struct sent_ctx ctx = { 0 };
		int rc, hit;

		if (id == NULL || *id == '\0')
			continue;
		if ((rc = store_sent_get(r->app->st, id, &ctx)) == -1)
			return -1;
		hit = rc == 0 && (strcmp(ctx.kind, "reminder") == 0 ||
		    strcmp(ctx.kind, "attendance") == 0) &&
		    ctx.meeting_id == m->id && ctx.person_id == r->person_id;
		sent_ctx_clear(&ctx);
		if (hit)
			return 1;
	}
	return 0;
}

static int
do_attendance(struct req *r, const struct network *n, const struct meeting *m,
    const char *list)
{
	struct tvars *v = act_vars(r);
	char **addrs;
	size_t naddr = collect_addresses(list, &addrs), present = 0;
	int rc = 0;

	act_set_network(v, n);
	set_meeting_vars(r->app, v, m, r->lang);
	if (store_attendance_clear(r->app->st, m->id) == -1)
		rc = -1;
	for (size_t i = 0; i < naddr && rc == 0; i++) {
		struct person p = { 0 };
		enum role role;
		enum mstate ms;
		int found = store_person_get(r->app->st, addrs[i], &p);

		if (found == -1) {
			rc = -1;
			break;
		}
		if (found == 0 && store_membership(r->app->st, n->id, p.id,
		    &role, &ms) == 0 && role != ROLE_FOLLOWER) {
			if ((rc = store_attendance_add(r->app->st, m->id,
			    p.id)) == 0) {
				struct tvars *item = tvars_add_item(v, "present");

				tvars_set(item, "email", p.email);
				present++;
			}
		} else {
			struct tvars *item = tvars_add_item(v, "unknown");

			tvars_set(item, "email", addrs[i]);
			/* A heading once, not once per item. */
			tvars_set_bool(v, "any_unknown", 1);
		}
		person_clear(&p);
	}
	for (size_t i = 0; i < naddr; i++)
		free(addrs[i]);
	free(addrs);
	if (rc == 0) {
		r->app->changed = 1;
		tvars_setf(v, "count", "%zu", present);
		/* Recorded (a lead may know who will come), but a wrong
		 * number would count hours now: say so. */
		tvars_set_bool(v, "not_yet", m->start > r->now);
		rc = act_reply_attendance(r, "attendance-done", v, n->id,
		    m->id);
	}
	tvars_free(v);
	return rc;
}

/*
 * Does list still name every member and lead of n, as the reminder did
 * (nothing deleted from the quote)?  1, 0, or -1.
 */
static int
quote_is_whole(struct req *r, const struct network *n, const char *list)
{
	struct member *mm;
	char **addrs;
	size_t nm, na = collect_addresses(list, &addrs);
	int whole = 1;

	if ((mm = store_members(r->app->st, n->id, &nm)) == NULL)
		whole = -1;
	for (size_t i = 0; whole == 1 && i < nm; i++) {
		size_t k;

		if (mm[i].state != MS_ACTIVE || mm[i].role == ROLE_FOLLOWER)
			continue;
		for (k = 0; k < na && strcasecmp(addrs[k], mm[i].email); k++)
			;
		whole = k < na;
	}
	if (mm != NULL)
		members_free(mm, nm);
	for (size_t i = 0; i < na; i++)
		free(addrs[i]);
	free(addrs);
	return whole;
}

/*
 * Record who came to m, from the lead's mail: a list of addresses, or a
 * reply to the reminder (or to the answer that recorded a list) that
 * leaves the quoted list as it stands, with "Afwezig: …" lines or not.
 * answer: the mail replies to that answer; one without a word about
 * who came ("Dank je!") is for people, not a new list.
 */
static int
attendance(struct req *r, const struct network *n, const struct meeting *m,
    int answer)
{
	const char *body;
	char *listed = NULL, *rest, *absent, *kept = NULL, *unclear = NULL;
	char *arg;
	struct tvars *v;
	size_t naddr;
	int rc, reminded, failed = 0;

	if ((reminded = reminder_reply(r, m)) == -1)
		return -1;
	body = r->cmd->body ? r->cmd->body : "";
	split_absent(body, &rest, &absent);
	if (*absent) {
		char *said = absent;

		body = rest;
		/* "Afwezig: bob@… en carol@…": the addresses, one a line. */
		absent = absent_addresses(said, &unclear);
		free(said);
	}
	/* In a reply to the reminder, the lead's own address alone is
	 * their signature: the list is in the quote. */
	naddr = count_addresses(body, reminded ? r->sender : NULL);
	if (answer && naddr == 0 && *absent == '\0' && unclear == NULL &&
	    (unclear = absence_in_prose(r, n, rest, &failed)) == NULL) {
		rc = failed ? -1 : 0;
		r->outcome = "human";
		goto out;
	}
	/* The quoted list as the lead left it; but a list nobody was
	 * deleted from under "Bob was er niet." is not what they meant. */
	if (reminded && naddr == 0 && unclear == NULL) {
		int whole;

		body = listed = listed_addresses(r->msg->full_text);
		naddr = count_addresses(body, NULL);
		if (naddr > 0 && (whole = quote_is_whole(r, n, body)) != 0) {
			if (whole == 1)
				unclear = absence_in_prose(r, n, rest, &failed);
			if (whole == -1 || failed) {
				rc = -1;
				goto out;
			}
		}
	}
	if (*absent && naddr > 0) {
		body = kept = addresses_without(body, absent);
		naddr = count_addresses(body, NULL);
	}
	v = act_vars(r);
	act_set_network(v, n);
	set_meeting_vars(r->app, v, m, r->lang);
	if (unclear != NULL) {
		tvars_set(v, "unclear", unclear);
		rc = act_reply(r, "attendance-usage", v);
	} else if (naddr == 0)
		/* "Alice en ik waren er" or a reply without the quote: an
		 * empty list would wipe the one recorded. */
		rc = act_reply(r, "attendance-usage", v);
	else {
		/* The list goes into the token, bounded by the body cap. */
		arg = xasprintf("%d\t%.60000s", m->number, body);
		rc = reminded ? 1 : act_need_proof_with(r, "confirm-meeting",
		    "meeting-attendance", n->id, arg, v);
		if (rc == 1)
			rc = do_attendance(r, n, m, body);
		free(arg);
	}
	tvars_free(v);
out:
	free(listed);
	free(rest);
	free(absent);
	free(kept);
	free(unclear);
	return rc;
}

int
act_attendance(struct req *r)
{
	struct network n;
	struct meeting m = { 0 };
	int rc;

	if ((rc = lead_network(r, &n, ACT_OPEN_OR_CLOSED)) != 0)
		return rc == 1 ? 0 : -1;
	if ((rc = find_meeting(r, &n, meeting_number(r), &m,
	    FIND_PLANNED)) == 0)
		rc = attendance(r, &n, &m, 0);
	meeting_clear(&m);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

int
act_attendance_reply(struct req *r, int64_t network_id, int64_t meeting_id)
{
	struct network n = { 0 };
	struct meeting m = { 0 };
	int rc;

	if ((rc = store_network_by_id(r->app->st, network_id, &n)) != 0 ||
	    (rc = store_meeting_by_id(r->app->st, meeting_id, &m)) != 0) {
		network_clear(&n);
		return rc == 1 ? 0 : -1;
	}
	if (!act_is_lead(r, &n)) {
		struct tvars *v = act_vars(r);

		act_set_network(v, &n);
		tvars_set(v, "keyword", r->lang == LANG_EN ? "attendance" :
		    "presentie");
		rc = reply_v(r, "not-lead", v);
	} else if (n.state != NET_OPEN && n.state != NET_CLOSED)
		rc = act_reply_not_open(r, &n);
	else if (m.status != MT_PLANNED)
		rc = meeting_gone(r, &n, &m);
	else
		rc = attendance(r, &n, &m, 1);
	meeting_clear(&m);
	network_clear(&n);
	return rc == -1 ? -1 : 0;
}

/* A confirmed meeting-* token: carry out exactly what was shown. */
int
meeting_confirmed(struct req *r, const struct network *n, const char *action,
    const char *arg)
{
	struct meeting m = { 0 };
	struct dt_error e;
	char *buf = xstrdup(arg), *tab = strchr(buf, '\t');
	int number = atoi(buf), rc;

	if (strcmp(action, "meeting-plan") == 0) {
		time_t start, end;
		char *location, *topic;

		if (parse_plan_arg(buf, &start, &end, &location, &topic) == -1)
			rc = -1;
		else if (dt_check_ahead(r->app->zone, start, r->now, &e) == -1)
			rc = date_error(r, n, &e);
		else if ((rc = same_slot(r, n, start)) == 0)
			rc = do_plan(r, n, start, end, location, topic);
		else if (rc == 1)
			rc = 0;		/* answered */
		free(buf);
		return rc;
	}
	/* Days may have passed since the lead asked: what was fine then
	 * is checked again. */
	if ((rc = find_meeting(r, n, number, &m, strcmp(action,
	    "meeting-attendance") == 0 ? FIND_PLANNED :
	    FIND_PLANNED | FIND_AHEAD)) != 0) {
		free(buf);
		return rc == 1 ? 0 : -1;
	}
	if (strcmp(action, "meeting-move") == 0 && tab) {
		time_t start, end;
		char *location, *topic;
		/* "N\tSTART\tEND\tLOCATION": reuse the plan parser. */
		char *rest = xasprintf("%s\t", tab + 1);

		if (parse_plan_arg(rest, &start, &end, &location, &topic) == -1)
			rc = -1;
		else if (start != m.start &&
		    dt_check_ahead(r->app->zone, start, r->now, &e) == -1)
			rc = date_error(r, n, &e);
		else
			rc = do_move(r, n, &m, start, end, location);
		free(rest);
	} else if (strcmp(action, "meeting-cancel") == 0)
		rc = do_cancel(r, n, &m);
	else if (strcmp(action, "meeting-attendance") == 0)
		rc = do_attendance(r, n, &m, tab ? tab + 1 : "");
	else {
		log_warnx("unknown meeting action '%s'", action);
		rc = -1;
	}
	meeting_clear(&m);
	free(buf);
	return rc;
}
