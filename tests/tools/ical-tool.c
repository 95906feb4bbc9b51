/*
 * ical-tool - a small driver of src/ical.c for tests/integration/
 * test_ical_python.py (and for looking at what we send by hand).
 *
 *   ical-tool [-z TZID] [-s DTSTAMP] invite UID SEQ START END SUMMARY
 *	LOCATION ORGANIZER ATTENDEE [cancel]
 *   ical-tool [-z TZID] [-s DTSTAMP] feed CALNAME
 *	[UID SEQ START END SUMMARY LOCATION CANCELLED] ...
 *   ical-tool [-z TZID] local2utc START
 *   ical-tool parse [CT-METHOD] < calendar
 *
 * START and END are local wall-clock times in TZID (default
 * Europe/Amsterdam) as YYYY-MM-DDTHH:MM; DTSTAMP is seconds since the
 * epoch (default 1800000000, so output is reproducible).  invite and feed
 * print the calendar; local2utc prints seconds since the epoch; parse
 * prints one "event" line per VEVENT and one "attendee" line per attendee.
 * Exit 0, 1 for usage, 2 when src/ical.c refuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ical.h"
#include "log.h"
#include "util.h"

static const char *tzid = ICAL_DEFAULT_TZID;
static time_t dtstamp = 1800000000;

static void
usage(void)
{
	fprintf(stderr, "usage: ical-tool [-z tzid] [-s dtstamp] invite UID SEQ "
	    "START END SUMMARY LOCATION ORGANIZER ATTENDEE [cancel]\n"
	    "       ical-tool [-z tzid] [-s dtstamp] feed CALNAME "
	    "[UID SEQ START END SUMMARY LOCATION CANCELLED]...\n"
	    "       ical-tool [-z tzid] local2utc START\n"
	    "       ical-tool parse [CT-METHOD] < calendar\n");
	exit(1);
}

static time_t
local(const char *s)
{
	int y, mo, d, h, mi;
	char tail;
	time_t t;

	if (sscanf(s, "%d-%d-%dT%d:%d%c", &y, &mo, &d, &h, &mi, &tail) != 5 ||
	    ical_local_to_utc(tzid, y, mo, d, h, mi, &t) == -1) {
		fprintf(stderr, "ical-tool: bad local time '%s' in %s\n", s, tzid);
		exit(2);
	}
	return t;
}

static void
fill(struct ical_event *ev, char **a)
{
	memset(ev, 0, sizeof(*ev));
	ev->uid = a[0];
	ev->sequence = atoi(a[1]);
	ev->start = local(a[2]);
	ev->end = local(a[3]);
	ev->summary = a[4];
	ev->location = a[5];
	ev->tzid = tzid;
	ev->dtstamp = dtstamp;
	ev->last_modified = dtstamp;
}

/* One line per value: newlines and backslashes escaped. */
static void
put(const char *k, const char *v)
{
	printf(" %s=", k);
	if (v == NULL) {
		printf("-");
		return;
	}
	for (; *v; v++) {
		if (*v == '\n')
			printf("\\n");
		else if (*v == '\\')
			printf("\\\\");
		else
			putchar(*v);
	}
}

static int
parse(const char *ct)
{
	struct buf in;
	struct ical_reply *r;
	char chunk[8192];
	size_t n, i, j;
	int ret;

	buf_init(&in, ICAL_MAX_INPUT + 1);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_add(&in, chunk, n) == -1)
			break;
	ret = ical_parse_reply(in.data ? in.data : "", in.len, ct, &r, &n);
	buf_free(&in);
	if (ret != 0) {
		printf("error %d\n", ret);
		return 2;
	}
	for (i = 0; i < n; i++) {
		printf("event");
		put("method", ical_method_name(r[i].method));
		put("uid", r[i].uid);
		printf(" sequence=%d dtstamp=%lld start=%lld end=%lld "
		    "recurrence=%d", r[i].sequence, (long long)r[i].dtstamp,
		    (long long)r[i].start, (long long)r[i].end, r[i].recurrence);
		put("organizer", r[i].organizer);
		put("comment", r[i].comment);
		printf("\n");
		for (j = 0; j < r[i].nattendees; j++) {
			printf("attendee");
			put("addr", r[i].attendees[j].addr);
			put("partstat",
			    ical_partstat_name(r[i].attendees[j].partstat));
			put("sent_by", r[i].attendees[j].sent_by);
			put("cn", r[i].attendees[j].cn);
			put("comment", r[i].attendees[j].comment);
			printf("\n");
		}
	}
	ical_replies_free(r, n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct ical_event ev, *evs;
	char err[512], *cal = NULL;
	size_t n, i;
	int ch, ret = 0;

	log_init(LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "z:s:")) != -1) {
		switch (ch) {
		case 'z':
			tzid = optarg;
			break;
		case 's':
			dtstamp = (time_t)strtoll(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	err[0] = '\0';
	if (strcmp(argv[0], "invite") == 0) {
		if (argc != 9 && !(argc == 10 && strcmp(argv[9], "cancel") == 0))
			usage();
		fill(&ev, argv + 1);
		ev.organizer_addr = argv[7];
		ev.organizer_cn = "Leernet Coördinator";
		ev.attendee_addr = argv[8];
		ev.attendee_cn = "Deelnemer";
		ev.description = "Agenda:\n1. Welkom\n2. Rondvraag";
		cal = ical_invite(&ev, argc == 10 ? ITIP_CANCEL : ITIP_REQUEST,
		    err, sizeof(err));
	} else if (strcmp(argv[0], "feed") == 0) {
		if (argc < 2 || (argc - 2) % 7 != 0)
			usage();
		n = (size_t)(argc - 2) / 7;
		evs = xcalloc(n, sizeof(*evs));
		for (i = 0; i < n; i++) {
			fill(&evs[i], argv + 2 + 7 * i);
			evs[i].cancelled = atoi(argv[2 + 7 * i + 6]);
		}
		cal = ical_feed(evs, n, argv[1], NULL, err, sizeof(err));
		free(evs);
	} else if (strcmp(argv[0], "local2utc") == 0) {
		if (argc != 2)
			usage();
		printf("%lld\n", (long long)local(argv[1]));
		ical_shutdown();
		return 0;
	} else if (strcmp(argv[0], "parse") == 0) {
		if (argc > 2)
			usage();
		ret = parse(argc == 2 ? argv[1] : NULL);
		ical_shutdown();
		return ret;
	} else
		usage();
	if (cal == NULL) {
		fprintf(stderr, "ical-tool: %s\n", err);
		ret = 2;
	} else {
		fputs(cal, stdout);
		free(cal);
	}
	ical_shutdown();
	return ret;
}
