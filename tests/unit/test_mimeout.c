/*
 * test_mimeout.c - header encoding checked against libetpan's decoder
 * (what a receiving client does), injection attempts, folding, address
 * validation, quoted-printable and base64 vectors and round trips,
 * Message-ID, Date and boundaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libetpan/libetpan.h>

#include "mimeout.h"
#include "util.h"

/* Every line ends in CRLF, none is longer than max, no bare CR or LF. */
static void
assert_lines(const char *s, size_t len, size_t max)
{
	size_t ll = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < len && s[i + 1] == '\n');
			if (ll > max)
				print_error("line of %zu > %zu in:\n%s\n", ll,
				    max, s);
			assert_true(ll <= max);
			ll = 0;
			i++;
			continue;
		}
		assert_true(s[i] != '\n');
		ll++;
	}
	assert_int_equal(ll, 0);	/* ends in CRLF */
}

/* One header: its first line starts with "Name: ", every other line with
 * a blank (a continuation), so no value can start a header of its own. */
static void
assert_one_header(const char *h, const char *name)
{
	size_t nl = strlen(name);

	assert_true(strncmp(h, name, nl) == 0 && h[nl] == ':');
	for (const char *p = strstr(h, "\r\n"); p && p[2]; p = strstr(p + 2,
	    "\r\n"))
		assert_true(p[2] == ' ' || p[2] == '\t');
}

/* The value of a header, unfolded (CRLF before a blank removed). */
static char *
unfold_value(const char *h)
{
	const char *p = strchr(h, ':') + 1;
	struct buf b;

	buf_init(&b, 0);
	if (*p == ' ')
		p++;
	for (; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			p++;
			continue;
		}
		buf_addc(&b, *p);
	}
	return buf_steal(&b);
}

static char *
decode_2047(const char *v)
{
	size_t idx = 0;
	char *out = NULL;

	assert_int_equal(mailmime_encoded_phrase_parse("us-ascii", v,
	    strlen(v), &idx, "utf-8", &out), MAILIMF_NO_ERROR);
	return out;
}

/* Subject and names from schools, and the worst we can think of. */
static const char *texts[] = {
	"Jérôme",
	"Çelik",
	"Ünal, Ayşe",
	"Piet Jansen",
	"Uitnodiging: Rekenen – bijeenkomst 3 op dinsdag 14 mei",
	"Ƒǿő ßàŕ 日本語 ✓ 😀 mixed with ASCII words",
	"=?utf-8?q?not_an_encoded_word?=",
	"_under_score_ and ?question? = equals",
	"x",
	"Een heel lang onderwerp over de bijeenkomst van het netwerk "
	    "Rekenen in de bovenbouw op de Ichthusschool te Zwolle, met "
	    "koffie, thee en een broodje, en daarna een rondleiding",
	"Eén heel lang onderwerp over de bijeenkomst van het netwerk "
	    "Rekenen in de bovenbouw op de Ichthusschool te Zwolle, met "
	    "koffie, thee en een broodje, en daarna een rondleiding — "
	    "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"
	    "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀",
	"https://intranet.jl.nu/netwerken/rekenen-bovenbouw/bijeenkomsten/2027-05-14-ichthusschool-zwolle",
};

static void
test_header_roundtrip(void **state)
{
	static const char *names[] = { "Subject", "X-A-Very-Long-Header-Name",
	    "X-An-Absurdly-Long-Header-Name-That-Leaves-Little-Room-At-All" };

	(void)state;
	for (size_t n = 0; n < ARRAY_LEN(names); n++)
		for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
			struct buf b;
			char *v, *d;

			buf_init(&b, 0);
			assert_int_equal(mime_header(&b, names[n], texts[i]),
			    0);
			assert_lines(b.data, b.len, 78);
			assert_one_header(b.data, names[n]);
			for (size_t k = 0; k < b.len; k++)
				assert_true((unsigned char)b.data[k] < 0x80);
			v = unfold_value(b.data);
			d = decode_2047(v);
			if (strcmp(d, texts[i]) != 0)
				print_error("%s\n-> %s\n-> %s\n", b.data, v, d);
			assert_string_equal(d, texts[i]);
			/* Encoded-words are at most 75 characters. */
			for (char *w = strstr(b.data, "=?"); w;
			    w = strstr(w + 2, "=?")) {
				char *e = strstr(w + 2, "?=");

				if (strncmp(w, "=?UTF-8?", 8) != 0)
					continue;
				e = strstr(w + 10, "?=");
				assert_non_null(e);
				assert_true(e + 2 - w <= 75);
			}
			free(v);
			free(d);
			buf_free(&b);
		}
}

