/*
 * test_command.c - the mail command language: keywords in Subject and
 * body, prefixes and tags, details, language, hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "command.h"
#include "util.h"

/* The keywords of SPEC §4 and §4b, written out again on purpose. */
static const struct {
	const char	*word;
	enum verb	 verb;
	enum lang	 lang;
	int		 known;
} spec_keywords[] = {
	{ "hulp", VERB_HELP, LANG_NL, 1 },
	{ "help", VERB_HELP, LANG_EN, 1 },
	{ "netwerken", VERB_NETWORKS, LANG_NL, 1 },
	{ "networks", VERB_NETWORKS, LANG_EN, 1 },
	{ "aanmelden", VERB_JOIN, LANG_NL, 1 },
	{ "join", VERB_JOIN, LANG_EN, 1 },
	{ "bevestig", VERB_CONFIRM, LANG_NL, 1 },
	{ "confirm", VERB_CONFIRM, LANG_EN, 1 },
	{ "afmelden", VERB_LEAVE, LANG_NL, 1 },
	{ "leave", VERB_LEAVE, LANG_EN, 1 },
	{ "volg", VERB_FOLLOW, LANG_NL, 1 },
	{ "follow", VERB_FOLLOW, LANG_EN, 1 },
	{ "ontvolg", VERB_UNFOLLOW, LANG_NL, 1 },
	{ "unfollow", VERB_UNFOLLOW, LANG_EN, 1 },
	{ "nieuw netwerk", VERB_START, LANG_NL, 1 },
	{ "start", VERB_START, LANG_EN, 2 },	/* Dutch too */
	{ "goedkeuren", VERB_APPROVE, LANG_NL, 1 },
	{ "approve", VERB_APPROVE, LANG_EN, 1 },
	{ "afwijzen", VERB_REJECT, LANG_NL, 1 },
	{ "reject", VERB_REJECT, LANG_EN, 1 },
	{ "bijeenkomst", VERB_MEETING, LANG_NL, 1 },
	{ "meeting", VERB_MEETING, LANG_EN, 2 },	/* Dutch too */
	{ "verplaats", VERB_MOVE, LANG_NL, 1 },
	{ "move", VERB_MOVE, LANG_EN, 1 },
	{ "annuleer", VERB_CANCEL, LANG_NL, 1 },
	{ "cancel", VERB_CANCEL, LANG_EN, 1 },
	{ "annuleren", VERB_CANCEL, LANG_NL, 1 },	/* beyond SPEC */
	{ "verplaatsen", VERB_MOVE, LANG_NL, 1 },
	{ "bevestigen", VERB_CONFIRM, LANG_NL, 1 },
	{ "presentie", VERB_ATTENDANCE, LANG_NL, 1 },
	{ "attendance", VERB_ATTENDANCE, LANG_EN, 1 },
	{ "bericht", VERB_POST, LANG_NL, 1 },
	{ "post", VERB_POST, LANG_EN, 2 },	/* Dutch too */
	{ "trekker", VERB_LEAD, LANG_NL, 1 },
	{ "lead", VERB_LEAD, LANG_EN, 2 },	/* Dutch too */
	{ "status", VERB_STATUS, LANG_NL, 0 },
	{ "sluit", VERB_CLOSE, LANG_NL, 1 },
	{ "close", VERB_CLOSE, LANG_EN, 1 },
	{ "samenvatting", VERB_DIGEST, LANG_NL, 1 },
	{ "digest", VERB_DIGEST, LANG_EN, 1 },
	{ "direct", VERB_DIRECT, LANG_NL, 0 },
};

static char *
upper(const char *s)
{
	char *u = xstrdup(s), *p;

	for (p = u; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return u;
}

static void
check_keyword(const char *what, const struct request *r, size_t k,
    int in_subject, const char *args)
{
	if (r->verb != spec_keywords[k].verb)
		fail_msg("%s: verb %s, want %s", what, verb_name(r->verb),
		    verb_name(spec_keywords[k].verb));
	assert_int_equal(r->in_subject, in_subject);
	assert_int_equal(r->lang_known, spec_keywords[k].known != 0);
	if (spec_keywords[k].known == 1)
		assert_int_equal(r->lang, spec_keywords[k].lang);
	assert_string_equal(r->keyword, spec_keywords[k].word);
	assert_string_equal(r->args, args);
}

/* Commands that take nothing: more words make them a question. */
static int
argless(enum verb v)
{
	return v == VERB_HELP || v == VERB_NETWORKS;
}

static void
test_keywords_subject(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_LEN(spec_keywords); k++) {
		struct request r;
		char *subj, *up, *subj2;

		subj = xasprintf("%s rekenen-groep-3", spec_keywords[k].word);
		assert_int_equal(command_parse(subj, "Groetjes, Jan", &r), 0);
		check_keyword(subj, &r, k, 1, "rekenen-groep-3");
		assert_int_equal(r.argc, 1);
		assert_string_equal(r.argv[0], "rekenen-groep-3");
		assert_string_equal(r.body, "Groetjes, Jan");
		request_free(&r);

		/* Upper case, behind prefixes and tags, with punctuation. */
		up = upper(spec_keywords[k].word);
		subj2 = xasprintf("RE: [EXTERN] Antw: %s: rekenen 2", up);
		if (argless(spec_keywords[k].verb)) {
			/* "Help, ik krijg niets": a question, not help */
			assert_int_equal(command_parse(subj2, "", &r), 1);
			assert_int_equal(r.verb, VERB_NONE);
		} else {
			assert_int_equal(command_parse(subj2, "", &r), 0);
			check_keyword(subj2, &r, k, 1, "rekenen 2");
			assert_int_equal(r.argc, 2);
			assert_string_equal(r.argv[1], "2");
		}
		request_free(&r);
		free(subj);
		free(subj2);
		free(up);
	}
}

