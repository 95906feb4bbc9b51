/*
 * reply.c - from "what to say" to an outbox row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "command.h"
#include "compose.h"
#include "config.h"
#include "log.h"
#include "message.h"
#include "reply.h"
#include "store.h"
#include "template.h"
#include "texthtml.h"
#include "util.h"

/* The References of a reply: the parent's References plus its Message-ID. */
static char *
references_of(const struct message *in)
{
	struct buf b;

	buf_init(&b, 16 * 1024);
	/* Long chains are cut from the front; the newest ids matter. */
	for (size_t i = in->nreferences > 10 ? in->nreferences - 10 : 0;
	    i < in->nreferences; i++)
		if (buf_addf(&b, "%s ", in->references[i]) == -1)
			break;
	buf_adds(&b, in->message_id);
	return buf_steal(&b);
}

int
reply_queue(struct app *app, const struct reply *r, time_t now)
{
	const struct config *cfg = app->cfg;
	struct rendered out = { 0 };
	struct outmail m = { 0 };
	char err[512], *refs = NULL, *data = NULL, *msgid = NULL, *html = NULL;
	size_t len;
	int rc = -1;

	tvars_set(r->vars, "org", cfg->org_name);
	tvars_set(r->vars, "coordinator", cfg->from_addr);
	/* A display name anyone can write: "Log in op https://…" is no
	 * name to greet with. */
	tvars_set(r->vars, "to_name", r->to_name && *r->to_name &&
	    !text_has_link(r->to_name) ? r->to_name : r->to_addr);
	tvars_set(r->vars, "to_addr", r->to_addr);
	if (r->in) {
		/* Templates say "Re: {{subject}}": not "Re: Re: ...".  A
		 * link in it stays with whoever wrote it: a refusal to a
		 * forged From must not carry a spammer's. */
		char *bare = command_strip_subject(r->in->subject);
		char *subj = text_defang(bare, 0);

		free(bare);

		/* A command in the body of mail without a Subject: not a
		 * bare "Re:" in the inbox. */
		tvars_set(r->vars, "subject", *subj ? subj :
		    r->lang && strcmp(r->lang, "en") == 0 ? "your message" :
		    "je bericht");
		free(subj);
	} else
		tvars_set(r->vars, "subject", "");
	if (template_mail(cfg->template_dir, r->tmpl, r->lang, r->vars, &out,
	    err, sizeof(err)) == -1) {
		log_warnx("template %s/%s: %s", r->lang, r->tmpl, err);
		return -1;
	}
	m.from_name = cfg->from_name;
	m.from_addr = cfg->from_addr;
	m.to_name = r->to_name && !text_has_link(r->to_name) ? r->to_name :
	    NULL;
	m.to_addr = r->to_addr;
	m.subject = out.subject;
	m.text = out.text;
	/* Without an .html template the HTML part is made from the text,
	 * so every mail has both (texthtml.h says why). */
	if (out.html == NULL)
		html = text_to_html(out.text, out.subject, r->lang);
	m.html = out.html ? out.html : html;
	if (r->in) {
		m.in_reply_to = r->in->message_id;
		m.references = refs = references_of(r->in);
	}
	m.auto_submitted = r->auto_submitted;
	m.list_id = r->list_id;
	m.list_unsubscribe = r->list_unsubscribe;
	m.ics = r->ics;
	m.ics_method = r->ics_method;
	m.domain = app->domain;
	m.date = now;
	data = compose(&m, &len, &msgid, err, sizeof(err));
	if (data == NULL) {
		log_warnx("cannot compose %s to %s: %s", r->tmpl, r->to_addr, err);
		goto out;
	}
	if (store_outbox_add(app->st, r->kind, cfg->from_addr, r->to_addr, msgid,
	    data, len, now, NULL) == -1 ||
	    store_sent_add(app->st, msgid, r->kind, r->token, r->network_id,
	    r->meeting_id, r->person_id, now) == -1)
		goto out;
	log_info("queued %s to %s (%s)", r->tmpl, r->to_addr, msgid);
	rc = 0;
out:
	free(data);
	free(msgid);
	free(refs);
	free(html);
	rendered_free(&out);
	return rc;
}
