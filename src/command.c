/*
 * command.c - the mail command language of SPEC §4: find the keyword in
 * the Subject or the first line of new text, split what follows into
 * arguments and "key: value" details.  Pure; every scan is bounded so a
 * hostile mail costs little.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "util.h"

#define CMD_SCAN_LINES	200		/* lines looked at for the command */
#define CMD_SCAN_BYTES	(64 * 1024)
#define KV_SCAN_LINES	1000		/* lines looked at for key: value */
#define KV_SCAN_BYTES	(256 * 1024)
#define KV_MAX		64
#define KV_KEY_MAX	32
#define KV_VALUE_MAX	1024
#define ARGS_MAX	4096		/* bytes of the command line kept */
#define ARGV_MAX	64
#define ARG_MAX		256
#define WORD_MAX	32		/* longer words are no keyword */
#define GUESS_BYTES	(16 * 1024)
#define TAG_MAX		256		/* a [tag] longer than this is text */

/* When a keyword at the start of a line is prose instead ("Help, ik
 * krijg geen uitnodigingen", "Annuleren, ik kan niet komen"). */
#define KW_NOARGS	0x1	/* takes nothing: not with two words or more */
#define KW_LIST		0x4	/* only in mail to a network's list */
#define KW_WEAK		0x2	/* an infinitive: not with a comma and words,
				 * nor with more than "SLUG N" after it */

static const struct keyword {
	const char	*word;
	enum verb	 verb;
	enum lang	 lang;
	int		 known;		/* 0: same word in both languages;
					 * 2: English, also Dutch usage */
	unsigned	 flags;		/* KW_* */
} keywords[] = {
	{ "hulp",		VERB_HELP,	 LANG_NL, 1, KW_NOARGS },
	{ "help",		VERB_HELP,	 LANG_EN, 1, KW_NOARGS },
	{ "netwerken",		VERB_NETWORKS,	 LANG_NL, 1, KW_NOARGS },
	{ "networks",		VERB_NETWORKS,	 LANG_EN, 1, KW_NOARGS },
	{ "aanmelden",		VERB_JOIN,	 LANG_NL, 1, 0 },
	{ "join",		VERB_JOIN,	 LANG_EN, 1, 0 },
	{ "bevestig",		VERB_CONFIRM,	 LANG_NL, 1, 0 },
	{ "confirm",		VERB_CONFIRM,	 LANG_EN, 1, 0 },
	{ "afmelden",		VERB_LEAVE,	 LANG_NL, 1, 0 },
	{ "leave",		VERB_LEAVE,	 LANG_EN, 1, 0 },
	{ "volg",		VERB_FOLLOW,	 LANG_NL, 1, 0 },
	{ "follow",		VERB_FOLLOW,	 LANG_EN, 1, 0 },
	{ "ontvolg",		VERB_UNFOLLOW,	 LANG_NL, 1, 0 },
	{ "unfollow",		VERB_UNFOLLOW,	 LANG_EN, 1, 0 },
	/* "nieuw netwerk" is two words: see match_keyword(). */
	{ "start",		VERB_START,	 LANG_EN, 2, 0 },
	{ "goedkeuren",		VERB_APPROVE,	 LANG_NL, 1, 0 },
	{ "approve",		VERB_APPROVE,	 LANG_EN, 1, 0 },
	{ "afwijzen",		VERB_REJECT,	 LANG_NL, 1, 0 },
	{ "reject",		VERB_REJECT,	 LANG_EN, 1, 0 },
	{ "bijeenkomst",	VERB_MEETING,	 LANG_NL, 1, 0 },
	{ "meeting",		VERB_MEETING,	 LANG_EN, 2, 0 },
	{ "verplaats",		VERB_MOVE,	 LANG_NL, 1, 0 },
	{ "move",		VERB_MOVE,	 LANG_EN, 1, 0 },
	{ "annuleer",		VERB_CANCEL,	 LANG_NL, 1, 0 },
	{ "cancel",		VERB_CANCEL,	 LANG_EN, 1, 0 },
	/* The infinitives people write as often ("annuleren rekenen 1"). */
	{ "verplaatsen",	VERB_MOVE,	 LANG_NL, 1, KW_WEAK },
	{ "annuleren",		VERB_CANCEL,	 LANG_NL, 1, KW_WEAK },
	{ "bevestigen",		VERB_CONFIRM,	 LANG_NL, 1, KW_WEAK },
	{ "presentie",		VERB_ATTENDANCE, LANG_NL, 1, 0 },
	{ "attendance",		VERB_ATTENDANCE, LANG_EN, 1, 0 },
	{ "bericht",		VERB_POST,	 LANG_NL, 1, 0 },
	{ "post",		VERB_POST,	 LANG_EN, 2, 0 },
	{ "trekker",		VERB_LEAD,	 LANG_NL, 1, 0 },
	{ "lead",		VERB_LEAD,	 LANG_EN, 2, 0 },
	{ "status",		VERB_STATUS,	 LANG_NL, 0, 0 },
	{ "sluit",		VERB_CLOSE,	 LANG_NL, 1, 0 },
	{ "close",		VERB_CLOSE,	 LANG_EN, 1, 0 },
	{ "samenvatting",	VERB_DIGEST,	 LANG_NL, 1, 0 },
	{ "digest",		VERB_DIGEST,	 LANG_EN, 1, 0 },
	{ "direct",		VERB_DIRECT,	 LANG_NL, 0, 0 },
	/* What people write to a mailing list, from habit; at the
	 * coordinator address "Inschrijven studiedag" is a question. */
	{ "uitschrijven",	VERB_LEAVE,	 LANG_NL, 1, KW_WEAK | KW_LIST },
	{ "unsubscribe",	VERB_LEAVE,	 LANG_EN, 1, KW_WEAK | KW_LIST },
	{ "inschrijven",	VERB_JOIN,	 LANG_NL, 1, KW_WEAK | KW_LIST },
	{ "subscribe",		VERB_JOIN,	 LANG_EN, 1, KW_WEAK | KW_LIST },
};

