/*
 * test_classify.c - which mail is answered: a table of messages and the
 * kind each must be given, and the Authentication-Results trust rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "classify.h"
#include "config.h"
#include "message.h"
#include "util.h"

static struct config cfg;

static struct message *
parse(const char *raw)
{
	struct message *m = NULL;

	assert_int_equal(message_parse(raw, strlen(raw), &m), 0);
	return m;
}

struct kcase {
	const char	*name;
	const char	*headers;	/* added before Subject */
	const char	*subject;
	const char	*from;
	enum mail_kind	 want;
};

static const struct kcase kcases[] = {
	{ "plain request", "", "aanmelden rekenen", "alice@school.test", MAIL_PERSON },
	{ "our own address", "", "aanmelden", "lido@school.test", MAIL_UNSURE },
	{ "our own address, our X-Loop", "X-Loop: lido@school.test\r\n", "aanmelden", "LIDO@school.test", MAIL_OURS },
	{ "our own X-Loop", "X-Loop: lido@school.test\r\n", "hoi", "alice@school.test", MAIL_OURS },
	{ "auto-replied", "Auto-Submitted: auto-replied\r\n", "Re: aanmelden", "alice@school.test", MAIL_AUTO },
	{ "auto-submitted no", "Auto-Submitted: no\r\n", "aanmelden x", "alice@school.test", MAIL_PERSON },
	{ "x-autoreply", "X-Autoreply: yes\r\n", "hoi", "alice@school.test", MAIL_AUTO },
	{ "x-autorespond", "X-Autorespond: yes\r\n", "hoi", "alice@school.test", MAIL_AUTO },
	{ "precedence bulk", "Precedence: bulk\r\n", "hoi", "alice@school.test", MAIL_AUTO },
	{ "precedence junk", "Precedence: JUNK\r\n", "hoi", "alice@school.test", MAIL_AUTO },
	{ "precedence list", "Precedence: list\r\n", "hoi", "alice@school.test", MAIL_AUTO },
	{ "list-id", "List-Id: <x.lists.test>\r\n", "hoi", "alice@school.test", MAIL_AUTO },
	{ "null sender", "Return-Path: <>\r\n", "Undelivered", "alice@school.test", MAIL_BOUNCE },
	{ "mailer-daemon", "", "Undelivered Mail", "MAILER-DAEMON@mx.test", MAIL_BOUNCE },
	{ "postmaster", "", "Delivery failure", "postmaster@mx.test", MAIL_BOUNCE },
	{ "dutch ooo", "", "Automatisch antwoord: aanmelden rekenen", "alice@school.test", MAIL_AUTO },
	{ "dutch afwezig", "", "Afwezig: tot 3 juni", "alice@school.test", MAIL_UNSURE },
	{ "afwezig from a person", "", "Afwezig: bijeenkomst rekenen 14 mei", "alice@school.test", MAIL_UNSURE },
	{ "afwezig, auto-submitted", "Auto-Submitted: auto-replied\r\n", "Afwezig: tot 3 juni", "alice@school.test", MAIL_AUTO },
	{ "english ooo", "", "Out of Office: re: join", "alice@school.test", MAIL_AUTO },
	{ "our list address", "", "hulp", "lido+rekenen@school.test", MAIL_OURS },
	{ "another plus address", "", "hulp", "lidoo+x@school.test", MAIL_PERSON },
	{ "vakantie alone", "", "Vakantie", "alice@school.test", MAIL_UNSURE },
	{ "away alone", "", "Away from the office!", "alice@school.test", MAIL_UNSURE },
	{ "vakantie in a request", "", "aanmelden rekenen (na mijn vakantie)", "alice@school.test", MAIL_PERSON },
	{ "afwezigheid in a title", "", "Nieuw netwerk Afwezigheid en verzuim aanpakken", "alice@school.test", MAIL_PERSON },
	{ "afwezig in a question", "", "Afwezig bij de bijeenkomst van dinsdag", "alice@school.test", MAIL_PERSON },
	{ "vakantierooster", "", "Vraag over het vakantierooster", "alice@school.test", MAIL_PERSON },
	{ "confirm of a title", "", "Re: Bevestig: aanmelden voor Verzuim en afwezigheid (code x)", "alice@school.test", MAIL_PERSON },
	{ "exchange suppress is human", "X-Auto-Response-Suppress: All\r\n", "aanmelden rekenen", "alice@school.test", MAIL_PERSON },
	/* A read receipt written as plain mail: not answered, and no
	 * confirmation of what the mail it answers asked. */
	{ "plain read receipt", "", "Gelezen: Bevestig: aanmelden voor Rekenen (code x)", "alice@school.test", MAIL_UNSURE },
	{ "plain not read", "", "Niet gelezen: Bevestig: aanmelden", "alice@school.test", MAIL_UNSURE },
	{ "english read", "", "Read: Confirm: join Rekenen", "alice@school.test", MAIL_UNSURE },
	{ "read in a question", "", "Read this before the meeting", "alice@school.test", MAIL_PERSON },
};

