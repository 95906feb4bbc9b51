/*
 * test_dates.c - dates and times as leads write them, time zones on both
 * sides of the summer-time changes, and the errors people get back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "dates.h"
#include "util.h"

#define AMS_RULE	"CET-1CEST,M3.5.0,M10.5.0/3"

static struct dt_zone *ams;		/* from the TZ database */
static struct dt_zone *ams_rule;	/* from the POSIX rule alone */

/* An instant from UTC fields, without the C library's zone. */
static time_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return timegm(&tm);
}

static int
setup(void **state)
{
	char err[256];

	(void)state;
	ams = dt_zone_load("Europe/Amsterdam", err, sizeof(err));
	if (ams == NULL) {
		print_error("%s\n", err);
		return -1;
	}
	ams_rule = dt_zone_posix(AMS_RULE, err, sizeof(err));
	if (ams_rule == NULL) {
		print_error("%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dt_zone_free(ams);
	dt_zone_free(ams_rule);
	return 0;
}

/* ---- dates ---- */

static const struct {
	const char	*in;
	int		 y, m, d;
} good_dates[] = {
	/* today is Sunday 10 January 2027 */
	{ "14-05-2027", 2027, 5, 14 },
	{ "14/5/2027", 2027, 5, 14 },
	{ "2027-05-14", 2027, 5, 14 },
	{ "2027/5/14", 2027, 5, 14 },
	{ "14.05.2027", 2027, 5, 14 },
	{ "14-05-27", 2027, 5, 14 },
	{ "14 mei 2027", 2027, 5, 14 },
	{ "14 mei 27", 2027, 5, 14 },		/* as 14-05-27 */
	{ "May 14, 27", 2027, 5, 14 },
	{ "14 May 2027", 2027, 5, 14 },
	{ "14 MEI 2027", 2027, 5, 14 },
	{ "  14\tmei   2027 ", 2027, 5, 14 },
	{ "14 mei", 2027, 5, 14 },
	{ "vrijdag 14 mei", 2027, 5, 14 },
	{ "Vrijdag, 14 mei 2027", 2027, 5, 14 },
	{ "vr 14 mei", 2027, 5, 14 },
	{ "vr. 14 mei", 2027, 5, 14 },
	{ "op vrijdag 14 mei a.s.", 2027, 5, 14 },
	{ "14 mei aanstaande", 2027, 5, 14 },
	{ "Friday 14 May", 2027, 5, 14 },
	{ "Friday, May 14th, 2027", 2027, 5, 14 },
	{ "fri 14th may", 2027, 5, 14 },
	{ "May 14", 2027, 5, 14 },
	{ "14e mei", 2027, 5, 14 },
	{ "14-5", 2027, 5, 14 },
	{ "14/05", 2027, 5, 14 },
	{ "1 september 2027", 2027, 9, 1 },
	{ "1 sept. 2027", 2027, 9, 1 },
	{ "14 okt. 2027", 2027, 10, 14 },
	{ "14 oct 2027", 2027, 10, 14 },
	{ "3 mrt 2027", 2027, 3, 3 },
	{ "3 maart", 2027, 3, 3 },
	{ "3 March", 2027, 3, 3 },
	{ "29-02-2028", 2028, 2, 29 },
	{ "donderdag 1 januari 2099", 2099, 1, 1 },
	/* no year: on or after today, else next year */
	{ "10 jan", 2027, 1, 10 },
	{ "9 jan", 2028, 1, 9 },
	{ "9-1", 2028, 1, 9 },
	{ "zondag 9 januari", 2028, 1, 9 },
	{ "29 feb", 2028, 2, 29 },
	{ "31 december", 2027, 12, 31 },
	/* relative */
	{ "vandaag", 2027, 1, 10 },
	{ "today", 2027, 1, 10 },
	{ "morgen", 2027, 1, 11 },
	{ "Tomorrow", 2027, 1, 11 },
	{ "overmorgen", 2027, 1, 12 },
	{ "maandag morgen", 2027, 1, 11 },
	/* dashes other than '-' */
	{ "14\xe2\x80\x93" "05\xe2\x80\x93" "2027", 2027, 5, 14 },
	{ "14\xc2\xa0mei\xc2\xa0" "2027", 2027, 5, 14 },
};

static const struct {
	const char	*in;
	enum dt_err	 code;
} bad_dates[] = {
	{ "", DT_ENODATE },
	{ "   ", DT_ENODATE },
	{ "32-05-2027", DT_ENOSUCHDAY },
	{ "29-02-2027", DT_ENOSUCHDAY },
	{ "14-13-2027", DT_ENOSUCHDAY },
	{ "5/14/2027", DT_ENOSUCHDAY },		/* American order */
	{ "0-05-2027", DT_ENOSUCHDAY },
	{ "31 april", DT_ENOSUCHDAY },
	{ "30 feb", DT_ENOSUCHDAY },
	{ "31 juni 2027", DT_ENOSUCHDAY },
	{ "2027-02-30", DT_ENOSUCHDAY },
	{ "dinsdag 14 mei 2027", DT_EWEEKDAY },
	{ "Tuesday 14 May", DT_EWEEKDAY },
	{ "maandag morgen vroeg", DT_EDATE },
	{ "zaterdag vandaag", DT_EWEEKDAY },
	{ "volgende week", DT_EDATE },
	{ "dinsdag", DT_EDATE },
	{ "14", DT_EDATE },
	{ "mei", DT_EDATE },
	{ "mei 2027", DT_EDATE },
	{ "14 foo 2027", DT_EDATE },
	{ "14-05-2027x", DT_EDATE },
	{ "14-05-2027 extra", DT_EDATE },
	{ "2027-05", DT_EDATE },
	{ "2027-05-14-01", DT_EDATE },
	{ "12345-05-2027", DT_EDATE },
	{ "14--05-2027", DT_EDATE },
	{ "14-05/2027", DT_EDATE },
	{ "14-05-12345", DT_EDATE },
	{ "14-05-202", DT_EDATE },
	{ "14-05-0900", DT_EDATE },
	{ "14-05-2500", DT_EDATE },
	{ "114 mei", DT_EDATE },
	{ "99999999999999999999-1-1", DT_EDATE },
	{ "14 février 2027", DT_EDATE },
	{ "☃", DT_EDATE },
	{ "\xff\xfe", DT_EDATE },
	{ "14 mei\x01" "2027", DT_EDATE },
	{ "15:00", DT_EDATE },
};

static void
today(struct dt_local *l)
{
	dt_localtime(ams, utc(2027, 1, 10, 11, 0), l);
	assert_int_equal(l->wday, 0);
}

static void
test_dates(void **state)
{
	struct dt_local t;
	struct dt_date d;
	struct dt_error err;
	size_t i;

	(void)state;
	today(&t);
	for (i = 0; i < ARRAY_LEN(good_dates); i++) {
		if (dt_parse_date(good_dates[i].in, &t, &d, &err) != 0)
			fail_msg("\"%s\": error %d", good_dates[i].in,
			    err.code);
		if (d.year != good_dates[i].y || d.mon != good_dates[i].m ||
		    d.day != good_dates[i].d)
			fail_msg("\"%s\": %d-%d-%d", good_dates[i].in, d.year,
			    d.mon, d.day);
		assert_int_equal(err.code, DT_OK);
	}
	for (i = 0; i < ARRAY_LEN(bad_dates); i++) {
		if (dt_parse_date(bad_dates[i].in, &t, &d, &err) != -1 ||
		    err.code != bad_dates[i].code)
			fail_msg("\"%s\": code %d, want %d", bad_dates[i].in,
			    err.code, bad_dates[i].code);
	}
	assert_int_equal(dt_parse_date(NULL, &t, &d, &err), -1);
	assert_int_equal(err.code, DT_ENODATE);

	/* The weekday that was meant: the error knows both. */
	assert_int_equal(dt_parse_date("dinsdag 14 mei 2027", &t, &d, &err),
	    -1);
	assert_int_equal(err.wday, 5);
	assert_int_equal(err.wday_written, 2);
	assert_int_equal(err.year, 2027);
	assert_int_equal(err.mon, 5);
	assert_int_equal(err.day, 14);
}

/* "dinsdag 11 januari" in December means next January. */
static void
test_new_year(void **state)
{
	struct dt_local t;
	struct dt_date d;
	struct dt_error err;

	(void)state;
	dt_localtime(ams, utc(2027, 12, 20, 9, 0), &t);
	assert_int_equal(dt_parse_date("dinsdag 11 januari", &t, &d, &err), 0);
	assert_int_equal(d.year, 2028);
	assert_int_equal(d.mon, 1);
	assert_int_equal(d.day, 11);
	assert_int_equal(dt_parse_date("14 jan", &t, &d, &err), 0);
	assert_int_equal(d.year, 2028);
	assert_int_equal(dt_parse_date("20 dec", &t, &d, &err), 0);
	assert_int_equal(d.year, 2027);
	assert_int_equal(dt_parse_date("19-12", &t, &d, &err), 0);
	assert_int_equal(d.year, 2028);
	/* 11 January 2028 is a Tuesday, not a Monday */
	assert_int_equal(dt_parse_date("maandag 11 januari", &t, &d, &err), -1);
	assert_int_equal(err.code, DT_EWEEKDAY);
	assert_int_equal(err.year, 2028);
	/* New Year's Eve late at night, local time: still 31 December */
	dt_localtime(ams, utc(2027, 12, 31, 22, 30), &t);
	assert_int_equal(t.day, 31);
	assert_int_equal(dt_parse_date("31 dec", &t, &d, &err), 0);
	assert_int_equal(d.year, 2027);
	assert_int_equal(dt_parse_date("morgen", &t, &d, &err), 0);
	assert_int_equal(d.year, 2028);
	assert_int_equal(d.mon, 1);
	assert_int_equal(d.day, 1);
	/* 29 February without a year: the next one that exists */
	dt_localtime(ams, utc(2028, 3, 1, 12, 0), &t);
	assert_int_equal(dt_parse_date("29 feb", &t, &d, &err), 0);
	assert_int_equal(d.year, 2032);
}

/* ---- times ---- */

static const struct {
	const char	*in;
	int		 start, end;
} good_times[] = {
	{ "15:00", 900, -1 },
	{ "15.00", 900, -1 },
	{ "15u", 900, -1 },
	{ "15u30", 930, -1 },
	{ "15h30", 930, -1 },
	{ "15 uur", 900, -1 },
	{ "15:00 uur", 900, -1 },
	{ "15", 900, -1 },
	{ "9:05", 545, -1 },
	{ "09:05", 545, -1 },
	{ "0:00", 0, -1 },
	{ "23:59", 1439, -1 },
	{ "om 15:00", 900, -1 },
	{ "at 3pm", 900, -1 },
	{ "3 PM", 900, -1 },
	{ "3:30 p.m.", 930, -1 },
	{ "12am", 0, -1 },
	{ "12pm", 720, -1 },
	{ "11.15am", 675, -1 },
	{ "15:00-17:00", 900, 1020 },
	{ "15.00 - 17.00", 900, 1020 },
	{ "15:00 tot 17:00", 900, 1020 },
	{ "15:00 to 17:00", 900, 1020 },
	{ "van 15:00 tot 17:00", 900, 1020 },
	{ "Van 15.00 tot 17.00 uur", 900, 1020 },
	{ "from 3pm until 5pm", 900, 1020 },
	{ "15-17 uur", 900, 1020 },
	{ "15u-17u30", 900, 1050 },
	{ "15:00\xe2\x80\x93" "17:00", 900, 1020 },	/* en dash */
	{ "15:00 \xe2\x80\x94 17:00", 900, 1020 },	/* em dash */
	{ "tussen 15 en 17 uur", 900, 1020 },
	{ "between 3pm and 5pm", 900, 1020 },
	/* English: the end's pm is the start's too */
	{ "3-5pm", 900, 1020 },
	{ "3 to 5pm", 900, 1020 },
	{ "3:30 - 5 pm", 930, 1020 },
	{ "between 3 and 5 p.m.", 900, 1020 },
	{ "11-1pm", 660, 780 },
	{ "12-2pm", 720, 840 },
	{ "9-11am", 540, 660 },
	{ "3am-5pm", 180, 1020 },
	{ "03:00-5pm", 180, 1020 },
	/* as said in Dutch: twelve hours, one to six in the afternoon */
	{ "half vier", 930, -1 },
	{ "half vier tot vijf", 930, 1020 },
	{ "van half 4 tot half 6", 930, 1050 },
	{ "kwart over drie", 915, -1 },
	{ "kwart voor vijf - zes uur", 1005, 1080 },
	{ "vier uur", 960, -1 },
	{ "half acht", 450, -1 },	/* seven to twelve: the morning */
	{ "half zeven tot acht", 1110, 1200 },
	{ "kwart voor zeven", 1125, -1 },
	{ "half een", 750, -1 },
	{ "tien tot twaalf uur", 600, 720 },
	{ "15:30 tot vijf uur", 930, 1020 },
	/* parsed; refused later by dt_plan */
	{ "15:00-14:00", 900, 840 },
};

static const struct {
	const char	*in;
	enum dt_err	 code;
} bad_times[] = {
	{ "", DT_ENOTIME },
	{ "  ", DT_ENOTIME },
	{ "van", DT_ENOTIME },
	{ "25:00", DT_ENOSUCHTIME },
	{ "24:00", DT_ENOSUCHTIME },
	{ "15:60", DT_ENOSUCHTIME },
	{ "13pm", DT_ENOSUCHTIME },
	{ "0am", DT_ENOSUCHTIME },
	{ "15:00-25:00", DT_ENOSUCHTIME },
	{ "15:0", DT_ETIME },
	{ "15:000", DT_ETIME },
	{ "1500", DT_ETIME },
	{ "15u3", DT_ETIME },
	{ "middag", DT_ETIME },
	{ "15:00-", DT_ETIME },
	{ "15:00 tot", DT_ETIME },
	{ "15:00 17:00", DT_ETIME },
	{ "-15:00", DT_ETIME },
	{ "15 : 00", DT_ETIME },
	{ "15:00 en 17:00", DT_ETIME },
	{ "15:00-17:00-19:00", DT_ETIME },
	{ "15:00 uur 's middags", DT_ETIME },
	{ "half", DT_ETIME },
	{ "kwart over", DT_ETIME },
	{ "half 13", DT_ENOSUCHTIME },
	{ "\xff\xfe", DT_ETIME },
};

static void
test_times(void **state)
{
	struct dt_clock c;
	struct dt_error err;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(good_times); i++) {
		if (dt_parse_time(good_times[i].in, &c, &err) != 0)
			fail_msg("\"%s\": error %d", good_times[i].in,
			    err.code);
		if (c.start != good_times[i].start ||
		    c.end != good_times[i].end)
			fail_msg("\"%s\": %d-%d", good_times[i].in, c.start,
			    c.end);
	}
	for (i = 0; i < ARRAY_LEN(bad_times); i++)
		if (dt_parse_time(bad_times[i].in, &c, &err) != -1 ||
		    err.code != bad_times[i].code)
			fail_msg("\"%s\": code %d, want %d", bad_times[i].in,
			    err.code, bad_times[i].code);
	assert_int_equal(dt_parse_time(NULL, &c, &err), -1);
	assert_int_equal(err.code, DT_ENOTIME);
}

/* ---- planning ---- */

static const struct {
	const char	*date, *time;
	const char	*start, *end;		/* ISO 8601, local */
} plans[] = {
	{ "14-05-2027", "15:00-17:00",
	  "2027-05-14T15:00:00+02:00", "2027-05-14T17:00:00+02:00" },
	{ "vrijdag 14 mei", "15.00",
	  "2027-05-14T15:00:00+02:00", "2027-05-14T17:00:00+02:00" },
	{ "14 mei 2027 15:00-16:30", NULL,
	  "2027-05-14T15:00:00+02:00", "2027-05-14T16:30:00+02:00" },
	{ "2027-05-14T09:00", "",
	  "2027-05-14T09:00:00+02:00", "2027-05-14T11:00:00+02:00" },
	{ "Friday 14 May 2027, at 3pm", NULL,
	  "2027-05-14T15:00:00+02:00", "2027-05-14T17:00:00+02:00" },
	/* two digits after a month that can be an hour are one */
	{ "14 mei 15", NULL,
	  "2027-05-14T15:00:00+02:00", "2027-05-14T17:00:00+02:00" },
	{ "14 mei 27 15:00", NULL,
	  "2027-05-14T15:00:00+02:00", "2027-05-14T17:00:00+02:00" },
	{ "14 mei 23", NULL,
	  "2027-05-14T23:00:00+02:00", "2027-05-15T01:00:00+02:00" },
	/* the time line wins over a time in the date line */
	{ "14 mei 2027 om 10:00", "15u",
	  "2027-05-14T15:00:00+02:00", "2027-05-14T17:00:00+02:00" },
	{ "12-02-2027", "15:00",
	  "2027-02-12T15:00:00+01:00", "2027-02-12T17:00:00+01:00" },
	/* late: the end is the next day */
	{ "12-02-2027", "23:00",
	  "2027-02-12T23:00:00+01:00", "2027-02-13T01:00:00+01:00" },
	/* summer time starts Sunday 28 March 2027, 02:00 -> 03:00 */
	{ "27-03-2027", "15:00",
	  "2027-03-27T15:00:00+01:00", "2027-03-27T17:00:00+01:00" },
	{ "28-03-2027", "01:59",
	  "2027-03-28T01:59:00+01:00", "2027-03-28T04:59:00+02:00" },
	{ "28-03-2027", "03:00",
	  "2027-03-28T03:00:00+02:00", "2027-03-28T05:00:00+02:00" },
	{ "28-03-2027", "01:00-04:00",
	  "2027-03-28T01:00:00+01:00", "2027-03-28T04:00:00+02:00" },
	{ "29-03-2027", "15:00",
	  "2027-03-29T15:00:00+02:00", "2027-03-29T17:00:00+02:00" },
	/* summer time ends Sunday 31 October 2027, 03:00 -> 02:00 */
	{ "30-10-2027", "15:00",
	  "2027-10-30T15:00:00+02:00", "2027-10-30T17:00:00+02:00" },
	{ "31-10-2027", "01:00-04:00",
	  "2027-10-31T01:00:00+02:00", "2027-10-31T04:00:00+01:00" },
	{ "31-10-2027", "02:30",		/* twice: the first */
	  "2027-10-31T02:30:00+02:00", "2027-10-31T03:30:00+01:00" },
	{ "31-10-2027", "02:15-02:45",
	  "2027-10-31T02:15:00+02:00", "2027-10-31T02:45:00+02:00" },
	{ "31-10-2027", "03:00",
	  "2027-10-31T03:00:00+01:00", "2027-10-31T05:00:00+01:00" },
	{ "01-11-2027", "15:00",
	  "2027-11-01T15:00:00+01:00", "2027-11-01T17:00:00+01:00" },
	/* starting right now is not the past */
	{ "10-01-2027", "12:00",
	  "2027-01-10T12:00:00+01:00", "2027-01-10T14:00:00+01:00" },
	/* beyond the TZif table: the zone's rule takes over */
	{ "25-03-2051", "15:00",
	  "2051-03-25T15:00:00+01:00", "2051-03-25T17:00:00+01:00" },
	{ "26-03-2051", "15:00",
	  "2051-03-26T15:00:00+02:00", "2051-03-26T17:00:00+02:00" },
};

static const time_t *
plan_now(void)
{
	static time_t now;

	now = utc(2027, 1, 10, 11, 0);		/* 12:00 in Amsterdam */
	return &now;
}

static void
test_plan(void **state)
{
	struct dt_span s;
	struct dt_error err;
	char a[DT_ISO_LEN], b[DT_ISO_LEN];
	size_t i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		const struct dt_zone *z = k ? ams_rule : ams;

		for (i = 0; i < ARRAY_LEN(plans); i++) {
			if (dt_plan(z, plans[i].date, plans[i].time, NULL,
			    *plan_now(), &s, &err) != 0)
				fail_msg("%s / %s: error %d", plans[i].date,
				    plans[i].time ? plans[i].time : "NULL",
				    err.code);
			dt_format_iso(z, s.start, a);
			dt_format_iso(z, s.end, b);
			if (strcmp(a, plans[i].start) != 0 ||
			    strcmp(b, plans[i].end) != 0)
				fail_msg("%s / %s: %s - %s, want %s - %s",
				    plans[i].date, plans[i].time ?
				    plans[i].time : "NULL", a, b,
				    plans[i].start, plans[i].end);
			assert_true(s.end > s.start);
			assert_int_equal(s.lstart.hour * 100 + s.lstart.min,
			    atoi(plans[i].start + 11) * 100 +
			    atoi(plans[i].start + 14));
		}
	}

	/* Real durations across the changes. */
	assert_int_equal(dt_plan(ams, "28-03-2027", "01:00-04:00", NULL,
	    *plan_now(), &s, &err), 0);
	assert_int_equal(s.end - s.start, 2 * 3600);
	assert_int_equal(s.start, utc(2027, 3, 28, 0, 0));
	assert_int_equal(dt_plan(ams, "31-10-2027", "01:00-04:00", NULL,
	    *plan_now(), &s, &err), 0);
	assert_int_equal(s.end - s.start, 4 * 3600);
	assert_int_equal(s.start, utc(2027, 10, 30, 23, 0));
	assert_int_equal(s.lstart.isdst, 1);
	assert_int_equal(s.lend.isdst, 0);
	assert_int_equal(s.lstart.utcoff, 7200);
	assert_int_equal(s.lend.utcoff, 3600);
	assert_int_equal(s.lstart.wday, 0);
}

