/*
 * glob.h - shell-style wildcard matching, used to pick tests and benchmarks
 * by name (test=<glob>,... and bench=<glob>,... on the kernel command line).
 */
#ifndef GLOB_H
#define GLOB_H

/*
 * Return 1 if the whole of text matches pattern, else 0. '*' matches any run
 * of characters (including none), '?' exactly one character, anything else
 * itself. Case-sensitive; no [sets] and no escapes.
 */
int glob_match(const char *pattern, const char *text);

/*
 * Return 1 if text matches "all", or any of the globs in list, separated by
 * commas ("spinlock_rw_*,dpc_flush_*"), else 0.  A glob longer than 127
 * characters is cut there.
 */
int glob_match_list(const char *list, const char *text);

#endif