static const struct keyword kw_start_nl =
	{ "nieuw netwerk",	VERB_START,	 LANG_NL, 1, 0 };

static const char *const verb_names[VERB__COUNT] = {
	[VERB_NONE] = "none",
	[VERB_HELP] = "help",
	[VERB_NETWORKS] = "networks",
	[VERB_JOIN] = "join",
	[VERB_CONFIRM] = "confirm",
	[VERB_LEAVE] = "leave",
	[VERB_FOLLOW] = "follow",
	[VERB_UNFOLLOW] = "unfollow",
	[VERB_START] = "start",
	[VERB_APPROVE] = "approve",
	[VERB_REJECT] = "reject",
	[VERB_MEETING] = "meeting",
	[VERB_MOVE] = "move",
	[VERB_CANCEL] = "cancel",
	[VERB_ATTENDANCE] = "attendance",
	[VERB_POST] = "post",
	[VERB_LEAD] = "lead",
	[VERB_STATUS] = "status",
	[VERB_CLOSE] = "close",
	[VERB_DIGEST] = "digest",
	[VERB_DIRECT] = "direct",
};

/* Reply and forward prefixes of the mail clients our schools use. */
static const char *const subject_prefixes[] = {
	"re", "antw", "aw", "fwd", "fw", "doorst", "wg", "tr", "ref",
};

/* Words common in one language and rare in the other (so not "was",
 * "of", "want", "kind", "best", "hi": Dutch uses them too). */
static const char *const words_nl[] = {
	"de", "het", "een", "ik", "je", "jij", "jullie", "u", "van", "met",
	"voor", "niet", "en", "bij", "graag", "dat", "die", "deze", "wat",
	"hoe", "wij", "mijn", "ons", "onze", "naar", "op", "ook", "maar",
	"nog", "wel", "heb", "hebt", "kan", "kun", "kunt", "zou", "wil",
	"dank", "bedankt", "groet", "groeten", "hallo", "hoi", "beste",
	"vriendelijke", "alvast", "mogelijk", "ben", "zijn", "wordt",
	/* the detail keys: a reply may hold nothing else */
	"datum", "tijd", "locatie", "onderwerp",
};
static const char *const words_en[] = {
	"the", "a", "an", "and", "i", "you", "your", "with", "for",
	"not", "to", "this", "that", "it", "please", "thanks", "thank",
	"would", "could", "should", "my", "our", "hello", "dear", "regards",
	"at", "on", "from", "be", "are", "have", "has", "will", "can", "am",
	"possible", "there", "which", "about",
	"date", "time", "location", "topic",
};

const char *
verb_name(enum verb v)
{
	if ((unsigned)v >= VERB__COUNT)
		return "none";
	return verb_names[v];
}

