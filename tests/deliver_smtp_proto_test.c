/*
 * deliver_smtp_proto_test.c - server/deliver_smtp_proto.c against a scripted
 * SMTP server (tests/deliver_smtp_testlib.h): the exact client dialogue
 * (pipelined groups, parameters, dot-stuffing, BDAT size), max_rcpt, and the
 * per-recipient outcomes with the stage and reply that decided them when a
 * reply at each stage refuses or the connection is lost.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "deliver_smtp_testlib.h"

static void
test_pipelining_success(void **state)
{
	struct srv s;
	struct job j;
	char *tr, want[2048];

	(void)state;
	srv_start(&s,
	          GREET
	          "S 250-mx.partner.test|250-PIPELINING|250-SIZE 1000000|250-8BITMIME|250 DSN\n"
	          "R4\nS 250 2.1.0 ok|250 2.1.5 ok|550 5.1.1 no such user|354 go\nD\n"
	          "S 250 2.0.0 queued as X\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	job_run(&j);
	tr = srv_finish(&s);
	snprintf(want, sizeof want,
	         "-- accept\nC: EHLO client.test\n"
	         "C: MAIL FROM:<alice@client.test> SIZE=%zu BODY=8BITMIME RET=HDRS "
	         "ENVID=id+2B1+20x\n"
	         "C: RCPT TO:<bob@partner.test> NOTIFY=SUCCESS,FAILURE "
	         "ORCPT=rfc822;bob+3Dx@partner.test\n"
	         "C: RCPT TO:<carol@partner.test>\nC: DATA\n" MSG_STUFFED "C: QUIT\n",
	         strlen(MSG));
	assert_string_equal(tr, want);
	assert_rcpt(&j.res[0], SMTP_RCPT_DELIVERED, "2.0.0", "250 2.0.0 queued as X",
	            "after end of data");
	assert_rcpt(&j.res[1], SMTP_RCPT_FAILED, "5.1.1", "550 5.1.1 no such user",
	            "after RCPT TO:<carol@partner.test>");
	assert_int_equal(j.res[0].host_index, 0);
	assert_string_equal(j.res[0].host.greeting, "220 mx.partner.test ESMTP");
	assert_string_equal(j.res[0].host.helo_response, "250-mx.partner.test");
	assert_int_equal(j.res[0].host.tls, 0);
	assert_string_equal(j.log, ""); /* no host-level problem */
	free(tr);
	job_free(&j);
}

static void
test_no_pipelining(void **state)
{
	struct srv s;
	struct job j;
	char *tr;

	(void)state;
	srv_start(&s,
	          GREET "S 250 mx.partner.test\n"
	                "R\nP\nS 250 ok\nR\nP\nS 250 ok\nR\nP\nS 251 forwarded\nR\nP\nS 354 go\nD\n"
	                "S 250 queued\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	job_run(&j);
	tr = srv_finish(&s);
	/* Nothing offered: no SIZE, BODY or DSN parameters, one command at a time. */
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\n"
	                        "C: MAIL FROM:<alice@client.test>\n-- idle\n"
	                        "C: RCPT TO:<bob@partner.test>\n-- idle\n"
	                        "C: RCPT TO:<carol@partner.test>\n-- idle\n"
	                        "C: DATA\n-- idle\n" MSG_STUFFED "C: QUIT\n");
	assert_rcpt(&j.res[0], SMTP_RCPT_DELIVERED, "2.0.0", "250 queued", "after end of data");
	assert_rcpt(&j.res[1], SMTP_RCPT_DELIVERED, "2.0.0", "250 queued", "after end of data");
	free(tr);
	job_free(&j);
}

