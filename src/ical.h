/*
 * ical.h - iCalendar for leernet; the only module that uses libical.
 *
 * Outgoing: invitations (iTIP REQUEST and CANCEL, carried by iMIP) and the
 * published feed (METHOD:PUBLISH), built with libical and always carrying
 * a compact VTIMEZONE of one STANDARD and one DAYLIGHT rule, the shape
 * Outlook can reduce (CALENDAR.md).  Incoming: whatever calendar a client
 * sends back, reduced to what the RSVP logic needs.  Pure: no I/O apart
 * from libical reading the system tzdata (zones other than
 * Europe/Amsterdam; IANA TZIDs in replies that carry no VTIMEZONE).
 *
 * Time zones: "Europe/Amsterdam" is built in with the rules of CALENDAR.md
 * (DAYLIGHT from the last Sunday of March 02:00, STANDARD from the last
 * Sunday of October 03:00) and needs no tzdata.  Any other IANA name is
 * reduced from the system tzdata to the rules in force now (two yearly
 * rules, or one fixed offset); a zone whose current rules cannot be
 * written that way is refused.  UTC instants are always computed from the
 * same definition that is sent, so what we store is what clients show.
 *
 * Not thread-safe: zones are cached in the module (freed by
 * ical_shutdown()).
 */
#ifndef LEERNET_ICAL_H
#define LEERNET_ICAL_H

#include <stddef.h>
#include <time.h>

#define ICAL_DEFAULT_TZID	"Europe/Amsterdam"
#define ICAL_PRODID		"-//leernet//leernet 1.0//NL"

/* iTIP methods (RFC 5546).  Names differ from libical's on purpose. */
enum itip_method {
	ITIP_NONE = 0,		/* no METHOD and no Content-Type fallback */
	ITIP_PUBLISH,
	ITIP_REQUEST,
	ITIP_REPLY,
	ITIP_ADD,
	ITIP_CANCEL,
	ITIP_REFRESH,
	ITIP_COUNTER,		/* Outlook's "propose new time": not a reply */
	ITIP_DECLINECOUNTER,
	ITIP_OTHER		/* an X- or unknown method */
};

/* "REQUEST", ...; "" for ITIP_NONE, "OTHER" for ITIP_OTHER. */
const char	*ical_method_name(enum itip_method);
/* Case-insensitive; NULL or unknown give ITIP_NONE / ITIP_OTHER. */
enum itip_method ical_method_from_name(const char *);

/* ---- building ---------------------------------------------------------- */

/*
 * One meeting as we send it.  Strings are UTF-8 and may come from mail:
 * control characters become spaces (DESCRIPTION keeps its newlines),
 * invalid UTF-8 becomes U+FFFD, overlong values are cut at a character
 * boundary, double quotes and '^' are dropped from names (CN), and libical
 * escapes what TEXT needs, so no value can add a property.  Addresses and
 * the UID are not rewritten: an unsafe one makes the build fail.
 */
struct ical_event {
	const char	*uid;		/* required: [A-Za-z0-9@._+=/-], <= 255 */
	int		 sequence;	/* >= 0 */
	time_t		 start;		/* UTC instants; end > start */
	time_t		 end;
	const char	*tzid;		/* IANA zone; NULL: ICAL_DEFAULT_TZID */
	const char	*summary;	/* required, not empty */
	const char	*location;	/* NULL or "": omitted */
	const char	*description;	/* NULL or "": omitted */
	const char	*organizer_addr;	/* required for invitations */
	const char	*organizer_cn;	/* NULL or "": no CN */
	const char	*attendee_addr;	/* required for invitations; feeds ignore */
	const char	*attendee_cn;	/* NULL or "": no CN */
	int		 cancelled;	/* feeds leave the event out */
	time_t		 dtstamp;	/* when this version was made; 0: now */
	time_t		 last_modified;	/* 0: no LAST-MODIFIED */
};

/*
 * An invitation (method ITIP_REQUEST) or a cancellation (ITIP_CANCEL,
 * STATUS:CANCELLED) for one attendee: VCALENDAR with PRODID, VERSION,
 * CALSCALE, METHOD, the VTIMEZONE, one VEVENT (UID, SEQUENCE, DTSTAMP,
 * DTSTART/DTEND with TZID, SUMMARY, LOCATION, DESCRIPTION, STATUS,
 * ORGANIZER, ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;
 * RSVP=TRUE;CUTYPE=INDIVIDUAL).  The caller raises SEQUENCE on every change
 * and for the cancellation.
 * Returns CRLF text folded at 75 octets (caller frees), or NULL with the
 * reason in err (bad address or UID, unknown zone, end <= start, ...).
 */
char	*ical_invite(const struct ical_event *, enum itip_method,
	    char *err, size_t errlen);

/*
 * The subscribable feed of one network (SLUG/calendar.ics):
 * METHOD:PUBLISH, NAME and X-WR-CALNAME = calname, REFRESH-INTERVAL and
 * X-PUBLISHED-TTL of one hour, a VTIMEZONE per zone used and one for zone
 * (NULL: ICAL_DEFAULT_TZID) even when no event uses it, one VEVENT per
 * event that is not cancelled, without ORGANIZER or ATTENDEE.
 * Returns CRLF text (caller frees), or NULL with the reason in err.
 */
