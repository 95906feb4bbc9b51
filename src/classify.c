/*
 * classify.c - sort inbound mail before it can be answered: never answer
 * machines (RFC 3834), never answer ourselves, hand bounces and calendar
 * replies to their handlers.
 */
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "config.h"
#include "log.h"
#include "message.h"
#include "util.h"

static const char *const kind_names[] = {
	[MAIL_OURS] = "ours", [MAIL_BOUNCE] = "bounce", [MAIL_AUTO] = "auto",
	[MAIL_RSVP] = "rsvp", [MAIL_PERSON] = "person", [MAIL_UNSURE] = "unsure",
};

const char *
mail_kind_name(enum mail_kind k)
{
	return kind_names[k];
}

/*
 * Subjects of auto-replies from software that sets no header at all.
 * Phrases no person puts in a subject are looked for anywhere (Exchange
 * prefixes its own: "Automatisch antwoord: <subject>").  Plain words a
 * teacher may well write ("Vraag over het vakantierooster", "aanmelden
 * rekenen (na mijn vakantie)") count only as the whole Subject or before a
 * colon at its start: "Afwezig", "Vakantie: terug op 5 januari".  Even
 * then a person may have written it ("Afwezig: bijeenkomst 14 mei"), so
 * such mail is not answered but left for people.
 */
static const char *const auto_phrases[] = {
	"out of office", "out of the office", "automatic reply",
	"auto reply", "autoreply", "auto-reply", "automatisch antwoord",
	"automatisch beantwoord", "automatische reactie", "automatisch bericht",
	"afwezigheidsmelding", "abwesenheit", "[auto generated]",
};
static const char *const auto_words[] = {
	"afwezig", "niet aanwezig", "afwezigheid", "vakantie", "met vakantie",
	"on vacation", "on leave", "away", "away from the office", "auto",
	/* Read receipts a client writes as plain mail. */
	"gelezen", "niet gelezen", "read", "not read", "gelesen",
	"nicht gelesen",
};

/* MAIL_AUTO for a phrase, MAIL_UNSURE for a word, else MAIL_PERSON. */
static enum mail_kind
subject_kind(const char *subject)
{
	char *s = xstrdup(subject), *p;
	enum mail_kind kind = MAIL_PERSON;
	size_t n;

	str_lower(s);
	p = str_trim(s);
	for (size_t i = 0; i < ARRAY_LEN(auto_phrases); i++)
		if (strstr(p, auto_phrases[i]) != NULL) {
			kind = MAIL_AUTO;
			goto out;
		}
	for (size_t i = 0; i < ARRAY_LEN(auto_words); i++) {
		n = strlen(auto_words[i]);
		if (strncmp(p, auto_words[i], n) != 0)
			continue;
		while (p[n] == ' ' || p[n] == '.' || p[n] == '!')
			n++;
		if (p[n] == '\0' || p[n] == ':') {
			kind = MAIL_UNSURE;
			break;
		}
	}
out:
	free(s);
	return kind;
}

static int
local_part_is(const char *addr, const char *local)
{
	size_t n = strlen(local);

	return str_startswith_ci(addr, local) && addr[n] == '@';
}

/* Our address, or one of its list addresses (lido+rekenen@). */
static int
is_our_address(const char *addr, const char *ours)
{
	const char *at = strrchr(ours, '@');
	size_t local;

	if (strcmp(addr, ours) == 0)
		return 1;
	if (at == NULL)
		return 0;
	local = (size_t)(at - ours);
	return strncmp(addr, ours, local) == 0 && addr[local] == '+' &&
	    strchr(addr + local, '@') != NULL &&
	    strcmp(strchr(addr + local, '@'), at) == 0;
}

static int
has_reply_calendar(const struct message *m)
{
	for (size_t i = 0; i < m->ncal; i++) {
		const char *method = m->cal[i].method;

		if (method && (strcmp(method, "REPLY") == 0 ||
		    strcmp(method, "COUNTER") == 0))
			return 1;
		/* Apple sends the .ics without method=: look inside. */
		if (method == NULL && (strstr(m->cal[i].text, "METHOD:REPLY") ||
		    strstr(m->cal[i].text, "METHOD:COUNTER")))
			return 1;
	}
	return 0;
}