static void
test_header_plain(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	/* Plain ASCII stays readable. */
	assert_int_equal(mime_header(&b, "Subject", "Re: aanmelden rekenen"),
	    0);
	assert_string_equal(buf_str(&b), "Subject: Re: aanmelden rekenen\r\n");
	buf_reset(&b);
	/* Q for mostly ASCII, cut between characters. */
	assert_int_equal(mime_header(&b, "Subject", "Jérôme"), 0);
	assert_string_equal(buf_str(&b),
	    "Subject: =?UTF-8?Q?J=C3=A9r=C3=B4me?=\r\n");
	buf_reset(&b);
	/* B when shorter. */
	assert_int_equal(mime_header(&b, "Subject", "日本語"), 0);
	assert_string_equal(buf_str(&b), "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n");
	buf_reset(&b);
	/* Long ASCII is folded at its blanks, and unfolds to itself. */
	assert_int_equal(mime_header(&b, "Subject", texts[9]), 0);
	assert_lines(b.data, b.len, 78);
	assert_null(strstr(b.data, "=?"));
	assert_non_null(strstr(b.data, "\r\n "));
	{
		char *v = unfold_value(b.data);

		assert_string_equal(v, texts[9]);
		free(v);
	}
	buf_reset(&b);
	/* Empty and NULL values. */
	assert_int_equal(mime_header(&b, "Subject", ""), 0);
	assert_int_equal(mime_header(&b, "Subject", NULL), 0);
	assert_string_equal(buf_str(&b), "Subject: \r\nSubject: \r\n");
	buf_free(&b);
}

static void
test_header_injection(void **state)
{
	static const char *evil[] = {
		"Bob\r\nBcc: x@y",
		"Bob\nBcc: x@y",
		"Bob\rBcc: x@y",
		"Bob\r\n\r\nbody",
		"Bob\r\n Bcc: x@y",
		"Bob\x0b\x0c\x01\x7f\x1b[31m",
		"Bob\xc2\x85" "Bcc: x@y",		/* NEL */
		"Bob\xff\xfe\xc3",			/* not UTF-8 */
		"Bob\xed\xa0\x80",			/* a surrogate */
		"\r\n\r\n",
	};
	static const char *want[] = {
		"Bob Bcc: x@y", "Bob Bcc: x@y", "Bob Bcc: x@y", "Bob body",
		"Bob Bcc: x@y", "Bob[31m", "BobBcc: x@y", "Bob???", "Bob???",
		"",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(evil); i++) {
		struct buf b;
		struct mailimf_mailbox_list *ml = NULL;
		struct mailimf_mailbox *mb;
		size_t idx = 0;
		char *v, *d;

		buf_init(&b, 0);
		assert_int_equal(mime_header(&b, "Subject", evil[i]), 0);
		assert_lines(b.data, b.len, 78);
		assert_one_header(b.data, "Subject");
		v = unfold_value(b.data);
		d = decode_2047(v);
		assert_string_equal(d, want[i]);
		free(v);
		free(d);

		/* The same as a display name: still one mailbox. */
		buf_reset(&b);
		assert_int_equal(mime_header_addr(&b, "To", evil[i],
		    "bob@school.nl"), 0);
		assert_lines(b.data, b.len, 78);
		assert_one_header(b.data, "To");
		assert_int_equal(mailimf_mailbox_list_parse(b.data + 4,
		    b.len - 4, &idx, &ml), MAILIMF_NO_ERROR);
		assert_int_equal(clist_count(ml->mb_list), 1);
		mb = clist_content(clist_begin(ml->mb_list));
		assert_string_equal(mb->mb_addr_spec, "bob@school.nl");
		if (want[i][0] != '\0') {
			d = decode_2047(mb->mb_display_name);
			assert_string_equal(d, want[i]);
			free(d);
		} else
			assert_null(mb->mb_display_name);
		mailimf_mailbox_list_free(ml);
		buf_free(&b);
	}
}

