/*
 * maildir.c - the Maildir backend of the source layer: plain readdir and
 * rename(2), which is all a Maildir is.  See maildir.h for the layout and
 * how mail for people is remembered.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "imap.h"
#include "log.h"
#include "maildir.h"
#include "source.h"
#include "util.h"

#define HUMAN_FILE	".leernet-human"
#define HUMAN_FILE_MAX	(16u * 1024 * 1024)
#define MSG_MAX		(256u * 1024 * 1024)	/* larger is not mail */
#define BATCH_BYTES	(64u * 1024 * 1024)	/* bodies held at once */

struct maildir_source {
	char		*root;		/* holds cur/ new/ tmp/ */
	char		*name;		/* "maildir:/path" */
	char		*done_dir;
	char		*failed_dir;
	char		*human_path;
	char	       **human;		/* unique names, sorted */
	size_t		 nhuman;
	int		 ino;		/* inotify on new/ and cur/, or -1 */
	int		 pending;	/* fetch again before waiting */
	int		 poll_ms;	/* poll_interval without inotify */
	int64_t		 last_check;	/* ms, monotonic */
	uint32_t	 seq;		/* source_msg.uid */
	int		 warned_names;
};

/* One message file in new/ or cur/. */
struct entry {
	char		*file;		/* "new/NAME" or "cur/NAME:2,FLAGS" */
	const char	*base;		/* NAME... inside file */
	size_t		 keylen;	/* the unique part: NAME up to ':' */
	struct timespec	 mtime;
	off_t		 size;
};

static const char *const subdirs[] = { "new", "cur" };

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
entry_cmp_key(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->base, y->base, n);

	if (c != 0)
		return c;
	return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

/* Oldest first; the name breaks ties so the order is stable. */
static int
entry_cmp_age(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->base, y->base);
}

static void
entries_free(struct entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].file);
	free(e);
}

/* The entry whose unique name is key, in e sorted by entry_cmp_key. */
static struct entry *
entry_find(struct entry *e, size_t n, const char *key)
{
	struct entry k = { NULL, key, strlen(key), { 0, 0 }, 0 };

	return n ? bsearch(&k, e, n, sizeof(*e), entry_cmp_key) : NULL;
}

/* Is the message marked trashed (T) in its Maildir info ":2,FLAGS"? */
static int
is_trashed(const char *base)
{
	const char *info = strchr(base, ':');

	return info != NULL && strncmp(info, ":2,", 3) == 0 &&
	    strchr(info + 3, 'T') != NULL;
}

/*
 * Every message file of the inbox, sorted by unique name, one per name.
 * Dot files, non-regular files, trashed mail and names that are no
 * Maildir names (control characters, nothing before ':') are not mail.
 */
static int
scan(struct maildir_source *md, struct entry **ep, size_t *np)
{
	struct entry *e = NULL;
	size_t n = 0, cap = 0, bad = 0, k = 0;

	for (size_t d = 0; d < ARRAY_LEN(subdirs); d++) {
		char *path = xasprintf("%s/%s", md->root, subdirs[d]);
		struct dirent *de;
		DIR *dir;

		if ((dir = opendir(path)) == NULL) {
			log_warn("%s: %s", md->name, path);
			free(path);
			entries_free(e, n);
			return -1;
		}
		free(path);
		while ((de = readdir(dir)) != NULL) {
			const char *s = de->d_name;
			struct stat st;
			int ctl = 0;

			if (s[0] == '.')
				continue;
			for (const char *c = s; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					ctl = 1;
			if (ctl || s[0] == ':') {
				bad++;
				continue;
			}
			if (fstatat(dirfd(dir), s, &st, AT_SYMLINK_NOFOLLOW) ==
			    -1 || !S_ISREG(st.st_mode) || is_trashed(s))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				e = xreallocarray(e, cap, sizeof(*e));
			}
			e[n].file = xasprintf("%s/%s", subdirs[d], s);
			e[n].base = e[n].file + strlen(subdirs[d]) + 1;
			e[n].keylen = strcspn(e[n].base, ":");
			e[n].mtime = st.st_mtim;
			e[n].size = st.st_size;
			n++;
		}
		closedir(dir);
	}
	if (bad > 0 && !md->warned_names) {
		log_warnx("%s: ignoring %zu file(s) whose names are no Maildir "
		    "names (control characters, or nothing before ':')",
		    md->name, bad);
		md->warned_names = 1;
	}
	if (n > 0) {
		qsort(e, n, sizeof(*e), entry_cmp_key);
		/* One name in both new/ and cur/: keep one, handle it once. */
		for (size_t i = 1; i < n; i++) {
			if (entry_cmp_key(&e[i], &e[k]) == 0)
				free(e[i].file);
			else
				e[++k] = e[i];
		}
		n = k + 1;
	}
	*ep = e;
	*np = n;
	return 0;
}