static const struct {
	const char	*date, *time;
	enum dt_err	 code;
} bad_plans[] = {
	{ NULL, NULL, DT_ENODATE },
	{ "", "15:00", DT_ENODATE },
	{ "14-05-2027", NULL, DT_ENOTIME },
	{ "14-05-2027", "  ", DT_ENOTIME },
	{ "14-05-2027 blabla", NULL, DT_EDATE },
	{ "14-05-2027 blabla", "15:00", DT_EDATE },
	{ "14-05-2027 om", NULL, DT_EDATE },
	{ "14-05-2027 25:00", NULL, DT_ENOSUCHTIME },
	{ "32-05-2027", "15:00", DT_ENOSUCHDAY },
	{ "dinsdag 14 mei", "15:00", DT_EWEEKDAY },
	{ "14-05-2027", "15:00-14:00", DT_EORDER },
	{ "14-05-2027", "15:00-15:00", DT_EORDER },
	{ "14-05-2027", "nu", DT_ETIME },
	{ "28-03-2027", "02:30", DT_EGAP },
	{ "28-03-2027", "02:00", DT_EGAP },
	{ "28-03-2027", "02:59", DT_EGAP },
	{ "28-03-2027", "01:00-02:30", DT_EGAP },
	{ "09-01-2027", "15:00", DT_EPAST },
	{ "10-01-2027", "11:59", DT_EPAST },
	{ "vandaag", "9:00", DT_EPAST },
	{ "14-05-1999", "15:00", DT_EPAST },
};