static void
test_keywords_body(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_LEN(spec_keywords); k++) {
		struct request r;
		char *text;

		const char *args = argless(spec_keywords[k].verb) ? "rekenen" :
		    "rekenen 2";

		text = xasprintf("\n  \n> %s oud 1\n>\n\t%s %s \n"
		    "datum: 14-05-2027\n\nlocatie: Aula\n",
		    spec_keywords[k].word, spec_keywords[k].word, args);
		assert_int_equal(command_parse("Re: [Rekenen in groep 3] vraag",
		    text, &r), 0);
		check_keyword(text, &r, k, 0, args);
		assert_string_equal(r.body,
		    "datum: 14-05-2027\n\nlocatie: Aula");
		assert_int_equal(r.nkv, 2);
		assert_string_equal(request_kv(&r, "datum", NULL),
		    "14-05-2027");
		request_free(&r);
		free(text);
	}
	/* Infinitives that start a sentence are no command. */
	{
		static const char *const prose[] = {
			"Annuleren, ik kan helaas niet komen.",
			"Verplaatsen naar volgende week kan dat?",
			"Help, ik krijg geen uitnodigingen",
			"Netwerken en leren gaan samen",
		};
		static const char *const cmds[] = {
			"annuleren rekenen 1", "Annuleren.", "annuleren: rekenen 2",
			"verplaatsen rekenen", "help", "hulp graag", "Help!",
			"start Vandaag beter lezen", "start Van Gogh in de klas",
		};
		struct request r;

		for (size_t i = 0; i < ARRAY_LEN(prose); i++) {
			if (command_parse("Re: Uitnodiging", prose[i], &r) != 1)
				fail_msg("a command: '%s'", prose[i]);
			request_free(&r);
		}
		for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
			if (command_parse(cmds[i], "", &r) != 0)
				fail_msg("no command: '%s'", cmds[i]);
			request_free(&r);
		}
	}
	/* Mailing-list habit: keywords in mail to a list only.  At the
	 * coordinator address "Inschrijven studiedag" is a question. */
	{
		static const struct {
			const char	*subject;
			enum verb	 verb;	/* VERB_NONE: no command */
		} listed[] = {
			{ "unsubscribe", VERB_LEAVE },
			{ "Uitschrijven rekenen", VERB_LEAVE },
			{ "subscribe rekenen", VERB_JOIN },
			{ "Inschrijven", VERB_JOIN },
			{ "Inschrijven voor de studiedag kan tot vrijdag",
			    VERB_NONE },
			{ "Subscribe to the newsletter, it is great", VERB_NONE },
		};
		struct request r;

		for (size_t i = 0; i < ARRAY_LEN(listed); i++) {
			assert_int_equal(command_parse(listed[i].subject, "",
			    &r), 1);
			request_free(&r);
			command_parse_ex(listed[i].subject, "", &r, 1);
			if (r.verb != listed[i].verb)
				fail_msg("'%s': verb %s", listed[i].subject,
				    verb_name(r.verb));
			request_free(&r);
		}
		/* "nieuw leernetwerk" proposes as "nieuw netwerk" does. */
		assert_int_equal(command_parse("Nieuw leernetwerk Rekenen in "
		    "groep 3", "", &r), 0);
		assert_int_equal(r.verb, VERB_START);
		assert_string_equal(r.args, "Rekenen in groep 3");
		request_free(&r);
	}
	/* A Subject that announces the start of something proposes
	 * nothing; the same words in the body are `start TITLE`. */
	{
		static const char *const news[] = {
			"Start van het schooljaar", "START VAN HET SCHOOLJAAR",
			"Start Of Term", "start of term: what to expect",
		};
		static const char *const proposals[] = {
			"start Van Gogh in de klas", "Start Vandaag beter lezen",
			"start Ofiice-vaardigheden",
		};
		struct request r;

		for (size_t i = 0; i < ARRAY_LEN(news); i++) {
			if (command_parse(news[i], "Fijn dat iedereen er weer "
			    "is.", &r) != 1)
				fail_msg("a command: '%s'", news[i]);
			request_free(&r);
			if (command_parse("Vraag", news[i], &r) != 0 ||
			    r.verb != VERB_START)
				fail_msg("no proposal in the body: '%s'",
				    news[i]);
			request_free(&r);
		}
		for (size_t i = 0; i < ARRAY_LEN(proposals); i++) {
			if (command_parse(proposals[i], "", &r) != 0 ||
			    r.verb != VERB_START)
				fail_msg("no proposal: '%s'", proposals[i]);
			request_free(&r);
		}
	}
}