static void
test_chunking(void **state)
{
	struct srv s;
	struct job j;
	char *tr, want[1024];

	(void)state;
	srv_start(&s,
	          GREET "S 250-mx|250-PIPELINING|250 CHUNKING\n"
	                "R3\nS 250 ok|250 ok|250 ok\nR\nK\nS 250 2.0.0 chunk queued\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	job_run(&j);
	tr = srv_finish(&s);
	snprintf(want, sizeof want,
	         "-- accept\nC: EHLO client.test\nC: MAIL FROM:<alice@client.test>\n"
	         "C: RCPT TO:<bob@partner.test>\nC: RCPT TO:<carol@partner.test>\n"
	         "C: BDAT %zu LAST\nK: %zu [" MSG "]\nC: QUIT\n",
	         strlen(MSG), strlen(MSG));
	assert_string_equal(tr, want);
	assert_rcpt(&j.res[1], SMTP_RCPT_DELIVERED, "2.0.0", "250 2.0.0 chunk queued",
	            "after end of data");
	free(tr);
	job_free(&j);
}

/* Stored content with the smuggling look-alikes ("\r.\r\n", "\r.\n", "\r.\r",
 * "\n.\n") followed by a command: every bare CR or LF goes out as CRLF and
 * the dot after it is stuffed (DATA) or sent once (BDAT, size counted after
 * the change), so the server reads one message and no command (issue 13). */
#define SMUGGLE "Subject: s\r\n\r\na\r.\r\nMAIL FROM:<evil@x>\r\nb\r.\nc\r.\rd\n.\ne\n"
#define SMUGGLE_OUT                                                                                \
	"Subject: s\r\n\r\na\r\n.\r\nMAIL FROM:<evil@x>\r\nb\r\n.\r\nc\r\n.\r\nd\r\n.\r\ne\r\n"

static void
write_data(const char *text)
{
	FILE *f = fopen(data_path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
test_smuggling_normalised(void **state)
{
	struct srv s;
	struct job j;
	char *tr, want[1024];

	(void)state;
	write_data(SMUGGLE);
	srv_start(&s,
	          GREET
	          "S 250-mx|250 PIPELINING\nR4\nS 250 ok|250 ok|250 ok|354 go\nD\nS 250 ok\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	j.env.size = strlen(SMUGGLE);
	job_run(&j);
	tr = srv_finish(&s);
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\nC: MAIL FROM:<alice@client.test>\n"
	                        "C: RCPT TO:<bob@partner.test>\nC: RCPT TO:<carol@partner.test>\n"
	                        "C: DATA\nD: Subject: s\nD: \nD: a\nD: ..\nD: MAIL FROM:<evil@x>\n"
	                        "D: b\nD: ..\nD: c\nD: ..\nD: d\nD: ..\nD: e\nD: .\nC: QUIT\n");
	free(tr);
	job_free(&j);

	srv_start(&s,
	          GREET "S 250-mx|250-PIPELINING|250 CHUNKING\n"
	                "R3\nS 250 ok|250 ok|250 ok\nR\nK\nS 250 2.0.0 chunk queued\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	j.env.size = strlen(SMUGGLE);
	job_run(&j);
	tr = srv_finish(&s);
	snprintf(want, sizeof want,
	         "-- accept\nC: EHLO client.test\nC: MAIL FROM:<alice@client.test>\n"
	         "C: RCPT TO:<bob@partner.test>\nC: RCPT TO:<carol@partner.test>\n"
	         "C: BDAT %zu LAST\nK: %zu [" SMUGGLE_OUT "]\nC: QUIT\n",
	         strlen(SMUGGLE_OUT), strlen(SMUGGLE_OUT));
	assert_string_equal(tr, want);
	assert_rcpt(&j.res[0], SMTP_RCPT_DELIVERED, "2.0.0", "250 2.0.0 chunk queued",
	            "after end of data");
	free(tr);
	job_free(&j);
	write_data(MSG);
}

static void
test_max_rcpt_splits(void **state)
{
	struct srv s;
	struct job j;
	char *tr;

	(void)state;
	srv_start(&s,
	          GREET "S 250-mx|250 PIPELINING\n"
	                "R3\nS 250 ok|250 ok|354 go\nD\nS 250 one\n"
	                "R3\nS 250 ok|250 ok|354 go\nD\nS 250 two\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	j.t.max_rcpt = 1;
	job_run(&j);
	tr = srv_finish(&s);
	assert_string_equal(tr, "-- accept\nC: EHLO client.test\n"
	                        "C: MAIL FROM:<alice@client.test>\nC: RCPT "
	                        "TO:<bob@partner.test>\nC: DATA\n" MSG_STUFFED
	                        "C: MAIL FROM:<alice@client.test>\nC: RCPT "
	                        "TO:<carol@partner.test>\nC: DATA\n" MSG_STUFFED "C: QUIT\n");
	assert_rcpt(&j.res[0], SMTP_RCPT_DELIVERED, "2.0.0", "250 one", "after end of data");
	assert_rcpt(&j.res[1], SMTP_RCPT_DELIVERED, "2.0.0", "250 two", "after end of data");
	free(tr);
	job_free(&j);
}

/*
 * PRDR, pipelined, no recipient accepted, and a server that takes DATA
 * anyway: the empty message's answer is 353 and the overall reply (no
 * recipient to answer for).  Both are read, so that the cached connection
 * carries the next message in step (its MAIL gets its own 250).
 */
static void
test_prdr_nobody_then_reuse(void **state)
{
	struct srv s;
	struct job j;
	char *tr;

	(void)state;
	srv_start(&s,
	          GREET "S 250-mx|250-PIPELINING|250 PRDR\n"
	                "R4\nS 250 ok|550 5.1.1 no|550 5.1.1 nope|354 go\nR\nS 353 go|550 none\n"
	                "R4\nS 250 ok|250 ok|250 ok|354 go\nD\n"
	                "S 353 go|250 2.1.5 b ok|250 2.1.5 c ok|250 done\n" QUIT,
	          NULL);
	job_init(&j, s.port);
	j.cache = smtp_cache_new();
	assert_non_null(j.cache);
	job_run(&j);
	assert_rcpt(&j.res[1], SMTP_RCPT_FAILED, "5.1.1", "550 5.1.1 nope",
	            "after RCPT TO:<carol@partner.test>");
	job_run(&j);
	assert_rcpt(&j.res[0], SMTP_RCPT_DELIVERED, "2.1.5", "250 2.1.5 b ok",
	            "after end of data (PRDR)");
	assert_rcpt(&j.res[1], SMTP_RCPT_DELIVERED, "2.1.5", "250 2.1.5 c ok",
	            "after end of data (PRDR)");
	assert_int_equal(j.res[1].prdr, 1);
	smtp_cache_close_all(j.cache);
	tr = srv_finish(&s);
	assert_contains(tr, "C: DATA\nC: .\nC: MAIL FROM:<alice@client.test> PRDR\n");
	free(tr);
	job_free(&j);
}

/* ---- failures at each stage --------------------------------------------------------- */

struct stage_case {
	const char *name;
	const char *script;
	enum smtp_outcome bob, carol;
	const char *status, *reply, *stage; /* carol's */
	const char *log;                    /* a host-level line, or NULL for none */
};

#define EHLO_PLAIN "S 250 mx\n"
#define EHLO_PRDR "S 250-mx|250 PRDR\n"
static const struct stage_case stage_cases[] = {
	{ "554 greeting", "A\nS 554 5.7.1 go away\n" QUIT, SMTP_RCPT_FAILED, SMTP_RCPT_FAILED,
	  "5.7.1", "554 5.7.1 go away", "after initial connection", NULL },
	{ "421 greeting", "A\nS 421 busy\n" QUIT, SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.0.0",
	  "421 busy", "after initial connection",
	  "SMTP error from remote mail server after initial connection: 421 busy" },
	{ "5xx EHLO and HELO", GREET "S 502 no\nR\nS 550 5.7.0 no HELO either\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.7.0", "550 5.7.0 no HELO either",
	  "after HELO client.test", NULL },
	{ "4xx EHLO", GREET "S 421-4.3.2 shutting|421 4.3.2 down\n" QUIT, SMTP_RCPT_DEFERRED,
	  SMTP_RCPT_DEFERRED, "4.3.2", "421-4.3.2 shutting\n421 4.3.2 down",
	  "after EHLO client.test",
	  "SMTP error from remote mail server after EHLO client.test: 421-4.3.2 shutting 421 4.3.2 "
	  "down" },
	{ "5xx MAIL", GREET EHLO_PLAIN "R\nS 550 5.1.8 bad sender\n" QUIT, SMTP_RCPT_FAILED,
	  SMTP_RCPT_FAILED, "5.1.8", "550 5.1.8 bad sender", "after MAIL FROM:<alice@client.test>",
	  NULL },
	{ "4xx MAIL", GREET EHLO_PLAIN "R\nS 451 4.3.0 later\n" QUIT, SMTP_RCPT_DEFERRED,
	  SMTP_RCPT_DEFERRED, "4.3.0", "451 4.3.0 later", "after MAIL FROM:<alice@client.test>",
	  "SMTP error from remote mail server after MAIL FROM:<alice@client.test>: 451 4.3.0 "
	  "later" },
	{ "mixed RCPT",
	  GREET EHLO_PLAIN
	  "R\nS 250 ok\nR\nS 250 ok\nR\nS 452 4.2.2 full\nR\nS 354 go\nD\nS 250 ok\n" QUIT,
	  SMTP_RCPT_DELIVERED, SMTP_RCPT_DEFERRED, "4.2.2", "452 4.2.2 full",
	  "after RCPT TO:<carol@partner.test>", NULL },
	{ "no RCPT accepted",
	  GREET EHLO_PLAIN "R\nS 250 ok\nR\nS 550 no\nR\nS 550 5.1.1 no\nR\nS 250 reset\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.1.1", "550 5.1.1 no",
	  "after RCPT TO:<carol@partner.test>", NULL },
	{ "5xx DATA",
	  GREET EHLO_PLAIN "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 554 5.6.0 no data\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.6.0", "554 5.6.0 no data", "after DATA", NULL },
	{ "4xx DATA",
	  GREET EHLO_PLAIN "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 451 wait\n" QUIT,
	  SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.0.0", "451 wait", "after DATA", NULL },
	{ "5xx end of data",
	  GREET EHLO_PLAIN
	  "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\nS 552 5.3.4 too big\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.3.4", "552 5.3.4 too big", "after end of data",
	  NULL },
	{ "4xx end of data",
	  GREET EHLO_PLAIN
	  "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\nS 451 4.3.0 try later\n" QUIT,
	  SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.3.0", "451 4.3.0 try later",
	  "after end of data", NULL },
	{ "pipelined 5xx MAIL",
	  GREET "S 250-mx|250 PIPELINING\nR4\n"
	        "S 550 5.1.8 bad sender|503 5.5.1 MAIL first|503 5.5.1 MAIL first|503 5.5.1 no "
	        "recipients\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.1.8", "550 5.1.8 bad sender",
	  "after MAIL FROM:<alice@client.test>", NULL },
	{ "pipelined, DATA accepted without recipients",
	  GREET "S 250-mx|250 PIPELINING\nR4\n"
	        "S 250 ok|550 5.1.1 no|550 5.1.1 nope|354 go\nR\nS 250 empty\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_FAILED, "5.1.1", "550 5.1.1 nope",
	  "after RCPT TO:<carol@partner.test>", NULL },
	{ "larger than SIZE", GREET "S 250-mx|250 SIZE 10\n" QUIT, SMTP_RCPT_FAILED,
	  SMTP_RCPT_FAILED, "5.3.4", NULL, NULL, NULL },
	/* PRDR (draft-hall-prdr-00, docs/prdr.md): bob's own 250 delivers him. */
	{ "PRDR per-recipient 550",
	  GREET EHLO_PRDR "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\n"
	                  "S 353 go|250 2.1.5 bob ok|550 5.7.1 carol no|250 done\n" QUIT,
	  SMTP_RCPT_DELIVERED, SMTP_RCPT_FAILED, "5.7.1", "550 5.7.1 carol no",
	  "after end of data (PRDR)", NULL },
	{ "PRDR overall 451 over 250s",
	  GREET EHLO_PRDR "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\n"
	                  "S 353 go|250 2.1.5 bob ok|250 2.1.5 carol ok|451 4.3.0 later\n" QUIT,
	  SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.3.0", "451 4.3.0 later",
	  "after end of data (PRDR overall reply)", NULL },
	{ "PRDR per-recipient 450 stands over overall 250",
	  GREET EHLO_PRDR "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\n"
	                  "S 353 go|550 5.7.1 bob no|450 4.2.0 carol later|250 done\n" QUIT,
	  SMTP_RCPT_FAILED, SMTP_RCPT_DEFERRED, "4.2.0", "450 4.2.0 carol later",
	  "after end of data (PRDR)", NULL },
	{ "PRDR lost before the overall reply",
	  GREET EHLO_PRDR "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\n"
	                  "S 353 go|250 2.1.5 bob ok|250 2.1.5 carol ok\nC\n",
	  SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.4.2", NULL, NULL,
	  "Remote host closed connection after end of data (PRDR overall reply)" },
	{ "PRDR 354 as a per-recipient reply",
	  GREET EHLO_PRDR "R\nS 250 ok\nR\nS 250 ok\nR\nS 250 ok\nR\nS 354 go\nD\n"
	                  "S 353 go|354 what\n" QUIT,
	  SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.0.0", "354 what", "after end of data (PRDR)",
	  "SMTP error from remote mail server after end of data (PRDR): 354 what" },
	{ "lost after RCPT", GREET EHLO_PLAIN "R\nS 250 ok\nR\nS 250 ok\nR\nC\n",
	  SMTP_RCPT_DEFERRED, SMTP_RCPT_DEFERRED, "4.4.2", NULL, NULL,
	  "Remote host closed connection after RCPT TO:<carol@partner.test>" },
};
#define NSTAGE (sizeof stage_cases / sizeof stage_cases[0])

static void
test_stage(void **state)
{
	const struct stage_case *sc = *state;
	struct srv s;
	struct job j;
	char *tr, line[600];

	srv_start(&s, sc->script, NULL);
	job_init(&j, s.port);
	job_run(&j);
	tr = srv_finish(&s);
	assert_int_equal(j.res[0].outcome, sc->bob);
	assert_rcpt(&j.res[1], sc->carol, sc->status, sc->reply, sc->stage);
	if (sc->log != NULL) {
		snprintf(line, sizeof line, "T-000001 H=mx.partner.test [127.0.0.1]:%u: %s\n",
		         s.port, sc->log);
		assert_contains(j.log, line);
	} else {
		assert_string_equal(j.log, "");
	}
	/* A session that ended in an orderly way ends with QUIT. */
	if (strstr(sc->script, QUIT) != NULL)
		assert_non_null(strstr(tr, "C: QUIT\n"));
	free(tr);
	job_free(&j);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_pipelining_success),
		cmocka_unit_test(test_no_pipelining),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_max_rcpt_splits),
		cmocka_unit_test(test_smuggling_normalised),
		cmocka_unit_test(test_prdr_nobody_then_reuse),
	};
	struct CMUnitTest tests[sizeof fixed / sizeof fixed[0] + NSTAGE];
	static char names[NSTAGE][160];
	size_t n = 0;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < NSTAGE; i++) {
		snprintf(names[i], sizeof names[i], "stage: %s", stage_cases[i].name);
		tests[n++] = (struct CMUnitTest){ .name = names[i],
			                          .test_func = test_stage,
			                          .initial_state = (void *)&stage_cases[i] };
	}
	return dst_run_group("deliver_smtp_proto", tests, n);
}