static void
test_plan_errors(void **state)
{
	struct dt_span s;
	struct dt_error err;
	size_t i, k;

	(void)state;
	for (k = 0; k < 2; k++)
		for (i = 0; i < ARRAY_LEN(bad_plans); i++)
			if (dt_plan(k ? ams_rule : ams, bad_plans[i].date,
			    bad_plans[i].time, NULL, *plan_now(), &s,
			    &err) != -1 || err.code != bad_plans[i].code)
				fail_msg("%s / %s: code %d, want %d",
				    bad_plans[i].date ? bad_plans[i].date :
				    "NULL", bad_plans[i].time ?
				    bad_plans[i].time : "NULL", err.code,
				    bad_plans[i].code);

	/* A start checked again when a confirmation comes in late. */
	assert_int_equal(dt_check_ahead(ams, utc(2027, 1, 10, 12, 0),
	    utc(2027, 1, 10, 11, 0), &err), 0);
	assert_int_equal(err.code, DT_OK);
	assert_int_equal(dt_check_ahead(ams, utc(2027, 1, 9, 14, 0),
	    utc(2027, 1, 10, 11, 0), &err), -1);
	assert_int_equal(err.code, DT_EPAST);
	{
		char *m = dt_error_message(&err, LANG_NL);

		assert_string_equal(m, "Zaterdag 9 januari 2027 om 15:00 ligt "
		    "in het verleden. Kies een datum in de toekomst.");
		free(m);
	}
}