static const struct {
	const char	*subject;
	const char	*text;
	int		 rc;
	enum verb	 verb;
	int		 in_subject;
	const char	*keyword;
	const char	*args;
	const char	*body;
} cases[] = {
	/* nieuw netwerk: two words, title as arguments */
	{ "nieuw netwerk Rekenen in groep 3", "Hoe leren kinderen tellen?\n",
	  0, VERB_START, 1, "nieuw netwerk", "Rekenen in groep 3",
	  "Hoe leren kinderen tellen?" },
	{ "Nieuw   Netwerk: Ĳsbreker", "", 0, VERB_START, 1, "nieuw netwerk",
	  "Ĳsbreker", "" },
	{ "NIEUW NETWERK", "", 0, VERB_START, 1, "nieuw netwerk", "", "" },
	{ "Vraag", "nieuw netwerk Lezen\nOnze vraag is ...", 0, VERB_START, 0,
	  "nieuw netwerk", "Lezen", "Onze vraag is ..." },
	{ "nieuw", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "nieuw idee", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "nieuwe netwerk x", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "nieuw netwerken", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "nieuwnetwerk x", "", 1, VERB_NONE, 0, NULL, "", "" },
	/* punctuation after the keyword */
	{ "Aanmelden: rekenen", "", 0, VERB_JOIN, 1, "aanmelden", "rekenen",
	  "" },
	{ "Aanmelden!", "", 0, VERB_JOIN, 1, "aanmelden", "", "" },
	{ "aanmelden:rekenen", "", 0, VERB_JOIN, 1, "aanmelden", "rekenen",
	  "" },
	{ "Help?", "", 0, VERB_HELP, 1, "help", "", "" },
	{ "hulp...", "", 0, VERB_HELP, 1, "hulp", "", "" },
	/* words that merely start like a keyword */
	{ "Aanmelding rekenen", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "helpdesk", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "help-mij", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "status-update", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "join2 x", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "joiné", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "post@school.nl", "", 1, VERB_NONE, 0, NULL, "", "" },
	/* the Subject wins over the body */
	{ "Help", "aanmelden rekenen", 0, VERB_HELP, 1, "help", "",
	  "aanmelden rekenen" },
	/* no keyword in the Subject: only the first real body line counts */
	{ "Vraag over rekenen", "Beste Femme,\n\naanmelden rekenen\n", 1,
	  VERB_NONE, 0, NULL, "", "Beste Femme,\n\naanmelden rekenen" },
	{ "", "  \n\n> aanmelden oud\n\n  Aanmelden rekenen\nGroet\n", 0,
	  VERB_JOIN, 0, "aanmelden", "rekenen", "Groet" },
	{ NULL, "> join a\n>> join b\n   > join c\njoin d\r\nbye", 0,
	  VERB_JOIN, 0, "join", "d", "bye" },
	/* line endings: CR only, CRLF, mixed */
	{ "x", "\r\r> q\raanmelden rekenen\rdatum: 1-1-2028\r", 0, VERB_JOIN,
	  0, "aanmelden", "rekenen", "datum: 1-1-2028" },
	{ "x", "\r\n\r\nafmelden lezen\r\nKlaar.\r\n", 0, VERB_LEAVE, 0,
	  "afmelden", "lezen", "Klaar." },
	/* U+00A0 is white space too (HTML mail) */
	{ "aanmelden\xc2\xa0rekenen\xc2\xa0", "", 0, VERB_JOIN, 1, "aanmelden",
	  "rekenen", "" },
	/* empty and absent input */
	{ NULL, NULL, 1, VERB_NONE, 0, NULL, "", "" },
	{ "", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "Re: Fwd: ", "\n\n", 1, VERB_NONE, 0, NULL, "", "" },
	{ "[EXTERN]", "   ", 1, VERB_NONE, 0, NULL, "", "" },
	/* invalid UTF-8 is no keyword and breaks nothing */
	{ "\xff\xfe aanmelden", "", 1, VERB_NONE, 0, NULL, "", "" },
	{ "x", "aanmelden \xff\xc3 rekenen\n\x80", 0, VERB_JOIN, 0,
	  "aanmelden", "\xff\xc3 rekenen", "\x80" },
	/* status and direct are the same in both languages */
	{ "status rekenen", "Hoi, ik wil graag weten hoe het gaat.", 0,
	  VERB_STATUS, 1, "status", "rekenen",
	  "Hoi, ik wil graag weten hoe het gaat." },
	{ "direct lezen", "", 0, VERB_DIRECT, 1, "direct", "lezen", "" },
};

static void
test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct request r;
		int rc = command_parse(cases[i].subject, cases[i].text, &r);

		if (rc != cases[i].rc || r.verb != cases[i].verb)
			fail_msg("case %zu (%s): rc %d verb %s", i,
			    cases[i].subject ? cases[i].subject : "NULL", rc,
			    verb_name(r.verb));
		assert_int_equal(r.in_subject, cases[i].in_subject);
		if (cases[i].keyword == NULL)
			assert_null(r.keyword);
		else
			assert_string_equal(r.keyword, cases[i].keyword);
		assert_string_equal(r.args, cases[i].args);
		assert_string_equal(r.body, cases[i].body);
		request_free(&r);
	}
}

static const struct {
	const char	*in;
	const char	*out;
} strip[] = {
	{ "Re: Aanmelden", "Aanmelden" },
	{ "RE: RE: Fwd: aanmelden rekenen", "aanmelden rekenen" },
	{ "Antw: AW: WG: TR: Ref: Doorst: FW: Fw: fwd: x", "x" },
	{ "Re[2]: x", "x" },
	{ "RE : x", "x" },
	{ "Re(3): x", "x" },
	{ "Re:Re:x", "x" },
	{ "  Re:   x  ", "x" },
	{ "re: RE: rE: Re: x y", "x y" },
	{ "Fwd\xef\xbc\x9a x", "x" },		/* full-width colon */
	{ "[EXTERN] Re: [Rekenen in groep 3] Bericht", "Bericht" },
	{ "Re: [EXTERN]Aanmelden", "Aanmelden" },
	{ "[a][b] [c] x [d]", "x [d]" },
	{ "Re: Re: ", "" },
	{ "Re:", "" },
	{ "[EXTERN]", "" },
	{ "", "" },
	{ "\t\r\n", "" },
	{ "Reactie: x", "Reactie: x" },
	{ "Rekenen", "Rekenen" },
	{ "Re", "Re" },
	{ "Re x", "Re x" },
	{ "Re[x]: y", "Re[x]: y" },
	{ "Re[2] x", "Re[2] x" },
	{ "[unterminated x", "[unterminated x" },
	{ "Aanmelden: Re: x", "Aanmelden: Re: x" },
	{ "x Re: y", "x Re: y" },
};