char	*ical_feed(const struct ical_event *events, size_t n,
	    const char *calname, const char *zone, char *err, size_t errlen);

/*
 * Self-check of a calendar we built: parse it and run libical's iTIP
 * restriction check on it (the feed is allowed to lack ORGANIZER; a
 * calendar shape that passed once is not checked again, see ical.c).
 * 0 when it passes; -1 with the first complaint in err.  The builders
 * run it themselves unless compiled with NDEBUG; exported for tests.
 */
int	 ical_selfcheck(const char *text, char *err, size_t errlen);

/* ---- time zones ------------------------------------------------------- */

/* 0 when tzid is usable (see the top of this file), else -1 and why. */
int	 ical_zone_check(const char *tzid, char *err, size_t errlen);

/*
 * Local wall-clock time in tzid to a UTC instant, from the same zone
 * definition the calendars carry.  A time that falls in the spring gap is
 * moved forward by the gap (02:30 becomes 03:30 summer time); a time that
 * occurs twice in autumn is taken the first time (summer time).
 * Returns 0, or -1 for an unknown zone or an impossible date.
 */
int	 ical_local_to_utc(const char *tzid, int year, int month, int day,
	    int hour, int min, time_t *out);

/* The offset east of UTC in seconds of tzid at instant t; 0 or -1. */
int	 ical_utc_offset(const char *tzid, time_t t, int *secs);

/* The wall-clock time in tzid at t (tm_isdst and tm_gmtoff set); 0 or -1. */
int	 ical_utc_to_local(const char *tzid, time_t t, struct tm *out);

/* ---- parsing ---------------------------------------------------------- */

enum ical_partstat {
	PARTSTAT_NEEDS_ACTION = 0,	/* also when PARTSTAT is absent (RFC 5545) */
	PARTSTAT_ACCEPTED,
	PARTSTAT_DECLINED,
	PARTSTAT_TENTATIVE,
	PARTSTAT_DELEGATED,
	PARTSTAT_OTHER			/* COMPLETED, IN-PROCESS, X-..., ... */
};

const char	*ical_partstat_name(enum ical_partstat);

struct ical_attendee {
	char			*addr;		/* "mailto:" stripped (any case),
						 * lower-cased; the EMAIL
						 * parameter when the value is
						 * not an address; "" if none */
	char			*cn;		/* or NULL */
	char			*sent_by;	/* normalised like addr, or NULL */
	char			*comment;	/* Google's X-RESPONSE-COMMENT
						 * parameter, or NULL */
	enum ical_partstat	 partstat;
};

/*
 * One VEVENT of an inbound calendar (whatever its method; only ITIP_REPLY
 * is an answer to an invitation).  Strings are sanitised (no control
 * characters except '\n' and '\t' in the comments, valid UTF-8).
 */
struct ical_reply {
	enum itip_method	 method;	/* METHOD of its VCALENDAR, else
						 * the Content-Type parameter */
	char			*uid;		/* "" when absent */
	int			 sequence;	/* 0 when absent */
	time_t			 dtstamp;	/* 0 when absent or unreadable */
	time_t			 start;		/* DTSTART/DTEND as UTC instants; */
	time_t			 end;		/* 0 when absent, floating, or in a
						 * zone not safely resolvable */
	int			 recurrence;	/* has RECURRENCE-ID (one instance) */
	char			*organizer;	/* normalised like addr, or NULL */
	char			*comment;	/* COMMENT, else X-RESPONSE-COMMENT
						 * (Google sends it as a parameter
						 * of ATTENDEE), or NULL */
	struct ical_attendee	*attendees;	/* at most ICAL_MAX_ATTENDEES */
	size_t			 nattendees;
};

/* Limits on hostile input; more is refused (input) or ignored (lists). */
#define ICAL_MAX_INPUT		(4u * 1024 * 1024)	/* bytes */
#define ICAL_MAX_LINES		100000		/* content lines */
#define ICAL_MAX_DEPTH		8		/* nested BEGIN */
#define ICAL_MAX_EVENTS		256		/* VEVENTs reported */
#define ICAL_MAX_ATTENDEES	1000		/* per VEVENT */

#define ICAL_EPARSE	(-1)	/* not iCalendar at all */
#define ICAL_ETOOBIG	(-2)	/* over one of the limits above */

/*
 * Parse a calendar part (text need not be NUL-terminated; CRLF, LF or CR;
 * folded lines; several VCALENDARs; missing END lines are closed, stray
 * ones dropped).  ct_method is the Content-Type method= parameter or NULL.
 * Returns 0 and an array of *n entries (one per VEVENT, at most
 * ICAL_MAX_EVENTS, possibly none: then *out is NULL) the caller frees
 * with ical_replies_free(), or ICAL_EPARSE / ICAL_ETOOBIG
 * with *out NULL and *n 0.  Never crashes on hostile input.
 */
int	 ical_parse_reply(const char *text, size_t len, const char *ct_method,
	    struct ical_reply **out, size_t *n);
void	 ical_replies_free(struct ical_reply *, size_t n);

/* Free libical's zones and buffers (at exit, for clean valgrind runs). */
void	 ical_shutdown(void);

#endif
