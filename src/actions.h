/*
 * actions.h - apply a request from a person: check who may, change state,
 * and queue what must be said.  Actions never send; they take req->now as
 * the time, and run inside the transaction of handle.c.
 *
 * Every function returns 0 when the request was dealt with (req->outcome
 * set, an answer queued where one is due) and -1 on a database or template
 * error, after which the transaction is rolled back and the message stays
 * in the inbox to be tried again.
 */
#ifndef LEERNET_ACTIONS_H
#define LEERNET_ACTIONS_H

#include <stdint.h>

#include "app.h"

struct network;
struct tvars;

/* The entry point: a mail from a person, with or without a keyword. */
int	action_handle(struct req *);
/*
 * Does the request only take the sender out (leave, unfollow, or a reply
 * confirming a leave)?  With staff_only, someone no longer in the staff
 * directory may still do that: 1, 0, or -1.
 */
int	action_withdraws(struct req *);

/* ---- helpers shared by membership.c and network.c ---- */

/* Answer the sender in their language with template tmpl. */
int	act_reply(struct req *, const char *tmpl, struct tvars *);
/* The same, remembering a token and network for replies to the answer. */
int	act_reply_ctx(struct req *, const char *tmpl, struct tvars *,
	    const char *kind, const char *token, int64_t network_id);
/* The answer about a meeting ("Gepland:", "Verplaatst:"): a lead's reply
 * to it with datum:/tijd:/locatie: lines moves it, as one to the
 * invitation does. */
int	act_reply_meeting(struct req *, const char *tmpl, struct tvars *,
	    int64_t network_id, int64_t meeting_id);
/* The answer that records who came: a lead's reply to it with a corrected
 * list records that list (the answer asks for it). */
int	act_reply_attendance(struct req *, const char *tmpl, struct tvars *,
	    int64_t network_id, int64_t meeting_id);
/* A fresh tvars with the request's common names (sender, keyword, ...). */
struct tvars *act_vars(struct req *);
/* A network by short name or title, as written, without quotes, or among
 * filler words ("voor het netwerk …"): 0 found, 1 not, -1. */
int	act_find_network(struct store *, const char *name,
	    struct network *);
void	act_set_network(struct tvars *, const struct network *);

/*
 * The network named by argv[0] (slug or exact title; the whole argument
 * string is tried as a title too).  0 found; 1 not found or not named, an
 * answer was queued (with "did you mean" candidates); -1 error.
 */
int	act_network_arg(struct req *, struct network *, int must_be_open);
/* must_be_open for what a closed network still takes: the attendance of
 * meetings held before it closed (they count for the hours). */
#define ACT_OPEN_OR_CLOSED	2
/* "The network is not open": proposed, closed or rejected. */
int	act_reply_not_open(struct req *, const struct network *);
/* Is the sender lead of (or coordinator for) the network? */
int	act_is_lead(struct req *, const struct network *);
/* Is the sender an active member or lead? */
int	act_is_member(struct req *, const struct network *);
/* "not-member", naming a join that waits for its confirmation; withdraw
 * (afmelden): that join is called off. */
int	act_reply_not_member(struct req *, const struct network *,
	    struct tvars *, int withdraw);

/*
 * Proof of sender (SPEC §4): when req->proof is set, return 1 (go ahead).
 * Otherwise create a single-use token bound to the sender and `action`,
 * send a "reply to confirm" mail describing what will happen, and return 0.
 * -1 on error.
 */
int	act_need_proof(struct req *, const char *action, int64_t network_id,
	    const char *arg, struct tvars *);

/* The same with another template for the confirmation mail. */
int	act_need_proof_with(struct req *, const char *tmpl, const char *action,
	    int64_t network_id, const char *arg, struct tvars *);

/* Carry out a confirmed action (token action names: join, leave, lead,
 * close, ...). */
int	act_run_confirmed(struct req *, const char *action, int64_t network_id,
	    const char *arg);

/* membership.c */
int	membership_join(struct req *, const struct network *);
int	membership_leave(struct req *, const struct network *);
int	act_join(struct req *);
int	act_leave(struct req *);
int	act_follow(struct req *, int follow);
int	act_delivery(struct req *, int digest);
/* Confirm with the code of the mail replied to (ctx_token) or one in the
 * text; no: the reply said no, so the code is spent and nothing done. */
/* Do the command's words name a network (slug or title)?  Silent. */
int	act_names_network(struct req *);
/* "afmelden" in reply to an invitation: point to the calendar's decline. */
int	act_leave_from_invite(struct req *, int64_t network_id);
/* replied: a reply to the confirmation mail without a keyword, whose
 * words say whether it is a yes. */
int	act_confirm(struct req *, const char *ctx_token, int replied);
/* One of our tokens among the words of the command line, the Subject or
 * (quoted_too) the whole text, quotes and all: 0 found (*t filled, free
 * with token_clear), 1 none, -1 error. */
int	act_find_token(struct req *, struct token *, int quoted_too);
int	act_call_join(struct req *, int64_t network_id);

/* network.c */
int	act_help(struct req *);
int	act_networks(struct req *);
int	act_start(struct req *);
int	act_decide(struct req *, const char *ctx_token);
int	act_post(struct req *);
int	act_lead(struct req *);
int	act_status(struct req *);
int	act_close(struct req *);
int	network_add_lead(struct req *, const struct network *, const char *email);
/* reason: the lead's words after the name ("sluit rekenen: klaar voor dit
 * jaar"), "" for none; kept with the network for its final digest. */
int	network_close(struct req *, const struct network *, const char *reason);
/* `network add --tell`: each lead is told they lead n (as when a proposal
 * is approved: lead-added), and the call goes to [organization] announce
 * naming lead_names.  0 or -1. */
int	network_welcome(struct req *, const struct network *,
	    const int64_t *leads, size_t nleads, const char *lead_names);

/* meeting.c */
int	act_meeting(struct req *);
int	act_move(struct req *);
int	act_meeting_reply(struct req *, int64_t network_id, int64_t meeting_id,
	    int cancel);
/* A reply about a meeting without a keyword: a lead's prose move. */
int	act_meeting_prose(struct req *, int64_t network_id,
	    int64_t meeting_id, int invite);
int	act_cancel(struct req *);
int	act_attendance(struct req *);
/* A reply to the answer act_reply_attendance sent. */
int	act_attendance_reply(struct req *, int64_t network_id,
	    int64_t meeting_id);
int	meeting_confirmed(struct req *, const struct network *,
	    const char *action, const char *arg);
/* Invitations for every future meeting to a new member; cancellations to
 * one who leaves; everything cancelled when a network closes. */
int	meeting_invite_person(struct req *, const struct network *,
	    int64_t person_id);
/* Every future meeting of the person's networks, sent again as it stands
 * (after they stop bouncing: they missed whatever was sent meanwhile). */
int	meeting_catch_up(struct req *, int64_t person_id);
int	meeting_uninvite_person(struct req *, const struct network *,
	    int64_t person_id);
int	meeting_cancel_all(struct req *, const struct network *);
/*
 * The meetings of n held (planned and over by now) with nobody recorded
 * as present: a closing network's hours still need them.  An array for
 * meetings_free (*count 0: none), or NULL on error.
 */
struct meeting *meeting_unrecorded(struct app *, const struct network *,
	    time_t now, size_t *count);

#endif
