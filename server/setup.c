/*
 * setup.c - load the whole configuration and apply its test mode
 * (setup.h).  Nothing here reads a file itself: config.c and deliver.c do;
 * privs.c decides whether the file may be trusted at all.
 */
#include "setup.h"
#include "clock.h"
#include "deliver.h"
#include "lookup.h"
#include "privs.h"
#include "spool.h"

int
setup_load_config(const char *path, struct config **out, struct err *e)
{
	struct delivery_config dc;

	if (privs_check_config_file(path, e) != 0 || config_load(path, out, e) != 0)
		return -1;
	/* Routers and transports are checked here, not at the first delivery. */
	if (delivery_config_load(*out, &dc, e) != 0) {
		config_free(*out);
		*out = NULL;
		return -1;
	}
	delivery_config_free(&dc);
	/* Lookups read their servers from the configuration in force. */
	if (lookup_set_redis_servers((*out)->redis_servers) != 0 ||
	    lookup_set_dns((*out)->dns_server, (*out)->dns_trust_anchor) != 0 ||
	    lookup_set_spf((*out)->dns_server, (*out)->dns_trust_anchor,
	                   (*out)->primary_hostname) != 0) {
		err_set(e, 0, "%s: lookups: out of memory", path);
		config_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

void
setup_apply_test_mode(const struct config *cfg)
{
	if (cfg->test_clock_set)
		clock_freeze(cfg->test_clock);
	else
		clock_unfreeze();
	spool_set_test_ids(cfg->test_ids);
}
