/*
 * fuzz_message.c - libFuzzer target for src/message.c: any bytes into
 * message_parse(), message_new_text() and message_html_to_text(), and a
 * parsed message on through classify() and command_parse(); no crash, no
 * leak, no undefined behaviour, and what the headers promise about the
 * results holds (else abort, which libFuzzer reports).
 */
#include <string.h>

#include "classify.h"
#include "command.h"
#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "message.h"
#include "util.h"

static void
text_ok(const char *s)
{
	must(s != NULL);
	must(utf8_valid(s, strlen(s)));
	must(strchr(s, '\r') == NULL);
}

static void
line_ok(const char *s)
{
	must(s != NULL);
	must(utf8_valid(s, strlen(s)));
	for (; *s; s++)
		must((unsigned char)*s >= 0x20 && *s != 0x7f);
}

static void
check(const struct message *m, size_t size)
{
	must(m->size == size);
	must(m->body_offset <= size);
	line_ok(m->message_id);
	must(*m->message_id != '\0' && strchr(m->message_id, ' ') == NULL);
	line_ok(m->subject);
	for (size_t i = 0; i < m->nheaders; i++) {
		line_ok(m->headers[i].name);
		line_ok(m->headers[i].value);
	}
	line_ok(m->from.name);
	line_ok(m->from.addr);
	for (size_t i = 0; i < m->nto; i++)
		line_ok(m->to[i].addr);
	text_ok(m->text);
	text_ok(m->full_text);
	for (size_t i = 0; i < m->ncal; i++) {
		must(strlen(m->cal[i].text) == m->cal[i].len);
		must(utf8_valid(m->cal[i].text, m->cal[i].len));
	}
	for (size_t i = 0; i < m->ndsn; i++)
		line_ok(m->dsn[i].final_recipient);
}

/* What handling makes of a parsed message before it touches the
 * database: its kind, whether its sender is vouched for, its command. */
static void
understand(const struct message *m)
{
	struct config cfg = { .from_addr = "lido@school.test" };
	struct request req = { 0 };
	const char *why = NULL, *at;
	enum mail_kind k = classify(m, &cfg, &why);
	int rc;

	must(k >= MAIL_OURS && k <= MAIL_PERSON && why != NULL);
	line_ok(mail_kind_name(k));
	at = strrchr(m->from.addr, '@');
	rc = auth_trusted_pass(m, "mx.school.test", at ? at + 1 : "");
	must(rc == 0 || rc == 1);
	rc = command_parse(m->subject, m->text, &req);
	must(rc == 0 || rc == 1);
	must((rc == 1) == (req.verb == VERB_NONE));
	request_free(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message *m = NULL;
	char *s, *t;

	if (message_parse((const char *)data, size, &m) == 0) {
		check(m, size);
		understand(m);
		message_free(m);
	} else
		must(m == NULL);

	t = message_html_to_text((const char *)data, size);
	text_ok(t);
	free(t);

	s = xstrndup((const char *)data, size);
	t = message_new_text(s);
	must(utf8_valid(t, strlen(t)) || !utf8_valid(s, strlen(s)));
	free(t);
	free(s);
	return 0;
}
