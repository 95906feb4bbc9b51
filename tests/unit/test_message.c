/*
 * test_message.c - src/message.c: real client mail and our own fixtures
 * as a table of expected results, the new-text and HTML helpers as
 * tables, malformed and hostile input, and every fixture file parsed
 * without a crash or a leak.
 *
 * Fixtures: $LEERNET_TEST_DATA/{mail,imip,fuzz-regressions} (default
 * tests/fixtures); their origin is in tests/fixtures/MANIFEST.tsv.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "log.h"
#include "message.h"
#include "util.h"

/* ---- helpers ----------------------------------------------------------- */

static const char *
data_dir(void)
{
	const char *dir = getenv("LEERNET_TEST_DATA");

	return dir && *dir ? dir : "tests/fixtures";
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (f == NULL)
		fail_msg("cannot open fixture %s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	data = xmalloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return data;
}

static char *
fixture(const char *rel, size_t *len)
{
	char *path = xasprintf("%s/%s", data_dir(), rel), *data;

	data = slurp(path, len);
	free(path);
	return data;
}

static int
has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int
has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 1;
	return 0;
}

static void
check_text(const char *what, const char *s)
{
	size_t n;

	if (s == NULL)
		fail_msg("%s is NULL", what);
	n = strlen(s);
	if (!utf8_valid(s, n))
		fail_msg("%s is not valid UTF-8", what);
	if (strchr(s, '\r') != NULL)
		fail_msg("%s holds a CR", what);
	if (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		fail_msg("%s ends in whitespace", what);
	if (n > 0 && s[0] == '\n')
		fail_msg("%s starts with a blank line", what);
}

static void
check_addr(const char *what, const struct address *a)
{
	if (a->name == NULL || a->addr == NULL)
		fail_msg("%s: NULL name or addr", what);
	if (!utf8_valid(a->name, strlen(a->name)) || has_ctl(a->name))
		fail_msg("%s: bad name", what);
	if (!utf8_valid(a->addr, strlen(a->addr)) || has_ctl(a->addr) ||
	    has_upper(a->addr) || strchr(a->addr, ' ') != NULL ||
	    strchr(a->addr, '<') != NULL || strchr(a->addr, '>') != NULL)
		fail_msg("%s: bad addr '%s'", what, a->addr);
}

/* What holds for every message, whatever came in. */
static void
check_invariants(const struct message *m)
{
	const char *id = m->message_id;

	assert_non_null(id);
	assert_true(*id != '\0');
	assert_false(has_ctl(id));
	assert_null(strchr(id, ' '));
	assert_null(strchr(id, '<'));
	assert_null(strchr(id, '>'));
	if (m->message_id_derived) {
		assert_int_equal(strlen(id), strlen("derived-") + 64 +
		    strlen("@leernet.invalid"));
		assert_true(strncmp(id, "derived-", 8) == 0);
	}
	if (m->in_reply_to != NULL)
		assert_false(has_ctl(m->in_reply_to));
	for (size_t i = 0; i < m->nreferences; i++) {
		assert_non_null(m->references[i]);
		assert_true(*m->references[i] != '\0');
		assert_null(strchr(m->references[i], ' '));
	}
	assert_non_null(m->subject);
	assert_true(utf8_valid(m->subject, strlen(m->subject)));
	assert_false(has_ctl(m->subject));
	for (size_t i = 0; i < m->nheaders; i++) {
		const struct header *h = &m->headers[i];

		assert_true(utf8_valid(h->name, strlen(h->name)));
		assert_true(utf8_valid(h->value, strlen(h->value)));
		assert_false(has_ctl(h->name));
		assert_false(has_ctl(h->value));
	}
	check_addr("from", &m->from);
	check_addr("sender", &m->sender);
	for (size_t i = 0; i < m->nto; i++)
		check_addr("to", &m->to[i]);
	for (size_t i = 0; i < m->ncc; i++)
		check_addr("cc", &m->cc[i]);
	for (size_t i = 0; i < m->nreply_to; i++)
		check_addr("reply-to", &m->reply_to[i]);
	if (m->return_path != NULL) {
		assert_false(has_ctl(m->return_path));
		assert_false(has_upper(m->return_path));
	}
	check_text("text", m->text);
	check_text("full_text", m->full_text);
	assert_true(m->body_offset <= m->size);
	for (size_t i = 0; i < m->ncal; i++) {
		const struct calpart *c = &m->cal[i];

		assert_non_null(c->text);
		assert_int_equal(strlen(c->text), c->len);
		assert_true(utf8_valid(c->text, c->len));
		if (c->method != NULL) {
			assert_true(*c->method != '\0');
			assert_false(has_ctl(c->method));
			for (const char *p = c->method; *p; p++)
				assert_false(*p >= 'a' && *p <= 'z');
		}
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(c->text, m->cal[j].text);
	}
	for (size_t i = 0; i < m->ndsn; i++) {
		const struct dsn_rcpt *d = &m->dsn[i];

		assert_non_null(d->final_recipient);
		assert_false(has_upper(d->final_recipient));
		assert_false(has_ctl(d->final_recipient));
		if (d->status != NULL)
			assert_null(strchr(d->status, ' '));
		if (d->diagnostic != NULL)
			assert_false(has_ctl(d->diagnostic));
	}
	if (m->ndsn > 0)
		assert_true(m->is_report);
}

static struct message *
parse_buf(const char *s, size_t len)
{
	struct message *m = NULL;

	assert_int_equal(message_parse(s, len, &m), 0);
	assert_non_null(m);
	check_invariants(m);
	return m;
}

static struct message *
parse_str(const char *s)
{
	return parse_buf(s, strlen(s));
}

static struct message *
parse_fixture(const char *rel)
{
	size_t len;
	char *data = fixture(rel, &len);
	struct message *m = parse_buf(data, len);

	assert_int_equal(m->size, len);
	free(data);
	return m;
}

/* exact, or "^prefix", or "~substring" */
static void
match(const char *what, const char *file, const char *got, const char *want)
{
	int ok;

	if (want == NULL)
		return;
	if (want[0] == '^')
		ok = strncmp(got, want + 1, strlen(want + 1)) == 0;
	else if (want[0] == '~')
		ok = strstr(got, want + 1) != NULL;
	else
		ok = strcmp(got, want) == 0;
	if (!ok)
		fail_msg("%s: %s is\n[%s]\nwant\n[%s]", file, what, got, want);
}

/* ---- fixtures as a table ------------------------------------------------ */

#define DERIVED	"derived"

struct mail_case {
	const char	*file;
	const char	*subject;
	const char	*from_addr;
	const char	*from_name;
	const char	*message_id;	/* DERIVED: none in the mail */
	const char	*text;
	const char	*full_text;	/* or NULL: not checked */
	int		 html_only;
	size_t		 ncal;
	const char	*method;	/* of cal[0]; "-" for none */
	int		 is_report;
	size_t		 ndsn;
	const char	*rcpt;		/* dsn[0] */
	const char	*status;
	const char	*action;
};

static const struct mail_case mail_cases[] = {
	/* Plain text replies: quotes, attributions, signatures. */
	{ "mail/on_date_contact_wrote.eml", "", "discourse@bar.com",
	  "Foo Bar", "20@foo.bar.mail", "This is the actual reply.",
	  "~On Tue, Jan 14, 2016 at 0:42 AM", 0, 0, NULL, 0, 0, NULL,
	  NULL, NULL },
	{ "mail/original_message.eml", "", "discourse@bar.com", "Foo Bar",
	  "27@foo.bar.mail", "This is a reply :)",
	  "~This part should not be included", 0, 0, NULL, 0, 0, NULL,
	  NULL, NULL },
	{ "mail/iphone_signature.eml", "", "discourse@bar.com", "Foo Bar",
	  "25@foo.bar.mail", "This is not the signature you're looking for.",
	  "~Sent from my iMachine", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/dutch.eml",
	  "Re: [Discourse] new reply to your post in 'Crystal Blue'",
	  "walter.white@googlemail.com", "Walter White",
	  "4597127794206131679@unknownmsgid",
	  "Dit is een antwoord in het Nederlands.",
	  "~Dit is de originele post.", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/inline_reply.eml",
	  "Re: [Discourse] [Meta] Testing reply via email",
	  "walter.white@googlemail.com", "Walter White", DERIVED,
	  "The quick brown fox jumps over the lazy dog. The quick brown fox "
	  "jumps over\nthe lazy dog. The quick brown fox jumps over the lazy "
	  "dog. The quick brown\nfox jumps over the lazy dog. The quick brown "
	  "fox jumps over the lazy dog.\nThe quick brown fox jumps over the "
	  "lazy dog. The quick brown fox jumps over\nthe lazy dog. The quick "
	  "brown fox jumps over the lazy dog.",
	  "^On Wed, Oct 8, 2014 at 11:12 AM, techAPJ", 0, 0, NULL, 0, 0,
	  NULL, NULL, NULL },
	{ "mail/paragraphs.eml", NULL, "jake@adventuretime.ooo",
	  "Jake the Dog",
	  "CADkmRc+rNGAGGbV2iE5p918UVy4UyJqVcXRO2=otppgzduJSg@mail.gmail.com",
	  "^Is there any reason the *old* candy", NULL, 0, 0, NULL, 0, 0,
	  NULL, NULL, NULL },
	{ "mail/gmail_web.eml", NULL, "walter.white@googlemail.com",
	  "Walter White", DERIVED,
	  "^### This is a reply from standard GMail in Google Chrome.\n\n",
	  "~> Test reply.", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/ios_default.eml", NULL, "walter.white@googlemail.com",
	  "Walter White", DERIVED,
	  "~Here's a link http://example.com", NULL, 0, 0, NULL, 0, 0, NULL,
	  NULL, NULL },
	{ "mail/forwarded_email_1.eml", "FW: Discoursing much?",
	  "ba@bar.com", "Ba Bar", "58@foo.bar.mail",
	  "@team, can you have a look at this email below?",
	  "~Discoursing much today?", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/forwarded_email_3.eml", "Fwd: \xc3\x87" "a Discourse ?",
	  "ba@bar.com", "Ba Bar", "60@foo.bar.mail",
	  "@team, can you have a look at this email below?",
	  "~De: Un Fran\xc3\xa7" "ais <un@francais.fr>", 0, 0, NULL, 0, 0,
	  NULL, NULL, NULL },
	{ "mail/encoded_filename.eml",
	  "Fwd: Signed email causes file attachments",
	  "xxxxxxxxx.xxxxxxx@gmail.com", "xxxxxxxxx xxxxxxx",
	  "e85734b90505081209eaaa17b@mail.gmail.com",
	  "We should not include these files or vcards as attachments.",
	  "~Test attachments with Base64 encoded filename.", 0, 0, NULL, 0,
	  0, NULL, NULL, NULL },
	{ "mail/long_embedded_email_headers.eml", NULL, "group@example.com",
	  "Example Group", "example1@mail.gmail.com", "",
	  "~Hello world!", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/base64_encoded_body.eml", "Ceci n'est pas un email",
	  "bilbo@proton.me", "bilbo", NULL, "",
	  "Sent from [Proton Mail](https://proton.me/mail/home) for Android.",
	  0, 0, NULL, 0, 0, NULL, NULL, NULL },

	/* Charsets and transfer encodings. */
	{ "mail/encoded_display_name.eml", "I need help", "random.name@bar.ru",
	  "\xd0\xa1\xd0\xbb\xd1\x83\xd1\x87\xd0\xb0\xd0\xb9\xd0\xbd\xd0\xb0"
	  "\xd1\x8f \xd0\x98\xd0\xbc\xd1\x8f", "29@foo.bar.mail",
	  "\xd0\x91\xd1\x83\xd0\xb4\xd1\x8c\xd1\x82\xd0\xb5 \xd0\xb7\xd0\xb4"
	  "\xd0\xbe\xd1\x80\xd0\xbe\xd0\xb2\xd1\x8b!", NULL, 0, 0, NULL, 0,
	  0, NULL, NULL, NULL },
	{ "mail/hebrew_reply.eml", "", "discourse@bar.com", "Foo Bar",
	  "16@foo.bar.mail",
	  "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d! \xd7\x9e\xd7\x94 \xd7\xa9\xd7\x9c"
	  "\xd7\x95\xd7\x9e\xd7\x9a \xd7\x94\xd7\x99\xd7\x95\xd7\x9d?", NULL,
	  0, 0, NULL, 0, 0, NULL, NULL, NULL },
	/* Labelled Big5, but the bytes are UTF-8: they win. */
	{ "mail/chinese_reply.eml", "", "discourse@bar.com", "Foo Bar",
	  "17@foo.bar.mail",
	  "\xe6\x82\xa8\xe5\xa5\xbd\xef\xbc\x81 \xe4\xbd\xa0\xe4\xbb\x8a\xe5"
	  "\xa4\xa9\xe5\xa5\xbd\xe5\x90\x97\xef\xbc\x9f", NULL, 0, 0, NULL,
	  0, 0, NULL, NULL, NULL },
	/* Real Big5, text part preferred over the HTML one. */
	{ "mail/big5.eml", NULL, "walter.white@googlemail.com",
	  "Walter White", "4597127794206131679@unknownmsgid",
	  "\xe5\xaa\xbd\xef\xbc\x81\xe6\x88\x91\xe4\xb8\x8a\xe9\x9b\xbb\xe8"
	  "\xa6\x96\xe4\xba\x86\xef\xbc\x81", NULL, 0, 0, NULL, 0, 0, NULL,
	  NULL, NULL },
	{ "mail/reply_with_8bit_encoding.eml", "", "discourse@bar.com",
	  "Foo Bar", "43@foo.bar.mail",
	  "hab vergessen kritische zeichen einzuf\xc3\xbcgen:\n"
	  "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x84\xc3\x96\xc3\x9c\xc3\x9f", NULL,
	  0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/reply_with_weird_encoding.eml", "", "discourse@bar.com",
	  "Foo Bar", "42@foo.bar.mail",
	  "This is a reply with a weird encoding.", NULL, 0, 0, NULL, 0, 0,
	  NULL, NULL, NULL },
	{ "mail/encoding_undefined_conversion.eml", "The more, the merrier",
	  "discourse@bar.com", "Foo Bar", "30@foo.bar.mail",
	  "^It is more fun with more people. \xf0\x9d\x97\x9c ", NULL, 0, 0,
	  NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/text_reply.eml", "", "discourse@bar.com", "Foo Bar",
	  "15@foo.bar.mail",
	  "This is a text reply :)\n\nEmail parsing should not break because "
	  "of a UTF-8 character: \xe2\x80\x99", NULL, 0, 0, NULL, 0, 0, NULL,
	  NULL, NULL },

	/* Multipart: the body among attachments and alternatives. */
	{ "mail/text_and_html_reply.eml", "", "discourse@bar.com", "Foo Bar",
	  "19@foo.bar.mail", "This is the *text* part.",
	  "This is the *text* part.", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/attached_txt_file.eml", "", "discourse@bar.com", "Foo Bar",
	  "38@foo.bar.mail", "Please find some text file attached.",
	  "Please find some text file attached.", 0, 0, NULL, 0, 0, NULL,
	  NULL, NULL },
	{ "mail/attached_eml_file.eml", "", "discourse@bar.com", "Foo Bar",
	  "38@foo.bar.mail", "Please find the eml file attached.",
	  "Please find the eml file attached.", 0, 0, NULL, 0, 0, NULL, NULL,
	  NULL },

	/* HTML only. */
	{ "mail/html_reply.eml", "", "discourse@bar.com", "Foo Bar",
	  "18@foo.bar.mail", "This is a HTML reply ;)",
	  "This is a HTML reply ;)", 1, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/gmail_html_reply.eml", "", "discourse@bar.com", "Foo Bar",
	  "180@foo.bar.mail", "This is a GMAIL reply ;)",
	  "This is a GMAIL reply ;)\n\nThis is the elided part!", 1, 0, NULL,
	  0, 0, NULL, NULL, NULL },
	/* Unescaped '=' in quoted-printable HTML ("name="). */
	{ "mail/exchange_html_reply.eml", "", "discourse@bar.com", "Foo Bar",
	  "180@foo.bar.mail", "", "This is the body !! of the email.", 1, 0,
	  NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/exchange_html_body_and_reply.eml", "", "discourse@bar.com",
	  "Foo Bar", "180@foo.bar.mail", "This is the body of the email.",
	  "This is the body of the email.\n\nThis is the reply!", 1, 0, NULL,
	  0, 0, NULL, NULL, NULL },
	{ "mail/exchange_html_body.eml", "", "discourse@bar.com", "Foo Bar",
	  "180@foo.bar.mail", "This is the body of the email.", NULL, 1, 0,
	  NULL, 0, 0, NULL, NULL, NULL },

	/* No body, no subject, automatic mail. */
	{ "mail/no_body.eml", "", "foo@bar.com", "Foo Bar", "5@foo.bar.mail",
	  "", "", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/empty.eml", NULL, "jake@adventuretime.ooo", "Jake the Dog",
	  NULL, "", "", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/no_subject.eml", "", "some@one.com", "Some One",
	  "40@foo.bar.mail", "This is an email with no subject...", NULL, 0,
	  0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/auto_reply.eml",
	  "re: [Discourse Meta] eviltrout posted in 'Adventure Time Sux'",
	  "jake@adventuretime.ooo", "Jake the Dog", NULL,
	  "Test reply to Discourse email digest", NULL, 0, 0, NULL, 0, 0,
	  NULL, NULL, NULL },
	{ "mail/auto_generated_header.eml", "", "foo@bar.com", "Foo Bar",
	  "3@foo.bar.mail", "", "", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/mailman_1.eml", "library 1.2.3 released!", "some@one.com",
	  "Some One", "4460a72d7764ad03b5cecd65fe4c2fbd@foo.com",
	  "library version 1.2.3 has been released!", NULL, 0, 0, NULL, 0, 0,
	  NULL, NULL, NULL },
	{ "mail/mailman_2.eml", NULL, "list@ml.example.com",
	  "Some One via example", NULL,
	  "library version 1.2.3 has been released!", NULL, 0, 0, NULL, 0, 0,
	  NULL, NULL, NULL },
	{ "mail/mailinglist.eml", "mailinglist mirror", "alice@foo.com", "",
	  "bddaa334ef93b5f3c7c3a42599330844@foo.com",
	  "I love Discourse's mailinglist mirror feature.", NULL, 0, 0, NULL,
	  0, 0, NULL, NULL, NULL },

	/* Delivery reports. */
	{ "mail/bounced_email.eml", "Undelivered Mail Returned to Sender",
	  "mailer-daemon@b-s-c.co.jp", "", DERIVED, "Your email bounced",
	  /* the returned mail's text follows in the whole text */
	  "^Your email bounced\n\n\nThis is the body", 0, 0, NULL, 1, 1,
	  "linux-admin@b-s-c.co.jp",
	  "5.1.1", "failed" },
	{ "mail/bounced_email_2.eml", NULL, "mailer-daemon@b-s-c.co.jp", "",
	  DERIVED, "Your email bounced", NULL, 0, 0, NULL, 1, 0, NULL, NULL,
	  NULL },
	{ "mail/bounced_email_multiple_status_codes.eml", NULL,
	  "mailer-daemon@b-s-c.co.jp", "", DERIVED, NULL, NULL, 0, 0, NULL, 1,
	  2, "linux-admin@b-s-c.co.jp", "5.1.1", "failed" },
	{ "mail/hard_bounce_via_verp_2.eml", NULL,
	  "mailer-daemon@b-s-c.co.jp", "", "hard-bounced@foo.bar.mail", NULL,
	  NULL, 0, 0, NULL, 1, 1, "linux-admin@b-s-c.co.jp", "5.1.1",
	  "failed" },
	{ "mail/verp_bounce_different_final_recipient.eml", NULL, NULL, NULL,
	  DERIVED, NULL, NULL, 0, 0, NULL, 1, 1, "catchall@b-s-c.co.jp",
	  "4.1.1", "failed" },

	/* Calendars (iMIP). */
	{ "imip/request_google.txt", "Invitation: Imip Testing @ Thu Feb 20, "
	  "2025 7pm - 8pm (CET) (alice@example.org)", "alice@example.org", "",
	  "imip-testing-1234@example.org", "Imip Testing (text/plain)", NULL,
	  0, 1, "REQUEST", 0, 0, NULL, NULL, NULL },
	{ "imip/request_application_ics.txt", NULL, "alice@example.org", "",
	  NULL, NULL, NULL, 0, 1, "-", 0, 0, NULL, NULL, NULL },
	{ "imip/request_proton_bridge.txt", NULL, "alice@example.org", "",
	  NULL, NULL, NULL, 0, 1, "-", 0, 0, NULL, NULL, NULL },
	/* Empty text and HTML parts: no text, still the calendar. */
	{ "imip/request_outlook_com.txt", "Imip Testing", "alice@example.org",
	  "", NULL, "", "", 0, 1, "REQUEST", 0, 0, NULL, NULL, NULL },
	{ "imip/tb-cancel-single-event.eml", NULL, "sender@example.com",
	  "Sender", DERIVED, "^Single Event\n\nWhen:", NULL, 0, 1, "CANCEL",
	  0, 0, NULL, NULL, NULL },
	{ "imip/tb-single-event.eml", NULL, "sender@example.com", "Sender",
	  DERIVED, NULL, NULL, 0, 1, "REQUEST", 0, 0, NULL, NULL, NULL },
	{ "imip/tb-outlook-test-invite.eml", "Testaus", "marge@example.org",
	  "Marge", "HE1P190MB0540579ABA18FCE320901B31E39C9@HE1P190MB0540."
	  "EURP190.PROD.OUTLOOK.COM", "", "", 0, 1, "REQUEST", 0, 0, NULL,
	  NULL, NULL },
	{ "imip/tb-teams-meeting-invite.eml", "Teams meeting",
	  "marge@example.com", "Marge", NULL, NULL, "~Microsoft Teams", 0, 1,
	  "REQUEST", 0, 0, NULL, NULL, NULL },
	/* The same calendar as text/calendar (QP) and invite.ics (base64). */
	{ "imip/tb-meet-meeting-invite.eml", "Meet invite (HTML)",
	  "example@gmail.com", "", "0000000000008c6d7005be1c767c@google.com",
	  NULL, NULL, 0, 1, "REQUEST", 0, 0, NULL, NULL, NULL },

	/* Written for leernet: the clients our schools use, in Dutch. */
	{ "mail/outlook_html_nl_cp1252.eml",
	  "RE: Uitnodiging: Rekenen, bijeenkomst 2", "jan.jansen@school.test",
	  "Jan Jansen", "AM0PR02MB5123A1B2C3D4E5F6A7B8C9D0E1F2@AM0PR02MB5123."
	  "eurprd02.prod.outlook.com",
	  "Hoi Femke,\n\nIk kom graag naar bijeenkomst 2. Ik neem ook mijn "
	  "collega\xe2\x80\x99s van groep 7 mee; zij betalen de \xe2\x82\xac 5 "
	  "voor de lunch zelf.\nCaf\xc3\xa9 De Linde is prima als locatie.\n\n"
	  "Met vriendelijke groet,\nJan Jansen\nBasisschool De Linde",
	  "~\nVan: LIDO leernetwerken <lido@jl.nu>\nVerzonden: maandag 10 mei "
	  "2027 09:12\n", 1, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/gmail_nl_alternative.eml", "Re: Oproep: leernetwerk Rekenen",
	  "piet.pietersen@gmail.com", "Piet Pietersen",
	  "CAKx9Fq3kZb1Y8pW2-tQmJh6oQ0=kQvN_3mX+fSg2c1dZyKp7wA@mail.gmail.com",
	  "Ja, ik doe mee! Ik breng de map met het lesmateriaal mee.\n\n"
	  "Groet,\nPiet",
	  "~Op di 14 mei 2027 om 10:00 schreef LIDO leernetwerken <\n"
	  "lido@jl.nu>:", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/apple_mail_nl.eml", "Re: Uitnodiging: Rekenen, bijeenkomst 2",
	  "anna.devries@school.test", "Anna de Vries",
	  "7C4B1E2A-9F3D-4B6E-8A1C-2D3E4F5A6B7C@school.test",
	  "Prima, ik kom. Mag ik Lotte van groep 5 meenemen?\n\nGroet,\nAnna",
	  NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/iphone_nl.eml", NULL, "sanne.bakker@school.test",
	  "Sanne Bakker", "A1B2C3D4-E5F6-4789-ABCD-EF0123456789@school.test",
	  "Ik kom!", "^Ik kom!\n\nVerstuurd vanaf mijn iPhone\n\n> Op 14 mei",
	  0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/android_samsung_nl.eml", NULL, "kees.visser@school.test",
	  "Kees Visser",
	  "qk3b7x0d1m9w2e5r8t4y6u0i.1778746201562@email.android.com",
	  "Ik meld me af voor dinsdag, sorry! Mijn klas heeft dan de musical.",
	  "~-------- Oorspronkelijk bericht --------", 0, 0, NULL, 0, 0, NULL,
	  NULL, NULL },
	{ "mail/outlook_android_nl.eml",
	  "Re: Nieuws uit het leernetwerk Rekenen", "fleur.smit@school.test",
	  "Fleur Smit", NULL, "Afmelden rekenen\n\nGroetjes, Fleur",
	  "~Outlook voor Android downloaden", 0, 0, NULL, 0, 0, NULL, NULL,
	  NULL },
	{ "mail/ooo_afwezig_nl.eml",
	  "Afwezig: Uitnodiging: Rekenen, bijeenkomst 2",
	  "marieke.mulder@school.test", "Marieke Mulder", NULL,
	  "^Beste afzender,\n\nIk ben afwezig tot en met vrijdag 21 mei.", NULL,
	  0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/thunderbird_iso88591_qp.eml",
	  "Aanmelding leernetwerk \"Rekenen\" \xe2\x80\x93 caf\xc3\xa9",
	  "joelle.muller@school.test", "Jo\xc3\xablle M\xc3\xbcller", NULL,
	  "Beste Femke,\n\nHierbij meld ik mij aan voor het leernetwerk "
	  /* format=flowed: the wrap at 72 is undone */
	  "\"Rekenen\": ik ben ge\xc3\xafnteresseerd in \xc3\xa9\xc3\xa9n van "
	  "de bijeenkomsten over breuken in het caf\xc3\xa9 van De Linde.\n\n"
	  "aanmelden rekenen\n\nMet vriendelijke groet,\nJo\xc3\xabll"
	  "e M\xc3\xbcller", NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/no_message_id.eml", "Gescand document", "scanner@school.test",
	  "Kopieerapparaat Lerarenkamer", DERIVED,
	  "Gescand document van apparaat MFP-2 (lerarenkamer).\n"
	  "Aantal pagina's: 2", NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/outlook_plain_oorspronkelijk_nl.eml", "RE: Status rekenen",
	  "jan.jansen@school.test", "Jansen, Jan",
	  "000001d9a1b2$c3d4e5f0$a1b2c3d4$@school.test",
	  "status rekenen\n\nJan", NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/thunderbird_bottom_nl.eml", NULL, "jan.jansen@school.test",
	  "Jan Jansen", NULL, "Prima, dan kom ik op de 21e. Tot dan!", NULL, 0,
	  0, NULL, 0, 0, NULL, NULL, NULL },
	/* "datum:", "van:", "onderwerp:" lines are a command, not history. */
	{ "mail/outlook_html_meeting_cmd_nl.eml", "bijeenkomst rekenen",
	  "jan.jansen@school.test", "Jan Jansen", NULL,
	  "datum: dinsdag 14 mei 2027\ntijd: 15:00-17:00\nvan: lokaal 3\n"
	  "locatie: De Linde, lokaal 3\nonderwerp: Breuken in groep 6 "
	  "\xe2\x80\x93 7\n\nGroet, Jan", NULL, 1, 0, NULL, 0, 0, NULL, NULL,
	  NULL },
	{ "mail/outlook_web_appendonsend_nl.eml", NULL, "femke@jl.nu",
	  "Femke de Wit", NULL,
	  "goedkeuren\n\nlead: sanne.bakker@school.test",
	  "~Sanne Bakker stelt een nieuw leernetwerk voor.", 1, 0, NULL, 0, 0,
	  NULL, NULL, NULL },
	{ "mail/outlook_calendar_reply_nl.eml",
	  "Geaccepteerd: Rekenen - bijeenkomst 2", "jan.jansen@school.test",
	  "Jan Jansen", NULL, "Ik neem koffie mee.", NULL, 0, 1, "REPLY", 0,
	  0, NULL, NULL, NULL },
	{ "mail/google_calendar_reply.eml", NULL, "piet.pietersen@gmail.com",
	  "Piet Pietersen", NULL, "~Helaas, dan heb ik ouderavond.", NULL, 0,
	  1, "REPLY", 0, 0, NULL, NULL, NULL },
	{ "mail/apple_calendar_reply_nested.eml", NULL,
	  "anna.devries@school.test", "Anna de Vries", NULL,
	  "Anna de Vries heeft uw uitnodiging voorlopig geaccepteerd.", NULL,
	  0, 1, "-", 0, 0, NULL, NULL, NULL },
	{ "mail/mbox_encoded_groups.eml",
	  "Vraag over \xe2\x80\x9c" "breuken\xe2\x80\x9d in groep 6 en 7",
	  "jozef@school.test", "J\xc3\xb3zef van Dijk", "mbox.1@school.test",
	  "hulp", "hulp", 0, 0, NULL, 0, 0, NULL, NULL, NULL },
	{ "mail/raw8bit_headers.eml",
	  "Vraag over caf\xc3\xa9 \xe2\x80\x9cRekenen\xe2\x80\x9d",
	  "henk@oud.test", "Henk Caf\xc3\xa9", "old.client.1@oud.test",
	  "Kan ik me nog aanmelden voor het caf\xc3\xa9?", NULL, 0, 0, NULL, 0,
	  0, NULL, NULL, NULL },
	/* A bounce that carries our own REQUEST is a bounce, no reply. */
	{ "mail/dsn_postfix_551.eml", "Undelivered Mail Returned to Sender",
	  "mailer-daemon@mx.jl.nu", "",
	  "20270511080321.4Vb2Kx0cNmz9sWn@mx.jl.nu",
	  "^This is the mail system at host mx.jl.nu.", NULL, 0, 0, NULL, 1,
	  1, "piet@school.test", "5.1.1", "failed" },
	{ "mail/dsn_postfix_delayed_441.eml", "Delayed Mail (still being "
	  "retried)", "mailer-daemon@mx.jl.nu", "", NULL, NULL, NULL, 0, 0,
	  NULL, 1, 1, "karin@basisschool.test", "4.4.1", "delayed" },
	{ "mail/dsn_exchange_551.eml",
	  "Undeliverable: Uitnodiging: Rekenen, bijeenkomst 2",
	  "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e@school.test", "",
	  "9c8b7a6f-5e4d-4c3b-a2a1-0f9e8d7c6b5a@EXCH01.school.test",
	  "^Delivery has failed to these recipients or groups:", NULL, 0, 0,
	  NULL, 1, 1, "henk@school.test", "5.1.1", "failed" },
	{ "mail/dsn_gmail_551.eml", "Delivery Status Notification (Failure)",
	  "mailer-daemon@googlemail.com", "Mail Delivery Subsystem", NULL,
	  "^** Address not found **", NULL, 0, 0, NULL, 1, 1,
	  "piet.pietersen@school.test", "5.1.1", "failed" },
	{ "mail/dsn_gmail_delayed_447.eml",
	  "Delivery Status Notification (Delay)",
	  "mailer-daemon@googlemail.com", "Mail Delivery Subsystem", NULL,
	  "^** Message not delivered yet **", NULL, 0, 0, NULL, 1, 1,
	  "bram@oude-school.test", "4.4.7", "delayed" },
};

static void
test_fixture_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(mail_cases); i++) {
		const struct mail_case *c = &mail_cases[i];
		struct message *m = parse_fixture(c->file);

		match("subject", c->file, m->subject, c->subject);
		match("from.addr", c->file, m->from.addr, c->from_addr);
		match("from.name", c->file, m->from.name, c->from_name);
		if (c->message_id != NULL && strcmp(c->message_id, DERIVED) == 0)
			assert_int_equal(m->message_id_derived, 1);
		else if (c->message_id != NULL) {
			match("message_id", c->file, m->message_id,
			    c->message_id);
			assert_int_equal(m->message_id_derived, 0);
		}
		match("text", c->file, m->text, c->text);
		match("full_text", c->file, m->full_text, c->full_text);
		if (m->html_only != c->html_only)
			fail_msg("%s: html_only %d", c->file, m->html_only);
		if (m->ncal != c->ncal)
			fail_msg("%s: ncal %zu, want %zu", c->file, m->ncal,
			    c->ncal);
		if (c->method != NULL)
			match("method", c->file, m->cal[0].method ?
			    m->cal[0].method : "-", c->method);
		for (size_t k = 0; k < m->ncal; k++)
			match("calendar", c->file, m->cal[k].text,
			    "^BEGIN:VCALENDAR");
		if (m->is_report != c->is_report)
			fail_msg("%s: is_report %d", c->file, m->is_report);
		if (m->ndsn != c->ndsn)
			fail_msg("%s: ndsn %zu, want %zu", c->file, m->ndsn,
			    c->ndsn);
		if (c->ndsn > 0) {
			match("dsn rcpt", c->file, m->dsn[0].final_recipient,
			    c->rcpt);
			match("dsn status", c->file, m->dsn[0].status, c->status);
			match("dsn action", c->file, m->dsn[0].action, c->action);
		}
		message_free(m);
	}
}