static void
test_strip_subject(void **state)
{
	size_t i;
	char *s, *big;

	(void)state;
	for (i = 0; i < ARRAY_LEN(strip); i++) {
		s = command_strip_subject(strip[i].in);
		if (strcmp(s, strip[i].out) != 0)
			fail_msg("strip(\"%s\") = \"%s\", want \"%s\"",
			    strip[i].in, s, strip[i].out);
		free(s);
	}
	s = command_strip_subject(NULL);
	assert_string_equal(s, "");
	free(s);

	/* A [tag] of hundreds of bytes is text, not a tag. */
	big = xmalloc(1002);
	big[0] = '[';
	memset(big + 1, 'a', 999);
	big[1000] = ']';
	big[1001] = '\0';
	s = command_strip_subject(big);
	assert_string_equal(s, big);
	free(s);
	free(big);

	/* Thousands of prefixes: all go, in linear time. */
	big = xmalloc(4 * 100000 + 2);
	for (i = 0; i < 100000; i++)
		memcpy(big + 4 * i, "Re: ", 4);
	memcpy(big + 4 * i, "x", 2);
	s = command_strip_subject(big);
	assert_string_equal(s, "x");
	free(s);
	free(big);
}

/* The lead named before "goedkeuren" is approve's detail, not `trekker`. */
static void
test_lead_detail_first(void **state)
{
	static const struct {
		const char	*text;
		enum verb	 verb;
		const char	*lead;		/* kv lead/trekker, or NULL */
		const char	*args;
	} leads[] = {
		{ "Trekker: piet@school.nl\ngoedkeuren\n\n> Voorstel",
		    VERB_APPROVE, "piet@school.nl", "" },
		{ "\n  lead : Piet <piet@school.nl>\r\nApprove, thanks\n",
		    VERB_APPROVE, "Piet <piet@school.nl>", "thanks" },
		{ "trekker: piet@school.nl\ntrekker: kees@school.nl\n"
		    "goedkeuren", VERB_APPROVE, "piet@school.nl", "" },
		/* the command itself, with or without a colon */
		{ "trekker rekenen piet@school.nl", VERB_LEAD, NULL,
		    "rekenen piet@school.nl" },
		{ "trekker: rekenen piet@school.nl", VERB_LEAD, NULL,
		    "rekenen piet@school.nl" },
		{ "trekker: rekenen Piet <piet@school.nl>", VERB_LEAD, NULL,
		    "rekenen Piet <piet@school.nl>" },
		/* without an approval after it, the line is the command, as
		 * it always was */
		{ "trekker: piet@school.nl\n\nGroet, Femme", VERB_LEAD, NULL,
		    "piet@school.nl" },
		{ "Lead: piet@school.nl\nbijeenkomst rekenen\ndatum: 1-6-2027",
		    VERB_LEAD, NULL, "piet@school.nl" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(leads); i++) {
		struct request r;
		const char *lead;

		(void)command_parse("Re: Voorstel: Rekenen", leads[i].text, &r);
		if (r.verb != leads[i].verb)
			fail_msg("'%s': verb %s, want %s", leads[i].text,
			    verb_name(r.verb), verb_name(leads[i].verb));
		lead = request_kv(&r, "lead", "trekker", NULL);
		if (leads[i].lead == NULL)
			assert_null(lead);
		else
			assert_string_equal(lead, leads[i].lead);
		if (leads[i].args != NULL)
			assert_string_equal(r.args, leads[i].args);
		request_free(&r);
	}
}

static void
test_kv(void **state)
{
	struct request r;
	char *t;

	(void)state;
	/* A reply read in context: no keyword, details filled. */
	assert_int_equal(command_parse("Re: Uitnodiging: Rekenen, nummer 2",
	    "Hoi,\n\ndatum: 21-05-2027\nTijd : 15:00-17:00\n  Locatie:  De "
	    "Regenboog, lokaal 4  \n> datum: 1-1-2020\n", &r), 1);
	assert_int_equal(r.verb, VERB_NONE);
	assert_int_equal(r.nkv, 3);
	assert_string_equal(r.kv[0].key, "datum");
	assert_string_equal(request_kv(&r, "datum", "date", NULL),
	    "21-05-2027");
	assert_string_equal(request_kv(&r, "tijd", "time", NULL),
	    "15:00-17:00");
	assert_string_equal(request_kv(&r, "locatie", "location", NULL),
	    "De Regenboog, lokaal 4");
	assert_string_equal(request_kv(&r, "LOCATIE", NULL),
	    "De Regenboog, lokaal 4");
	assert_null(request_kv(&r, "onderwerp", "topic", NULL));
	assert_null(request_kv(&r, NULL));
	request_free(&r);

	/* First occurrence wins; quoted lines and non-keys are skipped. */
	assert_int_equal(command_parse("bijeenkomst rekenen",
	    "> datum: 1-1-2027\ndatum: 2-2-2027\nDatum: 3-3-2027\n"
	    "Beste Femme: hoi\nhttps://example.nl/x\nonderwerp:\n"
	    "onderwerp:   Breuken\ntijd2: 9\n: leeg\nlead: jan@jl.nu\n"
	    "zeer-lang: x\n", &r), 0);
	assert_int_equal(r.nkv, 3);
	assert_string_equal(r.kv[0].key, "datum");
	assert_string_equal(r.kv[0].value, "2-2-2027");
	assert_string_equal(r.kv[1].key, "onderwerp");
	assert_string_equal(r.kv[1].value, "Breuken");
	assert_string_equal(r.kv[2].key, "lead");
	assert_null(request_kv(&r, "https", NULL));
	/* ...and the later ones are kept, for "one mail, one meeting". */
	t = request_kv_more(&r, "datum", "date", NULL);
	assert_string_equal(t, "3-3-2027");
	free(t);
	assert_null(request_kv_more(&r, "onderwerp", NULL));
	request_free(&r);

	/* Aliases: the line that comes first in the body wins. */
	assert_int_equal(command_parse("move rekenen 2",
	    "date: 4-4-2027\ndatum: 5-5-2027\n", &r), 0);
	assert_string_equal(request_kv(&r, "datum", "date", NULL), "4-4-2027");
	assert_string_equal(request_kv(&r, "date", "datum", NULL), "4-4-2027");
	assert_string_equal(request_kv(&r, "datum", NULL), "5-5-2027");
	t = request_kv_more(&r, "datum", "date", NULL);
	assert_string_equal(t, "5-5-2027");
	free(t);
	assert_null(request_kv_more(&r, "datum", NULL));
	request_free(&r);

	/* A signature without "-- " ends the details: its "Locatie:" is
	 * the sender's office, not where the meeting is. */
	assert_int_equal(command_parse("Re: Uitnodiging",
	    "datum: 21-05-2027\n\nMet vriendelijke groet,\n\nPiet Jansen\n"
	    "Locatie: De Regenboog, Utrecht\n", &r), 1);
	assert_int_equal(r.nkv, 1);
	assert_null(request_kv(&r, "locatie", NULL));
	request_free(&r);
	assert_int_equal(command_parse("Re: Uitnodiging",
	    "locatie: Aula\nGroet, Piet\ntijd: 9:00\n", &r), 1);
	assert_int_equal(r.nkv, 1);
	request_free(&r);
	assert_int_equal(command_parse("Re: Uitnodiging",
	    "locatie: Aula\nVerstuurd vanaf mijn iPhone\ntijd: 9:00\n", &r), 1);
	assert_int_equal(r.nkv, 1);
	request_free(&r);
	/* ... and a thank-you that opens the mail ends nothing. */
	assert_int_equal(command_parse("Re: Uitnodiging",
	    "Bedankt!\n\ndatum: 21-05-2027\nlocatie: Aula\n\nGroet,\nPiet\n",
	    &r), 1);
	assert_int_equal(r.nkv, 2);
	request_free(&r);
	/* Details, a blank line, a name and a school: a signature without
	 * any closing, whose "Locatie:" is no detail either. */
	assert_int_equal(command_parse("bijeenkomst rekenen",
	    "datum: 14-05-2027\ntijd: 15:00-17:00\n\nJan Jansen\n"
	    "Leerkracht groep 3 | OBS De Regenboog\nLocatie: Utrecht-Noord\n",
	    &r), 0);
	assert_int_equal(r.nkv, 2);
	assert_null(request_kv(&r, "locatie", NULL));
	request_free(&r);
	/* A name of five words is still a name, not a sentence. */
	assert_int_equal(command_parse("bijeenkomst rekenen",
	    "datum: 14-05-2027\ntijd: 15:00\n\nJuf Anna van der Meer\n"
	    "Locatie: De Regenboog Zuid\n", &r), 0);
	assert_null(request_kv(&r, "locatie", NULL));
	request_free(&r);
	/* A sentence after the blank line is the lead's text: read on. */
	assert_int_equal(command_parse("bijeenkomst rekenen",
	    "datum: 14-05-2027\n\nWe gaan verder met hoofdstuk 3.\n"
	    "tijd: 15:00\nlocatie: Aula\n", &r), 0);
	assert_int_equal(r.nkv, 3);
	assert_string_equal(request_kv(&r, "locatie", NULL), "Aula");
	request_free(&r);
	/* Text right under a detail, or before the first one, ends nothing. */
	assert_int_equal(command_parse("bijeenkomst rekenen",
	    "Hoi allemaal,\n\nDe volgende bijeenkomst:\n\ndatum: 14-05-2027\n"
	    "We beginnen met koffie.\nlocatie: Aula\n\ntijd: 15:00\n", &r), 0);
	assert_int_equal(r.nkv, 3);
	assert_string_equal(request_kv(&r, "locatie", NULL), "Aula");
	assert_string_equal(request_kv(&r, "tijd", NULL), "15:00");
	request_free(&r);
	/* ... but a line that only starts like a closing is text. */
	assert_int_equal(command_parse("Re: Uitnodiging",
	    "Groeten aan iedereen van het team\nlocatie: Aula\n", &r), 1);
	assert_string_equal(request_kv(&r, "locatie", NULL), "Aula");
	request_free(&r);
	assert_int_equal(command_signature_line("-- ", "-- " + 3), 1);
	assert_int_equal(command_signature_line("Kind regards.", "Kind regards."
	    + 13), 1);
	assert_int_equal(command_signature_line("mvg", "mvg" + 3), 1);
	assert_int_equal(command_signature_line("mv", "mv" + 2), 0);
	{
		static const char *const yes[] = {
			"Met vriendelijke groeten,", "Vriendelijke groeten",
			"Hartelijke groeten!", "Veel groeten,", "Lieve groet,",
			"Groetjes, Anna", "Best,", "Best wishes", "Thanks,",
			"Kind regards, Jan", "gr.", "Met vriendelijke groet",
			"Verstuurd vanaf mijn iPhone", "Outlook voor iOS",
			"Dit bericht is vertrouwelijk en uitsluitend bestemd "
			"voor de geadresseerde.", "DISCLAIMER: aan dit bericht",
			"This e-mail is confidential and intended solely",
			"Disclaimer", "Aan dit bericht kunnen geen rechten "
			"worden ontleend.",
		};
		static const char *const no[] = {
			"Groeten aan iedereen van het team", "Met", "Veel",
			"Best of all the meetings", "Thanks for the meeting",
			"locatie: Aula", "Groeten Piet", "Beste Piet,",
			"Dit bericht is voor de leads", "This message is for",
			/* found by review: real first lines */
			"Dit e-mailbericht is een voorstel",
			"De informatie in dit bericht komt uit de raad",
			"Disclaimer ik ben geen expert", "Disclaimers zijn lastig",
			"The information in this e-mail comes from",
		};

		for (size_t i = 0; i < ARRAY_LEN(yes); i++)
			if (!command_signature_line(yes[i], yes[i] +
			    strlen(yes[i])))
				fail_msg("not a closing: '%s'", yes[i]);
		for (size_t i = 0; i < ARRAY_LEN(no); i++)
			if (command_signature_line(no[i], no[i] +
			    strlen(no[i])))
				fail_msg("a closing: '%s'", no[i]);
	}
	assert_int_equal(command_signature_line("", ""), 0);

	/* A bare keyword in the Subject, the full command in the body:
	 * the body's line is the command. */
	assert_int_equal(command_parse("Bijeenkomst", "bijeenkomst rekenen\n"
	    "datum: 6-6-2027\n", &r), 0);
	assert_int_equal(r.verb, VERB_MEETING);
	assert_string_equal(r.args, "rekenen");
	assert_int_equal(r.in_subject, 0);
	assert_int_equal(r.nkv, 1);
	request_free(&r);
	/* ... but not another command's line, nor a bare word again. */
	assert_int_equal(command_parse("Status", "help\n", &r), 0);
	assert_int_equal(r.verb, VERB_STATUS);
	assert_int_equal(r.in_subject, 1);
	request_free(&r);
	assert_int_equal(command_parse("status", "status\n", &r), 0);
	assert_int_equal(r.in_subject, 1);
	request_free(&r);
	assert_int_equal(command_parse("status rekenen", "status taal\n", &r),
	    0);
	assert_string_equal(r.args, "rekenen");
	request_free(&r);

	/* Keyword in the body: details only from after its line. */
	assert_int_equal(command_parse("vraag",
	    "bijeenkomst rekenen\ndatum: 6-6-2027\n", &r), 0);
	assert_int_equal(r.nkv, 1);
	request_free(&r);
	assert_int_equal(command_parse("vraag",
	    "datum: 6-6-2027\nbijeenkomst rekenen\n", &r), 1);
	assert_int_equal(r.nkv, 1);
	request_free(&r);
}

static void
test_argv(void **state)
{
	struct request r;
	struct buf b;
	size_t i;

	(void)state;
	assert_int_equal(command_parse("lead  rekenen\t jan@jl.nu  ", "", &r),
	    0);
	assert_string_equal(r.args, "rekenen\t jan@jl.nu");
	assert_int_equal(r.argc, 2);
	assert_string_equal(r.argv[0], "rekenen");
	assert_string_equal(r.argv[1], "jan@jl.nu");
	assert_null(r.argv[2]);
	request_free(&r);

	assert_int_equal(command_parse("confirm", "", &r), 0);
	assert_int_equal(r.argc, 0);
	assert_null(r.argv[0]);
	request_free(&r);

	/* At most 64 arguments. */
	buf_init(&b, 0);
	buf_adds(&b, "attendance");
	for (i = 0; i < 100; i++)
		buf_addf(&b, " a%zu", i);
	assert_int_equal(command_parse(buf_str(&b), "", &r), 0);
	assert_int_equal(r.argc, 64);
	assert_string_equal(r.argv[63], "a63");
	request_free(&r);
	buf_free(&b);
}

static void
test_lang(void **state)
{
	static const struct {
		const char	*text;
		enum lang	 dflt, want;
	} g[] = {
		{ "Hallo, ik wil graag meedoen met het netwerk.", LANG_EN,
		  LANG_NL },
		{ "Hello, I would like to join the network please.", LANG_NL,
		  LANG_EN },
		{ "Beste Femme, kun je mij de status sturen? Groeten, Jan",
		  LANG_EN, LANG_NL },
		{ "Dear Femme, could you send me the status? Kind regards",
		  LANG_NL, LANG_EN },
		{ "", LANG_NL, LANG_NL },
		{ "", LANG_EN, LANG_EN },
		{ "rekenen 15:00", LANG_EN, LANG_EN },
		{ "rekenen 15:00", LANG_NL, LANG_NL },
		{ "> the the the the the\n> the\nik ben er", LANG_EN, LANG_NL },
		/* Dutch words English speakers would not write */
		{ "Was het best? Want het kind of de ouder ...", LANG_EN,
		  LANG_NL },
		{ "één twee drie", LANG_EN, LANG_EN },
		{ "theé deé", LANG_NL, LANG_NL },
		{ "\xff\xfe\xfd the", LANG_NL, LANG_EN },
		/* a reply with nothing but the detail lines */
		{ "date: 21-05-2027\ntime: 16:00-18:00\nlocation: Hall",
		  LANG_NL, LANG_EN },
		{ "datum: 21-05-2027\ntijd: 16:00", LANG_EN, LANG_NL },
	};
	struct request r;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(g); i++)
		if (command_guess_lang(g[i].text, g[i].dflt) != g[i].want)
			fail_msg("guess_lang(\"%s\") != %s", g[i].text,
			    lang_code(g[i].want));
	assert_int_equal(command_guess_lang(NULL, LANG_EN), LANG_EN);

	/* A keyword sets the language; "status" leaves it to the text. */
	assert_int_equal(command_parse("join rekenen", "Ik wil graag meedoen.",
	    &r), 0);
	assert_int_equal(r.lang, LANG_EN);
	assert_int_equal(r.lang_known, 1);
	request_free(&r);
	assert_int_equal(command_parse("status rekenen",
	    "Please send me the numbers, thank you.", &r), 0);
	assert_int_equal(r.lang, LANG_EN);
	assert_int_equal(r.lang_known, 0);
	request_free(&r);
	assert_int_equal(command_parse("Status", "", &r), 0);
	assert_int_equal(r.lang, LANG_NL);
	assert_int_equal(r.lang_known, 0);
	request_free(&r);
	assert_int_equal(command_parse("Question",
	    "Could you please tell me how this works?", &r), 1);
	assert_int_equal(r.lang, LANG_EN);
	assert_int_equal(r.lang_known, 0);
	request_free(&r);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(verb_name(VERB_NONE), "none");
	assert_string_equal(verb_name(VERB_JOIN), "join");
	assert_string_equal(verb_name(VERB_ATTENDANCE), "attendance");
	assert_string_equal(verb_name(VERB_DIRECT), "direct");
	assert_string_equal(verb_name(VERB__COUNT), "none");
	assert_string_equal(verb_name((enum verb)-1), "none");
	assert_string_equal(lang_code(LANG_NL), "nl");
	assert_string_equal(lang_code(LANG_EN), "en");
}

