/*
 * app.h - what the pipeline and the actions share while leernet runs:
 * the configuration, the store, and the one request in hand.
 */
#ifndef LEERNET_APP_H
#define LEERNET_APP_H

#include <stdint.h>
#include <time.h>

#include "command.h"
#include "store.h"

struct config;
struct dt_zone;
struct message;
struct tvars;

struct app {
	struct config	*cfg;
	struct store	*st;
	char		*domain;	/* of [smtp] from, for Message-IDs */
	int		 changed;	/* state changed: publish again */
	struct dt_zone	*zone;		/* [organization] timezone */
};

/* One inbound request being handled, inside one transaction. */
struct req {
	struct app		*app;
	const struct message	*msg;
	struct request		*cmd;		/* recognised command, or NULL */
	time_t			 now;
	const char		*sender;	/* lower-case From address */
	const char		*sender_name;
	int64_t			 person_id;
	enum lang		 lang;
	int			 proof;		/* trusted DMARC/DKIM pass */
	const char		*outcome;	/* recorded in processed */
	/* Mail to several lists: one of them was already answered as
	 * unknown, so the others are not (one answer per mail). */
	int			 unknown_answered;
	/* List mail that reached the list by its thread alone (a reply to
	 * the plain coordinator address), not by a list address. */
	int			 by_thread;
	/* A request mailed to this network's list ("afmelden" there):
	 * handled as a command about that network, not passed on. */
	const char		*list_slug;
};

#endif