/* ---- fields in detail ------------------------------------------------- */

static void
test_addresses(void **state)
{
	struct message *m = parse_fixture("mail/mbox_encoded_groups.eml");

	(void)state;
	/* Groups flattened, in order; an empty group adds nobody. */
	assert_int_equal(m->nto, 3);
	assert_string_equal(m->to[0].name, "Anna");
	assert_string_equal(m->to[0].addr, "anna@school.test");
	assert_string_equal(m->to[1].name, "");
	assert_string_equal(m->to[1].addr, "kees@school.test");
	assert_string_equal(m->to[2].name, "LIDO leernetwerken");
	assert_string_equal(m->to[2].addr, "lido@jl.nu");
	assert_int_equal(m->ncc, 0);
	/* Quoted names unquoted, an encoded word inside quotes decoded. */
	assert_string_equal(m->sender.name, "Jansen, Jan");
	assert_string_equal(m->sender.addr, "jan.jansen@school.test");
	assert_int_equal(m->nreply_to, 1);
	assert_string_equal(m->reply_to[0].name, "Caf\xc3\xa9 De Linde");
	assert_string_equal(m->reply_to[0].addr, "cafe@delinde.test");
	assert_string_equal(m->return_path, "jan.jansen@school.test");
	/* A phrase before the id, and junk after the ids. */
	assert_string_equal(m->in_reply_to, "call.rekenen.1@jl.nu");
	assert_int_equal(m->nreferences, 2);
	assert_string_equal(m->references[0], "call.rekenen.1@jl.nu");
	assert_string_equal(m->references[1], "call.rekenen.1.reminder@jl.nu");
	/* 2027-05-10 09:00 +0200 */
	assert_int_equal(m->date, 1809932400);
	/* The mbox line is no header; the body starts after the blank line. */
	assert_string_equal(m->headers[0].name, "Return-Path");
	assert_int_equal(m->size - m->body_offset, strlen("hulp\n"));
	message_free(m);

	m = parse_fixture("mail/outlook_plain_oorspronkelijk_nl.eml");
	assert_int_equal(m->nto, 1);
	assert_string_equal(m->to[0].name, "'LIDO leernetwerken'");
	assert_int_equal(m->ncc, 2);
	assert_string_equal(m->cc[0].name, "de Boer, Petra");
	assert_string_equal(m->cc[0].addr, "petra.deboer@school.test");
	assert_string_equal(m->cc[1].addr, "thomas@school.test");
	assert_null(m->return_path);
	assert_string_equal(m->sender.addr, "");
	assert_string_equal(m->sender.name, "");
	assert_int_equal(m->nreply_to, 0);
	assert_null(m->in_reply_to);
	assert_int_equal(m->nreferences, 0);
	message_free(m);

	/* The null sender. */
	m = parse_fixture("mail/ooo_afwezig_nl.eml");
	assert_non_null(m->return_path);
	assert_string_equal(m->return_path, "");
	message_free(m);

	/* A Cc wrapped without the leading space of a continuation. */
	m = parse_fixture("mail/long_embedded_email_headers.eml");
	assert_int_equal(m->ncc, 2);
	assert_string_equal(m->cc[1].name, "D");
	assert_string_equal(m->cc[1].addr, "d@example.com");
	message_free(m);
}