/* A move keeps what it does not change. */
static void
test_replan(void **state)
{
	struct dt_span old, s;
	struct dt_error err;
	char a[DT_ISO_LEN], b[DT_ISO_LEN];

	(void)state;
	assert_int_equal(dt_plan(ams, "14-05-2027", "15:00-18:00", NULL,
	    *plan_now(), &old, &err), 0);

	assert_int_equal(dt_plan(ams, "21-05-2027", NULL, &old, *plan_now(),
	    &s, &err), 0);
	assert_string_equal(dt_format_iso(ams, s.start, a),
	    "2027-05-21T15:00:00+02:00");
	assert_string_equal(dt_format_iso(ams, s.end, b),
	    "2027-05-21T18:00:00+02:00");

	assert_int_equal(dt_plan(ams, NULL, "16:00", &old, *plan_now(), &s,
	    &err), 0);
	assert_string_equal(dt_format_iso(ams, s.start, a),
	    "2027-05-14T16:00:00+02:00");
	assert_string_equal(dt_format_iso(ams, s.end, b),
	    "2027-05-14T19:00:00+02:00");

	assert_int_equal(dt_plan(ams, "", "16:00-16:30", &old, *plan_now(), &s,
	    &err), 0);
	assert_string_equal(dt_format_iso(ams, s.end, b),
	    "2027-05-14T16:30:00+02:00");

	assert_int_equal(dt_plan(ams, "1-12-2027", "9u", &old, *plan_now(), &s,
	    &err), 0);
	assert_string_equal(dt_format_iso(ams, s.start, a),
	    "2027-12-01T09:00:00+01:00");
	assert_string_equal(dt_format_iso(ams, s.end, b),
	    "2027-12-01T12:00:00+01:00");

	assert_int_equal(dt_plan(ams, NULL, NULL, &old, *plan_now(), &s, &err),
	    -1);
	assert_int_equal(err.code, DT_ENODATE);
	/* moving into the past */
	assert_int_equal(dt_plan(ams, "1-1-2027", NULL, &old, *plan_now(), &s,
	    &err), -1);
	assert_int_equal(err.code, DT_EPAST);
}

