/*
 * refmta_main.c - the refmta command line (DESIGN.md "Public command lines").
 *
 *   refmta --version | --help
 *   refmta -c FILE check
 *   refmta -c FILE [--backend B] serve [--listen ADDR:PORT]
 *   refmta -c FILE [--backend B] queue-run [--force] | queue-list
 *   refmta -c FILE send [-f SENDER] RCPT...
 *   refmta -c FILE [--backend B] dane-check DOMAIN [PORT]
 *   refmta [-c FILE] expand 'STRING' [NAME=VALUE...]
 *
 * Only argument handling lives here; loading the configuration and its test
 * mode is setup.c's, each command its module's.  Exit: 0 ok, 1 failure, 2 usage.
 */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "dane_check.h"
#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "expand_cmd.h"
#include "log.h"
#include "ocsp_fetch.h"
#include "privs.h"
#include "queue.h"
#include "setup.h"
#include "spf.h"
#include "spool.h"
#include "tls.h"
#include "version.h"

static void
print_version(void)
{
	printf("refmta %s\n", REFMTA_VERSION);
	printf("TLS backends: %s (%s), %s (%s)\n", tls_backend_openssl.name,
	       tls_backend_openssl.version(), tls_backend_gnutls.name,
	       tls_backend_gnutls.version());
	printf("SPF: libspf2 %s\n", spf_library_version());
	printf("Support for: TLS-OpenSSL TLS-GnuTLS Certificate-name-checks STARTTLS PIPELINING "
	       "CHUNKING DSN 8BITMIME SIZE DNSSEC-validation smtp-transport queuefile DSN_INFO "
	       "SPF\n");
}

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: refmta --version | --help\n"
	        "       refmta -c FILE check                     validate a configuration\n"
	        "       refmta -c FILE [--backend openssl|gnutls] serve [--listen ADDR:PORT]\n"
	        "       refmta -c FILE [--backend B] queue-run [--force]\n"
	        "                                                one pass over the queue "
	        "(--force:\n"
	        "                                                ignore retry times)\n"
	        "       refmta -c FILE queue-list                list the queue\n"
	        "       refmta -c FILE send [-f SENDER] RCPT...  submit a message from stdin\n"
	        "       refmta -c FILE [--backend B] ocsp-fetch [--url URL] [--timeout SECS]\n"
	        "                                                refresh tls_ocsp_file "
	        "(docs/ocsp.md)\n"
	        "       refmta -c FILE [--backend B] dane-check DOMAIN [PORT]\n"
	        "                                                DANE for DOMAIN's MX hosts, "
	        "step by step\n"
	        "       refmta [-c FILE] expand 'STRING' [NAME=VALUE...]\n"
	        "                                                expand a string (docs/expand.md)\n"
	        "\n"
	        "refmta is a reference SMTP conformance server; see README.md and "
	        "docs/config.md.\n");
}