static void
test_header_addr(void **state)
{
	static const struct {
		const char *display, *addr, *want;
	} t[] = {
		{ NULL, "piet@school.nl", "To: piet@school.nl\r\n" },
		{ "", "piet@school.nl", "To: piet@school.nl\r\n" },
		{ "  ", "piet@school.nl", "To: piet@school.nl\r\n" },
		{ "Piet Jansen", "piet@school.nl",
		    "To: Piet Jansen <piet@school.nl>\r\n" },
		{ "Jansen, Piet", "piet@school.nl",
		    "To: \"Jansen, Piet\" <piet@school.nl>\r\n" },
		{ "J. de Vries", "j@school.nl",
		    "To: \"J. de Vries\" <j@school.nl>\r\n" },
		{ "Say \"hi\" \\o/", "j@school.nl",
		    "To: \"Say \\\"hi\\\" \\\\o/\" <j@school.nl>\r\n" },
		{ "Piet <piet@evil.nl>", "piet@school.nl",
		    "To: \"Piet <piet@evil.nl>\" <piet@school.nl>\r\n" },
		{ "Jérôme", "j@school.nl",
		    "To: =?UTF-8?Q?J=C3=A9r=C3=B4me?= <j@school.nl>\r\n" },
		{ "Ünal, Ayşe", "a@school.nl",
		    "To: =?UTF-8?Q?=C3=9Cnal=2C_Ay=C5=9Fe?= <a@school.nl>\r\n" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct buf b;

		buf_init(&b, 0);
		assert_int_equal(mime_header_addr(&b, "To", t[i].display,
		    t[i].addr), 0);
		assert_string_equal(buf_str(&b), t[i].want);
		buf_free(&b);
	}
}

/* Names parse back, through libetpan, to the name and the address. */
static void
test_header_addr_roundtrip(void **state)
{
	static const char *addrs[] = { "piet@school.nl",
	    "a.very.long.local.part.of.sixty.four.characters.at.most.xx"
	    "xxxxx@a-rather-long-subdomain.of-a-school-foundation.example" };

	(void)state;
	for (size_t a = 0; a < ARRAY_LEN(addrs); a++)
		for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
			struct mailimf_mailbox_list *ml = NULL;
			struct mailimf_mailbox *mb;
			struct buf b;
			size_t idx = 0;
			char *d;

			buf_init(&b, 0);
			assert_int_equal(mime_header_addr(&b, "From", texts[i],
			    addrs[a]), 0);
			assert_lines(b.data, b.len, strlen(addrs[a]) > 70 ?
			    998 : 78);
			assert_one_header(b.data, "From");
			assert_int_equal(mailimf_mailbox_list_parse(b.data + 6,
			    b.len - 6, &idx, &ml), MAILIMF_NO_ERROR);
			assert_int_equal(clist_count(ml->mb_list), 1);
			mb = clist_content(clist_begin(ml->mb_list));
			assert_string_equal(mb->mb_addr_spec, addrs[a]);
			assert_non_null(mb->mb_display_name);
			d = decode_2047(mb->mb_display_name);
			if (strcmp(d, texts[i]) != 0)
				print_error("%s -> %s\n", b.data, d);
			assert_string_equal(d, texts[i]);
			free(d);
			mailimf_mailbox_list_free(ml);
			buf_free(&b);
		}
}