/* ---- messages ---- */

static char *
plan_message(const char *date, const char *time, enum lang lang)
{
	struct dt_span s;
	struct dt_error err;

	assert_int_equal(dt_plan(ams, date, time, NULL, *plan_now(), &s, &err),
	    -1);
	return dt_error_message(&err, lang);
}

static const struct {
	const char	*date, *time;
	enum lang	 lang;
	const char	*msg;
} messages[] = {
	{ "32-05-2027", "15:00", LANG_NL,
	  "De datum '32-05-2027' bestaat niet. Schrijf bijvoorbeeld: datum: "
	  "14-05-2027" },
	{ "32-05-2027", "15:00", LANG_EN,
	  "The date '32-05-2027' does not exist. Write for example: date: "
	  "14-05-2027" },
	{ "dinsdag 14 mei 2027", "15:00", LANG_NL,
	  "14 mei 2027 is een vrijdag, geen dinsdag. Schrijf bijvoorbeeld: "
	  "datum: vrijdag 14 mei 2027" },
	{ "Tuesday 14 May", "15:00", LANG_EN,
	  "14 May 2027 is a Friday, not a Tuesday. Write for example: date: "
	  "Friday 14 May 2027" },
	{ "volgende week", "15:00", LANG_NL,
	  "De datum 'volgende week' begrijp ik niet. Schrijf bijvoorbeeld: "
	  "datum: 14-05-2027 (of 14 mei 2027, of vrijdag 14 mei)" },
	{ "next week", "15:00", LANG_EN,
	  "I cannot read the date 'next week'. Write for example: date: "
	  "14-05-2027 (or 14 May 2027, or Friday 14 May)" },
	{ NULL, "15:00", LANG_NL,
	  "Er staat geen datum in je bericht. Schrijf bijvoorbeeld: datum: "
	  "14-05-2027" },
	{ "14-05-2027", NULL, LANG_EN,
	  "Your message gives no time. Write for example: time: 15:00-17:00" },
	{ "14-05-2027", "rond vieren", LANG_NL,
	  "De tijd 'rond vieren' begrijp ik niet. Schrijf bijvoorbeeld: tijd: "
	  "15:00-17:00 (of 15.00 tot 17.00, of 15u)" },
	{ "14-05-2027", "25:00", LANG_EN,
	  "The time '25:00' does not exist. Write for example: time: "
	  "15:00-17:00" },
	{ "14-05-2027", "15:00-14:00", LANG_NL,
	  "De eindtijd 14:00 ligt niet na de begintijd 15:00. Schrijf "
	  "bijvoorbeeld: tijd: 15:00-17:00" },
	{ "14-05-2027", "15:00 to 14:00", LANG_EN,
	  "The end time 14:00 is not after the start time 15:00. Write for "
	  "example: time: 15:00-17:00" },
	{ "28-03-2027", "02:30", LANG_NL,
	  "Op zondag 28 maart 2027 bestaat 02:30 niet in tijdzone "
	  "Europe/Amsterdam: die nacht gaat de klok vooruit. Kies een andere "
	  "tijd, bijvoorbeeld 03:30." },
	{ "28-03-2027", "01:00-02:15", LANG_EN,
	  "On Sunday 28 March 2027 there is no 02:15 in time zone "
	  "Europe/Amsterdam: the clocks go forward that night. Choose another "
	  "time, for example 03:15." },
	{ "09-01-2027", "15:00", LANG_NL,
	  "Zaterdag 9 januari 2027 om 15:00 ligt in het verleden. Kies een "
	  "datum in de toekomst." },
	{ "09-01-2027", "15:00", LANG_EN,
	  "Saturday 9 January 2027 at 15:00 is in the past. Choose a date in "
	  "the future." },
	/* bad input is quoted back cleaned and cut */
	{ "14\x01mei\x7f\xff" "2027", "15:00", LANG_NL,
	  "De datum '14 mei ?2027' begrijp ik niet. Schrijf bijvoorbeeld: "
	  "datum: 14-05-2027 (of 14 mei 2027, of vrijdag 14 mei)" },
	{ "ééééééééééééééééééééééééééééééééééééééééééééééé", "15:00", LANG_EN,
	  "I cannot read the date 'éééééééééééééééééééééééééééééé...'. Write "
	  "for example: date: 14-05-2027 (or 14 May 2027, or Friday 14 May)" },
};

