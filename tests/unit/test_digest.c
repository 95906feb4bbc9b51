/*
 * test_digest.c - the digest schedule (daily, weekly, summer time) and the
 * digests themselves against a real store and the real templates: who gets
 * one, what is in it, that nothing is told twice, that bouncing addresses
 * get none, and what the coordinators see.
 *
 * Templates: $LEERNET_TEST_DATA/../../templates (default ./templates).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "app.h"
#include "config.h"
#include "dates.h"
#include "digest.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* Monday 2027-05-10 08:00 in Amsterdam (CEST, UTC+2). */
#define MON_0800	((time_t)1809928800)
#define DAY		(24 * 3600)

/* ---- the schedule ---- */

static struct config
sched(enum digest_kind kind, int wday, int hour, int min)
{
	struct config c;

	memset(&c, 0, sizeof(c));
	c.digest = kind;
	c.digest_wday = wday;
	c.digest_hour = hour;
	c.digest_min = min;
	return c;
}

static struct dt_zone *
amsterdam(void)
{
	char err[256];
	struct dt_zone *z = dt_zone_load("Europe/Amsterdam", err, sizeof(err));

	if (z == NULL)
		z = dt_zone_posix("CET-1CEST,M3.5.0,M10.5.0/3", err, sizeof(err));
	assert_non_null(z);
	return z;
}

/* The local wall time of t as "YYYY-MM-DD HH:MM wday". */
static void
local(const struct dt_zone *z, time_t t, char *out, size_t len)
{
	struct dt_local l;

	dt_localtime(z, t, &l);
	snprintf(out, len, "%04d-%02d-%02d %02d:%02d %d", l.year, l.mon, l.day,
	    l.hour, l.min, l.wday);
}

static void
assert_local(const struct dt_zone *z, time_t t, const char *want)
{
	char got[64];

	local(z, t, got, sizeof(got));
	assert_string_equal(got, want);
}

static void
test_schedule_off(void **state)
{
	struct dt_zone *z = amsterdam();
	struct config off = sched(DIGEST_OFF, 0, 7, 0);

	(void)state;
	assert_int_equal(digest_slot_before(&off, z, MON_0800), 0);
	assert_int_equal(digest_slot_after(&off, z, MON_0800), 0);
	dt_zone_free(z);
}

static void
test_schedule_daily(void **state)
{
	struct dt_zone *z = amsterdam();
	struct config daily = sched(DIGEST_DAILY, 0, 7, 30), *c = &daily;

	(void)state;
	assert_local(z, MON_0800, "2027-05-10 08:00 1");
	assert_local(z, digest_slot_before(c, z, MON_0800), "2027-05-10 07:30 1");
	assert_local(z, digest_slot_after(c, z, MON_0800), "2027-05-11 07:30 2");
	/* Exactly at the slot: it is "before" (due), and the next is a day on. */
	{
		time_t s = digest_slot_before(c, z, MON_0800);

		assert_int_equal(digest_slot_before(c, z, s), s);
		assert_int_equal(digest_slot_after(c, z, s), s + DAY);
		assert_int_equal(digest_slot_before(c, z, s - 1), s - DAY);
	}
	dt_zone_free(z);
}

static void
test_schedule_weekly(void **state)
{
	struct dt_zone *z = amsterdam();
	struct config m = sched(DIGEST_WEEKLY, 1, 7, 0), *mon = &m;
	struct config s = sched(DIGEST_WEEKLY, 0, 18, 15), *sun = &s;

	(void)state;
	assert_local(z, digest_slot_before(mon, z, MON_0800),
	    "2027-05-10 07:00 1");
	assert_local(z, digest_slot_after(mon, z, MON_0800),
	    "2027-05-17 07:00 1");
	/* Monday 06:59: the last one was a week before. */
	assert_local(z, digest_slot_before(mon, z, MON_0800 - 61 * 60),
	    "2027-05-03 07:00 1");
	assert_local(z, digest_slot_before(sun, z, MON_0800),
	    "2027-05-09 18:15 0");
	assert_local(z, digest_slot_after(sun, z, MON_0800),
	    "2027-05-16 18:15 0");
	dt_zone_free(z);
}

static void
test_schedule_summer_time(void **state)
{
	struct dt_zone *z = amsterdam();
	/* 2027-03-28: clocks go 02:00 -> 03:00; 2027-10-31: 03:00 -> 02:00. */
	struct config n = sched(DIGEST_DAILY, 0, 2, 30), *night = &n;
	struct config sv = sched(DIGEST_DAILY, 0, 7, 0), *seven = &sv;
	time_t sat_noon = (time_t)1806145200;	/* 2027-03-27 12:00 CET */
	time_t s, s2;

	(void)state;
	assert_local(z, sat_noon, "2027-03-27 12:00 6");
	/* 02:30 does not exist on the 28th: taken an hour later. */
	s = digest_slot_after(night, z, sat_noon);
	assert_local(z, s, "2027-03-28 03:30 0");
	s2 = digest_slot_after(night, z, s);
	assert_local(z, s2, "2027-03-29 02:30 1");
	/* A 23-hour day between two 07:00 slots. */
	s = digest_slot_after(seven, z, sat_noon);
	assert_local(z, s, "2027-03-28 07:00 0");
	assert_int_equal(digest_slot_after(seven, z, s) - s, DAY);
	assert_int_equal(s - digest_slot_before(seven, z, s - 1), 23 * 3600);
	/* And a 25-hour one in October. */
	s = digest_slot_after(seven, z, (time_t)1824890400);	/* 10-30 12:00 */
	assert_local(z, s, "2027-10-31 07:00 0");
	assert_int_equal(s - digest_slot_before(seven, z, s - 1), 25 * 3600);
	dt_zone_free(z);
}