int
classify_plain_failure(const struct message *m)
{
	const char *h = message_header(m, "Auto-Submitted", 0);

	if (m->is_report || m->returned_id != NULL ||
	    message_header(m, "X-Failed-Recipients", 0) != NULL ||
	    local_part_is(m->from.addr, "mailer-daemon") ||
	    local_part_is(m->from.addr, "postmaster"))
		return 1;
	return h == NULL || str_startswith_ci(h, "no");
}

enum mail_kind
classify(const struct message *m, const struct config *cfg, const char **why)
{
	const char *h, *from = m->from.addr;
	enum mail_kind kind;

	if ((h = message_header(m, "X-Loop", 0)) != NULL &&
	    strstr(h, cfg->from_addr) != NULL) {
		*why = "X-Loop names us";
		return MAIL_OURS;
	}
	/*
	 * All we send carries X-Loop.  Without it, mail from the address
	 * itself is a coordinator writing from the shared mailbox: never
	 * answered, but not filed away unseen either.
	 */
	if (*from && str_eq_ci(from, cfg->from_addr)) {
		*why = "From is our own address, without our X-Loop";
		return MAIL_UNSURE;
	}
	if (*from && is_our_address(from, cfg->from_addr)) {
		*why = "From is our own address";
		return MAIL_OURS;
	}
	if (m->is_report || m->ndsn > 0) {
		*why = "delivery status notification";
		return MAIL_BOUNCE;
	}
	/* A read receipt says a mail was read (or deleted unread), nothing
	 * more: it must not confirm what the mail asked.  Before the null
	 * sender, which receipts have too. */
	if (m->is_receipt) {
		*why = "read receipt";
		return MAIL_AUTO;
	}
	if (m->return_path != NULL && m->return_path[0] == '\0') {
		*why = "null envelope sender";
		return MAIL_BOUNCE;
	}
	if (local_part_is(from, "mailer-daemon") ||
	    local_part_is(from, "postmaster")) {
		*why = "From is a mailer daemon";
		return MAIL_BOUNCE;
	}
	if ((h = message_header(m, "Auto-Submitted", 0)) != NULL &&
	    !str_startswith_ci(h, "no")) {
		*why = "Auto-Submitted";
		return MAIL_AUTO;
	}
	if (message_header(m, "X-Autoreply", 0) ||
	    message_header(m, "X-Autorespond", 0) ||
	    message_header(m, "X-Autogenerated", 0)) {
		*why = "X-Autoreply";
		return MAIL_AUTO;
	}
	if ((h = message_header(m, "Precedence", 0)) != NULL &&
	    (str_eq_ci(h, "bulk") || str_eq_ci(h, "junk") ||
	    str_eq_ci(h, "list") || str_eq_ci(h, "auto_reply"))) {
		*why = "Precedence";
		return MAIL_AUTO;
	}
	if (message_header(m, "List-Id", 0) != NULL) {
		*why = "mailing-list traffic (List-Id)";
		return MAIL_AUTO;
	}
	if (has_reply_calendar(m)) {
		*why = "calendar reply";
		return MAIL_RSVP;
	}
	if ((kind = subject_kind(m->subject)) != MAIL_PERSON) {
		*why = kind == MAIL_AUTO ? "auto-reply subject" :
		    "a Subject an auto-reply might have";
		return kind;
	}
	*why = "written by a person";
	return MAIL_PERSON;
}

/*
 * Authentication-Results (RFC 8601):
 *   authserv-id [version] ; method=result [ptype.prop=value ...] ; ...
 * Comments in parentheses are dropped first.  A quoted string is a value
 * the sender may choose (smtp.mailfrom="x;dmarc=pass header.from=us"@evil):
 * it loses its quotes and any ';', '=' or blank in it, so it stays one
 * value and can never read as a clause of its own.
 */