static const struct {
	const char	*field;		/* "To: ..." */
	size_t		 n;
	const char	*first_name;
	const char	*first_addr;
	const char	*last_addr;
} addr_cases[] = {
	{ "To: a@b.nl", 1, "", "a@b.nl", "a@b.nl" },
	{ "To: <A@B.NL>", 1, "", "a@b.nl", "a@b.nl" },
	{ "To: Jan <jan@x.nl>, piet@x.nl", 2, "Jan", "jan@x.nl", "piet@x.nl" },
	{ "To: \"Jansen, Jan\" <jan@x.nl>", 1, "Jansen, Jan", "jan@x.nl",
	  "jan@x.nl" },
	{ "To: \"Jan \\\"JJ\\\" Jansen\" <jan@x.nl>", 1, "Jan \"JJ\" Jansen",
	  "jan@x.nl", "jan@x.nl" },
	{ "To: =?iso-8859-1?q?Jo=EBl?= <joel@x.nl>", 1, "Jo\xc3\xabl",
	  "joel@x.nl", "joel@x.nl" },
	/* An override left open would turn every line the name is put in
	 * around; Hebrew itself (and its marks) stays. */
	{ "To: =?utf-8?q?=E2=80=AEmoc=2Eliame=40ssob?= <carol@x.nl>", 1,
	  "moc.liame@ssob", "carol@x.nl", "carol@x.nl" },
	{ "To: =?utf-8?q?=E2=81=A7=D7=A9=D7=9C=D7=95=D7=9D=E2=80=8F?= <s@x.nl>",
	  1, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\xe2\x80\x8f", "s@x.nl",
	  "s@x.nl" },
	{ "To: jan@x.nl (Jan Jansen)", 1, "", "jan@x.nl", "jan@x.nl" },
	{ "To: team: a@x.nl, B <b@x.nl>;, c@x.nl", 3, "", "a@x.nl",
	  "c@x.nl" },
	{ "To: undisclosed-recipients:;", 0, NULL, NULL, NULL },
	{ "To: ", 0, NULL, NULL, NULL },
	/* Broken ones libetpan gives up on, read loosely. */
	{ "To: Jan <jan@x.nl", 1, "Jan", "jan@x.nl", "jan@x.nl" },
	{ "To: a@x.nl, , b@x.nl", 2, "", "a@x.nl", "b@x.nl" },
	{ "To: Jan Jansen jan@x.nl", 1, "", "jan@x.nl", "jan@x.nl" },
	{ "To: <<>>, @, <a b@c>", 0, NULL, NULL, NULL },
};