/* ---- the digests ---- */

struct fx {
	char		 dir[64];
	struct app	 app;
	int64_t		 rekenen, taal;
	int64_t		 alice, bob, carol, lead, femme;
	time_t		 t0;
};

static char *
templates_dir(void)
{
	const char *data = getenv("LEERNET_TEST_DATA");

	return data ? xasprintf("%s/../../templates", data) :
	    xstrdup("templates");
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char err[512], *path, *text, *tdir = templates_dir();
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/tmp/leernet-digest-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	path = xasprintf("%s/leernet.conf", f->dir);
	text = xasprintf(
	    "[mailbox]\nurl = maildir:%s/mail\n"
	    "[smtp]\nurl = smtp://127.0.0.1:2525\ntls = none\n"
	    "from = LIDO leernetwerken <lido@jl.nu>\n"
	    "[database]\npath = %s/t.db\n"
	    "[organization]\nname = Stichting Test\ndomains = jl.nu\n"
	    "coordinators = femme@jl.nu\ntimezone = Europe/Amsterdam\n"
	    "language = nl\n"
	    "[digest]\nschedule = weekly mon 07:00\n"
	    "[paths]\ntemplates = %s\n", f->dir, f->dir, tdir);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	f->app.cfg = config_load(path, err, sizeof(err));
	if (f->app.cfg == NULL)
		fail_msg("config: %s", err);
	f->app.st = store_open(f->app.cfg->db_path, err, sizeof(err));
	assert_non_null(f->app.st);
	assert_int_equal(store_migrate(f->app.st, err, sizeof(err)), 0);
	f->app.domain = xstrdup("jl.nu");
	assert_non_null(f->app.zone = dt_zone_load("Europe/Amsterdam", err,
	    sizeof(err)));
	free(path);
	free(text);
	free(tdir);

	/* Three weeks ago: two networks, a lead, two members, a follower. */
	f->t0 = MON_0800 - 21 * DAY;
	struct store *st = f->app.st;
	assert_int_equal(store_person_touch(st, "alice@jl.nu", "Alice Jansen",
	    "nl", f->t0, &f->alice), 0);
	assert_int_equal(store_person_touch(st, "bob@jl.nu", "", "en", f->t0,
	    &f->bob), 0);
	assert_int_equal(store_person_touch(st, "carol@jl.nu", "Carol", "nl",
	    f->t0, &f->carol), 0);
	assert_int_equal(store_person_touch(st, "lead@jl.nu", "Lea de Lead",
	    "nl", f->t0, &f->lead), 0);
	assert_int_equal(store_person_touch(st, "femme@jl.nu", "Femme", "nl",
	    f->t0, &f->femme), 0);
	assert_int_equal(store_network_add(st, "rekenen", "Rekenen in groep 3",
	    "Hoe leren kinderen breuken?", NET_OPEN, 0, f->t0, &f->rekenen), 0);
	assert_int_equal(store_network_add(st, "taal", "Taal & lezen", "",
	    NET_OPEN, 0, f->t0, &f->taal), 0);
	/* The lead was there first, an hour before the others. */
	assert_int_equal(store_membership_set(st, f->rekenen, f->lead,
	    ROLE_LEAD, MS_ACTIVE, f->t0 - 3600), 0);
	assert_int_equal(store_membership_set(st, f->rekenen, f->alice,
	    ROLE_MEMBER, MS_ACTIVE, f->t0), 0);
	assert_int_equal(store_membership_set(st, f->rekenen, f->bob,
	    ROLE_FOLLOWER, MS_ACTIVE, f->t0), 0);
	assert_int_equal(store_membership_set(st, f->taal, f->carol,
	    ROLE_MEMBER, MS_ACTIVE, f->t0), 0);
	/* Everything so far was told in a digest last week. */
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = xasprintf("rm -rf %s", f->dir);

	store_close(f->app.st);
	config_free(f->app.cfg);
	dt_zone_free(f->app.zone);
	free(f->app.domain);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
	return 0;
}

/* A preview, as text (caller frees), and its figures. */
static char *
preview(struct fx *f, time_t now, struct digest_stats *ds)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	assert_int_equal(digest_run(&f->app, now, DIGEST_PREVIEW, 0, out, ds),
	    0);
	fclose(out);
	return text;
}