/* No network meets at night: "3 uur" read as 03:00 is asked back with
 * the afternoon as the suggestion, its end too when it has one. */
static void
test_daytime(void **state)
{
	static const struct {
		const char	*date, *time;
		enum lang	 lang;
		const char	*msg;	/* NULL: fine */
	} cases[] = {
		/* Without an end, the two hours a meeting lasts. */
		{ "14-05-2027", "3 uur", LANG_NL, "03:00 is midden in de nacht. "
		    "Bedoel je 15:00? Schrijf tijden op de 24-uursklok, "
		    "bijvoorbeeld: tijd: 15:00-17:00" },
		{ "14-05-2027", "3-5", LANG_NL, "03:00 is midden in de nacht. "
		    "Bedoel je 15:00? Schrijf tijden op de 24-uursklok, "
		    "bijvoorbeeld: tijd: 15:00-17:00" },
		{ "14-05-2027", "00:30", LANG_EN, "00:30 is in the middle of "
		    "the night. Did you mean 12:30? Write times on the 24-hour "
		    "clock, for example: time: 12:30-14:30" },
		{ "14-05-2027", "6:59", LANG_NL, "06:59 is midden in de nacht. "
		    "Bedoel je 18:59? Schrijf tijden op de 24-uursklok, "
		    "bijvoorbeeld: tijd: 18:59-20:59" },
		/* An end in the afternoon already is no part of it. */
		{ "14-05-2027", "5:00-23:30", LANG_NL, "05:00 is midden in de "
		    "nacht. Bedoel je 17:00? Schrijf tijden op de 24-uursklok, "
		    "bijvoorbeeld: tijd: 17:00" },
		{ "14-05-2027", "7:00", LANG_NL, NULL },
		{ "14-05-2027", "15u", LANG_NL, NULL },
		{ "14-05-2027", "23:00-23:59", LANG_NL, NULL },
	};
	struct dt_span s;
	struct dt_error err;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *m;

		assert_int_equal(dt_plan(ams, cases[i].date, cases[i].time,
		    NULL, *plan_now(), &s, &err), 0);
		if (cases[i].msg == NULL) {
			assert_int_equal(dt_check_daytime(&s, &err), 0);
			assert_int_equal(err.code, DT_OK);
			continue;
		}
		assert_int_equal(dt_check_daytime(&s, &err), -1);
		assert_int_equal(err.code, DT_ENIGHT);
		m = dt_error_message(&err, cases[i].lang);
		if (strcmp(m, cases[i].msg) != 0)
			fail_msg("%s / %s:\n got: %s\nwant: %s", cases[i].date,
			    cases[i].time, m, cases[i].msg);
		free(m);
	}
}

static void
test_messages(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(messages); i++) {
		char *m = plan_message(messages[i].date, messages[i].time,
		    messages[i].lang);

		if (strcmp(m, messages[i].msg) != 0)
			fail_msg("message %zu:\n got: %s\nwant: %s", i, m,
			    messages[i].msg);
		assert_null(strchr(m, '\n'));
		free(m);
	}
}

static void
test_format(void **state)
{
	struct dt_span s;
	struct dt_error err;
	struct dt_zone *z;
	char iso[DT_ISO_LEN], e[256];
	char *t;

	(void)state;
	assert_int_equal(dt_plan(ams, "14-05-2027", "15:00-17:00", NULL,
	    *plan_now(), &s, &err), 0);
	t = dt_format_span(&s, LANG_NL);
	assert_string_equal(t,
	    "vrijdag 14 mei 2027, 15:00\xe2\x80\x93" "17:00");
	free(t);
	t = dt_format_span(&s, LANG_EN);
	assert_string_equal(t, "Friday 14 May 2027, 15:00\xe2\x80\x93" "17:00");
	free(t);
	t = dt_format_day(&s.lstart, LANG_NL);
	assert_string_equal(t, "vrijdag 14 mei 2027");
	free(t);

	assert_int_equal(dt_plan(ams, "31-12-2027", "23:00", NULL,
	    *plan_now(), &s, &err), 0);
	t = dt_format_span(&s, LANG_NL);
	assert_string_equal(t, "vrijdag 31 december 2027, 23:00 \xe2\x80\x93 "
	    "zaterdag 1 januari 2028, 01:00");
	free(t);

	/* Offsets west of UTC and in half hours. */
	z = dt_zone_load("America/St_Johns", e, sizeof(e));
	assert_non_null(z);
	assert_string_equal(dt_format_iso(z, utc(2027, 1, 10, 12, 0), iso),
	    "2027-01-10T08:30:00-03:30");
	dt_zone_free(z);
	z = dt_zone_load("Asia/Kolkata", e, sizeof(e));
	assert_non_null(z);
	assert_string_equal(dt_format_iso(z, utc(2027, 1, 10, 12, 0), iso),
	    "2027-01-10T17:30:00+05:30");
	dt_zone_free(z);
	z = dt_zone_load("UTC", e, sizeof(e));
	assert_non_null(z);
	assert_string_equal(dt_format_iso(z, utc(2027, 1, 10, 12, 0), iso),
	    "2027-01-10T12:00:00+00:00");
	assert_string_equal(dt_zone_name(z), "UTC");
	dt_zone_free(z);
}

