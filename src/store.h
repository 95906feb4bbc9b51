/*
 * store.h - all state, in SQLite.  Only store.c includes <sqlite3.h> and
 * holds SQL; every statement is prepared once and bound, never built from
 * text.  Functions return 0 on success, -1 on a database error (logged
 * here, once) unless said otherwise; lookups return 1 for "not found".
 *
 * Strings in the structs below are owned by the struct; free with the
 * matching *_free / *_clear function.
 */
#ifndef LEERNET_STORE_H
#define LEERNET_STORE_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;

#define STORE_SCHEMA_VERSION 8

/* Open (creating the file), WAL, foreign keys on.  NULL + err on failure,
 * with errno EIO when the disk is full (try again later), EROFS when
 * someone must act (read-only, a file size limit, rights), else 0. */
struct store	*store_open(const char *path, char *err, size_t errlen);
/* Can this user write the database's directory and files (made by root
 * by hand, say)?  0, or -1 + err naming the owner and what to do. */
int		 store_usable(const char *path, char *err, size_t errlen);
void		 store_close(struct store *);
/*
 * Is the file at the database's path gone, or another one than was
 * opened (an admin's rm and init beside a running daemon)?  What is
 * written goes into the old file then, and is lost with it.
 */
int		 store_replaced(const struct store *);
/* Create or migrate the schema; idempotent.  Returns the version the
 * file had before (0: new), or -1 (errno as store_open's). */
int		 store_migrate(struct store *, char *err, size_t errlen);
/* The schema version of the file (0: not initialised). */
int		 store_version(struct store *);

/*
 * The one-process-handles-mail lock (flock on PATH.lock).  0 taken,
 * 1 held by another process, -2 the file is not ours to open (made by
 * another user; logged with what to do), -1 error.  Released by
 * store_close().
 * The holder's PID is written into the file, and SIGUSR1 is blocked in
 * the calling thread: store_wake_daemon() sends it, and only a wait that
 * lets it in (the daemon's) sees it.
 */
int		 store_lock(struct store *);

/*
 * After a command committed a change: tell the process holding the lock
 * (SIGUSR1), so that a running daemon sends and publishes now instead
 * of at its next wake-up.  Nothing when the lock is free or on any error:
 * no daemon running is normal.
 */
void		 store_wake_daemon(struct store *);
/* The PID of another process holding the lock, or 0 (free, or unknown). */
pid_t		 store_lock_holder(struct store *);

/*
 * From now on a thread of its own copies the write-ahead log into the
 * database, so that commits never wait for it (for the process that
 * handles mail).  Stopped by store_close().  0, or -1 (logged): SQLite
 * then checkpoints at commit, as before.
 */
int		 store_checkpoint_aside(struct store *);

int		 store_begin(struct store *);
int		 store_commit(struct store *);
void		 store_rollback(struct store *);

/*
 * A batch: one transaction around many begin/commit units, which then
 * become savepoints, so a fetched batch of mail costs one commit instead
 * of one per message.  A unit's rollback undoes that unit only.
 * store_batch_commit returns -1 when the batch as a whole did not commit
 * (the COMMIT failed, or an error made SQLite roll everything back): then
 * no unit of it took effect, whatever its own commit said.
 */
int		 store_batch_begin(struct store *);
int		 store_batch_commit(struct store *);

/* ---- people ---- */

struct person {
	int64_t	 id;
	char	*email;
	char	*name;		/* "" when unknown */
	char	*lang;		/* "nl" / "en" */
	char	*school;	/* "" */
	char	*function;	/* "" */
	int	 in_staff;	/* listed in the staff directory */
	int	 bouncing;
	char	*bounce_reason;	/* "" */
	time_t	 created;
	time_t	 last_seen;
};
void	 person_clear(struct person *);