/* The part of a preview for one address ("" when there is none). */
static char *
part_for(const char *all, const char *addr)
{
	char *head = xasprintf("== %s (", addr);
	const char *s = strstr(all, head), *e;

	free(head);
	if (s == NULL)
		return xstrdup("");
	e = strstr(s + 3, "\n== ");
	return xstrndup(s, e ? (size_t)(e - s) : strlen(s));
}

static void
send(struct fx *f, time_t now, struct digest_stats *ds)
{
	assert_int_equal(digest_run(&f->app, now, DIGEST_SEND, 1, NULL, ds), 0);
}

/* A mail the server refused for good: queued at t, failed with error. */
static void
failed_mail(struct fx *f, const char *kind, const char *rcpt,
    const char *msgid, const char *error, time_t t)
{
	int64_t id;

	assert_int_equal(store_outbox_add(f->app.st, kind, "lido@jl.nu", rcpt,
	    msgid, "data", 4, t, &id), 0);
	assert_int_equal(store_outbox_failed(f->app.st, id, error, t), 0);
}

/* Send what is due at now; a minute later nothing is due any more. */
static void
send_then_nothing(struct fx *f, time_t now)
{
	struct digest_stats ds;
	char *all;

	send(f, now, &ds);
	all = preview(f, now + 60, &ds);
	assert_int_equal(ds.recipients, 0);
	free(all);
}

static size_t
outbox_count(struct fx *f, const char *kind)
{
	struct ob_row *o;
	size_t n, c = 0;

	assert_non_null(o = store_outbox_list(f->app.st, 1, &n));
	for (size_t i = 0; i < n; i++)
		c += strcmp(o[i].kind, kind) == 0;
	ob_rows_free(o, n);
	return c;
}

static void
assert_has(const char *text, const char *want)
{
	if (strstr(text, want) == NULL)
		fail_msg("wanted \"%s\" in:\n%s", want, text);
}

static void
assert_lacks(const char *text, const char *unwanted)
{
	if (strstr(text, unwanted) != NULL)
		fail_msg("did not want \"%s\" in:\n%s", unwanted, text);
}

static void
test_first_run_then_nothing_new(void **state)
{
	struct fx *f = *state;
	struct digest_stats ds;
	char *all, *a;

	/* The memberships are in the window: members see who joined with
	 * or after them; the coordinator sees them all. */
	all = preview(f, MON_0800, &ds);
	a = part_for(all, "alice@jl.nu");
	assert_string_equal(a, "");	/* the lead was there before her */
	free(a);
	a = part_for(all, "lead@jl.nu");
	assert_has(a, "- Alice Jansen (alice@jl.nu)\n");
	free(a);
	a = part_for(all, "bob@jl.nu");	/* he came in the same second */
	assert_has(a, "- Alice Jansen (alice@jl.nu)\n");
	free(a);
	a = part_for(all, "femme@jl.nu");
	assert_has(a, "Overzicht leernetwerken voor coördinatoren");
	assert_has(a, "Alice Jansen (alice@jl.nu)");
	assert_has(a, "Nieuw geopend");
	free(a);
	free(all);
	send(f, MON_0800, &ds);
	assert_int_equal(ds.recipients, 3);
	assert_int_equal(outbox_count(f, "digest"), 3);
	/* A second run at once has nothing new for anyone. */
	all = preview(f, MON_0800 + 60, &ds);
	assert_int_equal(ds.recipients, 0);
	assert_string_equal(all, "");
	free(all);
	send(f, MON_0800 + 60, &ds);
	assert_int_equal(ds.recipients, 0);
	assert_int_equal(outbox_count(f, "digest"), 3);
}

