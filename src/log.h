/*
 * log.h - one logging family, printf-checked, errno-preserving, to stderr
 * (journald collects it).  While a message is being handled its Message-ID
 * is set with log_set_msgid() and every line carries it.
 */
#ifndef LEERNET_LOG_H
#define LEERNET_LOG_H

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(enum log_level);
void	log_set_level(enum log_level);
void	log_set_msgid(const char *);	/* NULL clears; copied */

void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* fatal/fatalx log and exit(70, EX_SOFTWARE). */
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