static void
test_address_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(addr_cases); i++) {
		char *raw = xasprintf("From: x@y.nl\r\n%s\r\nSubject: t\r\n\r\n"
		    "body\r\n", addr_cases[i].field);
		struct message *m = parse_str(raw);

		if (m->nto != addr_cases[i].n)
			fail_msg("'%s': %zu addresses", addr_cases[i].field,
			    m->nto);
		if (m->nto > 0) {
			assert_string_equal(m->to[0].name,
			    addr_cases[i].first_name);
			assert_string_equal(m->to[0].addr,
			    addr_cases[i].first_addr);
			assert_string_equal(m->to[m->nto - 1].addr,
			    addr_cases[i].last_addr);
		}
		assert_string_equal(m->subject, "t");
		message_free(m);
		free(raw);
	}
}

static void
test_headers(void **state)
{
	struct message *m = parse_fixture("mail/gmail_nl_alternative.eml");
	const char *v;

	(void)state;
	/* Every top-level field in file order, names as written. */
	assert_int_equal(m->nheaders, 12);
	assert_string_equal(m->headers[0].name, "Delivered-To");
	assert_string_equal(m->headers[11].name, "Content-Type");
	/* Unfolded. */
	v = message_header(m, "received", 0);
	assert_non_null(v);
	assert_string_equal(v, "by 2002:a05:7208:3184:b0:84:1e2b:1c10 with SMTP "
	    "id h4csp2147536rbc;        Tue, 14 May 2027 01:12:09 -0700 (PDT)");
	assert_null(message_header(m, "Received", 1));
	assert_null(message_header(m, "X-Nonexistent", 0));
	assert_string_equal(message_header(m, "SUBJECT", 0),
	    "Re: Oproep: leernetwerk Rekenen");
	/* 2027-05-14 10:11:52 +0200 */
	assert_int_equal(m->date, 1810282312);
	message_free(m);

	/* Decoded to UTF-8: RFC 2047 words, raw windows-1252 bytes. */
	m = parse_fixture("mail/thunderbird_iso88591_qp.eml");
	assert_string_equal(message_header(m, "From", 0),
	    "Jo\xc3\xabll" "e M\xc3\xbcller <joelle.muller@school.test>");
	message_free(m);
	m = parse_fixture("mail/raw8bit_headers.eml");
	assert_string_equal(message_header(m, "From", 0),
	    "Henk Caf\xc3\xa9 <henk@oud.test>");
	/* "14 May 27": a two-digit year. */
	assert_int_equal(m->date, 1810281600);
	message_free(m);

	/* The n-th of a repeated field. */
	m = parse_str("Received: one\nReceived: two\n\tfolded\nFrom: a@b.nl\n"
	    "\nbody\n");
	assert_string_equal(message_header(m, "received", 0), "one");
	/* Unfolded; the tab that folded it is a space like any other. */
	assert_string_equal(message_header(m, "received", 1), "two folded");
	assert_null(message_header(m, "received", 2));
	message_free(m);
}

static const struct {
	const char	*value;		/* Date: */
	time_t		 want;
} date_cases[] = {
	{ "Tue, 14 May 2027 10:00:00 +0200", 1810281600 },
	{ "14 May 2027 08:00:00 GMT", 1810281600 },
	{ "Tue, 14 May 2027 01:00:00 -0700 (PDT)", 1810281600 },
	{ "Tue,  14 May 2027 13:30:00 +0530", 1810281600 },
	{ "Thu, 1 Jan 1970 00:00:00 +0000", 0 },
	{ "yesterday", 0 },
	{ "Tue, 14 Foo 2027 10:00:00 +0200", 0 },
	{ "Tue, 32 May 2027 10:00:00 +0200", 0 },
	{ "Tue, 14 May 2027 25:00:00 +0200", 0 },
	{ "", 0 },
};

static void
test_dates(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(date_cases); i++) {
		char *raw = xasprintf("From: a@b.nl\nDate: %s\n\nx\n",
		    date_cases[i].value);
		struct message *m = parse_str(raw);

		if (m->date != date_cases[i].want)
			fail_msg("Date: %s gave %lld", date_cases[i].value,
			    (long long)m->date);
		message_free(m);
		free(raw);
	}
}

static const struct {
	const char	*field;		/* Message-ID: value, or NULL: none */
	const char	*want;		/* NULL: derived */
} msgid_cases[] = {
	{ "<abc@def.nl>", "abc@def.nl" },
	{ "  <abc@def.nl>  (comment)", "abc@def.nl" },
	{ "abc@def.nl", "abc@def.nl" },
	{ "<topic/22638@meta.discourse.org>", "topic/22638@meta.discourse.org" },
	{ "<>", NULL },
	{ "", NULL },
	{ "<\x01\x02@x>", NULL },
	{ "<caf\xc3\xa9@x.nl>", NULL },
	{ NULL, NULL },
};

static void
test_message_id(void **state)
{
	size_t len;
	char *data, *id;
	struct message *m;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(msgid_cases); i++) {
		char *raw = msgid_cases[i].field ? xasprintf("From: a@b.nl\n"
		    "Message-ID: %s\n\nx\n", msgid_cases[i].field) :
		    xstrdup("From: a@b.nl\n\nx\n");

		m = parse_str(raw);
		if (msgid_cases[i].want != NULL) {
			assert_string_equal(m->message_id, msgid_cases[i].want);
			assert_int_equal(m->message_id_derived, 0);
		} else
			assert_int_equal(m->message_id_derived, 1);
		message_free(m);
		free(raw);
	}

	/* Derived ids are stable, and differ when the content does. */
	data = fixture("mail/no_message_id.eml", &len);
	m = parse_buf(data, len);
	assert_int_equal(m->message_id_derived, 1);
	id = xstrdup(m->message_id);
	message_free(m);
	m = parse_buf(data, len);
	assert_string_equal(m->message_id, id);
	message_free(m);
	data[len - 3] ^= 1;
	m = parse_buf(data, len);
	assert_string_not_equal(m->message_id, id);
	message_free(m);
	free(id);
	free(data);

	/* An mbox "From " line (its date differs per copy) is not hashed. */
	m = parse_str("From a@b.nl Mon May 10 09:00:00 2027\nFrom: a@b.nl\n\nx\n");
	id = xstrdup(m->message_id);
	message_free(m);
	m = parse_str("From a@b.nl Tue May 11 10:00:00 2027\nFrom: a@b.nl\n\nx\n");
	assert_string_equal(m->message_id, id);
	message_free(m);
	free(id);
}