/* ---- zones ---- */

/*
 * Our conversion against the C library's for every hour (and around each
 * change, every minute) of many years.  The test may set TZ: it is a
 * single-threaded program, unlike the daemon.
 */
static void
compare_with_libc(const char *name, const char *tzenv,
    const struct dt_zone *z, int from, int to)
{
	time_t t, end = utc(to, 1, 1, 0, 0);
	struct dt_local l;
	struct tm tm;

	setenv("TZ", tzenv, 1);
	tzset();
	for (t = utc(from, 1, 1, 0, 0); t < end; t += 3600) {
		time_t u;

		dt_localtime(z, t, &l);
		localtime_r(&t, &tm);
		if (l.year != tm.tm_year + 1900 || l.mon != tm.tm_mon + 1 ||
		    l.day != tm.tm_mday || l.hour != tm.tm_hour ||
		    l.min != tm.tm_min || l.wday != tm.tm_wday ||
		    l.utcoff != tm.tm_gmtoff || l.isdst != (tm.tm_isdst > 0))
			fail_msg("%s at %lld: %d-%d-%d %d:%d %+ld, libc "
			    "%d-%d-%d %d:%d %+ld", name, (long long)t, l.year,
			    l.mon, l.day, l.hour, l.min, l.utcoff,
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_gmtoff);
		/* and back: the same instant, or an earlier one with the
		 * same wall-clock time (the first of a repeated hour) */
		if (dt_mktime(z, l.year, l.mon, l.day, l.hour, l.min, &u) != 0)
			fail_msg("%s: no instant for %lld", name, (long long)t);
		if (u != t) {
			struct dt_local l2;

			dt_localtime(z, u, &l2);
			if (u > t || l2.day != l.day || l2.hour != l.hour ||
			    l2.min != l.min)
				fail_msg("%s: mktime at %lld gave %lld", name,
				    (long long)t, (long long)u);
		}
	}
	unsetenv("TZ");
	tzset();
}

static void
test_zone_vs_libc(void **state)
{
	static const struct {
		const char	*name;
		int		 from, to;
	} zones[] = {
		{ "Europe/Amsterdam", 1970, 2060 },
		{ "America/New_York", 2000, 2045 },
		{ "Australia/Sydney", 2000, 2045 },	/* southern summer */
		{ "America/St_Johns", 2000, 2045 },
		{ "Asia/Kolkata", 2000, 2030 },
		{ "Europe/London", 2020, 2045 },
		{ "Pacific/Apia", 2005, 2030 },		/* skipped a day */
	};
	static const struct {
		const char	*rule;
		int		 from, to;
	} rules[] = {
		{ AMS_RULE, 1997, 2060 },
		{ "AEST-10AEDT,M10.1.0,M4.1.0/3", 2008, 2045 },
		{ "EST5EDT", 2008, 2040 },
		{ "<+0330>-3:30", 2020, 2025 },
		{ "IST-2IDT,M3.4.4/26,M10.5.0", 2013, 2040 },	/* 26:00 */
		{ "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", 2024, 2040 },
		{ "XXX-1YYY,J60/2,J300/3", 2020, 2040 },
		{ "XXX-1YYY,59/2,299/3", 2020, 2040 },
	};
	char err[256];
	size_t i;

	(void)state;
	if (access("/usr/share/zoneinfo/America/New_York", R_OK) != 0)
		skip();
	for (i = 0; i < ARRAY_LEN(zones); i++) {
		struct dt_zone *z = dt_zone_load(zones[i].name, err,
		    sizeof(err));

		if (z == NULL)
			fail_msg("%s", err);
		compare_with_libc(zones[i].name, zones[i].name, z,
		    zones[i].from, zones[i].to);
		dt_zone_free(z);
	}
	for (i = 0; i < ARRAY_LEN(rules); i++) {
		struct dt_zone *z = dt_zone_posix(rules[i].rule, err,
		    sizeof(err));

		if (z == NULL)
			fail_msg("%s", err);
		compare_with_libc(rules[i].rule, rules[i].rule, z,
		    rules[i].from, rules[i].to);
		dt_zone_free(z);
	}
}