const char *
lang_code(enum lang l)
{
	return l == LANG_EN ? "en" : "nl";
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* White space within a line, including U+00A0 (HTML's &nbsp;), as its
 * length in bytes or 0. */
static size_t
space_len(const char *p, const char *e)
{
	if (p < e && (*p == ' ' || *p == '\t' || *p == '\f' || *p == '\v'))
		return 1;
	if (e - p >= 2 && (unsigned char)p[0] == 0xc2 &&
	    (unsigned char)p[1] == 0xa0)
		return 2;
	return 0;
}

static const char *
skip_space(const char *p, const char *e)
{
	size_t n;

	while ((n = space_len(p, e)) > 0)
		p += n;
	return p;
}

static const char *
trim_end(const char *s, const char *e)
{
	while (e > s) {
		if (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\f' ||
		    e[-1] == '\v' || e[-1] == '\r' || e[-1] == '\n')
			e--;
		else if (e - s >= 2 && (unsigned char)e[-2] == 0xc2 &&
		    (unsigned char)e[-1] == 0xa0)
			e -= 2;
		else
			break;
	}
	return e;
}

/* The end of the line starting at p (before its CR, LF or CRLF), and in
 * *next the start of the following line. */
static const char *
line_end(const char *p, const char **next)
{
	const char *e = p + strcspn(p, "\r\n");

	if (e[0] == '\r' && e[1] == '\n')
		*next = e + 2;
	else if (e[0] != '\0')
		*next = e + 1;
	else
		*next = e;
	return e;
}

static int
is_keyword_end(const char *p, const char *e)
{
	return p == e || space_len(p, e) > 0 || strchr(":!.,;?", *p) != NULL;
}

/*
 * Read an ASCII word at p (up to e) that ends where a keyword may end:
 * white space, end of line or punctuation.  Lower-cased into w; returns
 * the end of the word or NULL.
 */
static const char *
read_word(const char *p, const char *e, char w[WORD_MAX + 1])
{
	size_t n = 0;

	while (p < e && is_alpha((unsigned char)*p)) {
		if (n == WORD_MAX)
			return NULL;
		w[n++] = to_lower(*p++);
	}
	w[n] = '\0';
	if (n == 0 || !is_keyword_end(p, e))
		return NULL;
	return p;
}

/*
 * A Subject "Start van het schooljaar" or "START OF TERM" announces the
 * start of something; it does not propose a network under that title.
 * "start Van Gogh in de klas" (a surname: "Van" and a capital after it)
 * does, and so does any `start van …` written in the body.  q is just
 * after "start".
 */
static int
start_of_something(const char *q, const char *e)
{
	char w[WORD_MAX + 1];
	const char *q2, *q3;

	if (space_len(q, e) == 0)
		return 0;
	q2 = skip_space(q, e);
	if ((q3 = read_word(q2, e, w)) == NULL || (strcmp(w, "van") != 0 &&
	    strcmp(w, "of") != 0))
		return 0;
	if (strcmp(w, "van") == 0 && strncmp(q2, "Van", 3) == 0) {
		q3 = skip_space(q3, e);
		if (q3 < e && *q3 >= 'A' && *q3 <= 'Z')
			return 0;
	}
	return 1;
}

/*
 * Is the line [p, e) a command (subject: it is the Subject)?  Returns the
 * keyword and sets *rest to what follows it (punctuation and space
 * skipped).
 */
static const struct keyword *
match_keyword(const char *p, const char *e, const char **rest, int subject,
    int list)
{
	char w[WORD_MAX + 1], w2[WORD_MAX + 1];
	const struct keyword *k = NULL;
	const char *q;
	size_t i, words = 0;
	int punct;

	p = skip_space(p, e);
	if ((q = read_word(p, e, w)) == NULL)
		return NULL;
	if (strcmp(w, "nieuw") == 0) {
		const char *q2 = skip_space(q, e);

		if (q2 == q || (q2 = read_word(q2, e, w2)) == NULL ||
		    (strcmp(w2, "netwerk") != 0 &&
		    strcmp(w2, "leernetwerk") != 0))
			return NULL;
		k = &kw_start_nl;
		q = q2;
	} else {
		for (i = 0; i < ARRAY_LEN(keywords); i++)
			if (strcmp(w, keywords[i].word) == 0) {
				k = &keywords[i];
				break;
			}
		if (k == NULL || ((k->flags & KW_LIST) && !list))
			return NULL;
		if (subject && k->verb == VERB_START && start_of_something(q,
		    e))
			return NULL;
	}
	punct = q < e && (*q == ',' || *q == ';');	/* "Annuleren, ik" */
	while (q < e && strchr(":!.,;?", *q) != NULL)
		q++;
	*rest = skip_space(q, e);
	for (q = *rest; q < e; words++) {
		while (q < e && space_len(q, e) == 0)
			q++;
		q = skip_space(q, e);
	}
	if (((k->flags & KW_NOARGS) && words >= 2) ||
	    ((k->flags & KW_WEAK) && ((punct && words > 0) || words > 2)))
		return NULL;
	return k;
}

#define SUBJ_PREFIXED	1	/* a reply or forward prefix was there */
#define SUBJ_FORWARD	2	/* the outermost one forwards */

/* The Subject without its prefixes and tags; SUBJ_* in *prefixed. */
static char *
strip_subject(const char *subject, int *prefixed)
{
	const char *p, *e;

	*prefixed = 0;
	if (subject == NULL)
		return xstrdup("");
	p = subject;
	e = subject + strlen(subject);
	for (;;) {
		const char *q;
		char w[WORD_MAX + 1];
		size_t i, n = 0;
		int hit = 0;

		while (p < e && (space_len(p, e) > 0 || *p == '\r' ||
		    *p == '\n'))
			p += (*p == '\r' || *p == '\n') ? 1 : space_len(p, e);
		if (p < e && *p == '[') {
			q = memchr(p, ']', (size_t)(e - p) < TAG_MAX ?
			    (size_t)(e - p) : TAG_MAX);
			if (q == NULL)
				break;
			p = q + 1;
			continue;
		}
		for (q = p; q < e && is_alpha((unsigned char)*q) && n < 8; q++)
			w[n++] = to_lower(*q);
		w[n] = '\0';
		for (i = 0; i < ARRAY_LEN(subject_prefixes) && !hit; i++)
			hit = strcmp(w, subject_prefixes[i]) == 0;
		if (!hit)
			break;
		/* Re[2]: and Re(2): count replies. */
		if (q < e && (*q == '[' || *q == '(')) {
			char close = *q == '[' ? ']' : ')';
			const char *d = q + 1;

			while (d < e && *d >= '0' && *d <= '9' && d - q < 6)
				d++;
			if (d > q + 1 && d < e && *d == close)
				q = d + 1;
		}
		q = skip_space(q, e);
		if (q < e && *q == ':')
			p = q + 1;
		else if (e - q >= 3 && memcmp(q, "\xef\xbc\x9a", 3) == 0)
			p = q + 3;	/* full-width colon */
		else
			break;
		/* The outermost prefix says what the sender did last. */
		if (*prefixed == 0 && (strcmp(w, "fwd") == 0 ||
		    strcmp(w, "fw") == 0 || strcmp(w, "doorst") == 0 ||
		    strcmp(w, "wg") == 0 || strcmp(w, "tr") == 0))
			*prefixed |= SUBJ_FORWARD;
		*prefixed |= SUBJ_PREFIXED;
	}
	return xstrndup(p, (size_t)(trim_end(p, e) - p));
}

char *
command_strip_subject(const char *subject)
{
	int prefixed;

	return strip_subject(subject, &prefixed);
}

int
command_subject_is_reply(const char *subject)
{
	int prefixed;

	free(strip_subject(subject, &prefixed));
	return (prefixed & SUBJ_PREFIXED) != 0;
}

int
command_subject_is_forward(const char *subject)
{
	int prefixed;

	free(strip_subject(subject, &prefixed));
	return (prefixed & SUBJ_FORWARD) != 0;
}

/* Copy [s, e), trimmed and cut to max bytes on a UTF-8 boundary. */
static char *
copy_trimmed(const char *s, const char *e, size_t max)
{
	size_t n;

	s = skip_space(s, e);
	e = trim_end(s, e);
	n = utf8_cut(s, (size_t)(e - s), max);
	return xstrndup(s, n);
}

static void
split_args(struct request *req)
{
	const char *p = req->args, *e = p + strlen(p);

	req->argv = xcalloc(ARGV_MAX + 1, sizeof(*req->argv));
	req->argc = 0;
	while (req->argc < ARGV_MAX) {
		const char *w;

		p = skip_space(p, e);
		if (p == e)
			break;
		for (w = p; p < e && space_len(p, e) == 0; p++)
			;
		req->argv[req->argc++] = xstrndup(w,
		    utf8_cut(w, (size_t)(p - w), ARG_MAX));
	}
}

static int
kv_has(const struct request *req, const char *key)
{
	size_t i;

	for (i = 0; i < req->nkv; i++)
		if (strcmp(req->kv[i].key, key) == 0)
			return 1;
	return 0;
}

static int
in_list(const char *w, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(w, list[i]) == 0)
			return 1;
	return 0;
}

/* Words that may stand before a closing: "Met vriendelijke groeten". */
static const char *const closing_lead[] = {
	"met", "veel", "lieve", "vriendelijke", "hartelijke", "hele",
	"warme", "kind", "best", "warm", "many", "with", "all", "the",
};
/* The closing itself, when nothing but a name follows (after a comma). */
static const char *const closing_word[] = {
	"groet", "groeten", "groetjes", "gr", "grt", "mvg", "regards",
	"wishes", "cheers", "thanks", "best", "bedankt",
};
static const char *const footers[] = {
	"verzonden vanaf", "verstuurd vanaf", "verzonden met",
	"sent from my", "get outlook for", "outlook voor",
	/* A school's disclaimer under every mail, no closing above it:
	 * only openings no sentence of a request starts with. */
	"dit bericht is vertrouwelijk", "dit e-mailbericht is vertrouwelijk",
	"deze e-mail is vertrouwelijk", "dit bericht is uitsluitend bestemd",
	"dit e-mailbericht is uitsluitend bestemd",
	"aan dit bericht kunnen geen rechten", "disclaimer:",
	"this message is confidential", "this e-mail is confidential",
	"this email is confidential", "this e-mail is intended solely",
	"this message is intended solely",
};

int
command_signature_line(const char *p, const char *e)
{
	size_t len, nwords = 0;
	int closed = 0;

	p = skip_space(p, e);
	len = (size_t)(e - p);
	if (len >= 2 && p[0] == '-' && p[1] == '-' &&
	    skip_space(p + 2, e) == e)
		return 1;
	for (size_t i = 0; i < ARRAY_LEN(footers); i++)
		if (len >= strlen(footers[i]) &&
		    strncasecmp(p, footers[i], strlen(footers[i])) == 0)
			return 1;
	/* "DISCLAIMER" as a heading of its own */
	if (len >= 10 && strncasecmp(p, "disclaimer", 10) == 0 &&
	    skip_space(p + 10, e) == e)
		return 1;
	/* Words of a closing, then the end or a comma ("Groet, Piet"):
	 * "Groeten aan iedereen" is a sentence. */
	while (p < e && nwords < 5) {
		char w[16];
		size_t n = 0;

		while (p < e && is_alpha((unsigned char)*p)) {
			if (n < sizeof(w) - 1)
				w[n++] = to_lower(*p);
			p++;
		}
		w[n] = '\0';
		if (n == 0 || n == sizeof(w) - 1)
			return 0;
		nwords++;
		closed = in_list(w, closing_word, ARRAY_LEN(closing_word));
		if (!closed && !in_list(w, closing_lead,
		    ARRAY_LEN(closing_lead)))
			return 0;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p < e && *p == ',')
			return closed;
		while (p < e && (*p == '.' || *p == '!' || *p == ' ' ||
		    *p == '\t'))
			p++;
		if (p == e)
			return closed;
	}
	return 0;
}