static void
test_dsn(void **state)
{
	struct message *m;

	(void)state;
	m = parse_fixture("mail/dsn_gmail_551.eml");
	assert_int_equal(m->ndsn, 1);
	assert_null(m->dsn[0].original_recipient);
	/* Unfolded: the continuation lines joined. */
	assert_string_equal(m->dsn[0].diagnostic, "smtp; 550-5.1.1 The email "
	    "account that you tried to reach does not exist. Please try "
	    "550-5.1.1 double-checking the recipient's email address for typos "
	    "or 550-5.1.1 unnecessary spaces. https://support.google.com/mail/"
	    "?p=NoSuchUser a1si123456wrb.42 - gsmtp");
	message_free(m);

	m = parse_fixture("mail/dsn_postfix_551.eml");
	/* "rfc822; Piet@School.test": type stripped, lower-cased. */
	assert_string_equal(m->dsn[0].final_recipient, "piet@school.test");
	assert_string_equal(m->dsn[0].original_recipient, "piet@school.test");
	assert_string_equal(m->dsn[0].diagnostic, "smtp; 550 5.1.1 "
	    "<piet@school.test>: Recipient address rejected: User unknown in "
	    "virtual mailbox table");
	/* Our own REQUEST inside the returned message is no calendar. */
	assert_int_equal(m->ncal, 0);
	assert_string_equal(m->return_path, "");
	message_free(m);

	m = parse_fixture("mail/bounced_email_multiple_status_codes.eml");
	assert_int_equal(m->ndsn, 2);
	assert_string_equal(m->dsn[1].final_recipient, "foo@b-s-c.co.jp");
	assert_string_equal(m->dsn[1].diagnostic,
	    "X-Postfix; unknown user: \"foo\"");
	message_free(m);

	m = parse_fixture("mail/verp_bounce_different_final_recipient.eml");
	assert_string_equal(m->dsn[0].final_recipient, "catchall@b-s-c.co.jp");
	assert_string_equal(m->dsn[0].original_recipient,
	    "linux-admin@b-s-c.co.jp");
	message_free(m);

	m = parse_fixture("mail/dsn_gmail_delayed_447.eml");
	assert_string_equal(m->dsn[0].final_recipient, "bram@oude-school.test");
	assert_string_equal(m->dsn[0].action, "delayed");
	message_free(m);

	/* No blank line before the first recipient, blanks made of spaces,
	 * an address in brackets, a status with a comment, LF only. */
	m = parse_str("From: MAILER-DAEMON@x.nl\n"
	    "Content-Type: multipart/report; report-type=\"Delivery-Status\";"
	    " boundary=b\n\n--b\nContent-Type: text/plain\n\nbounced\n--b\n"
	    "Content-Type: message/delivery-status\n\n"
	    "Final-Recipient: RFC822; <Jan@X.NL>\nAction: Failed\n"
	    "Status: 5.2.2 (mailbox full)\n  \t\n"
	    "Original-Recipient: rfc822;piet@x.nl\nAction: failed\n--b--\n");
	assert_int_equal(m->is_report, 1);
	assert_int_equal(m->ndsn, 2);
	assert_string_equal(m->dsn[0].final_recipient, "jan@x.nl");
	assert_null(m->dsn[0].original_recipient);
	assert_string_equal(m->dsn[0].action, "failed");
	assert_string_equal(m->dsn[0].status, "5.2.2");
	assert_null(m->dsn[0].diagnostic);
	assert_string_equal(m->dsn[1].final_recipient, "");
	assert_string_equal(m->dsn[1].original_recipient, "piet@x.nl");
	assert_null(m->dsn[1].status);
	message_free(m);

	/* The Message-ID of the returned mail: from message/rfc822 (Postfix,
	 * Gmail) and from text/rfc822-headers (Exchange). */
	m = parse_fixture("mail/dsn_postfix_551.eml");
	assert_string_equal(m->returned_id, "invite.rekenen.2.0@jl.nu");
	message_free(m);
	m = parse_fixture("mail/dsn_gmail_551.eml");
	assert_string_equal(m->returned_id, "invite.rekenen.2.5@jl.nu");
	message_free(m);
	m = parse_fixture("mail/dsn_exchange_551.eml");
	assert_string_equal(m->returned_id, "invite.rekenen.2.3@jl.nu");
	message_free(m);
	/* Folded, after other headers; the first returned message counts;
	 * none when the headers part has no id or only junk. */
	m = parse_str("From: MAILER-DAEMON@x.nl\nContent-Type: multipart/"
	    "report; report-type=delivery-status; boundary=b\n\n--b\n"
	    "Content-Type: message/delivery-status\n\nFinal-Recipient: "
	    "rfc822; jan@x.nl\nStatus: 5.1.1\n--b\nContent-Type: text/"
	    "rfc822-headers\n\nFrom: lido@x.nl\nmessage-id:\n  <een@x.nl>"
	    "\nSubject: x\n\nMessage-ID: <body@x.nl>\n--b\nContent-Type: "
	    "text/rfc822-headers\n\nMessage-ID: <twee@x.nl>\n--b--\n");
	assert_string_equal(m->returned_id, "een@x.nl");
	message_free(m);
	m = parse_str("From: MAILER-DAEMON@x.nl\nContent-Type: multipart/"
	    "report; report-type=delivery-status; boundary=b\n\n--b\n"
	    "Content-Type: text/rfc822-headers\n\nSubject: x\n\n"
	    "Message-ID: <body@x.nl>\n--b\nContent-Type: text/"
	    "rfc822-headers\n\nMessage-ID: <<<>>>\n--b--\n");
	assert_null(m->returned_id);
	message_free(m);

	/* Other reports (read receipts) are no delivery reports. */
	m = parse_str("From: a@x.nl\nContent-Type: multipart/report; "
	    "report-type=disposition-notification; boundary=b\n\n--b\n"
	    "Content-Type: text/plain\n\nread\n--b\nContent-Type: "
	    "message/disposition-notification\n\nDisposition: manual-action/"
	    "MDN-sent-manually; displayed\n--b--\n");
	assert_int_equal(m->is_report, 0);
	assert_int_equal(m->ndsn, 0);
	assert_string_equal(m->text, "read");
	message_free(m);
}

static void
test_calendars(void **state)
{
	struct message *m;

	(void)state;
	/* method= in lower case; a duplicate with CRLF instead of LF; a
	 * calendar nested three levels deep; one named *.ics with a generic
	 * type; one in iso-8859-1; one inside an attached message. */
	m = parse_str("From: a@x.nl\nContent-Type: multipart/mixed; boundary=o"
	    "\n\n--o\nContent-Type: multipart/alternative; boundary=a\n\n--a\n"
	    "Content-Type: text/plain\n\nzie bijlage\n--a\n"
	    "Content-Type: multipart/related; boundary=r\n\n--r\n"
	    "Content-Type: text/calendar; method=request; charset=utf-8\n\n"
	    "BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR\n--r--\n--a--\n"
	    "--o\nContent-Type: text/calendar\nContent-Transfer-Encoding: "
	    "base64\n\nQkVHSU46VkNBTEVOREFSDQpNRVRIT0Q6UkVRVUVTVA0KRU5EOlZDQUxF"
	    "TkRBUg0K\n--o\nContent-Type: application/octet-stream; "
	    "name=\"Reply.ICS\"\n\nBEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR"
	    "\n--o\nContent-Type: text/calendar; charset=iso-8859-1; method="
	    "\" Cancel \"\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "BEGIN:VCALENDAR\nLOCATION:Caf=E9\nEND:VCALENDAR\n--o\n"
	    "Content-Type: message/rfc822\n\nFrom: b@x.nl\nContent-Type: "
	    "text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\nMETHOD:ADD\n"
	    "END:VCALENDAR\n--o--\n");
	assert_int_equal(m->ncal, 3);
	assert_string_equal(m->cal[0].method, "REQUEST");
	assert_string_equal(m->cal[0].text,
	    "BEGIN:VCALENDAR\nMETHOD:REQUEST\nEND:VCALENDAR");
	assert_null(m->cal[1].method);
	assert_string_equal(m->cal[1].text,
	    "BEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR");
	assert_string_equal(m->cal[2].method, "CANCEL");
	assert_non_null(strstr(m->cal[2].text, "LOCATION:Caf\xc3\xa9"));
	assert_string_equal(m->text, "zie bijlage");
	message_free(m);

	/* A whole message that is one calendar. */
	m = parse_str("From: a@x.nl\nContent-Type: text/calendar; method=REPLY"
	    "\n\nBEGIN:VCALENDAR\nEND:VCALENDAR\n");
	assert_int_equal(m->ncal, 1);
	assert_string_equal(m->cal[0].method, "REPLY");
	assert_string_equal(m->full_text, "");
	message_free(m);
}

/* ---- charsets ------------------------------------------------------------ */

