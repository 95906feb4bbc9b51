/*
 * fuzz_ical.c - libFuzzer target for ical_parse_reply(): any bytes as the
 * calendar part of an inbound mail (a reply, a client's own invitation,
 * junk), with and without a Content-Type method.  No crash, no leak, no
 * undefined behaviour, and what ical.h promises about the result holds
 * (else abort, which libFuzzer reports).
 */
#include <string.h>

#include "fuzz.h"
#include "ical.h"
#include "util.h"

/* Valid UTF-8 without control characters (in a comment: but newline and
 * tab). */
static void
clean(const char *s, int multiline)
{
	must(s != NULL);
	must(utf8_valid(s, strlen(s)));
	for (; *s; s++)
		must(((unsigned char)*s >= 0x20 && *s != 0x7f) ||
		    (multiline && (*s == '\n' || *s == '\t')));
}

static void
address(const char *s)
{
	clean(s, 0);
	for (; *s; s++)
		must(*s < 'A' || *s > 'Z');
}

static void
check(const struct ical_reply *r)
{
	clean(r->uid, 0);
	must(r->method >= ITIP_NONE && r->method <= ITIP_OTHER);
	if (r->organizer)
		address(r->organizer);
	if (r->comment)
		clean(r->comment, 1);
	must(r->nattendees <= ICAL_MAX_ATTENDEES);
	must(r->nattendees == 0 || r->attendees != NULL);
	for (size_t i = 0; i < r->nattendees; i++) {
		const struct ical_attendee *a = &r->attendees[i];

		address(a->addr);
		if (a->sent_by)
			address(a->sent_by);
		if (a->cn)
			clean(a->cn, 0);
		if (a->comment)
			clean(a->comment, 1);
		must(a->partstat >= PARTSTAT_NEEDS_ACTION &&
		    a->partstat <= PARTSTAT_OTHER);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *methods[] = { NULL, "REPLY", "request" };
	/* The first byte picks the Content-Type method. */
	const char *ct = methods[size ? data[0] % 3 : 0];
	struct ical_reply *out = (struct ical_reply *)1;
	size_t n = 99;
	int rc;

	rc = ical_parse_reply((const char *)data, size, ct, &out, &n);
	must(rc == 0 || rc == ICAL_EPARSE || rc == ICAL_ETOOBIG);
	if (rc != 0) {
		must(out == NULL && n == 0);
		return 0;
	}
	must(n <= ICAL_MAX_EVENTS && (n == 0) == (out == NULL));
	for (size_t i = 0; i < n; i++)
		check(&out[i]);
	ical_replies_free(out, n);
	return 0;
}