static void
test_addr_valid(void **state)
{
	static const struct {
		const char *addr;
		int ok;
	} t[] = {
		{ "piet@school.nl", 1 },
		{ "Piet.Jansen@School.NL", 1 },
		{ "lido+rekenen@jl.nu", 1 },
		{ "o'brien@school.ie", 1 },
		{ "a_b-c=d/e!f#g$h%i&j*k?l^m`n{o|p}q~r@x.y", 1 },
		{ "root@localhost", 1 },
		{ "x@a-b.c-d.nl", 1 },
		{ "", 0 },
		{ "piet", 0 },
		{ "@school.nl", 0 },
		{ "piet@", 0 },
		{ "piet@@school.nl", 0 },
		{ "pi@et@school.nl", 0 },
		{ "piet jansen@school.nl", 0 },
		{ "piet@school .nl", 0 },
		{ "\"piet\"@school.nl", 0 },
		{ "piet@[127.0.0.1]", 0 },
		{ "<piet@school.nl>", 0 },
		{ "piet@school.nl>", 0 },
		{ "piet,jan@school.nl", 0 },
		{ "piet;jan@school.nl", 0 },
		{ "piet(x)@school.nl", 0 },
		{ "piet@school.nl\r\nBcc: x@y.nl", 0 },
		{ "piet\n@school.nl", 0 },
		{ "piet@school.nl\t", 0 },
		{ ".piet@school.nl", 0 },
		{ "piet.@school.nl", 0 },
		{ "pi..et@school.nl", 0 },
		{ "piet@.school.nl", 0 },
		{ "piet@school.nl.", 0 },
		{ "piet@school..nl", 0 },
		{ "piet@-school.nl", 0 },
		{ "piet@school-.nl", 0 },
		{ "piet@sch_ool.nl", 0 },
		{ "jérôme@school.nl", 0 },
		{ "piet@schööl.nl", 0 },
		{ "piet@school.nl\x7f", 0 },
	};
	char buf[300];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		if (mime_addr_valid(t[i].addr) != t[i].ok)
			print_error("'%s' should be %s\n", t[i].addr,
			    t[i].ok ? "valid" : "invalid");
		assert_int_equal(mime_addr_valid(t[i].addr), t[i].ok);
	}
	assert_false(mime_addr_valid(NULL));

	/* Lengths: local part 64, label 63, whole 254. */
	memset(buf, 'a', 64);
	snprintf(buf + 64, sizeof(buf) - 64, "@x.nl");
	assert_true(mime_addr_valid(buf));
	memset(buf, 'a', 65);
	snprintf(buf + 65, sizeof(buf) - 65, "@x.nl");
	assert_false(mime_addr_valid(buf));
	snprintf(buf, sizeof(buf), "a@");
	memset(buf + 2, 'b', 63);
	snprintf(buf + 65, sizeof(buf) - 65, ".nl");
	assert_true(mime_addr_valid(buf));
	snprintf(buf, sizeof(buf), "a@");
	memset(buf + 2, 'b', 64);
	snprintf(buf + 66, sizeof(buf) - 66, ".nl");
	assert_false(mime_addr_valid(buf));
	/* 254 in total: a@ + 4 labels of 62 + dots = 2 + 251 + "b" ... */
	snprintf(buf, sizeof(buf), "a@");
	for (int i = 0; i < 4; i++) {
		memset(buf + 2 + i * 63, 'c', 62);
		buf[2 + i * 63 + 62] = '.';
	}
	snprintf(buf + 2 + 4 * 63, sizeof(buf) - 2 - 4 * 63, "nl");
	assert_int_equal(strlen(buf), 256);
	assert_false(mime_addr_valid(buf));
	buf[2 + 3 * 63 + 60] = '\0';		/* 252 */
	assert_true(mime_addr_valid(buf));

	/* An invalid address is not written, and the buffer is unchanged. */
	{
		struct buf b;

		buf_init(&b, 0);
		buf_adds(&b, "X: y\r\n");
		assert_int_equal(mime_header_addr(&b, "To", "Bob",
		    "bob@x.nl\r\nBcc: eve@x.nl"), -1);
		assert_int_equal(mime_header_addr(&b, "To", "Bob", NULL), -1);
		assert_string_equal(buf_str(&b), "X: y\r\n");
		buf_free(&b);
	}
}

