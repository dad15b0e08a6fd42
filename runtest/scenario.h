/*
 * scenario.h - one scenario file (docs/scenario-format.md), parsed.
 *
 * A scenario is a header of "key: value" fields, a [config] section (the
 * refmta configuration, verbatim) and a [steps] section (one action a
 * line), with any number of [peer NAME] (scripted SMTP servers), [zone
 * NAME] (DNS zones for bin/fakedns), [file NAME] (text a step writes) and
 * [config NAME] (a configuration a step switches to) sections.  Parsing checks everything it can
 * (unknown fields, unknown steps, missing sections) so a broken scenario is reported as file:line
 * before anything runs.
 */
#ifndef RUNTEST_SCENARIO_H
#define RUNTEST_SCENARIO_H

#include <stddef.h>

#include "err.h"
#include "strlist.h"

struct step_verb;

struct step {
	char *verb;                   /* "connect", "send", "expect", ... */
	const struct step_verb *kind; /* its row of the verb table (steps.h) */
	char *arg;                    /* the rest of the line, "" when none */
	int line;
};

/* A scripted SMTP server ([peer NAME] section, docs/scenario-format.md). */
struct peer_spec {
	char *name;
	struct strlist lines; /* "key = value" as written */
	int line;
};

/*
 * A section of verbatim text: a DNS zone ([zone NAME]: an RFC 1035 master
 * file for bin/fakedns), a file a step writes ([file NAME]), or a
 * configuration a step switches to ([config NAME]).
 */
struct text_section {
	char *name; /* as written: "partner.test" */
	char *text; /* the section's lines, verbatim */
	int line;   /* of the "[... NAME]" line; text line L is file line line+L */
};

struct scenario {
	char *path;       /* as found: "scenarios/smtp/0001-greeting.scn" */
	char *id;         /* "0001" */
	char *slug;       /* "0001-greeting" */
	char *feature;    /* the folder: "smtp" */
	char *golden;     /* "golden/smtp/0001-greeting.golden" (scenario_load() says where) */
	char *collection; /* the collection it belongs to: "" for ./scenarios, else its
	                   * top directory; numbers are unique within one */
	char *title;
	char *spec;               /* RFC / spec references */
	char *keywords;           /* space separated, may be "" */
	char *client;             /* "openssl" | "gnutls" | NULL: the other backend */
	char *backend_specific;   /* reason for per-backend goldens, or NULL */
	unsigned timeout;         /* seconds for the whole run */
	struct strlist normalize; /* "REGEX => REPLACEMENT" lines */
	struct strlist certs;     /* "STEM KEY ISSUER NAME..." (cert: lines), minted per run */
	char *config;             /* the [config] text */
	struct step *steps;
	size_t nsteps;
	struct peer_spec *peers;
	size_t npeers;
	struct text_section *zones;
	size_t nzones;
	struct text_section *files; /* [file NAME] */
	size_t nfiles;
	struct text_section *configs; /* [config NAME]: the others, not the [config] */
	size_t nconfigs;
	struct text_section *redis; /* [redis] ("default") / [redis NAME]: redis-cli commands */
	size_t nredis;
	struct text_section *lmdbs; /* [lmdb NAME]: "KEY VALUE" lines for mdb_load */
	size_t nlmdbs;
};

/* Parse `path`.  -1 with e->text = "path:line: message". */
int scenario_load(const char *path, struct scenario **out, struct err *e) MUST_CHECK;
void scenario_free(struct scenario *s); /* accepts NULL */

/* The section called `name` among n, or NULL. */
const struct text_section *scenario_section(const struct text_section *v, size_t n,
                                            const char *name);

/* A peer's listening address: its "address = " value, else "127.0.0.1". */
const char *peer_spec_address(const struct peer_spec *p);
/* Its own port ("port = N"), or 0: the port all peers share. */
unsigned peer_spec_port(const struct peer_spec *p);

#endif