static void
test_news_members_meetings(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	struct meeting m;
	char *all, *a, *b, *c, *l;
	time_t now = MON_0800;

	send(f, now - 7 * DAY, &ds);		/* last week's digest */
	assert_int_equal(store_news_add(st, f->rekenen, f->alice,
	    "bericht rekenen: Materiaal voor bijeenkomst 1",
	    "Hallo allemaal,\n\nZie https://jl.nu/breuken\n\n\n", NULL, now - DAY,
	    NULL), 0);
	assert_int_equal(store_news_add(st, f->rekenen, f->lead, "Agenda",
	    "Punt 1\nPunt 2", NULL, now - 2 * DAY, NULL), 0);
	assert_int_equal(store_person_touch(st, "dirk@jl.nu", "Dirk", "nl",
	    now - 3 * DAY, &(int64_t){ 0 }), 0);
	{
		struct person p;

		assert_int_equal(store_person_get(st, "dirk@jl.nu", &p), 0);
		assert_int_equal(store_membership_set(st, f->rekenen, p.id,
		    ROLE_MEMBER, MS_ACTIVE, now - 3 * DAY), 0);
		person_clear(&p);
	}
	/* In 3 days, with 1 yes; and one in 3 weeks (beyond the horizon). */
	assert_int_equal(store_meeting_add(st, f->rekenen, "m1@jl.nu",
	    now + 3 * DAY + 7 * 3600, now + 3 * DAY + 9 * 3600, "Lokaal 3", "",
	    now - DAY, &m), 0);
	assert_int_equal(store_rsvp_set(st, m.id, f->alice, PS_ACCEPTED, 0, 0,
	    "", now - DAY), 0);
	meeting_clear(&m);
	assert_int_equal(store_meeting_add(st, f->rekenen, "m2@jl.nu",
	    now + 21 * DAY, now + 21 * DAY + 7200, "", "", now - DAY, &m), 0);
	meeting_clear(&m);

	all = preview(f, now, &ds);
	a = part_for(all, "alice@jl.nu");
	b = part_for(all, "bob@jl.nu");
	c = part_for(all, "carol@jl.nu");
	l = part_for(all, "lead@jl.nu");
	/* Alice: the lead's news, not her own; Dirk; the meeting. */
	assert_has(a, "Subject: Samenvatting van je leernetwerken, maandag "
	    "10 mei 2027");
	assert_has(a, "Rekenen in groep 3\n==================\n");
	assert_has(a, "Agenda\n------\nLea de Lead, zaterdag 8 mei 2027:\n\n"
	    "Punt 1\nPunt 2\n");
	assert_lacks(a, "Materiaal");
	assert_has(a, "- Dirk (dirk@jl.nu)\n");
	assert_has(a, "- Bijeenkomst 1: donderdag 13 mei 2027, 15:00\u201317:00, "
	    "Lokaal 3\n  1 komen, 0 niet, 0 misschien, 2 zonder antwoord\n");
	assert_lacks(a, "Bijeenkomst 2");
	assert_has(a, "bericht rekenen");	/* how to post */
	/* Bob follows, in English: the headline without the command. */
	assert_has(b, "Subject: Digest of your learning networks, Monday 10 "
	    "May 2027");
	assert_has(b, "Materiaal voor bijeenkomst 1\n----------------------------\n"
	    "Alice Jansen, Sunday 9 May 2027:\n\nHallo allemaal,\n\nZie "
	    "https://jl.nu/breuken\n\n");
	assert_has(b, "unfollow rekenen");
	/* Carol's network has nothing new: no digest at all. */
	assert_string_equal(c, "");
	/* The lead sees Alice's news but not his own. */
	assert_has(l, "Materiaal voor bijeenkomst 1");
	assert_lacks(l, "Agenda");
	free(a);
	free(b);
	free(c);
	free(l);
	free(all);

	send(f, now, &ds);
	/* alice, bob, lead (+ dirk, who sees the others' news), femme */
	assert_int_equal(ds.recipients, 5);
	all = preview(f, now + 3600, &ds);
	assert_int_equal(ds.recipients, 0);
	free(all);

	/* The meeting moves: told again, as the new time. */
	assert_int_equal(store_meeting_get(st, f->rekenen, 1, &m), 0);
	m.start += 3600;
	m.end += 3600;
	m.sequence++;
	assert_int_equal(store_meeting_update(st, &m, now + 3600), 0);
	meeting_clear(&m);
	all = preview(f, now + 7200, &ds);
	a = part_for(all, "alice@jl.nu");
	assert_has(a, "Bijeenkomst 1 (gewijzigd): donderdag 13 mei 2027, "
	    "16:00\u201318:00");
	assert_lacks(a, "Agenda");
	free(a);
	free(all);
}

static void
test_bouncing_gets_none(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	char *all;

	send(f, MON_0800 - 7 * DAY, &ds);
	assert_int_equal(store_news_add(st, f->rekenen, f->lead, "Nieuws", "x",
	    NULL, MON_0800 - DAY, NULL), 0);
	assert_int_equal(store_person_set_bouncing(st, "alice@jl.nu",
	    "550 5.1.1 no such user", MON_0800 - DAY), 0);
	all = preview(f, MON_0800, &ds);
	assert_lacks(all, "== alice@jl.nu");
	assert_has(all, "== bob@jl.nu");
	assert_int_equal(ds.bouncing, 1);
	/* The coordinator hears of it, once. */
	assert_has(all, "- alice@jl.nu (Alice Jansen), sinds zondag 9 mei 2027: "
	    "550 5.1.1 no such user");
	free(all);
	send(f, MON_0800, &ds);
	assert_int_equal(store_news_add(st, f->rekenen, f->lead, "Meer", "y",
	    NULL, MON_0800 + 60, NULL), 0);
	all = preview(f, MON_0800 + 120, &ds);
	assert_lacks(all, "5.1.1");
	assert_has(all, "Eerder gemeld en nog niet opgelost: 1 adres(sen)");
	free(all);
}