static void
drop_comments(char *s)
{
	char *w = s;
	int depth = 0, quoted = 0;

	for (char *r = s; *r; r++) {
		if (quoted) {
			if (*r == '\\' && r[1] != '\0')
				r++;
			else if (*r == '"') {
				quoted = 0;
				continue;
			}
			*w++ = strchr(";= \t\r\n()", *r) ? '_' : *r;
			continue;
		}
		if (*r == '"' && depth == 0) {
			quoted = 1;
			continue;
		}
		if (*r == '(') {
			depth++;
			continue;
		}
		if (*r == ')' && depth > 0) {
			depth--;
			continue;
		}
		if (depth == 0)
			*w++ = *r;
	}
	*w = '\0';
}

/* Is d (a signing or From domain) aligned with the sender's domain? */
static int
aligned(const char *d, const char *domain)
{
	size_t dl = strlen(d), nl = strlen(domain);

	if (str_eq_ci(d, domain))
		return 1;
	/* relaxed: the sender's domain is a subdomain of d */
	return nl > dl && domain[nl - dl - 1] == '.' &&
	    str_eq_ci(domain + nl - dl, d);
}

/*
 * Does one clause say a pass for domain (dmarc or aligned dkim), or, with
 * fail, that DMARC failed for it?
 */
static int
method_says(char *clause, const char *domain, int fail)
{
	char *save = NULL, *tok, *method = NULL;
	int pass = 0, dom_ok = 0;

	for (tok = strtok_r(clause, " \t\r\n", &save); tok;
	    tok = strtok_r(NULL, " \t\r\n", &save)) {
		char *eq = strchr(tok, '=');
		const char *v;

		if (eq == NULL)
			continue;
		*eq = '\0';
		v = eq + 1;
		if (method == NULL) {
			method = tok;
			if (!str_eq_ci(method, "dmarc") && (fail ||
			    !str_eq_ci(method, "dkim")))
				return 0;
			pass = str_eq_ci(v, fail ? "fail" : "pass");
			continue;
		}
		if (str_eq_ci(method, "dmarc") && str_eq_ci(tok, "header.from"))
			dom_ok = aligned(v, domain);
		else if (str_eq_ci(method, "dkim") && str_eq_ci(tok, "header.d"))
			dom_ok = aligned(v, domain);
		else if (str_eq_ci(method, "dkim") && str_eq_ci(tok, "header.i")) {
			const char *at = strchr(v, '@');

			dom_ok = aligned(at ? at + 1 : v, domain);
		}
	}
	return method != NULL && pass && dom_ok;
}

static int
auth_trusted_says(const struct message *m, const char *trusted_id,
    const char *domain, int fail)
{
	const char *h;
	char *copy, *save = NULL, *clause;
	int first = 1, ok = 0;

	if (trusted_id == NULL || *trusted_id == '\0' || domain == NULL)
		return 0;
	/* Only the topmost header was added by our own server. */
	if ((h = message_header(m, "Authentication-Results", 0)) == NULL)
		return 0;
	copy = xstrdup(h);
	drop_comments(copy);
	for (clause = strtok_r(copy, ";", &save); clause && !ok;
	    clause = strtok_r(NULL, ";", &save)) {
		if (first) {
			char *id = str_trim(clause);
			size_t idlen = strcspn(id, " \t");

			first = 0;
			/* A header with no authserv-id (Exchange Online)
			 * starts with a whole method clause. */
			if (memchr(id, '=', idlen) != NULL) {
				if (strcmp(trusted_id, "*") != 0)
					break;
				ok = method_says(id, domain, fail);
				continue;
			}
			id[idlen] = '\0';	/* drop the version */
			if (strcmp(trusted_id, "*") != 0 &&
			    !str_eq_ci(id, trusted_id))
				break;
			continue;
		}
		ok = method_says(clause, domain, fail);
	}
	free(copy);
	return ok;
}

int
auth_trusted_pass(const struct message *m, const char *trusted_id,
    const char *domain)
{
	return auth_trusted_says(m, trusted_id, domain, 0);
}

int
auth_trusted_fail(const struct message *m, const char *trusted_id,
    const char *domain)
{
	return auth_trusted_says(m, trusted_id, domain, 1);
}

int
auth_forged_sender(const struct message *m, const char *trusted_id,
    const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	if (at == NULL || !auth_trusted_fail(m, trusted_id, at + 1))
		return 0;
	log_info("DMARC failed for %s: the sender is forged; no refusal goes "
	    "there", addr);
	return 1;
}