static int
is_human(const struct maildir_source *md, const char *key, size_t keylen)
{
	char *k = xstrndup(key, keylen);
	int found = md->nhuman > 0 &&
	    bsearch(&k, md->human, md->nhuman, sizeof(*md->human), cmp_str)
	    != NULL;

	free(k);
	return found;
}

/* Sort names and drop duplicates; the new count. */
static size_t
human_sort(char **v, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i], v[k]) == 0)
			free(v[i]);
		else
			v[++k] = v[i];
	}
	return k + 1;
}

/* Read the skip list; a missing file is an empty list. */
static int
human_load(struct maildir_source *md, char *err, size_t errlen)
{
	struct buf b;
	char chunk[8192], *line, *next;
	ssize_t r;
	int fd;

	if ((fd = open(md->human_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s: %s", md->name, md->human_path,
		    strerror(errno));
		return -1;
	}
	buf_init(&b, HUMAN_FILE_MAX);
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 || buf_add(&b, chunk, (size_t)r) == -1) {
			snprintf(err, errlen, "%s: %s: %s", md->name,
			    md->human_path, r == -1 ? strerror(errno) :
			    "too large");
			close(fd);
			buf_free(&b);
			return -1;
		}
	}
	close(fd);
	for (line = b.data; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '\0')
			continue;
		md->human = xreallocarray(md->human, md->nhuman + 1,
		    sizeof(*md->human));
		md->human[md->nhuman++] = xstrdup(line);
	}
	buf_free(&b);
	md->nhuman = human_sort(md->human, md->nhuman);
	return 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Forget names no longer in the inbox (the coordinators moved or deleted
 * that mail), so the list does not grow for ever.  Written to a temporary
 * file and renamed: a crash leaves the old list or the new one.
 */
static void
human_prune(struct maildir_source *md)
{
	struct entry *e;
	struct buf b;
	size_t n, k = 0;
	char *tmp;
	int fd;

	if (md->nhuman == 0 || scan(md, &e, &n) == -1)
		return;
	for (size_t i = 0; i < md->nhuman; i++) {
		if (entry_find(e, n, md->human[i]) != NULL)
			md->human[k++] = md->human[i];
		else
			free(md->human[i]);
	}
	entries_free(e, n);
	if (k == md->nhuman)
		return;
	log_debug("%s: %zu name(s) dropped from %s", md->name,
	    md->nhuman - k, HUMAN_FILE);
	md->nhuman = k;
	buf_init(&b, 0);
	for (size_t i = 0; i < md->nhuman; i++)
		if (buf_adds(&b, md->human[i]) == -1 || buf_addc(&b, '\n') == -1)
			fatalx("%s: skip list too large", md->name);
	tmp = xasprintf("%s.tmp", md->human_path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1 || write_all(fd, buf_str(&b), b.len) ==
	    -1 || fsync(fd) == -1 || rename(tmp, md->human_path) == -1) {
		log_warn("%s: cannot rewrite %s", md->name, md->human_path);
		unlink(tmp);
	}
	if (fd != -1)
		close(fd);
	free(tmp);
	buf_free(&b);
}

