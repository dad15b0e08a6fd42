/*
 * match.h - Exim-style lists: does an item match a host, domain, local part
 * or address list?  Lists are colon-separated (strlist_split); an item
 * starting with "!" negates, and the first item that matches decides.
 *
 *   host list:    "*", an IPv4/IPv6 address, a CIDR ("127.0.0.0/8", "::1/128")
 *   domain list:  "*", "example.test" (exact, case-insensitive),
 *                 "*.example.test" (any subdomain), "*example.test" (suffix)
 *   local parts:  "*", exact (case-sensitive, RFC 5321 2.4), "prefix*", "*suffix"
 *   address list: "*", "user@domain", "*@domain", "user@*", "<>" (the null sender)
 */
#ifndef REFMTA_MATCH_H
#define REFMTA_MATCH_H

#include <stddef.h>

#include "err.h" /* MUST_CHECK */

/* 1 = matched (positively), 0 = not matched (no item, or a "!" item matched). */
int match_host(const char *list, const char *ip);
int match_domain(const char *list, const char *domain);
int match_local_part(const char *list, const char *local_part);
int match_address(const char *list, const char *address);
/* Is `item` a valid host-list item?  For config_load's checks. */
int match_host_item_valid(const char *item);

/* What a refusal of a bad host-list item says after the item. */
#define MATCH_HOST_ITEM_HINT                                                                       \
	"(use *, an IP address or a CIDR; double each colon of an IPv6 address)"

/* Check every item of a host list, the one check for the main options,
 * ACL "hosts =" and transport options.  An item with a $variable is
 * skipped: it is checked when it has a value.  0 when all are valid; 1
 * with the first bad item copied into `bad`; -1 when out of memory. */
int match_host_list_check(const char *list, char *bad, size_t badlen) MUST_CHECK;

#endif