static void
test_coordinator_problems(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	char *all, *fm;

	send(f, MON_0800 - 7 * DAY, &ds);
	failed_mail(f, "reply", "gone@elders.nl", "x1@jl.nu",
	    "RCPT TO: 550 5.1.1 unknown", MON_0800 - DAY);
	assert_int_equal(store_processed_add(st, "k1", "q1@elders.nl",
	    "ouder@jl.nu", "human", "Vraag over groep 3", MON_0800 - DAY), 0);
	assert_int_equal(store_processed_add(st, "k2", "q2@elders.nl",
	    "druk@jl.nu", "ratelimited", NULL, MON_0800 - DAY), 0);
	assert_int_equal(store_processed_add(st, "k3", "q3@elders.nl",
	    "alice@jl.nu", "answered", NULL, MON_0800 - DAY), 0);
	all = preview(f, MON_0800, &ds);
	assert_int_equal(ds.recipients, 1);
	fm = part_for(all, "femme@jl.nu");
	assert_has(fm, "Bezorgproblemen\n===============\n");
	assert_has(fm, "- antwoord aan gone@elders.nl (zondag 9 mei 2027): "
	    "RCPT TO: 550 5.1.1 unknown\n");
	assert_has(fm, "Mail voor mensen\n================\n");
	assert_has(fm, "- van ouder@jl.nu, zondag 9 mei 2027: "
	    "\"Vraag over groep 3\"\n");
	assert_has(fm, "- van druk@jl.nu, zondag 9 mei 2027 (te veel verzoeken");
	assert_lacks(fm, "alice@jl.nu, zondag");
	assert_has(fm, "- Rekenen in groep 3 (rekenen)\n  trekker(s): lead@jl.nu; "
	    "deelnemers: 1, volgers: 1\n");
	assert_has(fm, "- Taal & lezen (taal)\n  trekker(s): geen; deelnemers: 1, "
	    "volgers: 0\n");
	free(fm);
	free(all);
	send_then_nothing(f, MON_0800);
}

static void
test_calls_and_closing(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	int64_t nid;
	char *all, *c, *a;

	send(f, MON_0800 - 7 * DAY, &ds);
	/* A new network opens: a call for those who are not in it. */
	assert_int_equal(store_network_add(st, "natuur", "Natuur & techniek",
	    "Hoe maak je een proefje?", NET_OPEN, 0, MON_0800 - DAY, &nid), 0);
	assert_int_equal(store_membership_set(st, nid, f->carol, ROLE_LEAD,
	    MS_ACTIVE, MON_0800 - DAY), 0);
	/* Taal closes: its members get a last digest. */
	assert_int_equal(store_network_set_state(st, f->taal, NET_CLOSED,
	    "lead", "", MON_0800 - DAY), 0);
	all = preview(f, MON_0800, &ds);
	a = part_for(all, "alice@jl.nu");
	c = part_for(all, "carol@jl.nu");
	assert_has(a, "Nieuwe leernetwerken\n====================\n");
	assert_has(a, "Natuur & techniek (trekker: carol@jl.nu)\nHoe maak je een "
	    "proefje?\nMeedoen? Stuur \"aanmelden natuur\" aan lido@jl.nu.");
	assert_has(c, "Taal & lezen\n============\n\nDit leernetwerk is "
	    "afgesloten.");
	assert_lacks(c, "Nieuwe leernetwerken");	/* she leads it */
	free(a);
	free(c);
	free(all);
	send_then_nothing(f, MON_0800);
}

static void
test_hook_for_list_mail(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	int64_t news;
	char *all;

	send(f, MON_0800 - 7 * DAY, &ds);
	assert_int_equal(store_news_add(st, f->rekenen, f->lead, "Lijstmail",
	    "x", NULL, MON_0800 - DAY, &news), 0);
	/* Alice had it directly; Bob (digest delivery) did not. */
	assert_int_equal(digest_mark_delivered(&f->app, f->alice, news,
	    MON_0800 - DAY), 0);
	all = preview(f, MON_0800, &ds);
	assert_lacks(all, "== alice@jl.nu");
	assert_has(all, "== bob@jl.nu");
	free(all);
}

static void
test_hostile_text_stays_text(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	struct ob_row *o;
	size_t n;
	char big[5000];

	send(f, MON_0800 - 7 * DAY, &ds);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(store_news_add(st, f->rekenen, f->lead,
	    "Nieuws\r\nBcc: victim@evil.example", big, NULL, MON_0800 - DAY, NULL), 0);
	send(f, MON_0800, &ds);
	assert_non_null(o = store_outbox_list(f->app.st, 1, &n));
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(o[i].rcpt, "victim@evil.example");
	ob_rows_free(o, n);
	/* Every digest fits the 998-octet line limit and holds no Bcc. */
	assert_non_null(o = store_outbox_due(f->app.st, MON_0800 + 1, 100, &n));
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		size_t ll = 0;

		char *hdr = xstrndup(o[i].data, (size_t)(strstr(o[i].data,
		    "\r\n\r\n") - o[i].data));

		assert_null(strstr(hdr, "\nBcc:"));
		assert_null(strstr(hdr, "victim"));
		free(hdr);
		/* In the text, the headline is one line. */
		if (strstr(o[i].data, "victim") != NULL && strstr(o[i].data,
		    "Nieuws Bcc: victim@evil.example\r\n") == NULL &&
		    strstr(o[i].data, "Nieuws Bcc: victim@evil.example=\r\n")
		    == NULL)
			fail_msg("headline not on one line:\n%s", o[i].data);
		for (size_t k = 0; k < o[i].len; k++) {
			if (o[i].data[k] == '\n')
				ll = 0;
			else
				assert_true(++ll <= 998);
		}
	}
	ob_rows_free(o, n);
}