/* Remember keys for good (appended, synced) and for this session. */
static int
human_add(struct maildir_source *md, char *const *keys, size_t n)
{
	struct buf b;
	int fd, ret = 0;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++)
		if (!is_human(md, keys[i], strlen(keys[i])) &&
		    (buf_adds(&b, keys[i]) == -1 || buf_addc(&b, '\n') == -1))
			fatalx("%s: skip list too large", md->name);
	if (b.len > 0) {
		if ((fd = open(md->human_path, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1 ||
		    write_all(fd, buf_str(&b), b.len) == -1 || fsync(fd) == -1) {
			log_warn("%s: %s", md->name, md->human_path);
			ret = -1;
		}
		if (fd != -1)
			close(fd);
	}
	buf_free(&b);
	if (ret == -1)
		return -1;
	md->human = xreallocarray(md->human, md->nhuman + n,
	    sizeof(*md->human));
	for (size_t i = 0; i < n; i++)
		md->human[md->nhuman + i] = xstrdup(keys[i]);
	md->nhuman = human_sort(md->human, md->nhuman + n);
	return 0;
}

char *
maildir_folder_path(const char *root, const char *folder)
{
	const char *p, *level;
	char *enc, *path;

	if (folder == NULL || *folder == '\0' || *folder == '/')
		return NULL;
	/*
	 * No level may start with '.': that covers "." and "..", which
	 * would leave the maildir, and Maildir++'s own separator.
	 */
	for (level = p = folder;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == level || *level == '.')
				return NULL;
			if (*p == '\0')
				break;
			level = p + 1;
		}
	}
	/* On disk as Dovecot and Courier name them: modified UTF-7. */
	if ((enc = imap_mailbox_encode(folder, '.')) == NULL)
		return NULL;
	path = xasprintf("%s/.%s", root, enc);
	free(enc);
	return path;
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A Maildir++ folder with cur/ new/ tmp/ and the maildirfolder mark. */
static int
make_folder(const char *dir, char *err, size_t errlen)
{
	static const char *const parts[] = { "", "/cur", "/new", "/tmp" };
	char *p;
	int fd;

	for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
		p = xasprintf("%s%s", dir, parts[i]);
		if (mkdir(p, 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", p,
			    strerror(errno));
			free(p);
			return -1;
		}
		if (!is_dir(p)) {
			snprintf(err, errlen, "%s is not a directory", p);
			free(p);
			return -1;
		}
		free(p);
	}
	/* Dovecot and Courier mark subfolders with this empty file. */
	p = xasprintf("%s/maildirfolder", dir);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) != -1)
		close(fd);
	free(p);
	return 0;
}