int	 store_person_get(struct store *, const char *email, struct person *);
int	 store_person_by_id(struct store *, int64_t id, struct person *);
/*
 * Create on first contact or update: the display name (NULL or "": keep
 * the one stored; the staff directory's is always kept), the language they
 * last wrote in (lang may be NULL: unchanged), last seen; a person who
 * writes again stops bouncing.  *id is set.  A From header's name is
 * anyone's to write: callers pass it only when the mail proves its sender.
 */
int	 store_person_touch(struct store *, const char *email, const char *name,
	    const char *lang, time_t now, int64_t *id);
/* The same, for a caller that has just read the person (store_person_get;
 * id 0 when there was none), so that the row is not read twice. */
int	 store_person_touch_as(struct store *, const struct person *was,
	    const char *email, const char *name, const char *lang, time_t now,
	    int64_t *id);
/* The name a person's own mail gave (not over the directory's). */
int	 store_person_set_name(struct store *, int64_t id, const char *name);
/* Create when missing, change nothing otherwise (coordinators, new leads). */
int	 store_person_ensure(struct store *, const char *email, const char *lang,
	    time_t now, int64_t *id);
int	 store_person_set_bouncing(struct store *, const char *email,
	    const char *reason, time_t now);
int	 store_person_reset(struct store *, const char *email);	/* 1: unknown */
/* What store_person_forget removed or made anonymous. */
struct forget_counts {
	int	memberships, rsvps, attendance, news, tokens;
	int	outbox;		/* mail to them, queued, failed or sent */
	int	texts;		/* texts of mail sent to others naming them */
	int	waiting;	/* mail to others not sent yet that names
				 * them: left as it is */
	int	processed;	/* mail from them handled: sender and
				 * Subject blanked, the exactly-once key kept */
	int	person;		/* 1: the person row went */
};
/*
 * Everything leernet holds of email (the person pid, 0 for an address
 * with no person row): deleted, or made anonymous where a row stands for
 * more than them.  Call inside a transaction.  0 or -1.
 */
int	 store_person_forget(struct store *, const char *email, int64_t pid,
	    struct forget_counts *);
/* Copy the write-ahead log into the database and empty it, so that what
 * was deleted is gone from both files: 0, 1 another connection is
 * reading (it is copied later), -1. */
int	 store_checkpoint_truncate(struct store *);
/* Staff directory upsert: 0 inserted, 2 updated. */
int	 store_staff_upsert(struct store *, const char *email, const char *name,
	    const char *school, const char *function, time_t now);
/*
 * A whole directory replaces the last one, inside the caller's
 * transaction: store_staff_replace_begin sets everyone in the directory
 * aside, the upserts take back whom the new one names, and
 * store_staff_replace_end drops the rest (*n: how many left).
 */
int	 store_staff_replace_begin(struct store *);
/* Before store_staff_replace_end: those about to leave who are still in
 * open networks, "email (slug, slug)", NULL-terminated; free each and the
 * array.  NULL on error. */
char	**store_staff_leavers(struct store *, size_t *n);
int	 store_staff_replace_end(struct store *, int *n);

/* ---- networks ---- */

enum net_state { NET_PROPOSED, NET_OPEN, NET_CLOSED, NET_REJECTED };
const char *net_state_name(enum net_state);

struct network {
	int64_t		 id;
	char		*slug;
	char		*title;
	char		*question;	/* "" */
	enum net_state	 state;
	int64_t		 proposer_id;	/* 0: none */
	time_t		 created;
	char		*decided_by;	/* "" */
	char		*reason;	/* rejection reason, "" */
};
void	 network_clear(struct network *);

int	 store_network_add(struct store *, const char *slug, const char *title,
	    const char *question, enum net_state, int64_t proposer_id,
	    time_t now, int64_t *id);		/* 1: slug taken */
/* By slug or exact title, case-insensitively.  1: not found. */
int	 store_network_find(struct store *, const char *name, struct network *);
int	 store_network_by_id(struct store *, int64_t id, struct network *);
int	 store_network_set_state(struct store *, int64_t id, enum net_state,
	    const char *decided_by, const char *reason, time_t now);
