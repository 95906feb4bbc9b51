/*
 * fuzz_command.c - libFuzzer target for what a person writes: the command
 * parser (src/command.c) and the date and time parser (src/dates.c).  The
 * input's first line is the Subject, the rest the text; every line is also
 * tried as a `datum:` and a `tijd:` value, and the pair planned as a
 * meeting.  No crash, no leak, no undefined behaviour; every refusal has a
 * message, and what is accepted is a real date and time.
 */
#include <string.h>

#include "command.h"
#include "dates.h"
#include "fuzz.h"
#include "util.h"

/* 2027-05-14 12:00 UTC, a Friday, as "now". */
#define NOW	((time_t)1810296000)

static void
message_ok(const struct dt_error *e)
{
	for (int l = LANG_NL; l <= LANG_EN; l++) {
		char *m = dt_error_message(e, (enum lang)l);

		must(m != NULL && *m != '\0' && utf8_valid(m, strlen(m)));
		free(m);
	}
}

static void
request_ok(const struct request *r, int rc)
{
	must(rc == 0 || rc == 1);
	must((rc == 1) == (r->verb == VERB_NONE));
	must(r->verb >= VERB_NONE && r->verb < VERB__COUNT);
	must(r->argc == 0 || r->argv != NULL);
	for (size_t i = 0; i < r->argc; i++)
		must(r->argv[i] != NULL && *r->argv[i] != '\0');
	for (size_t i = 0; i < r->nkv; i++) {
		const char *k = r->kv[i].key;

		must(k != NULL && r->kv[i].value != NULL);
		for (; *k; k++)
			must(*k < 'A' || *k > 'Z');
	}
}

static void
date_and_time(const struct dt_zone *z, const char *line)
{
	struct dt_local today;
	struct dt_date d;
	struct dt_clock c;
	struct dt_span span;
	struct dt_error e;

	dt_localtime(z, NOW, &today);
	memset(&e, 0, sizeof(e));
	if (dt_parse_date(line, &today, &d, &e) == 0)
		must(d.mon >= 1 && d.mon <= 12 && d.day >= 1 && d.day <= 31);
	else
		message_ok(&e);
	memset(&e, 0, sizeof(e));
	if (dt_parse_time(line, &c, &e) == 0) {
		must(c.start >= 0 && c.start < 24 * 60);
		must(c.end == -1 || (c.end >= 0 && c.end <= 24 * 60));
	} else
		message_ok(&e);
	memset(&e, 0, sizeof(e));
	if (dt_plan(z, line, line, NULL, NOW, &span, &e) == 0)
		must(span.start >= NOW && span.end > span.start);
	else
		message_ok(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dt_zone *zone;
	struct request req;
	char *in, *text, *line, *next, *s;
	int rc;

	if (zone == NULL) {
		char err[128];

		if ((zone = dt_zone_posix("CET-1CEST,M3.5.0,M10.5.0/3", err,
		    sizeof(err))) == NULL)
			abort();
	}
	in = xstrndup((const char *)data, size);
	if ((text = strchr(in, '\n')) != NULL)
		*text++ = '\0';
	memset(&req, 0, sizeof(req));
	rc = command_parse(in, text ? text : "", &req);
	request_ok(&req, rc);
	request_free(&req);
	s = command_strip_subject(in);
	must(s != NULL && (utf8_valid(s, strlen(s)) ||
	    !utf8_valid(in, strlen(in))));
	free(s);
	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		date_and_time(zone, line);
	}
	date_and_time(zone, in);
	free(in);
	return 0;
}
