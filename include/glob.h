/*
 * glob.h - shell-style wildcard matching, used to pick tests by name
 * (test=<glob> on the kernel command line).
 */
#ifndef GLOB_H
#define GLOB_H

/*
 * Return 1 if the whole of text matches pattern, else 0. '*' matches any run
 * of characters (including none), '?' exactly one character, anything else
 * itself. Case-sensitive; no [sets] and no escapes.
 */
int glob_match(const char *pattern, const char *text);

#endif
