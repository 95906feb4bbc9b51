/*
 * command.h - the mail command language of SPEC §4, recognised from a
 * Subject and the new text of a body.  Pure: no I/O, no database.
 */
#ifndef LEERNET_COMMAND_H
#define LEERNET_COMMAND_H

#include <stddef.h>

enum verb {
	VERB_NONE = 0,
	VERB_HELP, VERB_NETWORKS, VERB_JOIN, VERB_CONFIRM, VERB_LEAVE,
	VERB_FOLLOW, VERB_UNFOLLOW, VERB_START, VERB_APPROVE, VERB_REJECT,
	VERB_MEETING, VERB_MOVE, VERB_CANCEL, VERB_ATTENDANCE, VERB_POST,
	VERB_LEAD, VERB_STATUS, VERB_CLOSE, VERB_DIGEST, VERB_DIRECT,
	VERB__COUNT
};

enum lang { LANG_NL = 0, LANG_EN = 1 };

struct kv {
	char	*key;		/* lower-case, e.g. "datum" */
	char	*value;		/* trimmed */
};

struct request {
	enum verb	 verb;
	enum lang	 lang;		/* language of the keyword used */
	int		 lang_known;	/* 0 when the keyword is the same in
					 * both languages ("status") */
	int		 in_subject;	/* keyword found in the Subject */
	char		*keyword;	/* as written, lower-cased */
	char		*args;		/* rest of the command line, trimmed */
	char	       **argv;		/* args split on white space */
	size_t		 argc;
	char		*body;		/* the text after the command line
					 * (when in the body) or the whole new
					 * text (when in the Subject) */
	struct kv	*kv;		/* "key: value" lines of the body */
	size_t		 nkv;
	struct kv	*dup;		/* later lines of a key in kv with
					 * another value ("datum:" twice) */
	size_t		 ndup;
};

/*
 * Strip reply/forward prefixes (Re:, RE:, Antw:, AW:, Fwd:, FW:, Doorst:,
 * WG:, ...) and [tags] from the front of a Subject, repeatedly.  Caller
 * frees.
 */
char		*command_strip_subject(const char *subject);

/* Did the Subject carry a reply or forward prefix (so, after a reply to
 * our mail, its words are ours and not the sender's)? */
int		 command_subject_is_reply(const char *subject);
/* Is the outermost prefix a forward (Fwd:, FW:, Doorst:, WG:, TR:)? */
int		 command_subject_is_forward(const char *subject);

/*
 * Find the command: the first word of the stripped Subject, else the first
 * word of the first non-empty, non-quoted line of text.  Returns 0 and
 * fills *req when a keyword is found; 1 when there is none (req->verb is
 * VERB_NONE but body/kv are still filled, for replies read in context).
 * Free with request_free().
 */
int		 command_parse(const char *subject, const char *text,
		    struct request *req);
/* command_parse for mail to a network's list: the words people send a
 * mailing list from habit ("unsubscribe", "uitschrijven", "subscribe",
 * "inschrijven") are keywords too. */
int		 command_parse_ex(const char *subject, const char *text,
		    struct request *, int list);
void		 request_free(struct request *);
/* The arguments become args, split as command_parse splits them. */
void		 request_set_args(struct request *, const char *args);
/* A request without arguments gets args (mail to a network's list:
 * "afmelden" there means that network). */
void		 request_default_args(struct request *, const char *args);

const char	*verb_name(enum verb);		/* "join", "meeting", ... */
const char	*lang_code(enum lang);		/* "nl" or "en" */

/* The value of body key (any of the given aliases, NULL-terminated), or NULL. */
const char	*request_kv(const struct request *, ...) __attribute__((sentinel));
/* The values of the later lines naming one of the aliases, when they
 * differ from the first ("datum: 25-03-2027" and "datum: 15-04-2027"),
 * joined by ", "; NULL when there are none.  Caller frees. */
char		*request_kv_more(const struct request *, ...)
		    __attribute__((sentinel));

/* Does the first non-empty, non-quoted line of text start with a no
 * ("nee", "niet", "no", ...)?  A reply to a confirmation that says no
 * must not confirm. */
int		 command_is_no(const char *text);
/*
 * Does a reply to a confirmation read as anything but a yes?  "Wat is
 * dit? Dit heb ik niet gestuurd.", "??", an out-of-office without its
 * headers.  strict (a change for other people, or a leave): any question
 * counts too, unless the reply starts with a yes ("Ja, klopt. Hoe laat?").
 */
int		 command_doubts(const char *text, int strict);
/* Is phrase in [p, e), as whole words, any case? */
int		 command_has_phrase(const char *p, const char *e,
		    const char *phrase);
/*
 * Does the line [p, e) start a signature: "-- ", a closing ("Met
 * vriendelijke groet,", "Groet, Piet", "Kind regards") or a client's footer
 * ("Verstuurd vanaf mijn iPhone")?  What follows is not the author's text.
 */
int		 command_signature_line(const char *p, const char *e);

/*
 * The headline of a news item from its mail's Subject: what follows
 * "bericht SLUG" / "post TITLE" and a ':' or dash after it ("bericht
 * rekenen: Materiaal" gives "Materiaal", "bericht rekenen" ""), or the
 * whole Subject when it does not start so; on one line.  Caller frees.
 */
char		*command_post_headline(const char *subject, const char *slug,
		    const char *title);
/*
 * What follows a network's name at the start of s (slug or title, the
 * longer that matches as whole words, blanks before it), without the ':',
 * ',' or dash after it: "rekenen: klaar voor dit jaar" gives "klaar voor
 * dit jaar".  A pointer into s, or NULL when s does not start with the
 * name.
 */
const char	*command_after_name(const char *s, const char *slug,
		    const char *title);
/* Is [w, w+len) a greeting word ("hoi", "beste", "dear")? */
int		 command_greeting_word(const char *w, size_t len);

/* Guess the language of free text (for replies without a keyword). */
enum lang	 command_guess_lang(const char *text, enum lang dflt);

#endif