/* "key: value" lines of text, up to a signature; quoted lines
 * skipped, first one wins. */
/* Does [p, e) end as a sentence does, rather than as a name or a title
 * ("Juf Anna van der Meer", "Anna | groep 7") in a signature? */
static int
sentence(const char *p, const char *e)
{
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	return e > p && strchr(".?!", e[-1]) != NULL;
}

static int
kv_seen(const struct kv *kv, size_t n, const char *key, const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0 && str_eq_ci(kv[i].value, value))
			return 1;
	return 0;
}

/* A later line of a key already read, with another value ("datum:" in
 * each block of a mail that plans a term): kept, so that such a mail is
 * not read as its first meeting with the others silently dropped. */
static void
kv_dup(struct request *req, const char *key, const char *v, const char *e)
{
	char *value = copy_trimmed(v, e, KV_VALUE_MAX);

	if (*value == '\0' || req->ndup >= KV_MAX ||
	    kv_seen(req->kv, req->nkv, key, value) ||
	    kv_seen(req->dup, req->ndup, key, value)) {
		free(value);
		return;
	}
	if (req->dup == NULL)
		req->dup = xcalloc(KV_MAX, sizeof(*req->dup));
	req->dup[req->ndup].key = xstrdup(key);
	req->dup[req->ndup].value = value;
	req->ndup++;
}

