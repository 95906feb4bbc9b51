/*
 * test_store.c - the store: migrations (idempotent, refuse the future),
 * constraints, each family of statements, and the mail lock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

struct fx {
	char		 dir[64];
	char		*path;
	struct store	*st;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/leernet-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->path = xasprintf("%s/t.db", f->dir);
	f->st = store_open(f->path, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(store_migrate(f->st, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = xasprintf("rm -rf %s", f->dir);

	store_close(f->st);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->path);
	free(f);
	return 0;
}

static void
test_migrate_idempotent(void **state)
{
	struct fx *f = *state;
	char err[256];

	assert_int_equal(store_version(f->st), STORE_SCHEMA_VERSION);
	/* Running init again changes nothing and reports the version. */
	assert_int_equal(store_migrate(f->st, err, sizeof(err)),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(store_version(f->st), STORE_SCHEMA_VERSION);
}

static void
test_migrate_future(void **state)
{
	struct fx *f = *state;
	sqlite3 *db;
	char err[256];

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_migrate(f->st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer than this leernet"));
}

/* Version 3 moved the message text out of the outbox row: mail queued
 * by a version 2 leernet is still there, text and all, after init. */
static void
test_migrate_outbox_data(void **state)
{
	struct fx *f = *state;
	struct ob_row *rows;
	sqlite3 *db;
	char err[256];
	size_t n;

	/* Back to the version 2 shape, with a queued row in it. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE outbox_data;"
	    "ALTER TABLE processed DROP COLUMN subject;"
	    "DROP INDEX outbox_shared; ALTER TABLE outbox DROP COLUMN data_id;"
	    "ALTER TABLE outbox DROP COLUMN inflight;"
	    "ALTER TABLE news DROP COLUMN outside;"
	    "ALTER TABLE outbox ADD COLUMN data BLOB NOT NULL DEFAULT x'';"
	    "INSERT INTO outbox (kind, env_from, rcpt, msgid, data, created,"
	    " next_attempt) VALUES ('reply', 'lido@x', 'a@x', 'id@x',"
	    " x'610062', 100, 100);"
	    "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_migrate(f->st, err, sizeof(err)), 2);
	assert_int_equal(store_version(f->st), STORE_SCHEMA_VERSION);
	rows = store_outbox_due(f->st, 200, 10, &n);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].rcpt, "a@x");
	assert_int_equal(rows[0].len, 3);
	assert_memory_equal(rows[0].data, "a\0b", 3);
	ob_rows_free(rows, n);
}

/* The text of mail sent before the cut is dropped; rows stay, and the
 * text of queued and failed mail (retried by `outbox retry`) is kept. */
static void
test_outbox_prune(void **state)
{
	struct fx *f = *state;
	struct ob_row *rows;
	int64_t id[4];
	size_t n;
	int dropped;

	for (int i = 0; i < 4; i++)
		assert_int_equal(store_outbox_add(f->st, "reply", "lido@x",
		    "a@x", "m@x", "text", 4, 100, &id[i]), 0);
	assert_int_equal(store_outbox_sent(f->st, id[0], 200), 0);
	assert_int_equal(store_outbox_sent(f->st, id[1], 900), 0);
	assert_int_equal(store_outbox_failed(f->st, id[2], "550 no", 200), 0);
	assert_int_equal(store_outbox_prune(f->st, 500, &dropped), 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(store_outbox_prune(f->st, 500, &dropped), 0);
	assert_int_equal(dropped, 0);
	rows = store_outbox_list(f->st, 1, &n);
	assert_int_equal(n, 4);
	ob_rows_free(rows, n);
	/* The failed row comes back with its text. */
	assert_int_equal(store_outbox_release(f->st, 1000, &dropped), 0);
	rows = store_outbox_due(f->st, 1000, 10, &n);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, id[2]);
	assert_int_equal(rows[0].len, 4);
	assert_int_equal(rows[1].id, id[3]);
	ob_rows_free(rows, n);
	assert_int_equal(store_outbox_prune(f->st, 1000, &dropped), 0);
	assert_int_equal(dropped, 1);
}

/* The copies of a list post share one text; it is dropped only when no
 * copy can need it any more. */
static void
test_outbox_shared_text(void **state)
{
	struct fx *f = *state;
	struct ob_row *rows;
	int64_t id[3];
	size_t n;
	int dropped;

	assert_int_equal(store_outbox_add(f->st, "list", "lido@x", "a@x",
	    "post@x", "the post", 8, 100, &id[0]), 0);
	for (int i = 1; i < 3; i++)
		assert_int_equal(store_outbox_add_shared(f->st, "list",
		    "lido@x", i == 1 ? "b@x" : "c@x", "post@x", id[0], 100,
		    &id[i]), 0);
	rows = store_outbox_due(f->st, 100, 10, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rows[i].id, id[i]);
		assert_int_equal(rows[i].len, 8);
		assert_memory_equal(rows[i].data, "the post", 8);
	}
	assert_string_equal(rows[2].rcpt, "c@x");
	ob_rows_free(rows, n);
	/* The text's own row and one copy sent long ago; one copy waits. */
	assert_int_equal(store_outbox_sent(f->st, id[0], 200), 0);
	assert_int_equal(store_outbox_sent(f->st, id[1], 200), 0);
	assert_int_equal(store_outbox_failed(f->st, id[2], "452 full", 200),
	    0);
	assert_int_equal(store_outbox_prune(f->st, 500, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_outbox_release(f->st, 1000, &dropped), 0);
	rows = store_outbox_due(f->st, 1000, 10, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id[2]);
	assert_memory_equal(rows[0].data, "the post", 8);
	ob_rows_free(rows, n);
	/* Sent recently: still kept; sent before the cut: dropped. */
	assert_int_equal(store_outbox_sent(f->st, id[2], 900), 0);
	assert_int_equal(store_outbox_prune(f->st, 500, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_outbox_prune(f->st, 1000, &dropped), 0);
	assert_int_equal(dropped, 1);
}

/* One call holds at most ~32 MB of texts (at least one row): 200 copies
 * of a big post would not fit in memory at once. */
static void
test_outbox_due_bounded_by_bytes(void **state)
{
	struct fx *f = *state;
	struct ob_row *rows;
	size_t big = 12 * 1024 * 1024, n;
	char *text = xmalloc(big);
	int64_t id[4];

	memset(text, 'x', big);
	for (int i = 0; i < 4; i++)
		assert_int_equal(store_outbox_add(f->st, "list", "lido@x",
		    "a@x", "big@x", text, big, 100, &id[i]), 0);
	free(text);
	rows = store_outbox_due(f->st, 100, 200, &n);
	assert_int_equal(n, 3);		/* 12 + 12 + 12 MB: past 32 */
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(rows[i].len, big);
		assert_int_equal(store_outbox_sent(f->st, rows[i].id, 200), 0);
	}
	ob_rows_free(rows, n);
	rows = store_outbox_due(f->st, 100, 200, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id[3]);
	ob_rows_free(rows, n);
}

static void
test_people(void **state)
{
	struct fx *f = *state;
	struct person p = { 0 };
	int64_t id, id2;

	assert_int_equal(store_person_touch(f->st, "Alice@School.test",
	    "Alice de Vries", "nl", 100, &id), 0);
	/* Same person, any case; no name keeps it, the language follows. */
	assert_int_equal(store_person_touch(f->st, "alice@school.test",
	    NULL, "en", 200, &id2), 0);
	assert_int_equal(id, id2);
	assert_int_equal(store_person_get(f->st, "ALICE@school.test", &p), 0);
	assert_string_equal(p.email, "alice@school.test");
	assert_string_equal(p.name, "Alice de Vries");
	assert_string_equal(p.lang, "en");
	assert_int_equal(p.last_seen, 200);
	person_clear(&p);
	/* A name given (from proven mail) replaces it; not the directory's. */
	assert_int_equal(store_person_touch(f->st, "alice@school.test",
	    "Alice Jansen-de Vries", NULL, 210, &id2), 0);
	assert_int_equal(store_person_get(f->st, "alice@school.test", &p), 0);
	assert_string_equal(p.name, "Alice Jansen-de Vries");
	person_clear(&p);
	assert_int_equal(store_person_set_name(f->st, id, "Alice"), 0);
	assert_int_equal(store_person_get(f->st, "alice@school.test", &p), 0);
	assert_string_equal(p.name, "Alice");
	person_clear(&p);

	assert_int_equal(store_person_set_bouncing(f->st, "alice@school.test",
	    "550 5.1.1 unknown", 300), 0);
	assert_int_equal(store_person_get(f->st, "alice@school.test", &p), 0);
	assert_int_equal(p.bouncing, 1);
	person_clear(&p);
	/* Writing again clears it (SPEC §4). */
	assert_int_equal(store_person_touch(f->st, "alice@school.test", "",
	    NULL, 400, &id2), 0);
	assert_int_equal(store_person_get(f->st, "alice@school.test", &p), 0);
	assert_int_equal(p.bouncing, 0);
	assert_string_equal(p.lang, "en");
	person_clear(&p);

	assert_int_equal(store_person_get(f->st, "nobody@school.test", &p), 1);
	assert_int_equal(store_person_reset(f->st, "nobody@school.test"), 1);
	/* A hostile name is data, not SQL. */
	assert_int_equal(store_person_touch(f->st, "bob@school.test",
	    "Robert'); DROP TABLE people;--", "nl", 1, &id), 0);
	assert_int_equal(store_person_get(f->st, "bob@school.test", &p), 0);
	assert_string_equal(p.name, "Robert'); DROP TABLE people;--");
	person_clear(&p);
	/* An invalid language is refused by the schema. */
	assert_int_equal(store_person_touch(f->st, "carol@school.test", "",
	    "fr", 1, &id), -1);
}

static void
test_networks(void **state)
{
	struct fx *f = *state;
	struct network n = { 0 }, *all;
	int64_t id, pid;
	size_t count, leads, members;
	enum role role;
	enum mstate ms;

	assert_int_equal(store_network_add(f->st, "rekenen", "Rekenen in "
	    "groep 3", "Hoe?", NET_OPEN, 0, 10, &id), 0);
	assert_int_equal(store_network_add(f->st, "REKENEN", "x", "", NET_OPEN,
	    0, 10, NULL), 1);
	assert_int_equal(store_network_find(f->st, "rekenen in GROEP 3", &n), 0);
	assert_string_equal(n.slug, "rekenen");
	network_clear(&n);
	assert_int_equal(store_network_find(f->st, "Rekenen", &n), 0);
	network_clear(&n);
	assert_int_equal(store_network_find(f->st, "taal", &n), 1);

	assert_int_equal(store_person_ensure(f->st, "lead@school.test", "nl", 1,
	    &pid), 0);
	assert_int_equal(store_membership(f->st, id, pid, &role, &ms), 1);
	assert_int_equal(store_membership_set(f->st, id, pid, ROLE_LEAD,
	    MS_ACTIVE, 20), 0);
	assert_int_equal(store_membership(f->st, id, pid, &role, &ms), 0);
	assert_int_equal(role, ROLE_LEAD);
	assert_int_equal(ms, MS_ACTIVE);
	assert_int_equal(store_network_counts(f->st, id, &leads, &members), 0);
	assert_int_equal(leads, 1);
	assert_int_equal(members, 0);

	assert_int_equal(store_network_set_state(f->st, id, NET_CLOSED,
	    "femme@jl.nu", "", 30), 0);
	all = store_networks(f->st, &count);
	assert_int_equal(count, 1);
	assert_int_equal(all[0].state, NET_CLOSED);
	assert_string_equal(all[0].decided_by, "femme@jl.nu");
	networks_free(all, count);
}

static void
test_tokens(void **state)
{
	struct fx *f = *state;
	struct token t = { 0 };
	int64_t pid;

	assert_int_equal(store_person_ensure(f->st, "a@school.test", "nl", 1,
	    &pid), 0);
	assert_int_equal(store_token_add(f->st, "abcdefghjkmn", "join", pid, 0,
	    "", 100, 200), 0);
	/* Tokens are unique. */
	assert_int_equal(store_token_add(f->st, "abcdefghjkmn", "join", pid, 0,
	    "", 100, 200), -1);
	assert_int_equal(store_token_get(f->st, "abcdefghjkmn", &t), 0);
	assert_string_equal(t.action, "join");
	assert_int_equal(t.expires, 200);
	assert_int_equal(t.used, 0);
	token_clear(&t);
	assert_int_equal(store_token_use(f->st, "abcdefghjkmn", "a@school.test",
	    150), 0);
	/* Single use. */
	assert_int_equal(store_token_use(f->st, "abcdefghjkmn", "a@school.test",
	    160), 1);
	assert_int_equal(store_token_get(f->st, "nope", &t), 1);
}

static void
test_processed(void **state)
{
	struct fx *f = *state;
	char outcome[32];
	int count;

	assert_int_equal(store_processed_get(f->st, "m1 lido@x", outcome,
	    sizeof(outcome)), 1);
	assert_int_equal(store_processed_add(f->st, "m1 lido@x", "m1",
	    "a@school.test", "answered", NULL, 100), 0);
	assert_int_equal(store_processed_get(f->st, "m1 lido@x", outcome,
	    sizeof(outcome)), 0);
	assert_string_equal(outcome, "answered");
	/* The same key twice is refused by the schema. */
	assert_int_equal(store_processed_add(f->st, "m1 lido@x", "m1",
	    "a@school.test", "answered", NULL, 100), -1);
	assert_int_equal(store_processed_add(f->st, "m2 lido@x", "m2",
	    "A@school.test", "machine", NULL, 110), 0);
	assert_int_equal(store_processed_add(f->st, "m3 lido@x", "m3",
	    "a@school.test", "answered", NULL, 120), 0);
	/* Machines do not count towards the rate limit. */
	assert_int_equal(store_requests_since(f->st, "a@school.test", 0,
	    &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(store_requests_since(f->st, "a@school.test", 115,
	    &count), 0);
	assert_int_equal(count, 1);
}

static void
test_outbox(void **state)
{
	struct fx *f = *state;
	struct ob_row *rows;
	size_t n;
	int64_t id1, id2;
	int released;
	static const char bin[] = "a\0b\r\n";

	assert_int_equal(store_outbox_add(f->st, "reply", "lido@x", "a@x",
	    "id1@x", bin, sizeof(bin) - 1, 100, &id1), 0);
	assert_int_equal(store_outbox_add(f->st, "refusal", "lido@x", "b@x",
	    "id2@x", "data", 4, 101, &id2), 0);
	assert_int_equal(store_outbox_next(f->st), 100);
	rows = store_outbox_due(f->st, 99, 10, &n);
	assert_int_equal(n, 0);
	ob_rows_free(rows, n);
	rows = store_outbox_due(f->st, 200, 10, &n);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, id1);
	assert_int_equal(rows[0].len, 5);
	assert_memory_equal(rows[0].data, bin, 5);
	ob_rows_free(rows, n);

	assert_int_equal(store_outbox_sent(f->st, id1, 201), 0);
	assert_int_equal(store_outbox_retry_at(f->st, id2, 500, "451 later"), 0);
	rows = store_outbox_due(f->st, 400, 10, &n);
	assert_int_equal(n, 0);
	ob_rows_free(rows, n);
	assert_int_equal(store_outbox_failed(f->st, id2, "550 no", 402), 0);
	rows = store_outbox_list(f->st, 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].state, OB_FAILED);
	assert_int_equal(rows[0].attempts, 2);
	assert_string_equal(rows[0].last_error, "550 no");
	ob_rows_free(rows, n);
	assert_int_equal(store_outbox_kind_since(f->st, "refusal", "b@x", 0,
	    &released), 0);
	assert_int_equal(released, 1);
	assert_int_equal(store_outbox_release(f->st, 600, &released), 0);
	assert_int_equal(released, 1);
	rows = store_outbox_due(f->st, 600, 10, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id2);
	ob_rows_free(rows, n);
}

/* Due mail goes in the order of the rows, whatever its due times, and
 * the limit takes the first rows of that order. */
static void
test_outbox_due_order(void **state)
{
	struct fx *f = *state;
	struct ob_row *rows;
	int64_t id[5];
	size_t n;

	for (int i = 0; i < 5; i++)
		assert_int_equal(store_outbox_add(f->st, "reply", "lido@x",
		    "a@x", "m@x", "text", 4, 100 + i, &id[i]), 0);
	/* The first row is due last, the fourth not at all. */
	assert_int_equal(store_outbox_retry_at(f->st, id[0], 300, "451"), 0);
	assert_int_equal(store_outbox_retry_at(f->st, id[3], 900, "451"), 0);
	rows = store_outbox_due(f->st, 400, 2, &n);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, id[0]);
	assert_int_equal(rows[1].id, id[1]);
	assert_int_equal(rows[0].len, 4);
	ob_rows_free(rows, n);
	rows = store_outbox_due(f->st, 400, 10, &n);
	assert_int_equal(n, 4);
	assert_int_equal(rows[2].id, id[2]);
	assert_int_equal(rows[3].id, id[4]);
	assert_memory_equal(rows[3].data, "text", 4);
	ob_rows_free(rows, n);
}

static off_t
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/*
 * With the checkpointer on, the write-ahead log reaches the database file
 * while the store stays open and writes go on; nothing is lost.
 */
static void
test_checkpoint_aside(void **state)
{
	struct fx *f = *state;
	struct ob_row *rows;
	static char text[64 * 1024];
	off_t before = file_size(f->path);
	size_t n;
	int waited = 0;

	assert_int_equal(store_checkpoint_aside(f->st), 0);
	assert_int_equal(store_checkpoint_aside(f->st), 0);	/* once */
	memset(text, 'x', sizeof(text));
	/* 12 MB: three times the pages after which it checkpoints. */
	for (int i = 0; i < 192; i++)
		assert_int_equal(store_outbox_add(f->st, "reply", "lido@x",
		    "a@x", "m@x", text, sizeof(text), 100, NULL), 0);
	while (file_size(f->path) < before + 4 * 1024 * 1024 &&
	    waited++ < 1000) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	assert_true(file_size(f->path) >= before + 4 * 1024 * 1024);
	rows = store_outbox_due(f->st, 200, 500, &n);
	assert_int_equal(n, 192);
	assert_int_equal(rows[191].len, sizeof(text));
	ob_rows_free(rows, n);
}

static void
test_transaction(void **state)
{
	struct fx *f = *state;
	struct person p = { 0 };
	int64_t id;

	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_person_touch(f->st, "gone@x", "", "nl", 1, &id), 0);
	store_rollback(f->st);
	assert_int_equal(store_person_get(f->st, "gone@x", &p), 1);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_person_touch(f->st, "kept@x", "", "nl", 1, &id), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_person_get(f->st, "kept@x", &p), 0);
	person_clear(&p);
}