/* Every network, by slug; *n set; free with networks_free.  NULL on error. */
struct network *store_networks(struct store *, size_t *n);
void	 networks_free(struct network *, size_t n);
/* A proposal of this title by this person still pending?  0 yes, 1 no. */
int	 store_network_pending_proposal(struct store *, const char *title,
	    int64_t proposer_id, struct network *);

/* ---- memberships ---- */

enum role { ROLE_LEAD, ROLE_MEMBER, ROLE_FOLLOWER };
enum mstate { MS_PENDING, MS_ACTIVE, MS_LEFT };
const char *role_name(enum role);
const char *mstate_name(enum mstate);

struct member {
	int64_t		 person_id;
	char		*email;
	char		*name;
	enum role	 role;
	enum mstate	 state;
	int		 bouncing;
	int		 digest;	/* delivery: 1 digest, 0 direct */
	time_t		 since;
};
void	 members_free(struct member *, size_t n);

/* The membership of a person in a network; 1: none. */
int	 store_membership(struct store *, int64_t network_id, int64_t person_id,
	    enum role *, enum mstate *);
/* Insert or update. */
int	 store_membership_set(struct store *, int64_t network_id,
	    int64_t person_id, enum role, enum mstate, time_t now);
int	 store_membership_delivery(struct store *, int64_t network_id,
	    int64_t person_id, int digest);
/* All of a network's memberships (left ones too), leads first. */
struct member *store_members(struct store *, int64_t network_id, size_t *n);
/* Counts for network list. */
int	 store_network_counts(struct store *, int64_t network_id, size_t *leads,
	    size_t *members);
/* Lead names "a@x, b@y" (caller frees) */
char	*store_network_leads(struct store *, int64_t network_id);

/* ---- news ---- */

/* outside: what readers outside the network see, NULL for the body. */
int	 store_news_add(struct store *, int64_t network_id, int64_t person_id,
	    const char *subject, const char *body, const char *outside,
	    time_t now, int64_t *id);

/* ---- meetings ---- */

enum mt_status { MT_PLANNED, MT_CANCELLED };
const char *mt_status_name(enum mt_status);

struct meeting {
	int64_t		 id;
	int64_t		 network_id;
	int		 number;	/* 1, 2, 3 ... per network, never reused */
	char		*uid;		/* iCalendar UID, stable */
	time_t		 start, end;	/* UTC instants */
	char		*location;	/* "" */
	char		*topic;		/* "" */
	enum mt_status	 status;
	int		 sequence;	/* iCalendar SEQUENCE */
	time_t		 created, updated;
	int		 reminded;	/* attendance reminder sent */
};
void	 meeting_clear(struct meeting *);
void	 meetings_free(struct meeting *, size_t n);

/* A new meeting numbered after the network's last; *out filled. */
int	 store_meeting_add(struct store *, int64_t network_id, const char *uid,
	    time_t start, time_t end, const char *location, const char *topic,
	    time_t now, struct meeting *out);
/* 1: no such meeting. */
int	 store_meeting_get(struct store *, int64_t network_id, int number,
	    struct meeting *);
int	 store_meeting_by_id(struct store *, int64_t id, struct meeting *);
int	 store_meeting_by_uid(struct store *, const char *uid, struct meeting *);
/* Write start, end, location, topic, status and sequence of m. */
int	 store_meeting_update(struct store *, const struct meeting *, time_t now);
int	 store_meeting_reminded(struct store *, int64_t id);
/* All meetings of a network by number; future_only: planned, end > now. */
struct meeting *store_meetings(struct store *, int64_t network_id,
	    int future_only, time_t now, size_t *n);
/* Planned meetings of open networks that ended before now and whose leads
 * were not reminded yet. */
struct meeting *store_meetings_to_remind(struct store *, time_t now,
	    size_t *n);