static const struct {
	const char	*ct;		/* Content-Type parameters */
	const char	*cte;
	const char	*body;
	const char	*want;
} cs_cases[] = {
	{ "charset=iso-8859-1", "quoted-printable", "caf=E9 =E9=E9n=\n tw=\nee",
	  "caf\xc3\xa9 \xc3\xa9\xc3\xa9n twee" },
	/* Outlook's curly quotes in "iso-8859-1" are windows-1252. */
	{ "charset=\"ISO-8859-1\"", "8bit", "\x93zo\x94 \x80 5",
	  "\xe2\x80\x9czo\xe2\x80\x9d \xe2\x82\xac 5" },
	{ "charset=windows-1252", "8bit", "caf\xe9 \x96 thee",
	  "caf\xc3\xa9 \xe2\x80\x93 thee" },
	{ "charset=utf-8", "8bit", "\xef\xbb\xbfmet BOM", "met BOM" },
	{ "charset=utf-8", "8bit", "kapot \xff\xfe hier",
	  "kapot \xef\xbf\xbd\xef\xbf\xbd hier" },
	{ "charset=utf-8", "8bit", "te kort \xc3", "te kort \xef\xbf\xbd" },
	{ "charset=x-no-such-charset", "8bit", "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "charset=x-no-such-charset", "8bit", "caf\xe9", "caf\xc3\xa9" },
	{ "charset=us-ascii", "7bit", "caf\xe9", "caf\xc3\xa9" },
	{ "", "8bit", "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "charset=koi8-r", "8bit", "\xf0\xd2\xc9\xd7\xc5\xd4",
	  "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	{ "charset=iso-8859-15", "quoted-printable", "=A4 5", "\xe2\x82\xac 5" },
	{ "charset=utf-16le", "base64", "aABpAOkA", "hi\xc3\xa9" },
	{ "charset=iso-2022-jp", "7bit", "\x1b$B$3$s$K$A$O\x1b(B",
	  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf" },
	{ "charset=utf-7", "7bit", "caf+AOk-", "caf\xc3\xa9" },
	{ "charset=utf-8", "base64", "Y2Fmw6k=", "caf\xc3\xa9" },
	/* Bad base64: garbage skipped, a truncated quantum dropped. */
	{ "charset=utf-8", "base64", "Y2F*m!w6\n k=", "caf\xc3\xa9" },
	{ "charset=utf-8", "base64", "!!!!", "" },
	/* NUL bytes, decoded or raw, never cut the text short. */
	{ "charset=utf-8", "base64", "YQBi", "a\xef\xbf\xbd" "b" },
	/* Unescaped '=' in quoted-printable, and "= " before a soft break. */
	{ "charset=utf-8", "quoted-printable", "a=b =3D c= \nd=",
	  "a=b = cd" },
	{ "charset=utf-8", "quoted-printable", "a = b", "a = b" },
	{ "charset=utf-8", "x-uuencode", "gewoon", "gewoon" },
	/* format=flowed (RFC 3676): Thunderbird and Apple Mail wrap at 72 */
	{ "charset=utf-8; format=flowed", "7bit",
	  "locatie: Burgemeester van \nWalsumweg 12\nnext",
	  "locatie: Burgemeester van Walsumweg 12\nnext" },
	{ "charset=utf-8; format=Flowed; delsp=yes", "7bit", "ab \ncd\ne",
	  "abcd\ne" },
	{ "charset=utf-8; format=flowed", "7bit", "> a \n> b\nc \nd",
	  "> a b\nc d" },
	{ "charset=utf-8; format=flowed", "7bit", ">> a \n> b", ">> a \n> b" },
	{ "charset=utf-8; format=flowed", "7bit", "a \n-- \nJan", "a \n-- \nJan" },
	{ "charset=utf-8; format=flowed", "7bit", " From me\n >x", "From me\n>x" },
	{ "charset=utf-8; format=flowed", "quoted-printable",
	  "tijd: 15:00 =\n- 17:00 \n\nx", "tijd: 15:00 - 17:00 \nx" },
	{ "charset=utf-8; format=fixed", "7bit", "a \nb", "a \nb" },
	{ "charset=utf-8; format=flowed", "7bit", "   \n \n", "" },
};

static void
test_charsets(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cs_cases); i++) {
		char *raw = xasprintf("From: a@b.nl\nContent-Type: text/plain;"
		    " %s\nContent-Transfer-Encoding: %s\n\n%s\n", cs_cases[i].ct,
		    cs_cases[i].cte, cs_cases[i].body);
		struct message *m = parse_str(raw);

		if (strcmp(m->full_text, cs_cases[i].want) != 0)
			fail_msg("case %zu (%s, %s): [%s]", i, cs_cases[i].ct,
			    cs_cases[i].cte, m->full_text);
		message_free(m);
		free(raw);
	}
}

static const struct {
	const char	*subject;	/* raw Subject: value */
	const char	*want;
} subj_cases[] = {
	{ "=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9" },
	{ "=?utf-8?b?Y2Fmw6k=?= =?utf-8?b?IHRoZWU=?=", "caf\xc3\xa9 thee" },
	{ "Re: =?ISO-8859-1?Q?=93zo=94?=", "Re: \xe2\x80\x9czo\xe2\x80\x9d" },
	{ "=?x-unknown?q?caf=E9?=", "caf\xc3\xa9" },
	{ "=?utf-8?q?a=00b?=", NULL },
	{ "=?utf-8?q?line=0D=0ABcc:_x@evil?=", NULL },
	{ "=?utf-8?b?!!!!?=", NULL },
	{ "=?utf-8?q?unterminated", NULL },
	{ "caf\xe9 raw", "caf\xc3\xa9 raw" },
	{ "\xff\xfe\xfd", NULL },
	{ "   spaced   out   ", NULL },
	{ "=?utf-8?q?a=E2=80=AEb=E2=81=A6c?=", "abc" },
};

static void
test_subjects(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(subj_cases); i++) {
		char *raw = xasprintf("From: a@b.nl\nSubject: %s\n\nx\n",
		    subj_cases[i].subject);
		struct message *m = parse_str(raw);

		/* check_invariants saw no control characters. */
		if (subj_cases[i].want != NULL &&
		    strcmp(m->subject, subj_cases[i].want) != 0)
			fail_msg("Subject: %s gave [%s]", subj_cases[i].subject,
			    m->subject);
		message_free(m);
		free(raw);
	}
}

/* ---- new text ------------------------------------------------------------- */

static const struct {
	const char	*in;
	const char	*want;
} nt_cases[] = {
	{ "", "" },
	{ "\n\n  \n", "" },
	{ "Hallo\n\n\n\nDoei\n\n", "Hallo\n\nDoei" },
	{ "ja\n> nee\n>> nooit\n  > ook niet\n", "ja" },
	/* Gmail, English and Dutch, on one line and wrapped. */
	{ "Top.\n\nOn Tue, May 14, 2027 at 10:00 AM Jan <jan@x.nl> wrote:\n\n"
	  "> old\n", "Top." },
	{ "Top.\n\nOn Tue, May 14, 2027 at 10:00 AM Jan Jansen <\n"
	  "jan@x.nl> wrote:\n> old\n", "Top." },
	{ "Top.\n\nOp di 14 mei 2027 om 10:00 schreef Jan Jansen <jan@x.nl>:\n"
	  "\n> oud\n", "Top." },
	{ "Top.\n\nOp di 14 mei 2027 om 10:00 schreef Jan Jansen <\n"
	  "jan@x.nl>:\n\n> oud\n", "Top." },
	{ "Top.\n\nOp 14 mei 2027 om 10:00 heeft Jan <jan@x.nl> het volgende "
	  "geschreven:\n\n> oud\n", "Top." },
	/* An attribution with unquoted history under it (top-posting). */
	{ "Top.\n\nOp 18 juli 2013 10:23 schreef Sander het volgende:\n\n"
	  "Dit is de originele post.\n", "Top." },
	/* Bottom-posting: the quote first, the new text after it. */
	{ "On Mon, May 10, 2027 at 9:00 AM Jan <jan@x.nl> wrote:\n> vraag?\n"
	  "\nantwoord!\n", "antwoord!" },
	/* Interleaved answers. */
	{ "> vraag 1\nantwoord 1\n> vraag 2\nantwoord 2\n",
	  "antwoord 1\nantwoord 2" },
	/* Outlook. */
	{ "Ja.\n\n-----Original Message-----\nFrom: x\n", "Ja." },
	{ "Ja.\n\n-----Oorspronkelijk bericht-----\nVan: x\n", "Ja." },
	{ "Ja.\n---Original Message---\nold\n", "Ja." },
	{ "Ja.\n\n________________________________\nVan: LIDO\n", "Ja." },
	{ "Ja.\n\nVan: LIDO <lido@jl.nu>\nVerzonden: maandag 10 mei 2027 9:12\n"
	  "Aan: Jan\nOnderwerp: x\n\noud\n", "Ja." },
	{ "Ja.\n\nFrom: LIDO <lido@jl.nu>\nSent: Monday, May 10, 2027 9:12 AM"
	  "\nTo: Jan\nSubject: x\n\nold\n", "Ja." },
	{ "Ja.\n\n*From:* LIDO <lido@jl.nu>\n*Sent:* Monday\n*To:* Jan\n",
	  "Ja." },
	{ "Ja.\n\nFrom: LIDO <lido@jl.nu>\nDate: Mon, 10 May 2027\n\nold\n",
	  "Ja." },
	{ "Ja.\n\n---------- Forwarded message ---------\nFrom: x\n", "Ja." },
	{ "Kijk.\n\nBegin doorgestuurd bericht:\n\nVan: x\n", "Kijk." },
	/* Not history: a meeting request's own key lines. */
	{ "datum: 14 mei 2027\ntijd: 15:00\nvan: lokaal 3\nonderwerp: breuken",
	  "datum: 14 mei 2027\ntijd: 15:00\nvan: lokaal 3\nonderwerp: breuken" },
	{ "Ja.\n\nVan: Jan\nDatum: 14 mei 2027\nAan: Piet\n\noud\n", "Ja." },
	{ "van: 15:00\ndatum: 14 mei 2027\nonderwerp: breuken\n",
	  "van: 15:00\ndatum: 14 mei 2027\nonderwerp: breuken" },
	{ "Van: Jan\n\nDatum: morgen\n", "Van: Jan\n\nDatum: morgen" },
	{ "Op dinsdag schreef ik al:\nik kom.\n",
	  "Op dinsdag schreef ik al:\nik kom." },
	{ "On second thought, who wrote:\nthis?\n",
	  "On second thought, who wrote:\nthis?" },
	{ "A ----- line -----\nstays\n", "A ----- line -----\nstays" },
	/* Signatures. */
	{ "Ja.\n\n-- \nJan Jansen\nDe Linde\n", "Ja." },
	{ "Ja.\n--\nJan\n", "Ja." },
	{ "Ja.\n\nSent from my iPhone\n", "Ja." },
	{ "Ja.\n\nVerstuurd vanaf mijn iPhone\n", "Ja." },
	{ "Ja.\n\nVerzonden vanaf mijn Samsung Galaxy-smartphone.\n", "Ja." },
	{ "Ja.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n", "Ja." },
	{ "Ja.\n\nDownload Outlook voor Android\n", "Ja." },
	{ "Ja.\n\nSent from my iPhone\n\n> On 1 May 2027, Jan wrote:\n> x\n",
	  "Ja." },
	/* Only at the end: a line that merely starts that way stays. */
	{ "Sent from my phone, because the laptop broke.\nMore text.\n",
	  "Sent from my phone, because the laptop broke.\nMore text." },
	{ "a\r\nb\r\n\r\n", "a\nb" },
};

static void
test_new_text(void **state)
{
	char *t;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(nt_cases); i++) {
		t = message_new_text(nt_cases[i].in);
		if (strcmp(t, nt_cases[i].want) != 0)
			fail_msg("new text of [%s]\nis [%s]\nwant [%s]",
			    nt_cases[i].in, t, nt_cases[i].want);
		free(t);
	}
	t = message_new_text(NULL);
	assert_string_equal(t, "");
	free(t);
}

/* ---- HTML ------------------------------------------------------------------ */

