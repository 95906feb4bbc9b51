/*
 * rsvp.h - calendar replies (iTIP REPLY) recorded as members' RSVPs, and
 * the attendance reminder to leads after a meeting.  Neither answers the
 * sender: an RSVP is never answered with mail (SPEC §4).
 */
#ifndef LEERNET_RSVP_H
#define LEERNET_RSVP_H

#include <time.h>

struct app;
struct message;

/* Record every REPLY in the message's calendar parts.  0 or -1;
 * *for_people is set when a part is for a person to read (a COUNTER, a
 * calendar that cannot be read): the mail is then kept for them. */
int	rsvp_handle(struct app *, const struct message *, time_t now,
	    int *for_people);

/* Remind the leads of meetings that ended to send `presentie`, once.
 * Runs its own transaction.  0 or -1. */
int	rsvp_remind_attendance(struct app *, time_t now);

#endif