static void
parse_kv(struct request *req, const char *text)
{
	const char *p = text, *next;
	size_t lines = 0;
	int spoke = 0;		/* a line of text came before */
	int gap = 0;		/* a blank line after the last detail */

	if (req->kv == NULL)
		req->kv = xcalloc(KV_MAX, sizeof(*req->kv));
	for (; *p && lines < KV_SCAN_LINES && req->nkv < KV_MAX &&
	    (size_t)(p - text) < KV_SCAN_BYTES; p = next, lines++) {
		const char *e = line_end(p, &next), *q, *v;
		char key[KV_KEY_MAX + 1];
		size_t n = 0;

		/* "Locatie: De Regenboog" in a signature is no detail; a
		 * "Bedankt!" that opens the mail starts none. */
		if (spoke && command_signature_line(p, e))
			break;
		q = skip_space(p, e);
		spoke |= q < e;
		if (q == e) {
			gap = req->nkv > 0;
			continue;
		}
		while (q < e && is_alpha((unsigned char)*q) && n < KV_KEY_MAX)
			key[n++] = to_lower(*q++);
		key[n] = '\0';
		q = skip_space(q, e);
		v = n > 0 && q < e && *q == ':' ? skip_space(q + 1, e) : e;
		/* https://... is a link, not a detail. */
		if (v == e || (e - v >= 2 && v[0] == '/' && v[1] == '/')) {
			/* Details, a blank line, then a name: a signature
			 * without a closing, whose "Locatie: …" is no
			 * detail.  A sentence there ("We gaan verder met
			 * hoofdstuk 3.") is the lead's text: read on. */
			if (gap && !sentence(skip_space(p, e), e))
				break;
			gap = 0;
			continue;
		}
		if (kv_has(req, key)) {
			kv_dup(req, key, v, e);
			continue;
		}
		req->kv[req->nkv].key = xstrdup(key);
		req->kv[req->nkv].value = copy_trimmed(v, e, KV_VALUE_MAX);
		req->nkv++;
		gap = 0;
	}
}

static void
set_keyword(struct request *req, const struct keyword *k, const char *rest,
    const char *e)
{
	req->verb = k->verb;
	req->lang = k->lang;
	req->lang_known = k->known;
	req->keyword = xstrdup(k->word);
	req->args = copy_trimmed(rest, e, ARGS_MAX);
}

/*
 * "trekker: piet@school.nl" is approve's detail (SPEC §4: `lead: EMAIL`),
 * not the `trekker` command, wherever the coordinator puts it: a reply
 * that names the lead before "goedkeuren" approves all the same.
 */
static int
lead_detail(const char *p, const char *e)
{
	char w[WORD_MAX + 1];
	const char *q;

	if ((q = read_word(p, e, w)) == NULL || (strcmp(w, "trekker") != 0 &&
	    strcmp(w, "lead") != 0))
		return 0;
	q = skip_space(q, e);
	if (q == e || *q != ':')
		return 0;
	/* An address, "Piet <piet@…>" too; `trekker: rekenen piet@…` is
	 * the command written with a colon. */
	q = skip_space(q + 1, e);
	if (memchr(q, '<', (size_t)(e - q)) != NULL)
		return memchr(q, '@', (size_t)(e - q)) != NULL;
	while (q < e && space_len(q, e) == 0 && *q != '@')
		q++;
	return q < e && *q == '@';
}

/*
 * The keyword that starts the first line of text that is neither blank
 * nor quoted, or NULL; *rest and *e delimit what follows it on its line,
 * *next is the line after.  Lead details before a `goedkeuren` line are
 * passed over: they start at *details (else NULL) and end where the
 * keyword's line starts (*line).
 */