static void
test_header_raw(void **state)
{
	struct buf b;
	const char *refs = "<aaaaaaaaaaaaaaaaaaaa@school.nl> "
	    "<bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb@mail.gmail.com> "
	    "<cccccccccccc@outlook.com> <dddd@x>";
	char *v;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(mime_header_raw(&b, "References", refs), 0);
	assert_lines(b.data, b.len, 78);
	assert_one_header(b.data, "References");
	v = unfold_value(b.data);
	assert_string_equal(v, refs);
	free(v);
	buf_reset(&b);
	assert_int_equal(mime_header_raw(&b, "List-Id", "<a.b>\r\nBcc: x@y"),
	    0);
	assert_string_equal(buf_str(&b), "List-Id: <a.b> Bcc: x@y\r\n");
	buf_reset(&b);
	assert_int_equal(mime_header_raw(&b, "List-Id", "Rékenen <a.b>"), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_buffer_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 40);
	buf_adds(&b, "A: b\r\n");
	assert_int_equal(mime_header(&b, "Subject", texts[10]), -1);
	assert_int_equal(mime_header_addr(&b, "To", texts[10],
	    "a@b.nl"), -1);
	assert_int_equal(mime_qp(&b, texts[10], strlen(texts[10])), -1);
	assert_int_equal(mime_base64(&b, texts[10], strlen(texts[10])), -1);
	assert_string_equal(buf_str(&b), "A: b\r\n");
	buf_free(&b);
}

static char *
qp(const char *in, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(mime_qp(&b, in, n), 0);
	return buf_steal(&b);
}

static void
test_qp_vectors(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "", "" },
		{ "hello", "hello" },
		{ "a=b", "a=3Db" },
		{ "tab\tin the middle", "tab\tin the middle" },
		{ "trailing space \nnext", "trailing space=20\r\nnext" },
		{ "trailing tab\t\r\nnext", "trailing tab=09\r\nnext" },
		{ "end space ", "end space=20" },
		{ "Jérôme", "J=C3=A9r=C3=B4me" },
		{ "From here\nFrom there", "=46rom here\r\n=46rom there" },
		{ "not From here", "not From here" },
		{ "lone\rcr", "lone=0Dcr" },
		{ "crlf\r\nlf\n\n", "crlf\r\nlf\r\n\r\n" },
		{ ".\n..\n", ".\r\n..\r\n" },
		{ "nul\0byte", "nul=00byte" },
		{ "~{}|", "~{}|" },
	};
	char *o;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		size_t n = strlen(t[i].in);

		/* the one vector with a NUL in it */
		if (strcmp(t[i].in, "nul") == 0)
			n = 8;
		o = qp(t[i].in, n);
		assert_string_equal(o, t[i].out);
		free(o);
	}

	/* RFC 2045 6.7 (5): at most 76 characters, soft breaks with "=". */
	{
		char a[200];

		memset(a, 'a', sizeof(a));
		o = qp(a, 76);			/* fits exactly: no break */
		assert_int_equal(strlen(o), 76);
		free(o);
		o = qp(a, 77);
		assert_int_equal(strncmp(o + 75, "=\r\naa", 5), 0);
		assert_int_equal(strlen(o), 75 + 3 + 2);
		free(o);
		/* An escape is never cut by a soft break. */
		memset(a, 'a', sizeof(a));
		a[74] = '=';
		o = qp(a, 100);
		assert_int_equal(strncmp(o + 74, "=\r\n=3D", 6), 0);
		free(o);
		/* Blanks at a soft break stay literal: "=" follows them. */
		memset(a, ' ', sizeof(a));
		o = qp(a, 100);
		assert_int_equal(strncmp(o + 75, "=\r\n", 3), 0);
		assert_string_equal(o + strlen(o) - 3, "=20");
		free(o);
	}
}