void *
maildir_open(const struct config *conf, int *temporary, char *err,
    size_t errlen)
{
	struct maildir_source *md;
	const char *path = conf->mailbox.path;
	char why[512];

	*temporary = 0;
	md = xcalloc(1, sizeof(*md));
	md->ino = -1;
	md->root = xstrdup(path ? path : "");
	/* Trailing slashes would break the Maildir++ folder names. */
	for (size_t l = strlen(md->root); l > 1 && md->root[l - 1] == '/'; l--)
		md->root[l - 1] = '\0';
	md->name = xasprintf("maildir:%s", md->root);
	md->human_path = xasprintf("%s/%s", md->root, HUMAN_FILE);
	md->poll_ms = (conf->poll_interval > 0 ? conf->poll_interval : 60) *
	    1000;

	for (size_t i = 0; i < 3; i++) {
		static const char *const need[] = { "cur", "new", "tmp" };
		char *p = xasprintf("%s/%s", md->root, need[i]);
		int ok = is_dir(p);

		free(p);
		if (!ok) {
			snprintf(err, errlen, "%s: not a Maildir (no %s/ in "
			    "%s)", md->name, need[i], md->root);
			goto fail;
		}
	}
	md->done_dir = maildir_folder_path(md->root, conf->done_folder);
	md->failed_dir = maildir_folder_path(md->root, conf->failed_folder);
	if (md->done_dir == NULL || md->failed_dir == NULL) {
		snprintf(err, errlen, "%s: [mailbox] %s: not a usable folder "
		    "name: '%s'", md->name, md->done_dir ? "failed_folder" :
		    "done_folder", md->done_dir ? conf->failed_folder :
		    conf->done_folder);
		goto fail;
	}
	if (make_folder(md->done_dir, why, sizeof(why)) == -1 ||
	    make_folder(md->failed_dir, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", md->name, why);
		goto fail;
	}
	if (human_load(md, err, errlen) == -1)
		goto fail;
	human_prune(md);

	if ((md->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) != -1) {
		for (size_t d = 0; d < ARRAY_LEN(subdirs); d++) {
			char *p = xasprintf("%s/%s", md->root, subdirs[d]);
			int w = inotify_add_watch(md->ino, p, IN_MOVED_TO |
			    IN_CLOSE_WRITE | IN_ONLYDIR);

			free(p);
			if (w == -1) {
				close(md->ino);
				md->ino = -1;
				break;
			}
		}
	}
	if (md->ino == -1)
		log_info("%s: no inotify: polling every %d s", md->name,
		    md->poll_ms / 1000);
	md->pending = 1;
	md->last_check = mono_ms();
	return md;

 fail:
	maildir_close(md);
	return NULL;
}

void
maildir_close(void *h)
{
	struct maildir_source *md = h;

	if (md == NULL)
		return;
	if (md->ino != -1)
		close(md->ino);
	for (size_t i = 0; i < md->nhuman; i++)
		free(md->human[i]);
	free(md->human);
	free(md->root);
	free(md->name);
	free(md->done_dir);
	free(md->failed_dir);
	free(md->human_path);
	free(md);
}

const char *
maildir_name(const void *h)
{
	const struct maildir_source *md = h;

	return md->name;
}

/* Discard queued events; 1 if the watched directories went away. */
static int
ino_drain(struct maildir_source *md)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t r;
	int gone = 0;

	if (md->ino == -1)
		return 0;
	while ((r = read(md->ino, ev, sizeof(ev))) > 0) {
		for (char *p = ev; p < ev + r;) {
			const struct inotify_event *ie = (const void *)p;

			if (ie->mask & IN_IGNORED)
				gone = 1;
			p += sizeof(*ie) + ie->len;
		}
	}
	return gone;
}

/* The whole file at root/file; -1 with errno on failure. */
static int
read_msg(const struct maildir_source *md, const char *file, char **datap,
    size_t *lenp)
{
	char *path = xasprintf("%s/%s", md->root, file);
	struct stat st;
	size_t len = 0;
	char *data;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > MSG_MAX) {
		close(fd);
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return -1;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, data + len, (size_t)st.st_size - len);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			saved = errno;
			free(data);
			close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	data[len] = '\0';
	*datap = data;
	*lenp = len;
	return 0;
}

/* A unique name, as (pointer, length): bsearch-able without copies. */
struct span {
	const char	*p;
	size_t		 len;
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/*
 * Leave out of e the messages of busy: fetched before and still being
 * handled.  Returns the new count.
 */
static size_t
drop_busy(struct entry *e, size_t n, const struct source_batch *busy)
{
	struct span *held;
	size_t k = 0;

	if (busy == NULL || busy->n == 0)
		return n;
	held = xreallocarray(NULL, busy->n, sizeof(*held));
	for (size_t i = 0; i < busy->n; i++) {
		held[i].p = busy->msgs[i].key;
		held[i].len = strlen(busy->msgs[i].key);
	}
	qsort(held, busy->n, sizeof(*held), span_cmp);
	for (size_t i = 0; i < n; i++) {
		struct span key = { e[i].base, e[i].keylen };

		if (bsearch(&key, held, busy->n, sizeof(*held),
		    span_cmp) != NULL)
			free(e[i].file);
		else
			e[k++] = e[i];
	}
	free(held);
	return k;
}

int
maildir_fetch(void *h, size_t max, const struct source_batch *busy,
    struct source_batch *b)
{
	struct maildir_source *md = h;
	struct entry *e;
	size_t n, k = 0;
	uint64_t total = 0;