static void
test_mktime(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(dt_mktime(ams, 2027, 3, 28, 1, 59, &t), 0);
	assert_int_equal(t, utc(2027, 3, 28, 0, 59));
	assert_int_equal(dt_mktime(ams, 2027, 3, 28, 2, 0, &t), -1);
	assert_int_equal(dt_mktime(ams, 2027, 3, 28, 2, 59, &t), -1);
	assert_int_equal(dt_mktime(ams, 2027, 3, 28, 3, 0, &t), 0);
	assert_int_equal(t, utc(2027, 3, 28, 1, 0));
	assert_int_equal(dt_mktime(ams, 2027, 10, 31, 2, 0, &t), 0);
	assert_int_equal(t, utc(2027, 10, 31, 0, 0));
	assert_int_equal(dt_mktime(ams, 2027, 10, 31, 2, 59, &t), 0);
	assert_int_equal(t, utc(2027, 10, 31, 0, 59));
	assert_int_equal(dt_mktime(ams, 2027, 10, 31, 3, 0, &t), 0);
	assert_int_equal(t, utc(2027, 10, 31, 2, 0));
	/* not a time at all */
	assert_int_equal(dt_mktime(ams, 2027, 2, 29, 12, 0, &t), -1);
	assert_int_equal(dt_mktime(ams, 2027, 13, 1, 12, 0, &t), -1);
	assert_int_equal(dt_mktime(ams, 2027, 1, 1, 24, 0, &t), -1);
	assert_int_equal(dt_mktime(ams, 2027, 1, 1, 12, 60, &t), -1);
	assert_int_equal(dt_mktime(ams, 2027, 1, 0, 12, 0, &t), -1);
	/* far past and future */
	assert_int_equal(dt_mktime(ams, 1900, 1, 1, 0, 0, &t), 0);
	assert_int_equal(dt_mktime(ams, 2400, 7, 1, 12, 0, &t), 0);
	assert_int_equal(t, utc(2400, 7, 1, 10, 0));
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_zone_errors(void **state)
{
	static const char *const names[] = {
		"", "../etc/passwd", "Europe/../../etc/passwd",
		"/etc/localtime", "Europe/Nowhere", "Europe",
		"Europe/Amsterdam\n", "Europe Amsterdam", "Europe/Amsterdam;rm",
		NULL,
	};
	static const char *const rules[] = {
		"", "CET", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
		"CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0",
		"CET-1CEST,M3.5.0,M10.5.0/200", "CET-25", "C-1", "<+1>-1",
		"CET-1CEST,J0,J100", "CET-1CEST,366,100", "CET-1x", NULL,
	};
	char err[256], dir[] = "/tmp/test_dates.XXXXXX", path[512];
	unsigned char *buf;
	FILE *f;
	size_t i, len;

	(void)state;
	for (i = 0; names[i]; i++) {
		err[0] = '\0';
		if (dt_zone_load(names[i], err, sizeof(err)) != NULL)
			fail_msg("zone \"%s\" loaded", names[i]);
		assert_true(strlen(err) > 0);
	}
	assert_null(dt_zone_load(NULL, err, sizeof(err)));
	for (i = 0; rules[i]; i++)
		if (dt_zone_posix(rules[i], err, sizeof(err)) != NULL)
			fail_msg("rule \"%s\" accepted", rules[i]);
	assert_null(dt_zone_posix(NULL, err, sizeof(err)));

	/* Damaged zone files through $TZDIR: refused, never read beyond. */
	f = fopen("/usr/share/zoneinfo/Europe/Amsterdam", "rb");
	assert_non_null(f);
	buf = xmalloc(64 * 1024);
	len = fread(buf, 1, 64 * 1024, f);
	fclose(f);
	assert_true(len > 100);
	assert_non_null(mkdtemp(dir));
	setenv("TZDIR", dir, 1);
	snprintf(path, sizeof(path), "%s/Zone", dir);
	write_file(path, buf, len);
	{
		struct dt_zone *z = dt_zone_load("Zone", err, sizeof(err));

		assert_non_null(z);	/* the copy itself is good */
		dt_zone_free(z);
	}
	for (i = 0; i < len; i += (i < 200 ? 1 : 97)) {
		struct dt_zone *z;

		write_file(path, buf, i);
		/* Only the end of the data (no footer) is a valid end. */
		if ((z = dt_zone_load("Zone", err, sizeof(err))) != NULL &&
		    i + 64 < len)
			fail_msg("truncated at %zu: loaded", i);
		dt_zone_free(z);
	}
	for (i = 0; i < len; i += 7) {
		struct dt_zone *z;
		unsigned char save = buf[i];
		struct dt_local l;

		buf[i] ^= 0xff;
		write_file(path, buf, len);
		/* may load (a changed offset), must not misbehave */
		if ((z = dt_zone_load("Zone", err, sizeof(err))) != NULL) {
			dt_localtime(z, utc(2027, 5, 14, 12, 0), &l);
			dt_zone_free(z);
		}
		buf[i] = save;
	}
	write_file(path, "not a zone file at all", 22);
	assert_null(dt_zone_load("Zone", err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/Dir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(dt_zone_load("Dir", err, sizeof(err)));
	rmdir(path);
	snprintf(path, sizeof(path), "%s/Zone", dir);
	unlink(path);
	rmdir(dir);
	unsetenv("TZDIR");
	free(buf);
}

/* Whatever bytes come in: an answer, a bounded message, no crash. */
static void
test_garbage(void **state)
{
	char buf[300], *m;
	unsigned seed = 99;
	struct dt_span s;
	struct dt_error err;
	struct dt_local t;
	struct dt_date d;
	struct dt_clock c;
	size_t i, j, len;
	static const char alphabet[] = "0123456789-/.:, uhmeiapjanvrt"
	    "\xe2\x80\x93\xc2\xa0\xff";

	(void)state;
	today(&t);
	for (i = 0; i < 20000; i++) {
		len = i % (sizeof(buf) - 1);
		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			buf[j] = (i & 1) ? alphabet[(seed >> 16) %
			    (sizeof(alphabet) - 1)] : (char)((seed >> 16) | 1);
		}
		buf[len] = '\0';
		if (dt_plan(ams, buf, (i & 2) ? buf + len / 2 : NULL, NULL,
		    *plan_now(), &s, &err) == 0)
			assert_true(s.end > s.start);
		else {
			m = dt_error_message(&err, (i & 4) ? LANG_EN : LANG_NL);
			assert_true(strlen(m) < 400);
			assert_true(utf8_valid(m, strlen(m)));
			free(m);
		}
		dt_parse_date(buf, &t, &d, &err);
		dt_parse_time(buf, &c, &err);
	}
	/* and a long one */
	m = xmalloc(100001);
	memset(m, '1', 100000);
	m[100000] = '\0';
	assert_int_equal(dt_plan(ams, m, m, NULL, *plan_now(), &s, &err), -1);
	for (i = 0; i < 100000; i += 2)
		m[i] = '-';
	assert_int_equal(dt_plan(ams, m, m, NULL, *plan_now(), &s, &err), -1);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_new_year),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_replan),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_daytime),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_mktime),
		cmocka_unit_test(test_zone_vs_libc),
		cmocka_unit_test(test_zone_errors),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