static void
test_long_news_is_cut(void **state)
{
	struct fx *f = *state;
	struct digest_stats ds;
	char big[5000], *all, *x;

	send(f, MON_0800 - 7 * DAY, &ds);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* A 2-byte character across the cut must not be split. */
	memcpy(big + 1999, "\xc3\xab", 2);
	assert_int_equal(store_news_add(f->app.st, f->rekenen, f->lead, "Lang",
	    big, NULL, MON_0800 - DAY, NULL), 0);
	all = preview(f, MON_0800, &ds);
	assert_non_null(x = strstr(all, "\nxxxx"));
	assert_int_equal(strspn(x + 1, "x"), 1999);
	assert_true(strncmp(x + 2000, " [\u2026]\n", 6) == 0);
	free(all);
}

/* A person at time t (caller has the id). */
static int64_t
someone(struct fx *f, const char *email, const char *lang, time_t t)
{
	int64_t id;

	assert_int_equal(store_person_touch(f->app.st, email, "", lang, t, &id),
	    0);
	return id;
}

/* The List-Unsubscribe of the last digest queued for rcpt; caller frees. */
static char *
unsubscribe_of(struct fx *f, const char *rcpt)
{
	struct ob_row *o;
	size_t n;
	char *v = NULL;

	assert_non_null(o = store_outbox_due(f->app.st, MON_0800 + DAY, 100,
	    &n));
	for (size_t i = 0; i < n; i++) {
		const char *h, *e;

		if (strcmp(o[i].kind, "digest") != 0 ||
		    strcmp(o[i].rcpt, rcpt) != 0 ||
		    (h = strstr(o[i].data, "\r\nList-Unsubscribe: ")) == NULL)
			continue;
		h += strlen("\r\nList-Unsubscribe: ");
		e = strstr(h, "\r\n");
		free(v);
		v = xstrndup(h, (size_t)(e - h));
	}
	ob_rows_free(o, n);
	if (v == NULL)
		fail_msg("no digest for %s", rcpt);
	return v;
}

static void
assert_unsubscribe(struct fx *f, const char *rcpt, const char *want)
{
	char *got = unsubscribe_of(f, rcpt);

	assert_string_equal(got, want);
	free(got);
}

static void
test_list_unsubscribe_never_surprises(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	int64_t erik, natuur;

	/* Erik is only in taal; carol is in taal and rekenen. */
	erik = someone(f, "erik@jl.nu", "en", f->t0);
	assert_int_equal(store_membership_set(st, f->taal, erik, ROLE_MEMBER,
	    MS_ACTIVE, f->t0), 0);
	assert_int_equal(store_membership_set(st, f->rekenen, f->carol,
	    ROLE_MEMBER, MS_ACTIVE, f->t0), 0);
	send(f, MON_0800 - 7 * DAY, &ds);
	assert_int_equal(store_news_add(st, f->rekenen, f->lead, "Nieuws", "x",
	    NULL, MON_0800 - DAY, NULL), 0);
	/* A new network: for Erik a digest with nothing but its call. */
	assert_int_equal(store_network_add(st, "natuur", "Natuur", "",
	    NET_OPEN, 0, MON_0800 - DAY, &natuur), 0);
	send(f, MON_0800, &ds);
	/* One network and nothing else: that one, as it is left. */
	assert_unsubscribe(f, "alice@jl.nu",
	    "<mailto:lido@jl.nu?subject=afmelden%20rekenen"
	    "&body=list-unsubscribe>");
	assert_unsubscribe(f, "bob@jl.nu",
	    "<mailto:lido@jl.nu?subject=unfollow%20rekenen>");
	/* A lead, two networks, only a call, a coordinator: no network
	 * named; "afmelden" alone is answered with how to leave each. */
	assert_unsubscribe(f, "lead@jl.nu", "<mailto:lido@jl.nu?subject=afmelden>");
	assert_unsubscribe(f, "carol@jl.nu",
	    "<mailto:lido@jl.nu?subject=afmelden>");
	assert_unsubscribe(f, "erik@jl.nu", "<mailto:lido@jl.nu?subject=leave>");
	assert_unsubscribe(f, "femme@jl.nu",
	    "<mailto:lido@jl.nu?subject=afmelden>");
}