enum partstat { PS_NEEDS_ACTION, PS_ACCEPTED, PS_DECLINED, PS_TENTATIVE };
const char *partstat_name(enum partstat);

int	 store_rsvp_set(struct store *, int64_t meeting_id, int64_t person_id,
	    enum partstat, int sequence, int stale, const char *comment,
	    time_t now);
/* Reset everyone's answer to needs-action (after a move), or only
 * person_id's (not 0: they were invited again). */
int	 store_rsvp_reset(struct store *, int64_t meeting_id,
	    int64_t person_id);
struct rsvp_counts {
	size_t	accepted, declined, tentative, needs_action;
};
/* One member's answer to the meeting as it is now, with their note. */
struct rsvp_answer {
	char		*email;
	char		*name;
	enum partstat	 partstat;
	char		*comment;	/* "" when none */
};
/* The answers given, coming first; NULL on a database error. */
struct rsvp_answer *store_rsvp_answers(struct store *, int64_t meeting_id,
		    size_t *n);
void	 rsvp_answers_free(struct rsvp_answer *, size_t n);
/* needs_action counts active members and leads without an answer. */
int	 store_rsvp_counts(struct store *, const struct meeting *,
	    struct rsvp_counts *);

/* Replace the attendance of a meeting with these people. */
int	 store_attendance_clear(struct store *, int64_t meeting_id);
/* Was anyone's presence recorded?  1 yes, 0 no, -1. */
int	 store_attendance_any(struct store *, int64_t meeting_id);
int	 store_attendance_add(struct store *, int64_t meeting_id,
	    int64_t person_id);

struct hours_row {
	char	*email, *name, *slug;
	int	 meetings;
	long	 seconds;
};
/* Per person and network: meetings attended in [from, to), by email. */
struct hours_row *store_hours(struct store *, time_t from, time_t to,
	    int64_t network_id, size_t *n);
void	 hours_free(struct hours_row *, size_t n);

/* ---- tokens: confirmations and moderation ---- */

struct token {
	char	*token;
	char	*action;	/* "join", "leave", "moderate", ... */
	int64_t	 person_id;
	int64_t	 network_id;	/* 0: none */
	char	*arg;		/* action-specific, "" */
	time_t	 created, expires;
	time_t	 used;		/* 0: unused */
	char	*used_by;	/* "" */
};
void	 token_clear(struct token *);

int	 store_token_add(struct store *, const char *token, const char *action,
	    int64_t person_id, int64_t network_id, const char *arg, time_t now,
	    time_t expires);
int	 store_token_get(struct store *, const char *token, struct token *);
/* The newest unused code for action by person about network: 0 (*token,
 * caller frees), 1 none, -1. */
int	 store_token_open(struct store *, const char *action, int64_t person_id,
	    int64_t network_id, char **token);
int	 store_token_use(struct store *, const char *token, const char *by,
	    time_t now);
/* Every unused token of the person for action in the network is used
 * (by says why): a join called off cannot be confirmed later. */
int	 store_tokens_spend(struct store *, int64_t person_id,
	    int64_t network_id, const char *action, const char *by, time_t now);

/* ---- what we sent: Message-ID → context, for replies read in context ---- */

int	 store_sent_add(struct store *, const char *msgid, const char *kind,
	    const char *token, int64_t network_id, int64_t meeting_id,
	    int64_t person_id, time_t now);
struct sent_ctx {
	char	*kind;		/* "confirm", "moderate", "call", "invite", ... */
	char	*token;		/* "" */
	int64_t	 network_id, meeting_id, person_id;
};
void	 sent_ctx_clear(struct sent_ctx *);
int	 store_sent_get(struct store *, const char *msgid, struct sent_ctx *);

/* ---- processed messages: exactly once ---- */

/* 0: handled before (outcome copied when non-NULL), 1: new. */
int	 store_processed_get(struct store *, const char *key, char *outcome,
	    size_t outlen);
