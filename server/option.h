/*
 * option.h - the one typed option engine: the main section (config.c),
 * router blocks (router.c) and transport blocks (deliver_smtp_options.c,
 * deliver_queuefile.c) each describe their options in a table of
 * struct option_def (name, type, where the value goes, default, checks,
 * where docs/config.md describes it) and read values through it, so a
 * value is checked, stored, defaulted, freed and reported the same way
 * everywhere: "FILE:LINE: [transport NAME: ]OPTION: bad number \"x\" (...)".
 *
 * tests/option_test.c checks every table against docs/config.md.
 *
 * Ownership: strings and lists an option stores belong to the structure
 * they are stored in (`base`); option_free() releases them.
 */
#ifndef REFMTA_OPTION_H
#define REFMTA_OPTION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

enum option_type {
	OPTION_STRING,    /* char *: non-empty text, $variables kept */
	OPTION_PATH,      /* char *: resolved against the config's directory */
	OPTION_LOGPATH,   /* char *: a path, or "-" for stderr */
	OPTION_RPATH,     /* char *: a path that must be readable now */
	OPTION_RPATHLIST, /* struct strlist: a list of such paths */
	OPTION_LIST,      /* struct strlist: a colon list, split */
	OPTION_HOSTLIST,  /* char *: a host list, kept as text, items checked; may be empty */
	OPTION_UINT,      /* unsigned: 0 .. max */
	OPTION_UINT_POS,  /* unsigned: 1 .. max */
	OPTION_TIME,      /* unsigned seconds, at least 1: 300, 30s, 5m, 1h */
	OPTION_SIZE,      /* uint64_t bytes, at least 1: 52428800, 50M */
	OPTION_BOOL,      /* int: true false yes no 1 0 */
	OPTION_CHOICE,    /* char *: one of `choices` */
	OPTION_CLOCK,     /* time_t: 2026-01-01T00:00:00Z or epoch seconds */
};

enum {
	OPTION_EMPTY_OK = 1 << 0,    /* "" is stored, not refused (the user checks it) */
	OPTION_UNSUPPORTED = 1 << 1, /* accepted by name, refused: "not supported yet" */
};

struct option_def {
	const char *name;
	enum option_type type;
	size_t off;       /* the field in the target structure */
	const char *dflt; /* parsed like a value from the file; NULL = none or computed */
	unsigned flags;
	uint64_t max;                    /* UINT / UINT_POS: the largest value; 0 = UINT_MAX */
	const char *choices;             /* CHOICE: the words, space-separated ("openssl gnutls") */
	int (*valid)(const char *value); /* STRING: 1 if the value's syntax is right */
	const char *what; /* the value's kind in errors ("address", "backend"); default
	                   * from the type */
	const char *hint; /* the advice after a bad value ("(use openssl or gnutls)");
	                   * replaces the type's, and "must be at least 1" with it */
};

/* One table: the options of the main section, of a router, of a driver. */
struct option_table {
	const char *doc; /* where docs/config.md lists them: "main", "router",
	                  * "smtp", "queuefile" */
	const struct option_def *v;
	size_t n;
	const char *unknown_hint; /* after an unknown name no known one is near, or NULL */
};

/* Where values come from and errors go. */
struct option_ctx {
	const char *file;   /* FILE of "FILE:LINE: " */
	const char *dir;    /* relative paths resolve here */
	const char *prefix; /* before the option's name: "" or "transport t: " */
	struct err *e;
};

extern const struct option_table config_main_options;    /* config.c */
extern const struct option_table router_options;         /* router.c */
extern const struct option_table smtp_transport_options; /* deliver_smtp_options.c */
extern const struct option_table queuefile_options;      /* deliver_queuefile.c */

/* The index of `name` in the table, or -1. */
int option_index(const struct option_table *t, const char *name);

/* "FILE:LINE: PREFIXmessage" (line 0: "FILE: PREFIXmessage") into c->e; -1. */
int option_fail(const struct option_ctx *c, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The error for a name the table does not have, with "did you mean" when a
 * known one is within two edits, else the table's unknown_hint.  -1. */
int option_unknown(const struct option_table *t, const struct option_ctx *c, const char *name,
                   int line);

/* Check `value` (from `line`; 0 = a default) and store it into base.
 * 0, or -1 with the error in c->e. */
int option_set(const struct option_ctx *c, const struct option_def *o, void *base,
               const char *value, int line) MUST_CHECK;

/* Every option of block b (but those named in `skip`, NULL-terminated),
 * then the defaults of those not given.  lines[i] (t->n of them, may be
 * NULL) gets the line that set option i, 0 when defaulted. */
int option_read_block(const struct option_table *t, const struct option_ctx *c,
                      const struct config_block *b, const char *const *skip, void *base,
                      int *lines) MUST_CHECK;

/* The default of every option whose lines[i] is 0. */
int option_set_defaults(const struct option_table *t, const struct option_ctx *c, void *base,
                        const int *lines) MUST_CHECK;

/* Free what the table's options stored in base (strings, lists). */
void option_free(const struct option_table *t, void *base);

#endif