/* Encode, check line lengths, decode with libetpan, compare. */
static void
qp_roundtrip(const unsigned char *in, size_t n)
{
	struct buf want;
	char *o, *dec = NULL;
	size_t dlen = 0, idx = 0, olen;

	o = qp((const char *)in, n);
	olen = strlen(o);
	for (size_t i = 0; i < olen; i++)
		assert_true((unsigned char)o[i] < 0x80);
	if (olen > 0) {
		struct buf t;

		buf_init(&t, 0);
		buf_add(&t, o, olen);
		buf_add(&t, "\r\n", 2);
		assert_lines(t.data, t.len, 76);
		buf_free(&t);
	}
	/* What we expect back: line breaks become CRLF. */
	buf_init(&want, 0);
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			continue;
		if (in[i] == '\n')
			buf_add(&want, "\r\n", 2);
		else
			buf_addc(&want, (char)in[i]);
	}
	assert_int_equal(mailmime_part_parse(o, olen, &idx,
	    MAILMIME_MECHANISM_QUOTED_PRINTABLE, &dec, &dlen),
	    MAILIMF_NO_ERROR);
	assert_int_equal(dlen, want.len);
	assert_memory_equal(dec, want.data ? want.data : "", dlen);
	mmap_string_unref(dec);
	buf_free(&want);
	free(o);
}

/*
 * Right at the buffer's cap mime_qp cannot reserve its worst case and
 * encodes aside: the same bytes when they fit exactly, nothing added when
 * one byte is missing.
 */
static void
qp_at_cap(const unsigned char *in, size_t n, const char *want)
{
	size_t wlen = strlen(want);
	struct buf b;

	buf_init(&b, 2 + wlen);
	buf_adds(&b, "> ");
	assert_int_equal(mime_qp(&b, (const char *)in, n), 0);
	assert_int_equal(b.len, 2 + wlen);
	assert_memory_equal(b.data + 2, want, wlen);
	buf_free(&b);
	if (wlen == 0)
		return;
	buf_init(&b, 1 + wlen);
	buf_adds(&b, "> ");
	assert_int_equal(mime_qp(&b, (const char *)in, n), -1);
	assert_string_equal(buf_str(&b), "> ");
	buf_free(&b);
}

static void
test_qp_roundtrip(void **state)
{
	unsigned char r[4000];
	char *o;

	(void)state;
	qp_roundtrip((const unsigned char *)texts[10], strlen(texts[10]));
	srandom(2047);
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(random() % (long)sizeof(r));

		for (size_t i = 0; i < n; i++) {
			long k = random() % 10;

			/* Mostly text, with blanks, breaks and binary. */
			r[i] = k < 5 ? (unsigned char)('a' + random() % 26) :
			    k == 5 ? ' ' : k == 6 ? '\n' : k == 7 ? '\r' :
			    k == 8 ? '=' : (unsigned char)random();
		}
		qp_roundtrip(r, n);
		o = qp((const char *)r, n);
		qp_at_cap(r, n, o);
		free(o);
	}
}