/* subject: kept mail's Subject for the coordinators' digest, or NULL. */
int	 store_processed_add(struct store *, const char *key, const char *msgid,
	    const char *sender, const char *outcome, const char *subject,
	    time_t now);
/* Requests from this sender since `since`. */
int	 store_requests_since(struct store *, const char *sender, time_t since,
	    int *count);
/* Mail from sender handled with this outcome since `since`. */
int	 store_outcome_since(struct store *, const char *sender,
	    const char *outcome, time_t since, int *count);
/* Mail of this outbox kind ("refusal", ...) queued for rcpt since `since`. */
int	 store_outbox_kind_since(struct store *, const char *kind,
	    const char *rcpt, time_t since, int *count);

/* ---- outbox ---- */

enum ob_state { OB_QUEUED, OB_SENT, OB_FAILED };
const char *ob_state_name(enum ob_state);

struct ob_row {
	int64_t		 id;
	char		*kind;
	char		*env_from;
	char		*rcpt;
	char		*msgid;
	char		*data;
	size_t		 len;
	enum ob_state	 state;
	int		 attempts;
	time_t		 created, next_attempt, sent_at;
	char		*last_error;	/* "" */
	int		 inflight;	/* handed over, answer never noted */
};
void	 ob_rows_free(struct ob_row *, size_t n);

int	 store_outbox_add(struct store *, const char *kind, const char *env_from,
	    const char *rcpt, const char *msgid, const char *data, size_t len,
	    time_t now, int64_t *id);
/* Another row with the text of row data_of (queued before it, in the
 * same transaction): the copies of one list post. */
int	 store_outbox_add_shared(struct store *, const char *kind,
	    const char *env_from, const char *rcpt, const char *msgid,
	    int64_t data_of, time_t now, int64_t *id);
/* Queued rows due at `now`, oldest first, at most max (with data). */
struct ob_row *store_outbox_due(struct store *, time_t now, size_t max,
	    size_t *n);
/* All rows not sent, or every row when all != 0 (without data). */
struct ob_row *store_outbox_list(struct store *, int all, size_t *n);
int	 store_outbox_sent(struct store *, int64_t id, time_t now);
/* Was mail of ours with this Message-ID queued for rcpt (exactly as
 * queued)?  List copies do not count: their Message-ID is their author's.
 * 1 yes, 0 no, -1 error. */
int	 store_outbox_was_sent(struct store *, const char *msgid,
	    const char *rcpt);
int	 store_outbox_retry_at(struct store *, int64_t id, time_t next,
	    const char *error);
/* A row handed to the server (delta 1), or not reached after all (-1). */
int	 store_outbox_inflight(struct store *, int64_t id, int delta);
int	 store_outbox_failed(struct store *, int64_t id, const char *error,
	    time_t now);
/* Failed and backed-off rows: queued, due now; *n set to how many. */
/*
 * What is no longer needed goes (storage limitation, AVG art. 5): notes
 * typed with calendar answers to meetings that ended before
 * meetings_before, and the sender and Subject of mail handled before
 * handled_before.  *notes, *senders: rows changed.
 */
int	 store_privacy_prune(struct store *, time_t meetings_before,
	    time_t handled_before, int *notes, int *senders);
int	 store_outbox_release(struct store *, time_t now, int *n);
/* Unsent mail store_outbox_release leaves: invitations to addresses
 * marked bouncing. */
int	 store_outbox_held(struct store *, int *n);
/* A person's failed invitations and cancellations for the meetings
 * meeting_catch_up sends again as they stand (to come, in open networks
 * they are an active member of). */
int	 store_outbox_drop_failed_calendar(struct store *, int64_t person_id,
	    time_t now);
/* Queued rows whose next attempt is after `latest` (later than any backoff
 * sets it: the clock was set back since) become due at now; *n: how many. */
