/*
 * cli_meeting.c - `meeting list` and `report hours`: what leads and
 * coordinators ask of the calendar side.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "cli.h"
#include "config.h"
#include "dates.h"
#include "store.h"
#include "table.h"
#include "util.h"

int
cli_meeting(struct app *app, int argc, char **argv)
{
	static const char use[] = "leernet meeting list SLUG [--csv]";
	static const char *const hdr[] = { "number", "start", "end",
	    "location", "status", "sequence", "accepted", "declined",
	    "tentative", "needs_action" };
	struct network n = { 0 };
	struct meeting *ms;
	struct table *t;
	const char *slug = NULL;
	size_t count;
	int csv = 0, rc;

	if ((rc = cli_group_usage("meeting", use, argc, argv)) >= 0)
		return rc;
	if (strcmp(argv[0], "list") != 0)
		return cli_usage(use, "unknown meeting command '%s'", argv[0]);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else if (argv[i][0] == '-')
			return cli_usage(use, "unknown option '%s'", argv[i]);
		else if (slug != NULL)
			return cli_usage(use, "meeting list: one SLUG, not "
			    "'%s' as well", argv[i]);
		else
			slug = argv[i];
	}
	if (slug == NULL)
		return cli_usage(use, "meeting list: the network's SLUG is "
		    "missing (see 'leernet network list')");
	if ((rc = store_network_find(app->st, slug, &n)) != 0) {
		if (rc == 1)
			fprintf(stderr, "leernet: no network '%s' (see 'leernet "
			    "network list')\n", slug);
		return rc == 1 ? EXIT_DATAERR : EXIT_SOFTWARE;
	}
	if ((ms = store_meetings(app->st, n.id, 0, 0, &count)) == NULL) {
		network_clear(&n);
		return EXIT_SOFTWARE;
	}
	t = table_new(ARRAY_LEN(hdr), hdr);
	for (size_t i = 0; i < count; i++) {
		struct rsvp_counts c = { 0 };
		char num[16], seq[16], acc[16], dec[16], ten[16], need[16];
		char start[DT_ISO_LEN], end[DT_ISO_LEN];
		const char *row[10];

		store_rsvp_counts(app->st, &ms[i], &c);
		snprintf(num, sizeof(num), "%d", ms[i].number);
		snprintf(seq, sizeof(seq), "%d", ms[i].sequence);
		snprintf(acc, sizeof(acc), "%zu", c.accepted);
		snprintf(dec, sizeof(dec), "%zu", c.declined);
		snprintf(ten, sizeof(ten), "%zu", c.tentative);
		snprintf(need, sizeof(need), "%zu", c.needs_action);
		row[0] = num;
		row[1] = dt_format_iso(app->zone, ms[i].start, start);
		row[2] = dt_format_iso(app->zone, ms[i].end, end);
		row[3] = ms[i].location;
		row[4] = mt_status_name(ms[i].status);
		row[5] = seq;
		row[6] = acc;
		row[7] = dec;
		row[8] = ten;
		row[9] = need;
		table_add(t, row);
	}
	table_print(t, stdout, csv);
	table_free(t);
	meetings_free(ms, count);
	network_clear(&n);
	return 0;
}

/* The school year that starts on 1 August of `year`, as UTC instants. */
static int
school_year(struct app *app, int year, time_t *from, time_t *to)
{
	if (dt_mktime(app->zone, year, 8, 1, 0, 0, from) == -1 ||
	    dt_mktime(app->zone, year + 1, 8, 1, 0, 0, to) == -1)
		return -1;
	return 0;
}

int
cli_report(struct app *app, int argc, char **argv)
{
	static const char use[] = "leernet report hours [--network SLUG] "
	    "[--year YYYY] [--csv]";
	static const struct option opts[] = {
		{ "network", required_argument, NULL, 'n' },
		{ "year", required_argument, NULL, 'y' },
		{ "csv", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const hdr[] = { "email", "name", "network",
	    "meetings_attended", "hours", "budget" };
	struct network n = { 0 };
	struct hours_row *rows;
	struct table *t;
	struct dt_local now;
	const char *slug = NULL;
	time_t from, to;
	size_t count;
	int ch, csv = 0, year, rc, year_given = 0;
	char *end;

	if ((rc = cli_group_usage("report", use, argc, argv)) >= 0)
		return rc;
	if (strcmp(argv[0], "hours") != 0)
		return cli_usage(use, "unknown report '%s'", argv[0]);
	/* Default: the school year we are in now. */
	dt_localtime(app->zone, time(NULL), &now);
	year = now.mon >= 8 ? now.year : now.year - 1;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			slug = optarg;
			break;
		case 'y':
			year = (int)strtol(optarg, &end, 10);
			/* "2026-27", as the report names the year */
			if (*end == '-' && end[1] >= '0' && end[1] <= '9' &&
			    end[2] >= '0' && end[2] <= '9' && end[3] == '\0' &&
			    (end[1] - '0') * 10 + end[2] - '0' ==
			    (year + 1) % 100)
				end += 3;
			if (*end != '\0' || year < 1970 || year > 9999) {
				fprintf(stderr, "leernet: --year %s: expected "
				    "the year the school year starts, e.g. "
				    "--year 2026 (or 2026-27) for 2026-27\n",
				    optarg);
				return EXIT_USAGE;
			}
			year_given = 1;
			break;
		case 'c':
			csv = 1;
			break;
		default:
			return cli_usage(use, "report hours: unknown or "
			    "incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage(use, "report hours: unexpected '%s'",
		    argv[optind]);
	if (slug && (rc = store_network_find(app->st, slug, &n)) != 0) {
		if (rc == 1)
			fprintf(stderr, "leernet: no network '%s'\n", slug);
		return rc == 1 ? EXIT_DATAERR : EXIT_SOFTWARE;
	}
	if (school_year(app, year, &from, &to) == -1 ||
	    (rows = store_hours(app->st, from, to, n.id, &count)) == NULL) {
		network_clear(&n);
		return EXIT_SOFTWARE;
	}
	t = table_new(ARRAY_LEN(hdr), hdr);
	for (size_t i = 0; i < count; i++) {
		char meetings[16], hours[32], budget[16];
		const char *row[6];

		snprintf(meetings, sizeof(meetings), "%d", rows[i].meetings);
		snprintf(hours, sizeof(hours), "%.2f", rows[i].seconds / 3600.0);
		snprintf(budget, sizeof(budget), "%d",
		    app->cfg->hours_per_network);
		row[0] = rows[i].email;
		row[1] = rows[i].name;
		row[2] = rows[i].slug;
		row[3] = meetings;
		row[4] = hours;
		row[5] = budget;
		table_add(t, row);
	}
	if (!csv)
		printf("school year %d-%02d\n", year, (year + 1) % 100);
	table_print(t, stdout, csv);
	/* On 5 August "this year" has only begun: the one just ended is
	 * what a coordinator is after. */
	if (count == 0 && !year_given)
		fprintf(stderr, "leernet: no attendance recorded in school "
		    "year %d-%02d yet; the year before: --year %d\n", year,
		    (year + 1) % 100, year - 1);
	table_free(t);
	hours_free(rows, count);
	network_clear(&n);
	return 0;
}