/* A read receipt (MDN, RFC 8098) as Outlook and Thunderbird send it. */
static void
test_receipt(void **state)
{
	static const char *const types[] = {
	    "multipart/report; report-type=disposition-notification",
	    "multipart/report; report-type=\"disposition-notification\"",
	    "multipart/mixed",		/* only the part says it */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		char *raw = xasprintf("From: alice@school.test\r\n"
		    "To: lido@school.test\r\nSubject: Re: Bevestig: aanmelden "
		    "voor Rekenen (code abcdefghjkmn)\r\nMessage-ID: <r%zu@t>\r\n"
		    "In-Reply-To: <confirm@school.test>\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: %s; boundary=\"b\"\r\n\r\n"
		    "--b\r\nContent-Type: text/plain\r\n\r\nUw bericht is "
		    "gelezen.\r\n--b\r\nContent-Type: "
		    "message/disposition-notification\r\n\r\n"
		    "Final-Recipient: rfc822;alice@school.test\r\n"
		    "Original-Message-ID: <confirm@school.test>\r\n"
		    "Disposition: manual-action/MDN-sent-automatically; "
		    "displayed\r\n--b--\r\n", i, types[i]);
		struct message *m = parse(raw);
		const char *why;

		assert_true(m->is_receipt);
		assert_false(m->is_report);
		assert_int_equal(classify(m, &cfg, &why), MAIL_AUTO);
		message_free(m);
		free(raw);
	}
}

static void
test_kinds(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(kcases); i++) {
		const struct kcase *k = &kcases[i];
		char *raw = xasprintf("From: %s\r\nTo: lido@school.test\r\n%s"
		    "Subject: %s\r\nMessage-ID: <k%zu@test>\r\n\r\nbody\r\n",
		    k->from, k->headers, k->subject, i);
		struct message *m = parse(raw);
		const char *why;
		enum mail_kind got = classify(m, &cfg, &why);

		if (got != k->want)
			fail_msg("%s: want %s, got %s (%s)", k->name,
			    mail_kind_name(k->want), mail_kind_name(got), why);
		message_free(m);
		free(raw);
	}
}

static void
test_rsvp(void **state)
{
	static const char apple[] =
	    "From: alice@school.test\r\nTo: lido@school.test\r\n"
	    "Subject: Invitation: accepted\r\nMessage-ID: <apple@test>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nAccepted\r\n"
	    "--b\r\nContent-Type: text/calendar; name=\"iCal.ics\"\r\n"
	    "Content-Disposition: attachment; filename=\"iCal.ics\"\r\n\r\n"
	    "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:x\r\n"
	    "END:VEVENT\r\nEND:VCALENDAR\r\n--b--\r\n";
	struct message *m = parse(apple);
	const char *why;

	(void)state;
	assert_int_equal(classify(m, &cfg, &why), MAIL_RSVP);
	message_free(m);
}

struct acase {
	const char	*headers;
	const char	*trusted;
	int		 want;
	int		 forged;	/* auth_trusted_fail */
};