/* Count rows through a connection of its own: what another process sees. */
static int
people_seen_outside(const struct fx *f)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int n = -1;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM people",
	    -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void
test_batch(void **state)
{
	struct fx *f = *state;
	struct person p = { 0 };
	int64_t id;

	assert_int_equal(store_batch_begin(f->st), 0);
	/* One batch at a time. */
	assert_int_equal(store_batch_begin(f->st), -1);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_person_touch(f->st, "one@x", "", "nl", 1, &id), 0);
	assert_int_equal(store_commit(f->st), 0);
	/* A unit's rollback undoes that unit only. */
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_person_touch(f->st, "two@x", "", "nl", 1, &id), 0);
	store_rollback(f->st);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_person_touch(f->st, "three@x", "", "nl", 1, &id), 0);
	assert_int_equal(store_commit(f->st), 0);
	/* Inside the batch we see our units; nobody else does yet. */
	assert_int_equal(store_person_get(f->st, "one@x", &p), 0);
	person_clear(&p);
	assert_int_equal(people_seen_outside(f), 0);
	assert_int_equal(store_batch_commit(f->st), 0);
	assert_int_equal(people_seen_outside(f), 2);
	assert_int_equal(store_person_get(f->st, "two@x", &p), 1);
	assert_int_equal(store_person_get(f->st, "three@x", &p), 0);
	person_clear(&p);

	/* After the batch, begin/commit are plain transactions again. */
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_person_touch(f->st, "four@x", "", "nl", 1, &id), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(people_seen_outside(f), 3);
}