static int
utf8_ok(const char *s)
{
	return utf8_valid(s, strlen(s));
}

static void
test_hostile(void **state)
{
	struct request r;
	char *big, *p;
	size_t i, n;
	unsigned seed = 4242;

	(void)state;
	/* One line of a megabyte: arguments are capped. */
	n = 1024 * 1024;
	big = xmalloc(n + 1);
	memcpy(big, "aanmelden ", 10);
	memset(big + 10, 'x', n - 10);
	big[n] = '\0';
	assert_int_equal(command_parse("", big, &r), 0);
	assert_int_equal(r.verb, VERB_JOIN);
	assert_true(strlen(r.args) <= 4096);
	assert_int_equal(r.argc, 1);
	assert_true(strlen(r.argv[0]) <= 256);
	request_free(&r);
	assert_int_equal(command_parse(big, big, &r), 0);
	assert_true(r.in_subject);
	assert_int_equal(strlen(r.body), n);
	request_free(&r);
	free(big);

	/* Caps fall on UTF-8 boundaries. */
	n = 5000;
	big = xmalloc(10 + 2 * n + 1);
	memcpy(big, "aanmelden ", 10);
	for (i = 0; i < n; i++)
		memcpy(big + 10 + 2 * i, "\xc3\xa9", 2);
	big[10 + 2 * n] = '\0';
	assert_int_equal(command_parse(big, "", &r), 0);
	assert_true(strlen(r.args) <= 4096);
	assert_true(utf8_ok(r.args));
	assert_true(utf8_ok(r.argv[0]));
	request_free(&r);
	free(big);

	/* 100k quoted lines before the keyword: scanning stops early. */
	n = 100000;
	big = xmalloc(4 * n + 64);
	for (p = big, i = 0; i < n; i++, p += 4)
		memcpy(p, "> x\n", 4);
	memcpy(p, "aanmelden rekenen\n", 19);
	assert_int_equal(command_parse("", big, &r), 1);
	assert_int_equal(r.verb, VERB_NONE);
	request_free(&r);
	free(big);

	/* 100k detail lines: at most 64 kept. */
	big = xmalloc(12 * n + 1);
	for (p = big, i = 0; i < n; i++) {
		int w = snprintf(p, 13, "k%c%c%c: v%04zu\n",
		    'a' + (int)(i % 26), 'a' + (int)(i / 26 % 26),
		    'a' + (int)(i / 676 % 26), i % 10000);

		p += w;
	}
	*p = '\0';
	assert_int_equal(command_parse("", big, &r), 1);
	assert_true(r.nkv <= 64);
	assert_true(r.nkv > 0);
	request_free(&r);
	free(big);

	/* Binary junk without NULs: no crash, invariants hold. */
	big = xmalloc(4097);
	for (i = 0; i < 2000; i++) {
		size_t len = i % 4096, j;

		for (j = 0; j < len; j++) {
			seed = seed * 1103515245 + 12345;
			big[j] = (char)((seed >> 16) & 0xff);
			if (big[j] == '\0')
				big[j] = (i & 1) ? '\n' : ':';
		}
		big[len] = '\0';
		command_parse(big + len / 2, big, &r);
		assert_true(r.argc <= 64);
		assert_true(r.nkv <= 64);
		assert_non_null(r.args);
		assert_non_null(r.body);
		for (j = 0; j < r.nkv; j++)
			assert_true(strlen(r.kv[j].value) <= 1024);
		request_free(&r);
		free(command_strip_subject(big));
		command_guess_lang(big, LANG_NL);
	}
	free(big);

	/* request_free twice is harmless. */
	assert_int_equal(command_parse("help", "", &r), 0);
	request_free(&r);
	request_free(&r);
	request_free(NULL);
}

