/*
 * krename.h - give lib/string.c's functions k-prefixed names on the host.
 *
 * The kernel's memcpy, strlen, ... have the standard names, which on the host
 * belong to libc: linking both would clash, and the compiler could quietly
 * call libc's instead of ours. run.sh force-includes this header
 * (-include tests/host/krename.h) when compiling lib/string.c, and
 * test_string.c includes it before "string.h", so both sides agree on
 * kmemcpy, kstrlen, ... while libc keeps its own names.
 */
#ifndef KRENAME_H
#define KRENAME_H

#define memset  kmemset
#define memcpy  kmemcpy
#define memmove kmemmove
#define memcmp  kmemcmp
#define strlen  kstrlen
#define strnlen kstrnlen
#define strcmp  kstrcmp
#define strncmp kstrncmp
#define strchr  kstrchr
#define strrchr kstrrchr

#endif