/* sendmail -i: the message is stdin up to EOF; LF line ends become CRLF. */
static int
cmd_send(struct config *cfg, int argc, char **argv)
{
	const char *sender = NULL;
	char default_sender[320];
	struct envelope env = { 0 };
	struct spool_message *m = NULL;
	struct err e = { 0 };
	struct spool_rcpt *rcpts = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int first = 1, rc = 1;

	if (argc >= 2 && strcmp(argv[0], "-f") == 0) {
		/* -f '' and -f '<>' (sendmail's spelling) are the null sender. */
		sender = strcmp(argv[1], "<>") == 0 ? "" : argv[1];
		argc -= 2;
		argv += 2;
	}
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if (sender == NULL) {
		struct passwd *pw = getpwuid(getuid());
		snprintf(default_sender, sizeof default_sender, "%s@%s",
		         pw ? pw->pw_name : "nobody", cfg->primary_hostname);
		sender = default_sender;
	}
	/* As root with `user`: the message's files belong to that user, so a
	 * daemon running as the user can deliver or bounce it. */
	if (privs_check_root(cfg, &e) != 0 || spool_init(cfg->spool_directory, &e) != 0 ||
	    log_open(cfg->log_file, &e) != 0 || privs_drop(cfg, &e) != 0)
		goto out;
	rcpts = calloc((size_t)argc, sizeof *rcpts);
	m = spool_message_begin(cfg->spool_directory, &e);
	if (rcpts == NULL || m == NULL)
		goto out;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		/* The Received: header names the local submission (RFC 5321 4.4). */
		if (first) {
			char date[64], hdr[512];
			clock_format_rfc5322(clock_now(), date, sizeof date);
			int h = snprintf(hdr, sizeof hdr,
			                 "Received: by %s (refmta %s) with local;\r\n\t%s\r\n",
			                 cfg->primary_hostname, REFMTA_VERSION, date);
			if (spool_message_write(m, hdr, (size_t)h, &e) != 0)
				goto out;
			first = 0;
		}
		if (spool_message_write(m, line, (size_t)n, &e) != 0 ||
		    spool_message_write(m, "\r\n", 2, &e) != 0)
			goto out;
	}
	for (int i = 0; i < argc; i++)
		rcpts[i].address = argv[i];
	env.sender = (char *)sender;
	env.rcpts = rcpts;
	env.nrcpts = (size_t)argc;
	env.received_at = clock_now();
	env.protocol = "local";
	if (spool_message_commit(m, &env, &e) != 0) {
		m = NULL;
		goto out;
	}
	m = NULL;
	/* The null sender is "<>" in the log, as for SMTP arrivals (docs/log.md). */
	log_write("%s <= %s P=local S=%llu for %s%s", env.id, sender[0] ? sender : "<>",
	          (unsigned long long)env.size, argv[0], argc > 1 ? " ..." : "");
	printf("%s\n", env.id);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "refmta: send: %s\n", e.text);
	spool_message_abort(m);
	free(rcpts);
	free(line);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL, *backend = NULL, *listen = NULL;
	struct config *cfg = NULL;
	struct err e = { 0 };
	int i = 1, rc;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		print_version();
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
			backend = argv[i + 1];
			i += 2;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i < argc && config_path == NULL && strcmp(argv[i], "expand") == 0) {
		tls_backend_use(tls_backend_by_name(backend));
		return expand_cmd(NULL, argc - i - 1, argv + i + 1); /* no configuration */
	}
	if (config_path == NULL || i >= argc) {
		usage(stderr);
		return 2;
	}
	if (backend != NULL && tls_backend_by_name(backend) == NULL) {
		fprintf(stderr, "refmta: unknown TLS backend \"%s\" (openssl or gnutls)\n",
		        backend);
		return 2;
	}
	/* Every command loads it whole (setup.h), as serve and SIGHUP do. */
	if (setup_load_config(config_path, &cfg, &e) != 0) {
		fprintf(stderr, "%s\n", e.text);
		return 1;
	}
	/* ${certextract} decodes with the backend this process uses. */
	tls_backend_use(tls_backend_by_name(backend != NULL ? backend : cfg->tls_backend));
	setup_apply_test_mode(cfg);

	const char *cmd = argv[i++];
	if (strcmp(cmd, "check") == 0 && i == argc) {
		printf("%s: OK\n", config_path);
		rc = 0;
	} else if (strcmp(cmd, "serve") == 0) {
		if (i + 1 < argc && strcmp(argv[i], "--listen") == 0) {
			listen = argv[i + 1];
			i += 2;
		}
		if (i != argc) {
			config_free(cfg);
			usage(stderr);
			return 2;
		}
		if (privs_check_root(cfg, &e) != 0) {
			rc = 1;
		} else {
			rc = daemon_serve(config_path, cfg, listen, backend, &e) == 0 ? 0 : 1;
			cfg = NULL; /* the daemon owns it */
		}
		if (rc != 0)
			fprintf(stderr, "refmta: %s\n", e.text);
	} else if (strcmp(cmd, "queue-run") == 0 &&
	           (i == argc || (i + 1 == argc && strcmp(argv[i], "--force") == 0))) {
		struct queue_run_opts qo = { .backend = backend,
			                     .force = i + 1 == argc,
			                     .parallel = cfg->queue_run_max };
		signal(SIGPIPE,
		       SIG_IGN); /* a peer gone mid-write is an error to handle, not a death */
		rc = (privs_check_root(cfg, &e) == 0 && log_open(cfg->log_file, &e) == 0 &&
		      privs_drop(cfg, &e) == 0 && queue_run_with(cfg, &qo, &e) == 0)
		             ? 0
		             : 1;
		if (rc != 0)
			fprintf(stderr, "refmta: queue-run: %s\n", e.text);
	} else if (strcmp(cmd, "queue-list") == 0 && i == argc) {
		rc = queue_list(cfg, &e) == 0 ? 0 : 1;
		if (rc != 0)
			fprintf(stderr, "refmta: queue-list: %s\n", e.text);
	} else if (strcmp(cmd, "send") == 0) {
		rc = cmd_send(cfg, argc - i, argv + i);
	} else if (strcmp(cmd, "ocsp-fetch") == 0) {
		rc = ocsp_fetch_main(cfg, backend, argc - i, argv + i);
	} else if (strcmp(cmd, "dane-check") == 0 && (i + 1 == argc || i + 2 == argc)) {
		char *end = NULL;
		unsigned long port = i + 2 == argc ? strtoul(argv[i + 1], &end, 10) : 25;
		if (end != NULL && (*end != '\0' || port == 0 || port > 65535)) {
			fprintf(stderr, "refmta: dane-check: bad port \"%s\"\n", argv[i + 1]);
			rc = 2;
		} else {
			signal(SIGPIPE, SIG_IGN);
			rc = dane_check_run(cfg,
			                    tls_backend_by_name(backend != NULL ? backend
			                                        : cfg->tls_backend != NULL
			                                                ? cfg->tls_backend
			                                                : "openssl"),
			                    argv[i], (unsigned)port, stdout);
		}
	} else if (strcmp(cmd, "expand") == 0) {
		rc = expand_cmd(cfg, argc - i, argv + i);
	} else {
		usage(stderr);
		rc = 2;
	}
	log_close();
	config_free(cfg);
	return rc;
}