static const struct keyword *
body_keyword(const char *text, const char **rest, const char **e,
    const char **next, const char **details, const char **line, int list)
{
	const struct keyword *k;
	const char *p, *first_e = NULL, *first_next = NULL;
	size_t lines = 0;

	*details = NULL;
	for (p = text; *p && lines < CMD_SCAN_LINES &&
	    (size_t)(p - text) < CMD_SCAN_BYTES; p = *next, lines++) {
		const char *q;

		*e = line_end(p, next);
		q = skip_space(p, *e);
		if (q == *e || *q == '>')
			continue;
		if (lead_detail(q, *e)) {
			if (*details == NULL) {
				*details = p;
				first_e = *e;
				first_next = *next;
			}
			continue;
		}
		*line = p;
		k = match_keyword(q, *e, rest, 0, list);
		if (*details == NULL || (k != NULL && k->verb == VERB_APPROVE))
			return k;
		break;
	}
	if (*details == NULL)
		return NULL;
	/* No approval after them: the first such line is what it says. */
	p = *details;
	*details = NULL;
	*line = p;
	*e = first_e;
	*next = first_next;
	return match_keyword(skip_space(p, *e), *e, rest, 0, list);
}

int
command_parse(const char *subject, const char *text, struct request *req)
{
	return command_parse_ex(subject, text, req, 0);
}

int
command_parse_ex(const char *subject, const char *text, struct request *req,
    int list)
{
	const struct keyword *k;
	const char *rest, *next, *body = NULL;
	char *stripped, *before = NULL;

	memset(req, 0, sizeof(*req));
	req->verb = VERB_NONE;
	req->lang = LANG_NL;
	if (text == NULL)
		text = "";

	stripped = command_strip_subject(subject);
	k = match_keyword(stripped, stripped + strlen(stripped), &rest, 1,
	    list);
	/* Subject "Bijeenkomst", body "bijeenkomst rekenen": the body's
	 * line says more than the Subject's word alone. */
	if (k != NULL && skip_space(rest, stripped + strlen(stripped)) ==
	    stripped + strlen(stripped)) {
		const struct keyword *bk;
		const char *brest, *be, *bnext, *bdetails, *bline;

		if ((bk = body_keyword(text, &brest, &be, &bnext,
		    &bdetails, &bline, list)) != NULL &&
		    bk->verb == k->verb && skip_space(brest, be) != be)
			k = NULL;
	}
	if (k != NULL) {
		set_keyword(req, k, rest, stripped + strlen(stripped));
		req->in_subject = 1;
		body = text;
	} else {
		const char *e, *details, *line;

		if ((k = body_keyword(text, &rest, &e, &next,
		    &details, &line, list)) != NULL) {
			set_keyword(req, k, rest, e);
			body = next;
			if (details != NULL)
				before = xstrndup(details,
				    (size_t)(line - details));
		}
	}
	if (body == NULL)
		body = text;
	req->body = copy_trimmed(body, body + strlen(body), SIZE_MAX);
	if (req->args == NULL)
		req->args = xstrdup("");
	split_args(req);
	/* A lead detail above the keyword is the request's too. */
	if (before != NULL)
		parse_kv(req, before);
	parse_kv(req, req->body);
	free(before);
	if (!req->lang_known)
		req->lang = command_guess_lang(text,
		    command_guess_lang(stripped, LANG_NL));
	else if (req->lang_known == 2) {
		/* "Meeting rekenen" over "datum: … tijd: …", "post" above
		 * "Hallo allemaal": Dutch teachers write these words too, and
		 * were answered in English from then on. */
		req->lang = command_guess_lang(text, LANG_EN);
		req->lang_known = 1;
	}
	free(stripped);
	return req->verb == VERB_NONE ? 1 : 0;
}

void
request_set_args(struct request *req, const char *args)
{
	for (size_t i = 0; i < req->argc; i++)
		free(req->argv[i]);
	free(req->argv);
	free(req->args);
	req->args = xstrdup(args);
	split_args(req);
}

void
request_default_args(struct request *req, const char *args)
{
	if (req->argc == 0)
		request_set_args(req, args);
}

void
request_free(struct request *req)
{
	size_t i;

	if (req == NULL)
		return;
	free(req->keyword);
	free(req->args);
	for (i = 0; i < req->argc; i++)
		free(req->argv[i]);
	free(req->argv);
	free(req->body);
	for (i = 0; i < req->nkv; i++) {
		free(req->kv[i].key);
		free(req->kv[i].value);
	}
	free(req->kv);
	for (i = 0; i < req->ndup; i++) {
		free(req->dup[i].key);
		free(req->dup[i].value);
	}
	free(req->dup);
	memset(req, 0, sizeof(*req));
}

const char *
request_kv(const struct request *req, ...)
{
	va_list ap;
	const char *alias;
	size_t i;

	/* In body order: the first line naming any alias wins. */
	for (i = 0; i < req->nkv; i++) {
		va_start(ap, req);
		while ((alias = va_arg(ap, const char *)) != NULL)
			if (str_eq_ci(req->kv[i].key, alias)) {
				va_end(ap);
				return req->kv[i].value;
			}
		va_end(ap);
	}
	return NULL;
}