/* A unit that fails inside the batch in a way that leaves the batch in
 * doubt (here: a rollback with no unit open) loses the whole batch. */
static void
test_batch_lost(void **state)
{
	struct fx *f = *state;
	struct person p = { 0 };
	int64_t id;

	assert_int_equal(store_batch_begin(f->st), 0);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_person_touch(f->st, "one@x", "", "nl", 1, &id), 0);
	assert_int_equal(store_commit(f->st), 0);
	store_rollback(f->st);
	/* Units after that are refused, and the batch does not commit. */
	assert_int_equal(store_begin(f->st), -1);
	assert_int_equal(store_commit(f->st), -1);
	assert_int_equal(store_batch_commit(f->st), -1);
	assert_int_equal(store_person_get(f->st, "one@x", &p), 1);
	assert_int_equal(people_seen_outside(f), 0);
	/* The store is usable afterwards. */
	assert_int_equal(store_batch_begin(f->st), 0);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_person_touch(f->st, "two@x", "", "nl", 1, &id), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_batch_commit(f->st), 0);
	assert_int_equal(people_seen_outside(f), 1);
}

static void
test_lock(void **state)
{
	struct fx *f = *state;
	pid_t pid;
	int status;

	assert_int_equal(store_lock(f->st), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		struct store *other = store_open(f->path, err, sizeof(err));
		int held = other && store_lock(other) == 1;

		/* Closed, so that valgrind's leak check in the child is
		 * quiet too. */
		store_close(other);
		_exit(held ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The PID in DB.lock, 0 when it is empty. */
static long
lock_pid(const struct fx *f)
{
	char *path = xasprintf("%s.lock", f->path);
	FILE *fp = fopen(path, "r");
	long pid = 0;

	assert_non_null(fp);
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	fclose(fp);
	free(path);
	return pid;
}

/* What a command does after its commit, from a process of its own. */
static void
wake_from_child(const struct fx *f)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		struct store *cli = store_open(f->path, err, sizeof(err));

		if (cli)
			store_wake_daemon(cli);
		store_close(cli);
		_exit(cli ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int
usr1_pending(void)
{
	sigset_t set;

	assert_int_equal(sigpending(&set), 0);
	return sigismember(&set, SIGUSR1);
}

static void
test_lock_wake(void **state)
{
	static const struct timespec now = { 0, 0 };
	struct fx *f = *state;
	char err[256], *path = xasprintf("%s.lock", f->path);
	sigset_t usr1;
	FILE *fp;

	/* As store_lock() will: a wrong wake-up is then a failed
	 * assertion, not a killed test. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &usr1, NULL), 0);

	/* A PID left in a free lock may be anybody's by now. */
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
	wake_from_child(f);
	assert_false(usr1_pending());

	/* The holder writes its own, and a command's wake-up reaches it;
	 * the holder itself sends none. */
	assert_int_equal(store_lock(f->st), 0);
	assert_int_equal(lock_pid(f), (long)getpid());
	store_wake_daemon(f->st);
	assert_false(usr1_pending());
	wake_from_child(f);
	assert_true(usr1_pending());
	assert_int_equal(sigtimedwait(&usr1, NULL, &now), SIGUSR1);

	/* Released, the lock names nobody. */
	store_close(f->st);
	f->st = store_open(f->path, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(lock_pid(f), 0);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrate_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_future, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_outbox_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_shared_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outbox_due_bounded_by_bytes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_people, setup, teardown),
		cmocka_unit_test_setup_teardown(test_networks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_due_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_aside, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_wake, setup, teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