/* English words a Dutch teacher writes too: the text decides, else English. */
static void
test_words_of_both(void **state)
{
	static const struct { const char *subject, *body; enum lang want; } c[] = {
		{ "Meeting rekenen", "Hoi,\ndatum: 11-02-2027\ntijd: 15:00-17:00\n",
		  LANG_NL },
		{ "meeting rekenen", "date: 11-02-2027\ntime: 15:00-17:00\n",
		  LANG_EN },
		{ "meeting rekenen", "", LANG_EN },
		{ "post rekenen", "Hallo allemaal, de slides staan online.",
		  LANG_NL },
		{ "post rekenen", "Slides are on the intranet.", LANG_EN },
		{ "start Samen lezen", "Hoe lezen we samen met de kinderen?",
		  LANG_NL },
		{ "start Reading together", "How do we read with the children?",
		  LANG_EN },
		{ "lead rekenen piet@school.test", "", LANG_EN },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct request r;

		assert_int_equal(command_parse(c[i].subject, c[i].body, &r), 0);
		assert_int_equal(r.lang_known, 1);
		if (r.lang != c[i].want)
			fail_msg("%s / %s: lang %d", c[i].subject, c[i].body,
			    r.lang);
		request_free(&r);
	}
}

/* A reply to a confirmation: a yes, or something to keep for people. */
static void
test_doubts(void **state)
{
	static const struct { const char *text; int strict, want; } c[] = {
		{ "", 1, 0 },
		{ "ja", 1, 0 },
		{ "Ja, klopt. Hoe laat begint het?", 1, 0 },
		{ "Leuk! Wanneer is de eerste?", 0, 0 },
		{ "Leuk! Wanneer is de eerste?", 1, 0 },
		{ "Hallo, wanneer is de eerste?", 1, 1 },
		{ "Hoe laat?", 0, 0 },
		{ "Hè? Wat is dit? Dit heb ik niet gestuurd.", 0, 1 },
		{ "??", 0, 1 },
		{ " ?\n", 0, 1 },
		{ "WAT IS DIT", 0, 1 },
		{ "Ik ben afwezig tot maandag.", 0, 1 },
		{ "I am out of the office until Monday.", 0, 1 },
		{ "Huh, who sent this", 0, 1 },
		{ "Who is this? I never asked for this.", 0, 1 },
		{ "What's this? I didn't sign up for anything", 0, 1 },
		{ "Dit heb ik nooit gevraagd.", 0, 1 },
		{ "Yes please! Never too late to learn.", 0, 0 },
		{ "This is not the signature you're looking for.", 1, 0 },
		{ "> Wat is dit?\nja", 1, 0 },
		/* the review: a signature or a disclaimer is not the answer */
		{ "Ja\n\nMet vriendelijke groet,\nAnne\nOp woensdag afwezig", 1, 0 },
		{ "Ja, graag.\n\n(woensdag en vrijdag niet aanwezig)", 1, 0 },
		{ "Akkoord.\n\nGroet,\nPiet\nGescand op virussen en spam.", 1, 0 },
		{ "Ja, prima. Na de herfstvakantie graag.", 1, 0 },
		{ "I cannot meet then, but yes", 0, 0 },
		{ "Beter laat dan nooit: ja!", 1, 0 },
		{ "Hoi,\nJa dat klopt. Hoe laat is het?", 1, 0 },
		{ "Hoi,\nIk ben afwezig tot 3 maart.", 0, 1 },
		{ "Is dit spam?", 0, 1 },
		{ NULL, 1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		if (command_doubts(c[i].text, c[i].strict) != c[i].want)
			fail_msg("%s (strict %d): want %d", c[i].text ?
			    c[i].text : "NULL", c[i].strict, c[i].want);
	}
}

/* A news item's headline, as the page, the feed and the digest show it. */
static void
test_post_headline(void **state)
{
	static const struct {
		const char *subject, *slug, *title, *want;
	} c[] = {
		{ "bericht rekenen: Materiaal", "rekenen", "Rekenen", "Materiaal" },
		{ "Bericht Rekenen in groep 3 - Terugblik", "rekenen",
		  "Rekenen in groep 3", "Terugblik" },
		{ "post ai-in-de-klas \u2013 Slides", "ai-in-de-klas", "AI",
		  "Slides" },
		{ "  bericht rekenen", "rekenen", "Rekenen", "" },
		{ "bericht rekenen:", "rekenen", "Rekenen", "" },
		/* Not the command: the whole Subject. */
		{ "Bericht over de studiedag", "rekenen", "Rekenen",
		  "Bericht over de studiedag" },
		{ "Post-it notes", "rekenen", "Rekenen", "Post-it notes" },
		{ "berichten rekenen: x", "rekenen", "Rekenen",
		  "berichten rekenen: x" },
		{ "bericht rekenenmachine", "rekenen", "Rekenen",
		  "bericht rekenenmachine" },
		/* One line. */
		{ "bericht rekenen: a\r\n\tb", "rekenen", "Rekenen", "a b" },
		{ "", "rekenen", "Rekenen", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char *got = command_post_headline(c[i].subject, c[i].slug,
		    c[i].title);

		if (strcmp(got, c[i].want) != 0)
			fail_msg("'%s': '%s', want '%s'", c[i].subject, got,
			    c[i].want);
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords_subject),
		cmocka_unit_test(test_keywords_body),
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_strip_subject),
		cmocka_unit_test(test_kv),
		cmocka_unit_test(test_lead_detail_first),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_lang),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_doubts),
		cmocka_unit_test(test_words_of_both),
		cmocka_unit_test(test_post_headline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