/* Does key name one of the aliases of ap (NULL-terminated)? */
static int
alias_of(const char *key, va_list ap)
{
	const char *alias;

	while ((alias = va_arg(ap, const char *)) != NULL)
		if (str_eq_ci(key, alias))
			return 1;
	return 0;
}

/* The i-th "key: value" line of req: kv in body order, then dup. */
static const struct kv *
kv_at(const struct request *req, size_t i)
{
	return i < req->nkv ? &req->kv[i] : &req->dup[i - req->nkv];
}

char *
request_kv_more(const struct request *req, ...)
{
	va_list ap;
	char *out = NULL, *t;
	size_t i, k, n = req->nkv + req->ndup, first = n;

	/* "datum:" twice, or "datum:" and "date:": lines of one kind. */
	for (i = 0; i < n; i++) {
		const struct kv *kv = kv_at(req, i);
		int mine, seen = 0;

		va_start(ap, req);
		mine = alias_of(kv->key, ap);
		va_end(ap);
		if (!mine)
			continue;
		if (first == n) {
			first = i;
			continue;
		}
		for (k = 0; k < i && !seen; k++) {
			va_start(ap, req);
			seen = alias_of(kv_at(req, k)->key, ap) &&
			    str_eq_ci(kv_at(req, k)->value, kv->value);
			va_end(ap);
		}
		if (seen)
			continue;
		t = out ? xasprintf("%s, %s", out, kv->value) :
		    xstrdup(kv->value);
		free(out);
		out = t;
	}
	return out;
}

enum lang
command_guess_lang(const char *text, enum lang dflt)
{
	const char *p, *next;
	size_t nl = 0, en = 0;

	if (text == NULL)
		return dflt;
	for (p = text; *p && (size_t)(p - text) < GUESS_BYTES; p = next) {
		const char *e = line_end(p, &next), *q = skip_space(p, e);

		if (q < e && *q == '>')
			continue;
		if ((size_t)(e - text) > GUESS_BYTES)
			e = text + GUESS_BYTES;
		while (q < e) {
			char w[16];
			size_t n = 0;
			int whole = 1;

			while (q < e && !is_alpha((unsigned char)*q) &&
			    (unsigned char)*q < 0x80)
				q++;
			/* A letter run glued to non-ASCII is another word. */
			while (q < e && (is_alpha((unsigned char)*q) ||
			    (unsigned char)*q >= 0x80)) {
				if ((unsigned char)*q >= 0x80 ||
				    n == sizeof(w) - 1)
					whole = 0;
				else
					w[n++] = to_lower(*q);
				q++;
			}
			w[n] = '\0';
			if (!whole || n == 0)
				continue;
			nl += in_list(w, words_nl, ARRAY_LEN(words_nl));
			en += in_list(w, words_en, ARRAY_LEN(words_en));
		}
	}
	if (nl > en)
		return LANG_NL;
	if (en > nl)
		return LANG_EN;
	return dflt;
}

/* Phrases of someone who did not ask for what a confirmation asks. */
static const char *const doubt_phrases[] = {
	"niet gestuurd", "niet verstuurd", "niet gevraagd", "niet aangevraagd",
	"niet van mij", "niet door mij", "wat is dit", "wat is dat",
	"waarom krijg ik", "ken ik niet", "didn't send", "did not send",
	"didn't ask", "did not ask", "didn't request", "did not request",
	"not sent by me", "wasn't me", "not me", "what is this",
	"who sent this",
	/* "Who is this? I never asked for this." */
	"never asked", "never requested", "never signed up", "never sent",
	"didn't sign up", "did not sign up", "haven't asked",
	"have not asked", "who is this", "what's this", "not from me",
	"nooit gevraagd", "nooit aangevraagd", "nooit gestuurd",
	"nooit aangemeld",
};

/* Its first line only: an out-of-office without its headers, or a word
 * a signature or disclaimer holds too ("Op woensdag afwezig", "gescand
 * op spam"). */
static const char *const doubt_first[] = {
	"afwezig", "vakantie", "niet aanwezig", "out of office",
	"out of the office", "on holiday", "on vacation", "on leave",
	"away until", "spam", "phishing", "fraude", "fraud", "oplichting",
};

/* First words that say yes outright. */
static const char *const yes_words[] = {
	"ja", "jazeker", "yes", "yep", "ok", "oke", "okay", "akkoord",
	"prima", "klopt", "correct", "bevestig", "bevestigd", "confirm",
	"confirmed", "graag", "zeker", "sure", "leuk", "top", "super",
};

/* Greetings above the answer ("Hoi,", "Beste Lido,"): not its first word. */
static const char *const greeting_words[] = {
	"hoi", "hallo", "beste", "dag", "goedemorgen", "goedemiddag", "hi",
	"hello", "hey", "dear",
};

/* Does s start with word w (case-insensitively), followed by a non-letter?
 * Its length, or 0. */
static size_t
starts_word(const char *s, const char *w)
{
	size_t n = strlen(w);
	unsigned char c;

	if (n == 0 || strncasecmp(s, w, n) != 0)
		return 0;
	c = (unsigned char)s[n];
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80)
		return 0;
	return n;
}