static void
test_cancelled_and_changed_meetings(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	struct meeting m;
	time_t now = MON_0800, planned = MON_0800 - 8 * DAY;
	char *all, *a, *b;

	/* Two meetings told last week, one beyond that digest's horizon. */
	assert_int_equal(store_meeting_add(st, f->rekenen, "c1@jl.nu",
	    now + 3 * DAY + 7 * 3600, now + 3 * DAY + 9 * 3600, "Lokaal 3", "",
	    planned, &m), 0);
	meeting_clear(&m);
	assert_int_equal(store_meeting_add(st, f->rekenen, "c2@jl.nu",
	    now + 5 * DAY, now + 5 * DAY + 7200, "", "", planned, &m), 0);
	meeting_clear(&m);
	assert_int_equal(store_meeting_add(st, f->rekenen, "c3@jl.nu",
	    now + 20 * DAY, now + 20 * DAY + 7200, "", "", planned, &m), 0);
	meeting_clear(&m);
	send(f, now - 7 * DAY, &ds);

	/* 1 is cancelled, 2 moves, 3 is cancelled (nobody had heard of
	 * it), and 4 is planned and cancelled between two digests. */
	assert_int_equal(store_meeting_get(st, f->rekenen, 1, &m), 0);
	m.status = MT_CANCELLED;
	m.sequence++;
	assert_int_equal(store_meeting_update(st, &m, now - 2 * DAY), 0);
	meeting_clear(&m);
	assert_int_equal(store_meeting_get(st, f->rekenen, 2, &m), 0);
	m.start += 3600;
	m.end += 3600;
	m.sequence++;
	assert_int_equal(store_meeting_update(st, &m, now - 2 * DAY), 0);
	meeting_clear(&m);
	assert_int_equal(store_meeting_get(st, f->rekenen, 3, &m), 0);
	m.status = MT_CANCELLED;
	m.sequence++;
	assert_int_equal(store_meeting_update(st, &m, now - 2 * DAY), 0);
	meeting_clear(&m);
	assert_int_equal(store_meeting_add(st, f->rekenen, "c4@jl.nu",
	    now + 6 * DAY, now + 6 * DAY + 7200, "", "", now - DAY, &m), 0);
	m.status = MT_CANCELLED;
	m.sequence++;
	assert_int_equal(store_meeting_update(st, &m, now - DAY + 60), 0);
	meeting_clear(&m);

	all = preview(f, now, &ds);
	a = part_for(all, "alice@jl.nu");
	b = part_for(all, "bob@jl.nu");
	assert_has(a, "- Bijeenkomst 1, donderdag 13 mei 2027: gaat niet door\n");
	assert_has(a, "- Bijeenkomst 2 (gewijzigd): zaterdag 15 mei 2027");
	assert_has(a, "- Bijeenkomst 4, zondag 16 mei 2027: gaat niet door\n");
	assert_lacks(a, "Bijeenkomst 3");
	/* Bob follows: no CANCEL mail, this is how he hears of it. */
	assert_has(b, "- Meeting 1, Thursday 13 May 2027: cancelled\n");
	assert_has(b, "- Meeting 2 (changed): Saturday 15 May 2027");
	assert_has(b, "- Meeting 4, Sunday 16 May 2027: cancelled\n");
	free(a);
	a = part_for(all, "femme@jl.nu");
	assert_has(a, "gaat niet door");
	free(a);
	free(b);
	free(all);
	/* Told once. */
	send_then_nothing(f, now);
}

static void
test_joined_in_the_same_second(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	int64_t frank, gina, hans;
	time_t t = MON_0800 - DAY;
	char *all, *x;

	send(f, MON_0800 - 7 * DAY, &ds);
	frank = someone(f, "frank@jl.nu", "nl", t);
	gina = someone(f, "gina@jl.nu", "nl", t);
	hans = someone(f, "hans@jl.nu", "nl", t + 5);
	assert_int_equal(store_membership_set(st, f->rekenen, frank,
	    ROLE_MEMBER, MS_ACTIVE, t), 0);
	assert_int_equal(store_membership_set(st, f->rekenen, gina,
	    ROLE_MEMBER, MS_ACTIVE, t), 0);
	assert_int_equal(store_membership_set(st, f->rekenen, hans,
	    ROLE_MEMBER, MS_ACTIVE, t + 5), 0);
	all = preview(f, MON_0800, &ds);
	x = part_for(all, "frank@jl.nu");
	assert_has(x, "- gina@jl.nu\n");
	assert_has(x, "- hans@jl.nu\n");
	assert_lacks(x, "- frank@jl.nu");
	free(x);
	x = part_for(all, "gina@jl.nu");
	assert_has(x, "- frank@jl.nu\n");
	assert_lacks(x, "- gina@jl.nu");
	free(x);
	x = part_for(all, "hans@jl.nu");
	assert_string_equal(x, "");	/* they were there before him */
	free(x);
	free(all);
}

