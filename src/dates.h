/*
 * dates.h - the dates and times of SPEC §4 ("datum: dinsdag 14 mei",
 * "tijd: 15:00-17:00") turned into instants, and instants turned back into
 * local time and text, in a named time zone.
 *
 * Zones are read from the TZ database (TZif files, whose POSIX rule covers
 * the years after the last listed change) and never change once loaded:
 * every function here is pure and thread-safe, and none touches TZ or the
 * C library's idea of the local zone.  `now` is always an argument.
 */
#ifndef LEERNET_DATES_H
#define LEERNET_DATES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "command.h"		/* enum lang */

struct dt_zone;

/*
 * Load a zone by name ("Europe/Amsterdam") from $TZDIR or
 * /usr/share/zoneinfo.  NULL with one line in err when the name is bad or
 * the file unreadable.  Free with dt_zone_free().
 */
struct dt_zone	*dt_zone_load(const char *name, char *err, size_t errlen);
/* A zone from a POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"), for tests
 * and systems without tzdata.  NULL with err on a bad rule. */
struct dt_zone	*dt_zone_posix(const char *rule, char *err, size_t errlen);
void		 dt_zone_free(struct dt_zone *);
const char	*dt_zone_name(const struct dt_zone *);

/* A local time, broken down. */
struct dt_local {
	int	year;
	int	mon;		/* 1..12 */
	int	day;		/* 1..31 */
	int	hour, min, sec;
	int	wday;		/* 0 = Sunday */
	long	utcoff;		/* seconds east of UTC */
	int	isdst;
};

void	dt_localtime(const struct dt_zone *, time_t, struct dt_local *);

/*
 * The instant of a local wall-clock time.  0, or -1 when the clocks skip
 * it (02:30 on the day summer time starts).  A time that occurs twice (the
 * night summer time ends) means its first occurrence.
 */
int	dt_mktime(const struct dt_zone *, int year, int mon, int day,
	    int hour, int min, time_t *);

/* A meeting's time: UTC instants and the same in local time. */
struct dt_span {
	time_t		 start, end;
	struct dt_local	 lstart, lend;
};

void	dt_span_set(const struct dt_zone *, time_t start, time_t end,
	    struct dt_span *);

enum dt_err {
	DT_OK = 0,
	DT_ENODATE,		/* no date given */
	DT_EDATE,		/* unreadable date */
	DT_ENOSUCHDAY,		/* 32-05-2027, 29-02-2027, 14-13-2027 */
	DT_EWEEKDAY,		/* "dinsdag 14 mei 2027": it is a Friday */
	DT_ENOTIME,		/* no time given */
	DT_ETIME,		/* unreadable time */
	DT_ENOSUCHTIME,		/* 25:00, 15:75 */
	DT_EGAP,		/* the clocks skip it (summer time starts) */
	DT_EORDER,		/* the end is not after the start */
	DT_EPAST,		/* the start has passed */
	DT_ENIGHT,		/* it starts before 07:00 ("3 uur": 03:00) */
};

/* Why a date or time was refused, with what dt_error_message() needs. */
struct dt_error {
	enum dt_err	 code;
	char		 input[72];	/* the bad text, cleaned and cut */
	int		 year, mon, day;	/* the date, when known */
	int		 wday;		/* its real weekday */
	int		 wday_written;	/* DT_EWEEKDAY: the weekday written */
	int		 hour, min;	/* DT_EGAP: the missing time;
					 * DT_EORDER, DT_EPAST, DT_ENIGHT:
					 * the start */
	int		 end_hour, end_min;	/* DT_EORDER: the end;
						 * DT_EGAP: one that exists;
						 * DT_ENIGHT: the end or -1 */
	char		 zone[64];	/* DT_EGAP */
};

/*
 * "tijd: 3 uur" is three in the afternoon to a teacher, and no network
 * meets in the night: a span that starts before 07:00 local time is
 * refused with DT_ENIGHT (-1), whose message suggests the afternoon.
 * Kept out of dt_plan, which reads any time of day.  0 when it is fine.
 */
int	dt_check_daytime(const struct dt_span *, struct dt_error *);

/*
 * One line saying what is wrong and how to write it right, e.g. "De datum
 * '32-05-2027' bestaat niet. Schrijf bijvoorbeeld: datum: 14-05-2027".
 * Caller frees.
 */
char	*dt_error_message(const struct dt_error *, enum lang);

/* A date as written ("14-05-2027", "14/5/2027", "2027-05-14", "14 mei
 * 2027", "Tuesday 14 May", "morgen" ...).  Without a year: the next such
 * date on or after today (local). */
struct dt_date {
	int	year, mon, day;
};
int	dt_parse_date(const char *, const struct dt_local *today,
	    struct dt_date *, struct dt_error *);

/* A time or range as written ("15:00", "15.00", "15u30", "3pm",
 * "15:00-17:00", "van 15.00 tot 17.00"), in minutes after midnight. */
struct dt_clock {
	int	start;
	int	end;		/* -1 when none was written */
};
int	dt_parse_time(const char *, struct dt_clock *, struct dt_error *);

/*
 * Plan a meeting from the `datum:` and `tijd:` lines of a mail (either may
 * be NULL; the date line may carry the time too: "14 mei 2027 15:00").
 * With old (a move), what is not given is kept: the date, the start time,
 * the duration.  Without an end the meeting lasts 2 hours (or as long as
 * the old one).  Refuses a start before now.  0, or -1 with err filled.
 */
int	dt_plan(const struct dt_zone *, const char *date, const char *time,
	    const struct dt_span *old, time_t now, struct dt_span *,
	    struct dt_error *);

/* A start planned earlier, checked again when it is carried out (a
 * confirmation days later): 0, or -1 with DT_EPAST in err. */
int	dt_check_ahead(const struct dt_zone *, time_t start, time_t now,
	    struct dt_error *);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t	dt_days_from_civil(int64_t year, int mon, int day);
void	dt_civil_from_days(int64_t days, int64_t *year, int *mon, int *day);

/* "2027-05-14T15:00:00+02:00" into buf, which is returned. */
#define DT_ISO_LEN	32
char	*dt_format_iso(const struct dt_zone *, time_t, char buf[DT_ISO_LEN]);

/* "vrijdag 14 mei 2027" / "Friday 14 May 2027".  Caller frees. */
char	*dt_format_day(const struct dt_local *, enum lang);

/* "vrijdag 14 mei 2027, 15:00–17:00" / "Friday 14 May 2027,
 * 15:00–17:00"; both days when the end is on another.  Caller frees. */
char	*dt_format_span(const struct dt_span *, enum lang);

#endif