const char *
command_after_name(const char *s, const char *slug, const char *title)
{
	size_t m, mt;

	while (*s == ' ' || *s == '\t')
		s++;
	/* The longer of the two: slug "rekenen", title "Rekenen in groep
	 * 3"; title "AI", slug "ai-in-de-klas". */
	m = starts_word(s, slug);
	if ((mt = starts_word(s, title)) > m)
		m = mt;
	if (m == 0)
		return NULL;
	s += m;
	/* "bericht rekenen: x", "bericht rekenen - x" */
	while (*s == ' ' || *s == '\t' || *s == ':' || *s == '-' || *s == ',')
		s++;
	if (strncmp(s, "\u2013 ", 4) == 0)
		s += 4;
	return s;
}

char *
command_post_headline(const char *subject, const char *slug,
    const char *title)
{
	const char *s = subject, *rest;
	size_t k = 0;
	char *t;

	while (*s == ' ' || *s == '\t')
		s++;
	for (size_t i = 0; k == 0 && i < ARRAY_LEN(keywords); i++)
		if (keywords[i].verb == VERB_POST)
			k = starts_word(s, keywords[i].word);
	if (k > 0 && (rest = command_after_name(s + k, slug, title)) != NULL)
		s = rest;
	/* One line, whatever the mail's Subject held. */
	t = xstrdup(s);
	for (char *q = t, *w = t;; q++) {
		if (*q == '\r' || *q == '\n' || *q == '\t') {
			if (w == t || w[-1] != ' ')
				*w++ = ' ';
		} else if ((*w++ = *q) == '\0')
			break;
	}
	return t;
}

int
command_greeting_word(const char *w, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(greeting_words); i++)
		if (strlen(greeting_words[i]) == len &&
		    strncasecmp(w, greeting_words[i], len) == 0)
			return 1;
	return 0;
}

int
command_has_phrase(const char *p, const char *e, const char *phrase)
{
	size_t n = strlen(phrase);

	for (const char *c = p; c + n <= e; c++)
		if ((c == p || !is_alpha((unsigned char)c[-1])) &&
		    strncasecmp(c, phrase, n) == 0 &&
		    (c + n == e || !is_alpha((unsigned char)c[n])))
			return 1;
	return 0;
}

static int
word_listed(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, list[i]) == 0)
			return 1;
	return 0;
}

int
command_doubts(const char *text, int strict)
{
	const char *p, *next;
	char w[WORD_MAX + 1];
	int lines = 0, yes = 0, asks = 0, words = 0;

	if (text == NULL)
		return 0;
	for (p = text; *p && (size_t)(p - text) < CMD_SCAN_BYTES; p = next) {
		const char *e = line_end(p, &next);
		const char *q = skip_space(p, e);
		int letters = 0;

		if (q == e || *q == '>')
			continue;
		/* "Met vriendelijke groet," and what follows it are not the
		 * answer: a disclaimer says "niet" and "spam". */
		if (lines > 0 && command_signature_line(q, e))
			break;
		for (const char *c = q; c < e && !letters; c++)
			letters = is_alpha((unsigned char)*c) ||
			    (unsigned char)*c >= 0x80 || (*c >= '0' && *c <= '9');
		if (memchr(q, '?', (size_t)(e - q)) != NULL)
			asks = 1;
		for (size_t i = 0; i < ARRAY_LEN(doubt_phrases); i++)
			if (command_has_phrase(q, e, doubt_phrases[i]))
				return 1;
		if (!letters)
			continue;
		words = 1;
		if (read_word(q, e, w) == NULL)
			w[0] = '\0';
		/* "Hoi," or "Beste Lido," above the answer. */
		if (lines == 0 && (size_t)(e - q) <= 40 && word_listed(w,
		    greeting_words, ARRAY_LEN(greeting_words)))
			continue;
		if (lines++ == 0) {
			for (size_t i = 0; i < ARRAY_LEN(doubt_first); i++)
				if (command_has_phrase(q, e, doubt_first[i]))
					return 1;
			yes = word_listed(w, yes_words, ARRAY_LEN(yes_words));
		}
	}
	/* "??": no word, only a question. */
	if (asks && !words)
		return 1;
	return strict && asks && !yes;
}

/* Words that start a refusal in reply to a confirmation mail. */
static const char *const no_words[] = {
	"nee", "neen", "niet", "nooit", "no", "not", "nope", "never", "stop",
};

int
command_is_no(const char *text)
{
	const char *p, *next;
	size_t lines = 0;

	if (text == NULL)
		return 0;
	for (p = text; *p && lines < CMD_SCAN_LINES &&
	    (size_t)(p - text) < CMD_SCAN_BYTES; p = next, lines++) {
		const char *e = line_end(p, &next);
		const char *q = skip_space(p, e);
		char w[WORD_MAX + 1];

		if (q == e || *q == '>')
			continue;
		if (read_word(q, e, w) == NULL)
			return 0;
		for (size_t i = 0; i < ARRAY_LEN(no_words); i++)
			if (strcmp(w, no_words[i]) == 0)
				return 1;
		return 0;
	}
	return 0;
}