static void
test_overview_in_words(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	int64_t id;
	char *all, *fm;

	send(f, MON_0800 - 7 * DAY, &ds);
	/* Only mail kept for people: no delivery problems. */
	assert_int_equal(store_processed_add(st, "k1", "q1@elders.nl",
	    "ouder@jl.nu", "human", "", MON_0800 - DAY), 0);
	all = preview(f, MON_0800, &ds);
	fm = part_for(all, "femme@jl.nu");
	assert_has(fm, "\n\nMail voor mensen\n================\n\n");
	assert_lacks(fm, "Bezorgproblemen");
	free(fm);
	free(all);
	send(f, MON_0800, &ds);

	/* In English, with the server's text said once. */
	assert_int_equal(store_person_touch(st, "femme@jl.nu", "Femme", "en",
	    MON_0800, &id), 0);
	failed_mail(f, "invite", "x@jl.nu", "i1@jl.nu",
	    "RCPT TO: 550 5.1.1 <x@jl.nu>: Recipient address rejected: "
	    "<x@jl.nu>: Recipient address rejected: User unknown",
	    MON_0800 + 60);
	failed_mail(f, "refusal", "y@elders.nl", "r1@jl.nu", "RCPT TO: 550 no",
	    MON_0800 + 60);
	all = preview(f, MON_0800 + 120, &ds);
	fm = part_for(all, "femme@jl.nu");
	assert_has(fm, "Delivery problems\n=================\n");
	assert_has(fm, "- invitation to x@jl.nu (Monday 10 May 2027): RCPT TO: "
	    "550 5.1.1 <x@jl.nu>: Recipient address rejected: User unknown\n");
	assert_has(fm, "- refusal to y@elders.nl (");
	assert_lacks(fm, "Mail for people");
	free(fm);
	free(all);
}

/* Every text of a busy week: one blank line between blocks, never two. */
static void
test_one_blank_line_between_blocks(void **state)
{
	struct fx *f = *state;
	struct store *st = f->app.st;
	struct digest_stats ds;
	struct meeting m;
	int64_t erik, natuur, id;
	char *all;

	erik = someone(f, "erik@jl.nu", "nl", f->t0);
	assert_int_equal(store_membership_set(st, f->taal, erik, ROLE_MEMBER,
	    MS_ACTIVE, f->t0), 0);
	assert_int_equal(store_meeting_add(st, f->rekenen, "b1@jl.nu",
	    MON_0800 + 3 * DAY, MON_0800 + 3 * DAY + 7200, "", "",
	    MON_0800 - 8 * DAY, &m), 0);
	meeting_clear(&m);
	send(f, MON_0800 - 7 * DAY, &ds);
	assert_int_equal(store_news_add(st, f->rekenen, f->lead, "",
	    "\n\n  \nEerste alinea.\n\n\n\nTweede.\n \n\t\nDerde.\n\n",
	    NULL, MON_0800 - DAY, NULL), 0);
	assert_int_equal(store_meeting_get(st, f->rekenen, 1, &m), 0);
	m.status = MT_CANCELLED;
	m.sequence++;
	assert_int_equal(store_meeting_update(st, &m, MON_0800 - DAY), 0);
	meeting_clear(&m);
	/* Taal closes (Carol's final digest), natuur opens (Erik's digest
	 * is then only its call); the coordinator has every section. */
	assert_int_equal(store_network_set_state(st, f->taal, NET_CLOSED,
	    "lead", "", MON_0800 - DAY), 0);
	assert_int_equal(store_network_add(st, "natuur", "Natuur", "Vraag?",
	    NET_OPEN, 0, MON_0800 - DAY, &natuur), 0);
	assert_int_equal(store_person_set_bouncing(st, "alice@jl.nu",
	    "550 5.1.1 no such user", MON_0800 - DAY), 0);
	failed_mail(f, "reply", "gone@elders.nl", "x1@jl.nu",
	    "RCPT TO: 550 unknown", MON_0800 - DAY);
	assert_int_equal(store_processed_add(st, "k1", "q1@elders.nl",
	    "ouder@jl.nu", "human", "", MON_0800 - DAY), 0);
	for (int en = 0; en < 2; en++) {
		assert_int_equal(store_person_touch(st, "femme@jl.nu", "Femme",
		    en ? "en" : "nl", MON_0800 - DAY, &id), 0);
		assert_int_equal(store_person_touch(st, "carol@jl.nu", "Carol",
		    en ? "en" : "nl", MON_0800 - DAY, &id), 0);
		assert_int_equal(store_person_touch(st, "erik@jl.nu", "",
		    en ? "en" : "nl", MON_0800 - DAY, &id), 0);
		all = preview(f, MON_0800, &ds);
		assert_int_equal(ds.recipients, 5);	/* bob lead carol erik femme */
		assert_has(all, en ? "closed" : "afgesloten");
		assert_has(all, ":\n\nEerste alinea.\n\nTweede.\n\nDerde.\n\n");
		assert_has(all, en ? "Meeting 1, Thursday 13 May 2027: cancelled" :
		    "Bijeenkomst 1, donderdag 13 mei 2027: gaat niet door");
		assert_lacks(all, "\n\n\n");
		free(all);
	}
}

static int
group_setup(void **state)
{
	(void)state;
	log_init(getenv("LEERNET_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule_off),
		cmocka_unit_test(test_schedule_daily),
		cmocka_unit_test(test_schedule_weekly),
		cmocka_unit_test(test_schedule_summer_time),
		cmocka_unit_test_setup_teardown(test_first_run_then_nothing_new,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_news_members_meetings,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bouncing_gets_none,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_coordinator_problems,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_calls_and_closing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_for_list_mail,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_text_stays_text,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_news_is_cut,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_list_unsubscribe_never_surprises, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_cancelled_and_changed_meetings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_joined_in_the_same_second,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_overview_in_words,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_one_blank_line_between_blocks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