static const struct {
	const char	*html;
	const char	*want;
} html_cases[] = {
	{ "", "" },
	{ "<div dir=\"ltr\">This is a <b>HTML</b> reply ;)</div>",
	  "This is a HTML reply ;)" },
	{ "<div>a</div><div><br></div><div>b</div>", "a\n\nb" },
	{ "<p>een</p><p>twee</p>", "een\n\ntwee" },
	/* a link keeps where it points, once */
	{ "Zie <a href='https://x.test/a?b=1&amp;c=2'>de site</a>.",
	  "Zie de site <https://x.test/a?b=1&c=2>." },
	{ "<a href=\"https://x.test/\">https://x.test/</a>", "https://x.test/" },
	{ "<a href=\"mailto:piet@school.nl\">Piet</a>", "Piet" },
	{ "<a href=\"javascript:alert(1)\">klik</a>", "klik" },
	{ "<a href=\"https://x.test/\"><img src=x></a>", "" },
	{ "regel<br>regel<br/>regel", "regel\nregel\nregel" },
	{ "&lt;tag&gt; &amp; &quot;q&quot; &eacute;&#233;&#xe9; caf&eacute;",
	  "<tag> & \"q\" \xc3\xa9\xc3\xa9\xc3\xa9 caf\xc3\xa9" },
	{ "a&nbsp;b", "a b" },
	{ "  veel   \n\t spaties  ", "veel spaties" },
	{ "<html><head><title>T</title><style>p{}</style></head><body>"
	  "<script>alert(1)</script>zichtbaar</body></html>", "zichtbaar" },
	{ "<ul><li>een</li><li>twee</li></ul>", "- een\n- twee" },
	{ "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
	  "a b\nc" },
	{ "<pre>  a\n   b</pre>", "  a\n   b" },
	{ "<p class=MsoNormal>een<o:p></o:p></p><p class=MsoNormal>twee"
	  "<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
	  "<p class=MsoNormal>drie</p>", "een\ntwee\n\ndrie" },
	/* The full text keeps the quotes; quotes are skipped for text. */
	{ "nieuw<blockquote>oud</blockquote>", "nieuw\n\noud" },
	{ "<!-- comment -->tekst<!--[if mso]>x<![endif]-->", "tekst" },
	{ "<b>unclosed <i>tags", "unclosed tags" },
	{ "</p></div>stray</td>", "stray" },
	{ "<img src=\"cid:x\" alt=\"logo\">", "" },
	{ "\xef\xbb\xbf<p>bom</p>", "bom" },
	/* Bytes that are no UTF-8 do not stop the parser. */
	{ "<p>caf\xe9</p><p>verder</p>", "caf\xef\xbf\xbd\n\nverder" },
};

static void
test_html_to_text(void **state)
{
	char *t;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(html_cases); i++) {
		t = message_html_to_text(html_cases[i].html,
		    strlen(html_cases[i].html));
		if (strcmp(t, html_cases[i].want) != 0)
			fail_msg("html [%s]\nis [%s]\nwant [%s]",
			    html_cases[i].html, t, html_cases[i].want);
		assert_true(utf8_valid(t, strlen(t)));
		free(t);
	}
	t = message_html_to_text(NULL, 0);
	assert_string_equal(t, "");
	free(t);
	t = message_html_to_text("<p>voor\0na</p>", 14);
	assert_string_equal(t, "voor\xef\xbf\xbdna");
	free(t);
	/* Not NUL-terminated: only len bytes are read. */
	t = message_html_to_text("<p>kort</p>GARBAGE", 11);
	assert_string_equal(t, "kort");
	free(t);
}

/* Quoted history in HTML-only mail: not in text, still in full_text. */
static const struct {
	const char	*html;
	const char	*text;
	const char	*full_has;
} hq_cases[] = {
	{ "nieuw<div class=\"gmail_quote\">Op di 14 mei schreef x:"
	  "<blockquote class=\"gmail_quote\">oud</blockquote></div>",
	  "nieuw", "oud" },
	{ "<div>nieuw</div><blockquote type=\"cite\">oud</blockquote>"
	  "<div>nog nieuwer</div>", "nieuw\n\nnog nieuwer", "oud" },
	{ "<div>ja</div><div id=\"appendonsend\"></div><hr><div id=\""
	  "divRplyFwdMsg\"><b>From:</b> x</div><div>oud</div>", "ja", "oud" },
	{ "<div>ja</div><div id=\"x_divRplyFwdMsg\"><b>Van:</b> x</div>oud",
	  "ja", "oud" },
	{ "<p class=MsoNormal>ja</p><div style=\"border:none;border-top:solid "
	  "#E1E1E1 1.0pt\"><p class=MsoNormal><b>Van:</b> LIDO<br><b>Verzonden:"
	  "</b> maandag</p></div><p class=MsoNormal>oud</p>", "ja", "oud" },
	/* A border that is no quoted header stays. */
	{ "<div style=\"border-top:1px solid\">kader</div>", "kader",
	  "kader" },
	{ "<div name=\"messageBodySection\">ja</div><div name=\""
	  "messageReplySection\">On 1 May, x wrote:<blockquote>oud</blockquote>"
	  "</div>", "ja", "oud" },
	{ "ja<div class=\"gmail_signature\">Jan Jansen</div>", "ja",
	  "Jan Jansen" },
	{ "ja<div class=\"x_gmail_quote\">oud</div>", "ja", "oud" },
	{ "ja<br><br>Op 14 mei 2027 om 10:00 schreef Jan &lt;j@x.nl&gt;:<br>"
	  "oud bericht", "ja", "oud bericht" },
};

static void
test_html_quotes(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(hq_cases); i++) {
		char *raw = xasprintf("From: a@b.nl\nContent-Type: text/html; "
		    "charset=utf-8\n\n%s\n", hq_cases[i].html);
		struct message *m = parse_str(raw);

		assert_int_equal(m->html_only, 1);
		if (strcmp(m->text, hq_cases[i].text) != 0)
			fail_msg("html [%s]\ntext [%s]\nwant [%s]",
			    hq_cases[i].html, m->text, hq_cases[i].text);
		if (strstr(m->full_text, hq_cases[i].full_has) == NULL)
			fail_msg("html [%s]\nfull text [%s] lacks [%s]",
			    hq_cases[i].html, m->full_text,
			    hq_cases[i].full_has);
		message_free(m);
		free(raw);
	}
}

/* ---- malformed and hostile input ------------------------------------------- */

static void
test_not_mail(void **state)
{
	static const char *const bad[] = { "", "\n", "\r\n\r\n  \n",
	    "hello world", "hello world\nmore text\n", "\n\nno header here\n",
	    ": no name\n", "From a@b.nl Mon May 10 09:00:00 2027\n\nbody\n" };
	struct message *m;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		/* Not a valid pointer: message_parse() must set it to NULL. */
		m = (struct message *)(uintptr_t)1;
		if (message_parse(bad[i], strlen(bad[i]), &m) != -1)
			fail_msg("'%s' parsed as mail", bad[i]);
		assert_null(m);
	}
	assert_int_equal(message_parse(NULL, 10, &m), -1);
	assert_int_equal(message_parse("\0\0\0\0", 4, &m), -1);
	assert_null(m);
}

static const struct {
	const char	*raw;
	const char	*subject;	/* or NULL */
	const char	*text;		/* or NULL */
} odd_cases[] = {
	/* Leading blank lines, an mbox line, LF only, no final LF. */
	{ "\n\r\nFrom a@b Mon May 10 09:00:00 2027\nSubject: s\n\nbody",
	  "s", "body" },
	/* Headers only, without a final line end. */
	{ "From: a@b.nl\nSubject: laatste", "laatste", "" },
	/* No blank line: the body starts at the first non-field line. */
	{ "From: a@b.nl\nSubject: s\nthis is body\nmore\n", "s",
	  "this is body\nmore" },
	/* CR only, CR CR LF, mixed. */
	{ "From: a@b.nl\rSubject: cr\r\rbody\rline\r", "cr", "body\nline" },
	{ "From: a@b.nl\r\r\nSubject: crcrlf\r\r\n\r\r\nbody\r\r\n", "crcrlf",
	  "body" },
	{ "From: a@b.nl\r\nSubject: mixed\n\r\nbody\rx\n", "mixed",
	  "body\nx" },
	/* NUL bytes in a header and in the body. */
	{ "From: a@b.nl\nSubject: a\x01" "b\n\nbo\x7f" "dy\n", "a b",
	  "bo\x7f" "dy" },
	/* Truncated multipart: no closing boundary, cut mid-part. */
	{ "From: a@b.nl\nSubject: t\nContent-Type: multipart/mixed; "
	  "boundary=x\n\n--x\nContent-Type: text/plain\n\ndeel een\n--x\n"
	  "Content-Type: text/plain\n\ndeel tw", "t", "deel een\n\ndeel tw" },
	/* Multipart without a boundary parameter: no text, no crash. */
	{ "From: a@b.nl\nSubject: t\nContent-Type: multipart/mixed\n\n--x\n"
	  "Content-Type: text/plain\n\ntekst\n--x--\n", "t", "" },
	/* A boundary that never appears. */
	{ "From: a@b.nl\nContent-Type: multipart/alternative; boundary=nope"
	  "\n\n--x\n\ntekst\n", "", "~tekst" },
	/* Empty boundary, empty parts. */
	{ "From: a@b.nl\nContent-Type: multipart/mixed; boundary=\"\"\n\n--\n"
	  "\n--\n--\n--\n", "", NULL },
	/* The line end before a delimiter is the delimiter's, so the second
	 * "--b" is the first part's body. */
	{ "From: a@b.nl\nContent-Type: multipart/mixed; boundary=b\n\n--b\n--b"
	  "\n\n--b--\n", "", "--b" },
	/* Garbage Content-Type and encoding. */
	{ "From: a@b.nl\nContent-Type: ;;;===\nContent-Transfer-Encoding: ?\n"
	  "\ntekst\n", "", "tekst" },
	{ "From: a@b.nl\nContent-Type: text/plain; charset=\n\ntekst\n", "",
	  "tekst" },
	/* A message/rfc822 that is empty, or only headers. */
	{ "From: a@b.nl\nContent-Type: message/rfc822\n\n", "", "" },
	{ "From: a@b.nl\nContent-Type: message/rfc822\n\nFrom: c@d.nl\n", "",
	  "" },
	/* Header continuation first, and a field with an empty name. */
	{ " folded first\nFrom: a@b.nl\n\nx\n", NULL, NULL },
	{ "From: a@b.nl\n: no name\nSubject: s\n\nx\n", NULL, NULL },
};

static void
test_odd_input(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(odd_cases); i++) {
		struct message *m = NULL;
		const char *raw = odd_cases[i].raw;
		int r = message_parse(raw, strlen(raw), &m);

		if (odd_cases[i].subject == NULL && odd_cases[i].text == NULL) {
			if (r == 0) {
				check_invariants(m);
				message_free(m);
			}
			continue;
		}
		if (r != 0)
			fail_msg("case %zu not parsed", i);
		check_invariants(m);
		if (odd_cases[i].subject != NULL &&
		    strcmp(m->subject, odd_cases[i].subject) != 0)
			fail_msg("case %zu: subject [%s]", i, m->subject);
		match("text", odd_cases[i].raw, m->text, odd_cases[i].text);
		message_free(m);
	}
}

static void
test_nul_bytes(void **state)
{
	static const char raw[] = "From: a@b.nl\nSubject: voor\0na\n\n"
	    "tekst\0meer tekst\n";
	struct message *m = parse_buf(raw, sizeof(raw) - 1);

	(void)state;
	assert_string_equal(m->subject, "voor na");
	assert_string_equal(m->text, "tekst meer tekst");
	message_free(m);
}

static void
test_body_offset(void **state)
{
	static const struct {
		const char	*raw;
		const char	*body;	/* what raw + body_offset holds */
	} cases[] = {
		{ "From: a@b.nl\r\nSubject: s\r\n\r\nbody\r\n", "body\r\n" },
		{ "\n\nFrom a@b Mon May 10 09:00:00 2027\nFrom: a@b.nl\n\nb\n",
		  "b\n" },
		{ "From: a@b.nl\nSubject: s\n folded\n\n\nbody", "\nbody" },
		{ "From: a@b.nl\n", "" },
		{ "From: a@b.nl\nno separator\n", "no separator\n" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct message *m = parse_str(cases[i].raw);

		assert_string_equal(cases[i].raw + m->body_offset,
		    cases[i].body);
		message_free(m);
	}
}

static char *
repeat(const char *s, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf_adds(&b, s), 0);
	return buf_steal(&b);
}