	b->msgs = NULL;
	b->n = 0;
	/* Events from here on are news the scan below may not see. */
	if (ino_drain(md)) {
		log_warnx("%s: the maildir went away", md->name);
		return -1;
	}
	md->pending = 0;
	md->last_check = mono_ms();
	if (scan(md, &e, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (is_human(md, e[i].base, e[i].keylen))
			free(e[i].file);
		else
			e[k++] = e[i];
	}
	n = drop_busy(e, k, busy);
	if (n > 0)
		qsort(e, n, sizeof(*e), entry_cmp_age);
	if (n > max) {
		md->pending = 1;
		for (size_t i = max; i < n; i++)
			free(e[i].file);
		n = max;
	}
	/* A backlog of large mail is not all read into memory at once. */
	for (size_t i = 0; i < n; i++) {
		total += (uint64_t)e[i].size;
		if (i > 0 && total > BATCH_BYTES) {
			md->pending = 1;
			for (size_t j = i; j < n; j++)
				free(e[j].file);
			n = i;
		}
	}
	b->msgs = xcalloc(n ? n : 1, sizeof(*b->msgs));
	for (size_t i = 0; i < n; i++) {
		struct source_msg *m = &b->msgs[b->n];

		if (read_msg(md, e[i].file, &m->data, &m->len) == -1) {
			/* Moved or deleted since the scan: not ours now. */
			if (errno != ENOENT)
				log_warn("%s: %s", md->name, e[i].file);
			continue;
		}
		m->key = xstrndup(e[i].base, e[i].keylen);
		m->uid = ++md->seq;
		b->n++;
	}
	entries_free(e, n);
	if (b->n == 0) {
		free(b->msgs);
		b->msgs = NULL;
	}
	log_debug("%s: %zu pending message(s)%s", md->name, b->n,
	    md->pending ? ", more after these" : "");
	return 0;
}

/*
 * rename(2) that never replaces a file: a name taken in the destination
 * (the same mail handled twice) gets a fresh unique name.
 */
static int
move_file(const char *from, const char *to_dir, const char *sub,
    const char *base, size_t keylen)
{
	char *to = xasprintf("%s/%s/%s", to_dir, sub, base);
	int r;

	for (int attempt = 0; attempt < 5; attempt++) {
		r = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
		if (r == -1 && errno == EINVAL) {
			/* No RENAME_NOREPLACE on this file system. */
			if ((r = link(from, to)) == 0)
				unlink(from);
		}
		if (r == 0 || errno != EEXIST)
			break;
		free(to);
		{
			char *tok = random_token(8);

			to = xasprintf("%s/%s/%.*s.%s%s", to_dir, sub,
			    (int)keylen, base, tok, base + keylen);
			free(tok);
		}
	}
	free(to);
	return r;
}

static int
move_msgs(struct maildir_source *md, const struct source_msg *msgs,
    size_t n, const char *dest)
{
	struct entry *e;
	size_t ne, moved = 0;
	int ret = 0;

	if (scan(md, &e, &ne) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct entry *f = msgs[i].key ? entry_find(e, ne, msgs[i].key) :
		    NULL;
		char *from;

		if (f == NULL) {
			/* Someone took it out of the inbox: nothing to do. */
			log_warnx("%s: %s is no longer in the inbox", md->name,
			    msgs[i].key ? msgs[i].key : "(null)");
			continue;
		}
		from = xasprintf("%s/%s", md->root, f->file);
		if (move_file(from, dest, f->file[0] == 'n' ? "new" : "cur",
		    f->base, f->keylen) == -1) {
			log_warn("%s: cannot move %s to %s", md->name, f->file,
			    dest);
			ret = -1;
		} else
			moved++;
		free(from);
	}
	entries_free(e, ne);
	log_debug("%s: %zu message(s) moved to %s", md->name, moved, dest);
	return ret;
}

int
maildir_expire_done(void *h, time_t before, size_t *removed)
{
	struct maildir_source *md = h;
	int ret = 0;

	*removed = 0;
	for (size_t i = 0; i < ARRAY_LEN(subdirs); i++) {
		char *dir = xasprintf("%s/%s", md->done_dir, subdirs[i]);
		struct dirent *de;
		DIR *d;

		if ((d = opendir(dir)) == NULL) {
			log_warn("%s", dir);
			free(dir);
			ret = -1;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			struct stat st;

			if (de->d_name[0] == '.' ||
			    fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1 ||
			    !S_ISREG(st.st_mode) || st.st_mtime >= before)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				(*removed)++;
			else if (errno != ENOENT) {
				log_warn("%s/%s", dir, de->d_name);
				ret = -1;
			}
		}
		closedir(d);
		free(dir);
	}
	return ret;
}

int
maildir_done(void *h, const struct source_msg *msgs, size_t n)
{
	struct maildir_source *md = h;

	return move_msgs(md, msgs, n, md->done_dir);
}

int
maildir_failed(void *h, const struct source_msg *msgs, size_t n)
{
	struct maildir_source *md = h;

	return move_msgs(md, msgs, n, md->failed_dir);
}

/* "cur/NAME:2,FLAGS" without S, for a file now at f. */
static char *
unseen_name(const struct entry *f)
{
	const char *info = f->base + f->keylen;
	struct buf b;

	buf_init(&b, 0);
	buf_adds(&b, "cur/");
	buf_add(&b, f->base, f->keylen);
	if (*info == '\0')
		buf_adds(&b, ":2,");
	else if (strncmp(info, ":2,", 3) == 0) {
		buf_adds(&b, ":2,");
		for (const char *c = info + 3; *c; c++)
			if (*c != 'S')
				buf_addc(&b, *c);
	} else
		buf_adds(&b, info);	/* an info we do not know: keep it */
	return buf_steal(&b);
}

int
maildir_human(void *h, const struct source_msg *msgs, size_t n)
{
	struct maildir_source *md = h;
	struct entry *e;
	char **keys;
	size_t ne, nk = 0;
	int ret = 0;

	keys = xcalloc(n, sizeof(*keys));
	for (size_t i = 0; i < n; i++)
		if (msgs[i].key != NULL && *msgs[i].key != '\0' &&
		    strchr(msgs[i].key, '\n') == NULL)
			keys[nk++] = msgs[i].key;
	/* First the list: after a crash the mail must stay skipped. */
	if (human_add(md, keys, nk) == -1) {
		free(keys);
		return -1;
	}
	free(keys);
	if (scan(md, &e, &ne) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct entry *f = msgs[i].key ? entry_find(e, ne, msgs[i].key) :
		    NULL;
		char *from, *to, *rel;

		if (f == NULL)
			continue;
		rel = unseen_name(f);
		if (strcmp(rel, f->file) == 0) {
			free(rel);
			continue;
		}
		from = xasprintf("%s/%s", md->root, f->file);
		to = xasprintf("%s/%s", md->root, rel);
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) ==
		    -1 && (errno != EINVAL || rename(from, to) == -1)) {
			log_warn("%s: cannot mark %s unread", md->name,
			    f->file);
			ret = -1;
		}
		free(from);
		free(to);
		free(rel);
	}
	entries_free(e, ne);
	return ret;
}

enum source_wait
maildir_wait(void *h, int timeout_ms)
{
	struct maildir_source *md = h;
	struct pollfd pfd;
	int64_t due, now;
	int r;

	if (md->pending) {
		md->pending = 0;
		return SOURCE_WAIT_NEW;
	}
	if (md->ino != -1) {
		pfd.fd = md->ino;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* Not restarted on EINTR: signals are for the caller. */
		if ((r = source_poll(&pfd, 1, timeout_ms < 0 ? -1 :
		    timeout_ms)) <= 0)
			return SOURCE_WAIT_TIMEOUT;
		if (ino_drain(md)) {
			log_warnx("%s: the maildir went away", md->name);
			return SOURCE_WAIT_ERROR;
		}
		return SOURCE_WAIT_NEW;
	}
	due = md->last_check + md->poll_ms;
	now = mono_ms();
	if (timeout_ms < 0 || due - now < timeout_ms)
		timeout_ms = due > now ? (int)(due - now) : 0;
	if (source_poll(NULL, 0, timeout_ms) == -1)
		return SOURCE_WAIT_TIMEOUT;
	return mono_ms() >= due ? SOURCE_WAIT_NEW : SOURCE_WAIT_TIMEOUT;
}
