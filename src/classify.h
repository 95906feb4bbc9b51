/*
 * classify.h - what kind of mail is this, before anyone answers it?
 * Pure: looks only at the decoded message and the configuration.
 */
#ifndef LEERNET_CLASSIFY_H
#define LEERNET_CLASSIFY_H

struct config;
struct message;

enum mail_kind {
	MAIL_OURS,	/* our own mail come back (From or X-Loop is us) */
	MAIL_BOUNCE,	/* a delivery status notification */
	MAIL_AUTO,	/* auto-reply, out-of-office, list traffic, bulk */
	MAIL_UNSURE,	/* looks automatic, proves nothing: for people */
	MAIL_RSVP,	/* a calendar reply (iTIP REPLY/COUNTER) */
	MAIL_PERSON	/* written by a person: a command or a question */
};

const char	*mail_kind_name(enum mail_kind);

/* *why gets a short static reason for the log ("Auto-Submitted: auto-replied"). */
enum mail_kind	 classify(const struct message *, const struct config *,
		    const char **why);

/*
 * A MAIL_BOUNCE without a delivery-status part: is it a failure report in
 * plain words (qmail's "failure notice", Exim's, a hand-written one), 1?
 * Or, 0, an auto-reply sent with the null sender, as Sieve's vacation
 * does, which says so in Auto-Submitted?
 */
int		 classify_plain_failure(const struct message *);

/*
 * Does the topmost Authentication-Results header, written by a server we
 * trust (trusted_id, or any when "*"), say dmarc=pass for domain, or
 * dkim=pass with a signing domain aligned with it?  NULL trusted_id: never.
 */
int		 auth_trusted_pass(const struct message *, const char *trusted_id,
		    const char *domain);
/* Does that header say dmarc=fail for domain: the From is forged? */
int		 auth_trusted_fail(const struct message *, const char *trusted_id,
		    const char *domain);
/*
 * auth_trusted_fail for addr's domain, logged: a refusal to such a From
 * would be backscatter to someone who never wrote.
 */
int		 auth_forged_sender(const struct message *, const char *trusted_id,
		    const char *addr);

#endif