static const struct acase acases[] = {
	{ "Authentication-Results: mx.school.test; dmarc=pass header.from=school.test\r\n", "mx.school.test", 1, 0 },
	{ "Authentication-Results: mx.school.test 1; spf=pass; dkim=pass header.d=school.test; dmarc=pass (p=none) header.from=school.test\r\n", "mx.school.test", 1, 0 },
	{ "Authentication-Results: MX.School.Test; dmarc=pass header.from=school.test\r\n", "mx.school.test", 1, 0 },
	/* a relaxed-aligned DKIM signature */
	{ "Authentication-Results: mx.school.test; dkim=pass header.i=@mail.school.test header.d=school.test\r\n", "mx.school.test", 1, 0 },
	/* wrong server id */
	{ "Authentication-Results: mx.evil.test; dmarc=pass header.from=school.test\r\n", "mx.school.test", 0, 0 },
	/* "*" trusts the topmost whatever its id */
	{ "Authentication-Results: mx.evil.test; dmarc=pass header.from=school.test\r\n", "*", 1, 0 },
	/* Exchange Online: no authserv-id, the pass in the first clause */
	{ "Authentication-Results: dmarc=pass action=none header.from=school.test;compauth=pass reason=100\r\n", "*", 1, 0 },
	{ "Authentication-Results: dkim=pass (signature was verified) header.d=school.test;\r\n", "*", 1, 0 },
	{ "Authentication-Results: dmarc=pass action=none header.from=school.test\r\n", "mx.school.test", 0, 0 },
	{ "Authentication-Results: dmarc=fail action=none header.from=school.test;dkim=pass header.d=evil.test\r\n", "*", 0, 1 },
	/* fail */
	{ "Authentication-Results: mx.school.test; dmarc=fail header.from=school.test\r\n", "mx.school.test", 0, 1 },
	{ "Authentication-Results: mx.evil.test; dmarc=fail header.from=school.test\r\n", "mx.school.test", 0, 0 },
	{ "Authentication-Results: mx.school.test; dmarc=fail header.from=other.test\r\n", "mx.school.test", 0, 0 },
	{ "Authentication-Results: mx.school.test; dkim=fail header.d=school.test\r\n", "mx.school.test", 0, 0 },
	/* pass for another domain */
	{ "Authentication-Results: mx.school.test; dmarc=pass header.from=evil.test\r\n", "mx.school.test", 0, 0 },
	{ "Authentication-Results: mx.school.test; dkim=pass header.d=evil.test\r\n", "mx.school.test", 0, 0 },
	/* a forged pass below our server's real fail is never trusted */
	{ "Authentication-Results: mx.school.test; dmarc=fail header.from=school.test\r\n"
	  "Authentication-Results: mx.school.test; dmarc=pass header.from=school.test\r\n", "mx.school.test", 0, 1 },
	{ "Authentication-Results: mx.school.test; dmarc=fail header.from=school.test\r\n"
	  "Authentication-Results: mx.school.test; dmarc=pass header.from=school.test\r\n", "*", 0, 1 },
	/* a comment cannot smuggle a pass */
	{ "Authentication-Results: mx.school.test; dmarc=fail (dmarc=pass header.from=school.test) header.from=school.test\r\n", "mx.school.test", 0, 1 },
	/* nor can a quoted value the sender chose (smtp.mailfrom is the
	 * envelope sender, local part and all) */
	{ "Authentication-Results: mx.school.test; spf=pass smtp.mailfrom=\"x;dmarc=pass header.from=school.test x\"@evil.example; dmarc=fail header.from=school.test\r\n", "mx.school.test", 0, 1 },
	{ "Authentication-Results: mx.school.test; spf=pass smtp.mailfrom=\"x\\\";dmarc=pass header.from=school.test\"@evil.example\r\n", "mx.school.test", 0, 0 },
	/* a quoted value is still read as its value */
	{ "Authentication-Results: mx.school.test; dkim=pass header.d=\"school.test\"\r\n", "mx.school.test", 1, 0 },
	/* no header, or trust not configured */
	{ "", "mx.school.test", 0, 0 },
	{ "Authentication-Results: mx.school.test; dmarc=pass header.from=school.test\r\n", NULL, 0, 0 },
	/* garbage */
	{ "Authentication-Results: ;;;===; dmarc\r\n", "*", 0, 0 },
};

static void
test_auth(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(acases); i++) {
		char *raw = xasprintf("%sFrom: alice@school.test\r\n"
		    "Subject: x\r\n\r\nbody\r\n", acases[i].headers);
		struct message *m = parse(raw);
		int got = auth_trusted_pass(m, acases[i].trusted, "school.test");
		int forged = auth_trusted_fail(m, acases[i].trusted,
		    "school.test");

		if (got != acases[i].want || forged != acases[i].forged)
			fail_msg("case %zu: want %d/%d, got %d/%d", i,
			    acases[i].want, acases[i].forged, got, forged);
		message_free(m);
		free(raw);
	}
}

int
main(void)
{
	static char *domains[] = { "school.test", NULL };
	static char *coords[] = { "femme@school.test", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_rsvp),
		cmocka_unit_test(test_receipt),
		cmocka_unit_test(test_auth),
	};

	cfg.from_addr = "lido@school.test";
	cfg.domains = domains;
	cfg.coordinators = coords;
	return cmocka_run_group_tests_name("classify", tests, NULL, NULL);
}