int	 store_outbox_unstick(struct store *, time_t now, time_t latest, int *n);
/* Earliest next_attempt of a queued row; 0 when none. */
time_t	 store_outbox_next(struct store *);
/* Drop the text of messages sent before `before`; their rows stay (for
 * `outbox list --all` and the limit on refusals).  *n: how many. */
int	 store_outbox_prune(struct store *, time_t before, int *n);

/* ---- digest additions ---- */

/* Note error on every queued row due at now, without counting an
 * attempt (the server, not the message, failed). */
int	 store_outbox_note(struct store *, time_t now, const char *error);

/* When the network last changed state (approved, closed), or was created
 * when it never did.  1: no such network. */
int	 store_network_changed(struct store *, int64_t id, time_t *at);

struct news_item {
	int64_t	 id, network_id, person_id;	/* person_id 0: unknown */
	char	*author_email, *author_name;	/* "" when unknown */
	char	*subject, *body;
	char	*outside;	/* what readers outside the network see:
				 * pages, feeds, followers (the body, but a
				 * forward's own words only) */
	time_t	 created;
};
/* News of one network created at or after since, oldest first (by the
 * news_network index: a digest asks once per network). */
struct news_item *store_news_since(struct store *, int64_t network_id,
	    time_t since, size_t *n);
void	 news_free(struct news_item *, size_t n);
/* News whose outside text was never set (stored before schema 8). */
struct news_item *store_news_bare(struct store *, size_t *n);
int	 store_news_set_outside(struct store *, int64_t id,
	    const char *outside);

struct bounce_row {
	int64_t	 person_id;
	char	*email, *name, *reason;
	time_t	 at;
};
/* Everyone marked bouncing, longest first. */
struct bounce_row *store_bouncing(struct store *, size_t *n);
void	 bounces_free(struct bounce_row *, size_t n);

/* Mail kept for people (processed outcome human or ratelimited). */
struct kept_row {
	int64_t	 id;
	char	*msgid, *sender, *outcome, *subject;
	time_t	 handled;
};
struct kept_row *store_kept_since(struct store *, time_t since, size_t *n);
void	 kept_free(struct kept_row *, size_t n);

/*
 * What each person's digests already told them: (kind, item, sub), e.g.
 * ("news", news id, 0), ("meeting", meeting id, sequence).  0: told
 * before, 1: not yet.
 */
int	 store_digest_seen(struct store *, int64_t person_id, const char *kind,
	    int64_t item, int64_t sub);
int	 store_digest_seen_add(struct store *, int64_t person_id,
	    const char *kind, int64_t item, int64_t sub, time_t now);
/* The time of the last digest run, 0 when there was none. */
int	 store_digest_last_run(struct store *, time_t *at);
int	 store_digest_run_add(struct store *, time_t at, size_t recipients,
	    size_t items, int scheduled);

/* ---- publish additions ---- */

/* The newest max news items of a network, newest first (struct news_item
 * of the digest additions; free with news_free).  NULL on error. */
struct news_item *store_news_latest(struct store *, int64_t network_id,
	    size_t max, size_t *n);

/* ---- meeting test additions ---- */

/* Was this person ever sent a calendar (invitation or cancellation) for
 * the meeting?  1 yes, 0 no, -1 error. */
/* Did the server take calendar mail about this meeting for this person,
 * written at or after since (the meeting's last change)?  1, 0, -1. */
int	 store_calendar_delivered_since(struct store *, int64_t meeting_id,
	    int64_t person_id, time_t since);
/* A delivery report returned the message: its row (state 'sent', the
 * server took it) is noted as never arrived.  0, -1. */
int	 store_outbox_returned(struct store *, const char *msgid,
	    const char *rcpt, const char *why);
int	 store_meeting_sent_to(struct store *, int64_t meeting_id,
	    int64_t person_id);
/* The SEQUENCE of the person's recorded answer: 0 found, 1 none, -1. */
int	 store_rsvp_sequence(struct store *, int64_t meeting_id,
	    int64_t person_id, int *sequence);

#endif
