/*
 * fuzz_template.c - libFuzzer target for the Mustache subset an
 * administrator writes mail texts in (src/template.c): any bytes as a
 * template, rendered with a tree of strings, booleans, lists and a nested
 * object, as text and as HTML, strict and not.  No crash, no leak, no
 * undefined behaviour, no hang (the step and size caps hold), and:
 *   - a failure says where: "line N: ...";
 *   - a rendering is the same twice;
 *   - what renders strict renders the same without strict (strict only
 *     adds the unknown-name error);
 *   - HTML mode leaves no raw '<', '>' or '"' from a value in the output
 *     when the template itself has none.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "template.h"
#include "util.h"

static struct tvars *vars;

static void
setup(void)
{
	struct tvars *item, *child;

	vars = tvars_new();
	tvars_set(vars, "name", "Anne-Marie <van 't Hof> & \"co\"");
	tvars_set(vars, "empty", "");
	tvars_set(vars, "org", "Stichting <Leer>");
	tvars_set_bool(vars, "yes", 1);
	tvars_set_bool(vars, "no", 0);
	for (int i = 0; i < 3; i++) {
		item = tvars_add_item(vars, "list");
		tvars_setf(item, "n", "<%d>", i);
		tvars_set(item, ".", "\"dot\"");
		child = tvars_add_item(item, "inner");
		tvars_set(child, "x", "a>b");
	}
	child = tvars_child(vars, "obj");
	tvars_set(child, "key", "<k>");
	tvars_set_bool(child, "flag", 1);
}

/* 0 or -1 as template_render_opts; the output in *out (caller frees). */
static int
render(const char *src, size_t len, enum tmpl_escape esc, int strict,
    char **out, size_t *outlen)
{
	struct buf b;
	char err[256] = "";
	int rc;

	buf_init(&b, 0);
	rc = template_render_opts(src, len, vars, esc, strict, &b, err,
	    sizeof(err));
	must(rc == 0 || rc == -1);
	if (rc == -1) {
		int line = 0;

		must(sscanf(err, "line %d: ", &line) == 1 && line >= 1);
		must(strlen(err) > strlen("line 1: "));
		buf_free(&b);
		*out = NULL;
		*outlen = 0;
		return -1;
	}
	*outlen = b.len;
	*out = xmalloc(b.len + 1);
	memcpy(*out, b.data ? b.data : "", b.len);
	(*out)[b.len] = '\0';
	buf_free(&b);
	return 0;
}

static void
same(int rc1, const char *o1, size_t l1, int rc2, const char *o2, size_t l2)
{
	must(rc1 == rc2);
	if (rc1 == 0)
		must(l1 == l2 && memcmp(o1, o2, l1) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src = (const char *)data;
	char *a, *b, *loose;
	size_t la, lb, ll;
	int ra, rb, rl;

	if (vars == NULL)
		setup();
	for (int esc = TMPL_TEXT; esc <= TMPL_HTML; esc++) {
		ra = render(src, size, esc, 1, &a, &la);
		rb = render(src, size, esc, 1, &b, &lb);
		same(ra, a, la, rb, b, lb);
		rl = render(src, size, esc, 0, &loose, &ll);
		if (ra == 0)
			same(ra, a, la, rl, loose, ll);
		if (ra == 0 && esc == TMPL_HTML &&
		    memchr(src, '<', size) == NULL &&
		    memchr(src, '>', size) == NULL &&
		    memchr(src, '"', size) == NULL) {
			/* {{{x}}} and {{&x}} are raw by design. */
			if (memmem(src, size, "{{{", 3) == NULL &&
			    memmem(src, size, "{{&", 3) == NULL)
				must(memchr(a, '<', la) == NULL &&
				    memchr(a, '>', la) == NULL &&
				    memchr(a, '"', la) == NULL);
		}
		free(a);
		free(b);
		free(loose);
	}
	return 0;
}