static void
test_base64(void **state)
{
	/* RFC 4648 10. */
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "", "" },
		{ "f", "Zg==\r\n" },
		{ "fo", "Zm8=\r\n" },
		{ "foo", "Zm9v\r\n" },
		{ "foob", "Zm9vYg==\r\n" },
		{ "fooba", "Zm9vYmE=\r\n" },
		{ "foobar", "Zm9vYmFy\r\n" },
	};
	unsigned char r[3000];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct buf b;

		buf_init(&b, 0);
		assert_int_equal(mime_base64(&b, t[i].in, strlen(t[i].in)), 0);
		assert_string_equal(buf_str(&b), t[i].out);
		buf_free(&b);
	}
	srandom(4648);
	for (size_t n = 0; n < sizeof(r); n += 1 + n / 3) {
		struct buf b;
		char *dec = NULL;
		size_t dlen = 0, idx = 0;

		for (size_t i = 0; i < n; i++)
			r[i] = (unsigned char)random();
		buf_init(&b, 0);
		assert_int_equal(mime_base64(&b, r, n), 0);
		if (n > 0)
			assert_lines(b.data, b.len, 76);
		/* 57 bytes a line, so every full line is exactly 76. */
		if (n >= 57)
			assert_int_equal(strstr(b.data, "\r\n") - b.data, 76);
		assert_int_equal(mailmime_part_parse(buf_str(&b), b.len, &idx,
		    MAILMIME_MECHANISM_BASE64, &dec, &dlen), MAILIMF_NO_ERROR);
		assert_int_equal(dlen, n);
		assert_memory_equal(dec, r, n);
		mmap_string_unref(dec);
		buf_free(&b);
	}
}

static void
test_message_id(void **state)
{
	char *ids[500];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		ids[i] = mime_message_id("jl.nu");
		assert_true(ids[i][0] == '<');
		assert_string_equal(ids[i] + strlen(ids[i]) - 7, "@jl.nu>");
		assert_true(strlen(ids[i]) > 20);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	for (size_t i = 0; i < ARRAY_LEN(ids); i++)
		free(ids[i]);
	/* A domain we would not put in a header is replaced. */
	{
		const char *bad[] = { NULL, "", "jl.nu>\r\nBcc: x@y", "a b",
		    "-x.nl" };

		for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
			char *id = mime_message_id(bad[i]);

			assert_non_null(strstr(id, "@leernet.invalid>"));
			free(id);
		}
	}
}

static void
check_date(const char *tz, time_t t, const char *want)
{
	char d[64];
	struct mailimf_date_time *dt = NULL;
	size_t idx = 0;

	setenv("TZ", tz, 1);
	tzset();
	mime_date(d, sizeof(d), t);
	assert_string_equal(d, want);
	assert_int_equal(mailimf_date_time_parse(d, strlen(d), &idx, &dt),
	    MAILIMF_NO_ERROR);
	mailimf_date_time_free(dt);
}

static void
test_date(void **state)
{
	char small[10] = "xxxxxxxxx";

	(void)state;
	/* 2027-05-14 13:00:00 UTC: summer time in Amsterdam. */
	check_date("Europe/Amsterdam", 1810299600,
	    "Fri, 14 May 2027 15:00:00 +0200");
	check_date("Europe/Amsterdam", 1799240400,
	    "Wed, 6 Jan 2027 14:00:00 +0100");
	check_date("UTC", 1810299600, "Fri, 14 May 2027 13:00:00 +0000");
	check_date("America/St_Johns", 1810299600,
	    "Fri, 14 May 2027 10:30:00 -0230");
	/* Too small a buffer: an empty string, not half a date. */
	mime_date(small, sizeof(small), 0);
	assert_string_equal(small, "");
	unsetenv("TZ");
	tzset();
}

static void
test_boundary(void **state)
{
	char *b[200];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(b); i++) {
		b[i] = mime_boundary();
		/* RFC 2046 5.1.1: 1-70 bchars. */
		assert_true(strlen(b[i]) >= 20 && strlen(b[i]) <= 70);
		for (const char *p = b[i]; *p; p++)
			assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=?",
			    *p));
		assert_non_null(strstr(b[i], "=_"));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(b[i], b[j]);
	}
	for (size_t i = 0; i < ARRAY_LEN(b); i++)
		free(b[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_header_plain),
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_header_addr),
		cmocka_unit_test(test_header_addr_roundtrip),
		cmocka_unit_test(test_addr_valid),
		cmocka_unit_test(test_header_raw),
		cmocka_unit_test(test_buffer_cap),
		cmocka_unit_test(test_qp_vectors),
		cmocka_unit_test(test_qp_roundtrip),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_message_id),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_boundary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
