/*
 * texthtml.h - the text/html alternative of a mail, made from its text
 * part.  Every mail leernet sends has a text part rendered from
 * templates/LANG/NAME.txt; keeping a second, hand-written HTML template
 * per text in two languages in step would be a chore nobody does well, so
 * the HTML is derived from the text by a few conventions the templates
 * already follow (an .html template, when one exists, still wins):
 *
 *   blank lines           separate blocks; a block of plain lines is a <p>
 *                         whose lines are kept (<br>)
 *   "- item" / "* item"   a list item at the start of a line; lines
 *                         indented under it continue the item
 *   indented lines        a run of lines starting with a blank or a tab is
 *                         a <pre> (aligned columns stay aligned), or a list
 *                         when every line of the run is "- item"
 *   "> quoted"            a <blockquote>
 *   Title + "====="       a heading (<h2>; "-----" gives <h3>)
 *   "--" alone            the signature: a rule, the rest in small print
 *   http(s)://..., mailto: and bare addresses become links; a web
 *                         address between double quotes does not (that is
 *                         how the templates echo what a sender wrote)
 *
 * Everything from the text is escaped; nothing in it can add markup.
 * Pure: no I/O.
 */
#ifndef LEERNET_TEXTHTML_H
#define LEERNET_TEXTHTML_H

/*
 * A complete HTML document for text (UTF-8, LF or CRLF), titled `title`
 * (may be NULL), <html lang="lang"> (NULL: "nl").  Caller frees.
 */
char	*text_to_html(const char *text, const char *title, const char *lang);
/*
 * The length of the web or mailto: address at s (n bytes), trailing
 * punctuation left to the sentence; 0 when there is none.  The pages link
 * what the mails link.
 */
size_t	 texthtml_url_len(const char *s, size_t n);

#endif
