/*
 * daemon.h - `leernet run`: one process, one poll() loop over the mailbox
 * (IDLE) and the timers of the outbox, reconnects and the watchdog.
 */
#ifndef LEERNET_DAEMON_H
#define LEERNET_DAEMON_H

struct app;

/* Returns the exit status. */
int	daemon_run(struct app *);

#endif