static void
test_big_headers(void **state)
{
	struct message *m;
	struct buf b;
	char *big;

	(void)state;
	/* A 4 MiB Subject, capped. */
	big = repeat("=?utf-8?q?caf=C3=A9?= ", 4u * 1024 * 1024 / 22);
	buf_init(&b, 0);
	assert_int_equal(buf_addf(&b, "From: a@b.nl\nSubject: %s\n\nx\n", big),
	    0);
	m = parse_buf(b.data, b.len);
	assert_true(strlen(m->subject) <= 64 * 1024);
	assert_true(strncmp(m->subject, "caf\xc3\xa9", 5) == 0);
	assert_string_equal(m->text, "x");
	message_free(m);
	buf_free(&b);
	free(big);

	/* 20,000 fields; a To with 50,000 addresses; a long References. */
	big = repeat("X-Junk: a\n", 20000);
	buf_init(&b, 0);
	assert_int_equal(buf_addf(&b, "From: a@b.nl\n%sTo: ", big), 0);
	for (int i = 0; i < 50000; i++)
		assert_int_equal(buf_addf(&b, "u%d@x.nl, ", i), 0);
	assert_int_equal(buf_adds(&b, "z@x.nl\nReferences:"), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_addf(&b, " <r%d@x.nl>", i), 0);
	assert_int_equal(buf_adds(&b, "\n\nbody\n"), 0);
	m = parse_buf(b.data, b.len);
	assert_true(m->nheaders <= 1000);
	assert_int_equal(m->nheaders, 1000);
	assert_string_equal(m->from.addr, "a@b.nl");
	message_free(m);
	buf_free(&b);
	free(big);

	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "From: a@b.nl\nTo: "), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_addf(&b, "u%d@x.nl, ", i), 0);
	assert_int_equal(buf_adds(&b, "z@x.nl\nReferences:"), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf_addf(&b, " <r%d@x.nl>", i), 0);
	assert_int_equal(buf_adds(&b, "\n\nbody\n"), 0);
	m = parse_buf(b.data, b.len);
	assert_true(m->nto > 0 && m->nto <= 1000);
	assert_string_equal(m->to[0].addr, "u0@x.nl");
	/* The thread's root and the most recent ones are kept. */
	assert_true(m->nreferences > 0 && m->nreferences <= 200);
	assert_string_equal(m->references[0], "r0@x.nl");
	assert_string_equal(m->references[m->nreferences - 1], "r2999@x.nl");
	message_free(m);
	buf_free(&b);
}

static void
test_deep_nesting(void **state)
{
	struct buf b;
	struct message *m;
	const int n = 10000;

	(void)state;
	/* 10,000 nested multiparts. */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "From: a@b.nl\nSubject: diep\n"
	    "Content-Type: multipart/mixed; boundary=\"b0\"\n\n"), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(buf_addf(&b, "--b%d\nContent-Type: multipart/"
		    "mixed; boundary=\"b%d\"\n\n", i, i + 1), 0);
	assert_int_equal(buf_addf(&b, "--b%d\nContent-Type: text/calendar\n\n"
	    "BEGIN:VCALENDAR\n", n), 0);
	m = parse_buf(b.data, b.len);
	assert_string_equal(m->subject, "diep");
	/* Beyond the depth cap: not read. */
	assert_int_equal(m->ncal, 0);
	message_free(m);
	buf_free(&b);

	/* 10,000 nested messages. */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "From: a@b.nl\n"), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(buf_adds(&b, "Content-Type: message/rfc822\n\n"
		    "From: a@b.nl\n"), 0);
	assert_int_equal(buf_adds(&b, "\ninnermost\n"), 0);
	m = parse_buf(b.data, b.len);
	message_free(m);
	buf_free(&b);

	/* 10,000 sibling parts: the first 200 are read. */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "From: a@b.nl\nContent-Type: multipart/"
	    "mixed; boundary=b\n\n"), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(buf_addf(&b, "--b\nContent-Type: text/calendar;"
		    " method=REQUEST\n\nBEGIN:VCALENDAR\nUID:%d\n", i), 0);
	assert_int_equal(buf_adds(&b, "--b--\n"), 0);
	m = parse_buf(b.data, b.len);
	assert_int_equal(m->ncal, 20);
	message_free(m);
	buf_free(&b);

	/* HTML nested 100,000 deep. */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "From: a@b.nl\nContent-Type: text/html"
	    "\n\n"), 0);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(buf_adds(&b, "<div><blockquote>"), 0);
	assert_int_equal(buf_adds(&b, "diep\n"), 0);
	m = parse_buf(b.data, b.len);
	message_free(m);
	buf_free(&b);
}

/*
 * The bounds on what libetpan parses (see cap_mime): each one visible in
 * what comes out, with a control just under it.
 */
static void
test_mime_caps(void **state)
{
	struct buf b;
	struct message *m;

	(void)state;
	/* After 64 multipart fields the later ones are no containers. */
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "From: a@b.nl\nContent-Type: multipart/"
	    "mixed; boundary=top\n\n"), 0);
	for (int i = 1; i <= 70; i++)
		assert_int_equal(buf_addf(&b, "--top\nContent-Type: multipart/"
		    "alternative; boundary=a%d\n\n--a%d\nContent-Type: text/"
		    "plain\n\ndeel %d.\n--a%d--\n", i, i, i, i), 0);
	assert_int_equal(buf_adds(&b, "--top--\n"), 0);
	m = parse_buf(b.data, b.len);
	assert_non_null(strstr(m->full_text, "deel 1."));
	assert_non_null(strstr(m->full_text, "deel 63."));
	assert_null(strstr(m->full_text, "deel 64."));
	message_free(m);
	buf_free(&b);

	/* After 5,000 lines that start with "--", no part starts. */
	for (int lines = 4990; lines <= 5010; lines += 20) {
		buf_init(&b, 0);
		assert_int_equal(buf_adds(&b, "From: a@b.nl\nContent-Type: "
		    "multipart/mixed; boundary=b\n\n--b\n\n"), 0);
		for (int i = 0; i < lines; i++)
			assert_int_equal(buf_adds(&b, "--x\n"), 0);
		assert_int_equal(buf_adds(&b, "--b\nContent-Type: text/calendar"
		    "\n\nBEGIN:VCALENDAR\n--b--\n"), 0);
		m = parse_buf(b.data, b.len);
		assert_int_equal(m->ncal, lines < 5000 ? 1 : 0);
		message_free(m);
		buf_free(&b);
	}
}

static void
test_big_bodies(void **state)
{
	struct buf b;
	struct message *m;
	char *line;

	(void)state;
	/* 6 MiB of base64 text: decoded text is capped per part. */
	line = repeat("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
	    "QUFB\n", 100000);
	buf_init(&b, 0);
	assert_int_equal(buf_addf(&b, "From: a@b.nl\nContent-Type: text/plain"
	    "\nContent-Transfer-Encoding: base64\n\n%s", line), 0);
	m = parse_buf(b.data, b.len);
	assert_int_equal(strlen(m->full_text), 1024 * 1024);
	message_free(m);
	buf_free(&b);
	free(line);

	/* Many text parts: the whole body is capped too. */
	line = repeat("Dit is tekst. ", 70000);
	buf_init(&b, 0);
	assert_int_equal(buf_adds(&b, "From: a@b.nl\nContent-Type: multipart/"
	    "mixed; boundary=b\n\n"), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(buf_addf(&b, "--b\nContent-Type: text/plain; "
		    "charset=utf-8\n\n%s\n", line), 0);
	assert_int_equal(buf_adds(&b, "--b--\n"), 0);
	m = parse_buf(b.data, b.len);
	assert_true(strlen(m->full_text) <= 2 * 1024 * 1024);
	assert_true(strlen(m->full_text) > 1024 * 1024);
	message_free(m);
	buf_free(&b);
	free(line);

	/* 100,000 lines of quote and header-looking lines for new_text. */
	line = repeat("From: x@y.nl\nTo: y\nSent from my phone\n> q\n", 100000);
	m = parse_str(line);
	message_free(m);
	free(line);
}

/* ---- every fixture -------------------------------------------------------- */

static int
parse_dir(const char *rel)
{
	char *dir = xasprintf("%s/%s", data_dir(), rel);
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL) {
		free(dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		char *path;
		size_t len;
		char *data;
		struct message *m = NULL;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		data = slurp(path, &len);
		if (message_parse(data, len, &m) == 0) {
			check_invariants(m);
			message_free(m);
		} else
			assert_null(m);
		free(data);
		free(path);
		n++;
	}
	closedir(d);
	free(dir);
	return n;
}

static void
test_every_fixture(void **state)
{
	(void)state;
	assert_true(parse_dir("mail") >= 30);
	assert_true(parse_dir("imip") >= 10);
	(void)parse_dir("fuzz-regressions");
}

/* Attachments are named (for the news of a list post); a mail forwarded
 * as an attachment adds its text to the whole text, never the new text. */
static void
test_attachments(void **state)
{
	static const char mail[] =
	    "From: alice@school.test\r\nTo: lido+rekenen@school.test\r\n"
	    "Subject: Werkbladen\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	    "Zie bijlage.\r\n"
	    "--b\r\nContent-Type: application/pdf; name=\"tafels.pdf\"\r\n"
	    "Content-Disposition: attachment; filename=\"tafels.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
	    "--b\r\nContent-Type: application/pdf\r\n"
	    "Content-Disposition: attachment;\r\n"
	    " filename*0*=utf-8''R%C3%A9kenen%20;\r\n filename*1*=groep%203.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
	    "--b\r\nContent-Type: image/png;\r\n"
	    " name=\"=?utf-8?B?w6lsw6lwaGFudC5wbmc=?=\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\niVBORw0=\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n"
	    "Content-Disposition: attachment\r\n\r\n"
	    "From: pabo@pabo.test\r\nSubject: Nascholing\r\n\r\n"
	    "aanmelden rekenen: op 20 januari is er een nascholing.\r\n"
	    "--b--\r\n";
	struct message *m = parse_str(mail);

	(void)state;
	assert_string_equal(m->attachments,
	    "tafels.pdf, Rékenen groep 3.pdf, éléphant.png");
	assert_non_null(strstr(m->full_text, "op 20 januari is er een"));
	assert_null(strstr(m->text, "januari"));
	assert_string_equal(m->text, "Zie bijlage.");
	message_free(m);

	m = parse_str("From: a@b\r\nSubject: x\r\n\r\nGeen bijlagen.\r\n");
	assert_null(m->attachments);
	message_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_table),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_address_table),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_dsn),
		cmocka_unit_test(test_calendars),
		cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_subjects),
		cmocka_unit_test(test_new_text),
		cmocka_unit_test(test_html_to_text),
		cmocka_unit_test(test_html_quotes),
		cmocka_unit_test(test_not_mail),
		cmocka_unit_test(test_odd_input),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_body_offset),
		cmocka_unit_test(test_big_headers),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_attachments),
		cmocka_unit_test(test_mime_caps),
		cmocka_unit_test(test_big_bodies),
		cmocka_unit_test(test_every_fixture),
	};

	log_init(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
